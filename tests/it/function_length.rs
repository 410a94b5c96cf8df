//! No function in `src/` is longer than [`MAX_LINES`] lines, counted from its `fn` line to
//! its closing brace (test functions too): a longer one is split into named steps.

use std::path::{Path, PathBuf};

use proc_macro2::Span;
use syn::visit::Visit;

/// The longest a function may be.
const MAX_LINES: usize = 150;

/// A function's name (`Type::method` inside an `impl`), file and length in lines.
struct Length {
    file: PathBuf,
    name: String,
    lines: usize,
    line: usize,
}

/// Collects the length of every function, method and trait method with a body.
struct Lengths<'a> {
    file: &'a Path,
    /// The `impl` or `trait` the visitor is in, for method names.
    owner: Vec<String>,
    found: Vec<Length>,
}

impl Lengths<'_> {
    fn add(&mut self, ident: &syn::Ident, fn_token: Span, close: Span) {
        let line = fn_token.start().line;
        let name = match self.owner.last() {
            Some(owner) => format!("{owner}::{ident}"),
            None => ident.to_string(),
        };
        let lines = close.end().line + 1 - line;
        self.found.push(Length { file: self.file.to_path_buf(), name, lines, line });
    }
}

impl<'ast> Visit<'ast> for Lengths<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.add(&f.sig.ident, f.sig.fn_token.span, f.block.brace_token.span.close());
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.add(&f.sig.ident, f.sig.fn_token.span, f.block.brace_token.span.close());
        syn::visit::visit_impl_item_fn(self, f);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            self.add(&f.sig.ident, f.sig.fn_token.span, block.brace_token.span.close());
        }
        syn::visit::visit_trait_item_fn(self, f);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let ty = &i.self_ty;
        self.owner.push(quote_type(ty));
        syn::visit::visit_item_impl(self, i);
        self.owner.pop();
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        self.owner.push(t.ident.to_string());
        syn::visit::visit_item_trait(self, t);
        self.owner.pop();
    }
}

/// The last segment of an `impl`'s type (`StrBuf` for `impl StrBuf`, `PrimBuf` for
/// `impl<T> PrimBuf<T>`).
fn quote_type(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
    .unwrap_or_else(|| "impl".to_owned())
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|x| x == "rs") {
            files.push(path);
        }
    }
}

/// The length of every function in `src/`.
fn lengths() -> Vec<Length> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut found = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let ast = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()));
        let rel = path.strip_prefix(root).unwrap_or(path);
        let mut v = Lengths { file: rel, owner: Vec::new(), found: Vec::new() };
        v.visit_file(&ast);
        found.extend(v.found);
    }
    found
}

#[test]
fn functions_are_at_most_150_lines() {
    let found = lengths();
    assert!(found.len() > 100, "only {} functions found in src/", found.len());
    let mut long: Vec<&Length> = found.iter().filter(|l| l.lines > MAX_LINES).collect();
    long.sort_by_key(|l| std::cmp::Reverse(l.lines));
    let list: Vec<String> = long
        .iter()
        .map(|l| format!("{}:{} `{}`: {} lines", l.file.display(), l.line, l.name, l.lines))
        .collect();
    assert!(
        long.is_empty(),
        "functions over {MAX_LINES} lines (split them into named steps):\n{}",
        list.join("\n")
    );
}

/// The measure itself: a function's lines run from `fn` to its closing brace, braces in
/// strings do not count, methods are named after their type.
#[test]
fn function_length_counts_from_fn_to_closing_brace() {
    let text = "/// doc\n#[inline]\nfn one() {\n    let s = \"}}}\";\n}\n\
                struct S;\nimpl S {\n    fn two(&self)\n    {\n    }\n}\n";
    let ast = syn::parse_file(text).expect("valid Rust");
    let mut v = Lengths { file: Path::new("x.rs"), owner: Vec::new(), found: Vec::new() };
    v.visit_file(&ast);
    let got: Vec<(String, usize, usize)> =
        v.found.iter().map(|l| (l.name.clone(), l.line, l.lines)).collect();
    assert_eq!(got, [("one".to_owned(), 3, 3), ("S::two".to_owned(), 8, 3)]);
}

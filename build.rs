//! Packs the bundled sample (`data/sample`) into `$OUT_DIR/sample.bin.gz`, so that
//! `tagtrail run` without `--export` works where the source tree is not (after
//! `cargo install`). Format, before gzip: per file, u32 LE path length, the path relative
//! to `data/sample` with `/` separators, u64 LE content length, the content.

use std::io::Write;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=data/sample");
    let root = Path::new("data").join("sample");
    let mut files = Vec::new();
    if root.is_dir() {
        walk(&root, &mut files);
    }
    files.sort();
    let mut raw = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(&root).expect("under the sample");
        let rel: Vec<String> =
            rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let rel = rel.join("/");
        let bytes = std::fs::read(path).expect("readable sample file");
        raw.extend_from_slice(&(rel.len() as u32).to_le_bytes());
        raw.extend_from_slice(rel.as_bytes());
        raw.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        raw.extend_from_slice(&bytes);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw).expect("in memory");
    let packed = gz.finish().expect("in memory");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("sample.bin.gz"), packed).expect("OUT_DIR is writable");
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable sample folder") {
        let path = entry.expect("readable sample folder").path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

//! SQL rules: `queries/rules/*.sql` built in (embedded at compile time) plus a user's `--rules DIR`.
//! Each file is one rule; its header comment gives id, severity, family, citation and
//! description. Parsed and validated at start-up; a bad file names itself.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::vocab::Severity;

/// A rule file as read.
#[derive(Debug, Clone)]
pub struct SqlRule {
    /// Rule id (the file stem).
    pub id: String,
    /// info / low / medium / high / critical.
    pub severity: String,
    /// count / lag / lineage / record / …
    pub family: String,
    /// Regulation.
    pub citation: String,
    /// One line.
    pub description: String,
    /// Where it came from (`queries/rules/x.sql` or the user's path).
    pub path: PathBuf,
    /// The SQL text (whole file).
    pub text: String,
}

macro_rules! builtin {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../queries/rules/", $name)))),*]
    };
}

/// Built-in rule files: (file name, text).
pub const BUILTIN: &[(&str, &str)] = builtin!(
    "count.missing_in_system.sql",
    "count.missing_on_premises.sql",
    "count.quantity_mismatch.sql",
    "count.unit_incompatible.sql",
    "count.duplicate_count.sql",
    "count.significant_discrepancy.sql",
    "lag.late_entry.sql",
    "lag.recorded_before_occurred.sql",
    "lineage.orphan_source.sql",
    "lineage.child_before_parent.sql",
    "lineage.overdrawn_source.sql",
    "lineage.missing_production_batch.sql",
    "lineage.unneeded_production_batch.sql",
    "lineage.missing_batch_number.sql",
    "lineage.untested_sale.sql",
    "transfer.accepted_quantity_mismatch.sql",
    "record.adjustment_without_note.sql",
    "record.duplicate_package.sql",
    "count.reconciliation_overdue.sql",
    "record.unauthorized_user.sql",
    "lag.late_after_outage.sql",
    "transfer.during_outage.sql",
    "record.outage_undocumented.sql",
);

/// Parse one rule file's header.
pub fn parse(path: &Path, text: &str) -> Result<SqlRule> {
    let bad = |reason: String| Error::Rule { path: path.to_path_buf(), reason };
    let stem = path
        .file_name()
        .map(|n| {
            let name = n.to_string_lossy();
            name.strip_suffix(".sql").unwrap_or(&name).to_owned()
        })
        .unwrap_or_default();
    let mut rule = SqlRule {
        id: stem.clone(),
        severity: String::new(),
        family: String::new(),
        citation: String::new(),
        description: String::new(),
        path: path.to_path_buf(),
        text: text.to_owned(),
    };
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("--") else {
            if line.is_empty() {
                continue;
            }
            break;
        };
        let Some((key, value)) = rest.split_once(':') else { continue };
        let value = value.trim().to_owned();
        match key.trim() {
            "id" => rule.id = value,
            "severity" => rule.severity = value,
            "family" => rule.family = value,
            "citation" => rule.citation = value,
            "description" => rule.description = value,
            _ => {}
        }
    }
    if rule.id != stem {
        return Err(bad(format!(
            "header id `{}` differs from the file name `{stem}.sql`",
            rule.id
        )));
    }
    if rule.id.is_empty()
        || !rule.id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(bad(format!("rule id `{}` must be letters, digits, `.`, `_` or `-`", rule.id)));
    }
    if Severity::parse(&rule.severity).is_none() {
        return Err(bad(format!(
            "header needs `-- severity: info|low|medium|high|critical`, got `{}`",
            rule.severity
        )));
    }
    if rule.family.is_empty() {
        rule.family = rule.id.split('.').next().unwrap_or_default().to_owned();
    }
    for (name, v) in [("citation", &rule.citation), ("description", &rule.description)] {
        if v.is_empty() {
            return Err(bad(format!("header needs `-- {name}: …`")));
        }
    }
    let body: String =
        text.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
    if body.trim().is_empty() {
        return Err(bad("no SQL after the header".into()));
    }
    if let Some(call) = path_reading_call(&self::body(text)) {
        return Err(bad(format!(
            "the query calls `{call}(…)`, which reads a file by its path; a rule reads only \
             the lake's tables and views by name (packages, counts, sales, …)"
        )));
    }
    Ok(rule)
}

/// The first call of a table function reading a path (`read_parquet`, `read_csv`, `scan_*`,
/// any `read_*`) in `sql`, outside comments and string literals; quoted names count too.
/// Where SQL dialects differ (backslash escapes, nested comments, `$$` strings) this reads
/// the narrower comment or string, so that no call is hidden from it.
fn path_reading_call(sql: &str) -> Option<String> {
    let b = sql.as_bytes();
    let mut i = 0;
    // The last name read, while only blanks and comments follow it.
    let mut name: Option<String> = None;
    let reads_paths = |n: &str| {
        let n = n.to_ascii_lowercase();
        n.starts_with("read_") || n.starts_with("scan_")
    };
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |k| i + k);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |k| i + 2 + k + 2);
            }
            b'\'' => {
                // `''` inside a literal is a quote: two literals back to back read the same.
                i = memchr::memchr(b'\'', &b[i + 1..]).map_or(b.len(), |k| i + 1 + k + 1);
                name = None;
            }
            q @ (b'"' | b'`' | b'[') => {
                let close = if q == b'[' { b']' } else { q };
                let end = memchr::memchr(close, &b[i + 1..]).map_or(b.len(), |k| i + 1 + k);
                name = Some(String::from_utf8_lossy(&b[i + 1..end]).into_owned());
                i = end + 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$')
                {
                    i += 1;
                }
                name = Some(sql[start..i].to_owned());
            }
            b'(' => {
                if let Some(n) = name.take().filter(|n| reads_paths(n)) {
                    return Some(n);
                }
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                name = None;
                i += 1;
            }
        }
    }
    None
}

/// The SQL without comment lines (Polars SQL takes one statement).
pub fn body(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("--") {
            Some(i) if !l[..i].contains('\'') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .trim_end_matches(';')
        .to_owned()
}

/// Development only, not a user option: when set to a folder, every built-in rule is read
/// from `DIR/rules/<file name>` (and every view from `DIR/views/<file name>`) at run time instead of the text embedded at build time, so the SQL
/// mutation runner (`tests/mutants/run.py`) pays one test run per mutant, not a rebuild.
/// The manifest hashes the text actually used, so a run with edited rules is recognisable.
pub const DEV_QUERIES_ENV: &str = "TAGTRAIL_DEV_QUERIES";

/// Built-in rules (from [`DEV_QUERIES_ENV`]'s folder when that is set).
pub fn builtin() -> Result<Vec<SqlRule>> {
    match std::env::var_os(DEV_QUERIES_ENV).filter(|d| !d.is_empty()) {
        Some(dir) => builtin_from(Path::new(&dir)),
        None => BUILTIN
            .iter()
            .map(|(name, text)| parse(&Path::new("queries/rules").join(name), text))
            .collect(),
    }
}

/// The built-in rule names read from `dir` (a missing file is an error: a partial folder
/// would silently drop a rule).
fn builtin_from(dir: &Path) -> Result<Vec<SqlRule>> {
    BUILTIN
        .iter()
        .map(|(name, _)| {
            let path = dir.join("rules").join(name);
            let text = std::fs::read_to_string(&path).map_err(|e| Error::Rule {
                path: path.clone(),
                reason: format!("cannot read ({DEV_QUERIES_ENV}): {e}"),
            })?;
            parse(&path, &text)
        })
        .collect()
}

/// Rules in a user's folder (`*.sql`, sorted by name).
pub fn load_dir(dir: &Path) -> Result<Vec<SqlRule>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Usage(format!("rules folder `{}` does not exist", dir.display()))
        } else {
            Error::io("cannot list", dir, e)
        }
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| Error::Rule {
                path: p.clone(),
                reason: format!("cannot read: {e}"),
            })?;
            parse(p, &text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_rule_parses() {
        let rules = builtin().unwrap();
        assert_eq!(rules.len(), BUILTIN.len());
        assert!(rules.iter().all(|r| !r.citation.is_empty()));
    }

    #[test]
    fn header_problems_name_the_file() {
        let p = Path::new("x/my.rule.sql");
        let e = parse(p, "-- severity: urgent\n-- citation: a\n-- description: b\nSELECT 1")
            .unwrap_err();
        assert!(e.to_string().contains("x/my.rule.sql") && e.to_string().contains("severity"));
        let e =
            parse(p, "-- id: other\n-- severity: low\n-- citation: a\n-- description: b\nSELECT 1")
                .unwrap_err();
        assert!(e.to_string().contains("differs"));
        let ok = parse(p, "-- severity: low\n-- citation: a\n-- description: b\nSELECT 1").unwrap();
        assert_eq!((ok.id.as_str(), ok.family.as_str()), ("my.rule", "my"));
        assert_eq!(body("-- x\nSELECT 1 -- y\nFROM t;"), "SELECT 1 \nFROM t");
    }

    /// A user rule reads the lake's tables only, never a path.
    #[test]
    fn rules_reading_paths_are_refused() {
        let head = "-- severity: low\n-- citation: a\n-- description: b\n";
        for sql in [
            "SELECT * FROM read_parquet('/etc/x.parquet')",
            "SELECT license, 'x' AS detail FROM packages JOIN READ_CSV ('a.csv') USING (license)",
            "SELECT * FROM \"read_json\"('x')",
            "SELECT * FROM scan_ipc /* c */ ('x')",
            "SELECT * FROM /* a */ read_ipc('x') /* b */",
        ] {
            let e = parse(Path::new("r/x.sql"), &format!("{head}{sql}")).unwrap_err().to_string();
            assert!(e.contains("r/x.sql") && e.contains("reads a file"), "{sql}: {e}");
        }
        for sql in [
            "SELECT license, 'read_parquet(x)' AS detail FROM packages -- read_csv('y')",
            "SELECT license, detail FROM packages /* read_csv('y') */",
            "SELECT license, \"read_at\" AS detail FROM packages WHERE spread_x(1) > 0",
        ] {
            assert!(parse(Path::new("r/x.sql"), &format!("{head}{sql}")).is_ok(), "{sql}");
        }
    }

    /// The development folder replaces every embedded text; a missing file names itself.
    #[test]
    fn dev_folder_replaces_the_embedded_rules() {
        let tmp = tempfile::tempdir().unwrap();
        for (name, text) in BUILTIN {
            std::fs::create_dir_all(tmp.path().join("rules")).unwrap();
            std::fs::write(tmp.path().join("rules").join(name), text.replace("high", "low"))
                .unwrap();
        }
        let rules = builtin_from(tmp.path()).unwrap();
        assert_eq!(rules.len(), BUILTIN.len());
        assert!(rules.iter().all(|r| r.path.starts_with(tmp.path()) && r.severity != "high"));
        std::fs::remove_file(tmp.path().join("rules").join(BUILTIN[0].0)).unwrap();
        let e = builtin_from(tmp.path()).unwrap_err().to_string();
        assert!(e.contains(BUILTIN[0].0) && e.contains(DEV_QUERIES_ENV), "{e}");
    }

    /// Only the last `.sql` is the extension: `a.sql.sql` is rule `a.sql` and may declare
    /// that id (a case `fuzz/sql_header` found).
    #[test]
    fn rule_id_is_the_file_name_without_one_sql() {
        let header = "-- severity: low\n-- citation: a\n-- description: b\nSELECT 1";
        let rule = parse(Path::new("r/a.sql.sql"), header).unwrap();
        assert_eq!(rule.id, "a.sql");
        let rule = parse(Path::new("r/a.sql.sql"), &format!("-- id: a.sql\n{header}")).unwrap();
        assert_eq!(rule.id, "a.sql");
    }
}

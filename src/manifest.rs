//! `manifest.json`: what a run read, which rules it ran and what it wrote, so that any
//! result can be traced to its inputs and re-run. Each stage reads it, adds its part and
//! writes it back atomically.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema;
use crate::store;

/// One input file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputFile {
    /// Path relative to its input root (`--export` or `--counts`).
    pub path: String,
    /// Root it is relative to: `export` or `counts`.
    pub root: String,
    /// `packages`, `adjustments`, … or `counts`.
    pub kind: String,
    /// License folder (export) or default license (counts).
    pub license: Option<String>,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Size.
    pub bytes: u64,
    /// Records read.
    pub rows_in: u64,
    /// Records accepted into the lake.
    pub rows_accepted: u64,
    /// Records written to rejects.parquet.
    pub rows_rejected: u64,
    /// How a count sheet was read (encoding, delimiter, header line, worksheet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_as: Option<String>,
    /// The lake parts holding an export file's rows: `OUT/lake/*/*/<part>-*.parquet` (a
    /// few consecutive pages of one license and kind share theirs). A run with
    /// `--previous` reuses them when the file is unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
}

/// A file under the export that was not read, and why (SPEC 2.1: never skipped in
/// silence). Hidden files and folders (name starting with `.`) are not listed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnreadFile {
    /// Path relative to the export root (`--export`); a folder ends with `/`.
    pub path: String,
    /// Why it was not read, for a person to act on.
    pub reason: String,
}

/// One part file of the lake.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct LakePart {
    /// Path relative to the lake (`packages/license=C11-0000001-LIC/part-00000-00000.parquet`).
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Every Parquet part under `lake`, sorted by path.
pub fn lake_parts(lake: &Path) -> Result<Vec<LakePart>> {
    let mut parts = Vec::new();
    for table in schema::TABLES {
        // the partition folders' parts, and the one empty part of a table without rows
        let mut files = store::table_files(lake, table)?;
        if let Ok(entries) = std::fs::read_dir(lake.join(table)) {
            let root = entries.flatten().map(|e| e.path());
            files.extend(
                root.filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "parquet")),
            );
        }
        for f in files {
            let bytes = std::fs::metadata(&f).map_err(|e| Error::io("cannot read", &f, e))?.len();
            let rel = f.strip_prefix(lake).unwrap_or(&f);
            let path = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            parts.push(LakePart { path, bytes });
        }
    }
    parts.sort();
    Ok(parts)
}

/// One rule that ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuleEntry {
    /// Rule id.
    pub id: String,
    /// Family.
    pub family: String,
    /// Severity.
    pub severity: String,
    /// Citation.
    pub citation: String,
    /// One line.
    pub description: String,
    /// `sql` or `rust`.
    pub source: String,
    /// SHA-256 of the rule's text (SQL file, or the Rust rule's definition and version).
    pub sha256: String,
}

/// One output file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutputFile {
    /// Path relative to `--out`.
    pub path: String,
    /// Rows (tables) or findings shown (reports).
    pub rows: u64,
}

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Manifest {
    /// Identifies the result: a hash of inputs, rules and options.
    pub run_id: String,
    /// Always `tagtrail`.
    pub tool: String,
    /// Tool version.
    pub version: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When the last stage finished.
    pub finished_at: String,
    /// The command lines of the stages that wrote this.
    pub command: Vec<String>,
    /// Options that change results.
    pub options: serde_json::Value,
    /// Every input file.
    pub inputs: Vec<InputFile>,
    /// What a reader of the results must know about how the inputs were read (a count
    /// sheet's license taken from its labels, files not read), one line each.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Every file under the export that was not read (absent in older manifests).
    #[serde(default)]
    pub unread: Vec<UnreadFile>,
    /// Every rule.
    pub rules: Vec<RuleEntry>,
    /// Every output.
    pub outputs: Vec<OutputFile>,
    /// How to re-run.
    pub rerun: String,
    /// Every part file of the lake with its size: `check` and `report` refuse a lake that
    /// does not match (SPEC 2.4). Absent in manifests written before it.
    #[serde(default)]
    pub lake_parts: Vec<LakePart>,
    /// The run this one was compared with (`--previous`): `path`, `run_id`, `finished_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<serde_json::Value>,
}

impl Manifest {
    /// Read `OUT/manifest.json`.
    pub fn load(out: &Path) -> Result<Manifest> {
        let path = out.join(schema::out::MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Usage(format!(
                    "`{}` has no manifest.json: run `tagtrail ingest --export DIR --out {}` first",
                    out.display(),
                    out.display()
                ))
            } else {
                Error::io("cannot read", &path, e)
            }
        })?;
        serde_json::from_str(&text).map_err(|e| Error::Input {
            path,
            position: Some(format!("line {}", e.line())),
            reason: format!("not a tagtrail manifest: {e}"),
        })
    }

    /// Write `OUT/manifest.json` atomically.
    pub fn save(&self, out: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("manifest: {e}")))?;
        store::write_atomic(&out.join(schema::out::MANIFEST), text.as_bytes())
    }

    /// Replace the entry for `path` in `outputs`.
    pub fn set_output(&mut self, path: &str, rows: u64) {
        self.outputs.retain(|o| o.path != path);
        self.outputs.push(OutputFile { path: path.to_owned(), rows });
        self.outputs.sort_by(|a, b| a.path.cmp(&b.path));
    }

    /// Rows rejected across all inputs.
    pub fn rejected(&self) -> u64 {
        self.inputs.iter().map(|i| i.rows_rejected).sum()
    }

    /// The lake in `dir` is the one this manifest describes: the same part files with the
    /// same sizes (or, for a manifest without part list, every table it counts rows of has
    /// parts and no other table has). `out` names OUT in the message.
    pub fn verify_lake(&self, dir: &Path, out: &Path) -> Result<()> {
        let lake = dir.join(schema::out::LAKE);
        let found = lake_parts(&lake)?;
        let mut problems = Vec::new();
        if self.lake_parts.is_empty() {
            for table in schema::TABLES {
                let key = format!("{}/{table}", schema::out::LAKE);
                let rows = self.outputs.iter().find(|o| o.path == key).map_or(0, |o| o.rows);
                let has = found.iter().any(|p| p.path.starts_with(&format!("{table}/")));
                if rows > 0 && !has {
                    problems.push(format!("table `{table}` is missing"));
                } else if rows == 0 && has {
                    problems.push(format!("table `{table}` is not in the manifest"));
                }
            }
        } else {
            let want: std::collections::BTreeMap<&str, u64> =
                self.lake_parts.iter().map(|p| (p.path.as_str(), p.bytes)).collect();
            let have: std::collections::BTreeMap<&str, u64> =
                found.iter().map(|p| (p.path.as_str(), p.bytes)).collect();
            for (path, bytes) in &want {
                match have.get(path) {
                    None => problems.push(format!("part `{path}` is missing")),
                    Some(b) if b != bytes => problems.push(format!("part `{path}` has changed")),
                    Some(_) => {}
                }
            }
            for path in have.keys().filter(|p| !want.contains_key(*p)) {
                problems.push(format!("part `{path}` is not in the manifest"));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        let n = problems.len();
        problems.truncate(5);
        Err(Error::Usage(format!(
            "the lake in `{}` does not match its manifest ({n} difference{}: {}{}); it was changed \
             after tagtrail wrote it. Run `tagtrail run` (or ingest) again to rebuild it",
            out.display(),
            if n == 1 { "" } else { "s" },
            problems.join(", "),
            if n > 5 { ", …" } else { "" }
        )))
    }
}

/// Hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Now, RFC 3339 UTC, seconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

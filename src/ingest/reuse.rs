//! Incremental ingest: with `--previous`, an export file whose bytes (SHA-256), path, kind
//! and license equal a file of the previous run is not decoded again; its lake parts are
//! linked from the previous lake.
//!
//! The unit of reuse is a previous job (consecutive pages of one license and kind, written
//! as the parts `part-<first file>-*`, see `plan_jobs`): its parts are reused when every
//! file of it is unchanged, and all of its files are decoded again otherwise. Count sheets
//! are always read (a sheet naming no license is matched by the export's labels). What
//! changed is said as the licenses whose findings may differ ([`Reuse::dirty`]), so that
//! checks can keep the previous findings of the others.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::Source;
use crate::error::{Error, PolarsContext, Result};
use crate::manifest::{InputFile, Manifest};
use crate::schema;
use crate::store;

/// What a run with `--previous` can take from the previous run.
#[derive(Debug, Clone, Default)]
pub struct Reuse {
    /// Export files whose parts are linked: (index in this run's file list, the previous
    /// run's record of it, the previous part prefix).
    pub files: Vec<(usize, InputFile, String)>,
    /// Licenses whose findings may differ from the previous run's.
    pub dirty: BTreeSet<String>,
    /// Licenses whose own inputs are unchanged but whose activities (`events`) or the
    /// shipper's copy of a transfer they received changed with another license's files:
    /// only what reads those can differ (see `checks::Reused`). Some may be dirty too.
    pub partners: BTreeSet<String>,
    /// The previous result folder.
    pub previous: PathBuf,
    /// Part prefixes of this run's jobs that decoded a changed file (filled by ingest).
    pub changed_prefixes: BTreeSet<String>,
    /// Previous part prefixes not reused.
    pub dropped_prefixes: BTreeSet<String>,
    /// The previous run's count sheets.
    pub previous_sheets: Vec<InputFile>,
    /// Count sheets whose parts are linked: (index among this run's sheets, the previous
    /// record, the previous part prefix). Only a sheet whose name or folder gives its
    /// license (one matched by the export's labels is read again).
    pub sheets: Vec<(usize, InputFile, String)>,
}

impl Reuse {
    /// The reused export files' records (by index in this run's file list), each naming
    /// its parts by this run's prefix: that of the first file of its previous job.
    pub fn reused_inputs(&self) -> Vec<(usize, InputFile)> {
        let mut first: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, _, old) in &self.files {
            first.entry(old.as_str()).or_insert(*i);
        }
        let part = |old: &str| Some(prefix(first[old]));
        self.files
            .iter()
            .map(|(i, f, old)| (*i, InputFile { part: part(old), ..f.clone() }))
            .collect()
    }

    /// Count sheets are always read; a sheet that is new, changed, or now given to another
    /// license makes its licenses (now and before) dirty, and so does a sheet gone.
    pub fn mark_sheets(&mut self, inputs: &[InputFile]) {
        let key = |f: &InputFile| (f.path.clone(), f.sha256.clone(), f.license.clone());
        let now: BTreeSet<_> = inputs.iter().filter(|f| f.root == "counts").map(key).collect();
        let before: BTreeSet<_> = self.previous_sheets.iter().map(key).collect();
        for (_, _, lic) in now.symmetric_difference(&before) {
            self.dirty.extend(lic.clone());
        }
    }
}

/// SHA-256 (hex) of a file.
fn sha256_of(path: &Path) -> Result<String> {
    let file = fs::File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let len = file.metadata().map_err(|e| Error::io("cannot read", path, e))?.len();
    let mut h = Sha256::new();
    if len > 0 {
        // SAFETY: the map is read once, here; an input changed while it is read gives a
        // hash that matches no previous file, so the file is decoded again.
        let map =
            unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io("cannot map", path, e))?;
        h.update(&map[..]);
    }
    Ok(h.finalize().iter().fold(String::with_capacity(64), |mut s, b| {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
        s
    }))
}

fn file_size(path: &Path) -> Result<u64> {
    Ok(fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?.len())
}

/// Which export files of `sources` the previous result at `previous` already holds.
/// `None` when nothing can be reused: no manifest, another tagtrail version or time zone,
/// another set of licenses, or a previous run that did not record its parts.
pub(super) fn plan(
    previous: &Path,
    sources: &[Source],
    sheets: &[Source],
    opts: &super::IngestOptions,
) -> Result<Option<Reuse>> {
    let Ok(prev) = Manifest::load(previous) else { return Ok(None) };
    let opt = |k: &str| prev.options.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let same_tz = opt("timezone").as_deref() == Some(opts.tz.name());
    if prev.version != env!("CARGO_PKG_VERSION") || !same_tz {
        return Ok(None);
    }
    let prev_export: Vec<&InputFile> = prev.inputs.iter().filter(|f| f.root == "export").collect();
    let licenses = |it: &mut dyn Iterator<Item = Option<String>>| -> BTreeSet<String> {
        it.flatten().collect()
    };
    let now_lic = licenses(&mut sources.iter().map(|s| Some(s.license.clone())));
    let prev_lic = licenses(&mut prev_export.iter().map(|f| f.license.clone()));
    if now_lic != prev_lic || prev_export.iter().any(|f| f.part.is_none()) {
        return Ok(None);
    }
    // A file whose size differs from the previous file at its path cannot have its bytes:
    // it is decoded (and hashed there) without being hashed here first.
    let prev_size: BTreeMap<(&str, &str), u64> =
        prev_export.iter().map(|f| ((f.path.as_str(), f.kind.as_str()), f.bytes)).collect();
    let hashes: Vec<String> = sources
        .par_iter()
        .map(|s| {
            let Some(kind) = s.kind else { return Ok(String::new()) };
            match prev_size.get(&(s.rel.as_str(), kind.prefix())) {
                Some(&bytes) if bytes == file_size(&s.path)? => sha256_of(&s.path),
                _ => Ok(String::new()),
            }
        })
        .collect::<Result<_>>()?;
    // This run's export files by (path, kind, license, sha256).
    let now: BTreeMap<(&str, String, &str, &str), usize> = sources
        .iter()
        .zip(&hashes)
        .enumerate()
        .filter(|(_, (s, _))| s.kind.is_some())
        .map(|(i, (s, h))| ((s.rel.as_str(), kind_name(s), s.license.as_str(), h.as_str()), i))
        .collect();
    let mut groups: BTreeMap<&str, Vec<&InputFile>> = BTreeMap::new();
    for f in &prev_export {
        groups.entry(f.part.as_deref().unwrap_or_default()).or_default().push(f);
    }
    let mut reuse = Reuse {
        previous: previous.to_path_buf(),
        previous_sheets: prev.inputs.iter().filter(|f| f.root == "counts").cloned().collect(),
        ..Reuse::default()
    };
    let mut kept: BTreeSet<usize> = BTreeSet::new();
    for (prefix, files) in groups {
        let found: Vec<Option<usize>> = files
            .iter()
            .map(|f| {
                let lic = f.license.as_deref().unwrap_or_default();
                now.get(&(f.path.as_str(), f.kind.clone(), lic, f.sha256.as_str())).copied()
            })
            .collect();
        if found.iter().all(Option::is_some) {
            for (f, i) in files.iter().zip(found.into_iter().flatten()) {
                kept.insert(i);
                reuse.files.push((i, (*f).clone(), prefix.to_owned()));
            }
        } else {
            reuse.dropped_prefixes.insert(prefix.to_owned());
            // A file gone or changed: its license's findings may change.
            reuse.dirty.extend(files.iter().filter_map(|f| f.license.clone()));
        }
    }
    for (i, s) in sources.iter().enumerate() {
        if s.kind.is_some() && !kept.contains(&i) {
            reuse.dirty.insert(s.license.clone());
        }
    }
    reuse.files.sort_by_key(|f| f.0);
    if opt("counted_at") == opts.counted_at && opt("sheet") == opts.sheet {
        reuse.sheets = reusable_sheets(&reuse.previous_sheets, sheets)?;
    }
    Ok(Some(reuse))
}

/// The sheets of this run that a previous sheet with the same path, bytes and license
/// already read.
fn reusable_sheets(
    previous: &[InputFile],
    sheets: &[Source],
) -> Result<Vec<(usize, InputFile, String)>> {
    let hashes: Vec<Option<String>> = sheets
        .par_iter()
        .map(|s| if s.license.is_empty() { Ok(None) } else { sha256_of(&s.path).map(Some) })
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for (j, (s, h)) in sheets.iter().zip(&hashes).enumerate() {
        let Some(h) = h else { continue };
        let same = previous.iter().find(|f| {
            f.path == s.rel && &f.sha256 == h && f.license.as_deref() == Some(s.license.as_str())
        });
        if let Some(f) = same.filter(|f| f.part.is_some()) {
            out.push((j, f.clone(), f.part.clone().unwrap_or_default()));
        }
    }
    Ok(out)
}

fn kind_name(s: &Source) -> String {
    s.kind.map(|k| k.prefix().to_owned()).unwrap_or_else(|| "counts".into())
}

/// The part prefix of the job whose first file has index `i` in the run's file list.
pub fn prefix(i: usize) -> String {
    format!("part-{i:05}")
}

/// A part file name split into its job prefix and the rest (`part-00012`, `-00000.parquet`).
fn split_name(name: &str) -> Option<(&str, &str)> {
    let at = name.rfind('-')?;
    name.starts_with("part-").then(|| name.split_at(at))
}

/// Link the reused files' parts from the previous lake into `lake`, each previous job
/// under the prefix of its first file in this run. Returns rows linked per table slot.
pub fn link_parts(reuse: &Reuse, lake: &Path, first_sheet: usize) -> Result<Vec<(String, u64)>> {
    let prev_lake = reuse.previous.join(schema::out::LAKE);
    let mut renamed: BTreeMap<&str, String> = BTreeMap::new();
    for (i, _, old) in &reuse.files {
        renamed.entry(old.as_str()).or_insert_with(|| prefix(*i));
    }
    for (j, _, old) in &reuse.sheets {
        renamed.insert(old.as_str(), prefix(first_sheet + j));
    }
    let mut rows = Vec::new();
    for table in schema::TABLES {
        let mut n = 0u64;
        for f in store::table_files(&prev_lake, table)? {
            let (Some(name), Some(folder)) = (
                f.file_name().map(|n| n.to_string_lossy().into_owned()),
                f.parent().and_then(Path::file_name),
            ) else {
                continue;
            };
            let Some((old, rest)) = split_name(&name) else { continue };
            let Some(new) = renamed.get(old) else { continue };
            let dir = lake.join(table).join(folder);
            fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
            let dest = dir.join(format!("{new}{rest}"));
            if fs::hard_link(&f, &dest).is_err() {
                fs::copy(&f, &dest).map_err(|e| Error::io("cannot copy", &f, e))?;
            }
            n += part_rows(&dest)?;
        }
        rows.push(((*table).to_owned(), n));
    }
    Ok(rows)
}

fn part_rows(path: &Path) -> Result<u64> {
    let file = fs::File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let n = ParquetReader::new(file).num_rows().ctx(|| format!("reading {}", path.display()))?;
    Ok(n as u64)
}

/// The previous run's reject rows of the reused files.
pub fn previous_rejects(reuse: &Reuse) -> Result<Option<DataFrame>> {
    let path = reuse.previous.join(schema::out::REJECTS);
    if !path.exists() || (reuse.files.is_empty() && reuse.sheets.is_empty()) {
        return Ok(None);
    }
    let files: Vec<&str> =
        reuse.files.iter().chain(&reuse.sheets).map(|(_, f, _)| f.path.as_str()).collect();
    let keep = Series::new("keep".into(), files);
    let df = LazyFrame::scan_parquet(
        PlRefPath::try_from_path(&path).ctx(|| format!("reading {}", path.display()))?,
        ScanArgsParquet::default(),
    )
    .ctx(|| format!("reading {}", path.display()))?
    .filter(col("source_file").is_in(lit(keep).implode(false), false))
    .collect()
    .ctx(|| format!("reading {}", path.display()))?;
    Ok(Some(df))
}

/// This run's reject rows and the reused files' previous ones, in the order of the run's
/// file list (as a full run writes them).
pub fn in_file_order(
    now: DataFrame,
    previous: DataFrame,
    inputs: &[InputFile],
) -> Result<DataFrame> {
    let paths: Vec<&str> = inputs.iter().map(|f| f.path.as_str()).collect();
    let order: Vec<u32> = (0..paths.len() as u32).collect();
    let rank = df!("source_file" => paths, "_order" => order).ctx(|| "file order".into())?;
    let both =
        concat([now.lazy(), previous.lazy()], UnionArgs::default()).ctx(|| "rejects".into())?;
    both.with_row_index("_row", None)
        .join(
            rank.lazy(),
            [col("source_file")],
            [col("source_file")],
            JoinArgs::new(JoinType::Left),
        )
        .sort_by_exprs(
            [col("_order"), col("_row")],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .drop(by_name(["_order", "_row"], true, false))
        .collect()
        .ctx(|| "rejects".into())
}

/// Add to `reuse.dirty` the licenses whose partitions hold parts of changed jobs (this run)
/// or of dropped jobs (the previous run). A license whose partition holds only `events`
/// parts of them (the receipts of shipments another license's file records), and the
/// recipients of the transfers in them (whose transfer findings read the shipper's copy),
/// go to `reuse.partners` instead.
pub fn mark_dirty(reuse: &mut Reuse, lake: &Path) -> Result<()> {
    let prev_lake = reuse.previous.join(schema::out::LAKE);
    let sides = [
        (lake.to_path_buf(), reuse.changed_prefixes.clone()),
        (prev_lake, reuse.dropped_prefixes.clone()),
    ];
    for (root, prefixes) in sides {
        for table in schema::TABLES {
            for f in store::table_files(&root, table)? {
                let name =
                    f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if !split_name(&name).is_some_and(|(p, _)| prefixes.contains(p)) {
                    continue;
                }
                if let Some(lic) = f
                    .parent()
                    .and_then(Path::file_name)
                    .and_then(|d| store::partition_value(&d.to_string_lossy()))
                {
                    if *table == schema::EVENTS {
                        reuse.partners.insert(lic);
                    } else {
                        reuse.dirty.insert(lic);
                    }
                }
                if *table == schema::TRANSFER_PACKAGES {
                    reuse.partners.extend(recipients(&f)?);
                }
            }
        }
    }
    Ok(())
}

fn recipients(part: &Path) -> Result<Vec<String>> {
    let file = fs::File::open(part).map_err(|e| Error::io("cannot open", part, e))?;
    let df = ParquetReader::new(file)
        .with_columns(Some(vec!["recipient_license".into()]))
        .finish()
        .ctx(|| format!("reading {}", part.display()))?;
    let col = df.column("recipient_license").ctx(|| "recipient_license".into())?;
    let col = col.str().ctx(|| "recipient_license".into())?;
    Ok(col.iter().flatten().map(str::to_owned).collect::<BTreeSet<_>>().into_iter().collect())
}

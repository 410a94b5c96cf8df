//! Ingest: read Metrc JSON exports and physical count sheets into the canonical lake
//! (`OUT/lake/<table>/license=<L>/part-*.parquet`), bad records into `rejects.parquet`,
//! and every input file into the manifest. Never imports `checks` or `report`.
//!
//! Export files are grouped into jobs run on plain worker threads, one per core
//! ([`crate::workers`]); a very large file is a job alone whose record blocks are decoded
//! in parallel (rayon). Memory stays at a few blocks per job. Count sheets follow, because
//! a sheet naming no license is matched to the export by its labels.
//! Everything is written into a new generation of OUT, published by the caller only when
//! every file was read.

pub mod counts;
pub mod duties;
pub mod gzip;
pub mod json;
pub mod metrc;
pub mod names;
pub mod normalize;
pub mod raw;
pub mod reader;
pub mod reuse;
pub mod sheet_text;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use chrono_tz::Tz;
use indicatif::ProgressBar;
use polars::prelude::*;
use rayon::prelude::*;

use crate::error::{Error, PolarsContext, Result};
use crate::manifest::{self, InputFile, UnreadFile};
use crate::schema;
use crate::store::{self, TableBatch, V};
use gzip::ExportReader;
use metrc::{Kind, Origin, Outcome, Rows};
use normalize::Stamp;

/// Raw text kept in a reject row, at most.
const RAW_CAP: usize = 1 << 20;
/// Records decoded per parallel task.
const TASK: usize = 512;
/// A JSON file at least this large (and over its fair share of the input) is read alone,
/// its record blocks decoded in parallel.
const LARGE_FILE: u64 = 64 << 20;
/// Smaller files of one license and kind are read together up to this many bytes.
const JOB_BYTES: u64 = 64 << 20;
/// A JSON file at least this large is mapped into memory instead of read (no copy out of
/// the page cache and no read buffers); smaller ones are read.
const MAP_BYTES: u64 = 1 << 20;
/// Decoded rows are written as a Parquet part once they hold about this much.
const PART_BYTES: usize = 48 << 20;

/// What to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Export root: one folder per license.
    pub export: PathBuf,
    /// Count sheet or folder of sheets.
    pub counts: Option<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    /// Facility time zone for naive times.
    pub tz: Tz,
    /// When the counts were made, for sheets without a count-time column (`--counted-at`).
    pub counted_at: Option<String>,
    /// XLSX worksheet to read (`--sheet`).
    pub sheet: Option<String>,
    /// The previous result (`--previous`): unchanged export files are not decoded again.
    pub previous: Option<PathBuf>,
    /// The licensee's list of authorised users (`--users`, SPEC 2.2b).
    pub users: Option<PathBuf>,
    /// The licensee's documented losses of access (`--outages`, SPEC 2.2b).
    pub outages: Option<PathBuf>,
}

/// What ingest did.
#[derive(Debug, Clone)]
pub struct IngestSummary {
    /// Every input file with its counts.
    pub inputs: Vec<InputFile>,
    /// Rows written per table.
    pub tables: Vec<(String, u64)>,
    /// Reject rows written.
    pub rejects: u64,
    /// What the user should know about how inputs were read (a license taken from a
    /// sheet's labels, files not read), one line each.
    pub notes: Vec<String>,
    /// Files under the export that were not read, and why, by path.
    pub unread: Vec<UnreadFile>,
    /// With `--previous`: the files reused, and the licenses whose findings may differ.
    pub reuse: Option<reuse::Reuse>,
}

struct Source {
    path: PathBuf,
    rel: String,
    /// The license folder (export), or the license a count sheet's name or folder names
    /// (empty when neither is a license of the export: its labels decide).
    license: String,
    kind: Option<Kind>,
}

struct RejectRows(TableBatch);

impl RejectRows {
    fn new() -> Self {
        RejectRows(TableBatch::new_with(schema::REJECTS_COLUMNS))
    }
    fn push(&mut self, file: &str, record: i64, column: &str, reason: &str, raw: &str) {
        let raw = if raw.len() > RAW_CAP {
            let mut end = RAW_CAP;
            while !raw.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}… [truncated, {} bytes in all]", &raw[..end], raw.len())
        } else {
            raw.to_owned()
        };
        self.0.push(&[V::S(file), V::I(record), V::S(column), V::S(reason), V::S(&raw)]);
    }
}

/// Ingest `opts.export` (and counts) into `opts.out`: a folder of its own for this result
/// (a generation of OUT, see [`crate::out_dir`]), which is published only when every file
/// was read, so a failed run leaves the previous result as it was.
pub fn run(opts: &IngestOptions, progress: &ProgressBar) -> Result<IngestSummary> {
    let (sources, mut unread) = discover_export(&opts.export)?;
    let known: BTreeSet<String> = sources.iter().map(|s| s.license.clone()).collect();
    let (count_sources, count_notes) = match &opts.counts {
        Some(p) => discover_counts(p, &known)?,
        None => (Vec::new(), Vec::new()),
    };
    fs::create_dir_all(&opts.out).map_err(|e| Error::io("cannot create", &opts.out, e))?;
    let result = ingest_into(opts, &sources, &count_sources, &known, &opts.out, progress).map(
        |mut summary| {
            summary.notes.splice(0..0, count_notes);
            summary
        },
    );
    result.map(|mut summary| {
        unread.append(&mut summary.unread);
        unread.sort_by(|a, b| a.path.cmp(&b.path));
        summary.unread = unread;
        summary
    })
}

fn ingest_into(
    opts: &IngestOptions,
    sources: &[Source],
    count_sources: &[Source],
    licenses: &BTreeSet<String>,
    staging: &Path,
    progress: &ProgressBar,
) -> Result<IngestSummary> {
    let lake = staging.join(schema::out::LAKE);
    // The lake folder exists even when every file is empty (`[]`): an export without a
    // single row is an empty run, not a failed rename.
    fs::create_dir_all(&lake).map_err(|e| Error::io("cannot create", &lake, e))?;
    let total: u64 = sources
        .iter()
        .chain(count_sources)
        .filter_map(|s| fs::metadata(&s.path).ok())
        .map(|m| m.len())
        .sum();
    progress.set_length(total);
    let written: Vec<AtomicU64> = schema::TABLES.iter().map(|_| AtomicU64::new(0)).collect();
    let part_rows: Vec<AtomicUsize> = schema::TABLES.iter().map(|_| AtomicUsize::new(0)).collect();
    // Export files first, in the pool below; count sheets after them (`ingest_sheets`),
    // because a sheet that names no license is matched to the export by its labels.
    let t = std::time::Instant::now();
    let mut reuse = match &opts.previous {
        Some(prev) => reuse::plan(prev, sources, count_sources, opts)?,
        None => None,
    };
    crate::checks::timing("ingest: hashing for reuse", t);
    let reused: BTreeSet<usize> = reuse.iter().flat_map(|r| r.files.iter().map(|f| f.0)).collect();
    let all: Vec<(usize, &Source)> =
        sources.iter().enumerate().filter(|(i, _)| !reused.contains(i)).collect();
    // Memory stays bounded by the number of jobs in flight (see `plan_jobs`): a file too
    // large for one core is read alone with its record blocks decoded in parallel (rayon);
    // every other job runs on a plain thread. Not rayon for those: writing Parquet waits on
    // Polars' own thread pool, and a rayon worker that waits on another pool steals more
    // work from its own meanwhile, so every Parquet write opened another file and peak
    // memory grew with the number of files.
    let sink = Sink {
        tz: opts.tz,
        lake: &lake,
        written: &written,
        part_rows: &part_rows,
        licenses,
        progress,
    };
    let jobs = plan_jobs(&all, rayon::current_num_threads());
    // Each file's parts are named after its job's first file.
    let job_of: std::collections::HashMap<usize, usize> =
        jobs.iter().flat_map(|j| j.files.iter().map(|f| (f.0, j.files[0].0))).collect();
    if let Some(r) = reuse.as_mut() {
        r.changed_prefixes = job_of.values().map(|&i| reuse::prefix(i)).collect();
        let t = std::time::Instant::now();
        for (table, rows) in reuse::link_parts(r, &lake, sources.len())? {
            written[table_slot(&table)].fetch_add(rows, Ordering::Relaxed);
        }
        crate::checks::timing("ingest: previous parts linked", t);
    }
    let t = std::time::Instant::now();
    let run_job = |job: &Job<'_>| -> Vec<(usize, ReadResult)> {
        let mut parts = Parts::new(job.files[0].0, &sink);
        let mut out: Vec<(usize, ReadResult)> = job
            .files
            .iter()
            .map(|&(i, src)| {
                let r = match src.kind {
                    Some(kind) => ingest_json(src, kind, &sink, job.parallel, &mut parts),
                    None => {
                        Err(Error::Internal(format!("count sheet {} in an export job", src.rel)))
                    }
                };
                (i, r)
            })
            .collect();
        if let Err(e) = parts.flush() {
            out.push((usize::MAX, Err(e)));
        }
        out
    };
    let (large, small): (Vec<&Job<'_>>, Vec<&Job<'_>>) = jobs.iter().partition(|j| j.parallel);
    let mut results: Vec<(usize, ReadResult)> = large.into_iter().flat_map(run_job).collect();
    // One job per core: `store::write_lake_part` encodes on the job's own thread and
    // mapped input never waits on a read, so a second job per core would only add memory.
    results.extend(
        crate::workers::in_order(
            &small,
            rayon::current_num_threads(),
            |_| 0,
            u64::MAX,
            |_, j| run_job(j),
        )
        .into_iter()
        .flatten(),
    );
    crate::checks::timing("ingest: export files decoded", t);
    for (i, f) in reuse.iter().flat_map(reuse::Reuse::reused_inputs) {
        results.push((i, Ok(Ok((f, RejectRows::new())))));
    }
    results.sort_by_key(|(i, _)| *i);
    let mut inputs = Vec::with_capacity(sources.len() + count_sources.len());
    let mut rejects = RejectRows::new();
    let mut unread = Vec::new();
    for (i, r) in results {
        match r? {
            Ok((mut input, rej)) => {
                if input.part.is_none() {
                    input.part = job_of.get(&i).map(|&first| reuse::prefix(first));
                }
                inputs.push(input);
                rejects.0.append(rej.0);
            }
            Err(not_read) => unread.push(not_read),
        }
    }
    if !unread.is_empty() {
        require_packages_read(&opts.export, licenses, &inputs, &unread)?;
    }
    let mut notes = Vec::new();
    let t = std::time::Instant::now();
    let reused_sheets = reuse.as_ref().map(|r| r.sheets.clone()).unwrap_or_default();
    let sheets =
        ingest_sheets(opts, count_sources, sources.len(), &sink, &mut notes, &reused_sheets)?;
    let duties = ingest_duty_files(opts, sources.len() + count_sources.len(), &sink, &mut notes)?;
    for (input, rej) in sheets.into_iter().chain(duties) {
        inputs.push(input);
        rejects.0.append(rej.0);
    }
    crate::checks::timing("ingest: count sheets and duty files", t);
    let t = std::time::Instant::now();
    let mut df = rejects.0.into_frame()?;
    if let Some(r) = reuse.as_mut() {
        reuse::mark_dirty(r, &lake)?;
        r.mark_sheets(&inputs);
        if let Some(prev) = reuse::previous_rejects(r)? {
            df = reuse::in_file_order(df, prev, &inputs)?;
        }
    }
    let n_rejects = df.height() as u64;
    store::write_parquet(&mut df, &staging.join(schema::out::REJECTS))?;
    crate::checks::timing("ingest: rejects and what changed", t);
    let tables: Vec<(String, u64)> = schema::TABLES
        .iter()
        .zip(&written)
        .map(|(t, n)| ((*t).to_owned(), n.load(Ordering::Relaxed)))
        .collect();
    for (table, _) in tables.iter().filter(|(_, n)| *n == 0) {
        write_empty_table(&lake, table, licenses.first().map(String::as_str))?;
    }
    Ok(IngestSummary { inputs, tables, rejects: n_rejects, notes, unread, reuse })
}

/// A table without rows still gets a folder every Parquet reader can open, so
/// `pyarrow.parquet.read_table`, pandas, DuckDB and Spark read it as 0 rows with its
/// columns instead of failing on a missing folder: one part without rows in the partition
/// of a license of the export (true: that license has none of these rows; a reader infers
/// the key's type from a real value, which Hive's null partition does not give pyarrow),
/// or, in an export without licenses, in the table's folder with every column.
fn write_empty_table(lake: &Path, table: &str, license: Option<&str>) -> Result<()> {
    let (dir, keep_license) = match license {
        Some(l) => (store::partition_dir(lake, table, l), false),
        None => (lake.join(table), true),
    };
    fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
    let mut df = store::empty_frame(schema::layout(table));
    let path = dir.join("part-00000-00000.parquet");
    if keep_license {
        store::write_parquet(&mut df, &path)?;
    } else {
        store::write_lake_part(&mut df, &path)?;
    }
    Ok(())
}

fn rel_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The export files under `root` (one folder per license, or one license's folder), and
/// every other file there with the reason it is not read. Hidden files and folders (name
/// starting with `.`: `.DS_Store`, `.git`) are left out without a word.
fn discover_export(root: &Path) -> Result<(Vec<Source>, Vec<UnreadFile>)> {
    if !root.is_dir() {
        return Err(Error::Usage(format!(
            "export folder `{}` does not exist or is not a folder; pass --export DIR \
             with one folder per license (DIR/<LICENSE>/packages.json …)",
            root.display()
        )));
    }
    let mut out = Vec::new();
    let mut unread = Vec::new();
    let mut without_packages = Vec::new();
    if let Some(license) = single_license(root)? {
        // SPEC 2.1: `--export` at one license's folder (it holds packages files itself)
        // is a one-license export named after the folder.
        license_files(root, root, &license, &mut out, &mut unread)?;
    } else {
        // Each real folder once: a link back to the export (or to another license's
        // folder) would read the same files again under another license.
        let mut seen: BTreeSet<PathBuf> = fs::canonicalize(root).into_iter().collect();
        for lic in sorted_entries(root)? {
            let license = file_name(&lic);
            if license.starts_with('.') {
                continue;
            }
            if lic.is_dir() && fs::canonicalize(&lic).is_ok_and(|real| !seen.insert(real)) {
                unread.push(UnreadFile {
                    path: format!("{}/", rel_path(root, &lic)),
                    reason: "a link to a folder already read (the export itself or another \
                             license's folder)"
                        .into(),
                });
                continue;
            }
            if !lic.is_dir() {
                unread.push(UnreadFile {
                    path: rel_path(root, &lic),
                    reason: "a file beside the license folders: export files are read from \
                             DIR/<LICENSE>/"
                        .into(),
                });
                continue;
            }
            let before = out.len();
            license_files(root, &lic, &license, &mut out, &mut unread)?;
            if !out[before..].iter().any(|s| s.kind == Some(Kind::Packages)) {
                without_packages.push(license);
            }
        }
    }
    if !out.iter().any(|s| s.kind == Some(Kind::Packages)) {
        return Err(Error::Usage(format!(
            "no packages*.json under `{}`: the export needs one folder per license, \
             each with packages*.json (or Packages_GetActivePackages.json), or is one \
             license's folder holding them (see README, Inputs){}",
            root.display(),
            unread_note(&unread)
        )));
    }
    // SPEC 2.1: packages*.json is required in every license folder. Reading the others
    // would check a license without its packages (every event an orphan), or drop an
    // empty folder from the run without a word; a license with no packages has `[]`.
    if !without_packages.is_empty() {
        let n = without_packages.len();
        let shown: Vec<_> = without_packages.iter().take(5).map(|l| format!("`{l}`")).collect();
        return Err(Error::Usage(format!(
            "{n} license folder{} under `{}` without packages*.json: {}{}; every license \
             folder needs one (a license with no packages has a file holding `[]`){}",
            if n == 1 { "" } else { "s" },
            root.display(),
            shown.join(", "),
            if n > 5 { ", …" } else { "" },
            unread_note(&unread)
        )));
    }
    Ok((out, unread))
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Whether `path` is a packages file by its name (hidden files are not).
fn is_packages_file(path: &Path) -> bool {
    let name = file_name(path);
    !name.starts_with('.')
        && path.is_file()
        && names::classify(&name).is_ok_and(|f| f.kind == Kind::Packages)
}

/// The license of `root` when it is one license's folder: it holds packages files itself.
/// A folder that also has license folders with packages files is refused: reading one
/// way would leave the other's packages out of the run.
fn single_license(root: &Path) -> Result<Option<String>> {
    let entries = sorted_entries(root)?;
    if !entries.iter().any(|p| is_packages_file(p)) {
        return Ok(None);
    }
    for sub in &entries {
        if sub.is_dir()
            && !file_name(sub).starts_with('.')
            && sorted_entries(sub)?.iter().any(|p| is_packages_file(p))
        {
            return Err(Error::Usage(format!(
                "`{}` holds packages files itself and license folders with packages files \
                 (`{}`): pass --export the folder of license folders, or one license's \
                 folder, not a mix",
                root.display(),
                file_name(sub)
            )));
        }
    }
    // `--export .` has no name of its own: the license is the folder's real name.
    let name = fs::canonicalize(root).map_or_else(|_| file_name(root), |p| file_name(&p));
    Ok(Some(name))
}

/// The files of one license folder `dir`: export files into `out`, the others (and any
/// sub-folder, which is not searched) into `unread`, with paths relative to `root`.
fn license_files(
    root: &Path,
    dir: &Path,
    license: &str,
    out: &mut Vec<Source>,
    unread: &mut Vec<UnreadFile>,
) -> Result<()> {
    for file in sorted_entries(dir)? {
        let name = file_name(&file);
        if name.starts_with('.') {
            continue;
        }
        let rel = rel_path(root, &file);
        if file.is_dir() {
            unread.push(UnreadFile {
                path: format!("{rel}/"),
                reason: "a folder inside a license folder: only the files directly in the \
                         license folder are read"
                    .into(),
            });
            continue;
        }
        if let Some(reason) = not_regular(&file) {
            unread.push(UnreadFile { path: rel, reason });
            continue;
        }
        match names::classify(&name) {
            Ok(f) => out.push(Source {
                rel,
                path: file,
                license: license.to_owned(),
                kind: Some(f.kind),
            }),
            Err(reason) => unread.push(UnreadFile { path: rel, reason }),
        }
    }
    Ok(())
}

/// "; not read there: `a` (why), …" for an error about missing packages: often the
/// packages are there under a name or in a form that is not read.
fn unread_note(unread: &[UnreadFile]) -> String {
    if unread.is_empty() {
        return String::new();
    }
    let shown: Vec<String> =
        unread.iter().take(3).map(|u| format!("`{}` ({})", u.path, u.reason)).collect();
    let more =
        if unread.len() > 3 { format!(", and {} more", unread.len() - 3) } else { String::new() };
    format!("; not read there: {}{more}", shown.join(", "))
}

/// After reading: every license still has a packages list read. A packages file found to
/// hold a single object is not read, and a license left without any would be checked with
/// every event an orphan.
fn require_packages_read(
    export: &Path,
    licenses: &BTreeSet<String>,
    inputs: &[InputFile],
    unread: &[UnreadFile],
) -> Result<()> {
    let packages = Kind::Packages.prefix();
    let missing: Vec<&String> = licenses
        .iter()
        .filter(|l| !inputs.iter().any(|i| i.kind == packages && i.license.as_ref() == Some(*l)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let shown: Vec<_> = missing.iter().take(5).map(|l| format!("`{l}`")).collect();
    Err(Error::Usage(format!(
        "no packages list read for {} under `{}`{}",
        shown.join(", "),
        export.display(),
        unread_note(unread)
    )))
}

/// Why `path` (not a folder) is not read as a file: a FIFO would block the run forever
/// and a device or socket is no export; a link to a regular file is read. None for a
/// regular file, and for a path that cannot be examined (reading it names the error).
fn not_regular(path: &Path) -> Option<String> {
    let kind = fs::metadata(path).ok()?.file_type();
    if kind.is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let what = if kind.is_fifo() {
            "a named pipe (FIFO)"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_block_device() || kind.is_char_device() {
            "a device"
        } else {
            "not a file"
        };
        return Some(format!("{what}, not a regular file: only regular files are read"));
    }
    #[allow(unreachable_code)]
    Some("not a regular file: only regular files are read".into())
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| Error::io("cannot list", dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// Count sheets under `path` (a sheet, or a folder searched recursively), and a note for
/// every other file there, which is not read.
fn discover_counts(path: &Path, known: &BTreeSet<String>) -> Result<(Vec<Source>, Vec<String>)> {
    let mut notes = Vec::new();
    let (root, files) = if path.is_file() {
        (path.parent().unwrap_or(Path::new("")).to_path_buf(), vec![path.to_path_buf()])
    } else if path.is_dir() {
        let mut files = Vec::new();
        let mut stack = vec![path.to_path_buf()];
        // Each real folder and sheet once: a link back up the tree (a loop) or to a sheet
        // already found would count its rows again ("label counted 41 times").
        let mut seen: BTreeSet<PathBuf> = fs::canonicalize(path).into_iter().collect();
        while let Some(d) = stack.pop() {
            for p in sorted_entries(&d)? {
                let name =
                    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                // Hidden files and the lock files Excel leaves beside an open workbook.
                if name.starts_with('.') || name.starts_with("~$") {
                    continue;
                }
                let again = fs::canonicalize(&p).is_ok_and(|real| !seen.insert(real));
                if again {
                    notes.push(format!(
                        "counts: `{}` not read: a link to a {} already read",
                        rel_path(path, &p),
                        if p.is_dir() { "folder" } else { "sheet" }
                    ));
                } else if p.is_dir() {
                    stack.push(p);
                } else if let Some(why) = not_regular(&p) {
                    notes.push(format!("counts: `{}` not read: {why}", rel_path(path, &p)));
                } else if sheet_kind(&p)? {
                    files.push(p);
                } else {
                    notes.push(format!(
                        "counts: `{}` not read: not a count sheet (.csv, .tsv or .xlsx)",
                        rel_path(path, &p)
                    ));
                }
            }
        }
        files.sort();
        if files.is_empty() {
            // Checking nothing would report "no significant discrepancy" for counts that
            // were never read.
            return Err(Error::Usage(format!(
                "counts folder `{}` holds no count sheet (.csv or .xlsx); pass --counts with a \
                 sheet or a folder of them, or leave --counts out to run without counts",
                path.display()
            )));
        }
        (path.to_path_buf(), files)
    } else {
        return Err(Error::Usage(format!(
            "counts `{}` does not exist; pass --counts with a count sheet (.csv or .xlsx) or a \
             folder of them",
            path.display()
        )));
    };
    let sources = files
        .into_iter()
        .map(|f| {
            let stem = f.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let folder = f
                .parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // SPEC 2.2: the file's name, else its folder's, whichever is a license of the
            // export (in any case); neither: the sheet's labels decide (`ingest_sheets`).
            let license = known_license(known, &stem)
                .or_else(|| known_license(known, &folder))
                .unwrap_or_default();
            Source { rel: rel_path(&root, &f), path: f, license, kind: None }
        })
        .collect();
    Ok((sources, notes))
}

/// Whether a file under --counts is a count sheet; a spreadsheet format tagtrail cannot
/// read is an error (its counts would be lost without a word).
fn sheet_kind(p: &Path) -> Result<bool> {
    let ext = p.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if schema::SHEET_EXTENSIONS.contains(&ext.as_str()) {
        return Ok(true);
    }
    if matches!(ext.as_str(), "xls" | "xlsm" | "xlsb" | "ods" | "numbers") {
        return Err(Error::Input {
            path: p.to_path_buf(),
            position: None,
            reason: format!(
                "a .{ext} workbook cannot be read as a count sheet: save it as .xlsx or .csv \
                 (UTF-8) and run again"
            ),
        });
    }
    Ok(false)
}

/// The export's license that `name` is, compared without case and surrounding space.
fn known_license(known: &BTreeSet<String>, name: &str) -> Option<String> {
    let name = name.trim();
    known.iter().find(|l| l.eq_ignore_ascii_case(name)).cloned()
}

fn input_error(path: &Path, offset: u64, reason: String) -> Error {
    let line = line_of(path, offset);
    // Offsets count the text the splitter saw, which in a `.gz` is the decompressed one.
    let of = if is_gzip(path) { " of the decompressed text" } else { "" };
    Error::Input {
        path: path.to_path_buf(),
        position: Some(match line {
            Some(l) => format!("byte {offset} (line {l}){of}"),
            None => format!("byte {offset}{of}"),
        }),
        reason,
    }
}

fn is_gzip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// 1-based line of a byte offset (error path only: reads the file again).
fn line_of(path: &Path, offset: u64) -> Option<u64> {
    use std::io::Read;
    let file = fs::File::open(path).ok()?;
    let text: Box<dyn Read> = if is_gzip(path) {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut f = text.take(offset);
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 1u64;
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            return Some(lines);
        }
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
}

/// What one decode task returns besides its rows: rejects, a fatal syntax error (byte
/// offset, reason) that stops the file, and the count of accepted records.
type TaskOutput = (RejectRows, Option<(u64, String)>, u64);

/// Where the files of one ingest run go, shared by every file.
struct Sink<'a> {
    tz: Tz,
    lake: &'a Path,
    /// Rows written per table of [`schema::TABLES`].
    written: &'a [AtomicU64],
    /// Most rows of one part written so far, per table of [`schema::TABLES`]: the room a
    /// job's rows reserve when they start, instead of growing by doubling.
    part_rows: &'a [AtomicUsize],
    /// The export's licenses (its folders).
    licenses: &'a BTreeSet<String>,
    progress: &'a ProgressBar,
}

/// Files read one after the other by one thread, their rows written together.
struct Job<'a> {
    /// The files, with their positions in the run's file list.
    files: Vec<(usize, &'a Source)>,
    /// One large file whose record blocks are decoded in parallel.
    parallel: bool,
}

/// Group the input files into jobs, largest first. Memory stays bounded by the number of
/// jobs in flight, each holding a few record blocks and at most [`PART_BYTES`] of rows.
///
/// Consecutive files of one license and kind (Metrc pages: `sales.2.json`, …) make one job
/// of up to [`JOB_BYTES`], so that a license's pages become a few Parquet parts and not one
/// each (writing a part has a fixed cost). A file too large to share a core fairly (a statewide export in one file) is a
/// job alone whose record blocks are decoded in parallel (rayon); every other job runs on
/// one thread, so the cores work on different files and nothing waits on one reader. Jobs
/// depend only on the file list, so a re-run writes the same parts.
fn plan_jobs<'a>(all: &[(usize, &'a Source)], threads: usize) -> Vec<Job<'a>> {
    let sized: Vec<(usize, &Source, u64)> =
        all.iter().map(|&(i, s)| (i, s, fs::metadata(&s.path).map_or(0, |m| m.len()))).collect();
    let total: u64 = sized.iter().map(|f| f.2).sum();
    let fair_share = total / (2 * threads.max(1)) as u64;
    let mut jobs: Vec<(u64, Job<'a>)> = Vec::new();
    for (i, src, n) in sized {
        if src.kind.is_some() && n >= LARGE_FILE && n > fair_share {
            jobs.push((n, Job { files: vec![(i, src)], parallel: true }));
            continue;
        }
        let joins = src.kind.is_some()
            && jobs.last().is_some_and(|(bytes, j)| {
                let (_, last) = j.files[j.files.len() - 1];
                !j.parallel
                    && bytes + n <= JOB_BYTES
                    && last.kind == src.kind
                    && last.license == src.license
            });
        match jobs.last_mut() {
            Some((bytes, job)) if joins => {
                job.files.push((i, src));
                *bytes += n;
            }
            _ => jobs.push((n, Job { files: vec![(i, src)], parallel: false })),
        }
    }
    // Largest first, so that no big job starts last and runs alone.
    jobs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.files[0].0.cmp(&b.1.files[0].0)));
    jobs.into_iter().map(|(_, j)| j).collect()
}

/// Rows decoded by a job and not written yet; written as parts named after the job's first
/// file when they grow past [`PART_BYTES`], and at the end of the job.
struct Parts<'s, 'a> {
    first_file: usize,
    next_part: usize,
    rows: Option<Rows>,
    sink: &'s Sink<'a>,
}

impl<'s, 'a> Parts<'s, 'a> {
    fn new(first_file: usize, sink: &'s Sink<'a>) -> Self {
        Parts { first_file, next_part: 0, rows: None, sink }
    }

    /// The rows not written yet, for records of `kind` to be decoded into.
    fn pending(&mut self, kind: Kind) -> &mut Rows {
        let part_rows = self.sink.part_rows;
        self.rows.get_or_insert_with(|| {
            let mut rows = Rows::new(kind);
            for batch in &mut rows.batches {
                batch.set_hint(part_rows[table_slot(batch.table())].load(Ordering::Relaxed));
            }
            rows
        })
    }

    fn flush_if_big(&mut self) -> Result<()> {
        let big = self.rows.as_ref().is_some_and(|r| {
            r.batches.iter().map(TableBatch::approx_bytes).sum::<usize>() >= PART_BYTES
        });
        if big { self.flush() } else { Ok(()) }
    }

    /// Write the pending rows (their buffers move into the written frames).
    fn flush(&mut self) -> Result<()> {
        let Some(rows) = self.rows.as_mut() else { return Ok(()) };
        if rows.batches.iter().all(TableBatch::is_empty) {
            return Ok(());
        }
        let Sink { lake, written, licenses, part_rows, .. } = *self.sink;
        for batch in &mut rows.batches {
            part_rows[table_slot(batch.table())].fetch_max(batch.len(), Ordering::Relaxed);
            // `events` holds the activities the lag rules judge, which are those of the
            // export's licenses: the receipt of a shipment by a license outside the export
            // stays in `transfer_packages` (the shipper's rows) and gets no partition of
            // its own (hundreds of one-row partitions, each a part to write and to scan).
            let only = (batch.table() == schema::EVENTS).then_some(licenses);
            write_parts(lake, batch, self.first_file, self.next_part, written, only)?;
        }
        self.next_part += 1;
        Ok(())
    }
}

/// What reading one input file gives, or why it was not read after all (an export file
/// that holds a single object where a list belongs).
type ReadResult = Result<std::result::Result<(InputFile, RejectRows), UnreadFile>>;

fn ingest_json(
    src: &Source,
    kind: Kind,
    sink: &Sink<'_>,
    parallel: bool,
    out: &mut Parts<'_, '_>,
) -> ReadResult {
    let (mut splitter, stamp_before) = open_export(src)?;
    let mut rejects = RejectRows::new();
    let (mut rows_in, mut accepted) = (0u64, 0u64);
    let mut last_bytes = 0;
    loop {
        let chunk =
            splitter.next_chunk().map_err(|e| input_error(&src.path, e.offset, e.reason))?;
        // Progress counts the file as stored, as its total does.
        let done = splitter.get_ref().stored_bytes().unwrap_or(splitter.bytes_read);
        sink.progress.inc(done - last_bytes);
        last_bytes = done;
        let Some(chunk) = chunk else { break };
        if splitter.single_object() {
            // SPEC 2.1: a lookup (`Packages_GetPackageById`) is not a list. Read as one
            // record, a copy of a package already listed would be a duplicate package.
            return Ok(Err(UnreadFile {
                path: src.rel.clone(),
                reason: format!(
                    "holds a single JSON object, not a list of {} (an array or a Metrc page \
                     {{\"Data\": [...]}}): a lookup such as Packages_GetPackageById is not an \
                     export list",
                    kind.prefix()
                ),
            }));
        }
        for (rej, fatal, ok) in decode_chunk(&chunk, src, kind, sink.tz, parallel, out) {
            if let Some((offset, reason)) = fatal {
                return Err(input_error(&src.path, offset, format!("not valid JSON: {reason}")));
            }
            rejects.0.append(rej.0);
            accepted += ok;
        }
        rows_in += chunk.records.len() as u64;
        out.flush_if_big()?;
        splitter.recycle(chunk.buf);
    }
    if stamp_before.is_some() && file_stamp(&src.path) != stamp_before {
        return Err(Error::Input {
            path: src.path.clone(),
            position: None,
            reason: "the file changed while it was read (another program is writing the \
                     export?): copy the export and run again"
                .into(),
        });
    }
    let stored = splitter.get_mut().finish().map_err(|e| Error::io("cannot read", &src.path, e))?;
    let (sha, bytes) = match stored {
        Some((hash, bytes)) => (manifest::hex(&hash), bytes),
        None => (manifest::hex(&splitter.finish_hash()), splitter.bytes_read),
    };
    let rejected = rejects.0.len() as u64;
    debug_assert_eq!(rows_in, accepted + rejected);
    Ok(Ok((
        InputFile {
            path: src.rel.clone(),
            root: "export".into(),
            kind: kind.prefix().into(),
            license: Some(src.license.clone()),
            sha256: sha,
            bytes,
            rows_in,
            rows_accepted: accepted,
            rows_rejected: rejected,
            read_as: None,
            part: None,
        },
        rejects,
    )))
}

/// A splitter over the export file `src`: mapped when it is large, else read (and
/// decompressed when it is gzip); for a mapped file, its stamp when it was opened.
fn open_export(src: &Source) -> Result<(json::Splitter<ExportReader>, Option<FileStamp>)> {
    let file = fs::File::open(&src.path).map_err(|e| Error::io("cannot open", &src.path, e))?;
    let name = src.path.to_string_lossy().to_ascii_lowercase();
    let gzip = is_gzip(&src.path);
    let base = name.strip_suffix(".gz").unwrap_or(&name);
    let lines = base.ends_with(".jsonl") || base.ends_with(".ndjson");
    // A compressed file is streamed through the decoder (a map of it would be of no use).
    let len = if gzip { 0 } else { file.metadata().map_or(0, |m| m.len()) };
    // SAFETY: the map is only read, and lives as long as the chunks cut from it. The one
    // hazard of a map, another process truncating the file while it is read, faults
    // (SIGBUS): `out_dir::install_sigbus_message` turns that into a message and exit 2, and
    // a file that changed without shrinking is caught by comparing its size and time after.
    let map = (len >= MAP_BYTES).then(|| unsafe { memmap2::Mmap::map(&file) }.ok()).flatten();
    let stamp_before = map.as_ref().and_then(|_| file_stamp(&src.path));
    let hasher = sha2::Sha256::default();
    let splitter = match map {
        Some(map) => {
            let _ = map.advise(memmap2::Advice::Sequential);
            json::Splitter::mapped(ExportReader::Plain(file), map, lines, hasher)
        }
        // Hashed as stored by the reader, not as decompressed by the splitter.
        None if gzip => json::Splitter::new(ExportReader::gzip(file), lines, hasher).without_hash(),
        None => json::Splitter::new(ExportReader::Plain(file), lines, hasher),
    };
    Ok((splitter, stamp_before))
}

/// Decode the records of `chunk` into the job's pending rows. One file on one thread
/// decodes straight into them; a large file (`parallel`) decodes blocks of records in
/// parallel, each into rows of its own, appended in order.
fn decode_chunk(
    chunk: &json::Chunk,
    src: &Source,
    kind: Kind,
    tz: Tz,
    parallel: bool,
    out: &mut Parts<'_, '_>,
) -> Vec<TaskOutput> {
    if !parallel {
        return vec![decode_records(
            chunk,
            &chunk.records,
            &chunk.index,
            src,
            kind,
            tz,
            out.pending(kind),
        )];
    }
    let tasks: Vec<(Rows, TaskOutput)> = chunk
        .records
        .par_chunks(TASK)
        .zip(chunk.index.par_chunks(TASK))
        .map(|(recs, idx)| {
            let mut rows = Rows::new(kind);
            let r = decode_records(chunk, recs, idx, src, kind, tz, &mut rows);
            (rows, r)
        })
        .collect();
    let pending = out.pending(kind);
    tasks
        .into_iter()
        .map(|(rows, r)| {
            pending.append(rows);
            r
        })
        .collect()
}

/// Decode the records `recs` (byte ranges of `chunk`, record numbers `idx`) into `rows`;
/// stops at the first record that is not JSON.
fn decode_records(
    chunk: &json::Chunk,
    recs: &[(usize, usize)],
    idx: &[u64],
    src: &Source,
    kind: Kind,
    tz: Tz,
    rows: &mut Rows,
) -> TaskOutput {
    let mut rej = RejectRows::new();
    let mut ok = 0u64;
    for (&(a, b), &i) in recs.iter().zip(idx) {
        let bytes = &chunk.buf[a..b];
        let origin = Origin { license: &src.license, source_file: &src.rel, record: i as i64 };
        match metrc::decode(kind, bytes, &origin, tz, rows) {
            Outcome::Accepted => ok += 1,
            Outcome::Rejected { column, reason } => {
                rej.push(&src.rel, i as i64, &column, &reason, &String::from_utf8_lossy(bytes));
            }
            Outcome::Syntax { offset, reason } => {
                return (rej, Some((chunk.base + (a + offset) as u64, reason)), ok);
            }
        }
    }
    (rej, None, ok)
}

/// Size and modification time of a file, to tell whether it changed while it was read.
type FileStamp = (u64, std::time::SystemTime);

/// The [`FileStamp`] of `path`.
fn file_stamp(path: &Path) -> Option<FileStamp> {
    let m = fs::metadata(path).ok()?;
    Some((m.len(), m.modified().ok()?))
}

/// A count sheet read, before its rows are written.
struct ReadSheet<'s> {
    src: &'s Source,
    file_idx: usize,
    sheet: counts::CountSheet,
    sha256: String,
    bytes: u64,
}

/// Read every count sheet (in parallel), give each row without a license of its own the
/// sheet's license (its name's or folder's, else the one license of the export that holds
/// its labels), and write them to the staged lake.
fn ingest_sheets(
    opts: &IngestOptions,
    sources: &[Source],
    first_idx: usize,
    sink: &Sink<'_>,
    notes: &mut Vec<String>,
    reused: &[(usize, InputFile, String)],
) -> Result<Vec<(InputFile, RejectRows)>> {
    let counted_at = match opts.counted_at.as_deref() {
        None => None,
        Some(raw) => match normalize::parse_timestamp(raw, opts.tz) {
            Ok(Some(st)) => Some(st),
            Ok(None) | Err(_) => {
                return Err(Error::Usage(format!(
                    "--counted-at `{raw}` is not a date-time (e.g. 2026-10-29T17:00, \
                     2026-10-29 or 2026-10-29T17:00:00-07:00)"
                )));
            }
        },
    };
    let skip: BTreeSet<usize> = reused.iter().map(|r| r.0).collect();
    let read: Vec<Result<ReadSheet<'_>>> = sources
        .par_iter()
        .enumerate()
        .filter(|(j, _)| !skip.contains(j))
        .map(|(j, src)| read_sheet(src, first_idx + j, opts, counted_at, sink))
        .collect();
    let mut out = Vec::with_capacity(sources.len());
    let mut times = CountTimes::default();
    for (_, f, _) in reused {
        if let Some(l) = &f.license {
            times.timed.insert(l.clone(), true);
        }
    }
    for r in read {
        let ReadSheet { src, file_idx, sheet, sha256, bytes } = r?;
        let mut rows = sheet.rows.into_frame()?;
        let mut unknown = sheet.unknown.into_frame()?;
        let license = sheet_license(src, &rows, &unknown, sink, notes)?;
        if let Some(l) = &license {
            rows = fill_license(rows, l)?;
            unknown = fill_license(unknown, l)?;
        }
        // Only accepted rows are read at a count time; a rejected row (its time may be
        // the unreadable cell) is kept as evidence and needs none.
        times.tally(&rows, &src.path)?;
        let accepted = rows.height() as u64;
        write_frame_parts(sink.lake, schema::COUNTS, rows, file_idx, 0, sink.written, None)?;
        write_frame_parts(
            sink.lake,
            schema::COUNT_REJECTS,
            unknown,
            file_idx,
            0,
            sink.written,
            None,
        )?;
        let mut rejects = RejectRows::new();
        for r in &sheet.rejects {
            rejects.push(&src.rel, r.line, &r.column, &r.reason, &r.raw);
        }
        let read_as = sheet.format.describe();
        out.push((
            InputFile {
                path: src.rel.clone(),
                root: "counts".into(),
                kind: "counts".into(),
                license: license.or_else(|| (!src.license.is_empty()).then(|| src.license.clone())),
                sha256,
                bytes,
                rows_in: sheet.rows_in,
                rows_accepted: accepted,
                rows_rejected: sheet.rejects.len() as u64,
                read_as: Some(read_as),
                part: Some(reuse::prefix(file_idx)),
            },
            rejects,
        ));
    }
    times.require()?;
    // Reused sheets take their place in the file order (their parts are linked already).
    for (j, f, _) in reused {
        let mut f = f.clone();
        f.part = Some(reuse::prefix(first_idx + j));
        let at = out.iter().position(|(o, _)| o.path > f.path).unwrap_or(out.len());
        out.insert(at, (f, RejectRows::new()));
    }
    Ok(out)
}

/// Per license of the count sheets: whether any of its rows has a count time, and the
/// sheets that hold its rows without one. A row with a blank count time is read at its
/// license's latest count time; a license with no count time at all would be judged at no
/// moment (every package "expected", quantities as of today), so it is an input error.
#[derive(Default)]
struct CountTimes {
    timed: BTreeMap<String, bool>,
    blank_in: BTreeMap<String, BTreeSet<PathBuf>>,
}

impl CountTimes {
    fn tally(&mut self, rows: &DataFrame, sheet: &Path) -> Result<()> {
        let column =
            |name: &str| rows.column(name).map_err(|e| Error::Internal(format!("count rows: {e}")));
        let licenses = column(schema::col::LICENSE)?;
        let licenses = licenses.str().map_err(|e| Error::Internal(format!("count rows: {e}")))?;
        let blank = column("counted_at")?.as_materialized_series().is_null();
        for (license, blank) in licenses.iter().zip(blank.iter()) {
            let Some(license) = license else { continue };
            let has_time = blank == Some(false);
            let timed = self.timed.entry(license.to_owned()).or_default();
            *timed |= has_time;
            if !has_time {
                self.blank_in.entry(license.to_owned()).or_default().insert(sheet.to_owned());
            }
        }
        Ok(())
    }

    fn require(&self) -> Result<()> {
        let Some((license, sheets)) =
            self.blank_in.iter().find(|(l, _)| !self.timed.get(*l).copied().unwrap_or(false))
        else {
            return Ok(());
        };
        let sheet = sheets.iter().next().cloned().unwrap_or_default();
        Err(Error::Input {
            path: sheet,
            position: None,
            reason: format!(
                "no count row of license {license} has a count time (the count-time column \
                 is blank), so there is no moment to compare the system with; fill it in, \
                 or pass --counted-at with when the count was made, e.g. --counted-at \
                 2026-10-29T17:00 (it applies to rows without a count time)"
            ),
        })
    }
}

/// The users and outages files given (`--users`, `--outages`), their parts numbered after
/// every export file and count sheet.
fn ingest_duty_files(
    opts: &IngestOptions,
    first_idx: usize,
    sink: &Sink<'_>,
    notes: &mut Vec<String>,
) -> Result<Vec<(InputFile, RejectRows)>> {
    let files = [(duties::Duty::Users, &opts.users), (duties::Duty::Outages, &opts.outages)];
    let mut out = Vec::new();
    for (k, (duty, path)) in files.into_iter().enumerate() {
        if let Some(path) = path {
            out.push(ingest_duty_file(opts, duty, path, first_idx + k, sink, notes)?);
        }
    }
    Ok(out)
}

/// Read a users or outages file (SPEC 2.2b) into its table: rows of licenses of the export
/// only (the others are named in a note), bad rows to rejects.
fn ingest_duty_file(
    opts: &IngestOptions,
    duty: duties::Duty,
    path: &Path,
    file_idx: usize,
    sink: &Sink<'_>,
    notes: &mut Vec<String>,
) -> Result<(InputFile, RejectRows)> {
    let bytes = fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    let xlsx = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let rel = file_name(path);
    let dopts = duties::DutyOptions {
        tz: opts.tz,
        licenses: sink.licenses,
        worksheet: opts.sheet.as_deref(),
    };
    let file =
        duties::read(duty, &bytes, xlsx, &rel, &dopts).map_err(|(line, reason)| Error::Input {
            path: path.to_path_buf(),
            position: Some(line.map_or_else(|| "header".to_owned(), |l| format!("line {l}"))),
            reason,
        })?;
    if !file.other_licenses.is_empty() {
        let names: Vec<&str> = file.other_licenses.iter().map(String::as_str).collect();
        notes.push(format!(
            "--{} {rel}: rows of {} not in the export were left out ({})",
            duty.name(),
            if names.len() == 1 { "a license" } else { "licenses" },
            names.join(", ")
        ));
    }
    let df = file.rows.into_frame()?;
    let accepted = df.height() as u64;
    write_frame_parts(sink.lake, duty.name(), df, file_idx, 0, sink.written, Some(sink.licenses))?;
    let mut rejects = RejectRows::new();
    for r in &file.rejects {
        rejects.push(&rel, r.line, &r.column, &r.reason, &r.raw);
    }
    let input = InputFile {
        path: rel,
        root: duty.name().into(),
        kind: duty.name().into(),
        license: None,
        sha256: manifest::sha256_hex(&bytes),
        bytes: bytes.len() as u64,
        rows_in: file.rows_in,
        rows_accepted: accepted,
        rows_rejected: file.rejects.len() as u64,
        read_as: Some(file.read_as),
        part: Some(reuse::prefix(file_idx)),
    };
    Ok((input, rejects))
}

fn read_sheet<'s>(
    src: &'s Source,
    file_idx: usize,
    opts: &IngestOptions,
    counted_at: Option<Stamp>,
    sink: &Sink<'_>,
) -> Result<ReadSheet<'s>> {
    let bytes = fs::read(&src.path).map_err(|e| Error::io("cannot read", &src.path, e))?;
    sink.progress.inc(bytes.len() as u64);
    let xlsx = src.path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let sheet_opts = counts::SheetOptions {
        tz: opts.tz,
        counted_at,
        require_time: true,
        licenses: sink.licenses,
        default_license: None,
        worksheet: opts.sheet.as_deref(),
    };
    let sheet = if xlsx {
        counts::read_xlsx(&bytes[..], &src.rel, &sheet_opts)
    } else {
        counts::read_text_sheet(&bytes[..], &src.rel, &sheet_opts)
    };
    let sheet = sheet.map_err(|reason| Error::Input {
        path: src.path.clone(),
        position: Some(if xlsx { "workbook" } else { "header" }.into()),
        reason,
    })?;
    Ok(ReadSheet {
        src,
        file_idx,
        sheet,
        sha256: manifest::sha256_hex(&bytes),
        bytes: bytes.len() as u64,
    })
}

/// The license of a sheet's rows that have none of their own (`None`: every row has one).
/// A name or folder that is a license of the export decides; else the one license whose
/// packages hold more of the sheet's labels than every other license together. Never a
/// license invented from a file name.
fn sheet_license(
    src: &Source,
    rows: &DataFrame,
    unknown: &DataFrame,
    sink: &Sink<'_>,
    notes: &mut Vec<String>,
) -> Result<Option<String>> {
    let nulls = rows.column(schema::col::LICENSE).map_or(0, Column::null_count)
        + unknown.column(schema::col::LICENSE).map_or(0, Column::null_count);
    if nulls == 0 {
        return Ok(None);
    }
    if !src.license.is_empty() {
        return Ok(Some(src.license.clone()));
    }
    let mut labels: Vec<String> = Vec::new();
    for df in [rows, unknown] {
        let lic = df
            .column(schema::col::LICENSE)
            .ctx(|| "license".into())?
            .str()
            .ctx(|| "license".into())?;
        let lab =
            df.column(schema::col::LABEL).ctx(|| "label".into())?.str().ctx(|| "label".into())?;
        for (l, label) in lic.iter().zip(lab.iter()) {
            if let (None, Some(label)) = (l, label) {
                labels.push(label.to_owned());
            }
        }
    }
    labels.sort_unstable();
    labels.dedup();
    let held = licenses_holding(sink.lake, &labels)?;
    let total: u64 = held.iter().map(|(_, n)| n).sum();
    let export: Vec<&str> = sink.licenses.iter().map(String::as_str).collect();
    match held.first() {
        Some((best, n)) if 2 * n > total => {
            notes.push(format!(
                "counts: `{}` names no license of the export (no License column, and neither its \
                 name nor its folder is one); its labels are {best}'s ({n} of {} labels held by \
                 {best}{}), so its rows are counted at {best}",
                src.rel,
                labels.len(),
                if total > *n {
                    format!(", {} by other licenses", total - n)
                } else {
                    String::new()
                },
            ));
            Ok(Some(best.clone()))
        }
        _ => Err(Error::Input {
            path: src.path.clone(),
            position: None,
            reason: format!(
                "cannot tell which license this sheet counts: it has no License column, neither \
                 its name nor its folder is a license of the export, and {}. Add a License \
                 column, or name the file (or its folder) after the license; the export's \
                 licenses: {}",
                if held.is_empty() {
                    "none of its labels is a package of the export".to_owned()
                } else {
                    format!(
                        "its labels are held by several licenses ({})",
                        held.iter()
                            .map(|(l, n)| format!("{l}: {n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                export.join(", ")
            ),
        }),
    }
}

/// The export licenses whose staged packages hold some of `labels`, with how many, most
/// first.
fn licenses_holding(lake: &Path, labels: &[String]) -> Result<Vec<(String, u64)>> {
    if labels.is_empty() {
        return Ok(Vec::new());
    }
    let wanted = Series::new("labels".into(), labels);
    let df = store::scan_table(lake, schema::PACKAGES)?
        .select([col(schema::col::LICENSE), col(schema::col::LABEL)])
        .filter(col(schema::col::LABEL).is_in(lit(wanted).implode(false), false))
        .unique(None, UniqueKeepStrategy::Any)
        .group_by([col(schema::col::LICENSE)])
        .agg([len().alias("n")])
        .sort_by_exprs(
            [col("n"), col(schema::col::LICENSE)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .collect()
        .ctx(|| "matching a count sheet's labels to the export".into())?;
    let lic =
        df.column(schema::col::LICENSE).ctx(|| "license".into())?.str().ctx(|| "license".into())?;
    let n = df.column("n").ctx(|| "n".into())?.cast(&DataType::UInt64).ctx(|| "n".into())?;
    let n = n.u64().ctx(|| "n".into())?;
    Ok(lic.iter().zip(n.iter()).filter_map(|(l, n)| Some((l?.to_owned(), n?))).collect())
}

fn fill_license(df: DataFrame, license: &str) -> Result<DataFrame> {
    df.lazy()
        .with_column(col(schema::col::LICENSE).fill_null(lit(license.to_owned())))
        .collect()
        .ctx(|| "count sheet license".into())
}

/// Position of `table` in [`schema::TABLES`].
fn table_slot(table: &str) -> usize {
    schema::TABLES.iter().position(|t| *t == table).unwrap_or(0)
}

/// Write a batch as part files, one per license it holds (of the licenses `only`, when
/// given; rows of other licenses are left out).
fn write_parts(
    lake: &Path,
    batch: &mut TableBatch,
    file_idx: usize,
    part_no: usize,
    written: &[AtomicU64],
    only: Option<&BTreeSet<String>>,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let table = batch.table();
    let df = batch.take_frame()?;
    write_frame_parts(lake, table, df, file_idx, part_no, written, only)
}

/// Write a frame of `table` as part files, one per license it holds (of `only`, if given).
fn write_frame_parts(
    lake: &Path,
    table: &str,
    df: DataFrame,
    file_idx: usize,
    part_no: usize,
    written: &[AtomicU64],
    only: Option<&BTreeSet<String>>,
) -> Result<()> {
    if df.height() == 0 {
        return Ok(());
    }
    let slot = table_slot(table);
    let name = format!("part-{file_idx:05}-{part_no:05}.parquet");
    let lic = df.column(schema::col::LICENSE).ctx(|| format!("{table} has no license"))?;
    let lic = lic.str().ctx(|| "license".into())?;
    let first = lic.get(0);
    let parts = if lic.downcast_iter().flat_map(|a| a.iter()).all(|l| l == first) {
        vec![df]
    } else {
        df.partition_by_stable([schema::col::LICENSE], true)
            .ctx(|| format!("partitioning {table}"))?
    };
    for mut part in parts {
        let license = part
            .column(schema::col::LICENSE)
            .ctx(|| "license".into())?
            .str()
            .ctx(|| "license".into())?
            .get(0)
            .unwrap_or("")
            .to_owned();
        if only.is_some_and(|keep| !keep.contains(&license)) {
            continue;
        }
        let path = store::partition_dir(lake, table, &license).join(&name);
        let n = store::write_lake_part(&mut part, &path)?;
        written[slot].fetch_add(n, Ordering::Relaxed);
    }
    Ok(())
}

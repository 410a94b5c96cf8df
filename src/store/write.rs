//! Writing files: every file goes to a temporary name in its folder and is renamed into
//! place, so a reader never sees half a file and an interrupted run leaves none. Lake parts
//! go to their partition's folder (`<table>/license=<L>`), named the Hive way.

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::encoding::{plain_schema_key, write_encoded};
use crate::error::{Error, PolarsContext, Result};
use crate::schema;

/// Write `df` to `path` as LZ4 Parquet, atomically (temporary name, then rename). LZ4 rather
/// than zstd: the lake is read back by every check run, and LZ4 decodes several times faster.
pub fn write_parquet(df: &mut DataFrame, path: &Path) -> Result<u64> {
    write_parquet_with(df, path, |df, w| {
        let arrow_schema = plain_schema_key(&df.schema().to_arrow(CompatLevel::newest()));
        ParquetWriter::new(w)
            .with_compression(ParquetCompression::Lz4Raw)
            .with_statistics(StatisticsOptions::default())
            .with_key_value_metadata(Some(KeyValueMetadata::Static(vec![arrow_schema])))
            .finish(df)
            .map(|_| ())
    })
}

/// Write a part of the lake as Parquet, atomically, choosing each column's encoding and
/// compression (see `store::encoding`) where [`write_parquet`] lets Polars try a dictionary
/// for every column.
///
/// The partition column (`license`) is left out: its value is the folder's name
/// ([`partition_dir`]), the Hive convention. Readers add it from the path (pyarrow and
/// pandas refuse a file column whose type differs from the one they give the key), and so
/// does [`scan_partitions`](super::scan_partitions). The rows written are those of `df`.
pub fn write_lake_part(df: &mut DataFrame, path: &Path) -> Result<u64> {
    let mut part = match df.get_column_index(schema::col::LICENSE) {
        Some(i) => {
            let mut cols = df.columns().to_vec();
            cols.remove(i);
            DataFrame::new(df.height(), cols).ctx(|| "dropping the partition column".into())?
        }
        None => df.clone(),
    };
    write_parquet_with(&mut part, path, write_encoded)
}

/// Write `df` to `path` with `write`, atomically (a temporary file, then a rename; the
/// temporary file is removed on failure); the rows written.
fn write_parquet_with(
    df: &mut DataFrame,
    path: &Path,
    write: impl FnOnce(&mut DataFrame, BufWriter<fs::File>) -> PolarsResult<()>,
) -> Result<u64> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(Error::Usage("interrupted".into()));
    }
    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    let tmp = temp_file(dir)?;
    let file = tmp.as_file().try_clone().map_err(|e| Error::io("cannot write", tmp.path(), e))?;
    // On failure `tmp` is dropped, which removes the file.
    write(df, BufWriter::new(file))
        .map_err(|e| Error::polars(format!("cannot write `{}`", path.display()), e))?;
    tmp.persist(path).map_err(|e| Error::io("cannot rename into", path, e.error))?;
    Ok(df.height() as u64)
}

/// Set when the process is interrupted (SIGINT, SIGTERM): no new file is started, so the
/// result being written can be removed without another file appearing in it.
pub static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Files written so far by this process, for [`injected_disk_full`].
static FILES_WRITTEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Tests only: with `TAGTRAIL_TEST_DISK_FULL_AFTER=N`, every file written after the first N
/// fails as a full disk would (where a test cannot fill a real disk).
fn injected_disk_full(dir: &Path) -> Result<()> {
    if STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(Error::Usage("interrupted".into()));
    }
    let n = FILES_WRITTEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let limit =
        std::env::var("TAGTRAIL_TEST_DISK_FULL_AFTER").ok().and_then(|v| v.parse::<u64>().ok());
    match limit {
        Some(limit) if n >= limit => Err(Error::io(
            "cannot write in",
            dir,
            std::io::Error::from(std::io::ErrorKind::StorageFull),
        )),
        _ => Ok(()),
    }
}

/// A new temporary file in `dir`, created exclusively under a random name (never opened
/// through a link someone planted), removed when dropped unless persisted. Its mode is
/// what any new file gets (0666 less the umask), not a temporary file's owner-only 0600:
/// once persisted it is an output dashboards and colleagues read.
fn temp_file(dir: &Path) -> Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    injected_disk_full(dir)?;
    tempfile::Builder::new()
        .prefix(".tagtrail-")
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| Error::io("cannot create a file in", dir, e))
}

/// Rename, with the paths in the error.
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| Error::io("cannot rename into", to, e))
}

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    let mut tmp = temp_file(dir)?;
    tmp.write_all(bytes).map_err(|e| Error::io("cannot write", tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io("cannot rename into", path, e.error))?;
    Ok(())
}

/// Percent-encode a partition value the way Hive does, so that no license value can
/// leave its folder (`/`, `..`, control characters, `%`, `=` are encoded).
pub fn encode_partition(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    for b in value.bytes() {
        let keep =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b' ' | b'+' | b',');
        if keep {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    // `.` and `..` alone are folder names with a meaning; encode them.
    if s.chars().all(|c| c == '.') {
        s = s.replace('.', "%2E");
    }
    if s.is_empty() {
        s.push_str("__HIVE_DEFAULT_PARTITION__");
    }
    s
}

/// Folder of one license's part files of `table` under `lake`.
pub fn partition_dir(lake: &Path, table: &str, license: &str) -> PathBuf {
    lake.join(table).join(format!("license={}", encode_partition(license)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_never_leave_their_folder() {
        assert_eq!(encode_partition("C11-0000001-LIC"), "C11-0000001-LIC");
        assert_eq!(encode_partition("../etc"), "..%2Fetc");
        assert_eq!(encode_partition(".."), "%2E%2E");
        assert_eq!(encode_partition("a/b\n"), "a%2Fb%0A");
        assert_eq!(encode_partition("x=1%"), "x%3D1%25");
        assert_eq!(encode_partition(""), "__HIVE_DEFAULT_PARTITION__");
    }
}

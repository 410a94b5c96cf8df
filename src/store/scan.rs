//! Reading the lake back: its partition folders and part files, and lazy scans of a table
//! with each partition's license added from its folder name.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::batch::{empty_frame, schema_of};
use crate::error::{Error, PolarsContext, Result};
use crate::schema;

/// Lazily scan every part of `table` under `lake`; an absent table is an empty frame
/// with the canonical schema.
pub fn scan_table(lake: &Path, table: &str) -> Result<LazyFrame> {
    scan_partitions(lake, table, None)
}

/// Lazily scan the parts of `table` in the partitions `only` (folder names, as given by
/// [`lake_partitions`]), or in every partition.
///
/// Parts do not hold the partition column ([`write_lake_part`](super::write_lake_part)): each partition's parts are
/// one scan with its license added as a literal (a constant column, nothing per row until
/// a join or a group needs it), in layout order. Not Polars' Hive parsing of the paths: it
/// reads every `key=value` folder of the whole path, so an OUT under `/data/run=3/` would
/// add a column or fail.
pub fn scan_partitions(
    lake: &Path,
    table: &str,
    only: Option<&BTreeSet<String>>,
) -> Result<LazyFrame> {
    scan_each(lake, table, |folder| match only {
        Some(only) if !only.contains(folder) => Pick::Skip,
        _ => Pick::All,
    })
}

/// Lazily scan the rows of `table` that `filter` keeps in each partition: `filter` gets the
/// partition's license (`None` for rows without one) and gives the rows' filter, or `None`
/// to skip the partition. A filter of a partition's own is pushed into that partition's
/// scan alone, so a list of values per license costs one list per scan, not every list in
/// every scan.
pub fn scan_partitions_where(
    lake: &Path,
    table: &str,
    filter: impl Fn(Option<&str>) -> Option<Expr>,
) -> Result<LazyFrame> {
    scan_each(lake, table, |folder| match filter(partition_value(folder).as_deref()) {
        Some(f) => Pick::Filter(f),
        None => Pick::Skip,
    })
}

/// What to read of one partition.
enum Pick {
    Skip,
    All,
    Filter(Expr),
}

fn scan_each(lake: &Path, table: &str, pick: impl Fn(&str) -> Pick) -> Result<LazyFrame> {
    let cols = schema::layout(table);
    let file_schema: Arc<Schema> = Arc::new(schema_of(
        &cols.iter().copied().filter(|(n, _)| *n != schema::col::LICENSE).collect::<Vec<_>>(),
    ));
    let order: Vec<Expr> = cols.iter().map(|(n, _)| col(*n)).collect();
    let mut scans = Vec::new();
    for (folder, files) in partition_files(lake, table)? {
        let filter = match pick(&folder) {
            Pick::Skip => continue,
            Pick::All => None,
            Pick::Filter(f) => Some(f),
        };
        let license = partition_license(&folder);
        let paths: Vec<PlRefPath> =
            files.iter().map(|p| PlRefPath::from(p.to_string_lossy().as_ref())).collect();
        let options = ParquetOptions { schema: Some(file_schema.clone()), ..Default::default() };
        let args = UnifiedScanArgs {
            hive_options: HiveOptions::new_disabled(),
            // As `ScanArgsParquet` has it: a scan read twice in one plan is read once.
            cache: true,
            // Paths are files, never patterns (an OUT may be named `[x]`).
            glob: false,
            cast_columns_policy: CastColumnsPolicy::ERROR_ON_MISMATCH,
            // A part written before parts left the partition column out still holds it;
            // the folder's value is the same, so the stored copy is not read.
            extra_columns_policy: ExtraColumnsPolicy::Ignore,
            ..Default::default()
        };
        let scan = DslBuilder::scan_parquet(ScanSources::Paths(paths.into()), options, args)
            .ctx(|| format!("scanning lake table {table}"))?
            .build();
        let scan = LazyFrame::from(scan);
        let scan = match filter {
            Some(f) => scan.filter(f),
            None => scan,
        };
        scans.push(scan.with_column(license).select(order.clone()));
    }
    match scans.len() {
        0 => Ok(empty_frame(cols).lazy()),
        1 => Ok(scans.pop().expect("one scan")),
        _ => concat(scans, UnionArgs::default()).ctx(|| format!("scanning lake table {table}")),
    }
}

/// The license of a partition folder as a literal `license` column.
pub fn partition_license(folder: &str) -> Expr {
    match partition_value(folder) {
        Some(l) => lit(l),
        None => lit(NULL).cast(DataType::String),
    }
    .alias(schema::col::LICENSE)
}

/// The part files of `table` by partition folder (`license=<L>`), both sorted.
pub fn partition_files(lake: &Path, table: &str) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let mut by_folder: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for f in table_files(lake, table)? {
        let Some(folder) = f.parent().and_then(Path::file_name) else { continue };
        let folder = folder.to_string_lossy();
        match by_folder.last_mut() {
            Some((last, files)) if *last == folder => files.push(f),
            _ => by_folder.push((folder.into_owned(), vec![f])),
        }
    }
    Ok(by_folder)
}

/// The license of a partition folder (`license=<encoded>`, see [`encode_partition`](super::encode_partition)), as
/// every Hive reader decodes it; `None` for Hive's default (null) partition.
pub fn partition_value(folder: &str) -> Option<String> {
    let encoded = folder.split_once('=').map_or(folder, |(_, v)| v);
    if encoded == "__HIVE_DEFAULT_PARTITION__" {
        return None;
    }
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) if bytes[i] == b'%' => {
                out.push(b);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Every partition folder of the lake (`license=<L>`) with the bytes of its parts over all
/// tables, sorted by name.
pub fn lake_partitions(lake: &Path) -> Result<Vec<(String, u64)>> {
    let mut sizes: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for table in schema::TABLES {
        for f in table_files(lake, table)? {
            let Some(dir) = f.parent().and_then(Path::file_name) else { continue };
            let bytes = fs::metadata(&f).map_err(|e| Error::io("cannot read", &f, e))?.len();
            *sizes.entry(dir.to_string_lossy().into_owned()).or_default() += bytes;
        }
    }
    Ok(sizes.into_iter().collect())
}

/// Every part file of `table`, sorted (deterministic order).
pub fn table_files(lake: &Path, table: &str) -> Result<Vec<PathBuf>> {
    let dir = lake.join(table);
    let mut files = Vec::new();
    let Ok(parts) = fs::read_dir(&dir) else {
        return Ok(files);
    };
    for part in parts {
        let part = part.map_err(|e| Error::io("cannot list", &dir, e))?.path();
        if !part.is_dir() {
            continue;
        }
        for f in fs::read_dir(&part).map_err(|e| Error::io("cannot list", &part, e))? {
            let f = f.map_err(|e| Error::io("cannot list", &part, e))?.path();
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.ends_with(".parquet") && !name.starts_with('.') {
                files.push(f);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Read a whole Parquet file eagerly.
pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    let file = fs::File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    ParquetReader::new(file).finish().ctx(|| format!("cannot read `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::encode_partition;

    #[test]
    fn partition_folders_decode_to_their_license() {
        for l in ["C11-0000001-LIC", "../etc", "..", "a/b\n", "x=1%", "Büdchen 5%", "%zz"] {
            let folder = format!("license={}", encode_partition(l));
            assert_eq!(partition_value(&folder).as_deref(), Some(l), "{folder}");
        }
        assert_eq!(partition_value("license=__HIVE_DEFAULT_PARTITION__"), None);
        // Not ours, still decoded as a Hive reader would.
        assert_eq!(partition_value("license=a%2"), Some("a%2".to_owned()));
    }

    /// A part written when parts still held the `license` column (a previous run's lake,
    /// reused by `--previous`) is read, and its license is the folder's.
    #[test]
    fn a_part_holding_the_partition_column_is_read_with_the_folders_license() {
        let lake = tempfile::tempdir().unwrap();
        let table = schema::EVENTS;
        let cols = schema::layout(table);
        let mut df = DataFrame::full_null(&schema_of(cols), 2);
        df.with_column(Column::new(schema::col::LICENSE.into(), ["stale", "stale"])).unwrap();
        let dir = lake.path().join(table).join("license=C11-0000001-LIC");
        fs::create_dir_all(&dir).unwrap();
        crate::store::write_parquet(&mut df, &dir.join("part-00000-00000.parquet")).unwrap();
        let got = scan_table(lake.path(), table).unwrap().collect().unwrap();
        assert_eq!(got.height(), 2);
        let names: Vec<&str> = got.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, cols.iter().map(|(n, _)| *n).collect::<Vec<_>>());
        let lic = got.column(schema::col::LICENSE).unwrap().str().unwrap().clone();
        assert!(lic.iter().all(|l| l == Some("C11-0000001-LIC")));
    }
}

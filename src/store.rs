//! Canonical Parquet: build table batches in memory, write them as parts of the lake,
//! read the lake back lazily. Every file is written to a temporary name and renamed.
//!
//! This module knows the layout of [`crate::schema`] and nothing about where rows come from.

use std::collections::BTreeSet;
use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{Error, PolarsContext, Result};
use crate::schema;

/// One value of a row pushed into a [`TableBatch`].
#[derive(Debug, Clone, Copy)]
pub enum V<'a> {
    /// SQL null.
    Null,
    /// utf8.
    S(&'a str),
    /// f64.
    F(f64),
    /// i64.
    I(i64),
    /// boolean.
    B(bool),
    /// Timestamp, µs since the epoch, UTC.
    Ts(i64),
    /// Local calendar date, days since 1970-01-01.
    D(i32),
}

impl<'a> V<'a> {
    /// `S` or `Null`.
    pub fn opt_s(v: Option<&'a str>) -> Self {
        v.map_or(V::Null, V::S)
    }
    /// `F` or `Null`.
    pub fn opt_f(v: Option<f64>) -> Self {
        v.map_or(V::Null, V::F)
    }
    /// `Ts` or `Null`.
    pub fn opt_ts(v: Option<i64>) -> Self {
        v.map_or(V::Null, V::Ts)
    }
    /// `D` or `Null`.
    pub fn opt_d(v: Option<i32>) -> Self {
        v.map_or(V::Null, V::D)
    }
    /// `B` or `Null`.
    pub fn opt_b(v: Option<bool>) -> Self {
        v.map_or(V::Null, V::B)
    }
}

/// Marks a null in a string column's spans.
const NULL_SPAN: (u32, u32) = (u32::MAX, 0);

enum Buf {
    /// All values of the column in one arena, each a (start, len) span of it: one
    /// allocation per column instead of one per value (malloc/free were a fifth of ingest).
    Str(String, Vec<(u32, u32)>),
    F64(Vec<Option<f64>>),
    I64(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    Ts(Vec<Option<i64>>),
    Date(Vec<Option<i32>>),
}

/// Rows of one canonical table, column by column, in [`schema::LAYOUT`] order.
pub struct TableBatch {
    table: &'static str,
    names: &'static [(&'static str, &'static str)],
    bufs: Vec<Buf>,
    len: usize,
}

impl TableBatch {
    /// An empty batch of `table`.
    pub fn new(table: &'static str) -> Self {
        Self::with_columns(table, schema::layout(table))
    }

    /// An empty batch of `cols` (a table outside the lake, such as rejects).
    pub fn new_with(cols: &'static [(&'static str, &'static str)]) -> Self {
        Self::with_columns("rejects", cols)
    }

    fn with_columns(table: &'static str, names: &'static [(&'static str, &'static str)]) -> Self {
        let bufs = names
            .iter()
            .map(|(_, ty)| match *ty {
                "str" => Buf::Str(String::new(), Vec::new()),
                "f64" => Buf::F64(Vec::new()),
                "i64" => Buf::I64(Vec::new()),
                "bool" => Buf::Bool(Vec::new()),
                "ts" => Buf::Ts(Vec::new()),
                "date" => Buf::Date(Vec::new()),
                other => unreachable!("schema type {other} is not known"),
            })
            .collect();
        TableBatch { table, names, bufs, len: 0 }
    }

    /// The table this batch belongs to.
    pub fn table(&self) -> &'static str {
        self.table
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// About how many bytes the batch holds (text plus fixed-width values).
    pub fn approx_bytes(&self) -> usize {
        let text: usize = self
            .bufs
            .iter()
            .map(|b| match b {
                Buf::Str(arena, _) => arena.len(),
                _ => 0,
            })
            .sum();
        text + self.len * self.bufs.len() * 16
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append one row; `row` follows the table's layout exactly.
    ///
    /// A value of the wrong kind for its column is a programming error: it panics in tests
    /// (debug assertions) and is stored as null otherwise.
    pub fn push(&mut self, row: &[V<'_>]) {
        debug_assert_eq!(row.len(), self.bufs.len(), "row width for {}", self.table);
        for (i, (buf, v)) in self.bufs.iter_mut().zip(row).enumerate() {
            let ok = match (buf, *v) {
                (Buf::Str(arena, spans), V::S(s)) => {
                    spans.push(push_span(arena, s));
                    true
                }
                (Buf::F64(b), V::F(x)) => {
                    b.push(Some(x));
                    true
                }
                (Buf::I64(b), V::I(x)) => {
                    b.push(Some(x));
                    true
                }
                (Buf::Bool(b), V::B(x)) => {
                    b.push(Some(x));
                    true
                }
                (Buf::Ts(b), V::Ts(x)) => {
                    b.push(Some(x));
                    true
                }
                (Buf::Date(b), V::D(x)) => {
                    b.push(Some(x));
                    true
                }
                (Buf::Str(_, spans), _) => {
                    spans.push(NULL_SPAN);
                    matches!(v, V::Null)
                }
                (Buf::F64(b), _) => push_null(b, matches!(v, V::Null)),
                (Buf::I64(b), _) => push_null(b, matches!(v, V::Null)),
                (Buf::Bool(b), _) => push_null(b, matches!(v, V::Null)),
                (Buf::Ts(b), _) => push_null(b, matches!(v, V::Null)),
                (Buf::Date(b), _) => push_null(b, matches!(v, V::Null)),
            };
            debug_assert!(ok, "{}.{}: wrong value kind {v:?}", self.table, self.names[i].0);
        }
        self.len += 1;
    }

    /// Move every row of `other` (same table) to the end of `self`.
    pub fn append(&mut self, other: TableBatch) {
        debug_assert_eq!(self.table, other.table);
        if self.len == 0 {
            *self = other;
            return;
        }
        for (a, b) in self.bufs.iter_mut().zip(other.bufs) {
            match (a, b) {
                (Buf::Str(arena, spans), Buf::Str(b_arena, b_spans)) => {
                    let shift =
                        u32::try_from(arena.len()).expect("a batch holds under 4 GiB of text");
                    arena.push_str(&b_arena);
                    spans.extend(
                        b_spans
                            .into_iter()
                            .map(|sp| if sp == NULL_SPAN { sp } else { (sp.0 + shift, sp.1) }),
                    );
                }
                (Buf::F64(a), Buf::F64(b)) => a.extend(b),
                (Buf::I64(a), Buf::I64(b)) => a.extend(b),
                (Buf::Bool(a), Buf::Bool(b)) => a.extend(b),
                (Buf::Ts(a), Buf::Ts(b)) => a.extend(b),
                (Buf::Date(a), Buf::Date(b)) => a.extend(b),
                _ => unreachable!("same table, same layout"),
            }
        }
        self.len += other.len;
    }

    /// Turn the batch into a DataFrame with the canonical types.
    pub fn into_frame(self) -> Result<DataFrame> {
        self.to_frame()
    }

    /// Forget the rows, keeping the buffers' capacity for the next ones.
    pub fn clear(&mut self) {
        for b in &mut self.bufs {
            match b {
                Buf::Str(arena, spans) => {
                    arena.clear();
                    spans.clear();
                }
                Buf::F64(v) => v.clear(),
                Buf::I64(v) | Buf::Ts(v) => v.clear(),
                Buf::Bool(v) => v.clear(),
                Buf::Date(v) => v.clear(),
            }
        }
        self.len = 0;
    }

    /// A DataFrame of the rows with the canonical types (the batch is left as it is).
    pub fn to_frame(&self) -> Result<DataFrame> {
        let len = self.len;
        let cols = self
            .names
            .iter()
            .zip(&self.bufs)
            .map(|((name, _), buf)| {
                let name = PlSmallStr::from_static(name);
                match buf {
                    Buf::Str(arena, spans) => str_column(name, arena, spans),
                    Buf::F64(v) => {
                        Float64Chunked::from_iter_options(name, v.iter().copied()).into_column()
                    }
                    Buf::I64(v) => {
                        Int64Chunked::from_iter_options(name, v.iter().copied()).into_column()
                    }
                    Buf::Bool(v) => {
                        BooleanChunked::from_iter_options(name, v.iter().copied()).into_column()
                    }
                    Buf::Ts(v) => Int64Chunked::from_iter_options(name, v.iter().copied())
                        .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
                        .into_column(),
                    Buf::Date(v) => Int32Chunked::from_iter_options(name, v.iter().copied())
                        .into_date()
                        .into_column(),
                }
            })
            .collect();
        DataFrame::new(len, cols).ctx(|| format!("building table {}", self.table))
    }
}

/// A string column of views into one copy of `arena` (a builder would copy value by value
/// and grow its buffers as it goes).
fn str_column(name: PlSmallStr, arena: &str, spans: &[(u32, u32)]) -> Column {
    use polars_arrow::array::{Utf8ViewArray, View};
    use polars_arrow::bitmap::MutableBitmap;
    use polars_arrow::datatypes::ArrowDataType;
    use polars_buffer::Buffer;

    let bytes = arena.as_bytes();
    let mut views = Vec::with_capacity(spans.len());
    let mut validity: Option<MutableBitmap> = None;
    let mut total_bytes = 0usize;
    for (i, &sp) in spans.iter().enumerate() {
        if sp == NULL_SPAN {
            validity
                .get_or_insert_with(|| {
                    let mut v = MutableBitmap::with_capacity(spans.len());
                    v.extend_constant(i, true);
                    v
                })
                .push(false);
            views.push(View::default());
        } else {
            let (start, len) = (sp.0 as usize, sp.1 as usize);
            views.push(View::new_from_bytes(&bytes[start..start + len], 0, sp.0));
            total_bytes += len;
            if let Some(v) = validity.as_mut() {
                v.push(true);
            }
        }
    }
    let buffers: Buffer<Buffer<u8>> = Buffer::from(vec![Buffer::from(bytes.to_vec())]);
    // SAFETY: every view of a value longer than 12 bytes points into buffer 0 at its span,
    // which lies inside the arena (spans are made by `push_span`); the arena is a `String`,
    // so every span, cut at the value boundaries it was pushed with, is UTF-8.
    let array = unsafe {
        Utf8ViewArray::new_unchecked(
            ArrowDataType::Utf8View,
            Buffer::from(views),
            buffers,
            validity.map(Into::into),
            Some(total_bytes),
            bytes.len(),
        )
    };
    StringChunked::with_chunk(name, array).into_column()
}

fn push_span(arena: &mut String, s: &str) -> (u32, u32) {
    let start = u32::try_from(arena.len()).expect("a batch holds under 4 GiB of text");
    arena.push_str(s);
    (start, u32::try_from(s.len()).expect("one value is under 4 GiB"))
}

fn push_null<T>(b: &mut Vec<Option<T>>, was_null: bool) -> bool {
    b.push(None);
    was_null
}

/// The polars dtype of a layout type.
pub fn dtype(ty: &str) -> DataType {
    match ty {
        "str" => DataType::String,
        "f64" => DataType::Float64,
        "i64" => DataType::Int64,
        "bool" => DataType::Boolean,
        "ts" => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
        "date" => DataType::Date,
        other => unreachable!("schema type {other} is not known"),
    }
}

/// The polars schema of a layout.
pub fn schema_of(cols: &[(&str, &str)]) -> Schema {
    cols.iter().map(|(n, t)| Field::new((*n).into(), dtype(t))).collect()
}

/// An empty frame with `cols`.
pub fn empty_frame(cols: &[(&str, &str)]) -> DataFrame {
    DataFrame::empty_with_schema(&schema_of(cols))
}

/// Write `df` to `path` as LZ4 Parquet, atomically (temporary name, then rename). LZ4 rather
/// than zstd: the lake is read back by every check run, and LZ4 decodes several times faster.
pub fn write_parquet(df: &mut DataFrame, path: &Path) -> Result<u64> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    let tmp = temp_path(path);
    let file = fs::File::create(&tmp).map_err(|e| Error::io("cannot create", &tmp, e))?;
    let res = ParquetWriter::new(BufWriter::new(file))
        .with_compression(ParquetCompression::Lz4Raw)
        .with_statistics(StatisticsOptions::default())
        .finish(df);
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(Error::polars(format!("cannot write `{}`", path.display()), e));
    }
    rename(&tmp, path)?;
    Ok(df.height() as u64)
}

/// `dir/.name.tmp-<pid>`: where a file is written before it is renamed into place.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Remove what a run killed midway left in `out`: its staging folder, the previous lake it
/// was replacing, and temporary files (`.<name>.tmp-<pid>`). Only hidden names that tagtrail
/// itself makes are touched; results already renamed into place stay.
pub fn sweep_leftovers(out: &Path) {
    let Ok(entries) = fs::read_dir(out) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if name.starts_with(".tagtrail-staging-") || name.starts_with(".tagtrail-old-") {
            let _ = fs::remove_dir_all(&path);
        } else if name.starts_with('.') && name.contains(".tmp-") && path.is_file() {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Rename, with the paths in the error.
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| Error::io("cannot rename into", to, e))
}

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    let tmp = temp_path(path);
    let res = fs::write(&tmp, bytes)
        .map_err(|e| Error::io("cannot write", &tmp, e))
        .and_then(|()| rename(&tmp, path));
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
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

/// Lazily scan every part of `table` under `lake`; an absent table is an empty frame
/// with the canonical schema.
pub fn scan_table(lake: &Path, table: &str) -> Result<LazyFrame> {
    scan_partitions(lake, table, None)
}

/// Lazily scan the parts of `table` in the partitions `only` (folder names, as given by
/// [`lake_partitions`]), or in every partition.
pub fn scan_partitions(
    lake: &Path,
    table: &str,
    only: Option<&BTreeSet<String>>,
) -> Result<LazyFrame> {
    let cols = schema::layout(table);
    let mut files = table_files(lake, table)?;
    if let Some(only) = only {
        files.retain(|f| {
            f.parent()
                .and_then(Path::file_name)
                .is_some_and(|d| only.contains(d.to_string_lossy().as_ref()))
        });
    }
    if files.is_empty() {
        return Ok(empty_frame(cols).lazy());
    }
    let paths: Vec<PlRefPath> =
        files.iter().map(|p| PlRefPath::from(p.to_string_lossy().as_ref())).collect();
    let args = ScanArgsParquet {
        hive_options: HiveOptions::new_disabled(),
        schema: Some(Arc::new(schema_of(cols))),
        ..Default::default()
    };
    LazyFrame::scan_parquet_files(paths.into_iter().collect(), args)
        .ctx(|| format!("scanning lake table {table}"))
}

/// Every partition folder of the lake (`license=<L>`) with the bytes of its parts over all
/// tables, sorted by name.
pub fn lake_partitions(lake: &Path) -> Result<Vec<(String, u64)>> {
    let mut sizes: std::collections::BTreeMap<String, u64> = Default::default();
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

    #[test]
    fn partition_values_never_leave_their_folder() {
        assert_eq!(encode_partition("C11-0000001-LIC"), "C11-0000001-LIC");
        assert_eq!(encode_partition("../etc"), "..%2Fetc");
        assert_eq!(encode_partition(".."), "%2E%2E");
        assert_eq!(encode_partition("a/b\n"), "a%2Fb%0A");
        assert_eq!(encode_partition("x=1%"), "x%3D1%25");
        assert_eq!(encode_partition(""), "__HIVE_DEFAULT_PARTITION__");
    }

    #[test]
    fn batch_round_trips_through_parquet() {
        let mut b = TableBatch::new(schema::LAB_RESULTS);
        b.push(&[V::S("L1"), V::S("A"), V::Null, V::B(true), V::Ts(1_000_000), V::S("f"), V::I(3)]);
        b.push(&[V::S("L1"), V::Null, V::S("x"), V::Null, V::Null, V::S("f"), V::I(4)]);
        let mut df = b.into_frame().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        write_parquet(&mut df, &p).unwrap();
        let back = read_parquet(&p).unwrap();
        assert_eq!(back.height(), 2);
        assert_eq!(back.schema().as_ref(), &schema_of(schema::layout(schema::LAB_RESULTS)));
        assert!(back.equals_missing(&df));
    }

    /// String columns are views into the arena: inline (up to 12 bytes) and long values,
    /// empty strings, multi-byte text and nulls first, between and last all come back.
    #[test]
    fn string_views_hold_every_value_and_null() {
        let values: Vec<Option<&str>> = vec![
            None,
            Some(""),
            Some("exactly12byt"),
            Some("thirteen byte"),
            None,
            Some("1A4FF0100000022000000001"),
            Some("Büdchen — 5 g"),
            Some("x"),
            None,
        ];
        let mut arena = String::new();
        let spans: Vec<(u32, u32)> =
            values.iter().map(|v| v.map_or(NULL_SPAN, |s| push_span(&mut arena, s))).collect();
        let col = str_column("c".into(), &arena, &spans);
        let got: Vec<Option<&str>> = col.str().unwrap().iter().collect();
        assert_eq!(got, values);
        assert_eq!(col.null_count(), 3);
        let none: Vec<(u32, u32)> =
            values.iter().flatten().map(|s| push_span(&mut arena, s)).collect();
        let col = str_column("c".into(), &arena, &none);
        assert_eq!(col.null_count(), 0);
        assert_eq!(col.str().unwrap().get(5), Some("x"));
    }
}

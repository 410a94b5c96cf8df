//! Canonical Parquet: build table batches in memory, write them as parts of the lake,
//! read the lake back lazily. Every file is written to a temporary name and renamed.
//!
//! This module knows the layout of [`crate::schema`] and nothing about where rows come from.

use std::collections::BTreeSet;
use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars_arrow::array::{PrimitiveArray, Utf8ViewArray, View};
use polars_arrow::bitmap::MutableBitmap;
use polars_arrow::datatypes::ArrowDataType;
use polars_arrow::types::NativeType;
use polars_buffer::Buffer;

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

/// Text of long string values is kept in segments of at most this many bytes (a longer
/// value gets a segment of its own). Under mimalloc's huge-object size (512 KiB), so a
/// freed segment is reused from its pages instead of fresh (zeroed) memory from the OS.
const SEGMENT: usize = 256 << 10;
/// A column's first segment; each next one is twice the last, up to [`SEGMENT`], so a
/// column of a few values (a reject, a small table) does not take a whole segment.
const FIRST_SEGMENT: usize = 4 << 10;

/// A string column being built: Arrow views (a value of up to 12 bytes lives in its view),
/// the bytes of longer values in fixed segments, and a validity mask once a null arrives.
///
/// Segments never grow, so no value is copied twice as the column grows, and they become
/// Polars' buffers as they are. One growing arena was copied on every doubling and again
/// into Polars: with the fresh pages that cost, 8 % of ingest (perf).
#[derive(Default)]
struct StrBuf {
    views: Vec<View>,
    segments: Vec<Vec<u8>>,
    validity: Option<MutableBitmap>,
    /// Bytes of all values, inline ones too.
    total_bytes: usize,
    /// The view of the last long value pushed: the same value again (a file name, an item
    /// name on every row of a file) shares its bytes instead of copying them.
    last_long: Option<View>,
}

impl StrBuf {
    fn push(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let view = if bytes.len() <= View::MAX_INLINE_SIZE as usize {
            inline_view(bytes)
        } else if let Some(v) = self.last_long.filter(|v| {
            v.length as usize == bytes.len()
                && self.segments[v.buffer_idx as usize]
                    [v.offset as usize..v.offset as usize + bytes.len()]
                    == *bytes
        }) {
            v
        } else {
            let fits = self.segments.last().is_some_and(|g| g.capacity() - g.len() >= bytes.len());
            if !fits {
                let next =
                    self.segments.last().map_or(FIRST_SEGMENT, |g| (2 * g.capacity()).min(SEGMENT));
                self.segments.push(Vec::with_capacity(next.max(bytes.len())));
            }
            let idx = self.segments.len() - 1;
            let segment = &mut self.segments[idx];
            let offset = u32::try_from(segment.len()).expect("a segment is under 4 GiB");
            segment.extend_from_slice(bytes);
            let idx = u32::try_from(idx).expect("under 4 billion segments");
            let v = View::new_from_bytes(bytes, idx, offset);
            self.last_long = Some(v);
            v
        };
        self.views.push(view);
        self.total_bytes += bytes.len();
        if let Some(v) = self.validity.as_mut() {
            v.push(true);
        }
    }

    fn push_null(&mut self) {
        push_invalid(&mut self.validity, self.views.len(), self.views.capacity());
        self.views.push(View::default());
    }

    fn text_bytes(&self) -> usize {
        self.segments.iter().map(Vec::len).sum()
    }

    fn append(&mut self, other: StrBuf) {
        let shift = u32::try_from(self.segments.len()).expect("under 4 billion segments");
        let n = self.views.len();
        self.views.extend(other.views.into_iter().map(|mut v| {
            if v.length > View::MAX_INLINE_SIZE {
                v.buffer_idx += shift;
            }
            v
        }));
        self.segments.extend(other.segments);
        self.total_bytes += other.total_bytes;
        append_validity(&mut self.validity, n, other.validity, self.views.len() - n);
    }

    /// The column, taking the buffers (no copy).
    fn take(&mut self, name: PlSmallStr) -> Column {
        let StrBuf { views, segments, validity, total_bytes, .. } = std::mem::take(self);
        let buffer_len = segments.iter().map(Vec::len).sum();
        let buffers: Buffer<Buffer<u8>> = segments.into_iter().map(Buffer::from).collect();
        // SAFETY: a view of a value over 12 bytes was made by `View::new_from_bytes` with
        // the segment it was copied into and its offset there; segments are only appended
        // to and are handed over in order (`append` shifts the other batch's indices by the
        // segments before them). Every value was a `&str`, so each view's bytes are UTF-8.
        let array = unsafe {
            Utf8ViewArray::new_unchecked(
                ArrowDataType::Utf8View,
                Buffer::from(views),
                buffers,
                validity.map(Into::into),
                Some(total_bytes),
                buffer_len,
            )
        };
        StringChunked::with_chunk(name, array).into_column()
    }
}

/// The view of a value of at most 12 bytes (held in the view itself), as
/// `View::new_inline`, from whole-word loads of the value: that one copies the bytes into
/// the view on the stack and reads them back as words, a stalled store-to-load forward
/// that was a third of `TableBatch::push` (perf annotate).
fn inline_view(bytes: &[u8]) -> View {
    let n = bytes.len();
    debug_assert!(n <= View::MAX_INLINE_SIZE as usize);
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    // The value's bytes as a little-endian 96-bit number: `lo` bytes 0-7, `hi` bytes 8-11.
    // Two loads that may overlap; the second, shifted, keeps only what the first missed.
    let (lo, hi) = match n {
        0 => (0u64, 0u32),
        1..=3 => {
            let (a, b, c) = (bytes[0] as u64, bytes[n / 2] as u64, bytes[n - 1] as u64);
            (a | b << (8 * (n / 2)) | c << (8 * (n - 1)), 0)
        }
        4..=7 => {
            let rest = (u32_at(n - 4) as u64) >> (8 * (8 - n));
            (u32_at(0) as u64 | rest << 32, 0)
        }
        _ => {
            let lo = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
            let hi = if n == 8 { 0 } else { u32_at(n - 4) >> (8 * (12 - n)) };
            (lo, hi)
        }
    };
    View { length: n as u32, prefix: lo as u32, buffer_idx: (lo >> 32) as u32, offset: hi }
}

/// A fixed-width column being built: values (a null holds the default) and a validity mask
/// once a null arrives; it becomes an Arrow array without a copy.
#[derive(Default)]
struct PrimBuf<T> {
    values: Vec<T>,
    validity: Option<MutableBitmap>,
}

impl<T: NativeType> PrimBuf<T> {
    fn push(&mut self, x: T) {
        self.values.push(x);
        if let Some(v) = self.validity.as_mut() {
            v.push(true);
        }
    }

    fn push_null(&mut self) {
        push_invalid(&mut self.validity, self.values.len(), self.values.capacity());
        self.values.push(T::default());
    }

    fn append(&mut self, other: PrimBuf<T>) {
        let (n, m) = (self.values.len(), other.values.len());
        self.values.extend(other.values);
        append_validity(&mut self.validity, n, other.validity, m);
    }

    /// The Arrow array, taking the buffers (no copy).
    fn take(&mut self) -> PrimitiveArray<T> {
        let PrimBuf { values, validity } = std::mem::take(self);
        PrimitiveArray::new(T::PRIMITIVE.into(), values.into(), validity.map(Into::into))
    }
}

/// Mark the next value (after `len` valid ones) null, making the mask on the first null.
fn push_invalid(mask: &mut Option<MutableBitmap>, len: usize, capacity: usize) {
    mask.get_or_insert_with(|| {
        let mut v = MutableBitmap::with_capacity(capacity);
        v.extend_constant(len, true);
        v
    })
    .push(false);
}

/// Append `b` (`m` values, validity `b_mask`) to `a` (`n` values, validity `a_mask`).
fn append_validity(
    a_mask: &mut Option<MutableBitmap>,
    n: usize,
    b_mask: Option<MutableBitmap>,
    m: usize,
) {
    match (a_mask.as_mut(), b_mask) {
        (None, None) => {}
        (Some(a), None) => a.extend_constant(m, true),
        (Some(a), Some(b)) => a.extend_from_bitmap(&b.into()),
        (None, Some(b)) => {
            let mut a = MutableBitmap::with_capacity(n + m);
            a.extend_constant(n, true);
            a.extend_from_bitmap(&b.into());
            *a_mask = Some(a);
        }
    }
}

enum Buf {
    Str(StrBuf),
    F64(PrimBuf<f64>),
    I64(PrimBuf<i64>),
    Bool(Vec<Option<bool>>),
    Ts(PrimBuf<i64>),
    Date(PrimBuf<i32>),
}

/// Rows of one canonical table, column by column, in [`schema::LAYOUT`] order.
pub struct TableBatch {
    table: &'static str,
    names: &'static [(&'static str, &'static str)],
    bufs: Vec<Buf>,
    len: usize,
    /// Rows the batch held when it was last taken: a batch filled again (the next part of
    /// a file) reserves that many at its first row instead of growing by doubling, each
    /// step a copy into fresh pages (5 % of ingest, perf).
    hint: usize,
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
                "str" => Buf::Str(StrBuf::default()),
                "f64" => Buf::F64(PrimBuf::default()),
                "i64" => Buf::I64(PrimBuf::default()),
                "bool" => Buf::Bool(Vec::new()),
                "ts" => Buf::Ts(PrimBuf::default()),
                "date" => Buf::Date(PrimBuf::default()),
                other => unreachable!("schema type {other} is not known"),
            })
            .collect();
        TableBatch { table, names, bufs, len: 0, hint: 0 }
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
                Buf::Str(s) => s.text_bytes(),
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
        if self.len == 0 && self.hint > 0 {
            let rows = std::mem::take(&mut self.hint);
            self.reserve(rows);
        }
        for (i, (buf, v)) in self.bufs.iter_mut().zip(row).enumerate() {
            let ok = match (buf, *v) {
                (Buf::Str(b), V::S(s)) => {
                    b.push(s);
                    true
                }
                (Buf::F64(b), V::F(x)) => {
                    b.push(x);
                    true
                }
                (Buf::I64(b), V::I(x)) | (Buf::Ts(b), V::Ts(x)) => {
                    b.push(x);
                    true
                }
                (Buf::Bool(b), V::B(x)) => {
                    b.push(Some(x));
                    true
                }
                (Buf::Date(b), V::D(x)) => {
                    b.push(x);
                    true
                }
                (buf, _) => {
                    match buf {
                        Buf::Str(b) => b.push_null(),
                        Buf::F64(b) => b.push_null(),
                        Buf::I64(b) | Buf::Ts(b) => b.push_null(),
                        Buf::Bool(b) => b.push(None),
                        Buf::Date(b) => b.push_null(),
                    }
                    matches!(v, V::Null)
                }
            };
            debug_assert!(ok, "{}.{}: wrong value kind {v:?}", self.table, self.names[i].0);
        }
        self.len += 1;
    }

    /// Reserve room for `rows` rows at the first row pushed (rows a part of this table is
    /// expected to hold), unless the batch learnt a size of its own.
    pub fn set_hint(&mut self, rows: usize) {
        if self.len == 0 {
            self.hint = rows;
        }
    }

    /// Room for `rows` more rows in every column's values (not in the text of strings).
    fn reserve(&mut self, rows: usize) {
        for buf in &mut self.bufs {
            match buf {
                Buf::Str(b) => b.views.reserve(rows),
                Buf::F64(b) => b.values.reserve(rows),
                Buf::I64(b) | Buf::Ts(b) => b.values.reserve(rows),
                Buf::Bool(b) => b.reserve(rows),
                Buf::Date(b) => b.values.reserve(rows),
            }
        }
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
                (Buf::Str(a), Buf::Str(b)) => a.append(b),
                (Buf::F64(a), Buf::F64(b)) => a.append(b),
                (Buf::I64(a), Buf::I64(b)) | (Buf::Ts(a), Buf::Ts(b)) => a.append(b),
                (Buf::Bool(a), Buf::Bool(b)) => a.extend(b),
                (Buf::Date(a), Buf::Date(b)) => a.append(b),
                _ => unreachable!("same table, same layout"),
            }
        }
        self.len += other.len;
    }

    /// Turn the batch into a DataFrame with the canonical types.
    pub fn into_frame(mut self) -> Result<DataFrame> {
        self.take_frame()
    }

    /// A DataFrame of the rows with the canonical types; the batch is left empty. The
    /// buffers move into the frame as they are (no copy).
    pub fn take_frame(&mut self) -> Result<DataFrame> {
        let len = std::mem::take(&mut self.len);
        self.hint = len;
        let cols = self
            .names
            .iter()
            .zip(&mut self.bufs)
            .map(|((name, _), buf)| {
                let name = PlSmallStr::from_static(name);
                match buf {
                    Buf::Str(b) => b.take(name),
                    Buf::F64(b) => Float64Chunked::with_chunk(name, b.take()).into_column(),
                    Buf::I64(b) => Int64Chunked::with_chunk(name, b.take()).into_column(),
                    Buf::Bool(v) => {
                        let v = std::mem::take(v);
                        BooleanChunked::from_iter_options(name, v.into_iter()).into_column()
                    }
                    Buf::Ts(b) => Int64Chunked::with_chunk(name, b.take())
                        .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
                        .into_column(),
                    Buf::Date(b) => {
                        Int32Chunked::with_chunk(name, b.take()).into_date().into_column()
                    }
                }
            })
            .collect();
        DataFrame::new(len, cols).ctx(|| format!("building table {}", self.table))
    }
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

/// Write a part of the lake as Parquet, atomically, choosing each column's encoding (see
/// [`lake_encoding`]) where [`write_parquet`] lets Polars try a dictionary for every column,
/// and its compression (see [`row_group_pages`]).
///
/// The partition column (`license`) is left out: its value is the folder's name
/// ([`partition_dir`]), the Hive convention. Readers add it from the path (pyarrow and
/// pandas refuse a file column whose type differs from the one they give the key), and so
/// does [`scan_partitions`]. The rows written are those of `df`.
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

/// The footer's Arrow schema (`ARROW:schema`) of `schema` with plain types: strings as
/// `Utf8`, binaries as `Binary`, where Polars stores its own view types. The Parquet columns
/// are the same either way (UTF-8 byte arrays); only the Arrow schema tells a reader which
/// arrays to build, and pyarrow and pandas then build string views that do not combine
/// with a partition key or with other tools' files. Polars reads `Utf8` as its views.
fn plain_schema_key(schema: &ArrowSchema) -> polars_parquet::write::KeyValue {
    fn plain(dtype: &ArrowDataType) -> ArrowDataType {
        match dtype {
            ArrowDataType::Utf8View => ArrowDataType::Utf8,
            ArrowDataType::BinaryView => ArrowDataType::Binary,
            ArrowDataType::LargeList(f) => ArrowDataType::LargeList(Box::new(plain_field(f))),
            ArrowDataType::List(f) => ArrowDataType::List(Box::new(plain_field(f))),
            ArrowDataType::Struct(fs) => {
                ArrowDataType::Struct(fs.iter().map(plain_field).collect())
            }
            other => other.clone(),
        }
    }
    fn plain_field(f: &polars_arrow::datatypes::Field) -> polars_arrow::datatypes::Field {
        let mut f = f.clone();
        f.dtype = plain(&f.dtype);
        f
    }
    let plain: ArrowSchema =
        schema.iter_values().map(|f| (f.name.clone(), plain_field(f))).collect();
    polars_parquet::write::schema_to_metadata_key(&plain)
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

/// Row groups of this many rows, as Polars writes them.
const ROW_GROUP_ROWS: usize = 512 * 512;

/// What Polars' `ParquetWriter::finish` does (same row groups, statistics, LZ4, Arrow schema
/// in the footer), with the encodings of [`lake_encoding`] and one column after the other:
/// ingest already keeps every core busy with a file of its own.
fn write_encoded<W: std::io::Write>(df: &mut DataFrame, w: W) -> PolarsResult<()> {
    use polars_parquet::write::{
        CompressionOptions, Encoding, FileWriter, StatisticsOptions, Version, WriteOptions,
        to_parquet_schema,
    };
    let df = polars::frame::chunk_df_for_writing(df, ROW_GROUP_ROWS)?;
    let schema = df.schema().to_arrow(CompatLevel::newest());
    let fields = to_parquet_schema(&schema)?.fields().to_vec();
    let encodings: polars_buffer::Buffer<_> =
        df.columns().iter().map(|c| vec![lake_encoding(c)]).collect::<Vec<_>>().into();
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        compression: CompressionOptions::Lz4Raw,
        version: Version::V1,
        data_page_size: None,
    };
    let schema_ref = std::sync::Arc::new(schema.clone());
    let mut writer = FileWriter::try_new(w, schema, options)?;
    for batch in df.iter_chunks(CompatLevel::newest(), false) {
        let rows = batch.len();
        if rows > 0 {
            // A string column meant for a dictionary goes as ours, or plain when it is too
            // distinct for one (Polars would estimate that again and write it plain).
            let mut batch_encodings = Vec::with_capacity(encodings.len());
            let arrays = batch
                .into_arrays()
                .into_iter()
                .zip(encodings.iter())
                .map(|(a, enc)| {
                    let is_str = matches!(a.dtype(), ArrowDataType::Utf8View);
                    match enc[0] {
                        Encoding::RleDictionary if is_str => match dictionary_of(a.as_ref()) {
                            Some(d) => {
                                batch_encodings.push(vec![Encoding::RleDictionary]);
                                d
                            }
                            None => {
                                batch_encodings.push(vec![Encoding::Plain]);
                                a
                            }
                        },
                        _ => {
                            batch_encodings.push(enc.clone());
                            a
                        }
                    }
                })
                .collect();
            let batch = polars_arrow::record_batch::RecordBatchT::try_new(
                rows,
                schema_ref.clone(),
                arrays,
            )?;
            writer.write(rows as u64, row_group_pages(batch, batch_encodings, &fields, options))?;
        }
    }
    writer.end(Some(vec![plain_schema_key(writer.schema())]))?;
    Ok(())
}

/// The pages of one row group, column after column, as Polars' `row_group_iter` makes them
/// but compressed per column: LZ4 for strings and dictionary keys, none for plain
/// fixed-width values (quantities, instants, booleans). LZ4 took 6 % of ingest CPU; on
/// plain numbers it saves a third of their bytes at best and nothing on instants recorded
/// to the second (`recorded_at`: 0.83-1.0 of the plain size), where on text it saves 70-80 %.
fn row_group_pages(
    batch: polars_arrow::record_batch::RecordBatchT<ArrayRef>,
    encodings: Vec<Vec<polars_parquet::write::Encoding>>,
    fields: &[polars_parquet::write::ParquetType],
    options: polars_parquet::write::WriteOptions,
) -> polars_parquet::write::RowGroupIterColumns<'static, PolarsError> {
    use polars_parquet::parquet::error::ParquetError;
    use polars_parquet::write::{
        CompressionOptions, Compressor, DynIter, DynStreamingIterator, Encoding,
        FallibleStreamingIterator, array_to_columns,
    };
    let columns = batch.into_arrays().into_iter().zip(fields.to_vec()).zip(encodings).flat_map(
        move |((array, field), encoding)| {
            let fixed_width = !matches!(array.dtype(), ArrowDataType::Utf8View);
            let compression = if fixed_width && encoding == [Encoding::Plain] {
                CompressionOptions::Uncompressed
            } else {
                options.compression
            };
            match array_to_columns(array, field, options, &encoding) {
                Ok(pages) => pages
                    .into_iter()
                    .map(|pages| {
                        let pages = DynIter::new(
                            pages.map(|p| p.map_err(|e| ParquetError::OutOfSpec(e.to_string()))),
                        );
                        let compressed = Compressor::new(pages, compression, vec![])
                            .map_err(|e| polars_err!(ComputeError: "{e}"));
                        Ok(DynStreamingIterator::new(compressed))
                    })
                    .collect(),
                Err(e) => vec![Err(e)],
            }
        },
    );
    DynIter::new(columns)
}

/// The Parquet encoding of a lake column.
///
/// Polars tries a dictionary for every column but booleans: it estimates the distinct values
/// of each (HyperLogLog) and hashes every value of those that pass. That was 12-15 % of
/// ingest CPU, and for quantities, instants and labels it bought under 2 % of lake size
/// (1 M packages: 316 MB with it, 320 MB without) and no speed in `check`. So:
/// - quantities (f64) and instants (timestamps) are plain;
/// - a string column whose first 1,024 values are over half distinct (labels, receipts,
///   manifests; also the labels of sales and events, a few rows each) is plain: a
///   dictionary of hundreds of thousands of values cost more to build (a hash and a compare
///   per value, 7 % of ingest CPU at 1 M packages) than it saved (the lake grew from 319 to
///   323 MB and `check` did not slow down);
/// - other strings, dates and integers keep the dictionary where it pays: integers and dates
///   by their range (Polars decides), strings by [`dictionary_of`].
fn lake_encoding(c: &Column) -> polars_parquet::write::Encoding {
    use polars_parquet::write::Encoding;
    match c.dtype() {
        DataType::Float64 | DataType::Datetime(..) | DataType::Boolean => Encoding::Plain,
        DataType::String if mostly_distinct(c) => Encoding::Plain,
        _ => Encoding::RleDictionary,
    }
}

/// A string column as a dictionary (keys into its distinct values), built here so that a
/// value equal to the one before (a file name on every row: the same view, since
/// [`StrBuf`] shares repeated values) costs a 16-byte compare, where Polars' own dictionary
/// estimated the distinct values and then hashed and compared every value. `None` for other
/// types and for columns over three quarters distinct (written plain).
fn dictionary_of(array: &dyn polars_arrow::array::Array) -> Option<ArrayRef> {
    use polars_arrow::array::{Array, DictionaryArray, MutableBinaryViewArray};
    use polars_arrow::datatypes::IntegerType;
    let a = array.as_any().downcast_ref::<Utf8ViewArray>()?;
    let n = a.len();
    let mut index: PlHashMap<&str, u32> = PlHashMap::default();
    let mut values = MutableBinaryViewArray::<str>::new();
    let mut keys: Vec<u32> = Vec::with_capacity(n);
    let mut prev: Option<(View, u32)> = None;
    for (i, view) in a.views().iter().enumerate() {
        if !a.is_valid(i) {
            keys.push(0);
            continue;
        }
        if let Some((_, k)) = prev.filter(|(v, _)| v == view) {
            keys.push(k);
            continue;
        }
        // SAFETY: `i` is below the array's length.
        let s = unsafe { a.value_unchecked(i) };
        let k = *index.entry(s).or_insert_with(|| {
            values.push_value(s);
            u32::try_from(values.len() - 1).expect("under 4 billion distinct values")
        });
        keys.push(k);
        prev = Some((*view, k));
    }
    if n > 128 && index.len() * 4 > n * 3 {
        return None;
    }
    let keys =
        PrimitiveArray::<u32>::new(ArrowDataType::UInt32, keys.into(), a.validity().cloned());
    let values: Utf8ViewArray = values.into();
    let dtype =
        ArrowDataType::Dictionary(IntegerType::UInt32, Box::new(ArrowDataType::Utf8View), false);
    DictionaryArray::<u32>::try_new(dtype, keys, values.boxed()).ok().map(|d| d.boxed())
}

/// Whether the first 1,024 values of a string column (at least 256 of them) are over half
/// distinct.
fn mostly_distinct(c: &Column) -> bool {
    let Ok(s) = c.str() else { return false };
    let mut seen = std::collections::HashSet::with_capacity(1024);
    let mut n = 0usize;
    for v in s.iter().flatten().take(1024) {
        n += 1;
        seen.insert(v);
    }
    n >= 256 && seen.len() * 2 > n
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

/// Lazily scan every part of `table` under `lake`; an absent table is an empty frame
/// with the canonical schema.
pub fn scan_table(lake: &Path, table: &str) -> Result<LazyFrame> {
    scan_partitions(lake, table, None)
}

/// Lazily scan the parts of `table` in the partitions `only` (folder names, as given by
/// [`lake_partitions`]), or in every partition.
///
/// Parts do not hold the partition column ([`write_lake_part`]): each partition's parts are
/// one scan with its license added as a literal (a constant column, nothing per row until
/// a join or a group needs it), in layout order. Not Polars' Hive parsing of the paths: it
/// reads every `key=value` folder of the whole path, so an OUT under `/data/run=3/` would
/// add a column or fail.
pub fn scan_partitions(
    lake: &Path,
    table: &str,
    only: Option<&BTreeSet<String>>,
) -> Result<LazyFrame> {
    let cols = schema::layout(table);
    let file_schema: Arc<Schema> = Arc::new(schema_of(
        &cols.iter().copied().filter(|(n, _)| *n != schema::col::LICENSE).collect::<Vec<_>>(),
    ));
    let order: Vec<Expr> = cols.iter().map(|(n, _)| col(*n)).collect();
    let mut scans = Vec::new();
    for (folder, files) in partition_files(lake, table)? {
        if only.is_some_and(|only| !only.contains(&folder)) {
            continue;
        }
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
        let scan = LazyFrame::from(scan).with_column(license).select(order.clone());
        scans.push(scan);
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

/// The license of a partition folder (`license=<encoded>`, see [`encode_partition`]), as
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
    fn partition_folders_decode_to_their_license() {
        for l in ["C11-0000001-LIC", "../etc", "..", "a/b\n", "x=1%", "Büdchen 5%", "%zz"] {
            let folder = format!("license={}", encode_partition(l));
            assert_eq!(partition_value(&folder).as_deref(), Some(l), "{folder}");
        }
        assert_eq!(partition_value("license=__HIVE_DEFAULT_PARTITION__"), None);
        // Not ours, still decoded as a Hive reader would.
        assert_eq!(partition_value("license=a%2"), Some("a%2".to_owned()));
    }

    /// Parts of several partitions, one of them a hostile license (percent-encoded folder),
    /// scan back with each row's license from its folder, in layout order; `only` keeps
    /// the partitions named.
    #[test]
    fn partitions_scan_back_with_their_license() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path();
        for (license, rows) in [("L1", 2i64), ("../x=1%", 3), ("L2", 1)] {
            let mut b = TableBatch::new(schema::LAB_RESULTS);
            for i in 0..rows {
                b.push(&[
                    V::S(license),
                    V::S("A"),
                    V::Null,
                    V::B(true),
                    V::Null,
                    V::S("f"),
                    V::I(i),
                ]);
            }
            let mut df = b.into_frame().unwrap();
            let p = partition_dir(lake, schema::LAB_RESULTS, license).join("part-0.parquet");
            assert_eq!(write_lake_part(&mut df, &p).unwrap(), rows as u64);
        }
        let licenses = |only: Option<&BTreeSet<String>>| {
            let df = scan_partitions(lake, schema::LAB_RESULTS, only).unwrap().collect().unwrap();
            let want = schema_of(schema::layout(schema::LAB_RESULTS));
            assert_eq!(df.schema().as_ref(), &want);
            let lic = df.column(schema::col::LICENSE).unwrap().str().unwrap().clone();
            lic.iter().map(|l| l.unwrap().to_owned()).collect::<Vec<_>>()
        };
        // Folders in name order: `..%2Fx%3D1%25` sorts before `L1`.
        assert_eq!(licenses(None), ["../x=1%", "../x=1%", "../x=1%", "L1", "L1", "L2"]);
        let only: BTreeSet<String> = ["license=L2".to_owned()].into();
        assert_eq!(licenses(Some(&only)), ["L2"]);
        let none: BTreeSet<String> = ["license=L9".to_owned()].into();
        assert!(licenses(Some(&none)).is_empty());
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

    /// A lake part comes back as written (every type, nulls, plain and dictionary columns),
    /// and the encodings are the ones [`lake_encoding`] documents.
    #[test]
    fn string_columns_over_half_distinct_are_plain() {
        let col = |values: Vec<String>| Column::new("s".into(), values);
        let with_repeats = |n: usize, every: usize| {
            col((0..n).map(|i| format!("1A4FF0100001000000{:06}", i / every)).collect())
        };
        // Labels of sales: a few rows each, still over half distinct.
        let three_in_five: Vec<String> = (0..1000)
            .map(|i| format!("R{}", i - (i % 5 == 1) as usize - (i % 5 == 3) as usize))
            .collect();
        assert!(mostly_distinct(&col(three_in_five)));
        assert!(mostly_distinct(&with_repeats(1000, 1)));
        // Exactly half, or fewer: a dictionary.
        assert!(!mostly_distinct(&with_repeats(1000, 2)));
        assert!(!mostly_distinct(&with_repeats(1000, 10)));
        // Too few values to judge.
        assert!(!mostly_distinct(&with_repeats(200, 1)));
    }

    #[test]
    fn lake_parts_round_trip_with_their_encodings() {
        use polars_parquet::write::Encoding;
        let mut b = TableBatch::new(schema::PACKAGES);
        let width = schema::layout(schema::PACKAGES).len();
        for i in 0..600i64 {
            let label = format!("1A4FF01000010000000{i:05}");
            let row: Vec<V<'_>> = schema::layout(schema::PACKAGES)
                .iter()
                .map(|(name, ty)| match (*name, *ty) {
                    (_, _) if i % 7 == 3 && *name != "license" => V::Null,
                    ("label", _) => V::S(&label),
                    ("license", _) => V::S("L1"),
                    (_, "str") => V::S(if i % 2 == 0 { "Grams" } else { "Each" }),
                    (_, "f64") => V::F(i as f64 / 4.0),
                    (_, "i64") => V::I(i),
                    (_, "bool") => V::B(i % 3 == 0),
                    (_, "ts") => V::Ts(1_790_000_000_000_000 + i * 1_000_000),
                    (_, "date") => V::D(20_000 + (i % 5) as i32),
                    other => unreachable!("{other:?}"),
                })
                .collect();
            assert_eq!(row.len(), width);
            b.push(&row);
        }
        let mut df = b.into_frame().unwrap();
        let enc = |name: &str| lake_encoding(df.column(name).unwrap());
        assert_eq!(enc("label"), Encoding::Plain);
        assert_eq!(enc("unit"), Encoding::RleDictionary);
        assert_eq!(enc("quantity"), Encoding::Plain);
        assert_eq!(enc("packaged_at"), Encoding::Plain);
        assert_eq!(enc("packaged_date"), Encoding::RleDictionary);
        let dir = tempfile::tempdir().unwrap();
        let p = partition_dir(dir.path(), schema::PACKAGES, "L1").join("part.parquet");
        assert_eq!(write_lake_part(&mut df, &p).unwrap(), 600);
        // The part holds every column but the partition column, which the scan adds back
        // from the folder name.
        let back = read_parquet(&p).unwrap();
        let stored = df.drop(schema::col::LICENSE).unwrap();
        assert_eq!(back.schema(), stored.schema());
        assert!(back.equals_missing(&stored));
        let scanned = scan_table(dir.path(), schema::PACKAGES).unwrap().collect().unwrap();
        assert_eq!(scanned.schema().as_ref(), &schema_of(schema::layout(schema::PACKAGES)));
        assert!(scanned.equals_missing(&df));
        // Only the part is left: no temporary file.
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        // LZ4 for strings and dictionaries, none for plain numbers and instants.
        let meta = polars_parquet::read::_read_metadata(&mut fs::File::open(&p).unwrap()).unwrap();
        let compression = |name: &str| {
            let rg = &meta.row_groups[0];
            let mut cols = rg.columns_under_root_iter(name).unwrap();
            cols.next().unwrap().compression()
        };
        use polars_parquet::parquet::compression::Compression;
        assert_eq!(compression("label"), Compression::Lz4Raw);
        assert_eq!(compression("unit"), Compression::Lz4Raw);
        assert_eq!(compression("packaged_date"), Compression::Lz4Raw);
        assert_eq!(compression("quantity"), Compression::Uncompressed);
        assert_eq!(compression("packaged_at"), Compression::Uncompressed);
    }

    /// String columns: inline (up to 12 bytes) and long values, a value longer than a
    /// segment, empty strings, multi-byte text and nulls first, between and last all come
    /// back, also after appending one batch to another.
    #[test]
    fn string_columns_hold_every_value_and_null() {
        let long = "z".repeat(SEGMENT + 5);
        let values: Vec<Option<&str>> = vec![
            None,
            Some(""),
            Some("exactly12byt"),
            Some("thirteen byte"),
            None,
            Some("1A4FF0100000022000000001"),
            Some(&long),
            Some("Büdchen — 5 g"),
            Some("x"),
            None,
        ];
        let build = |vals: &[Option<&str>]| {
            let mut b = StrBuf::default();
            for v in vals {
                match v {
                    Some(s) => b.push(s),
                    None => b.push_null(),
                }
            }
            b
        };
        let col = build(&values).take("c".into());
        let got: Vec<Option<&str>> = col.str().unwrap().iter().collect();
        assert_eq!(got, values);
        assert_eq!(col.null_count(), 3);
        let no_nulls: Vec<Option<&str>> = values.iter().copied().filter(Option::is_some).collect();
        for (x, y) in [(&values, &no_nulls), (&no_nulls, &values), (&no_nulls, &no_nulls)] {
            let mut a = build(x);
            a.append(build(y));
            let col = a.take("c".into());
            let got: Vec<Option<&str>> = col.str().unwrap().iter().collect();
            let want: Vec<Option<&str>> = x.iter().chain(y.iter()).copied().collect();
            assert_eq!(got, want);
        }
    }

    /// A long value repeated on consecutive rows shares its bytes; every row still reads
    /// back its own value, also after a different value, a null, an inline value, an
    /// append, and a value of the same length that differs.
    #[test]
    fn repeated_long_values_share_their_bytes() {
        let file = "C11-0000001-LIC/packages.2.jsonl";
        let same_len = "C11-0000002-LIC/packages.2.jsonl";
        let values =
            [file, file, file, same_len, same_len, file, "short", file, "x".repeat(40).leak()];
        let mut b = StrBuf::default();
        for v in values {
            b.push(v);
        }
        b.push_null();
        b.push(file);
        // Three copies of `file` (the first, again after `same_len` and after the 40-byte
        // value; an inline value in between does not break a run), one of `same_len`, one
        // of the 40-byte value.
        assert_eq!(b.text_bytes(), 32 * 3 + 32 + 40);
        let mut other = StrBuf::default();
        other.push(file);
        other.push(file);
        b.append(other);
        b.push(file);
        let col = b.take("c".into());
        let got: Vec<Option<&str>> = col.str().unwrap().iter().collect();
        let mut want: Vec<Option<&str>> = values.iter().map(|v| Some(*v)).collect();
        want.extend([None, Some(file), Some(file), Some(file), Some(file)]);
        assert_eq!(got, want);
    }

    /// Our dictionary of a string column gives every row its value back (runs, values
    /// that come back later, nulls), and declines columns over three quarters distinct
    /// and other types.
    #[test]
    fn dictionary_of_string_columns() {
        use polars_arrow::array::{Array, DictionaryArray};
        let file = "C11-0000001-LIC/sales.jsonl";
        let mut b = StrBuf::default();
        let mut want = Vec::new();
        for i in 0..300 {
            let v = match i % 10 {
                0 => None,
                1..=5 => Some(file),
                6 => Some("Grams"),
                _ => Some("C11-0000002-LIC/sales.2.jsonl"),
            };
            match v {
                Some(s) => b.push(s),
                None => b.push_null(),
            }
            want.push(v);
        }
        let col = b.take("c".into());
        let arr = col.str().unwrap().downcast_iter().next().unwrap().clone();
        let dict = dictionary_of(&arr).expect("three values: a dictionary");
        let dict = dict.as_any().downcast_ref::<DictionaryArray<u32>>().unwrap();
        assert_eq!(dict.values().len(), 3);
        let values = dict.values().as_any().downcast_ref::<Utf8ViewArray>().unwrap();
        let got: Vec<Option<&str>> = (0..dict.len())
            .map(|i| dict.is_valid(i).then(|| values.value(dict.keys().value(i) as usize)))
            .collect();
        assert_eq!(got, want);
        // Mostly distinct: left to Polars (which writes it plain).
        let labels: Vec<String> = (0..300).map(|i| format!("1A4FF0100001000000{i:06}")).collect();
        let col = Column::new("l".into(), labels);
        let arr = col.str().unwrap().downcast_iter().next().unwrap().clone();
        assert!(dictionary_of(&arr).is_none());
        let ints = PrimitiveArray::<i64>::from_vec(vec![1, 1, 2]);
        assert!(dictionary_of(&ints).is_none());
    }

    /// Short values get the same views as Arrow's own constructor, at every length and
    /// alignment, high bytes and NUL included.
    #[test]
    fn inline_views_equal_arrows() {
        let text = b"0123456789ab\xff\x00z";
        for start in 0..3 {
            for n in 0..=View::MAX_INLINE_SIZE as usize {
                let bytes = &text[start..start + n];
                assert_eq!(inline_view(bytes), View::new_inline(bytes), "{bytes:?}");
            }
        }
    }

    #[test]
    fn a_batch_taken_and_filled_again_holds_only_its_new_rows() {
        // The second fill reserves room for as many rows as the first held; its frame has
        // its own rows, nulls and long values, none of the first fill's.
        let mut b = TableBatch::new_with(schema::REJECTS_COLUMNS);
        let long = "a reason long enough not to be inline";
        for i in 0..1000 {
            b.push(&[V::S("f.json"), V::I(i), V::S("Label"), V::S(long), V::Null]);
        }
        assert_eq!(b.take_frame().unwrap().height(), 1000);
        b.push(&[V::S("g.json"), V::I(7), V::Null, V::S("short"), V::S(long)]);
        let df = b.take_frame().unwrap();
        assert_eq!(df.height(), 1);
        let row = df.get_row(0).unwrap().0;
        assert_eq!(row[0], AnyValue::String("g.json"));
        assert_eq!(row[1], AnyValue::Int64(7));
        assert_eq!(row[2], AnyValue::Null);
        assert_eq!(row[3], AnyValue::String("short"));
        assert_eq!(row[4], AnyValue::String(long));
    }

    /// Fixed-width columns keep their nulls through `append`, whichever side has them.
    #[test]
    fn fixed_width_columns_keep_nulls_through_append() {
        let build = |vals: &[Option<i64>]| {
            let mut b = PrimBuf::<i64>::default();
            for v in vals {
                match v {
                    Some(x) => b.push(*x),
                    None => b.push_null(),
                }
            }
            b
        };
        let with: &[Option<i64>] = &[Some(1), None, Some(3)];
        let without: &[Option<i64>] = &[Some(4), Some(5)];
        for (x, y) in [(with, without), (without, with), (without, without), (with, with)] {
            let mut a = build(x);
            a.append(build(y));
            let got: Vec<Option<i64>> = a.take().iter().map(|v| v.copied()).collect();
            let want: Vec<Option<i64>> = x.iter().chain(y).copied().collect();
            assert_eq!(got, want);
        }
    }
}

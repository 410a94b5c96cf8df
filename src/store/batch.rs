//! Rows of a canonical table built in memory, column by column, and handed to Polars as a
//! DataFrame without a copy; the Polars types of the layout types of [`crate::schema`].

use polars::prelude::*;
use polars_arrow::array::{PrimitiveArray, Utf8ViewArray, View};
use polars_arrow::bitmap::MutableBitmap;
use polars_arrow::datatypes::ArrowDataType;
use polars_arrow::types::NativeType;
use polars_buffer::Buffer;

use crate::error::{PolarsContext, Result};
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
/// Polars' buffers as they are. One growing arena would be copied on every doubling and
/// again into Polars, each time into fresh pages the kernel must zero.
#[derive(Default)]
pub(super) struct StrBuf {
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
    pub(super) fn push(&mut self, s: &str) {
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

    pub(super) fn push_null(&mut self) {
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
    pub(super) fn take(&mut self, name: PlSmallStr) -> Column {
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
/// the view on the stack and reads them back as words, a store-to-load forward that stalls
/// on the hottest line of `TableBatch::push`.
fn inline_view(bytes: &[u8]) -> View {
    let n = bytes.len();
    debug_assert!(n <= View::MAX_INLINE_SIZE as usize);
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    // The value's bytes as a little-endian 96-bit number: `lo` bytes 0-7, `hi` bytes 8-11.
    // Two loads that may overlap; the second, shifted, keeps only what the first missed.
    let (lo, hi) = match n {
        0 => (0u64, 0u32),
        1..=3 => {
            let (a, b, c) = (u64::from(bytes[0]), u64::from(bytes[n / 2]), u64::from(bytes[n - 1]));
            (a | b << (8 * (n / 2)) | c << (8 * (n - 1)), 0)
        }
        4..=7 => {
            let rest = u64::from(u32_at(n - 4)) >> (8 * (8 - n));
            (u64::from(u32_at(0)) | rest << 32, 0)
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
    /// step a copy into fresh pages.
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let no_nulls: Vec<Option<&str>> = values.iter().flatten().copied().map(Some).collect();
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

    /// The array is built unchecked, so the lengths it is told must be the true ones: the
    /// sum of the values' lengths and of the buffers' (readers size copies and statistics
    /// from them), after pushes, nulls and appends.
    #[test]
    fn string_columns_state_their_true_byte_lengths() {
        let long = "a value long enough to live in a buffer";
        let mut a = StrBuf::default();
        let mut b = StrBuf::default();
        for i in 0..3000 {
            a.push(if i % 3 == 0 { "short" } else { long });
            b.push(&format!("{long} #{i}"));
            if i % 7 == 0 {
                b.push_null();
            }
        }
        a.append(b);
        let col = a.take("c".into());
        let values: usize = col.str().unwrap().iter().flatten().map(str::len).sum();
        let arrays: Vec<_> = col.str().unwrap().downcast_iter().collect();
        assert_eq!(arrays.len(), 1);
        assert_eq!(arrays[0].total_bytes_len(), values);
        let buffers: usize = arrays[0].data_buffers().iter().map(Buffer::len).sum();
        assert_eq!(arrays[0].total_buffer_len(), buffers);
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

    /// A batch appended to another holds the rows of both, in order, in every column kind
    /// (long strings keep pointing at their own bytes); appending to an empty batch or an
    /// empty one changes nothing.
    #[test]
    fn append_keeps_every_row_of_every_column_kind() {
        use std::collections::BTreeSet;
        let table = schema::PACKAGES;
        let layout = schema::layout(table);
        let kinds: BTreeSet<&str> = layout.iter().map(|(_, t)| *t).collect();
        assert_eq!(kinds, ["bool", "date", "f64", "i64", "str", "ts"].into_iter().collect());
        let texts: Vec<String> = (0..9)
            .map(|i| {
                if i % 2 == 0 {
                    format!("v{i}")
                } else {
                    format!("{i} a value long enough to live in a buffer")
                }
            })
            .collect();
        let row = |i: usize| -> Vec<V<'_>> {
            layout
                .iter()
                .map(|(_, t)| match (*t, i % 4) {
                    (_, 3) => V::Null,
                    ("str", _) => V::S(&texts[i]),
                    ("f64", _) => V::F(i as f64 + 0.5),
                    ("i64", _) => V::I(i as i64),
                    ("bool", _) => V::B(i % 2 == 0),
                    ("ts", _) => V::Ts(i as i64 * 1_000_000),
                    ("date", _) => V::D(i as i32),
                    (other, _) => unreachable!("{other}"),
                })
                .collect()
        };
        let fill = |rows: std::ops::Range<usize>| {
            let mut b = TableBatch::new(table);
            for i in rows {
                b.push(&row(i));
            }
            b
        };
        let want = fill(0..9).into_frame().unwrap();
        let mut a = fill(0..4);
        a.append(fill(4..9));
        assert_eq!(a.len(), 9);
        assert!(a.into_frame().unwrap().equals_missing(&want));
        let mut empty = TableBatch::new(table);
        empty.append(fill(0..9));
        assert!(empty.into_frame().unwrap().equals_missing(&want));
        let mut full = fill(0..9);
        full.append(TableBatch::new(table));
        assert!(full.into_frame().unwrap().equals_missing(&want));
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
            let got: Vec<Option<i64>> = a.take().iter().map(Option::<&i64>::copied).collect();
            let want: Vec<Option<i64>> = x.iter().chain(y).copied().collect();
            assert_eq!(got, want);
        }
    }
}

//! How a part of the lake is encoded in Parquet: each column's encoding and compression
//! chosen for what it holds, written one column after the other on the caller's thread.

use polars::prelude::*;
use polars_arrow::array::{PrimitiveArray, Utf8ViewArray, View};
use polars_arrow::datatypes::ArrowDataType;

/// The footer's Arrow schema (`ARROW:schema`) of `schema` with plain types: strings as
/// `Utf8`, binaries as `Binary`, where Polars stores its own view types. The Parquet columns
/// are the same either way (UTF-8 byte arrays); only the Arrow schema tells a reader which
/// arrays to build, and pyarrow and pandas then build string views that do not combine
/// with a partition key or with other tools' files. Polars reads `Utf8` as its views.
pub(super) fn plain_schema_key(schema: &ArrowSchema) -> polars_parquet::write::KeyValue {
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

/// Row groups of this many rows, as Polars writes them.
const ROW_GROUP_ROWS: usize = 512 * 512;

/// What Polars' `ParquetWriter::finish` does (same row groups, statistics, LZ4, Arrow schema
/// in the footer), with the encodings of [`lake_encoding`] and one column after the other:
/// ingest already keeps every core busy with a file of its own.
pub(super) fn write_encoded<W: std::io::Write>(df: &mut DataFrame, w: W) -> PolarsResult<()> {
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
    let schema_ref = Arc::new(schema.clone());
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
/// fixed-width values (quantities, instants, booleans). LZ4 saves most of the bytes of text
/// but little of plain numbers and nothing of instants recorded to the second, for CPU
/// that ingest spends on every value.
fn row_group_pages(
    batch: polars_arrow::record_batch::RecordBatchT<ArrayRef>,
    encodings: Vec<Vec<polars_parquet::write::Encoding>>,
    fields: &[polars_parquet::write::ParquetType],
    options: polars_parquet::write::WriteOptions,
) -> RowGroupIterColumns<'static, PolarsError> {
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
/// of each (HyperLogLog) and hashes every value of those that pass, a large share of ingest
/// CPU that buys almost no lake size for quantities, instants and labels and no speed in
/// `check` (docs/performance.md). So:
/// - quantities (f64) and instants (timestamps) are plain;
/// - a string column whose first 1,024 values are over half distinct (labels, receipts,
///   manifests; also the labels of sales and events, a few rows each) is plain: a
///   dictionary of hundreds of thousands of values costs more to build (a hash and a
///   compare per value) than it saves;
/// - other strings, dates and integers keep the dictionary where it pays: integers and dates
///   by their range (Polars decides), strings by [`dictionary_of`].
pub(super) fn lake_encoding(c: &Column) -> polars_parquet::write::Encoding {
    use polars_parquet::write::Encoding;
    match c.dtype() {
        DataType::Float64 | DataType::Datetime(..) | DataType::Boolean => Encoding::Plain,
        DataType::String if mostly_distinct(c) => Encoding::Plain,
        _ => Encoding::RleDictionary,
    }
}

/// A string column as a dictionary (keys into its distinct values), built here so that a
/// value equal to the one before (a file name on every row: the same view, since
/// [`StrBuf`](super::batch::StrBuf) shares repeated values) costs a 16-byte compare, where Polars' own dictionary
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
    DictionaryArray::<u32>::try_new(dtype, keys, values.boxed()).ok().map(DictionaryArray::boxed)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::batch::StrBuf;

    #[test]
    fn string_columns_over_half_distinct_are_plain() {
        let col = |values: Vec<String>| Column::new("s".into(), values);
        let with_repeats = |n: usize, every: usize| {
            col((0..n).map(|i| format!("1A4FF0100001000000{:06}", i / every)).collect())
        };
        // Labels of sales: a few rows each, still over half distinct.
        let three_in_five: Vec<String> = (0..1000)
            .map(|i| format!("R{}", i - usize::from(i % 5 == 1) - usize::from(i % 5 == 3)))
            .collect();
        assert!(mostly_distinct(&col(three_in_five)));
        assert!(mostly_distinct(&with_repeats(1000, 1)));
        // Exactly half, or fewer: a dictionary.
        assert!(!mostly_distinct(&with_repeats(1000, 2)));
        assert!(!mostly_distinct(&with_repeats(1000, 10)));
        // Too few values to judge.
        assert!(!mostly_distinct(&with_repeats(200, 1)));
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
}

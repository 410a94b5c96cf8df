//! Canonical Parquet: build table batches in memory ([`TableBatch`]; `batch.rs`), write
//! them as parts of the lake ([`write_lake_part`]; `write.rs`, encoded by `encoding.rs`),
//! read the lake back lazily ([`scan_partitions`]; `scan.rs`). Every file is written to a
//! temporary name and renamed.
//!
//! This module knows the layout of [`crate::schema`] and nothing about where rows come from.

mod batch;
mod encoding;
mod scan;
mod write;

pub use batch::{TableBatch, V, dtype, empty_frame, schema_of};
pub use scan::{
    lake_partitions, partition_files, partition_license, partition_value, read_parquet,
    scan_partitions, scan_partitions_where, scan_table, table_files,
};
pub use write::{
    STOPPING, encode_partition, partition_dir, rename, write_atomic, write_lake_part, write_parquet,
};

/// Round trips through the three parts: batches written and scanned back.
#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::fs;

    use super::*;
    use crate::schema;

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
    /// and the encodings are the ones [`lake_encoding`](super::encoding::lake_encoding) documents.
    #[test]
    fn lake_parts_round_trip_with_their_encodings() {
        use polars_parquet::parquet::compression::Compression;
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
        let enc = |name: &str| encoding::lake_encoding(df.column(name).unwrap());
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
        assert_eq!(compression("label"), Compression::Lz4Raw);
        assert_eq!(compression("unit"), Compression::Lz4Raw);
        assert_eq!(compression("packaged_date"), Compression::Lz4Raw);
        assert_eq!(compression("quantity"), Compression::Uncompressed);
        assert_eq!(compression("packaged_at"), Compression::Uncompressed);
    }
}

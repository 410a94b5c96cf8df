//! Micro-benchmarks of ingest and check hot paths (divan): JSON record decoding, the record
//! splitter, timestamp parsing, unit conversion and the lineage graph. Run by hand:
//! `cargo bench --bench hot_paths`. Figures are per operation; end-to-end figures come from
//! `benches/pipeline.sh` and `benches/compare`.

use divan::{Bencher, black_box};
use polars::prelude::*;
use tagtrail::ingest::json::Splitter;
use tagtrail::ingest::metrc::{self, Kind, Origin, Outcome, Rows};
use tagtrail::ingest::normalize;

fn main() {
    divan::main();
}

/// A Metrc package record as the API returns it (about 1.5 kB, most fields unused).
const PACKAGE: &str = r#"{"Id":1000000000001,"Label":"1A4FF0100001000000000001","PackageType":"Product","SourceHarvestCount":1,"SourcePackageCount":0,"SourceProcessingJobCount":0,"SourceHarvestNames":"2026-06-19-Indoor Room B-H","SourcePackageLabels":"1A4FF0100001000000000000, 1A4FF0100001000000000002","LocationId":109,"LocationName":"Cure Room","LocationTypeName":"Default Location Type","Quantity":9.384,"OriginalPackageQuantity":11.47,"UnitOfMeasureName":"Pounds","UnitOfMeasureAbbreviation":"lb","PatientLicenseNumber":null,"Note":null,"PackagedDate":"2026-06-26","ExpirationDate":null,"InitialLabTestingState":"TestPassed","LabTestingState":"TestPassed","LabTestingStateDate":"2026-06-26","IsProductionBatch":false,"ProductionBatchNumber":null,"SourceProductionBatchNumbers":null,"IsTradeSample":false,"IsDonation":false,"IsTestingSample":false,"ProductRequiresRemediation":false,"ContainsRemediatedProduct":false,"RemediationDate":null,"ReceivedDateTime":null,"ReceivedFromManifestNumber":null,"ReceivedFromFacilityLicenseNumber":null,"ReceivedFromFacilityName":null,"IsOnHold":false,"ArchivedDate":null,"IsFinished":false,"FinishedDate":null,"LastModified":"2026-10-23T15:11:32.282857+00:00","Item":{"Id":1101,"Name":"Jack Herer - Bulk Flower","ProductCategoryName":"Buds","ProductCategoryType":0,"QuantityType":"WeightBased","DefaultLabTestingState":0,"UnitOfMeasureName":"Pounds","ApprovalStatus":0,"ApprovalStatusDateTime":"0001-01-01T00:00:00+00:00","StrainId":12,"StrainName":"Jack Herer"}}"#;

#[divan::bench]
fn decode_package_record(b: Bencher<'_, '_>) {
    let origin = Origin { license: "C11-0000001-LIC", source_file: "packages.json", record: 0 };
    b.counter(divan::counter::BytesCount::of_str(PACKAGE)).bench_local(|| {
        let mut rows = Rows::new(Kind::Packages);
        let out = metrc::decode(
            Kind::Packages,
            black_box(PACKAGE.as_bytes()),
            &origin,
            chrono_tz::America::Los_Angeles,
            &mut rows,
        );
        assert!(matches!(out, Outcome::Accepted));
        rows
    });
}

#[divan::bench]
fn split_json_lines(b: Bencher<'_, '_>) {
    let text: String = std::iter::repeat_n(PACKAGE, 2000).collect::<Vec<_>>().join("\n");
    b.counter(divan::counter::BytesCount::of_str(&text)).bench_local(|| {
        let mut s = Splitter::new(black_box(text.as_bytes()), true, sha2::Sha256::default());
        let mut n = 0;
        while let Some(c) = s.next_chunk().expect("valid JSON Lines") {
            n += c.records.len();
        }
        assert_eq!(n, 2000);
    });
}

/// A plain count sheet of 100,000 rows (about 8 MB): the count-sheet reader's plain path
/// (decode check, header search, field split, number and time parsing) should stay well
/// above 100 MB/s.
#[divan::bench]
fn read_count_sheet(b: Bencher<'_, '_>) {
    let mut text =
        String::from("License,Label,Quantity,UnitOfMeasure,Location,CountedAt,CountedBy\n");
    for i in 0..100_000 {
        text.push_str(&format!(
            "C11-0000001-LIC,1A4FF01000010000{i:08},{}.{},Grams,Back Stock,2026-10-29T17:{:02}:00-07:00,tnguyen\n",
            i % 1000,
            i % 100,
            i % 60
        ));
    }
    b.counter(divan::counter::BytesCount::of_str(&text)).bench_local(|| {
        let sheet = tagtrail::ingest::counts::read_csv(
            black_box(text.as_bytes()),
            "counts.csv",
            "C11-0000001-LIC",
            chrono_tz::America::Los_Angeles,
        )
        .expect("plain sheet");
        assert_eq!(sheet.rows.len(), 100_000);
        sheet
    });
}

#[divan::bench(args = [
    "2026-06-26",
    "2026-03-08T02:30:00.000",
    "2026-10-23T15:11:32.282857+00:00",
    "2026-11-01T01:30:00Z",
])]
fn parse_timestamp(text: &str) -> Option<normalize::Stamp> {
    normalize::parse_timestamp(black_box(text), chrono_tz::America::Los_Angeles).ok().flatten()
}

#[divan::bench(args = ["Grams", "lb", "Fluid Ounces", "Each", "kg"])]
fn parse_unit_and_convert(name: &str) -> Option<f64> {
    normalize::parse_unit(black_box(name)).map(|u| black_box(12.5) * u.factor)
}

/// Lineage: `lines` chains of `depth` packages (each the source of the next), one of them
/// closed into a cycle, in one license.
fn lineage(lines: usize, depth: usize) -> (DataFrame, DataFrame) {
    let mut labels = Vec::new();
    let (mut child, mut source) = (Vec::new(), Vec::new());
    for l in 0..lines {
        for d in 0..depth {
            labels.push(format!("{l:08}-{d:04}"));
            if d > 0 {
                child.push(format!("{l:08}-{d:04}"));
                source.push(format!("{l:08}-{:04}", d - 1));
            }
        }
    }
    child.push(format!("{:08}-{:04}", 0, 0));
    source.push(format!("{:08}-{:04}", 0, depth - 1));
    let n = labels.len();
    let packages = df!(
        "license" => vec!["L"; n],
        "label" => labels,
        "source_file" => vec!["packages.json"; n],
        "record" => (0..n as i64).collect::<Vec<_>>(),
    )
    .expect("packages");
    let m = child.len();
    let sources = df!(
        "license" => vec!["L"; m],
        "label" => child,
        "source_label" => source,
        "source_file" => vec!["packages.json"; m],
        "record" => (0..m as i64).collect::<Vec<_>>(),
    )
    .expect("sources");
    (packages, sources)
}

#[divan::bench(args = [10_000, 100_000])]
fn lineage_cycles(b: Bencher<'_, '_>, packages: usize) {
    let (p, s) = lineage(packages / 8, 8);
    b.bench_local(|| {
        let found =
            tagtrail::checks::lineage::cycles(p.clone().lazy(), s.clone().lazy()).expect("cycles");
        assert_eq!(found.height(), 8);
    });
}

//! Property tests (issue 6), in-process against the library: rows in = accepted + rejected
//! for any generated file, ingest then read-back is lossless, a count equal to the as-of
//! system quantity never gives a count discrepancy, timestamps round-trip, and a count
//! sheet reads the same in any encoding, delimiter and title rows (SPEC 2.2). Case counts
//! are modest (each ingest case writes Parquet); `PROPTEST_CASES=N` runs more.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveTime, Offset, TimeZone};
use chrono_tz::Tz;
use indicatif::ProgressBar;
use proptest::prelude::*;
use proptest::test_runner::Config;
use tagtrail::generate::sheet_style::{self, Encoding, Format as SheetFormat, QtyUnit};
use tagtrail::ingest::normalize::parse_timestamp;
use tagtrail::ingest::{self, IngestOptions, IngestSummary};

use crate::common::{f, read, read_table, s, ts};

const LIC: &str = "C11-0000001-LIC";
const LA: Tz = chrono_tz::America::Los_Angeles;
/// 1900-01-01 .. 2200-01-01 in µs since the epoch.
const FROM_US: i64 = -2_208_988_800_000_000;
const TO_US: i64 = 7_258_118_400_000_000;

/// `cases` cases, or `PROPTEST_CASES` when set.
fn config(cases: u32) -> Config {
    let default = Config::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() { default.cases } else { cases };
    Config { cases, ..default }
}

/// `ingest` of `export` (and `counts`) into `out`, in this process.
fn ingest_dir(export: &Path, counts: Option<&Path>, out: &Path) -> IngestSummary {
    let opts = IngestOptions {
        export: export.to_path_buf(),
        counts: counts.map(Path::to_path_buf),
        out: out.to_path_buf(),
        tz: LA,
        counted_at: None,
        sheet: None,
        previous: None,
        users: None,
        outages: None,
    };
    ingest::run(&opts, &ProgressBar::hidden()).expect("ingest succeeds")
}

fn i64_col(df: &polars::prelude::DataFrame, col: &str) -> Vec<i64> {
    let c = df.column(col).unwrap().i64().unwrap();
    (0..c.len()).map(|i| c.get(i).expect("not null")).collect()
}

// ------------------------------------------------------------------ timestamps

/// How an instant is written.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// `…Z`
    Z,
    /// `…±HH:MM`, offset in minutes.
    Offset(i32),
    /// `… ±HHMM` (space before, no colon).
    OffsetCompact(i32),
    /// Naive local time of the facility zone.
    Naive,
    /// The local date only.
    DateOnly,
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Z),
        (-48..=56i32).prop_map(|q| Shape::Offset(q * 15)),
        (-48..=56i32).prop_map(|q| Shape::OffsetCompact(q * 15)),
        Just(Shape::Naive),
        Just(Shape::DateOnly),
    ]
}

/// `us` written in `shape`, and the (start, end, local date) the parser must give.
fn write_instant(us: i64, shape: Shape, tz: Tz) -> (String, (i64, i64, NaiveDate)) {
    let at = DateTime::from_timestamp_micros(us).unwrap();
    let local = at.with_timezone(&tz);
    // SPEC 2.3: a local time in a repeated hour is the earlier instant; one in a skipped
    // hour (only a date's midnight can be, here) is read with the offset before the gap.
    let earliest = |naive: chrono::NaiveDateTime| match tz.from_local_datetime(&naive) {
        LocalResult::Single(d) => d.timestamp_micros(),
        LocalResult::Ambiguous(a, b) => a.timestamp_micros().min(b.timestamp_micros()),
        LocalResult::None => {
            let before = tz.offset_from_utc_datetime(&(naive - chrono::Duration::days(1)));
            naive.and_utc().timestamp_micros()
                - i64::from(before.fix().local_minus_utc()) * 1_000_000
        }
    };
    let fraction = if us % 1_000_000 == 0 { "" } else { "%.6f" };
    match shape {
        Shape::Z => {
            let text = at.format(&format!("%Y-%m-%dT%H:%M:%S{fraction}Z")).to_string();
            (text, (us, us, local.date_naive()))
        }
        Shape::Offset(min) | Shape::OffsetCompact(min) => {
            let off = chrono::FixedOffset::east_opt(min * 60).unwrap();
            let t = at.with_timezone(&off);
            let (sign, a) = if min < 0 { ('-', -min) } else { ('+', min) };
            let zone = match shape {
                Shape::Offset(_) => format!("{sign}{:02}:{:02}", a / 60, a % 60),
                _ => format!(" {sign}{:02}{:02}", a / 60, a % 60),
            };
            let text = format!("{}{zone}", t.format(&format!("%Y-%m-%dT%H:%M:%S{fraction}")));
            (text, (us, us, local.date_naive()))
        }
        Shape::Naive => {
            let naive = local.naive_local();
            let text = naive.format(&format!("%Y-%m-%dT%H:%M:%S{fraction}")).to_string();
            // SPEC 2.3: a time in the repeated hour is the earlier instant.
            let start = earliest(naive);
            (text, (start, start, naive.date()))
        }
        Shape::DateOnly => {
            let day = local.date_naive();
            let start = earliest(day.and_time(NaiveTime::MIN));
            let next = day.succ_opt().unwrap().and_time(NaiveTime::MIN);
            let end = earliest(next) - 1;
            (day.format("%Y-%m-%d").to_string(), (start, end, day))
        }
    }
}

fn days_since_epoch(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

fn zone() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        chrono_tz::America::Los_Angeles,
        chrono_tz::America::New_York,
        chrono_tz::Europe::Berlin,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Asia::Kathmandu,
    ])
}

proptest! {
    #![proptest_config(config(4096))]

    /// Any instant written as `Z`, with an offset, as naive local time or as a date parses
    /// back to that instant (naive: the earlier one in a repeated hour; date: the local day).
    #[test]
    fn props_timestamp_round_trips(us in FROM_US..TO_US, shape in shape(), tz in zone()) {
        let (text, (start, end, day)) = write_instant(us, shape, tz);
        let st = parse_timestamp(&text, tz)
            .unwrap_or_else(|e| panic!("`{text}` in {tz}: {e}"))
            .unwrap_or_else(|| panic!("`{text}` read as null"));
        prop_assert_eq!((st.start_us, st.end_us), (start, end), "`{}` in {}", text, tz);
        prop_assert_eq!(st.date_only, matches!(shape, Shape::DateOnly));
        prop_assert_eq!(st.local_date, days_since_epoch(day), "`{}` in {}", text, tz);
    }
}

// ------------------------------------------------------------------ packages files

/// One generated package record: good, or bad in one named way.
#[derive(Debug, Clone)]
enum Rec {
    Good(Pkg),
    /// Bad: the bytes of the record and the reject column expected.
    Bad(Vec<u8>, &'static str),
}

/// A valid package: every value the read-back must give back.
#[derive(Debug, Clone)]
struct Pkg {
    label: String,
    quantity: f64,
    /// Written as a JSON string (`"12.5"`) instead of a number.
    quantity_as_text: bool,
    unit: (&'static str, &'static str, f64),
    location: Option<String>,
    packaged: (i64, Shape),
    last_modified: (i64, Shape),
    sources: Vec<String>,
}

/// Unit spellings: (as written, base unit, base units per 1).
const UNITS: &[(&str, &str, f64)] = &[
    ("Grams", "g", 1.0),
    ("g", "g", 1.0),
    ("Kilograms", "g", 1000.0),
    ("Ounces", "g", 28.349_523_125),
    ("lbs", "g", 453.592_37),
    ("Milligrams", "g", 0.001),
    ("Each", "ea", 1.0),
    ("ea", "ea", 1.0),
    ("Fluid Ounces", "ml", 29.573_529_562_5),
    ("fl. oz.", "ml", 29.573_529_562_5),
    ("Liters", "ml", 1000.0),
    ("gal", "ml", 3_785.411_784),
    ("Milliliters", "ml", 1.0),
];

/// Text with quotes, backslashes, commas, markup, control characters and non-ASCII, no
/// surrounding whitespace (text fields are trimmed).
fn text(max: usize) -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        8 => prop::char::range('0', 'Z'),
        1 => prop::sample::select(vec![
            '"', '\\', ',', '<', '>', '&', '\'', ' ', '\t', '\n', '\u{0}', '\u{1b}', 'é', 'ß',
            '漢', '🌿', '\u{feff}', '\u{202e}', '[', ']', '{', '}',
        ]),
    ];
    prop::collection::vec(chars, 1..max)
        .prop_map(|v| v.into_iter().collect::<String>().trim().to_owned())
        .prop_filter("not blank", |s| !s.is_empty())
}

fn quantity() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64 / 1000.0),
        (0u32..10_000).prop_map(f64::from),
        -1.0e9..1.0e9f64,
    ]
}

fn instant() -> impl Strategy<Value = (i64, Shape)> {
    // Metrc-era instants, whole seconds or with µs.
    (1_262_304_000_000_000i64..1_893_456_000_000_000, any::<bool>(), shape())
        .prop_map(|(us, frac, sh)| (if frac { us } else { us - us % 1_000_000 }, sh))
}

fn pkg() -> impl Strategy<Value = Pkg> {
    (
        text(30),
        quantity(),
        any::<bool>(),
        prop::sample::select(UNITS),
        prop::option::of(text(20)),
        instant(),
        instant().prop_map(|(us, sh)| (us, if let Shape::DateOnly = sh { Shape::Z } else { sh })),
        prop::collection::vec("[A-Z0-9]{24}", 0..3),
    )
        .prop_map(
            |(
                label,
                quantity,
                quantity_as_text,
                unit,
                location,
                packaged,
                last_modified,
                sources,
            )| {
                Pkg {
                    label,
                    quantity,
                    quantity_as_text,
                    unit,
                    location,
                    packaged,
                    last_modified,
                    sources,
                }
            },
        )
}

impl Pkg {
    fn json(&self) -> serde_json::Value {
        let q = if self.quantity_as_text {
            serde_json::json!(self.quantity.to_string())
        } else {
            serde_json::json!(self.quantity)
        };
        let sources = (!self.sources.is_empty()).then(|| self.sources.join(", "));
        serde_json::json!({
            "Id": 1,
            "Label": self.label,
            "Quantity": q,
            "UnitOfMeasureName": self.unit.0,
            "LocationName": self.location,
            "PackagedDate": write_instant(self.packaged.0, self.packaged.1, LA).0,
            "LastModified": write_instant(self.last_modified.0, self.last_modified.1, LA).0,
            "SourcePackageLabels": sources,
            "Item": {"Name": "Flower", "ProductCategoryName": "Buds", "QuantityType": "WeightBased"},
            "SomethingUnknown": {"nested": [1, 2, {"x": null}]},
        })
    }
}

/// A bad record of one kind, and the reject column it must give ("" = the whole record,
/// "*" = any).
fn bad() -> impl Strategy<Value = Rec> {
    let base = || serde_json::json!({"Label": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasureName": "Grams"});
    let with = move |k: &str, v: serde_json::Value| {
        let mut r = base();
        r[k] = v;
        r.to_string().into_bytes()
    };
    let without_label = {
        let mut r = base();
        r.as_object_mut().unwrap().remove("Label");
        r.to_string().into_bytes()
    };
    prop::sample::select(vec![
        Rec::Bad(without_label, "Label"),
        Rec::Bad(with("Label", "  ".into()), "Label"),
        Rec::Bad(with("Label", 42.into()), "Label"),
        Rec::Bad(with("Quantity", "ten".into()), "Quantity"),
        Rec::Bad(with("Quantity", "NaN".into()), "Quantity"),
        Rec::Bad(with("Quantity", "-inf".into()), "Quantity"),
        Rec::Bad(with("Quantity", serde_json::json!([1])), "Quantity"),
        Rec::Bad(with("UnitOfMeasureName", "furlongs".into()), "UnitOfMeasureName"),
        Rec::Bad(with("PackagedDate", "next tuesday".into()), "PackagedDate"),
        Rec::Bad(with("PackagedDate", "2026-02-30".into()), "PackagedDate"),
        Rec::Bad(with("LastModified", true.into()), "LastModified"),
        Rec::Bad(with("IsProductionBatch", "maybe".into()), "IsProductionBatch"),
        Rec::Bad(with("Item", serde_json::json!(["not", "an", "object"])), "Item"),
        Rec::Bad(with("Item", serde_json::json!({"QuantityType": []})), "Item.QuantityType"),
        // Named by the field, or the whole record (serde_json could not say which field).
        Rec::Bad(br#"{"Label": "1A4FF0100000022000000001", "Quantity": 1e400}"#.to_vec(), "*"),
        Rec::Bad(br#""a string, not a record""#.to_vec(), ""),
        Rec::Bad(b"[1, 2, 3]".to_vec(), ""),
        Rec::Bad(b"{\"Label\": \"1A4F\xff\xfe\", \"Quantity\": 1}".to_vec(), ""),
    ])
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Array,
    Page,
    Lines,
}

/// The file's bytes and each record's index (JSON: position; JSON Lines: 0-based line).
fn write_file(recs: &[Rec], format: Format, blank_lines: &[bool]) -> (Vec<u8>, Vec<i64>) {
    let bytes = |r: &Rec| match r {
        Rec::Good(p) => p.json().to_string().into_bytes(),
        Rec::Bad(b, _) => b.clone(),
    };
    let mut out = Vec::new();
    let mut index = Vec::new();
    match format {
        Format::Array | Format::Page => {
            let (open, close): (&[u8], &[u8]) = match format {
                Format::Page => (b"{\"Total\": 9, \"Data\": [", b"], \"Page\": 1}"),
                _ => (b"[", b"]"),
            };
            out.extend_from_slice(open);
            for (i, r) in recs.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b",\n");
                }
                out.extend_from_slice(&bytes(r));
                index.push(i as i64);
            }
            out.extend_from_slice(close);
        }
        Format::Lines => {
            let mut line = 0;
            for (i, r) in recs.iter().enumerate() {
                if blank_lines.get(i).copied().unwrap_or(false) {
                    out.extend_from_slice(b"  \r\n");
                    line += 1;
                }
                out.extend_from_slice(&bytes(r));
                out.extend_from_slice(b"\n");
                index.push(line);
                line += 1;
            }
        }
    }
    (out, index)
}

/// At least one record is good: an ingest that accepts no row at all fails (exit 2,
/// "cannot rename into OUT/lake"; see `ingest_empty_folders_and_files`).
fn records() -> impl Strategy<Value = Vec<Rec>> {
    prop::collection::vec(prop_oneof![2 => pkg().prop_map(Rec::Good), 1 => bad()], 1..24)
        .prop_filter("one good record", |r| r.iter().any(|r| matches!(r, Rec::Good(_))))
}

fn format() -> impl Strategy<Value = Format> {
    prop_oneof![Just(Format::Array), Just(Format::Page), Just(Format::Lines)]
}

/// A count sheet row: good, or bad in a named column.
#[derive(Debug, Clone)]
enum CountRow {
    Good { label: String, qty: f64, location: String },
    Bad { cells: [String; 5], column: &'static str },
}

fn count_row() -> impl Strategy<Value = CountRow> {
    let good = ("[A-Z0-9]{24}", quantity(), text(12))
        .prop_map(|(label, qty, location)| CountRow::Good { label, qty, location });
    let cell = |l: &str, q: &str, u: &str, loc: &str, at: &str| {
        [l.to_owned(), q.to_owned(), u.to_owned(), loc.to_owned(), at.to_owned()]
    };
    let bad = prop::sample::select(vec![
        CountRow::Bad { cells: cell(" ", "1", "g", "A", "2026-10-20"), column: "Tag" },
        CountRow::Bad { cells: cell("1A4F", "abc", "g", "A", "2026-10-20"), column: "Qty" },
        CountRow::Bad { cells: cell("1A4F", "", "g", "A", "2026-10-20"), column: "Qty" },
        CountRow::Bad { cells: cell("1A4F", "inf", "g", "A", "2026-10-20"), column: "Qty" },
        CountRow::Bad { cells: cell("1A4F", "1", "parsecs", "A", "2026-10-20"), column: "UOM" },
        CountRow::Bad { cells: cell("1A4F", "1", "g", "A", "yesterday"), column: "Counted At" },
    ]);
    prop_oneof![2 => good, 1 => bad]
}

/// The sheet's bytes and each row's 1-based physical line (header = line 1).
fn write_sheet(rows: &[CountRow], crlf: bool) -> (Vec<u8>, Vec<i64>) {
    let term = if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') };
    let mut out = b"\xEF\xBB\xBF".to_vec();
    let mut lines = Vec::new();
    let push = |cells: &[String], out: &mut Vec<u8>| {
        let mut w = csv::WriterBuilder::new().terminator(term).from_writer(Vec::new());
        w.write_record(cells).unwrap();
        let bytes = w.into_inner().unwrap();
        let line = 1 + memchr::memchr_iter(b'\n', out).count() as i64;
        out.extend_from_slice(&bytes);
        line
    };
    let header = ["Tag", "Qty", "UOM", "Location", "Counted At"].map(String::from);
    push(&header, &mut out);
    for r in rows {
        let cells = match r {
            CountRow::Good { label, qty, location } => [
                label.clone(),
                qty.to_string(),
                "g".into(),
                location.clone(),
                "2026-10-20T10:00:00-07:00".into(),
            ],
            CountRow::Bad { cells, .. } => cells.clone(),
        };
        lines.push(push(&cells, &mut out));
    }
    (out, lines)
}

proptest! {
    #![proptest_config(config(32))]

    /// Rows in = accepted + rejected, for the export file and the count sheet; every bad
    /// record is in rejects (by record index or line, with its column) and every good one in
    /// the lake.
    #[test]
    fn props_rows_in_equal_accepted_plus_rejected(
        recs in records(),
        format in format(),
        blank in prop::collection::vec(any::<bool>(), 24),
        rows in prop::collection::vec(count_row(), 0..12),
        crlf in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let export = tmp.path().join("export");
        fs::create_dir_all(export.join(LIC)).unwrap();
        let name = if let Format::Lines = format { "packages.jsonl" } else { "packages.json" };
        let (bytes, index) = write_file(&recs, format, &blank);
        fs::write(export.join(LIC).join(name), bytes).unwrap();
        let counts = tmp.path().join("counts");
        fs::create_dir_all(&counts).unwrap();
        let (sheet, lines) = write_sheet(&rows, crlf);
        fs::write(counts.join(format!("{LIC}.csv")), sheet).unwrap();
        let out = tmp.path().join("out");
        let summary = ingest_dir(&export, Some(&counts), &out);

        let n_bad = recs.iter().filter(|r| matches!(r, Rec::Bad(..))).count() as u64;
        let n_bad_rows = rows.iter().filter(|r| matches!(r, CountRow::Bad { .. })).count() as u64;
        prop_assert_eq!(summary.inputs.len(), 2);
        for input in &summary.inputs {
            prop_assert_eq!(input.rows_in, input.rows_accepted + input.rows_rejected, "{:?}", input);
        }
        let (file, sheet) = (&summary.inputs[0], &summary.inputs[1]);
        prop_assert_eq!((file.rows_in, file.rows_rejected), (recs.len() as u64, n_bad));
        prop_assert_eq!((sheet.rows_in, sheet.rows_rejected), (rows.len() as u64, n_bad_rows));
        prop_assert_eq!(summary.rejects, n_bad + n_bad_rows);

        // Every bad record is in rejects with its index (or line) and column.
        let file_rel = format!("{LIC}/{name}");
        let sheet_rel = format!("{LIC}.csv");
        let mut want: BTreeSet<(String, i64, String)> = BTreeSet::new();
        for (r, i) in recs.iter().zip(&index) {
            if let Rec::Bad(_, column) = r {
                want.insert((file_rel.clone(), *i, (*column).to_owned()));
            }
        }
        for (r, line) in rows.iter().zip(&lines) {
            if let CountRow::Bad { column, .. } = r {
                want.insert((sheet_rel.clone(), *line, (*column).to_owned()));
            }
        }
        let rej = read(&out.join("rejects.parquet"));
        let rej_records = i64_col(&rej, "record");
        let got: BTreeSet<(String, i64, String)> = (0..rej.height())
            .map(|i| {
                let (file, record) = (s(&rej, "source_file", i).unwrap(), rej_records[i]);
                let any = want.contains(&(file.clone(), record, "*".to_owned()));
                (file, record, if any { "*".to_owned() } else { s(&rej, "column", i).unwrap() })
            })
            .collect();
        prop_assert_eq!(got, want);

        // Every good record is in the lake, once.
        let good: Vec<i64> = recs.iter().zip(&index).filter(|(r, _)| matches!(r, Rec::Good(_))).map(|(_, i)| *i).collect();
        let p = read_table(&out, "packages");
        let mut have = if p.height() == 0 { Vec::new() } else { i64_col(&p, "record") };
        have.sort_unstable();
        prop_assert_eq!(have, good);
        let good_lines: Vec<i64> = rows.iter().zip(&lines).filter(|(r, _)| matches!(r, CountRow::Good { .. })).map(|(_, l)| *l).collect();
        let c = read_table(&out, "counts");
        let mut have = if c.height() == 0 { Vec::new() } else { i64_col(&c, "record") };
        have.sort_unstable();
        prop_assert_eq!(have, good_lines);
    }

    /// A valid file read back from the lake gives what was written: labels, quantities
    /// (and in base units), units, locations, timestamps, sources, record indices.
    #[test]
    fn props_ingest_then_read_back_is_lossless(
        pkgs in prop::collection::vec(pkg(), 1..16),
        format in format(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let export = tmp.path().join("export");
        fs::create_dir_all(export.join(LIC)).unwrap();
        let recs: Vec<Rec> = pkgs.iter().cloned().map(Rec::Good).collect();
        let name = if let Format::Lines = format { "packages.jsonl" } else { "packages.json" };
        let (bytes, index) = write_file(&recs, format, &[]);
        fs::write(export.join(LIC).join(name), bytes).unwrap();
        let out = tmp.path().join("out");
        let summary = ingest_dir(&export, None, &out);
        prop_assert_eq!(summary.rejects, 0);

        let p = read_table(&out, "packages");
        prop_assert_eq!(p.height(), pkgs.len());
        let records = i64_col(&p, "record");
        for (want, i) in pkgs.iter().zip(&index) {
            let row = records.iter().position(|r| r == i).unwrap();
            prop_assert_eq!(s(&p, "license", row), Some(LIC.to_owned()));
            prop_assert_eq!(s(&p, "label", row), Some(want.label.clone()));
            prop_assert_eq!(f(&p, "quantity", row), Some(want.quantity));
            prop_assert_eq!(s(&p, "unit", row), Some(want.unit.0.to_owned()));
            prop_assert_eq!(s(&p, "base_unit", row), Some(want.unit.1.to_owned()));
            let base = f(&p, "quantity_base", row).unwrap();
            prop_assert!((base - want.quantity * want.unit.2).abs() <= 1e-9 * base.abs().max(1.0), "{} vs {}", base, want.quantity * want.unit.2);
            prop_assert_eq!(s(&p, "location", row), want.location.clone());
            let (_, (start, end, _)) = write_instant(want.packaged.0, want.packaged.1, LA);
            prop_assert_eq!((ts(&p, "packaged_at", row), ts(&p, "packaged_at_end", row)), (Some(start), Some(end)));
            let (_, (lm, _, _)) = write_instant(want.last_modified.0, want.last_modified.1, LA);
            prop_assert_eq!(ts(&p, "last_modified", row), Some(lm));
            let joined = (!want.sources.is_empty()).then(|| want.sources.join(", "));
            prop_assert_eq!(s(&p, "source_package_labels", row), joined);
            prop_assert_eq!(s(&p, "source_file", row), Some(format!("{LIC}/{name}")));
        }
        // Source labels: one row per source, in order.
        let ps = read_table(&out, "package_sources");
        let n_sources: usize = pkgs.iter().map(|p| p.sources.len()).sum();
        prop_assert_eq!(ps.height(), n_sources);
        if n_sources > 0 {
            let (rec, idx) = (i64_col(&ps, "record"), i64_col(&ps, "source_index"));
            for (want, i) in pkgs.iter().zip(&index) {
                for (k, src) in want.sources.iter().enumerate() {
                    let row = (0..ps.height()).find(|&r| rec[r] == *i && idx[r] == k as i64).unwrap();
                    prop_assert_eq!(s(&ps, "source_label", row), Some(src.clone()));
                    prop_assert_eq!(s(&ps, "label", row), Some(want.label.clone()));
                }
            }
        }
    }
}

// ------------------------------------------------------------------ counts vs system

/// A package at the count: its unit, as-of quantity (in quarters of the unit, > 0), the
/// adjustments and sales after the count (quarters), and whether it is counted in the
/// base unit (g/ea/ml) instead of its own.
#[derive(Debug, Clone)]
struct Counted {
    unit: (&'static str, &'static str, f64),
    as_of_quarters: u32,
    adjusted_after: Vec<i32>,
    adjusted_before: Vec<i32>,
    sold_after: Vec<u32>,
    in_base_unit: bool,
}

fn counted() -> impl Strategy<Value = Counted> {
    (
        prop::sample::select(UNITS),
        1u32..4000,
        prop::collection::vec(-40i32..40, 0..3),
        prop::collection::vec(-40i32..40, 0..2),
        prop::collection::vec(1u32..20, 0..3),
        any::<bool>(),
    )
        .prop_map(|(unit, q, after, before, sold, base)| Counted {
            unit,
            // Each is counted in whole units.
            as_of_quarters: if unit.1 == "ea" { q - q % 4 + 4 } else { q },
            adjusted_after: after.iter().map(|a| if unit.1 == "ea" { a * 4 } else { *a }).collect(),
            adjusted_before: before,
            sold_after: sold.iter().map(|s| if unit.1 == "ea" { s * 4 } else { *s }).collect(),
            in_base_unit: base,
        })
}

fn quarters(q: i64) -> f64 {
    q as f64 / 4.0
}

proptest! {
    #![proptest_config(config(12))]

    /// Counting exactly the system quantity as of the count (export quantity minus later
    /// adjustments plus later sales), in the package's unit or in the base unit, never
    /// gives a count finding.
    #[test]
    fn props_count_equal_to_as_of_system_is_never_a_discrepancy(
        pkgs in prop::collection::vec(counted(), 1..6),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("export").join(LIC);
        fs::create_dir_all(&dir).unwrap();
        let (count_at, before, after, sold_at) = (
            "2026-10-20T10:00:00-07:00",
            "2026-10-10T09:00:00-07:00",
            "2026-10-21T09:00:00-07:00",
            "2026-10-22T12:00:00-07:00",
        );
        let (mut packages, mut adjustments, mut sales) = (Vec::new(), Vec::new(), Vec::new());
        let mut sheet = String::from("Tag,Qty,UOM,CountedAt\n");
        for (i, c) in pkgs.iter().enumerate() {
            let label = format!("1A4FF01000000220000{i:05}");
            let adj_after: i64 = c.adjusted_after.iter().map(|&a| i64::from(a)).sum();
            let sold: i64 = c.sold_after.iter().map(|&s| i64::from(s)).sum();
            // as-of = export − adjustments after + sold after.
            let export_q = i64::from(c.as_of_quarters) + adj_after - sold;
            packages.push(serde_json::json!({
                "Label": label, "Quantity": quarters(export_q), "UnitOfMeasureName": c.unit.0,
                "PackagedDate": "2026-10-01", "LabTestingState": "TestPassed",
                "LastModified": "2026-10-23T10:00:00Z",
                "Item": {"Name": "Flower", "ProductCategoryName": "Buds"},
            }));
            for (a, at) in c.adjusted_after.iter().map(|a| (a, after)).chain(c.adjusted_before.iter().map(|a| (a, before))) {
                adjustments.push(serde_json::json!({
                    "PackageLabel": label, "AdjustmentQuantity": quarters(i64::from(*a)),
                    "AdjustmentUnitOfMeasureName": c.unit.0, "AdjustmentReasonName": "Drying",
                    "AdjustmentNote": "moisture loss", "AdjustmentDate": at,
                }));
            }
            for (k, s) in c.sold_after.iter().enumerate() {
                sales.push(serde_json::json!({
                    "ReceiptNumber": format!("R{i}-{k}"), "SalesDateTime": sold_at,
                    "RecordedDateTime": sold_at,
                    "Transactions": [{"PackageLabel": label, "QuantitySold": quarters(i64::from(*s)), "UnitOfMeasureName": c.unit.0}],
                }));
            }
            let as_of = quarters(i64::from(c.as_of_quarters));
            let (qty, unit) = if c.in_base_unit { (as_of * c.unit.2, c.unit.1) } else { (as_of, c.unit.0) };
            sheet.push_str(&format!("{label},{qty},{unit},{count_at}\n"));
        }
        fs::write(dir.join("packages.json"), serde_json::to_vec(&packages).unwrap()).unwrap();
        fs::write(dir.join("adjustments.json"), serde_json::to_vec(&adjustments).unwrap()).unwrap();
        fs::write(dir.join("sales.json"), serde_json::to_vec(&sales).unwrap()).unwrap();
        let counts = tmp.path().join("counts");
        fs::create_dir_all(&counts).unwrap();
        fs::write(counts.join(format!("{LIC}.csv")), sheet).unwrap();
        let out = tmp.path().join("out");
        let argv = ["tagtrail", "run", "--quiet"]
            .into_iter()
            .map(String::from)
            .chain(["--export".into(), tmp.path().join("export").display().to_string()])
            .chain(["--counts".into(), counts.display().to_string()])
            .chain(["--out".into(), out.display().to_string()]);
        let cli = <tagtrail::cli::Cli as clap::Parser>::try_parse_from(argv).unwrap();
        prop_assert_eq!(tagtrail::app::run(cli).expect("the pipeline runs"), 0);

        let findings = read(&out.join("findings.parquet"));
        let rule = findings.column("rule_id").unwrap().str().unwrap();
        let count_findings: Vec<String> = (0..findings.height())
            .filter(|&i| rule.get(i).is_some_and(|r| r.starts_with("count.")))
            .map(|i| format!("{}: {}", rule.get(i).unwrap(), s(&findings, "detail", i).unwrap_or_default()))
            .collect();
        prop_assert!(count_findings.is_empty(), "{:#?}", count_findings);
        prop_assert_eq!(read(&out.join("rejects.parquet")).height(), 0);
    }
}

// ------------------------------------------------------------------ count sheet shapes

/// The bundled sample's sheets with accented locations (so that encodings matter), as
/// (file name, license the folder reader would give, text).
fn sample_sheets() -> &'static [(String, String, String)] {
    static SHEETS: std::sync::OnceLock<Vec<(String, String, String)>> = std::sync::OnceLock::new();
    SHEETS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample/counts");
        let mut v: Vec<(String, String, String)> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
                let text =
                    sheet_style::accent_locations(&fs::read_to_string(&p).unwrap(), &name).unwrap();
                (name, stem, text)
            })
            .collect();
        v.sort();
        v
    })
}

fn sheet_format() -> impl Strategy<Value = SheetFormat> {
    let encoding = prop_oneof![
        Just(Encoding::Utf8),
        Just(Encoding::Utf8Bom),
        Just(Encoding::Utf16Le),
        Just(Encoding::Utf16Be),
        Just(Encoding::Windows1252),
    ];
    let delimiter = prop_oneof![Just(b','), Just(b'\t'), Just(b';'), Just(b'|')];
    (encoding, delimiter, any::<bool>(), 0..=3usize, any::<bool>(), any::<bool>()).prop_map(
        |(encoding, delimiter, crlf, preamble, lowercase_labels, pad_labels)| SheetFormat {
            encoding,
            delimiter,
            crlf,
            preamble,
            lowercase_labels,
            pad_labels,
            qty_unit: QtyUnit::Column,
            ..SheetFormat::plain()
        },
    )
}

/// Accepted rows (without `source_file` and `record`), rejects as (column, reason), and
/// rows read.
type SheetRows = (polars::prelude::DataFrame, Vec<(String, String)>, u64);

/// A count sheet's rows as the reader gives them, without where they came from.
fn sheet_rows(bytes: &[u8], file: &str, license: &str) -> Result<SheetRows, String> {
    let sheet = ingest::counts::read_csv(bytes, file, license, LA)?;
    let rejects = sheet.rejects.iter().map(|r| (r.column.clone(), r.reason.clone())).collect();
    let df = sheet.rows.into_frame().map_err(|e| e.to_string())?;
    let df = df.drop_many(["source_file", "record"]);
    Ok((df, rejects, sheet.rows_in))
}

proptest! {
    #![proptest_config(config(48))]

    /// SPEC 2.2: a sample count sheet re-encoded (UTF-8 with or without BOM, UTF-16 LE/BE,
    /// Windows-1252), with any delimiter (comma, tab, semicolon, pipe), 0-3 title rows, CRLF
    /// or LF and labels in lower case or padded with spaces gives the same count rows,
    /// rejects and rows read as the plain sheet.
    #[test]
    fn props_count_sheet_reads_the_same_in_any_shape(
        which in 0..2usize,
        fmt in sheet_format(),
    ) {
        let (name, license, plain) = &sample_sheets()[which % sample_sheets().len()];
        let styled = sheet_style::write_csv(plain, name, &fmt).unwrap();
        let (want, want_rej, want_in) = sheet_rows(plain.as_bytes(), name, license).unwrap();
        let got = sheet_rows(&styled.bytes, &styled.file_name, license);
        prop_assert!(got.is_ok(), "{fmt:?}: the sheet was refused: {}", got.as_ref().err().unwrap());
        let (got, got_rej, got_in) = got.unwrap();
        prop_assert_eq!(got.shape(), want.shape(), "{:?}: shape", fmt);
        for (g, w) in got.columns().iter().zip(want.columns()) {
            let first = (0..g.len()).find(|&i| g.get(i).ok() != w.get(i).ok());
            prop_assert!(
                g.equals_missing(w),
                "{:?}: column {} differs, first at row {:?}: {:?} vs {:?}",
                fmt,
                g.name(),
                first,
                first.map(|i| g.get(i).unwrap().to_string()),
                first.map(|i| w.get(i).unwrap().to_string())
            );
        }
        prop_assert_eq!(got_rej, want_rej, "{:?}: rejects", fmt);
        prop_assert_eq!(got_in, want_in, "{:?}: rows read", fmt);
    }
}

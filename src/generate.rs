//! Synthetic Metrc export + physical counts with planted anomalies (`tagtrail generate`).
//! Streams one license at a time (rayon across licenses) into `DIR/export/<LICENSE>/`,
//! `DIR/counts/<LICENSE>.csv`, `DIR/truth.csv` and `DIR/expected_rejects.csv`. Truth rows
//! come from re-checking every self-contained family of packages against SPEC section 3
//! as it is written, so the side effects of a planted anomaly are listed as well.
//! With `--sheet-style`, `DIR/counts-realworld/<style>/` holds the same sheets in the
//! shapes operators really keep them ([`sheet_style`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone,
    Timelike,
};
use chrono_tz::Tz;
use rayon::prelude::*;

pub mod sheet_style;

use sheet_style::SheetStyle;

/// What `tagtrail generate` writes and how much of it.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Output folder (receives `export/`, `counts/`, `truth.csv`, `expected_rejects.csv`).
    pub out: PathBuf,
    /// Number of licenses (facilities), at most 99 999.
    pub licenses: usize,
    /// Packages in total across licenses (approximate: families are kept whole).
    pub packages: usize,
    /// Seed of every random choice; the same options give the same bytes.
    pub seed: u64,
    /// Write JSON Lines (`*.jsonl`) instead of JSON arrays / Metrc pages.
    pub jsonl: bool,
    /// Facility time zone of naive timestamps.
    pub timezone: Tz,
    /// Also write `counts-realworld/<style>/`: every sheet of `counts/` in each of these
    /// styles (SPEC 2.2 real-world shapes). Empty by default, which leaves the output as
    /// it always was.
    pub sheet_styles: Vec<SheetStyle>,
}

impl GenerateOptions {
    /// Defaults: 8 licenses, 20 000 packages, seed 1, JSON, `America/Los_Angeles`.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        GenerateOptions {
            out: out.into(),
            licenses: 8,
            packages: 20_000,
            seed: 1,
            jsonl: false,
            timezone: chrono_tz::America::Los_Angeles,
            sheet_styles: Vec::new(),
        }
    }
}

/// What a generate run wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerateStats {
    /// Licenses written.
    pub licenses: usize,
    /// Package records written (duplicates and planted bad records included).
    pub packages: usize,
    /// Bytes written (export, counts, truth and expected rejects).
    pub bytes: u64,
    /// Rows of `truth.csv`.
    pub planted: usize,
}

/// Folder of the restyled count sheets (`--sheet-style`), next to `counts/`.
pub const REALWORLD: &str = "counts-realworld";

/// Generates the synthetic data set described by `opts` (see module docs).
///
/// Writes into a temporary folder inside `opts.out` first, then replaces `export/`,
/// `counts/`, `truth.csv` and `expected_rejects.csv` there.
pub fn run(opts: &GenerateOptions) -> Result<GenerateStats> {
    ensure!((1..=99_999).contains(&opts.licenses), "--licenses must be between 1 and 99999");
    ensure!(opts.packages >= opts.licenses, "--packages must be at least --licenses");
    fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create `{}`", opts.out.display()))?;
    let tmp = opts.out.join(".tagtrail-generate.tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).with_context(|| format!("cannot remove `{}`", tmp.display()))?;
    }
    fs::create_dir_all(tmp.join("export"))?;
    fs::create_dir_all(tmp.join("counts"))?;

    let clock = Clock { tz: opts.timezone };
    let times = Times::new(&clock);
    let plan = Plan::new(opts);
    let ctx = Ctx { plan, clock, times, root: tmp.clone(), jsonl: opts.jsonl };
    let outs: Vec<LicOut> =
        (0..opts.licenses).into_par_iter().map(|i| gen_license(&ctx, i)).collect::<Result<_>>()?;

    let mut truth: Vec<(&'static str, &str, &str, &'static str)> = Vec::new();
    let mut rejects: Vec<&RejectRow> = Vec::new();
    let mut stats = GenerateStats { licenses: opts.licenses, ..GenerateStats::default() };
    for (i, o) in outs.iter().enumerate() {
        let lic = ctx.plan.licenses[i].as_str();
        truth.extend(o.truth.iter().map(|(r, l, sev)| (*r, lic, l.as_str(), *sev)));
        rejects.extend(o.rejects.iter());
        stats.packages += o.packages;
        stats.bytes += o.bytes;
    }
    truth.sort_unstable();
    rejects.sort_by(|a, b| (&a.file, a.record, a.column).cmp(&(&b.file, b.record, b.column)));
    let mut s = String::from("rule_id,license,package_label,severity\n");
    for (r, l, p, sev) in &truth {
        let _ = writeln!(s, "{r},{l},{p},{sev}");
    }
    stats.bytes += s.len() as u64;
    fs::write(tmp.join("truth.csv"), &s)?;
    let mut s = String::from("source_file,record,column,reason\n");
    for r in &rejects {
        let _ = writeln!(s, "{},{},{},{}", r.file, r.record, r.column, r.reason);
    }
    stats.bytes += s.len() as u64;
    fs::write(tmp.join("expected_rejects.csv"), &s)?;
    stats.planted = truth.len();
    // Restyled copies are made from the finished sheets, so they hold the same rows; the
    // truth above does not depend on a sheet's shape (rule, license and label only).
    for style in &opts.sheet_styles {
        let dest = tmp.join(REALWORLD).join(style.name());
        let written = sheet_style::restyle_folder(&tmp.join("counts"), &dest, *style)?;
        stats.bytes += written.iter().map(|(_, _, n)| n).sum::<u64>();
    }

    // A `counts-realworld/` left by an earlier run describes other counts: it goes too.
    for name in ["export", "counts", "truth.csv", "expected_rejects.csv", REALWORLD] {
        let dest = opts.out.join(name);
        if dest.is_dir() {
            fs::remove_dir_all(&dest)?;
        } else if dest.exists() {
            fs::remove_file(&dest)?;
        }
        if name == REALWORLD && !tmp.join(name).exists() {
            continue;
        }
        fs::rename(tmp.join(name), &dest)
            .with_context(|| format!("cannot move output into `{}`", dest.display()))?;
    }
    fs::remove_dir_all(&tmp)?;
    Ok(stats)
}

// ---------------------------------------------------------------------------------------
// Rule ids (SPEC section 3)

const R_MISSING_IN_SYSTEM: &str = "count.missing_in_system";
const R_MISSING_ON_PREMISES: &str = "count.missing_on_premises";
const R_QUANTITY_MISMATCH: &str = "count.quantity_mismatch";
const R_UNIT_INCOMPATIBLE: &str = "count.unit_incompatible";
const R_DUPLICATE_COUNT: &str = "count.duplicate_count";
const R_SIGNIFICANT: &str = "count.significant_discrepancy";
const R_LATE: &str = "lag.late_entry";
const R_BEFORE: &str = "lag.recorded_before_occurred";
const R_ORPHAN: &str = "lineage.orphan_source";
const R_CYCLE: &str = "lineage.cycle";
const R_CHILD_BEFORE_PARENT: &str = "lineage.child_before_parent";
const R_OVERDRAWN: &str = "lineage.overdrawn_source";
const R_MISSING_PB: &str = "lineage.missing_production_batch";
const R_UNNEEDED_PB: &str = "lineage.unneeded_production_batch";
const R_MISSING_BATCH_NO: &str = "lineage.missing_batch_number";
const R_UNTESTED_SALE: &str = "lineage.untested_sale";
const R_ACCEPTED_MISMATCH: &str = "transfer.accepted_quantity_mismatch";
const R_ADJ_NO_NOTE: &str = "record.adjustment_without_note";
const R_DUPLICATE_PACKAGE: &str = "record.duplicate_package";

/// A rule's severity when its finding does not set one (the rule files' headers; SPEC
/// section 3). `lag.late_entry` sets its own: high beyond 72 h.
fn default_severity(rule: &str) -> &'static str {
    match rule {
        R_SIGNIFICANT | R_UNTESTED_SALE | R_CYCLE => "critical",
        R_MISSING_IN_SYSTEM
        | R_MISSING_ON_PREMISES
        | R_ORPHAN
        | R_OVERDRAWN
        | R_DUPLICATE_PACKAGE
        | R_ACCEPTED_MISMATCH => "high",
        R_DUPLICATE_COUNT | R_BEFORE | R_UNNEEDED_PB | R_ADJ_NO_NOTE => "low",
        _ => "medium",
    }
}

#[cfg(test)]
const RULE_IDS: [&str; 19] = [
    R_MISSING_IN_SYSTEM,
    R_MISSING_ON_PREMISES,
    R_QUANTITY_MISMATCH,
    R_UNIT_INCOMPATIBLE,
    R_DUPLICATE_COUNT,
    R_SIGNIFICANT,
    R_LATE,
    R_BEFORE,
    R_ORPHAN,
    R_CYCLE,
    R_CHILD_BEFORE_PARENT,
    R_OVERDRAWN,
    R_MISSING_PB,
    R_UNNEEDED_PB,
    R_MISSING_BATCH_NO,
    R_UNTESTED_SALE,
    R_ACCEPTED_MISMATCH,
    R_ADJ_NO_NOTE,
    R_DUPLICATE_PACKAGE,
];

const TESTED_OK: [&str; 5] =
    ["TestPassed", "RetestPassed", "NotRequired", "ProcessValidated", "Remediated"];

/// A package's lab state: every state that allows a sale occurs (one package in eight is
/// not `TestPassed`), chosen from the label's number so the rest of the data does not move.
fn lab_state(prod: Prod, seq: u64) -> &'static str {
    match prod.lab() {
        "TestPassed" => match mix(seq, 0x6c61_6273) % 32 {
            0 => "Remediated",
            1 => "RetestPassed",
            2 => "ProcessValidated",
            3 => "NotRequired",
            _ => "TestPassed",
        },
        other => other,
    }
}

// ---------------------------------------------------------------------------------------
// Deterministic randomness (xoshiro256** seeded by splitmix64)

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn mix(a: u64, b: u64) -> u64 {
    let mut s = a.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ b;
    splitmix(&mut s);
    splitmix(&mut s)
}

#[derive(Clone, Debug)]
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut s = seed;
        Rng([splitmix(&mut s), splitmix(&mut s), splitmix(&mut s), splitmix(&mut s)])
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo { lo } else { lo + self.below((hi - lo) as u64 + 1) as i64 }
    }

    fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.index(xs.len())]
    }
}

// ---------------------------------------------------------------------------------------
// Time: instants are i64 microseconds UTC; `Ts` is a rendered value with the instants
// SPEC 2.3 reads it as (`lo` = start, `hi` = end of a date-only local day).

const US: i64 = 1_000_000;
const MINUTE: i64 = 60 * US;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const SENTINEL: &str = "0001-01-01T00:00:00+00:00";

#[derive(Clone, Debug, PartialEq, Eq)]
struct Ts {
    text: String,
    lo: i64,
    hi: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    Date,
    Naive,
    Offset,
    Zulu,
    Micros,
}

struct Clock {
    tz: Tz,
}

fn push2(s: &mut String, v: u32) {
    s.push(char::from(b'0' + (v / 10 % 10) as u8));
    s.push(char::from(b'0' + (v % 10) as u8));
}

fn push_date(s: &mut String, d: NaiveDate) {
    let y = d.year().clamp(0, 9999) as u32;
    push2(s, y / 100);
    push2(s, y % 100);
    s.push('-');
    push2(s, d.month());
    s.push('-');
    push2(s, d.day());
}

fn push_dt(s: &mut String, n: NaiveDateTime) {
    push_date(s, n.date());
    s.push('T');
    push2(s, n.hour());
    s.push(':');
    push2(s, n.minute());
    s.push(':');
    push2(s, n.second());
}

impl Clock {
    fn split(&self, t: i64) -> (NaiveDateTime, i32) {
        let utc = DateTime::from_timestamp(t.div_euclid(US), 0)
            .expect("generated instants are in range")
            .naive_utc();
        let local = self.tz.from_utc_datetime(&utc);
        (local.naive_local(), local.offset().fix().local_minus_utc())
    }

    /// SPEC 2.3: a repeated local time is the earlier instant, a skipped one moves forward.
    fn resolve(&self, n: NaiveDateTime) -> i64 {
        let secs = match self.tz.from_local_datetime(&n) {
            LocalResult::Single(d) => d.timestamp(),
            LocalResult::Ambiguous(a, b) => a.timestamp().min(b.timestamp()),
            LocalResult::None => {
                let before = n - TimeDelta::hours(6);
                let off = self
                    .tz
                    .from_local_datetime(&before)
                    .earliest()
                    .map_or(0, |d| d.offset().fix().local_minus_utc());
                n.and_utc().timestamp() - i64::from(off)
            }
        };
        secs * US
    }

    /// Whether the local wall time of `t` occurs twice (a repeated DST hour).
    fn ambiguous(&self, t: i64) -> bool {
        matches!(self.tz.from_local_datetime(&self.split(t).0), LocalResult::Ambiguous(..))
    }

    fn local_date(&self, t: i64) -> NaiveDate {
        self.split(t).0.date()
    }

    fn day_start(&self, d: NaiveDate) -> i64 {
        self.resolve(d.and_hms_opt(0, 0, 0).expect("midnight exists"))
    }

    fn at(&self, y: i32, m: u32, d: u32, h: u32, mi: u32) -> i64 {
        let date = NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
        self.resolve(date.and_hms_opt(h, mi, 0).expect("valid time"))
    }

    fn render(&self, t: i64, shape: Shape) -> Ts {
        let (n, off) = self.split(t);
        let mut s = String::with_capacity(32);
        let secs = t - t.rem_euclid(US);
        match shape {
            Shape::Date => {
                push_date(&mut s, n.date());
                let lo = self.day_start(n.date());
                let next = n.date().succ_opt().expect("date in range");
                Ts { text: s, lo, hi: self.day_start(next) - 1 }
            }
            Shape::Naive => {
                push_dt(&mut s, n);
                s.push_str(".000");
                let v = self.resolve(n);
                Ts { text: s, lo: v, hi: v }
            }
            Shape::Offset => {
                push_dt(&mut s, n);
                s.push(if off < 0 { '-' } else { '+' });
                let a = off.unsigned_abs();
                push2(&mut s, a / 3600);
                s.push(':');
                push2(&mut s, a / 60 % 60);
                Ts { text: s, lo: secs, hi: secs }
            }
            Shape::Zulu => {
                push_dt(&mut s, n - TimeDelta::seconds(i64::from(off)));
                s.push('Z');
                Ts { text: s, lo: secs, hi: secs }
            }
            Shape::Micros => {
                push_dt(&mut s, n - TimeDelta::seconds(i64::from(off)));
                let _ = write!(s, ".{:06}+00:00", t.rem_euclid(US));
                Ts { text: s, lo: t, hi: t }
            }
        }
    }
}

/// Fixed calendar of the synthetic year (local times of the facility zone).
struct Times {
    pack_start: i64,
    pack_end: i64,
    xfer_end: i64,
    post_end: i64,
    export: i64,
    spring: (i64, i64),
    fall: (i64, i64),
    after_count: (i64, i64),
}

impl Times {
    fn new(c: &Clock) -> Times {
        Times {
            pack_start: c.at(2026, 2, 2, 6, 0),
            pack_end: c.at(2026, 10, 22, 18, 0),
            xfer_end: c.at(2026, 10, 26, 18, 0),
            post_end: c.at(2026, 11, 12, 20, 0),
            export: c.at(2026, 11, 13, 6, 0),
            spring: (c.at(2026, 3, 8, 0, 0), c.at(2026, 3, 8, 4, 0)),
            fall: (c.at(2026, 11, 1, 0, 0), c.at(2026, 11, 1, 3, 0)),
            after_count: (c.at(2026, 11, 4, 8, 0), c.at(2026, 11, 6, 18, 0)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Units, products, catalog

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum QType {
    Weight,
    Each,
    Volume,
}

impl QType {
    fn idx(self) -> usize {
        match self {
            QType::Weight => 0,
            QType::Each => 1,
            QType::Volume => 2,
        }
    }

    fn tol(self) -> f64 {
        match self {
            QType::Weight | QType::Volume => 0.5,
            QType::Each => 0.0,
        }
    }
}

const QTYPES: [QType; 3] = [QType::Weight, QType::Each, QType::Volume];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Unit {
    Grams,
    Ounces,
    Pounds,
    Each,
    Milliliters,
    FluidOunces,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Grams => "Grams",
            Unit::Ounces => "Ounces",
            Unit::Pounds => "Pounds",
            Unit::Each => "Each",
            Unit::Milliliters => "Milliliters",
            Unit::FluidOunces => "Fluid Ounces",
        }
    }

    fn abbr(self) -> &'static str {
        match self {
            Unit::Grams => "g",
            Unit::Ounces => "oz",
            Unit::Pounds => "lb",
            Unit::Each => "ea",
            Unit::Milliliters => "ml",
            Unit::FluidOunces => "fl oz",
        }
    }

    fn qtype(self) -> QType {
        match self {
            Unit::Grams | Unit::Ounces | Unit::Pounds => QType::Weight,
            Unit::Each => QType::Each,
            Unit::Milliliters | Unit::FluidOunces => QType::Volume,
        }
    }

    fn factor(self) -> f64 {
        match self {
            Unit::Grams | Unit::Each | Unit::Milliliters => 1.0,
            Unit::Ounces => 28.349_523_125,
            Unit::Pounds => 453.592_37,
            Unit::FluidOunces => 29.573_529_562_5,
        }
    }

    fn quantity_type(self) -> (&'static str, u8) {
        match self.qtype() {
            QType::Weight => ("WeightBased", 0),
            QType::Each => ("CountBased", 1),
            QType::Volume => ("VolumeBased", 2),
        }
    }
}

/// Quantity in base units of a value held in thousandths of `u`.
fn base(m: i64, u: Unit) -> f64 {
    m as f64 / 1000.0 * u.factor()
}

/// Thousandths of `u` holding at least `b` base units.
fn to_m(b: f64, u: Unit) -> i64 {
    (b / u.factor() * 1000.0).ceil() as i64
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Prod {
    BulkFlower,
    FlowerG,
    FlowerOz,
    Jar35,
    PreRoll,
    Trim,
    Concentrate,
    ConcJar,
    Cart,
    Edible,
    Tincture,
}

impl Prod {
    fn category(self) -> &'static str {
        match self {
            Prod::BulkFlower | Prod::FlowerG | Prod::FlowerOz | Prod::Jar35 => "Buds",
            Prod::PreRoll => "Pre-Roll",
            Prod::Trim => "Shake/Trim",
            Prod::Concentrate | Prod::ConcJar => "Concentrate",
            Prod::Cart => "Vape Cartridge",
            Prod::Edible => "Edible",
            Prod::Tincture => "Tincture",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Prod::BulkFlower => "Bulk Flower",
            Prod::FlowerG => "Flower",
            Prod::FlowerOz => "Smalls",
            Prod::Jar35 => "3.5g Jar",
            Prod::PreRoll => "Pre-Roll 1g",
            Prod::Trim => "Trim",
            Prod::Concentrate => "Live Resin Bulk",
            Prod::ConcJar => "Live Resin 1g",
            Prod::Cart => "1g Cart",
            Prod::Edible => "Gummies 100mg",
            Prod::Tincture => "Tincture",
        }
    }

    fn code(self) -> u64 {
        self as u64 + 1
    }

    fn locations(self) -> &'static [&'static str] {
        match self {
            Prod::BulkFlower | Prod::Trim => &["Vault A", "Drying Room", "Cure Room"],
            Prod::Concentrate => &["Extraction Lab", "Vault B"],
            _ => &["Sales Floor", "Back Stock", "Vault B"],
        }
    }

    fn lab(self) -> &'static str {
        match self {
            Prod::Trim => "NotSubmitted",
            _ => "TestPassed",
        }
    }
}

const STRAINS: [&str; 16] = [
    "Blue Dream",
    "OG Kush",
    "Gelato 41",
    "Sour Diesel",
    "Wedding Cake",
    "Zkittlez",
    "Runtz",
    "GSC",
    "Purple Punch",
    "Pineapple Express",
    "Granddaddy Purple",
    "Jack Herer",
    "Mimosa",
    "Sunset Sherbet",
    "Durban Poison",
    "Lemon Haze",
];
const USERS: [&str; 8] =
    ["jsmith", "mgarcia", "tnguyen", "alee", "rpatel", "kjohnson", "dkim", "slopez"];
const ROOMS: [&str; 4] = ["Greenhouse 1", "Greenhouse 2", "Indoor Room A", "Indoor Room B"];
const ADJ_REASONS: [&str; 5] =
    ["Drying", "Scale Variance", "Waste (Unusable Product)", "Damage", "Entry Error"];
const ADJ_NOTES: [&str; 6] = [
    "Moisture loss after cure, reweighed on calibrated scale",
    "Scale recalibrated; difference recorded by shift lead",
    "Container dropped during restock, product destroyed per SOP",
    "Stems and seeds removed during trim review",
    "Quarterly reweigh of vault inventory",
    "Corrected keying error from prior shift",
];
const FACILITIES: [&str; 8] = [
    "Golden State Greens",
    "Emerald Coast Farms",
    "Sierra Cultivation",
    "Bay Area Remedies",
    "Pacific Extracts",
    "Redwood Canna Co",
    "Valley Microbusiness",
    "Harbor Dispensary",
];

fn label_of(lic: usize, seq: u64) -> String {
    format!("1A4FF01{:05}{seq:012}", lic + 1)
}

fn license_number(i: usize) -> String {
    format!("C11-{:07}-LIC", i + 1)
}

fn facility_name(i: usize) -> String {
    format!("{} #{}", FACILITIES[i % FACILITIES.len()], i + 1)
}

// ---------------------------------------------------------------------------------------
// JSON helpers

fn push_json_str(s: &mut String, v: &str) {
    s.push('"');
    if v.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        s.push_str(v);
    } else {
        for c in v.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(s, "\\u{:04x}", c as u32);
                }
                c => s.push(c),
            }
        }
    }
    s.push('"');
}

fn push_opt_str(s: &mut String, v: Option<&str>) {
    match v {
        Some(v) => push_json_str(s, v),
        None => s.push_str("null"),
    }
}

/// Thousandths as a decimal; `float` keeps a `.0` on whole numbers (Metrc style).
fn push_qty(s: &mut String, m: i64, float: bool) {
    if m < 0 {
        s.push('-');
    }
    let a = m.unsigned_abs();
    let _ = write!(s, "{}", a / 1000);
    let mut frac = a % 1000;
    if frac == 0 {
        if float {
            s.push_str(".0");
        }
        return;
    }
    let mut digits = [b'0'; 3];
    for d in digits.iter_mut().rev() {
        *d = b'0' + (frac % 10) as u8;
        frac /= 10;
    }
    let len = 3 - digits.iter().rev().take_while(|&&d| d == b'0').count();
    s.push('.');
    s.push_str(std::str::from_utf8(&digits[..len]).expect("ascii digits"));
}

fn qty_text(m: i64) -> String {
    let mut s = String::new();
    push_qty(&mut s, m, false);
    s
}

// ---------------------------------------------------------------------------------------
// Plan: everything decided before licenses are generated in parallel

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Plant {
    MissingInSystem,
    MissingOnPremises,
    Mismatch,
    UnitIncompat,
    DuplicateCount,
    HistoryLate,
    SaleLate,
    HistoryBefore,
    SaleBefore,
    Orphan,
    Cycle3,
    SelfLoop,
    ChildBeforeParent,
    Overdrawn,
    MissingPb,
    UnneededPb,
    MissingBatchNo,
    UntestedSale,
    AdjNoNote,
    DuplicatePackage,
    EdgeOverdrawSaved,
    EdgeSameDay,
    EdgeCountDayAdj,
    EdgeHistory,
    DivergentDstLate,
    DivergentPackagedAfterCount,
    RejPkgQty,
    RejPkgNaN,
    RejPkgLabel,
    RejAdjDate,
    RejHistType,
    RejCountQty,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum XPlant {
    None,
    Late,
    Early,
    Mismatch,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SessShape {
    DateOnly,
    Naive,
    Offset,
    Zulu,
}

struct Plan {
    seed: u64,
    licenses: Vec<String>,
    sizes: Vec<usize>,
    counted: Vec<bool>,
    t_out: Vec<usize>,
    plants: Vec<Vec<Plant>>,
    xplants: HashMap<(usize, usize), XPlant>,
    sig: Vec<Option<QType>>,
    session: Vec<SessShape>,
    bom: Option<usize>,
    no_license_col: Option<usize>,
}

fn weighted_pick(rng: &mut Rng, weights: &[usize]) -> Option<usize> {
    let total: usize = weights.iter().sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.index(total);
    for (i, &w) in weights.iter().enumerate() {
        if r < w {
            return Some(i);
        }
        r -= w;
    }
    None
}

impl Plan {
    fn new(opts: &GenerateOptions) -> Plan {
        let l = opts.licenses;
        let n = opts.packages;
        let mut rng = Rng::new(mix(opts.seed, 0x706c_616e));
        let w: Vec<f64> = (0..l).map(|_| 0.35 + 1.65 * rng.f64()).collect();
        let sum: f64 = w.iter().sum();
        let mut sizes: Vec<usize> =
            w.iter().map(|x| ((n as f64 * x / sum) as usize).max(1)).collect();
        let total: usize = sizes.iter().sum();
        if total < n {
            let big = (0..l).max_by_key(|&i| sizes[i]).unwrap_or(0);
            sizes[big] += n - total;
        }
        let mut counted = vec![true; l];
        if l >= 2 {
            counted[rng.index(l)] = false;
        }
        let t_out: Vec<usize> =
            sizes.iter().map(|&s| if l >= 2 { (s / 80).max(1) } else { 0 }).collect();
        let session: Vec<SessShape> = (0..l)
            .map(|i| {
                [SessShape::DateOnly, SessShape::Naive, SessShape::Offset, SessShape::Zulu]
                    [(i + opts.seed as usize % 4) % 4]
            })
            .collect();
        let counted_ix: Vec<usize> = (0..l).filter(|&i| counted[i]).collect();
        let bom = counted_ix.get(rng.index(counted_ix.len())).copied();
        let no_license_col = if counted_ix.len() >= 2 {
            let mut c = bom;
            while c == bom {
                c = Some(counted_ix[rng.index(counted_ix.len())]);
            }
            c
        } else {
            None
        };

        let k = ((n as f64 / 500.0).round() as usize).max(1);
        let third = k.div_ceil(3);
        let half = k.div_ceil(2);
        let edges = (n / 2000).max(1);
        let divergent = 1 + n / 100_000;
        let rejects = 1 + n / 50_000;
        let xfer_ok = l >= 2;
        let xfer_third = if xfer_ok { third } else { 0 };
        let mut wanted: Vec<(Plant, usize, bool)> = vec![
            (Plant::MissingInSystem, k, true),
            (Plant::MissingOnPremises, k, true),
            (Plant::Mismatch, k, true),
            (Plant::UnitIncompat, k, true),
            (Plant::DuplicateCount, k, true),
            (Plant::SaleLate, third, false),
            (Plant::HistoryLate, k.saturating_sub(third + xfer_third).max(1), false),
            (Plant::SaleBefore, third, false),
            (Plant::HistoryBefore, k.saturating_sub(third + xfer_third).max(1), false),
            (Plant::Orphan, k, false),
            (Plant::Cycle3, half, false),
            (Plant::SelfLoop, k.saturating_sub(half).max(1), false),
            (Plant::ChildBeforeParent, k, false),
            (Plant::Overdrawn, k, false),
            (Plant::MissingPb, k, false),
            (Plant::UnneededPb, k, false),
            (Plant::MissingBatchNo, k, false),
            (Plant::UntestedSale, k, false),
            (Plant::AdjNoNote, k, false),
            (Plant::DuplicatePackage, k, false),
            (Plant::EdgeOverdrawSaved, edges, false),
            (Plant::EdgeSameDay, edges, false),
            (Plant::EdgeCountDayAdj, edges, true),
            (Plant::EdgeHistory, edges, false),
            (Plant::DivergentDstLate, divergent, false),
            (Plant::DivergentPackagedAfterCount, divergent, true),
        ];
        for p in [
            Plant::RejPkgQty,
            Plant::RejPkgNaN,
            Plant::RejPkgLabel,
            Plant::RejAdjDate,
            Plant::RejHistType,
        ] {
            wanted.push((p, rejects, false));
        }
        wanted.push((Plant::RejCountQty, rejects, true));

        let counted_sizes: Vec<usize> =
            (0..l).map(|i| if counted[i] { sizes[i] } else { 0 }).collect();
        let mut plants: Vec<Vec<Plant>> = vec![Vec::new(); l];
        for (p, count, needs_counts) in wanted {
            let weights = if needs_counts { &counted_sizes } else { &sizes };
            for _ in 0..count {
                if let Some(i) = weighted_pick(&mut rng, weights) {
                    plants[i].push(p);
                }
            }
        }

        let mut xplants = HashMap::new();
        if xfer_ok {
            let mut free: Vec<(usize, usize)> =
                (0..l).flat_map(|s| (0..t_out[s]).map(move |k| (s, k))).collect();
            for (x, count) in [(XPlant::Mismatch, k), (XPlant::Late, third), (XPlant::Early, third)]
            {
                for _ in 0..count {
                    if free.is_empty() {
                        break;
                    }
                    let j = rng.index(free.len());
                    xplants.insert(free.swap_remove(j), x);
                }
            }
        }

        let mut sig = vec![None; l];
        let n_sig = (counted_ix.len() / 8).max(1).min(counted_ix.len());
        let mut pool = counted_ix.clone();
        for _ in 0..n_sig {
            let j = rng.index(pool.len());
            let i = pool.swap_remove(j);
            sig[i] = Some(rng.pick(&QTYPES));
        }

        Plan {
            seed: opts.seed,
            licenses: (0..l).map(license_number).collect(),
            sizes,
            counted,
            t_out,
            plants,
            xplants,
            sig,
            session,
            bom,
            no_license_col,
        }
    }
}

struct Ctx {
    plan: Plan,
    clock: Clock,
    times: Times,
    root: PathBuf,
    jsonl: bool,
}

// ---------------------------------------------------------------------------------------
// Model of one family of packages (closed under lineage: every source is in the family
// or is deliberately foreign)

#[derive(Clone, Debug)]
enum Batch {
    Num(String),
    Null,
    Empty,
    Spaces,
}

impl Batch {
    fn blank(&self) -> bool {
        !matches!(self, Batch::Num(_))
    }
}

#[derive(Clone, Debug)]
struct Recv {
    t: i64,
    ts: Ts,
    manifest: String,
    from: String,
    from_name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Note {
    Text(&'static str),
    Empty,
    Null,
    Spaces,
    Missing,
}

#[derive(Clone, Debug)]
struct Adj {
    m: i64,
    t: i64,
    ts: Ts,
    reason: &'static str,
    note: Note,
    bad_date: bool,
    user: &'static str,
}

#[derive(Clone, Debug)]
enum HistRec {
    Ts(Ts),
    BadNumber,
    BadObject,
}

#[derive(Clone, Debug)]
struct Hist {
    actual: Ts,
    recorded: HistRec,
    desc: String,
    user: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CountPlan {
    Normal,
    Skip,
    Mismatch(i64),
    UnitIncompat,
    Duplicate,
    ForceRow(Unit, i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PkgReject {
    BadQty(&'static str, &'static str),
    NoLabel(u8),
}

#[derive(Clone, Debug)]
struct Pkg {
    seq: u64,
    label: String,
    prod: Prod,
    strain: usize,
    unit: Unit,
    orig_m: i64,
    drawn_m: i64,
    qty_m: i64,
    t_pack: i64,
    packaged: Ts,
    t_last_child: i64,
    sources: Vec<String>,
    harvest: Option<String>,
    is_pb: bool,
    batch: Batch,
    lab: Option<&'static str>,
    recv: Option<Recv>,
    shipped: bool,
    finished: Option<Ts>,
    location: &'static str,
    adjs: Vec<Adj>,
    hist: Vec<Hist>,
    count: CountPlan,
    dup: bool,
    reject: Option<PkgReject>,
    sellable: bool,
    auto_adj: bool,
    random_sales: bool,
    modified: Option<Ts>,
    sentinels: bool,
}

impl Pkg {
    fn t_ready(&self) -> i64 {
        self.recv.as_ref().map_or(self.t_pack, |r| r.t.max(self.t_pack))
    }

    fn category(&self) -> &'static str {
        self.prod.category()
    }

    fn item_name(&self) -> String {
        format!("{} - {}", STRAINS[self.strain], self.prod.suffix())
    }
}

#[derive(Clone, Debug)]
struct Tx {
    pkg: usize,
    m: i64,
}

#[derive(Clone, Debug)]
struct Receipt {
    t: i64,
    sales: Ts,
    recorded: Option<Ts>,
    txs: Vec<Tx>,
}

#[derive(Default)]
struct Family {
    pkgs: Vec<Pkg>,
    receipts: Vec<Receipt>,
    xfer: Option<(Box<XferSpec>, bool)>,
}

#[derive(Clone, Debug)]
struct XJar {
    seq: u64,
    label: String,
    prod: Prod,
    unit: Unit,
    m: i64,
    t: i64,
    packaged: Ts,
    state: &'static str,
    recv: Option<(Unit, i64)>,
    is_pb: bool,
    batch: Option<String>,
}

/// One manifest, generated from its own seed so shipper and recipient agree on it.
#[derive(Clone, Debug)]
struct XferSpec {
    s: usize,
    recipient: Option<usize>,
    recipient_license: String,
    recipient_name: String,
    manifest: String,
    id: u64,
    created: Ts,
    est_dep: Ts,
    act_dep: Option<Ts>,
    est_arr: Ts,
    act_arr: Option<Ts>,
    received: Option<Ts>,
    t_received: i64,
    t_dep: i64,
    modified: Option<Ts>,
    voided: bool,
    strain: usize,
    harvest: String,
    bulk_seq: u64,
    bulk_unit: Unit,
    bulk_orig_m: i64,
    bulk_drawn_m: i64,
    bulk_t: i64,
    bulk_packaged: Ts,
    jars: Vec<XJar>,
    driver: &'static str,
}

fn make_transfer(ctx: &Ctx, s: usize, k: usize) -> XferSpec {
    let plan = &ctx.plan;
    let c = &ctx.clock;
    let tm = &ctx.times;
    let mut rng = Rng::new(mix(mix(plan.seed, 0x7866_6572), ((s as u64) << 32) | k as u64));
    let plant = plan.xplants.get(&(s, k)).copied().unwrap_or(XPlant::None);
    let l = plan.licenses.len();
    let mut internal: Vec<usize> = vec![(s + 1) % l, (s + 2) % l];
    internal.retain(|&r| r != s);
    internal.dedup();
    let recipient = if internal.is_empty() || (plant == XPlant::None && rng.chance(0.1)) {
        None
    } else {
        Some(internal[rng.index(internal.len())])
    };
    let ext = 9_000_000 + rng.below(900) as usize;
    let (recipient_license, recipient_name) = match recipient {
        Some(r) => (plan.licenses[r].clone(), facility_name(r)),
        None => (license_number(ext), facility_name(ext)),
    };
    let voided = plant == XPlant::None && rng.chance(0.05);
    let strain = rng.index(STRAINS.len());
    let t0 = rng.range(tm.pack_start, tm.xfer_end - 20 * DAY);
    let bulk_unit = if rng.chance(0.5) { Unit::Pounds } else { Unit::Grams };
    let bulk_orig_m = if bulk_unit == Unit::Pounds {
        rng.range(3, 10) * 1000 + rng.range(0, 99) * 10
    } else {
        rng.range(1500, 4500) * 1000
    };
    let base_seq = 500_000_000_000 + k as u64 * 100;
    let bulk_packaged = c.render(t0, Shape::Date);
    let cap = base(bulk_orig_m, bulk_unit) * 0.8;
    let mut used = 0.0;
    let mut jars = Vec::new();
    let n_jars = rng.range(2, 5) as usize;
    let mut bulk_drawn_m = 0;
    let mismatch_target = if plant == XPlant::Mismatch { Some(0) } else { None };
    for j in 0..n_jars {
        let prod = rng.pick(&[Prod::FlowerG, Prod::FlowerOz, Prod::Jar35, Prod::PreRoll]);
        let (unit, m, draw) = match prod {
            Prod::FlowerG => {
                let m = rng.range(56, 900) * 500;
                (Unit::Grams, m, m as f64 / 1000.0)
            }
            Prod::FlowerOz => {
                let m = rng.range(4, 16) * 1000;
                (Unit::Ounces, m, base(m, Unit::Ounces))
            }
            Prod::Jar35 => {
                let m = rng.range(12, 60) * 1000;
                (Unit::Each, m, m as f64 / 1000.0 * 3.5)
            }
            _ => {
                let m = rng.range(20, 100) * 1000;
                (Unit::Each, m, m as f64 / 1000.0)
            }
        };
        if used + draw > cap {
            break;
        }
        used += draw;
        bulk_drawn_m += to_m(draw, bulk_unit);
        let t = t0 + 2 * HOUR + rng.range(0, 3 * DAY);
        let shape = if rng.chance(0.85) { Shape::Date } else { Shape::Offset };
        let is_pb = prod == Prod::PreRoll;
        let seq = base_seq + 1 + j as u64;
        let state =
            if mismatch_target != Some(j) && rng.chance(0.08) { "Rejected" } else { "Accepted" };
        let mut recv = None;
        if state == "Accepted" {
            recv = Some(if mismatch_target == Some(j) {
                let r = rng.f64();
                match unit {
                    // the same number in another quantity type is a mismatch too
                    Unit::Each if r < 0.2 => (Unit::Grams, m),
                    Unit::Grams if r < 0.2 => (Unit::Each, m),
                    Unit::Each => {
                        if r < 0.45 {
                            (Unit::Grams, m / 1000 * 3500)
                        } else {
                            (unit, m - rng.range(1, 3) * 1000)
                        }
                    }
                    _ => {
                        if r < 0.4 {
                            (Unit::Each, rng.range(8, 40) * 1000)
                        } else {
                            let short = ((m as f64) * (0.03 + 0.07 * rng.f64())) as i64;
                            let short = short.max(to_m(1.5, unit));
                            (unit, m - short / 10 * 10)
                        }
                    }
                }
            } else if unit != Unit::Each && rng.chance(0.12) {
                // same quantity, other unit of the same type (lb/oz -> g): within tolerance
                let g = (base(m, unit) * 100.0).round() as i64 * 10;
                (Unit::Grams, g)
            } else if unit == Unit::Grams && rng.chance(0.1) {
                (unit, m + rng.pick(&[-200, -100, 100, 200]))
            } else {
                (unit, m)
            });
        }
        jars.push(XJar {
            seq,
            label: label_of(s, seq),
            prod,
            unit,
            m,
            t,
            packaged: c.render(t, shape),
            state,
            recv,
            is_pb,
            batch: is_pb.then(|| format!("PB-{}-X{k}-{j}", s + 1)),
        });
    }
    if jars.is_empty() {
        // the bulk is always large enough for one jar of 28 g; keep the manifest non-empty
        let seq = base_seq + 1;
        let t = t0 + 3 * HOUR;
        bulk_drawn_m += to_m(28.0, bulk_unit);
        jars.push(XJar {
            seq,
            label: label_of(s, seq),
            prod: Prod::FlowerG,
            unit: Unit::Grams,
            m: 28_000,
            t,
            packaged: c.render(t, Shape::Date),
            state: "Accepted",
            recv: Some((Unit::Grams, 28_000)),
            is_pb: false,
            batch: None,
        });
    }
    let last_jar = jars.iter().map(|j| j.t).max().unwrap_or(t0);
    let dep = last_jar + DAY + rng.range(0, 4 * DAY);
    let arr = dep + HOUR + rng.range(0, 5 * HOUR);
    let late = plant == XPlant::Late || (plant == XPlant::None && rng.chance(0.5));
    let received = match plant {
        XPlant::Late => arr + rng.range(26 * HOUR, 120 * HOUR),
        XPlant::Early => arr - rng.range(2 * HOUR, 10 * HOUR),
        _ if (voided || recipient.is_none()) && late => arr + rng.range(30 * HOUR, 90 * HOUR),
        _ => arr + rng.range(18 * MINUTE, 18 * HOUR),
    };
    let need_actual = plant != XPlant::None;
    let act_arr = if need_actual || rng.chance(0.8) {
        let shape = if need_actual {
            Shape::Offset
        } else {
            rng.pick(&[Shape::Naive, Shape::Offset, Shape::Zulu])
        };
        Some(c.render(arr, shape))
    } else {
        None
    };
    let est_arr_t = if act_arr.is_some() {
        arr + rng.range(-2 * HOUR, 2 * HOUR)
    } else {
        arr + rng.range(-15 * MINUTE, 15 * MINUTE)
    };
    let modified = if rng.chance(0.3) {
        None
    } else {
        Some(c.render(received + rng.range(MINUTE, 3 * HOUR), Shape::Micros))
    };
    XferSpec {
        s,
        recipient,
        recipient_license,
        recipient_name,
        manifest: format!("{:010}", (s as u64 + 1) * 10_000_000 + k as u64),
        id: (s as u64 + 1) * 10_000_000 + k as u64,
        created: c.render(dep - rng.range(DAY, 3 * DAY), Shape::Offset),
        est_dep: c.render(dep - rng.range(0, HOUR), Shape::Naive),
        act_dep: rng.chance(0.9).then(|| c.render(dep, rng.pick(&[Shape::Naive, Shape::Offset]))),
        est_arr: c.render(est_arr_t, Shape::Naive),
        act_arr,
        received: Some(c.render(received, Shape::Offset)),
        t_received: received,
        t_dep: dep,
        modified,
        voided,
        strain,
        harvest: format!(
            "{}-{}-H",
            c.render(t0 - 3 * DAY, Shape::Date).text,
            ROOMS[rng.index(ROOMS.len())]
        ),
        bulk_seq: base_seq,
        bulk_unit,
        bulk_orig_m,
        bulk_drawn_m,
        bulk_t: t0,
        bulk_packaged,
        jars,
        driver: USERS[rng.index(USERS.len())],
    }
}

fn push_transfer(b: &mut String, x: &XferSpec, shipper: &str, shipper_name: &str) {
    let _ = write!(b, "{{\"Id\":{},\"ManifestNumber\":", x.id);
    push_json_str(b, &x.manifest);
    b.push_str(",\"ShipmentLicenseType\":0,\"ShipperFacilityLicenseNumber\":");
    push_json_str(b, shipper);
    b.push_str(",\"ShipperFacilityName\":");
    push_json_str(b, shipper_name);
    b.push_str(",\"TransporterFacilityLicenseNumber\":");
    push_json_str(b, shipper);
    b.push_str(",\"DriverName\":");
    push_json_str(b, x.driver);
    let accepted = x.jars.iter().filter(|j| j.state == "Accepted").count();
    let _ = write!(
        b,
        ",\"VehicleMake\":\"Ford\",\"VehicleModel\":\"Transit\",\"PackageCount\":{},\
         \"ReceivedPackageCount\":{accepted},\"IsVoided\":{},\"CreatedDateTime\":",
        x.jars.len(),
        x.voided
    );
    push_json_str(b, &x.created.text);
    b.push_str(",\"CreatedByUserName\":");
    push_json_str(b, x.driver);
    b.push_str(",\"LastModified\":");
    push_json_str(b, x.modified.as_ref().map_or(SENTINEL, |t| t.text.as_str()));
    let _ = write!(b, ",\"DeliveryId\":{},\"RecipientFacilityLicenseNumber\":", x.id);
    push_json_str(b, &x.recipient_license);
    b.push_str(",\"RecipientFacilityName\":");
    push_json_str(b, &x.recipient_name);
    b.push_str(
        ",\"ShipmentTypeName\":\"Transfer\",\"ShipmentTransactionType\":\"Wholesale\",\
         \"EstimatedDepartureDateTime\":",
    );
    push_json_str(b, &x.est_dep.text);
    b.push_str(",\"ActualDepartureDateTime\":");
    push_opt_str(b, x.act_dep.as_ref().map(|t| t.text.as_str()));
    b.push_str(",\"EstimatedArrivalDateTime\":");
    push_json_str(b, &x.est_arr.text);
    b.push_str(",\"ActualArrivalDateTime\":");
    push_opt_str(b, x.act_arr.as_ref().map(|t| t.text.as_str()));
    let _ = write!(
        b,
        ",\"DeliveryPackageCount\":{},\"DeliveryReceivedPackageCount\":{accepted},\
         \"ReceivedDateTime\":",
        x.jars.len()
    );
    push_opt_str(b, x.received.as_ref().map(|t| t.text.as_str()));
    b.push_str(",\"Packages\":[");
    let bulk_label = label_of(x.s, x.bulk_seq);
    for (i, j) in x.jars.iter().enumerate() {
        if i > 0 {
            b.push(',');
        }
        let _ = write!(b, "{{\"PackageId\":{},\"PackageLabel\":", j.seq);
        push_json_str(b, &j.label);
        b.push_str(
            ",\"PackageType\":\"Product\",\"SourceHarvestNames\":null,\"SourcePackageLabels\":",
        );
        push_json_str(b, &bulk_label);
        b.push_str(",\"ItemName\":");
        push_json_str(b, &format!("{} - {}", STRAINS[x.strain], j.prod.suffix()));
        b.push_str(",\"ItemCategoryName\":");
        push_json_str(b, j.prod.category());
        b.push_str(",\"ItemStrainName\":");
        push_json_str(b, STRAINS[x.strain]);
        b.push_str(",\"LabTestingState\":\"TestPassed\",\"ProductionBatchNumber\":");
        push_opt_str(b, j.batch.as_deref());
        b.push_str(",\"ShipmentPackageState\":");
        push_json_str(b, j.state);
        b.push_str(",\"ShippedQuantity\":");
        push_qty(b, j.m, true);
        b.push_str(",\"ShippedUnitOfMeasureName\":");
        push_json_str(b, j.unit.name());
        b.push_str(",\"PackagedDate\":");
        push_json_str(b, &j.packaged.text);
        b.push_str(",\"ReceivedQuantity\":");
        match j.recv {
            Some((u, m)) => {
                push_qty(b, m, true);
                b.push_str(",\"ReceivedUnitOfMeasureName\":");
                push_json_str(b, u.name());
            }
            None => b.push_str("null,\"ReceivedUnitOfMeasureName\":null"),
        }
        b.push('}');
    }
    b.push_str("]}");
}

// ---------------------------------------------------------------------------------------
// Output writers

/// One kind of record of one license, split into pages (`packages.json`, `packages.2.json`…).
struct RecWriter {
    dir: PathBuf,
    license: String,
    kind: &'static str,
    jsonl: bool,
    page_size: usize,
    rng: Rng,
    file_no: usize,
    in_file: usize,
    page_fmt: bool,
    cur: Option<BufWriter<File>>,
    bytes: u64,
}

impl RecWriter {
    fn new(
        dir: &Path,
        license: &str,
        kind: &'static str,
        jsonl: bool,
        page_size: usize,
        seed: u64,
    ) -> RecWriter {
        RecWriter {
            dir: dir.to_path_buf(),
            license: license.to_string(),
            kind,
            jsonl,
            page_size,
            rng: Rng::new(seed),
            file_no: 0,
            in_file: 0,
            page_fmt: false,
            cur: None,
            bytes: 0,
        }
    }

    fn file_name(&self) -> String {
        let ext = if self.jsonl { "jsonl" } else { "json" };
        if self.file_no <= 1 {
            format!("{}.{ext}", self.kind)
        } else {
            format!("{}.{}.{ext}", self.kind, self.file_no)
        }
    }

    fn rel(&self) -> String {
        format!("{}/{}", self.license, self.file_name())
    }

    fn push(&mut self, rec: &str) -> Result<u64> {
        if self.cur.is_none() || self.in_file >= self.page_size {
            self.rotate()?;
        }
        let w = self.cur.as_mut().expect("rotate opened a file");
        if self.jsonl {
            w.write_all(rec.as_bytes())?;
            w.write_all(b"\n")?;
        } else {
            if self.in_file > 0 {
                w.write_all(b",\n")?;
                self.bytes += 2;
            }
            w.write_all(rec.as_bytes())?;
        }
        self.bytes += rec.len() as u64 + u64::from(self.jsonl);
        self.in_file += 1;
        Ok(self.in_file as u64 - 1)
    }

    fn rotate(&mut self) -> Result<()> {
        self.close()?;
        self.file_no += 1;
        self.in_file = 0;
        let path = self.dir.join(self.file_name());
        let f =
            File::create(&path).with_context(|| format!("cannot create `{}`", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        self.page_fmt = !self.jsonl && self.rng.chance(0.5);
        if !self.jsonl {
            let head: &[u8] = if self.page_fmt { b"{\"Data\":[\n" } else { b"[\n" };
            w.write_all(head)?;
            self.bytes += head.len() as u64;
        }
        self.cur = Some(w);
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if let Some(mut w) = self.cur.take() {
            if !self.jsonl {
                let tail = if self.page_fmt {
                    let n = self.in_file;
                    let ps = if self.page_size == usize::MAX { n } else { self.page_size };
                    format!(
                        "\n],\"Total\":{n},\"TotalRecords\":{n},\"PageSize\":{ps},\
                         \"RecordsOnPage\":{n},\"Page\":{p},\"CurrentPage\":{p}}}\n",
                        p = self.file_no
                    )
                } else {
                    "\n]\n".to_string()
                };
                w.write_all(tail.as_bytes())?;
                self.bytes += tail.len() as u64;
            }
            w.flush()?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    License,
    Label(&'static str),
    Qty(&'static str),
    Unit(&'static str),
    Location,
    CountedAt(&'static str),
    CountedBy(&'static str),
}

struct Session {
    shape: SessShape,
    lo: i64,
    hi: i64,
    dates: Vec<NaiveDate>,
    t_max: Ts,
}

impl Session {
    fn new(c: &Clock, shape: SessShape, rng: &mut Rng) -> Session {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).expect("valid date");
        match shape {
            SessShape::DateOnly => {
                let mut dates = vec![d(10, 30)];
                if rng.chance(0.5) {
                    dates.push(d(10, 31));
                }
                let last = *dates.last().expect("one date");
                Session {
                    shape,
                    lo: c.day_start(dates[0]),
                    hi: c.day_start(last) + 12 * HOUR,
                    t_max: c.render(c.day_start(last) + 12 * HOUR, Shape::Date),
                    dates,
                }
            }
            SessShape::Naive => {
                let (lo, hi) = (c.at(2026, 11, 1, 0, 30), c.at(2026, 11, 1, 3, 30));
                Session { shape, lo, hi, dates: Vec::new(), t_max: c.render(hi, Shape::Naive) }
            }
            SessShape::Offset => {
                let (lo, hi) = (c.at(2026, 10, 29, 9, 0), c.at(2026, 10, 29, 17, 0));
                Session { shape, lo, hi, dates: Vec::new(), t_max: c.render(hi, Shape::Offset) }
            }
            SessShape::Zulu => {
                let (lo, hi) = (c.at(2026, 11, 2, 8, 0), c.at(2026, 11, 2, 15, 0));
                Session { shape, lo, hi, dates: Vec::new(), t_max: c.render(hi, Shape::Zulu) }
            }
        }
    }

    fn pick(&self, c: &Clock, rng: &mut Rng) -> Ts {
        match self.shape {
            SessShape::DateOnly => {
                let d = self.dates[rng.index(self.dates.len())];
                c.render(c.day_start(d) + 12 * HOUR, Shape::Date)
            }
            s => {
                let t = self.lo + rng.range(0, (self.hi - self.lo) / MINUTE) * MINUTE;
                let shape = match s {
                    SessShape::Naive => Shape::Naive,
                    SessShape::Offset => Shape::Offset,
                    _ => Shape::Zulu,
                };
                c.render(t, shape)
            }
        }
    }

    /// Window in which as-of relevant changes are not placed, so that the reading of an
    /// ambiguous naive `CountedAt` (earlier or later instant) cannot change a result.
    fn blackout(&self) -> Option<(i64, i64)> {
        (self.shape != SessShape::DateOnly).then(|| (self.lo - 3 * HOUR, self.hi + 3 * HOUR))
    }
}

struct CountSheet {
    w: BufWriter<File>,
    license: String,
    file: String,
    bytes: u64,
    line: u64,
    cols: Vec<Col>,
    abbr: bool,
    crlf: bool,
    session: Session,
    need_tmax: bool,
    tail: Vec<String>,
}

impl CountSheet {
    fn render_row(
        &self,
        label: &str,
        qty: &str,
        unit: Unit,
        loc: &str,
        at: &str,
        by: &str,
    ) -> String {
        let mut s = String::with_capacity(96);
        for (i, c) in self.cols.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            match c {
                Col::License => s.push_str(&self.license),
                Col::Label(_) => s.push_str(label),
                Col::Qty(_) => s.push_str(qty),
                Col::Unit(_) => s.push_str(if self.abbr { unit.abbr() } else { unit.name() }),
                Col::Location => s.push_str(loc),
                Col::CountedAt(_) => s.push_str(at),
                Col::CountedBy(_) => s.push_str(by),
            }
        }
        s.push_str(if self.crlf { "\r\n" } else { "\n" });
        s
    }

    fn write_line(&mut self, row: &str) -> Result<u64> {
        self.w.write_all(row.as_bytes())?;
        self.bytes += row.len() as u64;
        self.line += 1;
        Ok(self.line)
    }

    fn qty_header(&self) -> &'static str {
        self.cols
            .iter()
            .find_map(|c| match c {
                Col::Qty(h) => Some(*h),
                _ => None,
            })
            .unwrap_or("Quantity")
    }
}

struct RejectRow {
    file: String,
    record: u64,
    column: &'static str,
    reason: &'static str,
}

struct LicOut {
    truth: Vec<(&'static str, String, &'static str)>,
    rejects: Vec<RejectRow>,
    packages: usize,
    bytes: u64,
}

// ---------------------------------------------------------------------------------------
// One license

struct Lic<'a> {
    ctx: &'a Ctx,
    idx: usize,
    rng: Rng,
    seq: u64,
    stray: u64,
    receipt_seq: u64,
    batch_seq: u64,
    adj_id: u64,
    pkg_w: RecWriter,
    adj_w: RecWriter,
    xfer_w: RecWriter,
    sale_w: RecWriter,
    hist_w: RecWriter,
    sheet: Option<CountSheet>,
    blackout: Option<(i64, i64)>,
    truth: Vec<(&'static str, String, &'static str)>,
    rejects: Vec<RejectRow>,
    packages: usize,
    qty_string: bool,
    qtype_numeric: bool,
    sys: [f64; 3],
    cnt: [f64; 3],
    buf: String,
}

fn gen_license(ctx: &Ctx, i: usize) -> Result<LicOut> {
    let mut lic = Lic::new(ctx, i)?;
    lic.generate()?;
    lic.finish()
}

/// As-of quantity (thousandths of the package unit) at `t`: export quantity minus
/// adjustments after `t` plus sales after `t`.
fn asof(p: &Pkg, sales: &[(i64, i64)], t: i64) -> i64 {
    let mut q = p.qty_m;
    for a in &p.adjs {
        if !a.bad_date && a.ts.hi > t {
            q -= a.m;
        }
    }
    for &(hi, m) in sales {
        if hi > t {
            q += m;
        }
    }
    q
}

impl<'a> Lic<'a> {
    fn new(ctx: &'a Ctx, idx: usize) -> Result<Lic<'a>> {
        let plan = &ctx.plan;
        let seed = mix(plan.seed, 0x6c69_6300 + idx as u64);
        let mut rng = Rng::new(seed);
        let number = plan.licenses[idx].clone();
        let dir = ctx.root.join("export").join(&number);
        fs::create_dir_all(&dir)?;
        let n = plan.sizes[idx];
        let page = |rng: &mut Rng, per_pkg: f64| -> usize {
            if rng.chance(0.3) {
                usize::MAX
            } else {
                let est = (n as f64 * per_pkg) as usize;
                rng.pick(&[300usize, 600, 1500, 5000]).max(est / 6)
            }
        };
        let sizes = [
            page(&mut rng, 1.0),
            page(&mut rng, 0.3),
            page(&mut rng, 0.05),
            page(&mut rng, 0.6),
            page(&mut rng, 1.5),
        ];
        let jsonl = ctx.jsonl;
        let w =
            |kind, k: usize, s| RecWriter::new(&dir, &number, kind, jsonl, s, mix(seed, k as u64));
        let pkg_w = w("packages", 1, sizes[0]);
        let adj_w = w("adjustments", 2, sizes[1]);
        let xfer_w = w("transfers", 3, sizes[2]);
        let sale_w = w("sales", 4, sizes[3]);
        let hist_w = w("history", 5, sizes[4]);

        let mut blackout = None;
        let sheet = if plan.counted[idx] {
            let session = Session::new(&ctx.clock, plan.session[idx], &mut rng);
            blackout = session.blackout();
            let variants: [(&[Col], bool); 4] = [
                (
                    &[
                        Col::License,
                        Col::Label("Label"),
                        Col::Qty("Quantity"),
                        Col::Unit("UnitOfMeasure"),
                        Col::Location,
                        Col::CountedAt("CountedAt"),
                        Col::CountedBy("CountedBy"),
                    ],
                    false,
                ),
                (
                    &[
                        Col::Label("Tag"),
                        Col::Qty("Qty"),
                        Col::Unit("Unit"),
                        Col::Location,
                        Col::CountedAt("Count Date"),
                        Col::CountedBy("Counted By"),
                        Col::License,
                    ],
                    true,
                ),
                (
                    &[
                        Col::Label("Package Tag"),
                        Col::Location,
                        Col::Qty("Quantity"),
                        Col::Unit("UOM"),
                        Col::CountedAt("Counted At"),
                        Col::License,
                    ],
                    true,
                ),
                (
                    &[
                        Col::License,
                        Col::Label("PackageLabel"),
                        Col::Qty("Count"),
                        Col::Unit("Unit"),
                        Col::CountedAt("CountedAt"),
                        Col::CountedBy("CountedBy"),
                    ],
                    false,
                ),
            ];
            let (cols, abbr) = variants[(idx * 7 + plan.seed as usize) % 4];
            let mut cols = cols.to_vec();
            if plan.no_license_col == Some(idx) {
                cols.retain(|c| *c != Col::License);
            }
            let bom = plan.bom == Some(idx);
            let file = format!("{number}.csv");
            let path = ctx.root.join("counts").join(&file);
            let f = File::create(&path)
                .with_context(|| format!("cannot create `{}`", path.display()))?;
            let mut sheet = CountSheet {
                w: BufWriter::with_capacity(1 << 18, f),
                license: number.clone(),
                file,
                bytes: 0,
                line: 0,
                cols,
                abbr,
                crlf: bom,
                session,
                need_tmax: true,
                tail: Vec::new(),
            };
            let mut head = String::new();
            if bom {
                head.push('\u{feff}');
            }
            for (i, c) in sheet.cols.iter().enumerate() {
                if i > 0 {
                    head.push(',');
                }
                head.push_str(match c {
                    Col::License => "License",
                    Col::Location => "Location",
                    Col::Label(h)
                    | Col::Qty(h)
                    | Col::Unit(h)
                    | Col::CountedAt(h)
                    | Col::CountedBy(h) => h,
                });
            }
            head.push_str(if bom { "\r\n" } else { "\n" });
            sheet.write_line(&head)?;
            Some(sheet)
        } else {
            None
        };
        let qty_string = rng.chance(0.25);
        let qtype_numeric = rng.chance(0.3);
        Ok(Lic {
            ctx,
            idx,
            rng,
            seq: 0,
            stray: 0,
            receipt_seq: 0,
            batch_seq: 0,
            adj_id: 0,
            pkg_w,
            adj_w,
            xfer_w,
            sale_w,
            hist_w,
            sheet,
            blackout,
            truth: Vec::new(),
            rejects: Vec::new(),
            packages: 0,
            qty_string,
            qtype_numeric,
            sys: [0.0; 3],
            cnt: [0.0; 3],
            buf: String::with_capacity(4096),
        })
    }

    fn generate(&mut self) -> Result<()> {
        enum Sched {
            Plant(Plant),
            Out(usize),
            In(Box<XferSpec>),
        }
        let ctx = self.ctx;
        let plan = &ctx.plan;
        let n = plan.sizes[self.idx];
        let mut sched: Vec<(u64, Sched)> = Vec::new();
        for &p in &plan.plants[self.idx] {
            sched.push((self.rng.below(n as u64), Sched::Plant(p)));
        }
        for k in 0..plan.t_out[self.idx] {
            sched.push((self.rng.below(n as u64), Sched::Out(k)));
        }
        let l = plan.licenses.len();
        let mut senders = vec![(self.idx + l - 1) % l, (self.idx + l - 2) % l];
        senders.retain(|&s| s != self.idx);
        senders.dedup();
        for s in senders {
            for k in 0..plan.t_out[s] {
                let x = make_transfer(ctx, s, k);
                if x.recipient == Some(self.idx) {
                    sched.push((self.rng.below(n as u64), Sched::In(Box::new(x))));
                }
            }
        }
        sched.sort_by_key(|(pos, _)| *pos);

        let first = self.flower_family();
        self.emit(first)?;
        let mut it = sched.into_iter().peekable();
        loop {
            while it.peek().is_some_and(|(pos, _)| *pos as usize <= self.packages) {
                let (_, s) = it.next().expect("peeked");
                match s {
                    Sched::Plant(p) => self.plant(p)?,
                    Sched::Out(k) => {
                        let x = make_transfer(ctx, self.idx, k);
                        let fam = self.shipper_family(x);
                        self.emit(fam)?;
                    }
                    Sched::In(x) => {
                        let fam = self.recipient_family(x);
                        self.emit(fam)?;
                    }
                }
            }
            if self.packages >= n {
                break;
            }
            let r = self.rng.f64();
            let fam = if r < 0.55 {
                self.flower_family()
            } else if r < 0.9 {
                self.extract_family()
            } else {
                self.retail_family()
            };
            self.emit(fam)?;
        }
        for (_, s) in it {
            match s {
                Sched::Plant(p) => self.plant(p)?,
                Sched::Out(k) => {
                    let x = make_transfer(ctx, self.idx, k);
                    let fam = self.shipper_family(x);
                    self.emit(fam)?;
                }
                Sched::In(x) => {
                    let fam = self.recipient_family(x);
                    self.emit(fam)?;
                }
            }
        }
        self.finish_counts()
    }

    fn finish(mut self) -> Result<LicOut> {
        let mut bytes = 0;
        for w in
            [&mut self.pkg_w, &mut self.adj_w, &mut self.xfer_w, &mut self.sale_w, &mut self.hist_w]
        {
            w.close()?;
            bytes += w.bytes;
        }
        if let Some(mut s) = self.sheet.take() {
            s.w.flush()?;
            bytes += s.bytes;
        }
        Ok(LicOut { truth: self.truth, rejects: self.rejects, packages: self.packages, bytes })
    }

    // ----- small helpers

    fn truth(&mut self, rule: &'static str, label: &str) {
        self.truth.push((rule, label.to_string(), default_severity(rule)));
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn stray_label(&mut self) -> String {
        self.stray += 1;
        label_of(self.idx, 900_000_000_000 + self.stray)
    }

    fn next_batch(&mut self) -> String {
        self.batch_seq += 1;
        format!("PB-{:05}-{:06}", self.idx + 1, self.batch_seq)
    }

    fn user(&mut self) -> &'static str {
        USERS[self.rng.index(USERS.len())]
    }

    fn render(&self, t: i64, shape: Shape) -> Ts {
        self.ctx.clock.render(t, shape)
    }

    /// Planted lags sit near the 24 h / 1 h limits, where the reading of a repeated
    /// local hour would matter: give those values an offset instead.
    fn unambiguous(&self, t: i64, shape: Shape) -> Shape {
        if shape == Shape::Naive && self.ctx.clock.ambiguous(t) { Shape::Offset } else { shape }
    }

    /// A random instant in `lo..=hi`, sometimes inside a DST change window, never in the
    /// count blackout.
    fn event_time(&mut self, lo: i64, hi: i64) -> i64 {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let mut t = self.rng.range(lo / US, hi.max(lo) / US) * US;
        if self.rng.chance(0.03) {
            let w = if self.rng.chance(0.5) { tm.spring } else { tm.fall };
            let (a, b) = (w.0.max(lo), w.1.min(hi));
            if a < b {
                t = self.rng.range(a / US, b / US) * US;
            }
        }
        if let Some((_, b1)) = self.blackout.filter(|&(b0, b1)| t >= b0 && t <= b1) {
            t = b1 + self.rng.range(HOUR / US, 6 * HOUR / US) * US;
        }
        t
    }

    fn pack_time(&mut self, lo: i64, hi: i64) -> i64 {
        let ctx = self.ctx;
        let tm = &ctx.times;
        if self.rng.chance(0.03) && tm.spring.0 >= lo && tm.spring.1 <= hi {
            return self.rng.range(tm.spring.0 / US, tm.spring.1 / US) * US;
        }
        self.rng.range(lo / US, hi / US) * US
    }

    fn pack_shape(&mut self) -> Shape {
        let r = self.rng.f64();
        if r < 0.8 {
            Shape::Date
        } else if r < 0.9 {
            Shape::Naive
        } else {
            Shape::Offset
        }
    }

    fn harvest_name(&mut self, t: i64) -> String {
        let back = self.rng.range(2, 9) * DAY;
        let d = self.render(t - back, Shape::Date);
        format!("{}-{}-H", d.text, ROOMS[self.rng.index(ROOMS.len())])
    }

    fn new_pkg(&mut self, prod: Prod, strain: usize, unit: Unit, orig_m: i64, t_pack: i64) -> Pkg {
        let seq = self.next_seq();
        let shape = self.pack_shape();
        let locs = prod.locations();
        Pkg {
            seq,
            label: label_of(self.idx, seq),
            prod,
            strain,
            unit,
            orig_m,
            drawn_m: 0,
            qty_m: 0,
            t_pack,
            packaged: self.render(t_pack, shape),
            t_last_child: t_pack,
            sources: Vec::new(),
            harvest: None,
            is_pb: false,
            batch: Batch::Null,
            lab: Some(lab_state(prod, seq)),
            recv: None,
            shipped: false,
            finished: None,
            location: locs[self.rng.index(locs.len())],
            adjs: Vec::new(),
            hist: Vec::new(),
            count: CountPlan::Normal,
            dup: false,
            reject: None,
            sellable: false,
            auto_adj: true,
            random_sales: true,
            modified: None,
            sentinels: self.rng.chance(0.1),
        }
    }

    /// A locally created package from a harvest (no source packages).
    fn harvest_pkg(&mut self, prod: Prod, unit: Unit, orig_m: i64, t: i64) -> Pkg {
        let strain = self.rng.index(STRAINS.len());
        let mut p = self.new_pkg(prod, strain, unit, orig_m, t);
        p.harvest = Some(self.harvest_name(t));
        p
    }

    /// A package received from a distributor outside the export (not locally created).
    fn received_pkg(&mut self, prod: Prod, unit: Unit, orig_m: i64) -> Pkg {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let t_recv = self.rng.range((tm.pack_start + 20 * DAY) / US, tm.xfer_end / US) * US;
        let t_pack = t_recv - self.rng.range(2, 20) * DAY;
        let strain = self.rng.index(STRAINS.len());
        let mut p = self.new_pkg(prod, strain, unit, orig_m, t_pack);
        let ext = 9_500_000 + self.rng.index(400);
        if self.rng.chance(0.5) {
            p.sources = vec![label_of(ext % 99_999, 700_000_000_000 + p.seq)];
        }
        if matches!(prod, Prod::Cart | Prod::Edible | Prod::Tincture | Prod::PreRoll) {
            p.is_pb = true;
            p.batch = Batch::Num(format!("PB-EXT-{}", self.rng.range(10_000, 99_999)));
        }
        p.recv = Some(Recv {
            t: t_recv,
            ts: self.render(t_recv, Shape::Offset),
            manifest: format!("{:010}", 8_000_000_000 + self.rng.below(999_999_999)),
            from: license_number(ext),
            from_name: facility_name(ext),
        });
        p.sellable = true;
        p
    }

    /// A package made from `parent` (single source), packaged 2 h to 10 days later.
    fn child_of(
        &mut self,
        parent: &mut Pkg,
        prod: Prod,
        unit: Unit,
        m: i64,
        draw_base: f64,
    ) -> Pkg {
        let t = parent.t_pack + 2 * HOUR + self.rng.range(0, 10 * DAY / US) * US;
        let mut c = self.new_pkg(prod, parent.strain, unit, m, t);
        c.sources = vec![parent.label.clone()];
        parent.drawn_m += to_m(draw_base, parent.unit);
        parent.t_last_child = parent.t_last_child.max(t);
        c
    }

    fn jar_spec(&mut self) -> (Prod, Unit, i64, f64) {
        let r = self.rng.f64();
        if r < 0.35 {
            let m = self.rng.range(56, 896) * 500;
            (Prod::FlowerG, Unit::Grams, m, m as f64 / 1000.0)
        } else if r < 0.5 {
            let m = self.rng.range(2, 16) * 1000;
            (Prod::FlowerOz, Unit::Ounces, m, base(m, Unit::Ounces))
        } else if r < 0.8 {
            let m = self.rng.range(12, 120) * 1000;
            (Prod::Jar35, Unit::Each, m, m as f64 / 1000.0 * 3.5)
        } else {
            let m = self.rng.range(20, 200) * 1000;
            (Prod::PreRoll, Unit::Each, m, m as f64 / 1000.0)
        }
    }

    fn bulk(&mut self, t0: i64) -> Pkg {
        let (unit, m) = if self.rng.chance(0.55) {
            (Unit::Pounds, self.rng.range(2, 12) * 1000 + self.rng.range(0, 99) * 10)
        } else {
            (Unit::Grams, self.rng.range(800, 5000) * 1000)
        };
        self.harvest_pkg(Prod::BulkFlower, unit, m, t0)
    }

    // ----- clean families

    fn flower_family(&mut self) -> Family {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let t0 = self.pack_time(tm.pack_start, tm.pack_end - 30 * DAY);
        let mut bulk = self.bulk(t0);
        let cap = base(bulk.orig_m, bulk.unit) * (0.6 + 0.28 * self.rng.f64());
        let mut used = 0.0;
        let mut kids = Vec::new();
        for _ in 0..self.rng.range(2, 10) {
            let (prod, unit, m, draw) = self.jar_spec();
            if used + draw > cap {
                continue;
            }
            used += draw;
            let mut c = self.child_of(&mut bulk, prod, unit, m, draw);
            if prod == Prod::PreRoll {
                c.is_pb = true;
                c.batch = Batch::Num(self.next_batch());
            }
            c.sellable = true;
            kids.push(c);
        }
        let mut pkgs = vec![bulk];
        pkgs.extend(kids);
        Family { pkgs, ..Family::default() }
    }

    fn extract_family(&mut self) -> Family {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let t0 = self.pack_time(tm.pack_start, tm.pack_end - 40 * DAY);
        let strain = self.rng.index(STRAINS.len());
        let mut pkgs = Vec::new();
        let mut trim_base = 0.0;
        for _ in 0..self.rng.range(1, 3) {
            let (unit, m) = if self.rng.chance(0.7) {
                (Unit::Grams, self.rng.range(500, 3000) * 1000)
            } else {
                (Unit::Pounds, self.rng.range(1, 6) * 1000 + self.rng.range(0, 99) * 10)
            };
            let t = t0 + self.rng.range(0, 3 * DAY / US) * US;
            // mostly trim; sometimes a lot of flower goes to extraction
            let prod = if self.rng.chance(0.25) { Prod::BulkFlower } else { Prod::Trim };
            let mut p = self.new_pkg(prod, strain, unit, m, t);
            p.harvest = Some(self.harvest_name(t));
            trim_base += base(m, unit);
            pkgs.push(p);
        }
        let t_last = pkgs.iter().map(|p| p.t_pack).max().unwrap_or(t0);
        let t_c = t_last + 2 * HOUR + self.rng.range(0, 10 * DAY / US) * US;
        let conc_m = ((trim_base * (0.08 + 0.07 * self.rng.f64())) * 10.0).round() as i64 * 100;
        let mut conc = self.new_pkg(Prod::Concentrate, strain, Unit::Grams, conc_m.max(1000), t_c);
        conc.is_pb = true;
        conc.batch = Batch::Num(self.next_batch());
        for p in &mut pkgs {
            conc.sources.push(p.label.clone());
            let f = if self.rng.chance(0.6) { 1.0 } else { 0.5 + 0.45 * self.rng.f64() };
            p.drawn_m = ((p.orig_m as f64) * f) as i64;
            p.t_last_child = t_c;
        }
        let cap = base(conc.orig_m, Unit::Grams) * 0.9;
        let mut used = 0.0;
        let mut kids = Vec::new();
        for _ in 0..self.rng.range(2, 6) {
            let r = self.rng.f64();
            let (prod, unit, m, draw) = if r < 0.35 {
                let m = self.rng.range(50, 300) * 1000;
                (Prod::Cart, Unit::Each, m, m as f64 / 1000.0 * 0.5)
            } else if r < 0.55 {
                let m = self.rng.range(24, 200) * 1000;
                (Prod::Edible, Unit::Each, m, m as f64 / 1000.0 * 0.1)
            } else if r < 0.7 {
                let m = self.rng.range(5, 40) * 30_000;
                (Prod::Tincture, Unit::Milliliters, m, m as f64 / 30_000.0 * 0.3)
            } else if r < 0.8 {
                let m = self.rng.range(5, 40) * 1000;
                (Prod::Tincture, Unit::FluidOunces, m, m as f64 / 1000.0 * 0.3)
            } else {
                let m = self.rng.range(10, 80) * 1000;
                (Prod::ConcJar, Unit::Grams, m, m as f64 / 1000.0)
            };
            if used + draw > cap {
                continue;
            }
            used += draw;
            let mut c = self.child_of(&mut conc, prod, unit, m, draw);
            if prod != Prod::ConcJar {
                c.is_pb = true;
                c.batch = Batch::Num(self.next_batch());
            }
            c.sellable = true;
            kids.push(c);
        }
        pkgs.push(conc);
        pkgs.extend(kids);
        Family { pkgs, ..Family::default() }
    }

    fn retail_family(&mut self) -> Family {
        let mut pkgs = Vec::new();
        for _ in 0..self.rng.range(1, 3) {
            let p = self.retail_pkg();
            pkgs.push(p);
        }
        Family { pkgs, ..Family::default() }
    }

    fn retail_pkg(&mut self) -> Pkg {
        let r = self.rng.f64();
        let (prod, unit, m) = if r < 0.3 {
            (Prod::Cart, Unit::Each, self.rng.range(20, 200) * 1000)
        } else if r < 0.5 {
            (Prod::Edible, Unit::Each, self.rng.range(24, 150) * 1000)
        } else if r < 0.65 {
            (Prod::Tincture, Unit::Milliliters, self.rng.range(5, 30) * 30_000)
        } else if r < 0.8 {
            (Prod::Jar35, Unit::Each, self.rng.range(12, 96) * 1000)
        } else {
            (Prod::FlowerG, Unit::Grams, self.rng.range(56, 900) * 500)
        };
        self.received_pkg(prod, unit, m)
    }

    fn shipper_family(&mut self, x: XferSpec) -> Family {
        let mut bulk =
            self.new_pkg(Prod::BulkFlower, x.strain, x.bulk_unit, x.bulk_orig_m, x.bulk_t);
        self.seq -= 1; // transfer packages have their own label range
        bulk.seq = x.bulk_seq;
        bulk.label = label_of(self.idx, x.bulk_seq);
        bulk.packaged = x.bulk_packaged.clone();
        bulk.harvest = Some(x.harvest.clone());
        bulk.drawn_m = x.bulk_drawn_m;
        bulk.t_last_child = x.jars.iter().map(|j| j.t).max().unwrap_or(x.bulk_t);
        let mut pkgs = vec![bulk];
        for j in &x.jars {
            let mut p = self.new_pkg(j.prod, x.strain, j.unit, j.m, j.t);
            self.seq -= 1;
            p.seq = j.seq;
            p.label = j.label.clone();
            p.packaged = j.packaged.clone();
            p.sources = vec![pkgs[0].label.clone()];
            p.is_pb = j.is_pb;
            p.batch = j.batch.clone().map_or(Batch::Null, Batch::Num);
            p.lab = Some("TestPassed");
            p.shipped = j.state == "Accepted" && !x.voided;
            p.t_last_child = x.t_dep;
            p.auto_adj = !p.shipped;
            pkgs.push(p);
        }
        Family { pkgs, receipts: Vec::new(), xfer: Some((Box::new(x), false)) }
    }

    fn recipient_family(&mut self, x: Box<XferSpec>) -> Family {
        let mut pkgs = Vec::new();
        if !x.voided {
            let from = self.ctx.plan.licenses[x.s].clone();
            for j in x.jars.iter().filter(|j| j.state == "Accepted") {
                let (unit, m) = j.recv.expect("accepted packages have a received quantity");
                let mut p = self.new_pkg(j.prod, x.strain, unit, m, j.t);
                self.seq -= 1;
                p.seq = j.seq;
                p.label = j.label.clone();
                p.packaged = j.packaged.clone();
                p.sources = vec![label_of(x.s, x.bulk_seq)];
                p.is_pb = j.is_pb;
                p.batch = j.batch.clone().map_or(Batch::Null, Batch::Num);
                p.lab = Some("TestPassed");
                p.recv = Some(Recv {
                    t: x.t_received,
                    ts: x.received.clone().expect("received transfers have a time"),
                    manifest: x.manifest.clone(),
                    from: from.clone(),
                    from_name: facility_name(x.s),
                });
                p.sellable = true;
                pkgs.push(p);
            }
        }
        Family { pkgs, receipts: Vec::new(), xfer: Some((x, true)) }
    }

    // ----- planted anomalies (each a self-contained family)

    fn small_flower(&mut self) -> Pkg {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let t = self.pack_time(tm.pack_start, tm.pack_end);
        let m = self.rng.range(7, 56) * 500;
        let mut p = self.harvest_pkg(Prod::FlowerG, Unit::Grams, m, t);
        p.location = "Back Stock";
        p
    }

    /// A package for count plants: small, of a random quantity type.
    fn count_subject(&mut self) -> Pkg {
        let mut p = self.count_subject_any();
        // not sold out before the count
        p.random_sales = false;
        p
    }

    fn count_subject_any(&mut self) -> Pkg {
        let r = self.rng.f64();
        if r < 0.45 {
            self.small_flower()
        } else if r < 0.6 {
            let ctx = self.ctx;
            let tm = &ctx.times;
            let t = self.pack_time(tm.pack_start, tm.pack_end);
            let m = self.rng.range(1, 4) * 1000;
            self.harvest_pkg(Prod::FlowerOz, Unit::Ounces, m, t)
        } else if r < 0.8 {
            let m = self.rng.range(2, 12) * 1000;
            self.received_pkg(Prod::Cart, Unit::Each, m)
        } else if r < 0.9 {
            let m = self.rng.range(2, 8) * 30_000;
            self.received_pkg(Prod::Tincture, Unit::Milliliters, m)
        } else {
            let m = self.rng.range(2, 8) * 1000;
            self.received_pkg(Prod::Tincture, Unit::FluidOunces, m)
        }
    }

    fn solo(&mut self) -> Pkg {
        if self.rng.chance(0.5) {
            let mut p = self.small_flower();
            p.sellable = true;
            p
        } else {
            self.retail_pkg()
        }
    }

    fn one(p: Pkg) -> Family {
        Family { pkgs: vec![p], ..Family::default() }
    }

    /// A receipt of `m` from package `i` of `fam` (stock permitting), with a chosen lag.
    fn preset_sale(&mut self, fam: &mut Family, i: usize, lag: Option<(i64, i64)>) {
        let p = &fam.pkgs[i];
        let unit_m = if p.unit == Unit::Each { 1000 } else { p.orig_m / 10 };
        let lo = p.t_ready() + 3 * HOUR;
        let hi = self.ctx.times.post_end - 2 * DAY;
        let t = self.event_time(lo, hi);
        let shape = if self.rng.chance(0.6) { Shape::Naive } else { Shape::Offset };
        let shape = self.unambiguous(t, shape);
        let sales = self.render(t, shape);
        let rec_t = match lag {
            Some((a, b)) if a >= 0 => sales.hi + self.rng.range(a / US, b / US) * US,
            Some((a, b)) => sales.lo - self.rng.range(-b / US, -a / US) * US,
            None => t + self.rng.range(60, 6 * 3600) * US,
        };
        let recorded = Some(self.render(rec_t, Shape::Offset));
        fam.receipts.push(Receipt {
            t,
            sales,
            recorded,
            txs: vec![Tx { pkg: i, m: unit_m.max(1) }],
        });
    }

    fn plant(&mut self, kind: Plant) -> Result<()> {
        let ctx = self.ctx;
        let tm = &ctx.times;
        match kind {
            Plant::MissingInSystem => {
                if self.rng.chance(0.6) {
                    let (unit, m) = if self.rng.chance(0.8) {
                        (Unit::Grams, self.rng.range(2, 30) * 500)
                    } else {
                        (Unit::Each, self.rng.range(1, 2) * 1000)
                    };
                    let label = self.stray_label();
                    self.stray_row(&label, unit, m)?;
                } else {
                    // sold out in the summer, finished, yet found on a shelf
                    let mut p = self.small_flower();
                    p.t_pack = p.t_pack.min(tm.pack_start + 120 * DAY);
                    p.packaged = self.render(p.t_pack, Shape::Date);
                    p.auto_adj = false;
                    p.random_sales = false;
                    p.count = CountPlan::ForceRow(Unit::Grams, self.rng.range(2, 10) * 500);
                    let mut fam = Self::one(p);
                    let total = fam.pkgs[0].orig_m;
                    let t = fam.pkgs[0].t_pack + self.rng.range(2, 20) * DAY;
                    let sales = self.render(t, Shape::Offset);
                    let recorded = Some(self.render(t + 20 * MINUTE, Shape::Offset));
                    fam.receipts.push(Receipt {
                        t,
                        sales,
                        recorded,
                        txs: vec![Tx { pkg: 0, m: total }],
                    });
                    self.emit(fam)?;
                }
            }
            Plant::MissingOnPremises => {
                let mut p = self.count_subject();
                p.sellable = false;
                p.auto_adj = false;
                p.count = CountPlan::Skip;
                self.emit(Self::one(p))?;
            }
            Plant::Mismatch => {
                let mut p = self.count_subject();
                let d = match p.unit {
                    Unit::Grams => self.rng.range(3, 30) * 500,
                    Unit::Ounces => self.rng.range(1, 5) * 100,
                    Unit::Each => self.rng.range(1, 3) * 1000,
                    Unit::Milliliters => self.rng.range(3, 30) * 1000,
                    _ => self.rng.range(2, 10) * 100,
                };
                let d = if self.rng.chance(0.5) { d } else { -d };
                p.count = CountPlan::Mismatch(d);
                self.emit(Self::one(p))?;
            }
            Plant::UnitIncompat => {
                let mut p = self.count_subject();
                p.count = CountPlan::UnitIncompat;
                self.emit(Self::one(p))?;
            }
            Plant::DuplicateCount => {
                let mut p = self.count_subject();
                p.count = CountPlan::Duplicate;
                self.emit(Self::one(p))?;
            }
            Plant::HistoryLate | Plant::HistoryBefore | Plant::DivergentDstLate => {
                let mut p = self.solo();
                let h = self.planted_hist(kind, p.t_ready());
                p.hist.push(h);
                self.emit(Self::one(p))?;
            }
            Plant::SaleLate | Plant::SaleBefore => {
                let lag = if kind == Plant::SaleLate {
                    (25 * HOUR, 100 * HOUR)
                } else {
                    (-20 * HOUR, -2 * HOUR)
                };
                let mut fam = Self::one(self.solo());
                fam.pkgs[0].sellable = true;
                fam.pkgs[0].lab = Some("TestPassed");
                self.preset_sale(&mut fam, 0, Some(lag));
                let r = self.rng.f64();
                if r < 0.3 {
                    // the same label twice on the receipt: still one finding
                    let tx = fam.receipts[0].txs[0].clone();
                    fam.receipts[0].txs.push(tx);
                } else if r < 0.6 {
                    let mut q = self.solo();
                    q.sellable = true;
                    q.lab = Some("TestPassed");
                    let t_sale = fam.receipts[0].t;
                    if q.t_ready() + 3 * HOUR <= t_sale {
                        let m = if q.unit == Unit::Each { 1000 } else { q.orig_m / 10 };
                        fam.pkgs.push(q);
                        fam.receipts[0].txs.push(Tx { pkg: 1, m: m.max(1) });
                    }
                }
                self.emit(fam)?;
            }
            Plant::Orphan => {
                if self.rng.chance(0.75) {
                    let mut p = self.small_flower();
                    p.harvest = None;
                    p.sources = vec![self.stray_label()];
                    p.sellable = true;
                    self.emit(Self::one(p))?;
                } else {
                    let mut fam = self.extract_family();
                    let stray = self.stray_label();
                    let conc = fam
                        .pkgs
                        .iter()
                        .position(|p| p.prod == Prod::Concentrate)
                        .expect("extract family has a concentrate");
                    fam.pkgs[conc].sources.push(stray);
                    self.emit(fam)?;
                }
            }
            Plant::Cycle3 | Plant::SelfLoop => {
                let n = if kind == Plant::Cycle3 { 3 } else { 1 };
                let t = self.pack_time(tm.pack_start, tm.pack_end);
                let packaged = self.render(t, Shape::Date);
                let m = self.rng.range(56, 400) * 500;
                let strain = self.rng.index(STRAINS.len());
                let mut pkgs = Vec::new();
                for _ in 0..n {
                    let mut p = self.new_pkg(Prod::FlowerG, strain, Unit::Grams, m, t);
                    p.packaged = packaged.clone();
                    p.sellable = true;
                    pkgs.push(p);
                }
                for i in 0..n {
                    let src = pkgs[(i + n - 1) % n].label.clone();
                    pkgs[i].sources = vec![src];
                }
                self.emit(Family { pkgs, ..Family::default() })?;
            }
            Plant::ChildBeforeParent => {
                let t_b = self.pack_time(tm.pack_start + 15 * DAY, tm.pack_end);
                let mut bulk = self.bulk(t_b);
                let (prod, unit, m, draw) = self.jar_spec();
                let mut c = self.child_of(&mut bulk, prod, unit, m, draw);
                if prod == Prod::PreRoll {
                    c.is_pb = true;
                    c.batch = Batch::Num(self.next_batch());
                }
                c.sellable = true;
                if self.rng.chance(0.5) {
                    c.t_pack = t_b - self.rng.range(1, 10) * DAY;
                    bulk.packaged = self.render(t_b, Shape::Date);
                    c.packaged = self.render(c.t_pack, Shape::Date);
                } else {
                    c.t_pack = t_b - self.rng.range(30, 200) * HOUR;
                    bulk.packaged = self.render(t_b, Shape::Offset);
                    c.packaged = self.render(c.t_pack, Shape::Offset);
                }
                self.emit(Family { pkgs: vec![bulk, c], ..Family::default() })?;
            }
            Plant::Overdrawn | Plant::EdgeOverdrawSaved => {
                let t = self.pack_time(tm.pack_start, tm.pack_end - 30 * DAY);
                let orig = self.rng.range(1000, 4000) * 500;
                let mut bulk = self.harvest_pkg(Prod::BulkFlower, Unit::Grams, orig, t);
                let plus = if kind == Plant::EdgeOverdrawSaved || self.rng.chance(0.3) {
                    self.rng.range(20, 100) * 1000
                } else {
                    0
                };
                if plus > 0 {
                    let ta = t + self.rng.range(1, 20) * HOUR;
                    let ts = self.render(ta, Shape::Zulu);
                    let user = self.user();
                    bulk.adjs.push(Adj {
                        m: plus,
                        t: ta,
                        ts,
                        reason: "Entry Error",
                        note: Note::Text("Initial weight keyed short; corrected after reweigh"),
                        bad_date: false,
                        user,
                    });
                }
                let allowed = orig + plus;
                let target = if kind == Plant::Overdrawn {
                    allowed + (allowed as f64 * (0.03 + 0.2 * self.rng.f64())) as i64 + 2000
                } else {
                    allowed - self.rng.range(1, 40) * 500
                };
                let n = self.rng.range(2, 4);
                let mut kids = Vec::new();
                let mut left = target;
                for j in 0..n {
                    let m = if j == n - 1 { left } else { (target / n) / 500 * 500 };
                    left -= m;
                    let mut c = self.child_of(&mut bulk, Prod::FlowerG, Unit::Grams, m, 0.0);
                    c.sellable = true;
                    kids.push(c);
                }
                if kind == Plant::EdgeOverdrawSaved {
                    // a production batch of the same source is not drawn by its weight, so
                    // the source is not overdrawn although the children's grams exceed it
                    let m = (allowed - target) + self.rng.range(5, 50) * 1000;
                    let mut c = self.child_of(&mut bulk, Prod::Concentrate, Unit::Grams, m, 0.0);
                    c.is_pb = true;
                    c.batch = Batch::Num(self.next_batch());
                    kids.push(c);
                }
                bulk.drawn_m = orig + plus;
                bulk.auto_adj = false;
                let mut pkgs = vec![bulk];
                pkgs.extend(kids);
                self.emit(Family { pkgs, ..Family::default() })?;
            }
            Plant::MissingPb | Plant::UnneededPb | Plant::MissingBatchNo => {
                let t = self.pack_time(tm.pack_start, tm.pack_end - 30 * DAY);
                let mut bulk = self.bulk(t);
                let mut c = match kind {
                    Plant::UnneededPb => {
                        let m = self.rng.range(56, 400) * 500;
                        let mut c =
                            self.child_of(&mut bulk, Prod::FlowerG, Unit::Grams, m, m as f64 / 1e3);
                        c.is_pb = true;
                        c.batch = Batch::Num(self.next_batch());
                        c.lab = Some("NotSubmitted");
                        c
                    }
                    _ => {
                        let m = self.rng.range(20, 150) * 1000;
                        let mut c =
                            self.child_of(&mut bulk, Prod::PreRoll, Unit::Each, m, m as f64 / 1e3);
                        c.sellable = true;
                        if kind == Plant::MissingBatchNo {
                            c.is_pb = true;
                            c.batch = [Batch::Null, Batch::Empty, Batch::Spaces][self.rng.index(3)]
                                .clone();
                        }
                        c
                    }
                };
                c.location = "Back Stock";
                self.emit(Family { pkgs: vec![bulk, c], ..Family::default() })?;
            }
            Plant::UntestedSale => {
                let mut fam = Self::one(self.retail_pkg());
                fam.pkgs[0].lab = self.rng.pick(&[
                    Some("NotSubmitted"),
                    Some("SubmittedForTesting"),
                    Some("TestFailed"),
                    None,
                ]);
                self.preset_sale(&mut fam, 0, None);
                self.emit(fam)?;
            }
            Plant::AdjNoNote | Plant::RejAdjDate | Plant::EdgeCountDayAdj => {
                let mut p = self.solo();
                let step = if p.unit == Unit::Each { 1000 } else { 500 };
                let m = -(self.rng.range(1, 4) * step).min(p.orig_m / 4 / step * step).max(step);
                let mut t = self.event_time(p.t_ready() + HOUR, tm.post_end - DAY);
                let mut shape = self.rng.pick(&[Shape::Date, Shape::Zulu, Shape::Naive]);
                let count_day = self.sheet.as_ref().map(|s| s.session.t_max.lo);
                if let Some(day) = count_day.filter(|_| kind == Plant::EdgeCountDayAdj) {
                    // a date-only change on the count day: after the count unless the
                    // count itself is date-only (SPEC 2.3, end of day)
                    t = day.max(p.t_ready() + HOUR);
                    shape = Shape::Date;
                }
                let ts = self.render(t, shape);
                let note = match kind {
                    Plant::AdjNoNote => {
                        self.rng.pick(&[Note::Empty, Note::Null, Note::Spaces, Note::Missing])
                    }
                    _ => Note::Text(ADJ_NOTES[self.rng.index(ADJ_NOTES.len())]),
                };
                let user = self.user();
                p.adjs.push(Adj {
                    m,
                    t,
                    ts,
                    reason: ADJ_REASONS[self.rng.index(ADJ_REASONS.len())],
                    note,
                    bad_date: kind == Plant::RejAdjDate,
                    user,
                });
                self.emit(Self::one(p))?;
            }
            Plant::DuplicatePackage => {
                let mut p = self.solo();
                p.dup = true;
                self.emit(Self::one(p))?;
            }
            Plant::EdgeSameDay => {
                let t = self.pack_time(tm.pack_start, tm.pack_end - 30 * DAY);
                let mut bulk = self.bulk(t);
                bulk.packaged = self.render(t, Shape::Offset);
                let (prod, unit, m, draw) = self.jar_spec();
                let mut c = self.child_of(&mut bulk, prod, unit, m, draw);
                if prod == Prod::PreRoll {
                    c.is_pb = true;
                    c.batch = Batch::Num(self.next_batch());
                }
                c.sellable = true;
                // same local day as the parent's timestamp, as a date: not before it
                c.t_pack = t + 2 * HOUR;
                c.packaged = self.render(t, Shape::Date);
                self.emit(Family { pkgs: vec![bulk, c], ..Family::default() })?;
            }
            Plant::EdgeHistory => {
                let mut p = self.solo();
                for k in 0..7 {
                    if let Some(h) = self.edge_hist(k, p.t_ready()) {
                        p.hist.push(h);
                    }
                }
                self.emit(Self::one(p))?;
            }
            Plant::DivergentPackagedAfterCount => {
                let (a, b) = tm.after_count;
                let t = self.rng.range(a / US, b / US) * US;
                let m = self.rng.range(10, 60) * 500;
                let mut p = self.harvest_pkg(Prod::BulkFlower, Unit::Grams, m, t);
                p.packaged = self.render(t, Shape::Date);
                p.auto_adj = false;
                self.emit(Self::one(p))?;
            }
            Plant::RejPkgQty | Plant::RejPkgNaN | Plant::RejPkgLabel => {
                let mut p = self.small_flower();
                p.auto_adj = false;
                p.reject = Some(match kind {
                    Plant::RejPkgQty => PkgReject::BadQty(
                        self.rng.pick(&["abc", "12,5 g", "n/a"]),
                        "non-numeric quantity",
                    ),
                    Plant::RejPkgNaN => PkgReject::BadQty("NaN", "non-finite quantity"),
                    _ => PkgReject::NoLabel(self.rng.index(3) as u8),
                });
                self.emit(Self::one(p))?;
            }
            Plant::RejHistType => {
                let mut p = self.solo();
                let t = self.event_time(p.t_ready(), tm.post_end - DAY);
                let actual = self.render(t, Shape::Date);
                let recorded =
                    if self.rng.chance(0.5) { HistRec::BadNumber } else { HistRec::BadObject };
                let user = self.user();
                p.hist.push(Hist { actual, recorded, desc: "Location changed".to_string(), user });
                self.emit(Self::one(p))?;
            }
            Plant::RejCountQty => {
                if self.sheet.is_some() {
                    let label = self.stray_label();
                    let bad = self.rng.pick(&["abc", "twelve", "n/a", "1O"]);
                    let loc = "Back Stock";
                    let by = self.user();
                    let s = self.sheet.as_mut().expect("checked");
                    let at = s.session.pick(&self.ctx.clock, &mut self.rng);
                    let row = s.render_row(&label, bad, Unit::Grams, loc, &at.text, by);
                    let line = s.write_line(&row)?;
                    let (file, column) = (s.file.clone(), s.qty_header());
                    self.rejects.push(RejectRow {
                        file,
                        record: line,
                        column,
                        reason: "non-numeric quantity",
                    });
                }
            }
        }
        Ok(())
    }

    fn planted_hist(&mut self, kind: Plant, ready: i64) -> Hist {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let c = &ctx.clock;
        let user = self.user();
        let (actual, rec) = match kind {
            Plant::DivergentDstLate => {
                // repeated hour: SPEC reads the earlier instant, so this is 24.25 h late
                let n = NaiveDate::from_ymd_opt(2026, 11, 1)
                    .and_then(|d| d.and_hms_opt(1, 30, 0))
                    .expect("valid");
                let occ = c.resolve(n);
                let mut text = String::new();
                push_dt(&mut text, n);
                text.push_str(".000");
                let actual = Ts { text, lo: occ, hi: occ };
                (actual, self.render(occ + 24 * HOUR + 15 * MINUTE, Shape::Zulu))
            }
            Plant::HistoryLate => {
                let r = self.rng.f64();
                if r < 0.2 {
                    // across the fall-back night: 24.5 h of real time, 23.5 h of wall time
                    let occ = c.at(2026, 10, 31, 3, 0);
                    (
                        self.render(occ, Shape::Naive),
                        self.render(occ + 24 * HOUR + 30 * MINUTE, Shape::Offset),
                    )
                } else {
                    let t = self.event_time(ready, tm.post_end - 8 * DAY);
                    let shape = self.rng.pick(&[Shape::Date, Shape::Naive, Shape::Offset]);
                    let shape = self.unambiguous(t, shape);
                    let actual = self.render(t, shape);
                    let rec = actual.hi + self.rng.range(25 * 3600, 200 * 3600) * US;
                    (actual, self.render(rec, Shape::Offset))
                }
            }
            _ => {
                let t = self.event_time(ready + 2 * DAY, tm.post_end - 2 * DAY);
                let shape = self.rng.pick(&[Shape::Date, Shape::Naive, Shape::Offset]);
                let shape = self.unambiguous(t, shape);
                let actual = self.render(t, shape);
                let rec = actual.lo - self.rng.range(2 * 3600, 40 * 3600) * US;
                (actual, self.render(rec, Shape::Zulu))
            }
        };
        Hist {
            actual,
            recorded: HistRec::Ts(rec),
            desc: "Package location changed".to_string(),
            user,
        }
    }

    /// History entries that look late or early at a glance but are not (SPEC 2.3).
    fn edge_hist(&mut self, k: u32, ready: i64) -> Option<Hist> {
        let ctx = self.ctx;
        let c = &ctx.clock;
        let tm = &ctx.times;
        let user = self.user();
        let (actual, rec) = match k {
            0 => {
                // across the spring-forward night: 24.5 h of wall time, 23.5 h of real time
                let occ = c.at(2026, 3, 7, 3, 0);
                (
                    self.render(occ, Shape::Naive),
                    self.render(occ + 23 * HOUR + 30 * MINUTE, Shape::Offset),
                )
            }
            1 => {
                // date only: measured from the end of the day, 23 h
                let t = self.event_time(ready, tm.post_end - 3 * DAY);
                let actual = self.render(t, Shape::Date);
                let rec = actual.hi + 1 + 23 * HOUR;
                (actual, self.render(rec, Shape::Offset))
            }
            2 => {
                // date only: recorded 30 min before the day starts (not more than 1 h)
                let t = self.event_time(ready + 2 * DAY, tm.post_end - 3 * DAY);
                let actual = self.render(t, Shape::Date);
                let rec = actual.lo - 30 * MINUTE;
                (actual, self.render(rec, Shape::Offset))
            }
            4..=6 => {
                // exactly 24 h (not late), exactly 72 h (late, not yet high), 72 h and a
                // second (high): the limits are "more than"
                let lag = [24 * HOUR, 72 * HOUR, 72 * HOUR + US][k as usize - 4];
                let t = self.event_time(ready, tm.post_end - 4 * DAY);
                let actual = self.render(t, Shape::Offset);
                (actual, self.render(t + lag, Shape::Offset))
            }
            _ => {
                // a naive time in the skipped hour moves forward by the gap
                let n = NaiveDate::from_ymd_opt(2026, 3, 8)
                    .and_then(|d| d.and_hms_opt(2, 30, 0))
                    .expect("valid");
                let occ = c.resolve(n);
                let mut text = String::new();
                push_dt(&mut text, n);
                text.push_str(".000");
                let actual = Ts { text, lo: occ, hi: occ };
                (actual, self.render(occ + 30 * MINUTE, Shape::Offset))
            }
        };
        Some(Hist {
            actual,
            recorded: HistRec::Ts(rec),
            desc: "Package note updated".to_string(),
            user,
        })
    }

    // ----- completing a family: adjustments, sales, history, quantities

    fn finalize(&mut self, fam: &mut Family) {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let post_end = tm.post_end;
        let n = fam.pkgs.len();
        let mut stock = vec![0i64; n];
        let mut last = vec![0i64; n];
        for i in 0..n {
            let p = &fam.pkgs[i];
            last[i] = p.t_ready().max(p.t_last_child);
            if p.shipped || p.reject.is_some() {
                continue;
            }
            let preset: i64 = p.adjs.iter().map(|a| a.m).sum();
            let mut avail = (p.orig_m - p.drawn_m + preset).max(0);
            let ready = p.t_ready();
            let auto = p.auto_adj;
            let bulkish = matches!(p.prod, Prod::BulkFlower | Prod::Trim | Prod::Concentrate);
            let unit = p.unit;
            let prob = if bulkish { 0.3 } else { 0.06 };
            let mut new_adjs = Vec::new();
            if auto && avail > 5000 && self.rng.chance(prob) {
                for _ in 0..self.rng.range(1, 2) {
                    let m = if unit == Unit::Each {
                        self.rng.range(1, 2) * 1000
                    } else {
                        ((avail as f64 * 0.02 * self.rng.f64()) as i64 / 10 * 10).max(100)
                    };
                    if m >= avail {
                        break;
                    }
                    avail -= m;
                    let t = self.event_time(ready + HOUR, post_end);
                    let shape = self.rng.pick(&[
                        Shape::Date,
                        Shape::Date,
                        Shape::Zulu,
                        Shape::Naive,
                        Shape::Offset,
                    ]);
                    let ts = self.render(t, shape);
                    let k = self.rng.index(ADJ_NOTES.len());
                    let user = self.user();
                    new_adjs.push(Adj {
                        m: -m,
                        t,
                        ts,
                        reason: ADJ_REASONS[k % ADJ_REASONS.len()],
                        note: Note::Text(ADJ_NOTES[k]),
                        bad_date: false,
                        user,
                    });
                }
            }
            let p = &mut fam.pkgs[i];
            p.adjs.extend(new_adjs);
            p.adjs.sort_by_key(|a| a.t);
            for a in &p.adjs {
                last[i] = last[i].max(a.t);
            }
            stock[i] = avail;
        }
        for r in &fam.receipts {
            for tx in &r.txs {
                stock[tx.pkg] -= tx.m;
                last[tx.pkg] = last[tx.pkg].max(r.t);
            }
        }
        // random sales of sellable packages
        let mut txs: Vec<(i64, usize, i64)> = Vec::new();
        for (i, p) in fam.pkgs.iter().enumerate() {
            if !p.sellable || !p.random_sales || p.shipped || p.reject.is_some() {
                continue;
            }
            let lo = p.t_ready() + 3 * HOUR;
            if lo >= post_end {
                continue;
            }
            let unit = p.unit;
            let k = self.rng.pick(&[0, 1, 1, 2, 2, 3, 3, 4, 5, 7]);
            for _ in 0..k {
                let mut q = match unit {
                    Unit::Each => self.rng.range(1, 3) * 1000,
                    Unit::Grams => self.rng.pick(&[1000, 3500, 3500, 7000, 14_000]),
                    Unit::Ounces => self.rng.pick(&[125, 250, 500]),
                    Unit::Pounds => 100,
                    Unit::Milliliters => 30_000,
                    Unit::FluidOunces => 1000,
                };
                if stock[i] < q {
                    if stock[i] > 0 && self.rng.chance(0.5) {
                        q = stock[i];
                    } else {
                        break;
                    }
                }
                stock[i] -= q;
                let t = self.event_time(lo, post_end);
                txs.push((t, i, q));
            }
        }
        txs.sort_unstable();
        let start = fam.receipts.len();
        for (t, i, q) in txs {
            let attach = fam.receipts.len() > start
                && self.rng.chance(0.2)
                && fam.receipts.last().is_some_and(|r| r.t >= fam.pkgs[i].t_ready() + 3 * HOUR);
            if attach {
                let r = fam.receipts.last_mut().expect("checked");
                r.txs.push(Tx { pkg: i, m: q });
                last[i] = last[i].max(r.t);
                continue;
            }
            let shape = if self.rng.chance(0.65) { Shape::Naive } else { Shape::Offset };
            let sales = self.render(t, shape);
            let recorded = if self.rng.chance(0.02) {
                None
            } else {
                let rt = t + self.rng.range(60, 10 * 3600) * US;
                let sh = if self.rng.chance(0.5) { Shape::Offset } else { Shape::Zulu };
                Some(self.render(rt, sh))
            };
            fam.receipts.push(Receipt { t, sales, recorded, txs: vec![Tx { pkg: i, m: q }] });
            last[i] = last[i].max(t);
        }
        // final quantities, finished dates, history, last modified
        for (i, p) in fam.pkgs.iter_mut().enumerate() {
            p.qty_m = if p.shipped { 0 } else { stock[i].max(0) };
            if p.qty_m == 0 && !p.shipped && p.reject.is_none() && p.finished.is_none() {
                let f = last[i] + self.rng.range(0, 36) * HOUR;
                p.finished = Some(self.render(f.min(tm.export - DAY), Shape::Date));
            }
            self.history(p);
            let mut lm = last[i];
            for h in &p.hist {
                if let HistRec::Ts(r) = &h.recorded {
                    lm = lm.max(r.lo);
                }
            }
            let lm = (lm + self.rng.range(600, 30 * 3600) * US + self.rng.range(0, US - 1))
                .min(tm.export);
            p.modified = Some(self.render(lm, Shape::Micros));
        }
    }

    fn history(&mut self, p: &mut Pkg) {
        if p.reject.is_some() {
            return;
        }
        let mut out = Vec::new();
        let delay = |rng: &mut Rng| {
            if rng.chance(0.95) {
                rng.range(300, 8 * 3600) * US
            } else {
                rng.range(8 * 3600, 20 * 3600) * US
            }
        };
        let rec_shape = |rng: &mut Rng| {
            if rng.chance(0.6) { Shape::Offset } else { Shape::Zulu }
        };
        if let Some(r) = &p.recv {
            let d = delay(&mut self.rng);
            let sh = rec_shape(&mut self.rng);
            out.push(Hist {
                actual: r.ts.clone(),
                recorded: HistRec::Ts(self.render(r.t + d, sh)),
                desc: format!("Received from manifest {}", r.manifest),
                user: self.user(),
            });
        } else {
            let d = delay(&mut self.rng);
            let sh = rec_shape(&mut self.rng);
            out.push(Hist {
                actual: p.packaged.clone(),
                recorded: HistRec::Ts(self.render(p.t_pack + d, sh)),
                desc: format!(
                    "Packaged {} {} of {}",
                    qty_text(p.orig_m),
                    p.unit.name(),
                    p.item_name()
                ),
                user: self.user(),
            });
        }
        for a in &p.adjs {
            if a.bad_date || !self.rng.chance(0.4) {
                continue;
            }
            let d = delay(&mut self.rng);
            let sh = rec_shape(&mut self.rng);
            out.push(Hist {
                actual: a.ts.clone(),
                recorded: HistRec::Ts(self.render(a.t + d, sh)),
                desc: format!("Adjusted by {} {}: {}", qty_text(a.m), p.unit.name(), a.reason),
                user: a.user,
            });
        }
        if self.rng.chance(0.2) {
            let ctx = self.ctx;
            let tm = &ctx.times;
            let t = self.event_time(p.t_ready(), tm.post_end);
            let shape = self.rng.pick(&[Shape::Date, Shape::Naive, Shape::Offset]);
            let d = delay(&mut self.rng);
            let sh = rec_shape(&mut self.rng);
            out.push(Hist {
                actual: self.render(t, shape),
                recorded: HistRec::Ts(self.render(t + d, sh)),
                desc: format!("Moved to {}", p.location),
                user: self.user(),
            });
        }
        if self.rng.chance(0.004) {
            let k = self.rng.range(0, 3) as u32;
            if let Some(h) = self.edge_hist(k, p.t_ready()) {
                out.push(h);
            }
        }
        // planted entries (already in p.hist) go last
        out.append(&mut p.hist);
        p.hist = out;
    }

    // ----- writing a family and deriving its truth

    fn emit(&mut self, mut fam: Family) -> Result<()> {
        self.finalize(&mut fam);
        self.eval_lineage(&fam);
        let n = fam.pkgs.len();
        let mut sales: Vec<Vec<(i64, i64)>> = vec![Vec::new(); n];
        for r in &fam.receipts {
            for tx in &r.txs {
                sales[tx.pkg].push((r.sales.hi, tx.m));
            }
        }
        for (i, p) in fam.pkgs.iter().enumerate() {
            self.write_package(p, false)?;
            if p.dup {
                self.write_package(p, true)?;
                self.truth(R_DUPLICATE_PACKAGE, &p.label);
            }
            for a in &p.adjs {
                self.write_adj(p, a)?;
            }
            for h in &p.hist {
                self.write_hist(p, h)?;
            }
            if p.reject.is_none() {
                self.count_pkg(p, &sales[i])?;
            }
        }
        let mut sold = vec![false; n];
        for r in &fam.receipts {
            self.write_receipt(&fam, r)?;
            let mut seen: Vec<usize> = Vec::new();
            for tx in &r.txs {
                sold[tx.pkg] = true;
                if seen.contains(&tx.pkg) {
                    continue;
                }
                seen.push(tx.pkg);
                if let Some(rec) = &r.recorded {
                    self.eval_lag(&fam.pkgs[tx.pkg].label, &r.sales, rec);
                }
            }
        }
        for (i, p) in fam.pkgs.iter().enumerate() {
            if sold[i] && !p.lab.is_some_and(|s| TESTED_OK.contains(&s)) {
                self.truth(R_UNTESTED_SALE, &p.label);
            }
        }
        if let Some((x, at_recipient)) = &fam.xfer {
            let shipper = &self.ctx.plan.licenses[x.s];
            let shipper_name = facility_name(x.s);
            let mut b = std::mem::take(&mut self.buf);
            b.clear();
            push_transfer(&mut b, x, shipper, &shipper_name);
            self.xfer_w.push(&b)?;
            self.buf = b;
            if *at_recipient && !x.voided {
                self.eval_transfer(x);
            }
        }
        Ok(())
    }

    fn eval_lag(&mut self, label: &str, occ: &Ts, rec: &Ts) {
        let lag = rec.lo - occ.hi;
        if lag > 24 * HOUR {
            let severity = if lag > 72 * HOUR { "high" } else { "medium" };
            self.truth.push((R_LATE, label.to_string(), severity));
        }
        if occ.lo - rec.hi > HOUR {
            self.truth(R_BEFORE, label);
        }
    }

    fn eval_transfer(&mut self, x: &XferSpec) {
        let Some(rec) = &x.received else { return };
        let occ = x.act_arr.as_ref().unwrap_or(&x.est_arr);
        for j in &x.jars {
            if j.state == "Accepted" || j.state == "Rejected" {
                self.eval_lag(&j.label, occ, rec);
            }
            if let (Some((u, m)), "Accepted") = (j.recv, j.state) {
                let q = j.unit.qtype();
                if u.qtype() != q || (base(m, u) - base(j.m, j.unit)).abs() > q.tol() {
                    self.truth(R_ACCEPTED_MISMATCH, &j.label);
                }
            }
        }
    }

    fn eval_lineage(&mut self, fam: &Family) {
        let n = fam.pkgs.len();
        let mut idx: HashMap<&str, usize> = HashMap::with_capacity(n);
        for (i, p) in fam.pkgs.iter().enumerate() {
            if p.reject.is_none() {
                idx.insert(p.label.as_str(), i);
            }
        }
        let mut found: Vec<(&'static str, usize)> = Vec::new();
        let mut drawn = vec![0f64; n];
        let mut any_source = false;
        for (i, c) in fam.pkgs.iter().enumerate() {
            if c.reject.is_some() || c.sources.is_empty() {
                continue;
            }
            any_source = true;
            let local = c.recv.is_none();
            let mut differs = false;
            let mut all_same = true;
            for s in &c.sources {
                match idx.get(s.as_str()) {
                    None => {
                        all_same = false;
                        if local {
                            found.push((R_ORPHAN, i));
                        }
                    }
                    Some(&j) => {
                        let p = &fam.pkgs[j];
                        if c.packaged.hi < p.packaged.lo {
                            found.push((R_CHILD_BEFORE_PARENT, i));
                        }
                        if !p.category().eq_ignore_ascii_case(c.category()) {
                            differs = true;
                            all_same = false;
                        }
                    }
                }
            }
            if local && !c.is_pb && differs {
                found.push((R_MISSING_PB, i));
            }
            if local && c.is_pb && all_same {
                found.push((R_UNNEEDED_PB, i));
            }
            let single = (c.sources.len() == 1 && !c.is_pb)
                .then(|| idx.get(c.sources[0].as_str()).copied())
                .flatten();
            if let Some(j) = single.filter(|&j| fam.pkgs[j].unit.qtype() == c.unit.qtype()) {
                drawn[j] += base(c.orig_m, c.unit);
            }
        }
        for (i, p) in fam.pkgs.iter().enumerate() {
            if p.reject.is_none() && p.is_pb && p.batch.blank() {
                found.push((R_MISSING_BATCH_NO, i));
            }
        }
        if any_source {
            for (j, p) in fam.pkgs.iter().enumerate() {
                if drawn[j] > 0.0 {
                    let plus: f64 = p
                        .adjs
                        .iter()
                        .filter(|a| !a.bad_date && a.m > 0)
                        .map(|a| base(a.m, p.unit))
                        .sum();
                    let allowed = base(p.orig_m, p.unit) + plus;
                    if drawn[j] - allowed > p.unit.qtype().tol() {
                        found.push((R_OVERDRAWN, j));
                    }
                }
            }
            // a package is its own ancestor when it is reachable from its sources
            let parents: Vec<Vec<usize>> = fam
                .pkgs
                .iter()
                .map(|c| {
                    if c.reject.is_some() {
                        return Vec::new();
                    }
                    c.sources.iter().filter_map(|s| idx.get(s.as_str()).copied()).collect()
                })
                .collect();
            for start in 0..n {
                let mut seen = vec![false; n];
                let mut stack = parents[start].clone();
                while let Some(v) = stack.pop() {
                    if v == start {
                        found.push((R_CYCLE, start));
                        break;
                    }
                    if !seen[v] {
                        seen[v] = true;
                        stack.extend(parents[v].iter().copied());
                    }
                }
            }
        }
        for (rule, i) in found {
            let label = fam.pkgs[i].label.clone();
            self.truth.push((rule, label, default_severity(rule)));
        }
    }

    fn expected(&self, p: &Pkg, t: i64, q: i64) -> bool {
        let c = &self.ctx.clock;
        let d = c.local_date(t);
        if c.local_date(p.packaged.lo) > d {
            return false;
        }
        if p.finished.as_ref().is_some_and(|f| c.local_date(f.lo) < d) {
            return false;
        }
        if p.recv.as_ref().is_some_and(|r| r.ts.lo > t) {
            return false;
        }
        q > 0
    }

    /// The unit a package is counted in (sometimes converted) and the counted text.
    fn count_value(&mut self, p: &Pkg, m: i64) -> (Unit, String) {
        let conv = match p.unit {
            Unit::Pounds | Unit::Ounces if self.rng.chance(0.3) => Some(Unit::Grams),
            Unit::FluidOunces if self.rng.chance(0.3) => Some(Unit::Milliliters),
            _ => None,
        };
        match conv {
            Some(u) => (u, format!("{:.3}", base(m, p.unit) / u.factor())),
            None => (p.unit, qty_text(m)),
        }
    }

    fn count_pkg(&mut self, p: &Pkg, sales: &[(i64, i64)]) -> Result<()> {
        let Some(sheet) = &self.sheet else {
            return Ok(());
        };
        let t_max = sheet.session.t_max.clone();
        let sq = p.unit.qtype();
        match p.count {
            CountPlan::Skip => {
                let q = asof(p, sales, t_max.hi);
                if self.expected(p, t_max.hi, q) {
                    self.truth(R_MISSING_ON_PREMISES, &p.label);
                    self.sys[sq.idx()] += base(q, p.unit);
                }
            }
            CountPlan::ForceRow(unit, m) => {
                let at = {
                    let s = self.sheet.as_ref().expect("checked");
                    s.session.pick(&self.ctx.clock, &mut self.rng)
                };
                let q = asof(p, sales, at.hi);
                let exp = self.expected(p, at.hi, q);
                let text = qty_text(m);
                self.write_count(&p.label, &text, unit, p.location, &at)?;
                self.eval_row(&p.label, exp, sq, base(q, p.unit), unit.qtype(), base(m, unit));
            }
            plan => {
                let need = self.sheet.as_ref().is_some_and(|s| s.need_tmax);
                let mut at = if need {
                    t_max.clone()
                } else {
                    let s = self.sheet.as_ref().expect("checked");
                    s.session.pick(&self.ctx.clock, &mut self.rng)
                };
                let mut q = asof(p, sales, at.hi);
                if !self.expected(p, at.hi, q) {
                    at = t_max.clone();
                    q = asof(p, sales, at.hi);
                    if !self.expected(p, at.hi, q) {
                        return Ok(());
                    }
                }
                if let Some(s) = self.sheet.as_mut().filter(|_| at == t_max) {
                    s.need_tmax = false;
                }
                let (unit, text) = match plan {
                    CountPlan::Mismatch(d) => {
                        let v = if q + d < 0 { q - d } else { q + d };
                        (p.unit, qty_text(v))
                    }
                    CountPlan::UnitIncompat => {
                        if sq == QType::Each {
                            (Unit::Grams, qty_text(q / 1000 * 3500))
                        } else {
                            (Unit::Each, self.rng.range(1, 8).to_string())
                        }
                    }
                    _ => self.count_value(p, q),
                };
                let counted: f64 = text.parse::<f64>().expect("rendered number") * unit.factor();
                self.write_count(&p.label, &text, unit, p.location, &at)?;
                self.eval_row(&p.label, true, sq, base(q, p.unit), unit.qtype(), counted);
                if plan == CountPlan::Duplicate {
                    let by = self.user();
                    let s = self.sheet.as_mut().expect("checked");
                    let row = s.render_row(&p.label, &text, unit, "Vault B", &at.text, by);
                    s.tail.push(row);
                    self.truth(R_DUPLICATE_COUNT, &p.label);
                }
            }
        }
        Ok(())
    }

    fn write_count(
        &mut self,
        label: &str,
        qty: &str,
        unit: Unit,
        loc: &str,
        at: &Ts,
    ) -> Result<u64> {
        let by = self.user();
        let s = self.sheet.as_mut().expect("counted license");
        let row = s.render_row(label, qty, unit, loc, &at.text, by);
        s.write_line(&row)
    }

    fn stray_row(&mut self, label: &str, unit: Unit, m: i64) -> Result<()> {
        let at = {
            let s = self.sheet.as_ref().expect("counted license");
            s.session.pick(&self.ctx.clock, &mut self.rng)
        };
        let loc = self.rng.pick(&["Back Stock", "Vault A", "Sales Floor"]);
        self.write_count(label, &qty_text(m), unit, loc, &at)?;
        self.eval_row(label, false, unit.qtype(), 0.0, unit.qtype(), base(m, unit));
        Ok(())
    }

    fn eval_row(
        &mut self,
        label: &str,
        expected: bool,
        sq: QType,
        sys: f64,
        cq: QType,
        counted: f64,
    ) {
        if !expected {
            self.truth(R_MISSING_IN_SYSTEM, label);
            self.cnt[cq.idx()] += counted;
            return;
        }
        self.sys[sq.idx()] += sys;
        if cq != sq {
            self.truth(R_UNIT_INCOMPATIBLE, label);
            return;
        }
        self.cnt[sq.idx()] += counted;
        if (counted - sys).abs() > sq.tol() {
            self.truth(R_QUANTITY_MISMATCH, label);
        }
    }

    fn finish_counts(&mut self) -> Result<()> {
        let Some(sheet) = &self.sheet else {
            return Ok(());
        };
        if sheet.need_tmax {
            // nothing was counted at the latest CountedAt assumed for uncounted packages:
            // a stray row there makes that assumption true (and is itself a finding)
            let at = sheet.session.t_max.clone();
            let label = self.stray_label();
            self.write_count(&label, "1", Unit::Grams, "Back Stock", &at)?;
            self.eval_row(&label, false, QType::Weight, 0.0, QType::Weight, 1.0);
        }
        if let Some(q) = self.ctx.plan.sig[self.idx] {
            let (s, c) = (self.sys[q.idx()], self.cnt[q.idx()]);
            let need = if s > 0.0 { s * 1.12 - c } else { 10.0 };
            if need > 0.0 {
                let unit = match q {
                    QType::Weight => Unit::Grams,
                    QType::Each => Unit::Each,
                    QType::Volume => Unit::Milliliters,
                };
                let rows = self.rng.range(1, 2);
                let per = (need / rows as f64).ceil() as i64 * 1000;
                for _ in 0..rows {
                    let label = self.stray_label();
                    self.stray_row(&label, unit, per)?;
                }
            }
        }
        let tail = std::mem::take(&mut self.sheet.as_mut().expect("checked").tail);
        for row in tail {
            self.sheet.as_mut().expect("checked").write_line(&row)?;
        }
        for q in QTYPES {
            let (s, c) = (self.sys[q.idx()], self.cnt[q.idx()]);
            let significant = if s > 0.0 { (c - s).abs() >= 0.05 * s } else { c > 0.0 };
            if significant {
                self.truth(R_SIGNIFICANT, "");
            }
        }
        Ok(())
    }

    // ----- JSON records

    fn write_package(&mut self, p: &Pkg, second: bool) -> Result<()> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        let id = (self.idx as u64 + 1) * 1_000_000_000_000 + p.seq;
        let _ = write!(b, "{{\"Id\":{id}");
        match &p.reject {
            Some(PkgReject::NoLabel(0)) => {}
            Some(PkgReject::NoLabel(1)) => b.push_str(",\"Label\":null"),
            Some(PkgReject::NoLabel(_)) => b.push_str(",\"Label\":\"\""),
            _ => {
                b.push_str(",\"Label\":");
                push_json_str(&mut b, &p.label);
            }
        }
        let _ = write!(
            b,
            ",\"PackageType\":\"Product\",\"SourceHarvestCount\":{},\"SourcePackageCount\":{},\
             \"SourceProcessingJobCount\":0,\"SourceHarvestNames\":",
            u8::from(p.harvest.is_some()),
            p.sources.len()
        );
        push_opt_str(&mut b, p.harvest.as_deref());
        b.push_str(",\"SourcePackageLabels\":");
        if p.sources.is_empty() {
            b.push_str("null");
        } else {
            push_json_str(&mut b, &p.sources.join(", "));
        }
        let _ = write!(b, ",\"LocationId\":{},\"LocationName\":", p.location.len() + 100);
        push_json_str(&mut b, p.location);
        b.push_str(",\"LocationTypeName\":\"Default Location Type\",\"Quantity\":");
        match &p.reject {
            Some(PkgReject::BadQty(v, _)) => push_json_str(&mut b, v),
            _ if self.qty_string => {
                b.push('"');
                push_qty(&mut b, p.qty_m, false);
                b.push('"');
            }
            _ => push_qty(&mut b, p.qty_m, true),
        }
        b.push_str(",\"OriginalPackageQuantity\":");
        push_qty(&mut b, p.orig_m, true);
        b.push_str(",\"UnitOfMeasureName\":");
        push_json_str(&mut b, p.unit.name());
        b.push_str(",\"UnitOfMeasureAbbreviation\":");
        push_json_str(&mut b, p.unit.abbr());
        b.push_str(",\"PatientLicenseNumber\":null,\"Note\":null,\"PackagedDate\":");
        push_json_str(&mut b, &p.packaged.text);
        b.push_str(",\"ExpirationDate\":null,\"InitialLabTestingState\":");
        push_json_str(&mut b, if p.is_pb { "NotSubmitted" } else { p.prod.lab() });
        b.push_str(",\"LabTestingState\":");
        push_opt_str(&mut b, p.lab);
        b.push_str(",\"LabTestingStateDate\":");
        push_json_str(&mut b, &p.packaged.text[..10]);
        let _ = write!(b, ",\"IsProductionBatch\":{},\"ProductionBatchNumber\":", p.is_pb);
        match &p.batch {
            Batch::Num(s) => push_json_str(&mut b, s),
            Batch::Null => b.push_str("null"),
            Batch::Empty => b.push_str("\"\""),
            Batch::Spaces => b.push_str("\"  \""),
        }
        b.push_str(
            ",\"SourceProductionBatchNumbers\":null,\"IsTradeSample\":false,\"IsDonation\":false,\
             \"IsTestingSample\":false,\"ProductRequiresRemediation\":false,\
             \"ContainsRemediatedProduct\":false,\"RemediationDate\":null,\"ReceivedDateTime\":",
        );
        match &p.recv {
            Some(r) => {
                push_json_str(&mut b, &r.ts.text);
                b.push_str(",\"ReceivedFromManifestNumber\":");
                push_json_str(&mut b, &r.manifest);
                b.push_str(",\"ReceivedFromFacilityLicenseNumber\":");
                push_json_str(&mut b, &r.from);
                b.push_str(",\"ReceivedFromFacilityName\":");
                push_json_str(&mut b, &r.from_name);
            }
            None => b.push_str(
                "null,\"ReceivedFromManifestNumber\":null,\
                 \"ReceivedFromFacilityLicenseNumber\":null,\"ReceivedFromFacilityName\":null",
            ),
        }
        b.push_str(",\"IsOnHold\":false,\"ArchivedDate\":");
        b.push_str(if p.sentinels { "\"0001-01-01T00:00:00+00:00\"" } else { "null" });
        let _ = write!(b, ",\"IsFinished\":{},\"FinishedDate\":", p.finished.is_some());
        match &p.finished {
            Some(f) => push_json_str(&mut b, &f.text),
            None if p.sentinels => push_json_str(&mut b, SENTINEL),
            None => b.push_str("null"),
        }
        b.push_str(",\"LastModified\":");
        let lm = p.modified.as_ref().expect("finalized");
        if second {
            let t = lm.lo + self.rng.range(60, 7200) * US;
            let lm2 = self.render(t, Shape::Micros);
            push_json_str(&mut b, &lm2.text);
        } else {
            push_json_str(&mut b, &lm.text);
        }
        let item_id = p.strain as u64 * 100 + p.prod.code();
        let _ = write!(b, ",\"Item\":{{\"Id\":{item_id},\"Name\":");
        push_json_str(&mut b, &p.item_name());
        b.push_str(",\"ProductCategoryName\":");
        push_json_str(&mut b, p.category());
        b.push_str(",\"ProductCategoryType\":0,\"QuantityType\":");
        let (qt_name, qt_num) = p.unit.quantity_type();
        if self.qtype_numeric {
            let _ = write!(b, "{qt_num}");
        } else {
            push_json_str(&mut b, qt_name);
        }
        b.push_str(",\"DefaultLabTestingState\":0,\"UnitOfMeasureName\":");
        push_json_str(&mut b, p.unit.name());
        let _ = write!(
            b,
            ",\"ApprovalStatus\":0,\"ApprovalStatusDateTime\":\"{SENTINEL}\",\"StrainId\":{},\
             \"StrainName\":",
            p.strain + 1
        );
        push_json_str(&mut b, STRAINS[p.strain]);
        b.push_str("}}");
        let record = self.pkg_w.push(&b)?;
        self.buf = b;
        self.packages += 1;
        if let Some(r) = &p.reject {
            let (column, reason) = match r {
                PkgReject::BadQty(_, reason) => ("Quantity", *reason),
                PkgReject::NoLabel(_) => ("Label", "missing label"),
            };
            let file = self.pkg_w.rel();
            self.rejects.push(RejectRow { file, record, column, reason });
        }
        Ok(())
    }

    fn write_adj(&mut self, p: &Pkg, a: &Adj) -> Result<()> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        self.adj_id += 1;
        let _ = write!(
            b,
            "{{\"Id\":{},\"PackageId\":{},\"PackageLabel\":",
            self.adj_id,
            (self.idx as u64 + 1) * 1_000_000_000_000 + p.seq
        );
        push_json_str(&mut b, &p.label);
        b.push_str(",\"ItemName\":");
        push_json_str(&mut b, &p.item_name());
        b.push_str(",\"ItemCategoryName\":");
        push_json_str(&mut b, p.category());
        b.push_str(",\"AdjustmentQuantity\":");
        push_qty(&mut b, a.m, true);
        b.push_str(",\"AdjustmentUnitOfMeasureName\":");
        push_json_str(&mut b, p.unit.name());
        b.push_str(",\"AdjustmentUnitOfMeasureAbbreviation\":");
        push_json_str(&mut b, p.unit.abbr());
        b.push_str(",\"AdjustmentReasonName\":");
        push_json_str(&mut b, a.reason);
        match a.note {
            Note::Text(s) => {
                b.push_str(",\"AdjustmentNote\":");
                push_json_str(&mut b, s);
            }
            Note::Empty => b.push_str(",\"AdjustmentNote\":\"\""),
            Note::Spaces => b.push_str(",\"AdjustmentNote\":\"   \""),
            Note::Null => b.push_str(",\"AdjustmentNote\":null"),
            Note::Missing => {}
        }
        b.push_str(",\"AdjustmentDate\":");
        if a.bad_date {
            b.push_str("\"not-a-date\"");
        } else {
            push_json_str(&mut b, &a.ts.text);
        }
        b.push_str(",\"PackagedDate\":");
        push_json_str(&mut b, &p.packaged.text);
        b.push_str(",\"AdjustedByUserName\":");
        push_json_str(&mut b, a.user);
        b.push_str(",\"PackageLabTestResultExpirationDateTime\":null}");
        let record = self.adj_w.push(&b)?;
        self.buf = b;
        if a.bad_date {
            let file = self.adj_w.rel();
            self.rejects.push(RejectRow {
                file,
                record,
                column: "AdjustmentDate",
                reason: "unparseable date",
            });
        } else if !matches!(a.note, Note::Text(_)) {
            self.truth(R_ADJ_NO_NOTE, &p.label);
        }
        Ok(())
    }

    fn write_hist(&mut self, p: &Pkg, h: &Hist) -> Result<()> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        b.push_str("{\"PackageLabel\":");
        push_json_str(&mut b, &p.label);
        b.push_str(",\"ActualDate\":");
        push_json_str(&mut b, &h.actual.text);
        b.push_str(",\"RecordedDateTime\":");
        match &h.recorded {
            HistRec::Ts(t) => push_json_str(&mut b, &t.text),
            HistRec::BadNumber => b.push_str("12345"),
            HistRec::BadObject => {
                b.push_str("{\"$date\":");
                push_json_str(&mut b, &h.actual.text);
                b.push('}');
            }
        }
        b.push_str(",\"Descriptions\":[");
        push_json_str(&mut b, &h.desc);
        b.push_str("],\"UserName\":");
        push_json_str(&mut b, h.user);
        b.push('}');
        let record = self.hist_w.push(&b)?;
        self.buf = b;
        match &h.recorded {
            HistRec::Ts(r) => self.eval_lag(&p.label, &h.actual, r),
            _ => {
                let file = self.hist_w.rel();
                self.rejects.push(RejectRow {
                    file,
                    record,
                    column: "RecordedDateTime",
                    reason: "wrong JSON type",
                });
            }
        }
        Ok(())
    }

    fn write_receipt(&mut self, fam: &Family, r: &Receipt) -> Result<()> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        self.receipt_seq += 1;
        let id = (self.idx as u64 + 1) * 1_000_000_000 + self.receipt_seq;
        let _ = write!(
            b,
            "{{\"Id\":{id},\"ReceiptNumber\":\"{id:012}\",\"ExternalReceiptNumber\":\"POS-{}\",\
             \"SalesDateTime\":",
            self.receipt_seq
        );
        push_json_str(&mut b, &r.sales.text);
        let total: i64 = r.txs.len() as i64 * self.rng.range(1500, 6000);
        let _ = write!(
            b,
            ",\"SalesCustomerType\":\"Consumer\",\"PatientLicenseNumber\":null,\
             \"CaregiverLicenseNumber\":null,\"IdentificationMethod\":null,\"TotalPackages\":{},\
             \"TotalPrice\":{}.{:02},\"Transactions\":[",
            r.txs.len(),
            total / 100,
            total % 100
        );
        for (k, tx) in r.txs.iter().enumerate() {
            let p = &fam.pkgs[tx.pkg];
            if k > 0 {
                b.push(',');
            }
            let _ = write!(
                b,
                "{{\"PackageId\":{},\"PackageLabel\":",
                (self.idx as u64 + 1) * 1_000_000_000_000 + p.seq
            );
            push_json_str(&mut b, &p.label);
            b.push_str(",\"ProductName\":");
            push_json_str(&mut b, &p.item_name());
            b.push_str(",\"ProductCategoryName\":");
            push_json_str(&mut b, p.category());
            b.push_str(",\"QuantitySold\":");
            if self.qty_string {
                b.push('"');
                push_qty(&mut b, tx.m, false);
                b.push('"');
            } else {
                push_qty(&mut b, tx.m, true);
            }
            b.push_str(",\"UnitOfMeasureName\":");
            push_json_str(&mut b, p.unit.name());
            b.push_str(",\"UnitOfMeasureAbbreviation\":");
            push_json_str(&mut b, p.unit.abbr());
            let price = self.rng.range(1500, 6000);
            let _ = write!(b, ",\"TotalAmount\":{}.{:02}}}", price / 100, price % 100);
        }
        b.push_str("],\"IsFinal\":true,\"ArchivedDate\":null,\"RecordedDateTime\":");
        push_json_str(&mut b, r.recorded.as_ref().map_or(SENTINEL, |t| t.text.as_str()));
        b.push_str(",\"RecordedByUserName\":");
        push_json_str(&mut b, self.user());
        b.push_str(",\"LastModified\":");
        let lm = r.recorded.as_ref().map_or(r.t, |t| t.lo) + self.rng.range(1, 3600) * US;
        let lm = self.render(lm, Shape::Micros);
        push_json_str(&mut b, &lm.text);
        b.push('}');
        self.sale_w.push(&b)?;
        self.buf = b;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).expect("readable") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(dir).expect("inside").display().to_string();
                    out.push((rel, fs::read(&p).expect("readable")));
                }
            }
        }
        out.sort();
        out
    }

    fn small(dir: &Path, seed: u64) -> GenerateOptions {
        GenerateOptions { licenses: 4, packages: 3000, seed, ..GenerateOptions::new(dir) }
    }

    #[test]
    fn generate_is_deterministic() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        let sa = run(&small(a.path(), 7)).expect("generate");
        let sb = run(&small(b.path(), 7)).expect("generate");
        assert_eq!(sa, sb);
        let (ta, tb) = (read_tree(a.path()), read_tree(b.path()));
        assert!(!ta.is_empty());
        assert!(ta == tb, "same seed must give the same bytes");
        let c = tempfile::tempdir().expect("tempdir");
        run(&small(c.path(), 8)).expect("generate");
        assert!(read_tree(c.path()) != ta, "another seed gives other data");
    }

    #[test]
    fn generate_plants_every_rule() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stats = run(&small(dir.path(), 1)).expect("generate");
        assert_eq!(stats.licenses, 4);
        assert!(stats.packages >= 3000);
        let truth = fs::read_to_string(dir.path().join("truth.csv")).expect("truth");
        let mut lines = truth.lines();
        assert_eq!(lines.next(), Some("rule_id,license,package_label,severity"));
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), stats.planted);
        for rule in RULE_IDS {
            assert!(
                rows.iter().any(|r| r.starts_with(&format!("{rule},"))),
                "{rule} missing from truth.csv"
            );
        }
        let mut sorted = rows.clone();
        sorted.sort_unstable();
        assert_eq!(rows, sorted);
        let rejects = fs::read_to_string(dir.path().join("expected_rejects.csv")).expect("rejects");
        assert!(rejects.lines().count() >= 7);
        let counts: Vec<_> = fs::read_dir(dir.path().join("counts")).expect("counts").collect();
        assert_eq!(counts.len(), 3, "every license but one is counted");
    }

    #[test]
    fn naive_times_follow_spec_dst_rules() {
        let c = Clock { tz: chrono_tz::America::Los_Angeles };
        let n = |d: u32, m: u32, h, mi| {
            NaiveDate::from_ymd_opt(2026, m, d)
                .and_then(|x| x.and_hms_opt(h, mi, 0))
                .expect("valid")
        };
        // repeated hour: earlier instant (PDT)
        assert_eq!(c.resolve(n(1, 11, 1, 30)), c.at(2026, 11, 1, 0, 30) + HOUR);
        // skipped hour: moved forward by the gap
        assert_eq!(c.resolve(n(8, 3, 2, 30)), c.at(2026, 3, 8, 3, 30));
        let d = c.render(c.at(2026, 11, 1, 12, 0), Shape::Date);
        assert_eq!(d.text, "2026-11-01");
        assert_eq!(d.hi - d.lo + 1, 25 * HOUR);
    }
}

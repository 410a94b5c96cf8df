//! Value normalisers for ingest (SPEC 2.3): timestamps in their many shapes to UTC
//! microseconds (DST-aware, facility time zone), units of measure to a base unit per
//! quantity type, `Item.QuantityType`, and numbers and booleans that arrive as strings.
//! Hand-written byte parsers: these run per field on millions of records.

use std::cell::Cell;

use chrono::{DateTime, NaiveDateTime, Offset, TimeZone};
use chrono_tz::{GapInfo, Tz};

/// A time read from the input, in UTC microseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Earliest instant the value can mean (date-only: start of the local day).
    pub start_us: i64,
    /// Latest instant (date-only: last microsecond of the local day; else == start_us).
    pub end_us: i64,
    /// The value had no time part.
    pub date_only: bool,
    /// The facility-local calendar date, as days since 1970-01-01 (what polars Date stores).
    pub local_date: i32,
}

const UNPARSEABLE: &str = "unparseable timestamp";
const SECS_PER_DAY: i64 = 86_400;
const US_PER_SEC: i64 = 1_000_000;

/// The pieces of a timestamp, before range checks.
struct Parts {
    year: u32,
    month: u32,
    day: u32,
    /// Hour, minute, second, microsecond (fraction truncated to µs); None when date-only.
    time: Option<Clock>,
    /// Explicit UTC offset in seconds (east positive).
    offset: Option<i32>,
}

/// Parse a timestamp. Ok(None) for blank, and for the Metrc null sentinel (any value whose
/// date part is 0001-01-01, e.g. "0001-01-01T00:00:00+00:00").
/// Err(reason) for anything unparseable; the reason is a short human phrase like
/// "unparseable timestamp" or "month out of range".
pub fn parse_timestamp(raw: &str, tz: Tz) -> Result<Option<Stamp>, &'static str> {
    let s = raw.trim().as_bytes();
    if s.is_empty() {
        return Ok(None);
    }
    let p = if s.len() >= 10 && s[4] == b'-' {
        parse_iso(s)?
    } else if s.len() >= 8 && s[..6].contains(&b'/') {
        parse_us(s)?
    } else {
        return Err(UNPARSEABLE);
    };
    if (p.year, p.month, p.day) == (1, 1, 1) {
        return Ok(None);
    }
    if p.year == 0 {
        return Err("year out of range");
    }
    if !(1..=12).contains(&p.month) {
        return Err("month out of range");
    }
    if p.day == 0 || p.day > days_in_month(p.year, p.month) {
        return Err("day out of range");
    }
    let days = days_from_civil(i64::from(p.year), p.month, p.day);
    let day_start = days * SECS_PER_DAY;
    // Years 1..=9999 keep `days` well inside i32 (about ±3.7 million).
    let local_date = days as i32;
    let Some((h, mi, sec, us)) = p.time else {
        let start = local_to_utc(tz, day_start)?;
        let next = local_to_utc(tz, day_start + SECS_PER_DAY)?;
        return Ok(Some(Stamp {
            start_us: start * US_PER_SEC,
            end_us: next * US_PER_SEC - 1,
            date_only: true,
            local_date,
        }));
    };
    if h > 23 {
        return Err("hour out of range");
    }
    if mi > 59 {
        return Err("minute out of range");
    }
    if sec > 59 {
        return Err("second out of range");
    }
    let local = day_start + i64::from(h * 3600 + mi * 60 + sec);
    let (utc, local_date) = match p.offset {
        None => (local_to_utc(tz, local)?, local_date),
        Some(off) => {
            let utc = local - i64::from(off);
            let tz_off = utc_offset(tz, utc)?;
            (utc, (utc + i64::from(tz_off)).div_euclid(SECS_PER_DAY) as i32)
        }
    };
    let at = utc * US_PER_SEC + i64::from(us);
    Ok(Some(Stamp { start_us: at, end_us: at, date_only: false, local_date }))
}

/// `YYYY-MM-DD`, optionally followed by `T`/space, `HH:MM[:SS[.fffffffff]]` and an optional
/// offset (`Z`, `±HH`, `±HHMM`, `±HH:MM`, optionally after one space).
fn parse_iso(s: &[u8]) -> Result<Parts, &'static str> {
    let year = digits(s, 0, 4)?;
    if s[7] != b'-' {
        return Err(UNPARSEABLE);
    }
    let month = digits(s, 5, 2)?;
    let day = digits(s, 8, 2)?;
    let mut p = Parts { year, month, day, time: None, offset: None };
    if s.len() == 10 {
        return Ok(p);
    }
    if !matches!(s[10], b'T' | b't' | b' ') {
        return Err(UNPARSEABLE);
    }
    let (time, mut i) = parse_clock(s, 11, 2)?;
    p.time = Some(time);
    if i == s.len() {
        return Ok(p);
    }
    match s[i] {
        b'Z' | b'z' => {
            p.offset = Some(0);
            i += 1;
        }
        _ => {
            if s[i] == b' ' {
                i += 1;
            }
            let (off, next) = parse_offset(s, i)?;
            p.offset = Some(off);
            i = next;
        }
    }
    if i != s.len() {
        return Err(UNPARSEABLE);
    }
    Ok(p)
}

/// US spreadsheet shape: `M/D/YYYY`, optionally followed by spaces and `H:MM[:SS[.f]]`,
/// optionally followed by `AM`/`PM` (with or without a space). Naive local time.
fn parse_us(s: &[u8]) -> Result<Parts, &'static str> {
    let (month, i) = var_digits(s, 0, 2)?;
    let i = expect(s, i, b'/')?;
    let (day, i) = var_digits(s, i, 2)?;
    let i = expect(s, i, b'/')?;
    let year = digits(s, i, 4)?;
    let mut i = i + 4;
    let mut p = Parts { year, month, day, time: None, offset: None };
    if i == s.len() {
        return Ok(p);
    }
    if s[i] != b' ' {
        return Err(UNPARSEABLE);
    }
    while i < s.len() && s[i] == b' ' {
        i += 1;
    }
    let ((mut h, mi, sec, us), mut i) = parse_clock(s, i, 1)?;
    while i < s.len() && s[i] == b' ' {
        i += 1;
    }
    if i < s.len() {
        if s.len() - i != 2 || !s[i + 1].eq_ignore_ascii_case(&b'm') {
            return Err(UNPARSEABLE);
        }
        let pm = match s[i].to_ascii_lowercase() {
            b'a' => false,
            b'p' => true,
            _ => return Err(UNPARSEABLE),
        };
        if !(1..=12).contains(&h) {
            return Err("hour out of range");
        }
        h = match (h, pm) {
            (12, false) => 0,
            (12, true) => 12,
            (h, false) => h,
            (h, true) => h + 12,
        };
        i = s.len();
    }
    debug_assert_eq!(i, s.len());
    p.time = Some((h, mi, sec, us));
    Ok(p)
}

/// Hour, minute, second, microsecond.
type Clock = (u32, u32, u32, u32);

/// `H:MM[:SS[.f{1,9}]]` at `i`, the hour having `min_h..=2` digits. Returns the fields and
/// the index just past them.
fn parse_clock(s: &[u8], i: usize, min_h: usize) -> Result<(Clock, usize), &'static str> {
    let (h, end) = var_digits(s, i, 2)?;
    if end - i < min_h {
        return Err(UNPARSEABLE);
    }
    let i = expect(s, end, b':')?;
    let mi = digits(s, i, 2)?;
    let mut i = i + 2;
    let mut sec = 0;
    let mut us = 0;
    if i < s.len() && s[i] == b':' {
        sec = digits(s, i + 1, 2)?;
        i += 3;
        if i < s.len() && (s[i] == b'.' || s[i] == b',') {
            i += 1;
            let start = i;
            while i < s.len() && s[i].is_ascii_digit() {
                if i - start < 6 {
                    us = us * 10 + u32::from(s[i] - b'0');
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 || n > 9 {
                return Err(UNPARSEABLE);
            }
            for _ in n..6 {
                us *= 10;
            }
        }
    }
    Ok(((h, mi, sec, us), i))
}

/// `±HH`, `±HHMM` or `±HH:MM` at `i`; seconds east of UTC and the index past it.
fn parse_offset(s: &[u8], i: usize) -> Result<(i32, usize), &'static str> {
    let sign = match s.get(i) {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(UNPARSEABLE),
    };
    let h = digits(s, i + 1, 2)?;
    let mut j = i + 3;
    let mut m = 0;
    if j < s.len() {
        if s[j] == b':' {
            j += 1;
        }
        m = digits(s, j, 2)?;
        j += 2;
    }
    if h > 23 || m > 59 {
        return Err("offset out of range");
    }
    Ok((sign * (h * 3600 + m * 60) as i32, j))
}

/// Exactly `n` ASCII digits at `i`.
fn digits(s: &[u8], i: usize, n: usize) -> Result<u32, &'static str> {
    let b = s.get(i..i + n).ok_or(UNPARSEABLE)?;
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(UNPARSEABLE);
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Ok(v)
}

/// One to `max` ASCII digits at `i`; the value and the index past them.
fn var_digits(s: &[u8], i: usize, max: usize) -> Result<(u32, usize), &'static str> {
    let mut j = i;
    let mut v = 0u32;
    while j < s.len() && j - i < max && s[j].is_ascii_digit() {
        v = v * 10 + u32::from(s[j] - b'0');
        j += 1;
    }
    if j == i { Err(UNPARSEABLE) } else { Ok((v, j)) }
}

fn expect(s: &[u8], i: usize, c: u8) -> Result<usize, &'static str> {
    if s.get(i) == Some(&c) { Ok(i + 1) } else { Err(UNPARSEABLE) }
}

fn is_leap(y: u32) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Day-offset caches: most days have one UTC offset all day, so the time-zone lookup (a
/// binary search in chrono-tz) is done once per (zone, day) per thread. Direct-mapped by day.
const CACHE_SLOTS: usize = 1024;

#[derive(Clone, Copy)]
struct DayOffset {
    tz: Tz,
    /// Days since the epoch; `i64::MIN` marks an empty slot.
    day: i64,
    /// Seconds east of UTC, in force for the whole day.
    off: i32,
}

type DayCache = [Cell<DayOffset>; CACHE_SLOTS];

const EMPTY_SLOT: DayOffset = DayOffset { tz: Tz::UTC, day: i64::MIN, off: 0 };

thread_local! {
    /// Local (wall-clock) days whose offset is the same from their first to last second.
    static LOCAL_DAYS: DayCache = const { [const { Cell::new(EMPTY_SLOT) }; CACHE_SLOTS] };
    /// UTC days whose offset is the same from their first to last second.
    static UTC_DAYS: DayCache = const { [const { Cell::new(EMPTY_SLOT) }; CACHE_SLOTS] };
}

fn cached(
    cache: &'static std::thread::LocalKey<DayCache>,
    tz: Tz,
    day: i64,
    compute: impl FnOnce() -> Option<i32>,
) -> Option<i32> {
    cache.with(|slots| {
        let slot = &slots[(day as usize) & (CACHE_SLOTS - 1)];
        let hit = slot.get();
        if hit.day == day && hit.tz == tz {
            return Some(hit.off);
        }
        let off = compute()?;
        slot.set(DayOffset { tz, day, off });
        Some(off)
    })
}

fn naive(secs: i64) -> Result<NaiveDateTime, &'static str> {
    DateTime::from_timestamp(secs, 0).map(|d| d.naive_utc()).ok_or("year out of range")
}

/// A naive local time (seconds since the local epoch) to UTC seconds: a time in a repeated
/// hour is the earlier instant, one in a skipped hour moves forward by the gap.
fn local_to_utc(tz: Tz, local: i64) -> Result<i64, &'static str> {
    let day = local.div_euclid(SECS_PER_DAY);
    // A day whose first and last second have the same single offset has it throughout
    // (no zone changes its offset twice within one day); other days take the exact path.
    let whole_day = cached(&LOCAL_DAYS, tz, day, || {
        let first = single_offset(tz, day * SECS_PER_DAY)?;
        let last = single_offset(tz, day * SECS_PER_DAY + SECS_PER_DAY - 1)?;
        (first == last).then_some(first)
    });
    let off = match whole_day {
        Some(off) => off,
        None => local_offset(tz, local)?,
    };
    Ok(local - i64::from(off))
}

/// The offset to subtract from `local` to get UTC, per the DST rules above.
fn local_offset(tz: Tz, local: i64) -> Result<i32, &'static str> {
    use chrono::LocalResult;
    let ndt = naive(local)?;
    Ok(match tz.offset_from_local_datetime(&ndt) {
        LocalResult::Single(o) => o.fix().local_minus_utc(),
        LocalResult::Ambiguous(a, b) => a.fix().local_minus_utc().max(b.fix().local_minus_utc()),
        LocalResult::None => match GapInfo::new(&ndt, &tz).and_then(|g| g.begin) {
            // Read with the offset in force before the gap, i.e. moved forward by the gap.
            Some((_, before)) => before.fix().local_minus_utc(),
            None => {
                tz.offset_from_utc_datetime(&naive(local - SECS_PER_DAY)?).fix().local_minus_utc()
            }
        },
    })
}

fn single_offset(tz: Tz, local: i64) -> Option<i32> {
    let ndt = naive(local).ok()?;
    tz.offset_from_local_datetime(&ndt).single().map(|o| o.fix().local_minus_utc())
}

/// The offset of `tz` at a UTC instant (seconds).
fn utc_offset(tz: Tz, utc: i64) -> Result<i32, &'static str> {
    let at = |secs| naive(secs).map(|n| tz.offset_from_utc_datetime(&n).fix().local_minus_utc());
    let day = utc.div_euclid(SECS_PER_DAY);
    let whole_day = cached(&UTC_DAYS, tz, day, || {
        let first = at(day * SECS_PER_DAY).ok()?;
        let last = at(day * SECS_PER_DAY + SECS_PER_DAY - 1).ok()?;
        (first == last).then_some(first)
    });
    match whole_day {
        Some(off) => Ok(off),
        None => at(utc),
    }
}

/// What a quantity measures; each has a base unit that every quantity is converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantityType {
    Weight,
    Each,
    Volume,
}

impl QuantityType {
    /// "weight" | "each" | "volume".
    pub fn as_str(self) -> &'static str {
        match self {
            QuantityType::Weight => "weight",
            QuantityType::Each => "each",
            QuantityType::Volume => "volume",
        }
    }

    /// "g" | "ea" | "ml".
    pub fn base_unit(self) -> &'static str {
        match self {
            QuantityType::Weight => "g",
            QuantityType::Each => "ea",
            QuantityType::Volume => "ml",
        }
    }
}

/// A unit of measure: its canonical Metrc name, quantity type and size in base units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    /// Canonical Metrc name: "Grams", "Kilograms", "Milligrams", "Ounces", "Pounds", "Each",
    /// "Fluid Ounces", "Gallons", "Liters", "Milliliters", "Pints", "Quarts".
    pub name: &'static str,
    pub qtype: QuantityType,
    /// Base units per 1 of this unit.
    pub factor: f64,
}

const fn unit(name: &'static str, qtype: QuantityType, factor: f64) -> Unit {
    Unit { name, qtype, factor }
}

const GRAMS: Unit = unit("Grams", QuantityType::Weight, 1.0);
const KILOGRAMS: Unit = unit("Kilograms", QuantityType::Weight, 1000.0);
const MILLIGRAMS: Unit = unit("Milligrams", QuantityType::Weight, 0.001);
const OUNCES: Unit = unit("Ounces", QuantityType::Weight, 28.349523125);
const POUNDS: Unit = unit("Pounds", QuantityType::Weight, 453.59237);
const EACH: Unit = unit("Each", QuantityType::Each, 1.0);
const FLUID_OUNCES: Unit = unit("Fluid Ounces", QuantityType::Volume, 29.5735295625);
const GALLONS: Unit = unit("Gallons", QuantityType::Volume, 3785.411784);
const LITERS: Unit = unit("Liters", QuantityType::Volume, 1000.0);
const MILLILITERS: Unit = unit("Milliliters", QuantityType::Volume, 1.0);
const PINTS: Unit = unit("Pints", QuantityType::Volume, 473.176473);
const QUARTS: Unit = unit("Quarts", QuantityType::Volume, 946.352946);

/// Case-insensitive, trimmed; names singular or plural (Gram/Grams, Litre/Liter/Litres),
/// abbreviations g, kg, mg, oz, lb, lbs, ea, each, fl oz, fl. oz, floz, gal, l, ml, pt, qt.
/// None if unknown or blank. Spaces and dots inside are ignored ("fl.oz.", "Fluid Ounces").
pub fn parse_unit(raw: &str) -> Option<Unit> {
    let mut buf = [0u8; 16];
    let mut n = 0;
    for &c in raw.as_bytes() {
        if c == b'.' || c.is_ascii_whitespace() {
            continue;
        }
        *buf.get_mut(n)? = c.to_ascii_lowercase();
        n += 1;
    }
    Some(match &buf[..n] {
        b"g" | b"gram" | b"grams" => GRAMS,
        b"kg" | b"kilogram" | b"kilograms" => KILOGRAMS,
        b"mg" | b"milligram" | b"milligrams" => MILLIGRAMS,
        b"oz" | b"ounce" | b"ounces" => OUNCES,
        b"lb" | b"lbs" | b"pound" | b"pounds" => POUNDS,
        b"ea" | b"each" => EACH,
        b"floz" | b"fluidounce" | b"fluidounces" => FLUID_OUNCES,
        b"gal" | b"gallon" | b"gallons" => GALLONS,
        b"l" | b"liter" | b"liters" | b"litre" | b"litres" => LITERS,
        b"ml" | b"milliliter" | b"milliliters" | b"millilitre" | b"millilitres" => MILLILITERS,
        b"pt" | b"pint" | b"pints" => PINTS,
        b"qt" | b"quart" | b"quarts" => QUARTS,
        _ => return None,
    })
}

/// Item.QuantityType: "WeightBased"/"CountBased"/"VolumeBased" (case-insensitive, also
/// "Weight", "Count", "Each", "Volume"), or the numeric codes "0"=CountBased,
/// "1"=WeightBased, "2"=VolumeBased. None otherwise.
pub fn parse_item_quantity_type(raw: &str) -> Option<QuantityType> {
    let s = raw.trim();
    let is = |name: &str| s.eq_ignore_ascii_case(name);
    if is("WeightBased") || is("Weight") || s == "1" {
        Some(QuantityType::Weight)
    } else if is("CountBased") || is("Count") || is("Each") || s == "0" {
        Some(QuantityType::Each)
    } else if is("VolumeBased") || is("Volume") || s == "2" {
        Some(QuantityType::Volume)
    } else {
        None
    }
}

/// A quantity given as a string ("12.5", " -3 ", "1e3"). Err("not a number") /
/// Err("not a finite number") for NaN, inf, garbage, blank.
pub fn parse_number(raw: &str) -> Result<f64, &'static str> {
    match raw.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err("not a finite number"),
        Err(_) => Err("not a number"),
    }
}

/// A JSON/CSV boolean: true/false/1/0/yes/no/y/n/t/f case-insensitive (trimmed).
/// Err("not a boolean") otherwise.
pub fn parse_bool(raw: &str) -> Result<bool, &'static str> {
    let s = raw.trim();
    let is = |name: &str| s.eq_ignore_ascii_case(name);
    if is("true") || is("1") || is("yes") || is("y") || is("t") {
        Ok(true)
    } else if is("false") || is("0") || is("no") || is("n") || is("f") {
        Ok(false)
    } else {
        Err("not a boolean")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Timelike};
    use chrono_tz::America::Los_Angeles as LA;

    const HOUR_US: i64 = 3_600 * US_PER_SEC;

    /// UTC microseconds of a civil UTC date-time, computed by chrono (independent of the parser).
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|x| x.and_hms_opt(h, mi, s))
            .map(|x| x.and_utc().timestamp_micros())
            .unwrap()
    }

    fn day(y: i32, mo: u32, d: u32) -> i32 {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        (NaiveDate::from_ymd_opt(y, mo, d).unwrap() - epoch).num_days() as i32
    }

    fn ts(raw: &str) -> Stamp {
        ts_in(raw, LA)
    }

    fn ts_in(raw: &str, tz: Tz) -> Stamp {
        match parse_timestamp(raw, tz) {
            Ok(Some(s)) => s,
            other => panic!("{raw:?} -> {other:?}"),
        }
    }

    fn at(us: i64, local_date: i32) -> Stamp {
        Stamp { start_us: us, end_us: us, date_only: false, local_date }
    }

    fn err(raw: &str) -> &'static str {
        match parse_timestamp(raw, LA) {
            Err(e) => e,
            other => panic!("{raw:?} should fail, got {other:?}"),
        }
    }

    #[test]
    fn helpers_agree_with_known_values() {
        assert_eq!(utc(2025, 10, 3, 7, 0, 0), 1_759_474_800 * US_PER_SEC);
        assert_eq!(day(2025, 10, 3), 20_364);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2025, 10, 3), 20_364);
        assert_eq!(days_from_civil(1, 1, 2), -719_161);
        assert_eq!(days_from_civil(9999, 12, 31), 2_932_896);
        assert_eq!(days_from_civil(2000, 2, 29), i64::from(day(2000, 2, 29)));
    }

    #[test]
    fn date_only() {
        let s = ts("2025-10-03");
        assert_eq!(s.start_us, 1_759_474_800 * US_PER_SEC); // 07:00Z (PDT)
        assert_eq!(s.end_us, utc(2025, 10, 4, 7, 0, 0) - 1);
        assert!(s.date_only);
        assert_eq!(s.local_date, 20_364);
        assert_eq!(ts("  2025-10-03 \t"), s);
        // Winter: PST, -08:00.
        let w = ts("2025-12-25");
        assert_eq!(w.start_us, utc(2025, 12, 25, 8, 0, 0));
        assert_eq!(w.end_us, utc(2025, 12, 26, 8, 0, 0) - 1);
        assert_eq!(w.local_date, day(2025, 12, 25));
        // Other zones.
        let u = ts_in("2025-10-03", chrono_tz::UTC);
        assert_eq!(
            (u.start_us, u.end_us),
            (utc(2025, 10, 3, 0, 0, 0), utc(2025, 10, 4, 0, 0, 0) - 1)
        );
        let k = ts_in("2025-10-03", chrono_tz::Asia::Kolkata);
        assert_eq!(k.start_us, utc(2025, 10, 2, 18, 30, 0));
        assert_eq!(k.local_date, 20_364);
    }

    #[test]
    fn naive_local_shapes() {
        let d = day(2025, 10, 3);
        let base = utc(2025, 10, 4, 0, 35, 45); // 17:35:45 PDT
        assert_eq!(ts("2025-10-03T17:35:45"), at(base, d));
        assert_eq!(ts("2025-10-03t17:35:45"), at(base, d));
        assert_eq!(ts("2025-10-03 17:35:45"), at(base, d));
        assert_eq!(ts("2025-10-03T17:35:45.000"), at(base, d));
        assert_eq!(ts("2025-10-03T17:35:45.804361"), at(base + 804_361, d));
        assert_eq!(ts("2025-10-03T17:35:45.5"), at(base + 500_000, d));
        assert_eq!(ts("2025-10-03T17:35:45.12"), at(base + 120_000, d));
        assert_eq!(ts("2025-10-03T17:35:45.1234567"), at(base + 123_456, d));
        assert_eq!(ts("2025-10-03T17:35:45.999999999"), at(base + 999_999, d));
        assert_eq!(ts("2025-10-03T17:35:45,25"), at(base + 250_000, d));
        assert_eq!(ts("2025-10-03T17:35"), at(base - 45 * US_PER_SEC, d));
        assert_eq!(ts("2025-10-03 17:35"), at(base - 45 * US_PER_SEC, d));
        assert_eq!(ts("2025-10-03T00:00:00"), at(utc(2025, 10, 3, 7, 0, 0), d));
        assert_eq!(ts("2025-10-03T23:59:59"), at(utc(2025, 10, 4, 6, 59, 59), d));
        // Local date of a naive value is its own date even when the UTC date differs.
        assert_eq!(ts("2025-10-03T23:00").local_date, d);
        assert_eq!(
            ts_in("2025-10-03T17:35:45", chrono_tz::UTC),
            at(utc(2025, 10, 3, 17, 35, 45), d)
        );
    }

    #[test]
    fn offset_shapes() {
        let d = day(2025, 10, 3);
        let z = utc(2025, 10, 3, 17, 35, 45);
        assert_eq!(ts("2025-10-03T17:35:45Z"), at(z, d));
        assert_eq!(ts("2025-10-03T17:35:45z"), at(z, d));
        assert_eq!(ts("2025-10-03T17:35:45+00:00"), at(z, d));
        assert_eq!(ts("2025-10-03T17:35:45+0000"), at(z, d));
        assert_eq!(ts("2025-10-03T17:35:45-00:00"), at(z, d));
        assert_eq!(ts("2025-10-03T17:35:45.250Z"), at(z + 250_000, d));
        assert_eq!(ts("2025-10-03T17:35:45.804361+00:00"), at(z + 804_361, d));
        assert_eq!(ts("2025-10-03T10:35:45-07:00"), at(z, d));
        assert_eq!(ts("2025-10-03T10:35:45-0700"), at(z, d));
        assert_eq!(ts("2025-10-03T10:35:45-07"), at(z, d));
        assert_eq!(ts("2025-10-03 10:35:45 -07:00"), at(z, d));
        assert_eq!(ts("2025-10-03T23:05:45+05:30"), at(z, d));
        assert_eq!(ts("2025-10-03T17:35Z"), at(z - 45 * US_PER_SEC, d));
        // The offset wins over the zone's own rules (PST offset on a PDT day).
        assert_eq!(ts("2025-10-03T09:35:45-08:00"), at(z, d));
        // The time zone does not change the instant of an offset value.
        assert_eq!(ts_in("2025-10-03T17:35:45Z", chrono_tz::Asia::Tokyo).start_us, z);
    }

    #[test]
    fn offset_local_date_crosses_midnight() {
        // 05:00Z is 22:00 PDT the day before.
        let s = ts("2025-10-03T05:00:00Z");
        assert_eq!(s.start_us, utc(2025, 10, 3, 5, 0, 0));
        assert_eq!(s.local_date, day(2025, 10, 2));
        // 06:59:59Z is 23:59:59 PDT; 07:00Z is local midnight.
        assert_eq!(ts("2025-10-03T06:59:59Z").local_date, day(2025, 10, 2));
        assert_eq!(ts("2025-10-03T07:00:00Z").local_date, day(2025, 10, 3));
        // 23:30 at -10:00 is 09:30Z next day = 02:30 PDT on Oct 4.
        let s = ts("2025-10-03T23:30:00-10:00");
        assert_eq!(s.start_us, utc(2025, 10, 4, 9, 30, 0));
        assert_eq!(s.local_date, day(2025, 10, 4));
        // In Tokyo, 20:00Z is 05:00 the next day.
        assert_eq!(
            ts_in("2025-12-31T20:00:00Z", chrono_tz::Asia::Tokyo).local_date,
            day(2026, 1, 1)
        );
        // Offset value on the fall-back night: 08:30Z and 09:30Z are both 01:30 local, Nov 1.
        assert_eq!(ts("2026-11-01T08:30:00Z").local_date, day(2026, 11, 1));
        assert_eq!(ts("2026-11-01T06:59:59Z").local_date, day(2026, 10, 31));
        assert_eq!(ts("2026-11-01T07:00:00Z").local_date, day(2026, 11, 1));
    }

    #[test]
    fn us_spreadsheet_shapes() {
        let d = day(2025, 10, 3);
        let s = ts("10/3/2025");
        assert_eq!(s, ts("2025-10-03"));
        assert!(s.date_only);
        assert_eq!(ts("10/03/2025"), s);
        assert_eq!(ts("10/03/2025 17:35"), at(utc(2025, 10, 4, 0, 35, 0), d));
        assert_eq!(ts("10/3/2025 17:35:12"), at(utc(2025, 10, 4, 0, 35, 12), d));
        assert_eq!(ts("10/3/2025 5:35 PM"), at(utc(2025, 10, 4, 0, 35, 0), d));
        assert_eq!(ts("10/3/2025 5:35PM"), at(utc(2025, 10, 4, 0, 35, 0), d));
        assert_eq!(ts("10/3/2025 5:35:12 pm"), at(utc(2025, 10, 4, 0, 35, 12), d));
        assert_eq!(ts("10/3/2025  5:35:12  Pm"), at(utc(2025, 10, 4, 0, 35, 12), d));
        assert_eq!(ts("10/3/2025 5:35 AM"), at(utc(2025, 10, 3, 12, 35, 0), d));
        assert_eq!(ts("10/3/2025 12:05 AM"), at(utc(2025, 10, 3, 7, 5, 0), d));
        assert_eq!(ts("10/3/2025 12:05 PM"), at(utc(2025, 10, 3, 19, 5, 0), d));
        assert_eq!(ts("10/3/2025 11:59:59 pm"), at(utc(2025, 10, 4, 6, 59, 59), d));
        assert_eq!(ts("10/3/2025 05:35:12.5"), at(utc(2025, 10, 3, 12, 35, 12) + 500_000, d));
        assert_eq!(ts("1/2/2026").local_date, day(2026, 1, 2)); // month first
        for three_digits in ["010/2/2026", "1/002/2026", "1/2/2026 010:30"] {
            assert!(parse_timestamp(three_digits, LA).is_err(), "{three_digits}");
        }
        assert_eq!(ts("12/31/2025").local_date, day(2025, 12, 31));
    }

    #[test]
    fn null_sentinel_and_blank() {
        for raw in [
            "",
            "   ",
            "\t\r\n",
            "0001-01-01T00:00:00+00:00",
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00",
            "0001-01-01T00:00:00.000",
            "0001-01-01 08:00:00-08:00",
            "0001-01-01",
            " 0001-01-01T00:00:00+00:00 ",
            "1/1/0001",
            "01/01/0001 12:00 AM",
        ] {
            assert_eq!(parse_timestamp(raw, LA), Ok(None), "{raw:?}");
        }
    }

    #[test]
    fn dst_spring_forward_2026_los_angeles() {
        let d = day(2026, 3, 8);
        // 02:30 does not exist; moved forward by the gap: 03:30 PDT = 10:30Z.
        assert_eq!(ts("2026-03-08T02:30"), at(1_772_965_800 * US_PER_SEC, d));
        assert_eq!(ts("2026-03-08T02:30").start_us, utc(2026, 3, 8, 10, 30, 0));
        assert_eq!(ts("2026-03-08T02:00:00").start_us, utc(2026, 3, 8, 10, 0, 0));
        assert_eq!(ts("2026-03-08T02:59:59.5").start_us, utc(2026, 3, 8, 10, 59, 59) + 500_000);
        assert_eq!(ts("3/8/2026 2:30 AM").start_us, utc(2026, 3, 8, 10, 30, 0));
        // Either side of the gap.
        assert_eq!(ts("2026-03-08T01:59:59").start_us, utc(2026, 3, 8, 9, 59, 59));
        assert_eq!(ts("2026-03-08T03:00:00").start_us, utc(2026, 3, 8, 10, 0, 0));
        assert_eq!(ts("2026-03-08T03:30:00").start_us, utc(2026, 3, 8, 10, 30, 0));
        // The day is 23 hours long.
        let s = ts("2026-03-08");
        assert_eq!(s.start_us, utc(2026, 3, 8, 8, 0, 0));
        assert_eq!(s.end_us, utc(2026, 3, 9, 7, 0, 0) - 1);
        assert_eq!(s.end_us - s.start_us + 1, 23 * HOUR_US);
        assert_eq!(s.local_date, d);
        // Neighbours are 24 hours.
        let s = ts("2026-03-07");
        assert_eq!(s.end_us - s.start_us + 1, 24 * HOUR_US);
        let s = ts("2026-03-09");
        assert_eq!(s.end_us - s.start_us + 1, 24 * HOUR_US);
    }

    #[test]
    fn dst_fall_back_2026_los_angeles() {
        let d = day(2026, 11, 1);
        // 01:30 happens twice; the earlier (PDT) instant: 08:30Z.
        assert_eq!(ts("2026-11-01T01:30"), at(1_793_521_800 * US_PER_SEC, d));
        assert_eq!(ts("2026-11-01T01:30:00").start_us, utc(2026, 11, 1, 8, 30, 0));
        assert_eq!(ts("2026-11-01T01:00:00").start_us, utc(2026, 11, 1, 8, 0, 0));
        assert_eq!(ts("2026-11-01T01:59:59").start_us, utc(2026, 11, 1, 8, 59, 59));
        assert_eq!(ts("11/1/2026 1:30 AM").start_us, utc(2026, 11, 1, 8, 30, 0));
        // Either side of the repeated hour.
        assert_eq!(ts("2026-11-01T00:59:59").start_us, utc(2026, 11, 1, 7, 59, 59));
        assert_eq!(ts("2026-11-01T02:00:00").start_us, utc(2026, 11, 1, 10, 0, 0));
        // An explicit offset picks the later copy.
        assert_eq!(ts("2026-11-01T01:30:00-08:00").start_us, utc(2026, 11, 1, 9, 30, 0));
        // The day is 25 hours long.
        let s = ts("2026-11-01");
        assert_eq!(s.start_us, utc(2026, 11, 1, 7, 0, 0));
        assert_eq!(s.end_us, utc(2026, 11, 2, 8, 0, 0) - 1);
        assert_eq!(s.end_us - s.start_us + 1, 25 * HOUR_US);
        assert_eq!(s.local_date, d);
        let s = ts("2026-10-31");
        assert_eq!(s.end_us - s.start_us + 1, 24 * HOUR_US);
    }

    #[test]
    fn dst_other_zones() {
        // London: 2026-03-29 01:30 is skipped (01:00 GMT -> 02:00 BST): 02:30 BST = 01:30Z.
        let lon = chrono_tz::Europe::London;
        assert_eq!(ts_in("2026-03-29T01:30", lon).start_us, utc(2026, 3, 29, 1, 30, 0));
        // 2026-10-25 01:30 repeats; earlier is BST: 00:30Z.
        assert_eq!(ts_in("2026-10-25T01:30", lon).start_us, utc(2026, 10, 25, 0, 30, 0));
        // Lord Howe has a 30-minute shift: 2026-10-04 02:00 -> 02:30 (+10:30 -> +11:00).
        let lh = chrono_tz::Australia::Lord_Howe;
        assert_eq!(ts_in("2026-10-04T02:15", lh).start_us, utc(2026, 10, 3, 15, 45, 0));
        let s = ts_in("2026-10-04", lh);
        assert_eq!(s.end_us - s.start_us + 1, 23 * HOUR_US + HOUR_US / 2);
    }

    /// Every quarter hour of 2026 in several zones, against chrono-tz directly (and with the
    /// per-thread day caches warm in every order).
    #[test]
    fn naive_matches_chrono_tz_all_year() {
        let zones =
            [LA, chrono_tz::Europe::London, chrono_tz::Australia::Lord_Howe, chrono_tz::UTC];
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        for step in 0..(366 * 96) {
            let local = start + chrono::Duration::minutes(15 * step);
            let raw = local.format("%Y-%m-%dT%H:%M:%S").to_string();
            for tz in zones {
                let got = ts_in(&raw, tz);
                let local_date = day(2026, 1, 1) + (step / 96) as i32;
                assert_eq!(got.local_date, local_date, "{raw} {tz}");
                match tz.from_local_datetime(&local) {
                    chrono::LocalResult::Single(x) => {
                        assert_eq!(got.start_us, x.timestamp_micros(), "{raw} {tz}")
                    }
                    chrono::LocalResult::Ambiguous(a, b) => {
                        assert_eq!(got.start_us, a.min(b).timestamp_micros(), "{raw} {tz}")
                    }
                    chrono::LocalResult::None => {
                        // Lands in local time after the gap, shifted by less than an hour + 1.
                        let back = DateTime::from_timestamp_micros(got.start_us).unwrap();
                        let shown = back.with_timezone(&tz).naive_local();
                        let shift = shown - local;
                        assert!(shift > chrono::Duration::zero(), "{raw} {tz}");
                        assert!(shift <= chrono::Duration::hours(1), "{raw} {tz}");
                        assert_eq!(shown.minute() % 15, 0, "{raw} {tz}");
                    }
                }
            }
        }
    }

    /// The per-day cache (first and last second agree) against the exact lookup, every 90
    /// minutes 1970-2040, in zones with midnight and 30-minute transitions.
    #[test]
    fn day_cache_agrees_with_exact_lookup() {
        let zones = [
            LA,
            chrono_tz::Europe::London,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::America::Santiago,
            chrono_tz::America::Havana,
            chrono_tz::Asia::Kolkata,
        ];
        let from = days_from_civil(1970, 1, 1) * SECS_PER_DAY;
        let to = days_from_civil(2040, 1, 1) * SECS_PER_DAY;
        for tz in zones {
            let mut local = from;
            while local < to {
                let exact = local - i64::from(local_offset(tz, local).unwrap());
                assert_eq!(local_to_utc(tz, local), Ok(exact), "{tz} {local}");
                let utc = local + 7;
                let want =
                    tz.offset_from_utc_datetime(&naive(utc).unwrap()).fix().local_minus_utc();
                assert_eq!(utc_offset(tz, utc), Ok(want), "{tz} {utc}");
                local += 90 * 60;
            }
        }
    }

    #[test]
    fn midnight_gap_date_only() {
        // Chile springs forward at local midnight (00:00 -> 01:00) in early September.
        let tz = chrono_tz::America::Santiago;
        let gap_day = (1..=30)
            .map(|d| NaiveDate::from_ymd_opt(2026, 9, d).unwrap())
            .find(|d| tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap()).single().is_none())
            .unwrap();
        let s = ts_in(&gap_day.format("%Y-%m-%d").to_string(), tz);
        let start = DateTime::from_timestamp_micros(s.start_us).unwrap().with_timezone(&tz);
        assert_eq!(start.naive_local(), gap_day.and_hms_opt(1, 0, 0).unwrap());
        assert_eq!(s.end_us - s.start_us + 1, 23 * HOUR_US);
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        assert_eq!(i64::from(s.local_date), (gap_day - epoch).num_days());
        // The day before ends where the gap day starts.
        let prev = ts_in(&gap_day.pred_opt().unwrap().format("%Y-%m-%d").to_string(), tz);
        assert_eq!(prev.end_us + 1, s.start_us);
    }

    #[test]
    fn offset_local_date_matches_chrono_tz() {
        let zones = [LA, chrono_tz::Asia::Tokyo, chrono_tz::Australia::Lord_Howe];
        let start = utc(2026, 1, 1, 0, 0, 0) / US_PER_SEC;
        for step in 0..(366 * 48) {
            let secs = start + step * 1800 + 7;
            let dt = DateTime::from_timestamp(secs, 0).unwrap();
            let raw = dt.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            for tz in zones {
                let got = ts_in(&raw, tz);
                assert_eq!(got.start_us, secs * US_PER_SEC);
                let want = dt.with_timezone(&tz).date_naive();
                let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
                assert_eq!(i64::from(got.local_date), (want - epoch).num_days(), "{raw} {tz}");
            }
        }
    }

    #[test]
    fn rejects() {
        assert_eq!(err("2025-02-30"), "day out of range");
        assert_eq!(err("2025-02-29"), "day out of range");
        assert_eq!(err("2100-02-29"), "day out of range");
        assert_eq!(err("2025-04-31T10:00:00"), "day out of range");
        assert_eq!(err("2025-10-00"), "day out of range");
        assert_eq!(err("2025-13-01"), "month out of range");
        assert_eq!(err("2025-00-10"), "month out of range");
        assert_eq!(err("13/1/2025"), "month out of range");
        assert_eq!(err("2/30/2025"), "day out of range");
        assert_eq!(err("0000-06-01"), "year out of range");
        assert_eq!(err("2025-10-03T24:00:00"), "hour out of range");
        assert_eq!(err("2025-10-03T25:00"), "hour out of range");
        assert_eq!(err("10/3/2025 13:00 PM"), "hour out of range");
        assert_eq!(err("10/3/2025 0:30 AM"), "hour out of range");
        assert_eq!(err("10/3/2025 24:00"), "hour out of range");
        assert_eq!(err("2025-10-03T17:60:00"), "minute out of range");
        assert_eq!(err("2025-10-03T17:35:60"), "second out of range");
        assert_eq!(err("2025-10-03T17:35:45+24:00"), "offset out of range");
        assert_eq!(err("2025-10-03T17:35:45+05:60"), "offset out of range");
        for raw in [
            "garbage",
            "yesterday",
            "2025",
            "2025-10",
            "2025-1-3",
            "2025/10/03",
            "20251003",
            "2025-10-03x",
            "2025-10-03T",
            "2025-10-03T17",
            "2025-10-03T7:35",
            "2025-10-03T17:5",
            "2025-10-03T17:35:4",
            "2025-10-03T17:35:45.",
            "2025-10-03T17:35:45.1234567890",
            "2025-10-03T17:35:45 junk",
            "2025-10-03T17:35:45Zjunk",
            "2025-10-03T17:35:45+",
            "2025-10-03T17:35:45+7",
            "2025-10-03T17:35:45+07:0",
            "2025-10-03T17:35:45+07:00:00",
            "2025-10-03T17:35:45  -07:00",
            "2025-10-03Z",
            "2025-10-03T17:35:45 PM",
            "10/3/25",
            "10/3/2025 5 PM",
            "10/3/2025 5:35 XM",
            "10/3/2025 5:35 PMX",
            "10/3/2025 5:35 P",
            "10/3/2025T17:35",
            "10/3/2025 17:35Z",
            "10-3-2025",
            "1/1/1/2025",
            "١٠/٣/٢٠٢٥",
            "2025-10-03T17:35:45\u{00e9}",
        ] {
            assert_eq!(parse_timestamp(raw, LA), Err(UNPARSEABLE), "{raw:?}");
        }
        // Surrounding whitespace is trimmed first.
        assert!(parse_timestamp("2025-10-03 ", LA).is_ok());
    }

    #[test]
    fn february_29_only_in_leap_years() {
        // Every 4th year, except centuries not divisible by 400.
        for y in [1600, 2000, 2020, 2024, 2028, 2400] {
            let s = ts(&format!("{y}-02-29"));
            assert_eq!(s.local_date, day(y, 2, 29), "{y}");
            assert_eq!(ts(&format!("{y}-03-01")).local_date, s.local_date + 1, "{y}");
            assert_eq!(ts(&format!("2/29/{y} 11:59 PM")).local_date, s.local_date, "{y}");
        }
        for y in [1700, 1900, 2023, 2025, 2026, 2100] {
            assert!(parse_timestamp(&format!("{y}-02-29"), LA).is_err(), "{y}-02-29");
            assert!(parse_timestamp(&format!("{y}-02-29T10:00:00Z"), LA).is_err(), "{y}");
            assert_eq!(ts(&format!("{y}-02-28")).local_date + 1, day(y, 3, 1), "{y}");
        }
    }

    #[test]
    fn offsets_up_to_23_59() {
        let base = utc(2025, 10, 3, 12, 0, 0);
        assert_eq!(
            ts("2025-10-03T12:00:00+23:59").start_us,
            base - (23 * 60 + 59) * 60 * US_PER_SEC
        );
        assert_eq!(
            ts("2025-10-03T12:00:00-23:59").start_us,
            base + (23 * 60 + 59) * 60 * US_PER_SEC
        );
        assert_eq!(ts("2025-10-03T12:00:00+2300").start_us, base - 23 * HOUR_US);
        for bad in ["+24:00", "-24:00", "+23:60", "+00:60"] {
            assert!(parse_timestamp(&format!("2025-10-03T12:00:00{bad}"), LA).is_err(), "{bad}");
        }
    }

    #[test]
    fn extreme_years() {
        // Year 1 (not the sentinel day): LA local mean time, -07:52:58.
        let s = ts("0001-01-02");
        assert!(s.date_only);
        assert_eq!(s.local_date, -719_161);
        assert_eq!(s.start_us, utc(1, 1, 2, 7, 52, 58));
        assert_eq!(s.end_us, utc(1, 1, 3, 7, 52, 58) - 1);
        // Midnight UTC is still 0001-01-01 in Los Angeles (the sentinel is the input's date).
        assert_eq!(ts("0001-01-02T00:00:00Z"), at(utc(1, 1, 2, 0, 0, 0), -719_162));
        assert_eq!(ts("0001-01-02T00:00:00Z").start_us, -62_135_510_400 * US_PER_SEC);
        assert_eq!(ts("0001-01-02T00:00:00+14:00").start_us, utc(1, 1, 1, 10, 0, 0));
        assert_eq!(ts("0001-01-02T03:00:00+14:00").local_date, -719_162);
        assert_eq!(ts("0001-01-02T00:00:00").start_us, utc(1, 1, 2, 7, 52, 58));
        assert_eq!(ts("1/2/0001 1:00 AM").start_us, utc(1, 1, 2, 8, 52, 58));
        assert_eq!(ts("0001-12-31").local_date, day(1, 12, 31));
        // Year 9999, to the last microsecond.
        let s = ts("9999-12-31");
        assert_eq!(s.local_date, 2_932_896);
        assert_eq!(s.start_us, utc(9999, 12, 31, 8, 0, 0));
        assert_eq!(s.end_us, utc(9999, 12, 31, 23, 59, 59) + 8 * HOUR_US + 999_999);
        let s = ts("9999-12-31T23:59:59.999999Z");
        assert_eq!(s.start_us, utc(9999, 12, 31, 23, 59, 59) + 999_999);
        assert_eq!(s.local_date, 2_932_896);
        let s = ts("9999-12-31T23:59:59.999999-12:00");
        assert_eq!(s.start_us, utc(9999, 12, 31, 23, 59, 59) + 12 * HOUR_US + 999_999);
        assert_eq!(s.local_date, 2_932_897); // 10000-01-01 03:59 local
        assert_eq!(
            ts("12/31/9999 11:59:59 PM").start_us,
            utc(9999, 12, 31, 23, 59, 59) + 8 * HOUR_US
        );
        assert_eq!(ts_in("9999-12-31", chrono_tz::Pacific::Kiritimati).local_date, 2_932_896);
    }

    #[test]
    fn units_every_name_and_abbreviation() {
        use QuantityType::*;
        let cases: &[(&[&str], &str, QuantityType, f64)] = &[
            (&["g", "G", "gram", "Gram", "grams", "Grams", "GRAMS", " g "], "Grams", Weight, 1.0),
            (&["kg", "KG", "Kg", "kilogram", "Kilograms"], "Kilograms", Weight, 1000.0),
            (&["mg", "MG", "milligram", "Milligrams"], "Milligrams", Weight, 0.001),
            (&["oz", "OZ", "oz.", "ounce", "Ounces"], "Ounces", Weight, 28.349523125),
            (&["lb", "lbs", "LBS", "lb.", "pound", "Pounds"], "Pounds", Weight, 453.59237),
            (&["ea", "EA", "each", "Each", "EACH"], "Each", Each, 1.0),
            (
                &[
                    "fl oz",
                    "fl. oz",
                    "fl. oz.",
                    "FL OZ",
                    "floz",
                    "fl.oz",
                    "fluid ounce",
                    "Fluid Ounces",
                ],
                "Fluid Ounces",
                Volume,
                29.5735295625,
            ),
            (&["gal", "GAL", "gallon", "Gallons"], "Gallons", Volume, 3785.411784),
            (&["l", "L", "liter", "Liters", "litre", "Litres", "LITER"], "Liters", Volume, 1000.0),
            (
                &["ml", "mL", "ML", "milliliter", "Milliliters", "millilitre", "Millilitres"],
                "Milliliters",
                Volume,
                1.0,
            ),
            (&["pt", "PT", "pint", "Pints"], "Pints", Volume, 473.176473),
            (&["qt", "QT", "quart", "Quarts"], "Quarts", Volume, 946.352946),
        ];
        for &(names, canon, qtype, factor) in cases {
            for raw in names {
                let u = parse_unit(raw).unwrap_or_else(|| panic!("{raw:?}"));
                assert_eq!(u, Unit { name: canon, qtype, factor }, "{raw:?}");
            }
        }
        // Conversions.
        assert_eq!(parse_unit("oz").map(|u| 2.0 * u.factor), Some(56.69904625));
        assert_eq!(parse_unit("lb").map(|u| u.factor / 16.0), Some(28.349523125));
        assert_eq!(parse_unit("gal").map(|u| u.factor / 128.0), Some(29.5735295625));
        assert_eq!(parse_unit("qt").map(|u| u.factor / 2.0), Some(473.176473));
        assert_eq!(parse_unit("kg").map(|u| 1.5 * u.factor), Some(1500.0));
        assert_eq!(parse_unit("mg").map(|u| 250.0 * u.factor), Some(0.25));
        for raw in
            ["", "  ", "grain", "gr", "tons", "cup", "fl", "ounces ounces ounces ounces", "é"]
        {
            assert_eq!(parse_unit(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn quantity_type_strings() {
        use QuantityType::*;
        assert_eq!((Weight.as_str(), Weight.base_unit()), ("weight", "g"));
        assert_eq!((Each.as_str(), Each.base_unit()), ("each", "ea"));
        assert_eq!((Volume.as_str(), Volume.base_unit()), ("volume", "ml"));
    }

    #[test]
    fn item_quantity_types() {
        use QuantityType::*;
        for (raw, want) in [
            ("WeightBased", Some(Weight)),
            ("weightbased", Some(Weight)),
            (" WEIGHTBASED ", Some(Weight)),
            ("Weight", Some(Weight)),
            ("1", Some(Weight)),
            ("CountBased", Some(Each)),
            ("countbased", Some(Each)),
            ("Count", Some(Each)),
            ("Each", Some(Each)),
            ("0", Some(Each)),
            ("VolumeBased", Some(Volume)),
            ("VOLUMEBASED", Some(Volume)),
            ("Volume", Some(Volume)),
            (" 2 ", Some(Volume)),
            ("", None),
            ("3", None),
            ("1.0", None),
            ("Grams", None),
            ("Weight Based", None),
        ] {
            assert_eq!(parse_item_quantity_type(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("12.5"), Ok(12.5));
        assert_eq!(parse_number(" -3 "), Ok(-3.0));
        assert_eq!(parse_number("1e3"), Ok(1000.0));
        assert_eq!(parse_number("1E-3"), Ok(0.001));
        assert_eq!(parse_number("+7"), Ok(7.0));
        assert_eq!(parse_number("0"), Ok(0.0));
        assert_eq!(parse_number(".5"), Ok(0.5));
        assert_eq!(parse_number("\t42\r\n"), Ok(42.0));
        for raw in ["NaN", "nan", "inf", "-inf", "Infinity", "-INFINITY", "1e400", "-1e999"] {
            assert_eq!(parse_number(raw), Err("not a finite number"), "{raw:?}");
        }
        for raw in ["", "   ", "abc", "12.5g", "1,000", "1 000", "0x10", "--1", "1e", "e5"] {
            assert_eq!(parse_number(raw), Err("not a number"), "{raw:?}");
        }
    }

    #[test]
    fn booleans() {
        for raw in ["true", "TRUE", "True", "1", "yes", "YES", "y", "Y", "t", "T", " true "] {
            assert_eq!(parse_bool(raw), Ok(true), "{raw:?}");
        }
        for raw in ["false", "FALSE", "False", "0", "no", "NO", "n", "N", "f", "F", " false "] {
            assert_eq!(parse_bool(raw), Ok(false), "{raw:?}");
        }
        for raw in ["", " ", "2", "maybe", "yess", "truee", "on", "off", "-1"] {
            assert_eq!(parse_bool(raw), Err("not a boolean"), "{raw:?}");
        }
    }
}

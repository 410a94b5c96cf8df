//! Time of the synthetic year. Instants are `i64` microseconds UTC; a [`Ts`] is one
//! rendered in a Metrc shape together with the instants SPEC 2.3 reads it as (`lo` =
//! start, `hi` = end of a date-only local day), so truth is computed from what the
//! checker will read, not from the instant the generator meant.

use std::fmt::Write as _;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone,
    Timelike,
};
use chrono_tz::Tz;

pub(super) const US: i64 = 1_000_000;
pub(super) const MINUTE: i64 = 60 * US;
pub(super) const HOUR: i64 = 60 * MINUTE;
pub(super) const DAY: i64 = 24 * HOUR;
/// The date Metrc writes where it has none.
pub(super) const SENTINEL: &str = "0001-01-01T00:00:00+00:00";

/// A rendered timestamp and the instants it stands for (`lo..=hi`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Ts {
    pub(super) text: String,
    pub(super) lo: i64,
    pub(super) hi: i64,
}

/// How a timestamp is written: date only, naive local, with offset, UTC `Z`, or UTC
/// with microseconds (Metrc's `LastModified`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Shape {
    Date,
    Naive,
    Offset,
    Zulu,
    Micros,
}

/// The facility's time zone: renders instants and resolves local times as SPEC 2.3 does.
pub(super) struct Clock {
    pub(super) tz: Tz,
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

pub(super) fn push_dt(s: &mut String, n: NaiveDateTime) {
    push_date(s, n.date());
    s.push('T');
    push2(s, n.hour());
    s.push(':');
    push2(s, n.minute());
    s.push(':');
    push2(s, n.second());
}

impl Clock {
    /// Local wall time of `t` and the UTC offset there, in seconds.
    fn split(&self, t: i64) -> (NaiveDateTime, i32) {
        let utc = DateTime::from_timestamp(t.div_euclid(US), 0)
            .expect("generated instants are in range")
            .naive_utc();
        let local = self.tz.from_utc_datetime(&utc);
        (local.naive_local(), local.offset().fix().local_minus_utc())
    }

    /// SPEC 2.3: a repeated local time is the earlier instant, a skipped one moves forward.
    pub(super) fn resolve(&self, n: NaiveDateTime) -> i64 {
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
    pub(super) fn ambiguous(&self, t: i64) -> bool {
        matches!(self.tz.from_local_datetime(&self.split(t).0), LocalResult::Ambiguous(..))
    }

    pub(super) fn local_date(&self, t: i64) -> NaiveDate {
        self.split(t).0.date()
    }

    pub(super) fn day_start(&self, d: NaiveDate) -> i64 {
        self.resolve(d.and_hms_opt(0, 0, 0).expect("midnight exists"))
    }

    /// The instant of a local date and time.
    pub(super) fn at(&self, y: i32, m: u32, d: u32, h: u32, mi: u32) -> i64 {
        let date = NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
        self.resolve(date.and_hms_opt(h, mi, 0).expect("valid time"))
    }

    /// `t` written in `shape`, with the instants SPEC 2.3 reads the text as.
    pub(super) fn render(&self, t: i64, shape: Shape) -> Ts {
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
pub(super) struct Times {
    pub(super) pack_start: i64,
    pub(super) pack_end: i64,
    pub(super) xfer_end: i64,
    pub(super) post_end: i64,
    pub(super) export: i64,
    pub(super) spring: (i64, i64),
    pub(super) fall: (i64, i64),
    pub(super) after_count: (i64, i64),
}

impl Times {
    pub(super) fn new(c: &Clock) -> Times {
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

#[cfg(test)]
mod tests {
    use super::*;

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

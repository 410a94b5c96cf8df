//! Plain text shared by the HTML and Markdown renderers: numbers, times, the columns of
//! each finding table, and the closing paragraph of `tagtrail run`. Nothing here escapes;
//! each renderer escapes every piece of input data it writes.

use std::fmt::Write as _;
use std::path::Path;

use super::data::{CountStatus, Duties, Finding, Overview, SEVERITIES};
use crate::schema::out;
use crate::vocab::{self, Severity};

/// A character shown as `<U+XXXX>` instead of itself: C0 controls other than tab and line
/// ends (NUL…), DEL and C1 controls, line and paragraph separators, and the bidirectional
/// controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069), with which a label or a file
/// name could reorder the text shown around it or hide part of it.
pub(crate) fn shown_as_code(ch: char) -> bool {
    matches!(
        ch,
        '\0'..='\u{8}'
            | '\u{b}'
            | '\u{c}'
            | '\u{e}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// `1,234.5`: at most three decimals, thousands grouped; `n/a` when not finite.
pub(crate) fn num(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".to_owned();
    }
    let s = format!("{:.3}", x.abs());
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    let (int, frac) = s.split_once('.').map_or((s, None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(s.len() + 4);
    if x < 0.0 && s != "0" {
        out.push('-');
    }
    out.push_str(&group(int));
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// `+12.5` or `-3`; zero unsigned.
pub(crate) fn signed(x: f64) -> String {
    let s = num(x);
    if x > 0.0 && s != "0" { format!("+{s}") } else { s }
}

/// `+5.20 %`.
pub(crate) fn pct(x: f64) -> String {
    if x.is_finite() { format!("{x:+.2} %") } else { "n/a".to_owned() }
}

/// Thousands separators for a run of digits.
fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// An integer count, grouped.
pub(crate) fn int(n: u64) -> String {
    group(&n.to_string())
}

/// `2025-10-03 17:35:45 UTC` from µs since the epoch.
pub(crate) fn ts(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// A time as the facility's clock showed it, with the zone's abbreviation (`PDT`); UTC
/// when the zone is unknown.
pub(crate) fn ts_local(us: i64, tz: Option<chrono_tz::Tz>) -> String {
    let Some(tz) = tz else { return ts(us) };
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z").to_string())
        .unwrap_or_default()
}

/// At most `max` characters of `s`, with `…` when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// "1 finding" / "3 findings".
pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", int(n), if n == 1 { one } else { many })
}

/// "Since the run of 2026-11-01 (…): 12 new, 30 recurring (the oldest since 2026-08-03), 7
/// resolved." for a run compared with `--previous`.
pub(crate) fn change_sentence(c: &super::data::Changes) -> String {
    let day = |t: &str| t.get(..10).unwrap_or(t).to_owned();
    let oldest = c
        .oldest
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| format!(" (the oldest since {})", t.format("%Y-%m-%d")))
        .filter(|_| c.recurring > 0)
        .unwrap_or_default();
    format!(
        "Since the run of {} ({}): {} new, {} recurring{oldest}, {} resolved.",
        day(&c.since_at),
        c.since_run,
        int(c.new),
        int(c.recurring),
        int(c.resolved)
    )
}

/// (findings, rule id, citation) of every rule with critical findings, in report order.
pub(crate) fn critical_rules(ov: &Overview) -> Vec<(u64, &str, &str)> {
    ov.rule_counts
        .iter()
        .filter(|r| r.counts[0] > 0)
        .map(|r| (r.counts[0], r.rule_id.as_str(), r.citation.as_str()))
        .collect()
}

/// The sentence shown under a capped table.
pub(crate) fn cap_note(shown: usize, total: u64, file: &str) -> Option<String> {
    (total > shown as u64).then(|| {
        let also = if file == out::FINDINGS {
            format!(" (and the Findings sheet of {}, to filter)", out::FINDINGS_XLSX)
        } else {
            String::new()
        };
        format!(
            "showing {} of {} — the full list is in {file}{also}",
            int(shown as u64),
            int(total)
        )
    })
}

/// Characters of a finding's detail that a report shows.
pub(crate) const MAX_DETAIL_CHARS: usize = 600;
/// Characters of any other finding cell that a report shows.
pub(crate) const MAX_CELL_CHARS: usize = 200;

/// A column of a finding table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    Severity,
    Rule,
    License,
    Label,
    Chain,
    Related,
    Reference,
    Item,
    Location,
    System,
    Counted,
    Variance,
    Unit,
    Occurred,
    Recorded,
    Lag,
    Detail,
    Citation,
    Source,
}

impl Col {
    pub fn header(self) -> &'static str {
        match self {
            Col::Severity => "Severity",
            Col::Rule => "Rule",
            Col::License => "License",
            Col::Label => "Package",
            Col::Chain => "Source → package",
            Col::Related => "Related",
            Col::Reference => "Reference",
            Col::Item => "Item (category)",
            Col::Location => "Location",
            Col::System => "System",
            Col::Counted => "Counted",
            Col::Variance => "Variance",
            Col::Unit => "Unit",
            Col::Occurred => "Occurred",
            Col::Recorded => "Recorded",
            Col::Lag => "Lag (h)",
            Col::Detail => "Detail",
            Col::Citation => "Citation",
            Col::Source => "Source file",
        }
    }

    /// Width in pixels in a findings table laid out 960 px wide with 10 px text (the HTML
    /// renderer turns it into a share of the table): enough for a severity badge, a number
    /// or a unit on one line, a part of a citation or rule id. The detail takes the rest (0).
    pub fn width(self) -> u32 {
        match self {
            Col::Severity => 80,
            Col::Rule => 84,
            Col::Item => 76,
            // 24-character tags and 15-character licenses in 10 px monospace, unbroken
            Col::License => 100,
            Col::Label | Col::Related => 152,
            Col::Chain => 310,
            Col::Reference => 66,
            Col::Location | Col::System | Col::Counted | Col::Variance => 56,
            Col::Unit => 40,
            Col::Occurred | Col::Recorded => 82,
            Col::Lag => 50,
            Col::Citation => 72,
            Col::Source => 90,
            Col::Detail => 0,
        }
    }

    /// Right-aligned.
    pub fn numeric(self) -> bool {
        matches!(self, Col::System | Col::Counted | Col::Variance | Col::Lag)
    }

    /// The cell's text, unescaped; long input text is clipped so that no single value can
    /// blow up the report.
    pub fn text(self, f: &Finding) -> String {
        let t = self.full_text(f);
        clip(&t, if self == Col::Detail { MAX_DETAIL_CHARS } else { MAX_CELL_CHARS })
    }

    fn full_text(self, f: &Finding) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let opt_num = |v: Option<f64>| v.map(num).unwrap_or_default();
        match self {
            Col::Severity => match recurring_note(f) {
                Some(note) => format!("{} ({note})", f.severity),
                None => f.severity.clone(),
            },
            Col::Rule => f.rule_id.clone(),
            Col::License => f.license.clone(),
            Col::Label => opt(&f.package_label),
            Col::Chain => match (&f.related_label, &f.package_label) {
                (Some(r), Some(p)) => format!("{r} → {p}"),
                (None, Some(p)) => p.clone(),
                (Some(r), None) => format!("{r} →"),
                (None, None) => String::new(),
            },
            Col::Related => opt(&f.related_label),
            Col::Reference => opt(&f.reference),
            Col::Item => match (&f.item_name, &f.category) {
                (Some(i), Some(c)) => format!("{i} ({c})"),
                (Some(i), None) => i.clone(),
                (None, Some(c)) => format!("({c})"),
                (None, None) => String::new(),
            },
            Col::Location => opt(&f.location),
            Col::System => opt_num(f.system_quantity),
            // counted in a unit of another quantity type: not in the row's unit
            Col::Counted if f.rule_id == vocab::rule::COUNT_UNIT_INCOMPATIBLE => {
                f.counted_quantity.map(|q| format!("{} (counted unit)", num(q))).unwrap_or_default()
            }
            Col::Counted => opt_num(f.counted_quantity),
            Col::Variance => f.variance.map(signed).unwrap_or_default(),
            Col::Unit => f.unit.as_deref().map(unit_abbr).unwrap_or_default().to_owned(),
            Col::Occurred => f.occurred_at.map(|t| ts_local(t, f.tz)).unwrap_or_default(),
            Col::Recorded => f.recorded_at.map(|t| ts_local(t, f.tz)).unwrap_or_default(),
            Col::Lag => f
                .lag_hours
                .map(|h| if h.is_finite() { format!("{h:.1}") } else { num(h) })
                .unwrap_or_default(),
            Col::Detail => f.detail.clone(),
            Col::Citation => f.citation.clone(),
            Col::Source => opt(&f.source_file),
        }
    }
}

/// A unit as the report spells every unit (`g`, `ea`, `ml`, `oz`, `lb`), whatever the
/// export called it (`Grams`, `Each`).
pub(crate) fn unit_abbr(unit: &str) -> &str {
    match unit.trim().to_ascii_lowercase().as_str() {
        "grams" | "gram" => "g",
        "kilograms" | "kilogram" => "kg",
        "milligrams" | "milligram" => "mg",
        "ounces" | "ounce" => "oz",
        "pounds" | "pound" => "lb",
        "each" => "ea",
        "milliliters" | "milliliter" | "millilitres" => "ml",
        "liters" | "liter" | "litres" => "l",
        "fluid ounces" | "fluid ounce" => "fl oz",
        _ => unit,
    }
}

/// "recurring since 2026-08-03" for a critical finding that was already there in the
/// previous run (compared with `--previous`): the first thing an auditor asks about.
pub(crate) fn recurring_note(f: &Finding) -> Option<String> {
    let t = f.recurring_since.filter(|_| f.severity == Severity::Critical.as_str())?;
    let day = chrono::DateTime::from_timestamp_micros(t)?.format("%Y-%m-%d");
    Some(format!("recurring since {day}"))
}

/// The columns of a family's finding table.
pub(crate) fn columns(family: &str) -> &'static [Col] {
    use Col::{
        Chain, Citation, Counted, Detail, Item, Label, Lag, License, Location, Occurred, Recorded,
        Reference, Related, Rule, Severity, Source, System, Unit, Variance,
    };
    match family {
        vocab::family::COUNT => &[
            Severity, Rule, License, Label, Item, Location, System, Counted, Variance, Unit,
            Detail, Citation, Source,
        ],
        vocab::family::LAG => &[
            Severity, Rule, License, Label, Reference, Occurred, Recorded, Lag, Detail, Citation,
            Source,
        ],
        vocab::family::LINEAGE => {
            &[Severity, Rule, License, Chain, Item, Reference, Detail, Citation, Source]
        }
        _ => &[Severity, Rule, License, Label, Related, Reference, Detail, Citation, Source],
    }
}

/// What the count family concluded beyond the significant discrepancies, one plain
/// sentence each (SPEC 2.4): a clean result only where counts were checked, and which
/// licenses were not determined or not checked, and why.
pub(crate) fn count_verdicts(ov: &Overview) -> Vec<String> {
    let names = |status: CountStatus| -> Vec<&str> {
        ov.licenses
            .iter()
            .filter(|l| l.coverage.status == status)
            .map(|l| l.license.as_str())
            .collect()
    };
    let list = |v: &[&str]| -> String {
        let shown = v.iter().take(8).copied().collect::<Vec<_>>().join(", ");
        if v.len() > 8 { format!("{shown} and {} more", int((v.len() - 8) as u64)) } else { shown }
    };
    let mut out = Vec::new();
    let checked = names(CountStatus::Checked);
    let clean: Vec<&str> = ov
        .licenses
        .iter()
        .filter(|l| l.checked() && !l.significant())
        .map(|l| l.license.as_str())
        .collect();
    if !checked.is_empty() && clean.len() == checked.len() {
        out.push(format!(
            "No significant inventory discrepancy at the {} whose counts were checked ({}).",
            plural(checked.len() as u64, "license", "licenses"),
            list(&checked)
        ));
    }
    for l in ov.licenses.iter().filter(|l| l.coverage.status == CountStatus::NotDetermined) {
        let c = l.coverage;
        out.push(format!(
            "Significance not determined at {}: {} of its {} count rows could not be read ({}, \
             over 1 %), so its totals are incomplete; fix those rows (listed in \
             rejects.parquet) and run again.",
            l.license,
            int(c.rejected),
            int(c.rows),
            pct(c.rejected as f64 * 100.0 / c.rows.max(1) as f64)
        ));
    }
    let unchecked: Vec<&str> = ov
        .licenses
        .iter()
        .filter(|l| l.coverage.status == CountStatus::NotChecked && !l.coverage.lacks.any())
        .map(|l| l.license.as_str())
        .collect();
    if !unchecked.is_empty() {
        out.push(format!(
            "Inventory at {} ({}) not checked: no count sheet. Pass --counts with their count \
             sheets to reconcile them.",
            plural(unchecked.len() as u64, "license", "licenses"),
            list(&unchecked)
        ));
    }
    for l in ov.licenses.iter().filter(|l| l.coverage.lacks.any()) {
        let (c, rows) = (l.coverage, plural(l.coverage.rows, "count row was", "count rows were"));
        out.push(if c.lacks.packages {
            format!(
                "Inventory at {} not checked: {rows} read, but the export has no packages file \
                 for it, so there is no system to compare them with; add its export folder and \
                 run again.",
                l.license
            )
        } else {
            format!(
                "Inventory at {} not checked: {rows} read, but its export has no {} while its \
                 packages changed after the count, so their quantities at the count are not \
                 known (each change after the count would read as a discrepancy); add {} (an \
                 empty list [] where the license made none) and run again.",
                l.license,
                c.lacks.files(),
                if c.lacks.adjustments && c.lacks.sales { "those files" } else { "that file" }
            )
        });
    }
    out.extend(duty_verdicts(ov));
    out
}

/// What the reconciliation duties could not judge (SPEC 2.4: missing evidence is said, never
/// a clean result): licenses without a known count, without a users list, and outages.
pub(crate) fn duty_verdicts(ov: &Overview) -> Vec<String> {
    let with: Vec<(&str, Duties)> = ov
        .licenses
        .iter()
        .filter_map(|l| l.coverage.duties.map(|d| (l.license.as_str(), d)))
        .collect();
    if with.is_empty() {
        return Vec::new();
    }
    let list = |v: &[&str]| -> String {
        let shown = v.iter().take(8).copied().collect::<Vec<_>>().join(", ");
        if v.len() > 8 { format!("{shown} and {} more", int((v.len() - 8) as u64)) } else { shown }
    };
    let not = |f: fn(&Duties) -> bool| -> Vec<&str> {
        with.iter().filter(|(_, d)| !f(d)).map(|(l, _)| *l).collect()
    };
    let mut out = Vec::new();
    let uncounted = not(|d| d.overdue_checked);
    if !uncounted.is_empty() {
        out.push(format!(
            "30-day reconciliation (count.reconciliation_overdue, §15051(a)) not checked at {} \
             ({}): no count known in this run or the runs before it.",
            plural(uncounted.len() as u64, "license", "licenses"),
            list(&uncounted)
        ));
    }
    let no_users = not(|d| d.users_checked);
    if no_users.len() == with.len() {
        out.push(
            "Authorised users (record.unauthorized_user, §15051(a)(2)) not checked: no --users \
             list was given."
                .to_owned(),
        );
    } else if !no_users.is_empty() {
        out.push(format!(
            "Authorised users (record.unauthorized_user, §15051(a)(2)) not checked at {} ({}): \
             the --users list does not name them.",
            plural(no_users.len() as u64, "license", "licenses"),
            list(&no_users)
        ));
    }
    if with.iter().all(|(_, d)| !d.outages_checked) {
        out.push(
            "Losses of access (lag.late_after_outage, transfer.during_outage, \
             record.outage_undocumented, §15050) not checked: no --outages file was given."
                .to_owned(),
        );
    }
    out
}

/// The "Reconciliation duties" table, one row per license: its latest known count (local
/// date), calendar days from it to the as-of time, the as-of time, users, outages.
pub(crate) const DUTY_HEADERS: [&str; 6] = [
    "License",
    "Latest known count",
    "Days to as-of",
    "As of",
    "Authorised users",
    "Outages (late entries excused)",
];

/// The rows of the "Reconciliation duties" table (licenses with duty columns only).
pub(crate) fn duty_rows(ov: &Overview) -> Vec<[String; 6]> {
    let tz: Option<chrono_tz::Tz> = ov.run.timezone.parse().ok();
    ov.licenses
        .iter()
        .filter_map(|l| l.coverage.duties.map(|d| (l, d)))
        .map(|(l, d)| {
            let date = d.last_count_date.and_then(|n| {
                chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?
                    .checked_add_signed(chrono::TimeDelta::try_days(i64::from(n))?)
            });
            let days = d.days_since_count(tz);
            [
                l.license.clone(),
                date.map_or_else(
                    || "not checked: no count known".to_owned(),
                    |x| x.format("%Y-%m-%d").to_string(),
                ),
                match days {
                    Some(n) if n > 30 => format!("{n} (over 30)"),
                    Some(n) => n.to_string(),
                    None => "—".to_owned(),
                },
                d.as_of_us.map_or_else(|| "—".to_owned(), |t| ts_local(t, tz)),
                if d.users_checked { "checked" } else { "not checked" }.to_owned(),
                if d.outages_checked {
                    format!("{} ({})", int(d.outages), int(d.excused))
                } else {
                    "not checked".to_owned()
                },
            ]
        })
        .collect()
}

/// The paragraph printed at the end of `tagtrail run`.
pub(crate) fn paragraph(ov: &Overview, out_dir: &Path) -> String {
    let mut s = String::new();
    let names: Vec<&str> = ov.licenses.iter().map(|l| l.license.as_str()).collect();
    let _ = write!(s, "Checked {}", plural(names.len() as u64, "license", "licenses"));
    if !names.is_empty() {
        let shown = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
        let more = names.len().saturating_sub(5);
        if more > 0 {
            let _ = write!(s, " ({shown} and {} more)", int(more as u64));
        } else {
            let _ = write!(s, " ({shown})");
        }
    }
    if ov.total_findings == 0 {
        s.push_str(" and found nothing to report.");
    } else {
        let parts: Vec<String> = SEVERITIES
            .iter()
            .enumerate()
            .map(|(i, sev)| format!("{} {sev}", int(ov.totals[i])))
            .collect();
        let _ = write!(
            s,
            " and found {}: {}.",
            plural(ov.total_findings, "finding", "findings"),
            parts.join(", ")
        );
    }
    let significant: Vec<String> = ov
        .licenses
        .iter()
        .filter(|l| l.significant())
        .flat_map(|l| {
            let qs: Vec<String> = l
                .quantities
                .iter()
                .filter(|q| q.significant)
                .map(|q| {
                    let ratio = q.variance_pct.map(pct).unwrap_or_else(|| "n/a".to_owned());
                    format!("{} {} {ratio}", l.license, q.quantity_type)
                })
                .collect();
            if qs.is_empty() { vec![l.license.clone()] } else { qs }
        })
        .collect();
    if !significant.is_empty() {
        let shown = significant.iter().take(5).cloned().collect::<Vec<_>>().join("; ");
        let more = significant.len().saturating_sub(5);
        let _ = write!(
            s,
            " Significant inventory discrepancies: {} ({shown}{}) — under §15034 each must be \
             reported to the Department within 24 hours of discovery.",
            int(significant.len() as u64),
            if more > 0 { format!("; and {} more", int(more as u64)) } else { String::new() }
        );
    }
    for sentence in count_verdicts(ov) {
        s.push(' ');
        s.push_str(&sentence);
    }
    if ov.rejects_total > 0 {
        let _ = write!(
            s,
            " {} could not be read and {} set aside in {}.",
            plural(ov.rejects_total, "input record", "input records"),
            if ov.rejects_total == 1 { "was" } else { "were" },
            out_dir.join(out::REJECTS).display()
        );
    }
    let _ = write!(
        s,
        " Report: {} (Markdown: {}).",
        out_dir.join(out::REPORT_HTML).display(),
        out_dir.join(out::REPORT_MD).display()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_numbers_read_well() {
        assert_eq!(num(1234.5), "1,234.5");
        assert_eq!(num(-1_000_000.0), "-1,000,000");
        assert_eq!(num(0.0004), "0");
        assert_eq!(num(-0.0004), "0");
        assert_eq!(num(12.34567), "12.346");
        assert_eq!(num(f64::NAN), "n/a");
        assert_eq!(signed(3.0), "+3");
        assert_eq!(signed(-3.25), "-3.25");
        assert_eq!(pct(-6.2), "-6.20 %");
        assert_eq!(int(1234567), "1,234,567");
        assert_eq!(ts(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
    }
}

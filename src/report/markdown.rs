//! `report.md`: the content of `report.html` in Markdown — tables instead of charts. Every
//! piece of input data is written through [`cell`], so no markup from the input survives.

use std::fmt::Write as _;

use super::data::{
    CountStatus, FamilyData, LAG_BIN_HOURS, LAG_BINS, License, Model, OTHER, SEVERITIES, worst,
};
use super::guidance;
use super::html::{groups_of, rule_action};
use super::text::{cap_note, clip, columns, int, num, pct, plural, signed};
use crate::schema::out;

/// Escape text for Markdown, table cells included: backslash-escape `\ | < > ` * _ [ ] & ~`,
/// turn line breaks into spaces, and break `://` so that no address becomes a link.
/// Controls and bidirectional formatting characters are shown as `<U+202E>`.
pub(crate) fn cell(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + s.len() / 8);
    let mut rest = s;
    while let Some(ch) = rest.chars().next() {
        match ch {
            '\\' | '|' | '<' | '>' | '`' | '*' | '_' | '[' | ']' | '&' | '~' => {
                o.push('\\');
                o.push(ch);
            }
            ':' if rest[1..].starts_with("//") => o.push_str("\\:"),
            '\r' if rest[1..].starts_with('\n') => {}
            '\n' | '\r' => o.push(' '),
            c if super::text::shown_as_code(c) => {
                let _ = write!(o, "\\<U+{:04X}\\>", u32::from(c));
            }
            _ => o.push(ch),
        }
        rest = &rest[ch.len_utf8()..];
    }
    o
}

macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

/// A table: header cells (already Markdown), right-aligned flags, rows of escaped cells.
fn table(md: &mut String, head: &[(&str, bool)], rows: impl Iterator<Item = Vec<String>>) {
    md.push('|');
    for (h, _) in head {
        w!(md, " {h} |");
    }
    md.push_str("\n|");
    for (_, right) in head {
        md.push_str(if *right { "---:|" } else { "---|" });
    }
    md.push('\n');
    for row in rows {
        md.push('|');
        for c in row {
            w!(md, " {c} |");
        }
        md.push('\n');
    }
    md.push('\n');
}

fn cap(md: &mut String, shown: usize, total: u64, file: &str) {
    if let Some(note) = cap_note(shown, total, file) {
        w!(md, "{}\n\n", cell(&note));
    }
}

fn opt_int(n: Option<u64>) -> String {
    n.map(int).unwrap_or_default()
}

/// Files of the export that were not read, and why (none: nothing is written).
fn unread(md: &mut String, m: &Model) {
    let list = &m.overview.unread;
    if list.is_empty() {
        return;
    }
    w!(
        md,
        "**Files not read** ({}): under the export but not read, each with the reason.\n\n",
        int(list.len() as u64)
    );
    let shown = list.len().min(m.max_rows);
    table(
        md,
        &[("Path", false), ("Why not read", false)],
        list[..shown].iter().map(|u| vec![cell(&u.path), cell(&u.reason)]),
    );
    cap(md, shown, list.len() as u64, out::MANIFEST);
}

/// The whole document.
pub(crate) fn render(m: &Model) -> String {
    let ov = &m.overview;
    let r = &ov.run;
    let mut md = String::with_capacity(32 * 1024);
    md.push_str("# tagtrail audit report\n\nSeed-to-sale compliance audit.\n\n");
    let mut meta: Vec<(&str, String)> = vec![("Run id", cell(&r.run_id))];
    if !r.has_manifest {
        meta.push((
            "Manifest",
            format!("{} was not found: run details are unknown", out::MANIFEST),
        ));
    }
    meta.push((
        "When",
        format!("started {}, finished {}", cell(&r.started_at), cell(&r.finished_at)),
    ));
    let tool = if r.tool.is_empty() { "tagtrail" } else { &r.tool };
    meta.push(("Tool", format!("{} {}", cell(tool), cell(&r.version))));
    meta.push(("Time zone", format!("{} (naive input times; tables show UTC)", cell(&r.timezone))));
    let profile = if r.profile.is_empty() { "built-in defaults" } else { &r.profile };
    meta.push(("Profile", cell(profile)));
    if let Some(t) = r.threshold_pct {
        meta.push(("Significance threshold", format!("{} % ({})", num(t), cell(&r.basis))));
    }
    meta.push(("Licenses", int(ov.licenses.len() as u64)));
    meta.push(("Findings", int(ov.total_findings)));
    meta.push((
        "Rejected input records",
        format!("{} (see Rejected input records)", int(ov.rejects_total)),
    ));
    if !ov.unread.is_empty() {
        meta.push((
            "Files not read",
            format!("{} (see Files not read)", int(ov.unread.len() as u64)),
        ));
    }
    if !r.command.is_empty() {
        meta.push(("Command", cell(&r.command.join(" "))));
    }
    table(
        &mut md,
        &[("Run", false), ("", false)],
        meta.into_iter().map(|(k, v)| vec![k.to_owned(), v]),
    );

    let fam_base = 3;
    let rejects_no = m.families.len() + fam_base;

    // 1. Run and inputs
    w!(md, "## 1. Run and inputs\n\n");
    w!(
        md,
        "{} read. Rows in = rows accepted + rows rejected, per file; rejected records are \
         listed in section {rejects_no}.\n\n",
        plural(ov.inputs.len() as u64, "input file was", "input files were")
    );
    for n in &ov.input_notes {
        w!(md, "- {}\n", n.replace('|', "\\|"));
    }
    if !ov.input_notes.is_empty() {
        md.push('\n');
    }
    if !ov.inputs.is_empty() {
        let shown = ov.inputs.len().min(m.max_rows);
        let sum =
            |f: fn(&super::data::Input) -> Option<u64>| int(ov.inputs.iter().filter_map(f).sum());
        let total = vec![
            format!("**All {} files**", int(ov.inputs.len() as u64)),
            String::new(),
            String::new(),
            String::new(),
            sum(|i| i.bytes),
            sum(|i| i.rows_in),
            sum(|i| i.rows_accepted),
            sum(|i| i.rows_rejected),
        ];
        table(
            &mut md,
            &[
                ("Path", false),
                ("Kind", false),
                ("License", false),
                ("SHA-256", false),
                ("Bytes", true),
                ("Rows in", true),
                ("Accepted", true),
                ("Rejected", true),
            ],
            ov.inputs[..shown]
                .iter()
                .map(|i| {
                    vec![
                        cell(&i.path),
                        cell(&i.kind),
                        cell(&i.license),
                        cell(&i.sha256),
                        opt_int(i.bytes),
                        opt_int(i.rows_in),
                        opt_int(i.rows_accepted),
                        opt_int(i.rows_rejected),
                    ]
                })
                .chain([total]),
        );
        cap(&mut md, shown, ov.inputs.len() as u64, out::MANIFEST);
    }
    unread(&mut md, m);

    summary(&mut md, m);
    for (i, f) in m.families.iter().enumerate() {
        family(&mut md, m, f, i + fam_base);
    }
    rejects(&mut md, m, rejects_no);
    rules(&mut md, m, rejects_no + 1);
    w!(
        md,
        "---\n\nGenerated by tagtrail {} for run {}. Times in tables are UTC. Source files are \
         relative to the input folder they were read from; each finding's detail ends with its \
         record number in that file. Full data: {}, {}, {}, {}.\n",
        cell(&r.version),
        cell(&r.run_id),
        out::FINDINGS,
        out::SUMMARY,
        out::REJECTS,
        out::MANIFEST
    );
    md
}

fn significance(l: &License) -> String {
    match l.coverage.status {
        CountStatus::NotChecked if !l.significant() => return "not checked: no count sheet".into(),
        CountStatus::NotDetermined => {
            return format!(
                "**not determined** ({} of {} count rows rejected)",
                int(l.coverage.rejected),
                int(l.coverage.rows)
            );
        }
        _ => {}
    }
    if l.quantities.is_empty() {
        return if l.significant() { "**Yes**".into() } else { "no count".into() };
    }
    let mut s = if l.significant() { "**Yes**".to_owned() } else { "No".to_owned() };
    for (i, q) in l.quantities.iter().enumerate() {
        w!(
            s,
            "{}{}{}: {} (counted {} vs system {} {})",
            if i == 0 { " — " } else { "; " },
            if q.significant { "significant " } else { "" },
            cell(&q.quantity_type),
            q.variance_pct.map(pct).unwrap_or_else(|| "n/a".into()),
            q.counted_total.map(num).unwrap_or_default(),
            q.system_total.map(num).unwrap_or_default(),
            cell(&q.unit)
        );
    }
    s
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn summary(md: &mut String, m: &Model) {
    let ov = &m.overview;
    md.push_str("## 2. Executive summary\n\n");
    let mut rows: Vec<Vec<String>> = SEVERITIES
        .iter()
        .enumerate()
        .map(|(i, s)| vec![capitalize(s), int(ov.totals[i])])
        .collect();
    if ov.totals[OTHER] > 0 {
        rows.push(vec!["Other".into(), int(ov.totals[OTHER])]);
    }
    rows.push(vec!["**Total**".into(), format!("**{}**", int(ov.total_findings))]);
    table(md, &[("Severity", false), ("Findings", true)], rows.into_iter());

    let significant: Vec<&License> = ov.licenses.iter().filter(|l| l.significant()).collect();
    for sentence in super::text::count_verdicts(ov) {
        let quote = if sentence.starts_with("No significant") { "" } else { "> " };
        w!(md, "{quote}{}\n\n", sentence.replace('|', "\\|"));
    }
    if significant.is_empty() {
    } else {
        let names: Vec<String> = significant.iter().take(20).map(|l| cell(&l.license)).collect();
        w!(
            md,
            "> **Significant inventory discrepancy at {} of {}:** {}{}. Under 4 CCR §15034 each \
             must be reported to the Department within 24 hours of discovery.\n\n",
            int(significant.len() as u64),
            plural(ov.licenses.len() as u64, "license", "licenses"),
            names.join(", "),
            if significant.len() > 20 { ", …" } else { "" }
        );
    }

    md.push_str("### Findings by license\n\n");
    if !ov.licenses.is_empty() {
        let shown = ov.licenses.len().min(m.max_rows);
        let mut head = vec![("License", false)];
        head.extend([
            ("Critical", true),
            ("High", true),
            ("Medium", true),
            ("Low", true),
            ("Info", true),
            ("Total", true),
            ("Significant discrepancy (ratio per quantity type)", false),
        ]);
        table(
            md,
            &head,
            ov.licenses[..shown].iter().map(|l| {
                let mut row = vec![cell(&l.license)];
                row.extend(l.counts[..SEVERITIES.len()].iter().map(|n| int(*n)));
                row.push(int(l.total()));
                row.push(significance(l));
                row
            }),
        );
        cap(md, shown, ov.licenses.len() as u64, out::SUMMARY);
    }

    md.push_str("### What applies and what must be done, per license\n\n");
    let with_findings: Vec<&License> = ov.licenses.iter().filter(|l| l.total() > 0).collect();
    if with_findings.is_empty() {
        md.push_str("No finding: nothing to act on.\n\n");
    }
    let shown = with_findings.len().min(m.max_rows);
    for l in &with_findings[..shown] {
        let worst_sev = SEVERITIES.get(worst(&l.counts)).copied().unwrap_or("other");
        w!(md, "#### {} ({worst_sev})\n\n", cell(&l.license));
        let parts: Vec<String> = SEVERITIES
            .iter()
            .enumerate()
            .filter(|(i, _)| l.counts[*i] > 0)
            .map(|(i, s)| format!("{} {s}", int(l.counts[i])))
            .collect();
        w!(md, "{}: {}.\n\n", plural(l.total(), "finding", "findings"), parts.join(", "));
        if l.significant() {
            md.push_str(
                "> **Significant discrepancy:** report to the Department within 24 hours of \
                 discovery (§15034).\n\n",
            );
        }
        for fam in l.families() {
            match guidance::family(fam) {
                Some(f) => w!(md, "- **{}** — {}\n", f.title, f.short),
                None => w!(md, "- **Other: {}**\n", cell(fam)),
            }
            for r in l.rules.iter().filter(|r| r.family == fam) {
                let action = rule_action(m, &r.rule_id);
                w!(
                    md,
                    "  - {} {} ×{} ({}){}{}\n",
                    SEVERITIES.get(r.worst()).copied().unwrap_or("other"),
                    cell(&r.rule_id),
                    int(r.total()),
                    cell(&r.citation),
                    if action.is_empty() { "" } else { " — " },
                    cell(&action)
                );
            }
        }
        md.push('\n');
    }
    cap(md, shown, with_findings.len() as u64, out::SUMMARY);
}

fn family(md: &mut String, m: &Model, f: &FamilyData, no: usize) {
    let title = guidance::family(&f.family)
        .map_or_else(|| format!("Other findings: {}", cell(&f.family)), |g| g.title.to_owned());
    w!(md, "## {no}. {title} (family {})\n\n", cell(&f.family));
    if let Some(g) = guidance::family(&f.family) {
        w!(
            md,
            "{}\n\n**Regulation.** {}\n\n**What must be done.** {}\n\n",
            g.checks,
            g.regulation,
            g.action
        );
    }
    if f.total == 0 {
        md.push_str("**No findings.**\n\n");
        return;
    }
    w!(md, "**{}** in this family.\n\n", plural(f.total, "finding", "findings"));
    table(
        md,
        &[
            ("Rule", false),
            ("Findings", true),
            ("Worst", false),
            ("Citation", false),
            ("Meaning and action", false),
        ],
        f.rules.iter().map(|r| {
            vec![
                cell(&r.rule_id),
                int(r.total()),
                SEVERITIES.get(r.worst()).copied().unwrap_or("other").to_owned(),
                cell(&r.citation),
                cell(&rule_action(m, &r.rule_id)),
            ]
        }),
    );
    match f.family.as_str() {
        "count" => count_extras(md, m),
        "lag" => lag_extras(md, m),
        _ => {}
    }
    md.push_str(
        "### Findings\n\nOrdered by severity (critical first), then license and package.\n\n",
    );
    cap(md, f.rows.len(), f.total, out::FINDINGS);
    let cols = columns(&f.family);
    let head: Vec<(&str, bool)> = cols.iter().map(|c| (c.header(), c.numeric())).collect();
    table(md, &head, f.rows.iter().map(|r| cols.iter().map(|c| cell(&c.text(r))).collect()));
    cap(md, f.rows.len(), f.total, out::FINDINGS);
}

fn count_extras(md: &mut String, m: &Model) {
    md.push_str("### Totals per license and quantity type\n\n");
    if m.quantities.is_empty() {
        let why = if m.overview.has_summary { "has no totals" } else { "was not found" };
        w!(md, "{} {why}.\n\n", out::SUMMARY);
    } else {
        table(
            md,
            &[
                ("License", false),
                ("Quantity type", false),
                ("System total", true),
                ("Counted total", true),
                ("Variance", true),
                ("Unit", false),
                ("Variance %", true),
                ("Significant", false),
            ],
            m.quantities.iter().map(|q| {
                vec![
                    cell(&q.license),
                    cell(&q.quantity_type),
                    q.system_total.map(num).unwrap_or_default(),
                    q.counted_total.map(num).unwrap_or_default(),
                    q.variance.map(signed).unwrap_or_default(),
                    cell(&q.unit),
                    q.variance_pct.map(pct).unwrap_or_default(),
                    if q.significant { "**Yes**".into() } else { "No".into() },
                ]
            }),
        );
        cap(md, m.quantities.len(), m.quantities_total as u64, out::SUMMARY);
    }
    for b in &m.bars {
        w!(md, "### Variance by {} ({})\n\n", b.by, cell(&b.unit));
        if b.groups > b.bars.len() {
            w!(md, "The {} largest of {}.\n\n", b.bars.len(), groups_of(b));
        }
        let by = capitalize(b.by);
        table(
            md,
            &[(by.as_str(), false), ("Shortage", true), ("Overage", true), ("Findings", true)],
            b.bars.iter().map(|x| {
                vec![
                    cell(&clip(&x.group, 60)),
                    signed(x.shortage),
                    signed(x.overage),
                    int(x.findings),
                ]
            }),
        );
    }
}

fn lag_extras(md: &mut String, m: &Model) {
    let lag = &m.lag;
    if lag.total() == 0 {
        return;
    }
    md.push_str(
        "### Lag from occurrence to record\n\nThe limit is 24 hours (§15049(b)); beyond 72 \
         hours a late entry is high severity.\n\n",
    );
    let mut rows = Vec::new();
    if lag.negative > 0 {
        rows.push(vec!["recorded before it occurred".to_owned(), int(lag.negative)]);
    }
    for (j, n) in lag.bins.iter().enumerate() {
        let start = j as f64 * LAG_BIN_HOURS;
        let label = if j == LAG_BINS - 1 {
            format!("{} h or more", num(start))
        } else {
            format!("{} – {} h", num(start), num(start + LAG_BIN_HOURS))
        };
        rows.push(vec![label, int(*n)]);
    }
    table(md, &[("Lag", false), ("Findings", true)], rows.into_iter());
}

fn rejects(md: &mut String, m: &Model, no: usize) {
    let total = m.overview.rejects_total;
    w!(md, "## {no}. Rejected input records\n\n");
    if total == 0 {
        md.push_str("**No input record was rejected.**\n\n");
        return;
    }
    w!(
        md,
        "**{}** could not be read. They are kept in {} and left out of every check; correct \
         them at the source and run again. Record: 0-based index in a JSON file, physical line \
         in a CSV file.\n\n",
        plural(total, "input record", "input records"),
        out::REJECTS
    );
    if m.rejects.is_empty() {
        return;
    }
    table(
        md,
        &[
            ("Source file", false),
            ("Record", true),
            ("Column", false),
            ("Reason", false),
            ("Raw value", false),
        ],
        m.rejects.iter().map(|r| {
            vec![
                cell(&r.source_file),
                r.record.map(|n| n.to_string()).unwrap_or_default(),
                cell(&r.column),
                cell(&r.reason),
                cell(&clip(&r.raw, super::data::RAW_CHARS)),
            ]
        }),
    );
    cap(md, m.rejects.len(), total, out::REJECTS);
}

fn rules(md: &mut String, m: &Model, no: usize) {
    let ov = &m.overview;
    w!(md, "## {no}. Rules, options and outputs\n\n");
    if ov.rules.is_empty() {
        md.push_str("The manifest lists no rules.\n\n");
    } else {
        w!(
            md,
            "{} ran. The hash identifies the exact rule text.\n\n",
            plural(ov.rules.len() as u64, "rule", "rules")
        );
        table(
            md,
            &[
                ("Rule", false),
                ("Family", false),
                ("Severity", false),
                ("Citation", false),
                ("Description", false),
                ("Kind", false),
                ("SHA-256", false),
            ],
            ov.rules.iter().take(m.max_rows).map(|r| {
                vec![
                    cell(&r.id),
                    cell(&r.family),
                    cell(&r.severity),
                    cell(&r.citation),
                    cell(&r.description),
                    cell(&r.source),
                    cell(&r.sha256),
                ]
            }),
        );
        cap(md, ov.rules.len().min(m.max_rows), ov.rules.len() as u64, out::MANIFEST);
    }
    if !ov.run.options.is_empty() {
        md.push_str("### Options\n\n");
        table(
            md,
            &[("Option", false), ("Value", false)],
            ov.run
                .options
                .iter()
                .map(|(k, v)| vec![cell(k), if v.is_empty() { "—".to_owned() } else { cell(v) }]),
        );
    }
    if !ov.outputs.is_empty() {
        md.push_str("### Outputs\n\n");
        table(
            md,
            &[("Path", false), ("Rows", true)],
            ov.outputs.iter().take(m.max_rows).map(|o| vec![cell(&o.path), opt_int(o.rows)]),
        );
    }
    if !ov.run.rerun.is_empty() {
        w!(md, "### Re-run\n\n{}\n\n", cell(&ov.run.rerun));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_markdown_cells_keep_no_markup() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell("<b>*x*</b>"), "\\<b\\>\\*x\\*\\</b\\>");
        assert_eq!(cell("[l](u) `c` _e_"), "\\[l\\](u) \\`c\\` \\_e\\_");
        assert_eq!(cell("one\r\ntwo\nthree"), "one two three");
        assert_eq!(cell("a\\|"), "a\\\\\\|");
        assert_eq!(cell("go https://x"), "go https\\://x");
    }
}

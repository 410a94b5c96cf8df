//! `report.html`: one self-contained page — inline CSS, hand-built inline SVG, no external
//! resource of any kind — that a compliance officer can open, print to PDF and hand over.
//! Every piece of input data is written through [`esc`]; nothing else builds markup from it.

use std::fmt::Write as _;

use super::data::{
    Bars, CountStatus, FamilyData, Finding, LAG_BIN_HOURS, LAG_BINS, LagHistogram, License, Model,
    OTHER, SEVERITIES, SevCounts, worst,
};
use super::guidance;
use super::text::{Col, cap_note, clip, columns, int, num, pct, plural, signed};
use crate::schema::out;
use crate::vocab::Severity;

/// Escape text for HTML content and attribute values: `& < > " '`. A `:` followed by `//`
/// is written as a character reference too, so that no address from the input appears in
/// the file as a link target or an external reference. Controls and bidirectional
/// formatting characters are shown as `<U+202E>` (see [`super::text::shown_as_code`]).
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + s.len() / 8);
    let mut rest = s;
    while let Some(ch) = rest.chars().next() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            ':' if rest[1..].starts_with("//") => o.push_str("&#58;"),
            c if super::text::shown_as_code(c) => {
                let _ = write!(o, "&lt;U+{:04X}&gt;", u32::from(c));
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

const CSS: &str = r#"
:root{--crit:#991b1b;--high:#c2410c;--med:#a16207;--low:#1d4ed8;--info:#4b5563;--line:#d1d5db;--muted:#6b7280;--ink:#111827}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);margin:0 auto;max-width:1280px;padding:24px 28px}
h1{font-size:26px;margin:2px 0 10px}
h2{font-size:20px;border-bottom:2px solid var(--ink);padding-bottom:4px;margin:36px 0 12px}
h2 small{font-weight:400;color:var(--muted);font-size:13px}
h3{font-size:16px;margin:22px 0 8px}
p{margin:6px 0}
.kicker{text-transform:uppercase;letter-spacing:.08em;color:var(--muted);font-size:12px;margin:0}
.lead{margin:.4em 0 0;color:var(--muted)}
.recurring{color:#b00020;font-weight:600;white-space:nowrap}
table{border-collapse:collapse;width:100%;margin:8px 0 14px;font-size:12px}
div.scroll{overflow-x:auto}
table.findings{table-layout:fixed;min-width:1320px}
table.findings td{overflow-wrap:anywhere}
table.findings td.brk{white-space:normal}
th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
thead th{background:#f3f4f6}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.total td{font-weight:600;background:#f9fafb}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11.5px}
.wrap{overflow-wrap:anywhere;word-break:break-word}
.hash{overflow-wrap:anywhere;word-break:break-all;font-size:10.5px}
.nowrap{white-space:nowrap}
.muted{color:var(--muted)}
.sev{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:10.5px;font-weight:700;text-transform:uppercase;letter-spacing:.03em;white-space:nowrap}
.sev-critical{background:var(--crit)}.sev-high{background:var(--high)}.sev-medium{background:var(--med)}.sev-low{background:var(--low)}.sev-info{background:var(--info)}.sev-other{background:#374151}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;margin:8px 0}
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}
nav.toc ol{columns:2;margin:6px 0;padding-left:22px}
.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.tile{border:1px solid var(--line);border-top:5px solid var(--info);padding:6px 14px;min-width:112px}
.tile b{display:block;font-size:26px;line-height:1.2;font-variant-numeric:tabular-nums}
.tile span{color:var(--muted);font-size:12px;text-transform:uppercase}
.tile.sev-critical{border-top-color:var(--crit);background:none}.tile.sev-high{border-top-color:var(--high);background:none}.tile.sev-medium{border-top-color:var(--med);background:none}.tile.sev-low{border-top-color:var(--low);background:none}.tile.sev-info{border-top-color:var(--info);background:none}
.reg{border-left:4px solid var(--low);background:#eff6ff;padding:6px 12px;margin:8px 0}
.callout{border-left:4px solid var(--crit);background:#fef2f2;padding:6px 12px;margin:8px 0}
.cap{border:1px solid #f59e0b;background:#fffbeb;padding:4px 10px;margin:6px 0;display:inline-block}
.yes{color:var(--crit);font-weight:700}
.card{border:1px solid var(--line);padding:4px 14px 8px;margin:10px 0}
.card h3{margin:8px 0 4px}
.card ul{margin:4px 0;padding-left:20px}
.trends{display:flex;flex-wrap:wrap;gap:0 18px}
.trends svg.chart{margin:4px 0 8px}
svg.chart{display:block;max-width:100%;height:auto;margin:8px 0 14px;font:12px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
footer{margin-top:36px;border-top:1px solid var(--line);padding-top:8px;color:var(--muted);font-size:12px}
@media print{
@page{size:landscape;margin:12mm}
body{max-width:none;padding:0;font-size:11px}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
section.page{break-before:page;page-break-before:always}
h2,h3,.keep{break-after:avoid;page-break-after:avoid}
thead{display:table-header-group}
tr,td,th,.card h3,.card p,.card li li,.tile,.reg,.callout,svg{break-inside:avoid;page-break-inside:avoid}
a{color:inherit;text-decoration:none}
table{font-size:10px}
div.scroll{overflow:visible}
table.findings{min-width:0}
td code,td.mono{font-size:.9em}
td.hash{font-size:.85em}
}
"#;

/// The whole page.
pub(crate) fn render(m: &Model) -> String {
    let ov = &m.overview;
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    w!(h, "<title>tagtrail audit report — run {}</title>\n", esc(&ov.run.run_id));
    w!(h, "<style>{CSS}</style>\n</head>\n<body>\n");

    // What to act on comes first; how the run was made is the appendix.
    let mut sections: Vec<(String, String)> = vec![("summary".into(), "Executive summary".into())];
    for (i, f) in m.families.iter().enumerate() {
        sections.push((family_anchor(i, &f.family), family_title(&f.family)));
    }
    sections.push(("rejects".into(), "Rejected input records".into()));
    sections.push(("rules".into(), "Rules, options and outputs".into()));
    sections.push(("run".into(), "Appendix: Run and inputs".into()));

    header(&mut h, m);
    h.push_str("<nav class=\"toc\"><b>Contents</b><ol>");
    for (id, title) in &sections {
        w!(h, "<li><a href=\"#{id}\">{}</a></li>", esc(title));
    }
    h.push_str("</ol></nav>\n");

    let n = m.families.len();
    summary_section(&mut h, m, 1);
    for (i, f) in m.families.iter().enumerate() {
        family_section(&mut h, m, f, &sections[i + 1].0, i + 2);
    }
    rejects_section(&mut h, m, n + 2);
    rules_section(&mut h, m, n + 3);
    run_section(&mut h, m, n + 4);

    w!(
        h,
        "<footer>Generated by tagtrail {} for run <code>{}</code>. Times in tables are the facility's local times ({}), with the zone's abbreviation. \
         Source files are relative to the input folder they were read from; each finding's \
         detail ends with its record number in that file. Full data: {}, {}, {}, {}.</footer>\n",
        esc(&ov.run.version),
        esc(&ov.run.run_id),
        esc(or_dash(&ov.run.timezone)),
        out::FINDINGS,
        out::SUMMARY,
        out::REJECTS,
        out::MANIFEST
    );
    h.push_str("</body>\n</html>\n");
    h
}

fn family_anchor(i: usize, family: &str) -> String {
    if guidance::family(family).is_some() { family.to_owned() } else { format!("family-{i}") }
}

fn family_title(family: &str) -> String {
    guidance::family(family).map_or_else(|| format!("Other findings: {family}"), |f| f.title.into())
}

/// A severity badge; the class comes from the fixed list, never from the data.
fn badge(sev: &str) -> String {
    let class = Severity::from_name(sev).map_or("other", Severity::as_str);
    format!("<span class=\"sev sev-{class}\">{}</span>", esc(sev))
}

fn badge_slot(slot: usize) -> String {
    badge(SEVERITIES.get(slot).copied().unwrap_or("other"))
}

fn cap(h: &mut String, shown: usize, total: u64, file: &str) {
    if let Some(note) = cap_note(shown, total, file) {
        w!(h, "<p class=\"cap keep\">{}</p>\n", esc(&note));
    }
}

fn header(h: &mut String, m: &Model) {
    let ov = &m.overview;
    h.push_str("<header>\n<p class=\"kicker\">Seed-to-sale compliance audit</p>\n");
    h.push_str("<h1>tagtrail audit report</h1>\n");
    w!(
        h,
        "<p class=\"lead\">{} · {} · <a href=\"#rejects\">{}</a> · run <code>{}</code>, \
         finished {} · <a href=\"#run\">run details and input files</a></p>\n</header>\n",
        plural(ov.licenses.len() as u64, "license", "licenses"),
        plural(ov.total_findings, "finding", "findings"),
        plural(ov.rejects_total, "rejected input record", "rejected input records"),
        esc(&ov.run.run_id),
        esc(or_dash(&ov.run.finished_at))
    );
}

/// The run's details (the appendix's first table).
fn run_meta(h: &mut String, m: &Model) {
    let r = &m.overview.run;
    h.push_str("<dl class=\"meta\">\n");
    w!(h, "<dt>Run id</dt><dd><code>{}</code></dd>\n", esc(&r.run_id));
    if !r.has_manifest {
        w!(
            h,
            "<dt>Manifest</dt><dd>{} was not found: run details are unknown.</dd>\n",
            out::MANIFEST
        );
    }
    w!(
        h,
        "<dt>When</dt><dd>started {}, finished {}</dd>\n",
        esc(or_dash(&r.started_at)),
        esc(or_dash(&r.finished_at))
    );
    let tool = if r.tool.is_empty() { "tagtrail" } else { &r.tool };
    w!(h, "<dt>Tool</dt><dd>{} {}</dd>\n", esc(tool), esc(&r.version));
    w!(
        h,
        "<dt>Time zone</dt><dd>{} <span class=\"muted\">(naive input times are read in \
         it; tables show its local times; the Parquet outputs hold UTC)</span></dd>\n",
        esc(or_dash(&r.timezone))
    );
    let profile = if r.profile.is_empty() { "built-in defaults" } else { &r.profile };
    w!(h, "<dt>Profile</dt><dd>{}</dd>\n", esc(profile));
    if let Some(t) = r.threshold_pct {
        let basis = match r.basis.as_str() {
            "net_difference" => "of net difference between physical and recorded inventory",
            "average_monthly_sales" => "of average monthly sales",
            _ => "",
        };
        w!(h, "<dt>Significance threshold</dt><dd>{} % {}</dd>\n", esc(&num(t)), basis);
    }
    w!(h, "<dt>Licenses</dt><dd>{}</dd>\n", int(m.overview.licenses.len() as u64));
    w!(h, "<dt>Findings</dt><dd>{}</dd>\n", int(m.overview.total_findings));
    w!(
        h,
        "<dt>Rejected input records</dt><dd><a href=\"#rejects\">{}</a></dd>\n",
        int(m.overview.rejects_total)
    );
    if !m.overview.unread.is_empty() {
        w!(
            h,
            "<dt>Files not read</dt><dd><a href=\"#unread\">{}</a></dd>\n",
            int(m.overview.unread.len() as u64)
        );
    }
    if !r.command.is_empty() {
        w!(
            h,
            "<dt>Command</dt><dd><code class=\"wrap\">{}</code></dd>\n",
            esc(&r.command.join(" "))
        );
    }
    h.push_str("</dl>\n");
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "—" } else { s }
}

fn opt_int(n: Option<u64>) -> String {
    n.map(int).unwrap_or_default()
}

fn run_section(h: &mut String, m: &Model, no: usize) {
    let inputs = &m.overview.inputs;
    w!(h, "<section id=\"run\" class=\"page\">\n<h2>{no}. Appendix: Run and inputs</h2>\n");
    run_meta(h, m);
    w!(
        h,
        "<p>{} read. Rows in = rows accepted + rows rejected, per file; rejected records are \
         listed in <a href=\"#rejects\">section {}</a>.</p>\n",
        plural(inputs.len() as u64, "input file was", "input files were"),
        m.families.len() + 2
    );
    if !m.overview.input_notes.is_empty() {
        h.push_str("<ul id=\"input-notes\">\n");
        for n in &m.overview.input_notes {
            w!(h, "<li>{}</li>\n", esc(n));
        }
        h.push_str("</ul>\n");
    }
    if inputs.is_empty() {
        h.push_str("<p class=\"muted\">The manifest lists no input files.</p>\n");
        unread_list(h, m);
        h.push_str("</section>\n");
        return;
    }
    let shown = inputs.len().min(m.max_rows);
    h.push_str(
        "<table>\n<thead><tr><th>Path</th><th>Kind</th><th>License</th><th>SHA-256</th>\
         <th class=\"n\">Bytes</th><th class=\"n\">Rows in</th><th class=\"n\">Accepted</th>\
         <th class=\"n\">Rejected</th></tr></thead>\n<tbody>\n",
    );
    for i in &inputs[..shown] {
        w!(
            h,
            "<tr><td class=\"mono wrap\">{}</td><td>{}</td><td class=\"nowrap\">{}</td>\
             <td class=\"mono hash\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
            esc(&i.path),
            esc(&i.kind),
            esc(&i.license),
            esc(&i.sha256),
            opt_int(i.bytes),
            opt_int(i.rows_in),
            opt_int(i.rows_accepted),
            opt_int(i.rows_rejected)
        );
    }
    let sum = |f: fn(&super::data::Input) -> Option<u64>| int(inputs.iter().filter_map(f).sum());
    w!(
        h,
        "<tr class=\"total\"><td colspan=\"4\">All {} files</td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
        int(inputs.len() as u64),
        sum(|i| i.bytes),
        sum(|i| i.rows_in),
        sum(|i| i.rows_accepted),
        sum(|i| i.rows_rejected)
    );
    h.push_str("</tbody>\n</table>\n");
    cap(h, shown, inputs.len() as u64, out::MANIFEST);
    unread_list(h, m);
    h.push_str("</section>\n");
}

/// Files of the export that were not read, and why (none: nothing is written).
fn unread_list(h: &mut String, m: &Model) {
    let list = &m.overview.unread;
    if list.is_empty() {
        return;
    }
    w!(
        h,
        "<h3 id=\"unread\">Files not read ({})</h3>\n<p>Under the export but not read, each \
         with the reason.</p>\n<table>\n<thead><tr><th>Path</th><th>Why not read</th></tr>\
         </thead>\n<tbody>\n",
        int(list.len() as u64)
    );
    let shown = list.len().min(m.max_rows);
    for u in &list[..shown] {
        w!(
            h,
            "<tr><td class=\"mono wrap\">{}</td><td>{}</td></tr>\n",
            esc(&u.path),
            esc(&u.reason)
        );
    }
    h.push_str("</tbody>\n</table>\n");
    cap(h, shown, list.len() as u64, out::MANIFEST);
}

/// "Yes — weight -6.20 % (counted 940 g vs system 1,000 g)" or "No — …".
fn significance_html(l: &License) -> String {
    match l.coverage.status {
        CountStatus::NotChecked if !l.significant() => {
            return format!(
                "<span class=\"muted\">not checked: {}</span>",
                esc(&l.coverage.not_checked_why())
            );
        }
        CountStatus::NotDetermined => {
            return format!(
                "<span class=\"yes\">not determined</span> <span class=\"muted\">({} of {} count rows rejected)</span>",
                int(l.coverage.rejected),
                int(l.coverage.rows)
            );
        }
        _ => {}
    }
    if l.quantities.is_empty() {
        return if l.significant() {
            "<span class=\"yes\">Yes</span>".to_owned()
        } else {
            "<span class=\"muted\">no count</span>".to_owned()
        };
    }
    let mut s =
        if l.significant() { "<span class=\"yes\">Yes</span>".to_owned() } else { "No".to_owned() };
    for q in &l.quantities {
        w!(
            s,
            "<br><span class=\"nowrap\">{}{}: {} <span class=\"muted\">(counted {} vs system {} {})</span></span>",
            if q.significant { "⚠ " } else { "" },
            esc(&q.quantity_type),
            q.variance_pct.map(pct).map(|p| esc(&p)).unwrap_or_else(|| "n/a".into()),
            q.counted_total.map(num).unwrap_or_default(),
            q.system_total.map(num).unwrap_or_default(),
            esc(&q.unit)
        );
    }
    s
}

fn summary_section(h: &mut String, m: &Model, no: usize) {
    let ov = &m.overview;
    w!(h, "<section id=\"summary\" class=\"page\">\n<h2>{no}. Executive summary</h2>\n");
    h.push_str("<div class=\"tiles\">");
    for (i, sev) in SEVERITIES.iter().enumerate() {
        w!(
            h,
            "<div class=\"tile sev-{sev}\" id=\"total-{sev}\"><b>{}</b><span>{sev}</span></div>",
            int(ov.totals[i])
        );
    }
    if ov.totals[OTHER] > 0 {
        w!(
            h,
            "<div class=\"tile\" id=\"total-other\"><b>{}</b><span>other</span></div>",
            int(ov.totals[OTHER])
        );
    }
    w!(
        h,
        "<div class=\"tile\" id=\"total-all\"><b>{}</b><span>findings</span></div></div>\n",
        int(ov.total_findings)
    );
    let significant: Vec<&License> = ov.licenses.iter().filter(|l| l.significant()).collect();
    if let Some(c) = &ov.changes {
        w!(h, "<p id=\"changes\"><b>{}</b></p>\n", esc(&super::text::change_sentence(c)));
    }
    for sentence in super::text::count_verdicts(ov) {
        let class = if sentence.starts_with("No significant") { "" } else { " class=\"callout\"" };
        w!(h, "<p{class} id=\"count-verdict\">{}</p>\n", esc(&sentence));
    }
    if significant.is_empty() {
    } else {
        let names: Vec<String> = significant
            .iter()
            .take(20)
            .map(|l| format!("<code>{}</code>", esc(&l.license)))
            .collect();
        w!(
            h,
            "<div class=\"callout\"><b>Significant inventory discrepancy at {} of {}:</b> {}{}. \
             Under 4 CCR §15034 each must be reported to the Department within 24 hours of \
             discovery.</div>\n",
            int(significant.len() as u64),
            plural(ov.licenses.len() as u64, "license", "licenses"),
            names.join(", "),
            if significant.len() > 20 { ", …" } else { "" }
        );
    }

    critical_verdict(h, m);
    if let Some(t) = &m.trend {
        super::trend::html(h, t);
    }

    h.push_str("<h3>Findings by license</h3>\n");
    if ov.licenses.is_empty() {
        h.push_str("<p class=\"muted\">No license in the inputs or the findings.</p>\n");
    } else {
        let shown = ov.licenses.len().min(m.max_rows);
        h.push_str("<table>\n<thead><tr><th>License</th>");
        for sev in SEVERITIES {
            w!(h, "<th class=\"n\">{}</th>", capitalize(sev));
        }
        h.push_str(
            "<th class=\"n\">Total</th><th>Significant discrepancy (ratio per quantity type)</th>\
             </tr></thead>\n<tbody>\n",
        );
        for l in &ov.licenses[..shown] {
            w!(h, "<tr><td class=\"nowrap\"><code>{}</code></td>", esc(&l.license));
            for (i, sev) in SEVERITIES.iter().enumerate() {
                let n = l.counts[i];
                if n > 0 {
                    w!(h, "<td class=\"n\" data-severity=\"{sev}\"><b>{}</b></td>", int(n));
                } else {
                    w!(h, "<td class=\"n muted\" data-severity=\"{sev}\">0</td>");
                }
            }
            w!(
                h,
                "<td class=\"n\">{}</td><td>{}</td></tr>\n",
                int(l.total()),
                significance_html(l)
            );
        }
        h.push_str("</tbody>\n</table>\n");
        cap(h, shown, ov.licenses.len() as u64, out::SUMMARY);
    }

    duties_html(h, m);
    h.push_str("<h3>What applies and what must be done, per license</h3>\n");
    let with_findings: Vec<&License> = ov.licenses.iter().filter(|l| l.total() > 0).collect();
    if with_findings.is_empty() {
        h.push_str("<p>No finding: nothing to act on.</p>\n");
    }
    let shown = with_findings.len().min(m.max_rows);
    for l in &with_findings[..shown] {
        license_card(h, m, l);
    }
    cap(h, shown, with_findings.len() as u64, out::SUMMARY);
    h.push_str("</section>\n");
}

/// Critical findings by rule: after the significance verdicts, the first thing to act on.
fn critical_verdict(h: &mut String, m: &Model) {
    let ov = &m.overview;
    if ov.totals[0] == 0 {
        return;
    }
    let parts: Vec<String> = super::text::critical_rules(ov)
        .into_iter()
        .map(|(n, id, cite)| format!("{} × <code>{}</code> ({})", int(n), esc(id), esc(cite)))
        .collect();
    w!(
        h,
        "<div class=\"callout\" id=\"critical-verdict\"><b>{}:</b> {}. Act on these first; \
         each is listed under its family below.</div>\n",
        plural(ov.totals[0], "critical finding", "critical findings"),
        parts.join("; ")
    );
}

fn license_card(h: &mut String, m: &Model, l: &License) {
    w!(
        h,
        "<div class=\"card\">\n<h3>{} <code>{}</code></h3>\n<p>",
        badge_slot(worst(&l.counts)),
        esc(&l.license)
    );
    w!(h, "{}: {}", plural(l.total(), "finding", "findings"), sev_list(&l.counts));
    h.push_str("</p>\n");
    if l.significant() {
        h.push_str(
            "<p class=\"callout\"><b>Significant discrepancy:</b> report to the Department \
             within 24 hours of discovery (§15034).</p>\n",
        );
    }
    h.push_str("<ul>\n");
    for fam in l.families() {
        let (title, short) = match guidance::family(fam) {
            Some(f) => (f.title.to_owned(), f.short),
            None => (format!("Other: {fam}"), ""),
        };
        w!(h, "<li><b>{}</b>", esc(&title));
        if !short.is_empty() {
            w!(h, " — {}", esc(short));
        }
        h.push_str("<ul>");
        for r in l.rules.iter().filter(|r| r.family == fam) {
            let action = rule_action(m, &r.rule_id);
            w!(
                h,
                "<li>{} <code>{}</code> ×{} <span class=\"muted\">{}</span>{}{}</li>",
                badge_slot(r.worst()),
                esc(&r.rule_id),
                int(r.total()),
                esc(&r.citation),
                if action.is_empty() { "" } else { " — " },
                esc(&action)
            );
        }
        h.push_str("</ul></li>\n");
    }
    h.push_str("</ul>\n</div>\n");
}

/// The built-in action for a rule, else the manifest's description of it.
pub(crate) fn rule_action(m: &Model, rule_id: &str) -> String {
    guidance::rule_action(rule_id).map(str::to_owned).unwrap_or_else(|| {
        m.overview
            .rules
            .iter()
            .find(|r| r.id == rule_id)
            .map(|r| r.description.clone())
            .unwrap_or_default()
    })
}

fn sev_list(counts: &SevCounts) -> String {
    let mut parts: Vec<String> = SEVERITIES
        .iter()
        .enumerate()
        .filter(|(i, _)| counts[*i] > 0)
        .map(|(i, s)| format!("{} {s}", int(counts[i])))
        .collect();
    if counts[OTHER] > 0 {
        parts.push(format!("{} other", int(counts[OTHER])));
    }
    parts.join(", ")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn family_section(h: &mut String, m: &Model, f: &FamilyData, anchor: &str, no: usize) {
    w!(
        h,
        "<section id=\"{anchor}\" class=\"page\">\n<h2>{no}. {} <small>family <code>{}</code></small></h2>\n",
        esc(&family_title(&f.family)),
        esc(&f.family)
    );
    if let Some(g) = guidance::family(&f.family) {
        w!(h, "<p>{}</p>\n", esc(g.checks));
        w!(
            h,
            "<div class=\"reg\"><p><b>Regulation.</b> {}</p><p><b>What must be done.</b> {}</p></div>\n",
            esc(g.regulation),
            esc(g.action)
        );
    }
    if f.total == 0 {
        h.push_str("<p><b>No findings.</b></p>\n</section>\n");
        return;
    }
    w!(h, "<p><b>{}</b> in this family.</p>\n", plural(f.total, "finding", "findings"));
    h.push_str(
        "<table>\n<thead><tr><th>Rule</th><th class=\"n\">Findings</th><th>Worst</th>\
         <th>Citation</th><th>Meaning and action</th></tr></thead>\n<tbody>\n",
    );
    for r in &f.rules {
        w!(
            h,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&r.rule_id),
            int(r.total()),
            badge_slot(r.worst()),
            esc(&r.citation),
            esc(&rule_action(m, &r.rule_id))
        );
    }
    h.push_str("</tbody>\n</table>\n");

    match f.family.as_str() {
        "count" => count_extras(h, m),
        "lag" => lag_extras(h, &m.lag),
        _ => {}
    }

    h.push_str("<h3>Findings</h3>\n");
    h.push_str(
        "<p class=\"muted keep\">Ordered by severity (critical first), then license and \
         package.</p>\n",
    );
    cap(h, f.rows.len(), f.total, out::FINDINGS);
    finding_table(h, columns(&f.family), &f.rows);
    cap(h, f.rows.len(), f.total, out::FINDINGS);
    h.push_str("</section>\n");
}

/// [`esc`], then a line-break opportunity after each `.`, `_` and `/`, so that rule ids and
/// paths wrap inside narrow printed columns instead of overflowing the page.
fn esc_breakable(s: &str) -> String {
    esc(s).replace('.', ".<wbr>").replace('_', "_<wbr>").replace('/', "/<wbr>")
}

/// Short enough to keep on one line in a table cell.
fn short(s: &str) -> bool {
    s.chars().count() <= 16
}

/// The width a findings table is laid out for with 10 px table text: about that of a
/// landscape page in print. On screen (12 px text) the table is at least 1.2 times as wide
/// (`min-width` in [`CSS`]) and scrolls in a narrower window.
const TABLE_PX: u32 = 1100;
/// The detail column gets at least this much, even if the table has to grow.
const MIN_DETAIL_PX: u32 = 140;

fn finding_table(h: &mut String, cols: &[Col], rows: &[Finding]) {
    let fixed: u32 = cols.iter().map(|c| c.width()).sum();
    let detail = TABLE_PX.saturating_sub(fixed).max(MIN_DETAIL_PX);
    let px = |c: &Col| if *c == Col::Detail { detail } else { c.width() };
    let total: u32 = cols.iter().map(px).sum::<u32>().max(1);
    h.push_str("<div class=\"scroll\"><table class=\"findings\">\n<colgroup>");
    for c in cols {
        w!(h, "<col style=\"width:{:.2}%\">", f64::from(px(c)) * 100.0 / f64::from(total));
    }
    h.push_str("</colgroup>\n<thead><tr>");
    for c in cols {
        w!(h, "<th{}>{}</th>", if c.numeric() { " class=\"n\"" } else { "" }, esc(c.header()));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        h.push_str("<tr>");
        for c in cols {
            match c {
                Col::Severity => match super::text::recurring_note(r) {
                    Some(note) => w!(
                        h,
                        "<td>{}<br><small class=\"recurring\">{}</small></td>",
                        badge(&r.severity),
                        esc(&note)
                    ),
                    None => w!(h, "<td>{}</td>", badge(&r.severity)),
                },
                Col::Rule => w!(h, "<td><code>{}</code></td>", esc_breakable(&r.rule_id)),
                // the date stays whole: "2026-10-07 / 21:40:31 UTC"
                Col::Occurred | Col::Recorded => {
                    let t = c.text(r);
                    match t.split_once(' ') {
                        Some((d, rest)) if short(d) => w!(
                            h,
                            "<td class=\"wrap\"><span class=\"nowrap\">{}</span> {}</td>",
                            esc(d),
                            esc(rest)
                        ),
                        _ => w!(h, "<td class=\"wrap\">{}</td>", esc(&t)),
                    }
                }
                // a tag or a license is one token: never broken inside (hostile text that
                // is longer than any real one still wraps)
                Col::Label | Col::Related | Col::License => {
                    let t = c.text(r);
                    let class = if t.chars().count() <= 40 { "nowrap" } else { "wrap" };
                    w!(h, "<td class=\"{class}\"><code>{}</code></td>", esc(&t))
                }
                Col::Chain => {
                    h.push_str("<td class=\"wrap\">");
                    match &r.related_label {
                        Some(rel) => w!(h, "<code>{}</code> →&#8203; ", esc(&clip(rel, 200))),
                        None => h.push_str("<span class=\"muted\">(no source)</span> → "),
                    }
                    let label = r.package_label.as_deref().unwrap_or("");
                    w!(h, "<code>{}</code></td>", esc(&clip(label, 200)));
                }
                Col::Detail => w!(h, "<td class=\"wrap\">{}</td>", esc(&c.text(r))),
                Col::Source => {
                    w!(h, "<td class=\"mono wrap\">{}</td>", esc_breakable(&c.text(r)))
                }
                // "§15049(b)(7)" may break before a "(", not inside a part
                Col::Citation => {
                    w!(h, "<td>{}</td>", esc(&c.text(r)).replace('(', "<wbr>("))
                }
                // numbers and units stay on one line unless absurdly long
                Col::Unit => {
                    let t = c.text(r);
                    w!(
                        h,
                        "<td class=\"{}\">{}</td>",
                        if short(&t) { "nowrap" } else { "wrap" },
                        esc(&t)
                    )
                }
                _ if c.numeric() => {
                    let t = c.text(r);
                    w!(h, "<td class=\"n{}\">{}</td>", if short(&t) { "" } else { " brk" }, esc(&t))
                }
                _ => w!(h, "<td class=\"wrap\">{}</td>", esc(&c.text(r))),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></div>\n");
}

fn count_extras(h: &mut String, m: &Model) {
    h.push_str("<h3>Totals per license and quantity type</h3>\n");
    if m.quantities.is_empty() {
        let why = if m.overview.has_summary { "has no totals" } else { "was not found" };
        w!(h, "<p class=\"muted\">{} {why}.</p>\n", out::SUMMARY);
    } else {
        h.push_str(
            "<table>\n<thead><tr><th>License</th><th>Quantity type</th><th class=\"n\">System \
             total</th><th class=\"n\">Counted total</th><th class=\"n\">Variance</th>\
             <th>Unit</th><th class=\"n\">Variance %</th><th>Significant</th></tr></thead>\n<tbody>\n",
        );
        for q in &m.quantities {
            w!(
                h,
                "<tr><td class=\"nowrap\"><code>{}</code></td><td>{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td>\
                 <td>{}</td></tr>\n",
                esc(&q.license),
                esc(&q.quantity_type),
                q.system_total.map(num).unwrap_or_default(),
                q.counted_total.map(num).unwrap_or_default(),
                q.variance.map(signed).unwrap_or_default(),
                esc(&q.unit),
                q.variance_pct.map(pct).map(|p| esc(&p)).unwrap_or_default(),
                if q.significant { "<span class=\"yes\">Yes</span>" } else { "No" }
            );
        }
        h.push_str("</tbody>\n</table>\n");
        cap(h, m.quantities.len(), m.quantities_total as u64, out::SUMMARY);
    }
    for b in &m.bars {
        bar_chart(h, b);
    }
}

/// Shortage (left, red) and overage (right, blue) per group, drawn from a common zero.
fn bar_chart(h: &mut String, b: &Bars) {
    const W: f64 = 900.0;
    const L: f64 = 230.0;
    const R: f64 = W - 280.0;
    const ROW: f64 = 24.0;
    const TOP: f64 = 58.0;
    if b.bars.is_empty() {
        return;
    }
    let neg = b.bars.iter().map(|x| -x.shortage).fold(0.0, f64::max);
    let pos = b.bars.iter().map(|x| x.overage).fold(0.0, f64::max);
    let span = if neg + pos > 0.0 { neg + pos } else { 1.0 };
    let scale = (R - L) / span;
    let zero = L + neg * scale;
    let height = TOP + ROW * b.bars.len() as f64 + 16.0;
    let unit = esc(&b.unit);
    w!(
        h,
        "<h3>Variance by {} ({unit})</h3>\n<svg class=\"chart\" viewBox=\"0 0 {W} {height}\" \
         width=\"{W}\" height=\"{height}\" role=\"img\"><title>Net shortage and overage by {} in \
         {unit}</title>\n",
        b.by,
        b.by
    );
    w!(
        h,
        "<rect x=\"{L}\" y=\"8\" width=\"12\" height=\"12\" fill=\"#b91c1c\"/><text x=\"{}\" \
         y=\"18\">shortage: counted less than the system</text><rect x=\"{}\" y=\"8\" \
         width=\"12\" height=\"12\" fill=\"#1d4ed8\"/><text x=\"{}\" y=\"18\">overage: counted \
         more than the system</text>\n",
        L + 16.0,
        L + 280.0,
        L + 296.0
    );
    w!(
        h,
        "<text x=\"{L}\" y=\"40\" fill=\"#6b7280\">{}</text>\n",
        if b.groups > b.bars.len() {
            format!("the {} largest of {}", b.bars.len(), groups_of(b))
        } else {
            groups_of(b)
        }
    );
    w!(
        h,
        "<text x=\"{}\" y=\"40\" text-anchor=\"end\" fill=\"#6b7280\">shortage / overage</text>\n",
        W - 8.0
    );
    for (i, bar) in b.bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        w!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            L - 8.0,
            y + 16.0,
            esc(&clip(&bar.group, 26))
        );
        if bar.shortage < 0.0 {
            let wdt = (-bar.shortage * scale).max(1.0);
            w!(
                h,
                "<rect x=\"{:.1}\" y=\"{}\" width=\"{wdt:.1}\" height=\"16\" fill=\"#b91c1c\"/>",
                zero - wdt,
                y + 4.0
            );
        }
        if bar.overage > 0.0 {
            let wdt = (bar.overage * scale).max(1.0);
            w!(
                h,
                "<rect x=\"{zero:.1}\" y=\"{}\" width=\"{wdt:.1}\" height=\"16\" fill=\"#1d4ed8\"/>",
                y + 4.0
            );
        }
        w!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} / {} <tspan fill=\"#6b7280\">({})</tspan></text>\n",
            W - 8.0,
            y + 16.0,
            esc(&signed(bar.shortage)),
            esc(&signed(bar.overage)),
            plural(bar.findings, "finding", "findings")
        );
    }
    w!(
        h,
        "<line x1=\"{zero:.1}\" x2=\"{zero:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#111827\"/>\n</svg>\n",
        TOP - 4.0,
        height - 12.0
    );
}

/// "3 categories", "1 license".
pub(crate) fn groups_of(b: &Bars) -> String {
    match b.by {
        "category" => plural(b.groups as u64, "category", "categories"),
        _ => plural(b.groups as u64, "license", "licenses"),
    }
}

/// Lag findings per 12-hour bin, with the 24 h limit and the 72 h high-severity line.
fn lag_extras(h: &mut String, lag: &LagHistogram) {
    const W: f64 = 860.0;
    const H: f64 = 300.0;
    const L: f64 = 60.0;
    const R: f64 = W - 20.0;
    const T: f64 = 44.0;
    const B: f64 = H - 56.0;
    if lag.total() == 0 {
        return;
    }
    let off = usize::from(lag.negative > 0);
    let nb = LAG_BINS + off;
    let bw = (R - L) / nb as f64;
    let max = lag.bins.iter().copied().chain([lag.negative]).max().unwrap_or(1).max(1);
    h.push_str("<h3>Lag from occurrence to record</h3>\n");
    w!(
        h,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\">\
         <title>Histogram of lag hours of the lag findings</title>\n"
    );
    // y axis: round steps of 1, 2 or 5 × 10^k, about four of them
    let step = nice_step(max);
    let top = max.div_ceil(step) * step;
    let mut tick = 0;
    while tick <= top {
        let y = B - tick as f64 / top as f64 * (B - T);
        w!(
            h,
            "<line x1=\"{L}\" x2=\"{R}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e5e7eb\"/><text \
             x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#6b7280\">{}</text>\n",
            L - 6.0,
            y + 4.0,
            int(tick)
        );
        tick += step;
    }
    let bin = |k: usize| -> (u64, String, &'static str) {
        if off == 1 && k == 0 {
            return (lag.negative, "early".into(), "#1d4ed8");
        }
        let j = k - off;
        let start = j as f64 * LAG_BIN_HOURS;
        let color = if start >= 72.0 {
            "#c2410c"
        } else if start >= 24.0 {
            "#a16207"
        } else {
            "#9ca3af"
        };
        let label = if j == LAG_BINS - 1 { format!("≥ {}", num(start)) } else { num(start) };
        (lag.bins[j], label, color)
    };
    for k in 0..nb {
        let (n, label, color) = bin(k);
        let x = L + k as f64 * bw;
        if n > 0 {
            let bh = (n as f64 / top as f64 * (B - T)).max(1.0);
            w!(
                h,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + 2.0,
                B - bh,
                bw - 4.0,
                x + bw / 2.0,
                B - bh - 4.0,
                int(n)
            );
        }
        // bins are labelled at their left edge; the open bins (early, ≥ 168) at their centre,
        // the early one a line lower so that it never runs into the 0 h label
        let early = off == 1 && k == 0;
        let lx = if early || k == nb - 1 { x + bw / 2.0 } else { x };
        w!(
            h,
            "<text x=\"{lx:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#374151\">{}</text>\n",
            B + if early { 30.0 } else { 16.0 },
            esc(&label)
        );
    }
    w!(h, "<line x1=\"{L}\" x2=\"{R}\" y1=\"{B}\" y2=\"{B}\" stroke=\"#111827\"/>\n");
    for (hours, label, color) in
        [(24.0, "24 h: limit of §15049(b)", "#a16207"), (72.0, "72 h: high severity", "#991b1b")]
    {
        let x = L + (off as f64 + hours / LAG_BIN_HOURS) * bw;
        w!(
            h,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{B}\" stroke=\"{color}\" \
             stroke-width=\"2\" stroke-dasharray=\"6 4\"/><text x=\"{:.1}\" y=\"{}\" \
             fill=\"{color}\">{label}</text>\n",
            T - 14.0,
            x + 5.0,
            T - 18.0
        );
    }
    w!(
        h,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#374151\">hours from \
         occurrence to record ({}-hour bins)</text>\n</svg>\n",
        (L + R) / 2.0,
        H - 14.0,
        num(LAG_BIN_HOURS)
    );
}

/// A step of 1, 2 or 5 × 10^k giving at most about four steps up to `max`.
fn nice_step(max: u64) -> u64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if max <= step * m * 4 {
                return step * m;
            }
        }
        step *= 10;
    }
}

fn rejects_section(h: &mut String, m: &Model, no: usize) {
    let total = m.overview.rejects_total;
    w!(h, "<section id=\"rejects\" class=\"page\">\n<h2>{no}. Rejected input records</h2>\n");
    if total == 0 {
        h.push_str("<p><b>No input record was rejected.</b></p>\n</section>\n");
        return;
    }
    w!(
        h,
        "<p><b>{}</b> could not be read. They are kept in {} and left out of every check; \
         correct them at the source and run again. Record: 0-based index in a JSON file, \
         physical line in a CSV file.</p>\n",
        plural(total, "input record", "input records"),
        out::REJECTS
    );
    if m.rejects.is_empty() {
        h.push_str("</section>\n");
        return;
    }
    h.push_str(
        "<table>\n<thead><tr><th>Source file</th><th class=\"n\">Record</th><th>Column</th>\
         <th>Reason</th><th>Raw value</th></tr></thead>\n<tbody>\n",
    );
    for r in &m.rejects {
        w!(
            h,
            "<tr><td class=\"mono wrap\">{}</td><td class=\"n\">{}</td><td>{}</td>\
             <td class=\"wrap\">{}</td><td class=\"mono wrap\">{}</td></tr>\n",
            esc(&r.source_file),
            r.record.map(|n| n.to_string()).unwrap_or_default(),
            esc(&r.column),
            esc(&r.reason),
            esc(&clip(&r.raw, super::data::RAW_CHARS))
        );
    }
    h.push_str("</tbody>\n</table>\n");
    cap(h, m.rejects.len(), total, out::REJECTS);
    h.push_str("</section>\n");
}

fn rules_section(h: &mut String, m: &Model, no: usize) {
    let ov = &m.overview;
    w!(h, "<section id=\"rules\" class=\"page\">\n<h2>{no}. Rules, options and outputs</h2>\n");
    if ov.rules.is_empty() {
        h.push_str("<p class=\"muted\">The manifest lists no rules.</p>\n");
    } else {
        w!(
            h,
            "<p>{} ran. The hash identifies the exact rule text.</p>\n",
            plural(ov.rules.len() as u64, "rule", "rules")
        );
        h.push_str(
            "<table>\n<thead><tr><th>Rule</th><th>Family</th><th>Severity</th><th>Citation</th>\
             <th>Description</th><th>Kind</th><th>SHA-256</th></tr></thead>\n<tbody>\n",
        );
        for r in ov.rules.iter().take(m.max_rows) {
            w!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td class=\"mono hash\">{}</td></tr>\n",
                esc(&r.id),
                esc(&r.family),
                badge(&r.severity),
                esc(&r.citation),
                esc(&r.description),
                esc(&r.source),
                esc(&r.sha256)
            );
        }
        h.push_str("</tbody>\n</table>\n");
        cap(h, ov.rules.len().min(m.max_rows), ov.rules.len() as u64, out::MANIFEST);
    }
    if !ov.run.options.is_empty() {
        h.push_str("<h3>Options</h3>\n<table>\n<thead><tr><th>Option</th><th>Value</th></tr></thead>\n<tbody>\n");
        for (k, v) in &ov.run.options {
            w!(h, "<tr><td>{}</td><td class=\"wrap\">{}</td></tr>\n", esc(k), esc(or_dash(v)));
        }
        h.push_str("</tbody>\n</table>\n");
    }
    if !ov.outputs.is_empty() {
        h.push_str(
            "<h3>Outputs</h3>\n<table>\n<thead><tr><th>Path</th><th class=\"n\">Rows</th></tr>\
             </thead>\n<tbody>\n",
        );
        for o in ov.outputs.iter().take(m.max_rows) {
            w!(
                h,
                "<tr><td class=\"mono wrap\">{}</td><td class=\"n\">{}</td></tr>\n",
                esc(&o.path),
                opt_int(o.rows)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    if !ov.run.rerun.is_empty() {
        w!(h, "<h3>Re-run</h3>\n<p><code class=\"wrap\">{}</code></p>\n", esc(&ov.run.rerun));
    }
    h.push_str("</section>\n");
}

/// "Reconciliation duties" (§15050, §15051): per license, the latest known count and the
/// days to the as-of time, whether users and outages were checked, what outages excused.
fn duties_html(h: &mut String, m: &Model) {
    let rows = super::text::duty_rows(&m.overview);
    if rows.is_empty() {
        return;
    }
    h.push_str("<h3 id=\"duties\">Reconciliation duties</h3>\n<table>\n<thead><tr>");
    for head in super::text::DUTY_HEADERS {
        w!(h, "<th>{}</th>", esc(head));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let shown = rows.len().min(m.max_rows);
    for row in &rows[..shown] {
        h.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            if i == 0 {
                w!(h, "<td class=\"nowrap\"><code>{}</code></td>", esc(c));
            } else {
                w!(h, "<td>{}</td>", esc(c));
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    cap(h, shown, rows.len() as u64, out::SUMMARY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_chart_steps_are_round() {
        assert_eq!(nice_step(1), 1);
        assert_eq!(nice_step(4), 1);
        assert_eq!(nice_step(7), 2);
        assert_eq!(nice_step(19), 5);
        assert_eq!(nice_step(37), 10);
        assert_eq!(nice_step(120_000), 50_000);
    }

    #[test]
    fn report_escape_covers_markup_and_addresses() {
        assert_eq!(
            esc("<script>alert('1')</script>"),
            "&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt;"
        );
        assert_eq!(esc("a & \"b\""), "a &amp; &quot;b&quot;");
        assert_eq!(esc("see https://x.example/a"), "see https&#58;//x.example/a");
        assert_eq!(esc("12:30 ok:"), "12:30 ok:");
        assert_eq!(esc("é:/"), "é:/");
        assert_eq!(esc_breakable("a.b_c/<d>"), "a.<wbr>b_<wbr>c/<wbr>&lt;d&gt;");
    }
}

//! Reports: self-contained HTML with every section and the counts of findings.parquet;
//! report.md snapshot-tested with the volatile fields filtered.

use std::collections::BTreeMap;
use std::fs;

use crate::common::{fixture, read, run_pipeline, s};

fn severity_counts(out: &std::path::Path) -> BTreeMap<String, usize> {
    let f = read(&out.join("findings.parquet"));
    let mut m = BTreeMap::new();
    for i in 0..f.height() {
        *m.entry(s(&f, "severity", i).unwrap()).or_insert(0) += 1;
    }
    m
}

#[test]
fn report_html_is_self_contained_and_shows_every_section_and_count() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    crate::common::generate(&data, 2, 1500, 5, "json");
    let out = tmp.path().join("out");
    run_pipeline(&data.join("export"), Some(&data.join("counts")), &out);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    let lower = html.to_lowercase();
    for bad in ["http://", "https://", "src=\"//", "@import", "url(http"] {
        assert!(!lower.contains(bad), "report.html references an outside resource: {bad}");
    }
    for section in
        ["id=\"run\"", "id=\"summary\"", "id=\"rejects\"", "id=\"rules\"", "<svg", "@media print"]
    {
        assert!(html.contains(section), "report.html lacks {section}");
    }
    let findings = read(&out.join("findings.parquet"));
    let total = findings.height();
    assert!(total > 0);
    let tile = |id: &str, n: usize| format!("id=\"total-{id}\"><b>{}</b>", group(n));
    assert!(html.contains(&tile("all", total)), "total findings {total} shown");
    for (sev, n) in severity_counts(&out) {
        assert!(html.contains(&tile(&sev, n)), "{sev}: {n} not shown");
    }
    // Families present in findings have their section.
    for family in ["count", "lag", "lineage", "record"] {
        assert!(html.contains(&format!("<code>{family}</code>")), "family {family} section");
    }
    // Every input file is listed with its hash.
    let m = crate::common::manifest(&out);
    for input in m["inputs"].as_array().unwrap() {
        assert!(html.contains(input["sha256"].as_str().unwrap()), "{input}");
    }
}

#[test]
fn report_markdown_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let case = fixture("rules").join("trap.count_duplicate_first_row");
    run_pipeline(&case.join("export"), Some(&case.join("counts")), tmp.path());
    let md = fs::read_to_string(tmp.path().join("report.md")).unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", "[TIME]");
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[SHA256]");
    settings.add_filter(r"\b[0-9a-f]{16}\b", "[RUN_ID]");
    settings.add_filter(&regex_escape(tmp.path().to_str().unwrap()), "[OUT]");
    // Markdown escapes `_` in paths, so match the fixture folder loosely.
    settings.add_filter(r"\S*/tests/fixtures/rules/", "[FIXTURES]/");
    settings.add_filter(r"tagtrail \d+\.\d+\.\d+", "tagtrail [VERSION]");
    settings.add_filter(r"\S*/target/\w+/tagtrail ", "tagtrail ");
    settings.bind(|| insta::assert_snapshot!("report_md_duplicate_count", md));
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// 12345 → "12,345" (the report groups thousands).
fn group(n: usize) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Issue 6: markup and path tricks in input values stay text and stay inside OUT.
#[test]
fn report_hostile_values_are_escaped_and_partitions_stay_inside_out() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export");
    let lic = export.join("C11-0000001-LIC");
    fs::create_dir_all(&lic).unwrap();
    fs::write(
        lic.join("packages.json"),
        r#"[{"Label": "1A4FF0100000022000000001", "Quantity": 5, "UnitOfMeasureName": "Grams",
             "PackagedDate": "2026-10-01", "LocationName": "<script>alert(1)</script>",
             "Item": {"Name": "<img src=x onerror=alert(2)>", "ProductCategoryName": "Buds"}},
            {"Label": "1A4FF0100000022000000001", "Quantity": 5, "UnitOfMeasureName": "Grams",
             "PackagedDate": "2026-10-01", "LastModified": "2026-10-02T00:00:00Z"}]"#,
    )
    .unwrap();
    let counts = tmp.path().join("counts");
    fs::create_dir_all(&counts).unwrap();
    fs::write(
        counts.join("sheet.csv"),
        "License,Label,Quantity,Unit,CountedAt\n../../escape,<b>1A4</b>,1,g,2026-10-20\n\
         C11-0000001-LIC,<b>1A4</b>,1,g,2026-10-20\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    run_pipeline(&export, Some(&counts), &out);
    // The hostile license is a percent-encoded partition inside the lake.
    let mut parts: Vec<String> = fs::read_dir(out.join("lake").join("counts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    parts.sort();
    assert_eq!(parts, ["license=..%2F..%2Fescape", "license=C11-0000001-LIC"]);
    assert!(!tmp.path().join("escape").exists() && !out.join("escape").exists());
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    // Labels are read as upper-case tags.
    for bad in ["<script>alert", "<img src=x", "<b>1A4</b>", "<B>1A4</B>"] {
        assert!(!html.contains(bad), "report.html lets through {bad}");
        assert!(!md.contains(bad), "report.md lets through {bad}");
    }
    assert!(html.contains("&lt;B&gt;1A4&lt;/B&gt;"), "the hostile label is shown, escaped");
}

/// Debian's Chromium, when installed (`.ci/run` installs it where apt can).
#[allow(clippy::print_stderr, reason = "a skipped test says so in the test output")]
fn chromium() -> Option<std::path::PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!("skipped: no chromium (Debian: apt-get install chromium)");
    }
    found
}

/// The bundled sample's report, laid out by a real browser at a laptop's width: the
/// verdicts (§15034 box) are on the first screen and above the first input table.
#[test]
fn report_in_chromium_shows_the_verdicts_before_the_inputs() {
    let Some(chromium) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    crate::common::run_expect(&["run", "--quiet", "--out", out.to_str().unwrap()], 0);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    // Where the first verdict box and the first input table are, in page pixels.
    let probe = "<script>function posY(e){return e ? Math.round(e.getBoundingClientRect().top \
                 + window.scrollY) : -1}\ndocument.body.setAttribute('data-probe', [posY(document\
                 .querySelector('.callout')), posY(document.querySelector('#run table'))].join(' \
                 '));</script></body>";
    let page = tmp.path().join("probe.html");
    fs::write(&page, html.replace("</body>", probe)).unwrap();
    let o = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,900",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", tmp.path().join("profile").display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    let at = dom.find("data-probe=\"").unwrap_or_else(|| panic!("no probe in the DOM: {dom:.300}"));
    let rest = &dom[at + "data-probe=\"".len()..];
    let ys: Vec<i64> =
        rest[..rest.find('"').unwrap()].split(' ').map(|v| v.parse().unwrap()).collect();
    let (verdict, inputs) = (ys[0], ys[1]);
    assert!(verdict > 0 && verdict < 900, "the first verdict is {verdict} px down");
    assert!(inputs > verdict, "input table at {inputs} px, verdict at {verdict} px");
    assert!(html[..html.find("§15034").unwrap()].find("SHA-256").is_none());
}

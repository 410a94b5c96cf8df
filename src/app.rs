//! Runs the stages for each subcommand: builds the validated settings, wires ingest →
//! lake → checks → report, writes outputs and the manifest, and picks the exit code.
//! All talk to the user goes through [`Printer`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::checks;
use crate::cli::{Cli, Command, Global, RulesFormat};
use crate::config::Profile;
use crate::error::{Error, PolarsContext, Result};
use crate::ingest::{self, IngestOptions};
use crate::manifest::{self, Manifest};
use crate::out_dir;
use crate::printer::Printer;
use crate::schema;
use crate::store;
use crate::vocab::Severity;

/// Validated settings shared by the stages.
struct Settings {
    profile: Profile,
    profile_path: Option<PathBuf>,
    tz: chrono_tz::Tz,
    fail_on: Option<Severity>,
    printer: Printer,
    batch_bytes: u64,
    counted_at: Option<String>,
    sheet: Option<String>,
    wait: bool,
    previous: Option<PathBuf>,
    users: Option<PathBuf>,
    outages: Option<PathBuf>,
    as_of: Option<String>,
}

impl Settings {
    fn from(global: &Global) -> Result<Settings> {
        let mut profile = match &global.profile {
            Some(p) => Profile::load(p)?,
            None => Profile::default(),
        };
        if let Some(tz) = &global.timezone {
            profile.timezone = tz.clone();
        }
        let tz = profile.tz().map_err(Error::Usage)?;
        Ok(Settings {
            profile,
            profile_path: global.profile.clone(),
            tz,
            fail_on: global.fail_on,
            printer: Printer::new(global.quiet),
            batch_bytes: global.batch_mb.map_or(checks::BATCH_BYTES, |mb| mb << 20),
            counted_at: global.counted_at.clone(),
            sheet: global.sheet.clone(),
            wait: global.wait,
            previous: global.previous.clone(),
            users: global.users.clone(),
            outages: global.outages.clone(),
            as_of: global.as_of.clone(),
        })
    }

    fn options_json(&self) -> serde_json::Value {
        let mut o = serde_json::json!({
            "timezone": self.profile.timezone,
            "profile": self.profile_path.as_ref().map(|p| p.display().to_string()),
            "threshold_pct": self.profile.significance.threshold_pct(),
            "significance_basis": self.profile.significance.basis,
            "tolerance": self.profile.tolerance,
            "lag": self.profile.lag,
            "severities": self.profile.severities,
            "counted_at": self.counted_at,
            "sheet": self.sheet,
        });
        // only when given, so that earlier runs' options compare equal
        if let (Some(a), Some(map)) = (&self.as_of, o.as_object_mut()) {
            map.insert("as_of".into(), a.clone().into());
        }
        o
    }

    /// The profile for the check stage: with the run's evidence for the reconciliation
    /// duties (`--as-of`, which of `--users`/`--outages` the lake holds, the counts of the
    /// previous runs).
    fn check_profile(&self, m: &Manifest) -> Result<Profile> {
        let mut p = self.profile.clone();
        p.duties.as_of_us = match self.as_of.as_deref() {
            None => None,
            Some(raw) => match ingest::normalize::parse_timestamp(raw, self.tz) {
                Ok(Some(st)) => Some(st.end_us),
                Ok(None) | Err(_) => {
                    return Err(Error::Usage(format!(
                        "--as-of `{raw}` is not a date-time (e.g. 2026-11-30T23:59, 2026-11-30 \
                         or 2026-11-30T23:59:00-08:00)"
                    )));
                }
            },
        };
        p.duties.users_given = m.inputs.iter().any(|i| i.root == schema::USERS);
        p.duties.outages_given = m.inputs.iter().any(|i| i.root == schema::OUTAGES);
        p.duties.export_files = m
            .inputs
            .iter()
            .filter(|i| i.root == "export")
            .filter_map(|i| i.license.clone().map(|l| (l, i.kind.clone())))
            .collect();
        if let Some(prev) = &self.previous {
            p.duties.previous_counts = checks::changes::previous_counts(prev)?;
        }
        Ok(p)
    }
}

/// Run the command; the value is the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let settings = Settings::from(&cli.global())?;
    let argv: Vec<String> = std::env::args().collect();
    match cli.command {
        Command::Run { export, counts, out, rules, .. } => {
            let (export, counts) = match export {
                Some(e) => (e, counts),
                None => {
                    let sample = crate::sample::dir()?;
                    settings.printer.note(&format!(
                        "no --export given: running on the bundled sample in {}",
                        sample.display()
                    ));
                    (sample.join("export"), counts.or_else(|| Some(sample.join("counts"))))
                }
            };
            // Everything that can be refused is refused before OUT is touched.
            refuse_nested(&export, &out)?;
            let rule_set = rule_set(&settings, rules.as_deref())?;
            let lock = out_dir::lock(&out, settings.wait)?;
            let generation = out_dir::begin(&lock)?;
            let dir = generation.dir().to_path_buf();
            let t = std::time::Instant::now();
            let dirty = do_ingest(&settings, &export, counts.as_deref(), &dir, &out, &argv)?;
            checks::timing("stage ingest", t);
            let t = std::time::Instant::now();
            let worst = do_check(&settings, &dir, &rule_set, &argv, dirty.as_ref())?;
            checks::timing("stage check", t);
            let t = std::time::Instant::now();
            do_report(&settings, &dir, &out)?;
            checks::timing("stage report", t);
            generation.publish()?;
            match crate::report::summary_paragraph(&out) {
                Ok(p) => settings.printer.note(&p),
                Err(e) => settings.printer.note(&format!("(no summary: {e})")),
            }
            Ok(exit_for(&settings, worst, &out))
        }
        Command::Ingest { export, counts, out, .. } => {
            refuse_nested(&export, &out)?;
            let lock = out_dir::lock(&out, settings.wait)?;
            let generation = out_dir::begin(&lock)?;
            let dir = generation.dir().to_path_buf();
            do_ingest(&settings, &export, counts.as_deref(), &dir, &out, &argv)?;
            generation.publish()?;
            Ok(0)
        }
        Command::Check { out, rules, .. } => {
            let rule_set = rule_set(&settings, rules.as_deref())?;
            let lock = out_dir::lock(&out, settings.wait)?;
            let previous = verified_result(&out)?;
            let generation = out_dir::begin(&lock)?;
            generation.carry(
                &previous,
                &[schema::out::LAKE, schema::out::REJECTS, schema::out::MANIFEST],
            )?;
            let worst = do_check(&settings, generation.dir(), &rule_set, &argv, None)?;
            generation.publish()?;
            Ok(exit_for(&settings, worst, &out))
        }
        Command::Report { out, .. } => {
            let lock = out_dir::lock(&out, settings.wait)?;
            let previous = verified_result(&out)?;
            let generation = out_dir::begin(&lock)?;
            generation.carry(
                &previous,
                &[
                    schema::out::LAKE,
                    schema::out::REJECTS,
                    schema::out::FINDINGS,
                    schema::out::SUMMARY,
                    schema::out::MANIFEST,
                    schema::out::CHANGES,
                    schema::out::TREND,
                ],
            )?;
            do_report(&settings, generation.dir(), &out)?;
            generation.publish()?;
            Ok(0)
        }
        Command::Rules { rules, format, .. } => {
            let rules = checks::registry(rules.as_deref(), &settings.profile)?;
            checks::validate(&rules, &settings.profile)?;
            let format = format.unwrap_or(if std::io::stdout().is_terminal() {
                RulesFormat::Table
            } else {
                RulesFormat::Tsv
            });
            settings.printer.out(rules_text(&rules, format).trim_end());
            Ok(0)
        }
        Command::Generate {
            out,
            licenses,
            packages,
            seed,
            format,
            sheet_style,
            months,
            changed_licenses,
            duties,
            ..
        } => {
            // clap has checked the value against the same names
            let sheet_styles = sheet_style
                .as_deref()
                .and_then(crate::generate::sheet_style::SheetStyle::select)
                .unwrap_or_default();
            let opts = crate::generate::GenerateOptions {
                out: out.clone(),
                licenses,
                packages,
                seed,
                jsonl: format == "jsonl",
                timezone: settings.tz,
                sheet_styles,
                months,
                changed_licenses,
                duties,
            };
            let stats = crate::generate::run(&opts).map_err(|e| generate_error(&e, &out))?;
            let place = if stats.months > 1 {
                let last = format!("month-{:02}", stats.months);
                format!("{}/month-01 … {last} ({} monthly data sets)", out.display(), stats.months)
            } else {
                out.display().to_string()
            };
            settings.printer.note(&format!(
                "generated {} packages for {} licenses ({} bytes, {} planted findings) in {place}",
                stats.packages, stats.licenses, stats.bytes, stats.planted,
            ));
            Ok(0)
        }
    }
}

/// The rules to run, checked (user rules, profile severities) before OUT is touched.
fn rule_set(s: &Settings, rules_dir: Option<&Path>) -> Result<Vec<checks::Rule>> {
    let rules = checks::registry(rules_dir, &s.profile)?;
    checks::validate(&rules, &s.profile)?;
    Ok(rules)
}

/// OUT's current result, refused (SPEC 2.4) when there is none or its lake does not match
/// its manifest: a report on what is left would read as a result.
fn verified_result(out: &Path) -> Result<PathBuf> {
    let Some(dir) = out_dir::current(out) else {
        return Err(Error::Usage(format!(
            "`{}` holds no result: run `tagtrail ingest --export DIR --out {}` (or `tagtrail \
             run`) first",
            out.display(),
            out.display()
        )));
    };
    Manifest::load(&dir)?.verify_lake(&dir, out)?;
    Ok(dir)
}

/// Exit 1 when the worst finding is at or above `--fail-on`, saying why on stderr even
/// with `--quiet` (a CI log must show what failed the run).
fn exit_for(s: &Settings, worst: Option<Severity>, out: &Path) -> u8 {
    match (worst, s.fail_on) {
        (Some(w), Some(f)) if w >= f => {
            s.printer.always(&format!(
                "tagtrail: exit 1: findings at or above --fail-on {} (worst: {}); see {}",
                f.as_str(),
                w.as_str(),
                out.join(schema::out::FINDINGS).display()
            ));
            1
        }
        _ => 0,
    }
}

/// Refuse an `--out` inside `--export` (the next run would read tagtrail's own outputs,
/// or a half-written run, as export files) and an `--export` inside OUT's lake (ingest
/// replaces the lake it would be reading). Compared as real paths: links and `..` resolved.
fn refuse_nested(export: &Path, out: &Path) -> Result<()> {
    let (e, o) = (real_path(export), real_path(out));
    if o.starts_with(&e) {
        return Err(Error::Usage(format!(
            "--out `{}` is inside --export `{}`: tagtrail would read its own outputs as export \
             files; choose an --out folder outside the export",
            out.display(),
            export.display()
        )));
    }
    // Through `OUT/lake` a path resolves into tagtrail's own folder of results.
    if e.starts_with(o.join(schema::out::LAKE)) || e.starts_with(o.join(out_dir::STATE)) {
        return Err(Error::Usage(format!(
            "--export `{}` is inside the results of --out `{}`, which a run replaces: pass the \
             folder of Metrc exports as --export",
            export.display(),
            out.display()
        )));
    }
    Ok(())
}

/// The rule list as `tagtrail rules` prints it.
fn rules_text(rules: &[checks::Rule], format: RulesFormat) -> String {
    let rows: Vec<[&str; 5]> = rules
        .iter()
        .map(|r| {
            [
                r.id.as_str(),
                r.family.as_str(),
                r.severity.as_str(),
                r.citation.as_str(),
                r.description.as_str(),
            ]
        })
        .collect();
    let head = ["id", "family", "severity", "citation", "description"];
    match format {
        RulesFormat::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let pairs = head.iter().zip(r.iter());
                    serde_json::Value::Object(
                        pairs.map(|(k, v)| ((*k).to_owned(), (*v).into())).collect(),
                    )
                })
                .collect();
            serde_json::to_string_pretty(&v).unwrap_or_default()
        }
        RulesFormat::Tsv => {
            std::iter::once(head).chain(rows).map(|r| r.join("\t") + "\n").collect()
        }
        RulesFormat::Table => {
            let width =
                |i: usize| rows.iter().map(|r| r[i].chars().count()).chain([head[i].len()]).max();
            let widths: Vec<usize> = (0..4).map(|i| width(i).unwrap_or(0)).collect();
            let mut out = String::new();
            for r in std::iter::once(head).chain(rows) {
                for (i, w) in widths.iter().enumerate() {
                    let pad = w - r[i].chars().count();
                    out.push_str(r[i]);
                    out.push_str(&" ".repeat(pad + 2));
                }
                out.push_str(r[4]);
                out.push('\n');
            }
            out
        }
    }
}

/// `p` made absolute with its longest existing part resolved (links, `..`): OUT may not
/// exist yet.
fn real_path(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    for base in abs.ancestors() {
        if let Ok(real) = std::fs::canonicalize(base) {
            return real.join(abs.strip_prefix(base).unwrap_or(Path::new("")));
        }
    }
    abs
}

/// Ingest into `dir`, a new generation of the user's `out`.
fn do_ingest(
    s: &Settings,
    export: &Path,
    counts: Option<&Path>,
    dir: &Path,
    out: &Path,
    argv: &[String],
) -> Result<Option<checks::Changed>> {
    let started = manifest::now_rfc3339();
    let bar = s.printer.bar("ingest", true);
    let opts = IngestOptions {
        export: export.to_path_buf(),
        counts: counts.map(Path::to_path_buf),
        out: dir.to_path_buf(),
        tz: s.tz,
        counted_at: s.counted_at.clone(),
        sheet: s.sheet.clone(),
        previous: s.previous.clone(),
        users: s.users.clone(),
        outages: s.outages.clone(),
    };
    let summary = ingest::run(&opts, &bar);
    bar.finish_and_clear();
    let summary = summary?;
    for n in &summary.notes {
        s.printer.warn(n);
    }
    let mut m = Manifest {
        tool: "tagtrail".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started_at: started,
        command: vec![argv.join(" ")],
        options: s.options_json(),
        inputs: summary.inputs.clone(),
        notes: summary.notes.clone(),
        unread: summary.unread.clone(),
        ..Manifest::default()
    };
    for (table, rows) in &summary.tables {
        m.set_output(&format!("{}/{table}", schema::out::LAKE), *rows);
    }
    m.set_output(schema::out::REJECTS, summary.rejects);
    m.run_id = run_id(&m);
    m.rerun = rerun_line(export, counts, out, s);
    m.lake_parts = manifest::lake_parts(&dir.join(schema::out::LAKE))?;
    m.finished_at = manifest::now_rfc3339();
    m.save(dir)?;
    let rows: u64 = summary.inputs.iter().map(|i| i.rows_in).sum();
    s.printer.note(&format!(
        "ingest: {} files, {rows} records, {} rejected → {}",
        summary.inputs.len(),
        summary.rejects,
        out.join(schema::out::LAKE).display()
    ));
    note_unread(s, &summary.unread);
    // the users and outages files bear on every license: no license keeps its findings
    if s.users.is_some() || s.outages.is_some() {
        return Ok(None);
    }
    Ok(summary.reuse.map(|r| {
        s.printer.note(&format!(
            "ingest: {} of {} export files unchanged since the previous run, not decoded again",
            r.files.len(),
            summary.inputs.iter().filter(|f| f.root == "export").count()
        ));
        let partners = r.partners.difference(&r.dirty).cloned().collect();
        checks::Changed { dirty: r.dirty, partners }
    }))
}

/// Files under the export that were not read (SPEC 2.1: never skipped in silence); the
/// manifest and the report list them all, stderr the first few.
fn note_unread(s: &Settings, unread: &[manifest::UnreadFile]) {
    const SHOWN: usize = 20;
    if unread.is_empty() {
        return;
    }
    let n = unread.len();
    s.printer
        .note(&format!("{n} file{} under the export not read:", if n == 1 { "" } else { "s" }));
    for u in unread.iter().take(SHOWN) {
        s.printer.note(&format!("  not read: {}: {}", u.path, u.reason));
    }
    if n > SHOWN {
        s.printer.note(&format!("  … and {} more (see manifest.json, \"unread\")", n - SHOWN));
    }
}

/// The command that re-runs this ingest, for the manifest and the report. Every value is
/// shell-quoted (POSIX single quotes) unless it is plain, so a path with spaces, quotes or
/// `$(…)` is pasted back as one argument and never run.
fn rerun_line(export: &Path, counts: Option<&Path>, out: &Path, s: &Settings) -> String {
    fn quote(arg: &str) -> String {
        let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c);
        if !arg.is_empty() && arg.chars().all(plain) {
            arg.to_owned()
        } else {
            format!("'{}'", arg.replace('\'', "'\\''"))
        }
    }
    let path = |p: &Path| quote(&p.display().to_string());
    let mut line = format!("tagtrail run --export {} --out {}", path(export), path(out));
    if let Some(c) = counts {
        line.push_str(&format!(" --counts {}", path(c)));
    }
    line.push_str(&format!(" --timezone {}", quote(&s.profile.timezone)));
    if let Some(t) = &s.counted_at {
        line.push_str(&format!(" --counted-at {}", quote(t)));
    }
    if let Some(w) = &s.sheet {
        line.push_str(&format!(" --sheet {}", quote(w)));
    }
    for (flag, file) in [("--users", &s.users), ("--outages", &s.outages)] {
        if let Some(f) = file {
            line.push_str(&format!(" {flag} {}", path(f)));
        }
    }
    if let Some(p) = &s.profile_path {
        line.push_str(&format!(" --profile {}", path(p)));
    }
    line
}

/// The run id identifies the result: tool version, options, input hashes, rule hashes.
fn run_id(m: &Manifest) -> String {
    let mut text = format!("tagtrail {}\n{}\n", m.version, m.options);
    for i in &m.inputs {
        text.push_str(&format!("{} {} {}\n", i.root, i.path, i.sha256));
    }
    for r in &m.rules {
        text.push_str(&format!("rule {} {} {}\n", r.id, r.severity, r.sha256));
    }
    manifest::sha256_hex(text.as_bytes())[..16].to_owned()
}

/// What a failed `generate` means: an argument out of range or an `--out` that cannot be
/// a folder is a usage error (exit 2); another I/O failure (a full disk) is exit 3.
fn generate_error(e: &anyhow::Error, out: &Path) -> Error {
    use std::io::ErrorKind as K;
    let io = e.chain().find_map(|c| c.downcast_ref::<std::io::Error>());
    match io.map(std::io::Error::kind) {
        None
        | Some(
            K::NotFound
            | K::AlreadyExists
            | K::PermissionDenied
            | K::NotADirectory
            | K::IsADirectory
            | K::ReadOnlyFilesystem,
        ) => Error::Usage(format!("{e:#}")),
        Some(kind) => {
            Error::io("cannot generate into", out, std::io::Error::new(kind, format!("{e:#}")))
        }
    }
}

/// Check the lake of `out` (a generation being written) with `rules`.
fn do_check(
    s: &Settings,
    out: &Path,
    rules: &[checks::Rule],
    argv: &[String],
    changed: Option<&checks::Changed>,
) -> Result<Option<Severity>> {
    let mut m = Manifest::load(out)?;
    m.rules = rules.iter().map(checks::Rule::entry).collect();
    // How the inputs were read is ingest's to say; check keeps it.
    let mut options = s.options_json();
    for key in ["counted_at", "sheet"] {
        if let (Some(v), Some(o)) = (m.options.get(key).cloned(), options.as_object_mut()) {
            o.insert(key.to_owned(), v);
        }
    }
    m.options = options;
    m.run_id = run_id(&m);
    let bar = s.printer.count_bar("check", "license batches");
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let lake = out.join(schema::out::LAKE);
    // Licenses whose inputs did not change keep the previous findings when the rules and
    // options are the same too.
    let prev = s.previous.as_deref();
    let same = prev
        .and_then(|p| Manifest::load(p).ok())
        .is_some_and(|p| p.rules == m.rules && p.options == m.options && p.version == m.version);
    let reused = match (prev, changed) {
        (Some(previous), Some(changed)) if same => Some(checks::Reused { previous, changed }),
        _ => None,
    };
    let profile = s.check_profile(&m)?;
    let output = checks::run_all(
        &lake,
        rules,
        &profile,
        &m.run_id,
        s.batch_bytes,
        &progress,
        reused.as_ref(),
    );
    bar.finish_and_clear();
    let mut output = output?;
    let t = std::time::Instant::now();
    let n = store::write_parquet(&mut output.findings, &out.join(schema::out::FINDINGS))?;
    let n_summary = store::write_parquet(&mut output.summary, &out.join(schema::out::SUMMARY))?;
    m.set_output(schema::out::FINDINGS, n);
    m.set_output(schema::out::SUMMARY, n_summary);
    // a check without --previous compares with nothing, whatever the carried manifest said
    m.previous = None;
    checks::timing("check: findings and summary written", t);
    let t = std::time::Instant::now();
    if let Some(previous) = &s.previous {
        let now = chrono::Utc::now().timestamp_micros();
        let mut ch = checks::changes::changes(&output.findings, &m.run_id, now, previous)?;
        let n_changes = store::write_parquet(&mut ch, &out.join(schema::out::CHANGES))?;
        m.set_output(schema::out::CHANGES, n_changes);
        let (prev_run, prev_at) = checks::changes::previous_run(previous)?;
        m.previous = Some(serde_json::json!({
            "path": previous.display().to_string(),
            "run_id": prev_run,
            "finished_at": prev_at.and_then(chrono::DateTime::from_timestamp_micros).map(|t| t.to_rfc3339()),
        }));
        let mut trend = checks::changes::trend(&output.summary, &m.run_id, now, previous)?;
        let n_trend = store::write_parquet(&mut trend, &out.join(schema::out::TREND))?;
        m.set_output(schema::out::TREND, n_trend);
    }
    checks::timing("check: changes and trend", t);
    if !m.command.iter().any(|c| c == &argv.join(" ")) {
        m.command.push(argv.join(" "));
    }
    m.finished_at = manifest::now_rfc3339();
    m.save(out)?;
    let sev = output
        .findings
        .column("severity")
        .ctx(|| "severity".into())?
        .str()
        .ctx(|| "severity".into())?
        .clone();
    let worst = sev.iter().flatten().filter_map(Severity::parse).max();
    s.printer.note(&format!("check: {} rules, {n} findings", rules.len()));
    Ok(worst)
}

/// Write the reports of `dir` (a generation being written of the user's `out`).
fn do_report(s: &Settings, dir: &Path, out: &Path) -> Result<()> {
    let mut m = Manifest::load(dir)?;
    if !dir.join(schema::out::FINDINGS).is_file() {
        return Err(Error::Usage(format!(
            "`{}` has no findings.parquet: run `tagtrail check --out {}` first",
            out.display(),
            out.display()
        )));
    }
    let bar = s.printer.bar("report", false);
    let stats = crate::report::run(dir, &crate::report::ReportOptions::default());
    bar.finish_and_clear();
    let stats = stats?;
    m.set_output(schema::out::REPORT_HTML, stats.findings as u64);
    m.set_output(schema::out::REPORT_MD, stats.findings as u64);
    m.set_output(schema::out::FINDINGS_XLSX, stats.findings as u64);
    m.finished_at = manifest::now_rfc3339();
    m.save(dir)?;
    s.printer.note(&format!("report: {}", out.join(schema::out::REPORT_HTML).display()));
    Ok(())
}

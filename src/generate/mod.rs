//! Synthetic Metrc export + physical counts with planted anomalies (`tagtrail generate`).
//! Streams one license at a time (rayon across licenses) into `DIR/export/<LICENSE>/`,
//! `DIR/counts/<LICENSE>.csv`, `DIR/truth.csv` and `DIR/expected_rejects.csv`. Truth rows
//! come from re-checking every self-contained family of packages against SPEC section 3
//! as it is written, so the side effects of a planted anomaly are listed as well.
//! With `--sheet-style`, `DIR/counts-realworld/<style>/` holds the same sheets in the
//! shapes operators really keep them ([`sheet_style`]). With `--months N` (N > 1) each of
//! `DIR/month-01/` … `DIR/month-NN/` holds such a data set of the same facilities, a few
//! licenses changing from one month to the next, with the truth of the changes
//! ([`months`]).
//!
//! This module is the entry point and the wiring. `plan` decides everything shared
//! between licenses up front; `license` generates one license from families built in
//! `families`, `transfer` and `anomalies`, completed by `finalize` and written by
//! `records`, `counts` and `writers`; `oracle` derives the truth. `rng`, `clock`,
//! `catalog` and `model` are the ground they share.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use chrono_tz::Tz;
use rayon::prelude::*;

mod anomalies;
mod catalog;
mod clock;
mod counts;
mod duties;
mod families;
mod finalize;
mod license;
mod model;
mod months;
mod oracle;
mod plan;
mod records;
mod rng;
pub mod sheet_style;
mod transfer;
mod writers;

use clock::{Clock, Times};
use license::{LicOut, gen_license};
use plan::{Ctx, Plan};
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
    /// Monthly data sets to write, at most 99: 1 (the default) writes one into `out`; more
    /// write `out/month-01/` … of the same facilities (see [`months`]).
    pub months: usize,
    /// Licenses whose data changes from one month to the next (`None`: one in ten, at
    /// least one).
    pub changed_licenses: Option<usize>,
    /// Also plant the reconciliation duties and write `users.csv` and `outages.csv`
    /// (see [`duties`]); off by default, which leaves the output as it always was.
    pub duties: bool,
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
            months: 1,
            changed_licenses: None,
            duties: false,
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
    /// Data sets written (`--months`): packages, bytes and planted count all of them.
    pub months: usize,
}

/// Folder of the restyled count sheets (`--sheet-style`), next to `counts/`.
pub const REALWORLD: &str = "counts-realworld";

/// Generates the synthetic data set described by `opts` (see module docs).
///
/// Writes into a temporary folder inside `opts.out` first, then replaces `export/`,
/// `counts/`, `truth.csv` and `expected_rejects.csv` there (with `--months`, the
/// `month-NN/` folders).
pub fn run(opts: &GenerateOptions) -> Result<GenerateStats> {
    ensure!((1..=99_999).contains(&opts.licenses), "--licenses must be between 1 and 99999");
    ensure!(opts.packages >= opts.licenses, "--packages must be at least --licenses");
    months::check(opts)?;
    ensure!(!(opts.duties && opts.months > 1), "--duties writes one data set: leave out --months");
    fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create `{}`", opts.out.display()))?;
    let tmp = opts.out.join(".tagtrail-generate.tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).with_context(|| format!("cannot remove `{}`", tmp.display()))?;
    }
    let clock = Clock { tz: opts.timezone };
    let times = Times::new(&clock);
    let plan = Plan::new(opts);
    let mut ctx = Ctx { plan, clock, times, root: tmp.clone(), jsonl: opts.jsonl };
    if opts.months > 1 {
        let stats = months::run(&mut ctx, opts, &tmp)?;
        months::move_into_place(&tmp, &opts.out, opts.months)?;
        return Ok(stats);
    }
    make_dirs(&tmp)?;
    let all: Vec<usize> = (0..opts.licenses).collect();
    let outs = gen_licenses(&ctx, &all, 0)?;
    let mut stats = GenerateStats { licenses: opts.licenses, months: 1, ..Default::default() };
    for o in &outs {
        stats.packages += o.packages;
        stats.bytes += o.bytes;
    }
    let (bytes, planted) = finish_set(&tmp, &ctx.plan.licenses, &outs, &opts.sheet_styles)?;
    stats.bytes += bytes;
    stats.planted = planted;
    if opts.duties {
        let (bytes, planted) = duties::plant(&ctx, &tmp)?;
        stats.bytes += bytes;
        stats.planted += planted;
    }
    move_into_place(&tmp, &opts.out)?;
    Ok(stats)
}

/// `export/` and `counts/` of a data set in `root`.
fn make_dirs(root: &Path) -> Result<()> {
    fs::create_dir_all(root.join("export"))?;
    fs::create_dir_all(root.join("counts"))?;
    Ok(())
}

/// Generates the licenses `which` of the plan (in parallel) in their `version`, into
/// `ctx.root`.
fn gen_licenses(ctx: &Ctx, which: &[usize], version: u64) -> Result<Vec<LicOut>> {
    which.par_iter().map(|&i| gen_license(ctx, i, version)).collect()
}

/// Completes the data set in `root` of the licenses' `outs`: the answer key, then the
/// restyled count sheets. Returns the bytes written and the rows of `truth.csv`.
fn finish_set(
    root: &Path,
    licenses: &[String],
    outs: &[LicOut],
    styles: &[SheetStyle],
) -> Result<(u64, usize)> {
    let (mut bytes, planted) = oracle::write_answer_key(root, licenses, outs)?;
    // Restyled copies are made from the finished sheets, so they hold the same rows; the
    // truth above does not depend on a sheet's shape (rule, license and label only).
    for style in styles {
        let dest = root.join(REALWORLD).join(style.name());
        let written = sheet_style::restyle_folder(&root.join("counts"), &dest, *style)?;
        bytes += written.iter().map(|(_, _, n)| n).sum::<u64>();
    }
    Ok((bytes, planted))
}

/// Replaces the outputs in `out` with those in `tmp`, then removes `tmp`.
fn move_into_place(tmp: &Path, out: &Path) -> Result<()> {
    // A `counts-realworld/` left by an earlier run describes other counts: it goes too.
    for name in [
        "export",
        "counts",
        "truth.csv",
        "expected_rejects.csv",
        REALWORLD,
        "users.csv",
        "outages.csv",
    ] {
        let dest = out.join(name);
        if dest.is_dir() {
            fs::remove_dir_all(&dest)?;
        } else if dest.exists() {
            fs::remove_file(&dest)?;
        }
        if !tmp.join(name).exists() {
            continue;
        }
        fs::rename(tmp.join(name), &dest)
            .with_context(|| format!("cannot move output into `{}`", dest.display()))?;
    }
    fs::remove_dir_all(tmp)?;
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::catalog::RULE_IDS;
    use super::*;

    /// Every file under `dir` (relative path, bytes), sorted.
    pub(super) fn read_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
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
}

//! `--months N`: N monthly data sets of the same facilities, `DIR/month-01/` …
//! `DIR/month-NN/`, each a complete input set (`export/`, `counts/`, `truth.csv`,
//! `expected_rejects.csv`), and from the second month on `changes_truth.csv`: the rows
//! `changes.parquet` must hold when that month is run with `--previous` the previous
//! month's output.
//!
//! Month 1 is the data set a single `generate` writes. In each later month `K` licenses
//! (`--changed-licenses`, drawn from the seed and the month) change: they are generated
//! again from a seed of that month, their own packages labelled in a range of that month,
//! so the findings of their own packages are new and those of the version before are
//! resolved. Manifests between licenses are the same in every version of both ends, so
//! the findings they carry recur. Every other license's files are copied from the previous
//! month byte for byte: its findings recur. Each month's data covers the same period; what
//! differs is the data of the licenses that changed.
//!
//! The truth of the changes is the difference of the two months' truth rows, matched by
//! rule, license and label (and, for a license's significant discrepancy, which has no
//! label, its quantity type), as a finding key is made of them: the labels a regenerated
//! license gives its own packages are new, and the related label and reference of a
//! finding on a manifest's package come from the manifest alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, ensure};

use super::catalog::R_SIGNIFICANT;
use super::license::{LicOut, VERSION_STRIDE};
use super::plan::Ctx;
use super::rng::{Rng, mix};
use super::{GenerateOptions, GenerateStats, finish_set, gen_licenses, make_dirs};

/// Months at most: each month's changed licenses label their packages in a range of their
/// own, below the label ranges of manifests and of labels in no export.
pub(super) const MAX_MONTHS: usize = 99;

/// The folder of month `m` (1-based).
pub(super) fn month_dir(m: usize) -> String {
    format!("month-{m:02}")
}

/// Licenses that change from one month to the next by default: one in ten, at least one.
pub(super) fn default_changed(licenses: usize) -> usize {
    licenses.div_ceil(10).max(1)
}

/// Checks `--months` and `--changed-licenses`.
pub(super) fn check(opts: &GenerateOptions) -> Result<()> {
    ensure!((1..=MAX_MONTHS).contains(&opts.months), "--months must be between 1 and 99");
    if let Some(k) = opts.changed_licenses {
        ensure!(
            k <= opts.licenses,
            "--changed-licenses must be at most --licenses ({})",
            opts.licenses
        );
    }
    // a version's own labels stay below the next version's (and all of them below the
    // ranges of manifests, 5 × 10^11, and of labels in no export, 9 × 10^11)
    let half = VERSION_STRIDE / 2;
    ensure!(
        opts.months == 1 || (opts.packages as u64) < half,
        "--packages must be below {half} with --months"
    );
    Ok(())
}

/// The licenses (sorted) whose data changes in month `m` (2 or later): `k` of `l`.
pub(super) fn changed(seed: u64, m: usize, l: usize, k: usize) -> Vec<usize> {
    let mut rng = Rng::new(mix(seed, 0x6d6f_6e74_6800 + m as u64));
    let mut pool: Vec<usize> = (0..l).collect();
    let mut picked: Vec<usize> =
        (0..k.min(l)).map(|_| pool.swap_remove(rng.index(pool.len()))).collect();
    picked.sort_unstable();
    picked
}

/// Writes every month into `tmp/month-NN/` (see module docs).
pub(super) fn run(ctx: &mut Ctx, opts: &GenerateOptions, tmp: &Path) -> Result<GenerateStats> {
    let l = opts.licenses;
    let k = opts.changed_licenses.unwrap_or_else(|| default_changed(l));
    let mut stats = GenerateStats { licenses: l, months: opts.months, ..Default::default() };
    let mut outs: Vec<LicOut> = Vec::new();
    for m in 1..=opts.months {
        let dir = tmp.join(month_dir(m));
        make_dirs(&dir)?;
        ctx.root = dir.clone();
        if m == 1 {
            outs = gen_licenses(ctx, &(0..l).collect::<Vec<_>>(), 0)?;
            stats.bytes += outs.iter().map(|o| o.bytes).sum::<u64>();
        } else {
            let before = finding_ids(&ctx.plan.licenses, &outs);
            let fresh = changed(opts.seed, m, l, k);
            for (&i, o) in fresh.iter().zip(gen_licenses(ctx, &fresh, m as u64 - 1)?) {
                stats.bytes += o.bytes;
                outs[i] = o;
            }
            let prev = tmp.join(month_dir(m - 1));
            for (i, number) in ctx.plan.licenses.iter().enumerate() {
                if fresh.binary_search(&i).is_err() {
                    stats.bytes += copy_license(&prev, &dir, number)?;
                }
            }
            let after = finding_ids(&ctx.plan.licenses, &outs);
            stats.bytes += write_changes_truth(&dir, &before, &after)?;
        }
        stats.packages += outs.iter().map(|o| o.packages).sum::<usize>();
        let (bytes, planted) = finish_set(&dir, &ctx.plan.licenses, &outs, &opts.sheet_styles)?;
        stats.bytes += bytes;
        stats.planted += planted;
    }
    Ok(stats)
}

/// What identifies a finding of the truth across months: rule, license, label, and for a
/// significant discrepancy (no label) its quantity type (1 + index; 0 for the others).
type FindingId = (&'static str, String, String, usize);

/// Every truth row of `outs` by [`FindingId`], with its multiplicity.
fn finding_ids(licenses: &[String], outs: &[LicOut]) -> BTreeMap<FindingId, usize> {
    let mut ids = BTreeMap::new();
    for (lic, o) in licenses.iter().zip(outs) {
        let mut significant = o.significant.iter();
        for (rule, label, _) in &o.truth {
            let qtype = if *rule == R_SIGNIFICANT {
                significant.next().map_or(0, |q| q.idx() + 1)
            } else {
                0
            };
            *ids.entry((*rule, lic.clone(), label.clone(), qtype)).or_insert(0) += 1;
        }
    }
    ids
}

/// Writes `dir/changes_truth.csv`: each finding of `after` or `before`, `new` (in `after`
/// only), `recurring` (in both) or `resolved` (in `before` only), sorted; a finding that is
/// there twice is listed twice. Returns the bytes written.
fn write_changes_truth(
    dir: &Path,
    before: &BTreeMap<FindingId, usize>,
    after: &BTreeMap<FindingId, usize>,
) -> Result<u64> {
    let mut rows: Vec<(&str, &str, &str, &str)> = Vec::new();
    let mut ids: Vec<&FindingId> = before.keys().chain(after.keys()).collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        let (was, is) = (before.get(id).copied().unwrap_or(0), after.get(id).copied().unwrap_or(0));
        let both = was.min(is);
        let (rule, license, label, _) = id;
        for (status, n) in [("new", is - both), ("recurring", both), ("resolved", was - both)] {
            rows.extend(std::iter::repeat_n((*rule, license.as_str(), label.as_str(), status), n));
        }
    }
    rows.sort_unstable();
    let mut s = String::from("rule_id,license,package_label,status\n");
    for (rule, license, label, status) in rows {
        let _ = writeln!(s, "{rule},{license},{label},{status}");
    }
    let path = dir.join("changes_truth.csv");
    fs::write(&path, &s).with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(s.len() as u64)
}

/// Copies license `number`'s export folder and count sheet from month folder `from` to
/// `to`; returns the bytes copied.
fn copy_license(from: &Path, to: &Path, number: &str) -> Result<u64> {
    let mut bytes = copy_tree(&from.join("export").join(number), &to.join("export").join(number))?;
    let sheet = format!("{number}.csv");
    let src = from.join("counts").join(&sheet);
    if src.is_file() {
        let dest = to.join("counts").join(&sheet);
        bytes += fs::copy(&src, &dest)
            .with_context(|| format!("cannot copy `{}` to `{}`", src.display(), dest.display()))?;
    }
    Ok(bytes)
}

fn copy_tree(from: &Path, to: &Path) -> Result<u64> {
    fs::create_dir_all(to).with_context(|| format!("cannot create `{}`", to.display()))?;
    let mut bytes = 0;
    for e in fs::read_dir(from).with_context(|| format!("cannot read `{}`", from.display()))? {
        let e = e?;
        let (src, dest) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            bytes += copy_tree(&src, &dest)?;
        } else {
            bytes += fs::copy(&src, &dest).with_context(|| {
                format!("cannot copy `{}` to `{}`", src.display(), dest.display())
            })?;
        }
    }
    Ok(bytes)
}

/// Replaces the month folders in `out` with `tmp/month-01/` … `tmp/month-NN/` (month
/// folders of an earlier run beyond `months` describe another chain: they go too), then
/// removes `tmp`.
pub(super) fn move_into_place(tmp: &Path, out: &Path, months: usize) -> Result<()> {
    for e in fs::read_dir(out).with_context(|| format!("cannot read `{}`", out.display()))? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let numbered = name
            .strip_prefix("month-")
            .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()));
        if numbered && e.file_type()?.is_dir() {
            fs::remove_dir_all(e.path())
                .with_context(|| format!("cannot remove `{}`", e.path().display()))?;
        }
    }
    for m in 1..=months {
        let dest = out.join(month_dir(m));
        fs::rename(tmp.join(month_dir(m)), &dest)
            .with_context(|| format!("cannot move output into `{}`", dest.display()))?;
    }
    fs::remove_dir_all(tmp)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use super::super::tests::read_tree;
    use super::*;

    fn opts(dir: &Path, months: usize, k: Option<usize>) -> GenerateOptions {
        GenerateOptions {
            licenses: 5,
            packages: 3000,
            seed: 11,
            months,
            changed_licenses: k,
            ..GenerateOptions::new(dir)
        }
    }

    /// The licenses whose files differ between two month folders.
    fn differing(a: &Path, b: &Path) -> BTreeSet<String> {
        let (ta, tb) = (read_tree(a), read_tree(b));
        let files: BTreeSet<&String> = ta.iter().chain(&tb).map(|(p, _)| p).collect();
        let mut out = BTreeSet::new();
        for f in files {
            let (x, y) = (ta.iter().find(|(p, _)| p == f), tb.iter().find(|(p, _)| p == f));
            let license = f.split('/').nth(1).unwrap_or_default().trim_end_matches(".csv");
            if x != y && (f.starts_with("export/") || f.starts_with("counts/")) {
                out.insert(license.to_owned());
            }
        }
        out
    }

    /// (rule, license, label) rows of a CSV with their multiplicity, `status` when given.
    fn rows(path: &PathBuf, status: Option<&str>) -> BTreeMap<(String, String, String), usize> {
        let text = fs::read_to_string(path).expect("readable");
        let mut m = BTreeMap::new();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if status.is_some_and(|s| !s.split('|').any(|s| s == f[3])) {
                continue;
            }
            *m.entry((f[0].to_owned(), f[1].to_owned(), f[2].to_owned())).or_insert(0) += 1;
        }
        m
    }

    #[test]
    fn months_copy_unchanged_licenses_and_tell_the_changes() {
        let a = tempfile::tempdir().expect("tempdir");
        let stats = run_generate(&opts(a.path(), 3, Some(2)));
        assert_eq!(stats.months, 3);
        let month = |m: usize| a.path().join(month_dir(m));

        // month 1 is what a single data set of the same options is, byte for byte
        let single = tempfile::tempdir().expect("tempdir");
        super::super::run(&opts(single.path(), 1, None)).expect("generate");
        assert!(read_tree(&month(1)) == read_tree(single.path()));
        assert!(!month(1).join("changes_truth.csv").exists());

        let licenses: Vec<String> = (0..5).map(super::super::catalog::license_number).collect();
        for m in 2..=3 {
            let want: BTreeSet<String> =
                changed(11, m, 5, 2).into_iter().map(|i| licenses[i].clone()).collect();
            assert_eq!(want.len(), 2);
            assert_eq!(differing(&month(m - 1), &month(m)), want, "month {m}");
            // the changes are the two months' truth: before = recurring + resolved, after =
            // recurring + new
            let ch = month(m).join("changes_truth.csv");
            let truth = |d: PathBuf| rows(&d.join("truth.csv"), None);
            assert_eq!(rows(&ch, Some("recurring|resolved")), truth(month(m - 1)));
            assert_eq!(rows(&ch, Some("recurring|new")), truth(month(m)));
            for status in ["new", "recurring", "resolved"] {
                assert!(!rows(&ch, Some(status)).is_empty(), "month {m}: no {status}");
            }
            // only changed licenses have new or resolved findings
            let moved = rows(&ch, Some("new|resolved"));
            assert!(moved.keys().all(|(_, lic, _)| want.contains(lic)), "month {m}");
        }

        // the same options give the same bytes; another seed other changes
        let b = tempfile::tempdir().expect("tempdir");
        assert_eq!(run_generate(&opts(b.path(), 3, Some(2))), stats);
        assert!(read_tree(a.path()) == read_tree(b.path()));

        // fewer months: the folders of the longer chain go
        run_generate(&opts(b.path(), 2, Some(0)));
        assert!(!b.path().join(month_dir(3)).exists());
        assert!(differing(&b.path().join(month_dir(1)), &b.path().join(month_dir(2))).is_empty());
        let ch = b.path().join(month_dir(2)).join("changes_truth.csv");
        assert!(rows(&ch, Some("new|resolved")).is_empty());
    }

    fn run_generate(o: &GenerateOptions) -> GenerateStats {
        super::super::run(o).expect("generate")
    }

    #[test]
    fn months_pick_distinct_licenses_and_check_their_options() {
        for m in 2..30 {
            let c = changed(3, m, 20, 4);
            assert_eq!(c.len(), 4);
            assert!(c.windows(2).all(|w| w[0] < w[1]) && c.iter().all(|&i| i < 20));
        }
        assert_ne!(changed(3, 2, 20, 4), changed(3, 3, 20, 4));
        assert_eq!(changed(3, 2, 3, 9), [0, 1, 2]);
        assert_eq!((default_changed(1), default_changed(10), default_changed(20)), (1, 1, 2));
        let dir = Path::new("unused");
        assert!(check(&opts(dir, 0, None)).is_err());
        assert!(check(&opts(dir, 100, None)).is_err());
        assert!(check(&opts(dir, 99, Some(5))).is_ok());
        assert!(check(&opts(dir, 2, Some(6))).is_err());
    }
}

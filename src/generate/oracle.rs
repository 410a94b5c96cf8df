//! The oracle: the truth a family must produce, found by re-checking it against SPEC
//! section 3 as written (lags, accepted transfer quantities, lineage, count rows), so the
//! side effects of a planted anomaly are listed too; and the answer key of the run
//! (`truth.csv`, `expected_rejects.csv`) assembled from every license.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::Result;

use super::catalog::{
    QType, R_ACCEPTED_MISMATCH, R_BEFORE, R_CHILD_BEFORE_PARENT, R_CYCLE, R_LATE,
    R_MISSING_BATCH_NO, R_MISSING_IN_SYSTEM, R_MISSING_PB, R_ORPHAN, R_OVERDRAWN,
    R_QUANTITY_MISMATCH, R_UNIT_INCOMPATIBLE, R_UNNEEDED_PB, base, default_severity,
};
use super::clock::{HOUR, Ts};
use super::license::{Lic, LicOut};
use super::model::Family;
use super::transfer::XferSpec;

/// A planted bad record: where it is and the reason ingest must give for rejecting it.
pub(super) struct RejectRow {
    pub(super) file: String,
    pub(super) record: u64,
    pub(super) column: &'static str,
    pub(super) reason: &'static str,
}

/// Writes the answer key of all licenses into `dir`: `truth.csv` (rule, license, label,
/// severity) and `expected_rejects.csv`, each sorted so the bytes do not depend on the
/// order licenses finished in. Returns the bytes written and the number of truth rows.
pub(super) fn write_answer_key(
    dir: &Path,
    licenses: &[String],
    outs: &[LicOut],
) -> Result<(u64, usize)> {
    let mut truth: Vec<(&'static str, &str, &str, &'static str)> = Vec::new();
    let mut rejects: Vec<&RejectRow> = Vec::new();
    for (i, o) in outs.iter().enumerate() {
        let lic = licenses[i].as_str();
        truth.extend(o.truth.iter().map(|(r, l, sev)| (*r, lic, l.as_str(), *sev)));
        rejects.extend(o.rejects.iter());
    }
    truth.sort_unstable();
    rejects.sort_by(|a, b| (&a.file, a.record, a.column).cmp(&(&b.file, b.record, b.column)));
    let mut bytes = 0;
    let mut s = String::from("rule_id,license,package_label,severity\n");
    for (r, l, p, sev) in &truth {
        let _ = writeln!(s, "{r},{l},{p},{sev}");
    }
    bytes += s.len() as u64;
    fs::write(dir.join("truth.csv"), &s)?;
    let mut s = String::from("source_file,record,column,reason\n");
    for r in &rejects {
        let _ = writeln!(s, "{},{},{},{}", r.file, r.record, r.column, r.reason);
    }
    bytes += s.len() as u64;
    fs::write(dir.join("expected_rejects.csv"), &s)?;
    Ok((bytes, truth.len()))
}

impl Lic<'_> {
    /// Records a finding of `rule` on `label` at the rule's default severity.
    pub(super) fn truth(&mut self, rule: &'static str, label: &str) {
        self.truth.push((rule, label.to_string(), default_severity(rule)));
    }

    /// SPEC 2.3 lags: recorded more than 24 h after it happened (high beyond 72 h), or
    /// more than 1 h before.
    pub(super) fn eval_lag(&mut self, label: &str, occ: &Ts, rec: &Ts) {
        let lag = rec.lo - occ.hi;
        if lag > 24 * HOUR {
            let severity = if lag > 72 * HOUR { "high" } else { "medium" };
            self.truth.push((R_LATE, label.to_string(), severity));
        }
        if occ.lo - rec.hi > HOUR {
            self.truth(R_BEFORE, label);
        }
    }

    /// The recipient's truth of a received manifest: each delivered package's lag from
    /// arrival (actual, else estimated) to receipt, and accepted quantities that differ.
    pub(super) fn eval_transfer(&mut self, x: &XferSpec) {
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

    /// Lineage rules over one family (closed under lineage, so the family is the graph).
    pub(super) fn eval_lineage(&mut self, fam: &Family) {
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
            found.extend(cycle_members(&parents).into_iter().map(|i| (R_CYCLE, i)));
        }
        for (rule, i) in found {
            let label = fam.pkgs[i].label.clone();
            self.truth.push((rule, label, default_severity(rule)));
        }
    }

    /// The truth of one count row: not expected (missing in system), of another quantity
    /// type, or off by more than the tolerance; and the license's totals it adds to.
    pub(super) fn eval_row(
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
}

/// Packages that are their own ancestor (reachable from their own sources), in order.
fn cycle_members(parents: &[Vec<usize>]) -> Vec<usize> {
    let n = parents.len();
    let mut members = Vec::new();
    for start in 0..n {
        let mut seen = vec![false; n];
        let mut stack = parents[start].clone();
        while let Some(v) = stack.pop() {
            if v == start {
                members.push(start);
                break;
            }
            if !seen[v] {
                seen[v] = true;
                stack.extend(parents[v].iter().copied());
            }
        }
    }
    members
}

//! The physical count of one license: which packages the sheet lists, as of which
//! `CountedAt`, in which unit and quantity (as planted), and the rows that no package
//! backs. Each row's truth is derived as it is written (`oracle`), and the license's
//! totals per quantity type decide the significant discrepancy at the end.

use anyhow::Result;

use super::catalog::{
    QTYPES, QType, R_DUPLICATE_COUNT, R_MISSING_ON_PREMISES, R_SIGNIFICANT, Unit, base,
};
use super::clock::Ts;
use super::license::Lic;
use super::model::{CountPlan, Pkg};
use super::writers::qty_text;

/// As-of quantity (thousandths of the package unit) at `t`: export quantity minus
/// adjustments after `t` plus sales after `t`.
fn asof(p: &Pkg, sales: &[(i64, i64)], t: i64) -> i64 {
    let mut q = p.qty_m;
    for a in &p.adjs {
        if !a.bad_date && a.ts.hi > t {
            q -= a.m;
        }
    }
    for &(hi, m) in sales {
        if hi > t {
            q += m;
        }
    }
    q
}

impl Lic<'_> {
    /// Whether the count at `t` must list `p` holding `q`: packaged by the count day, not
    /// finished before it, already received, and not empty.
    fn expected(&self, p: &Pkg, t: i64, q: i64) -> bool {
        let c = &self.ctx.clock;
        let d = c.local_date(t);
        if c.local_date(p.packaged.lo) > d {
            return false;
        }
        if p.finished.as_ref().is_some_and(|f| c.local_date(f.lo) < d) {
            return false;
        }
        if p.recv.as_ref().is_some_and(|r| r.ts.lo > t) {
            return false;
        }
        q > 0
    }

    /// The unit a package is counted in (sometimes converted) and the counted text.
    fn count_value(&mut self, p: &Pkg, m: i64) -> (Unit, String) {
        let conv = match p.unit {
            Unit::Pounds | Unit::Ounces if self.rng.chance(0.3) => Some(Unit::Grams),
            Unit::FluidOunces if self.rng.chance(0.3) => Some(Unit::Milliliters),
            _ => None,
        };
        match conv {
            Some(u) => (u, format!("{:.3}", base(m, p.unit) / u.factor())),
            None => (p.unit, qty_text(m)),
        }
    }

    /// Writes the count row(s) of `p` as its [`CountPlan`] says and records their truth;
    /// `sales` are its `(sale time, quantity)` pairs for the as-of quantity.
    pub(super) fn count_pkg(&mut self, p: &Pkg, sales: &[(i64, i64)]) -> Result<()> {
        let Some(sheet) = &self.sheet else {
            return Ok(());
        };
        let t_max = sheet.session.t_max.clone();
        let sq = p.unit.qtype();
        match p.count {
            CountPlan::Skip => {
                let q = asof(p, sales, t_max.hi);
                if self.expected(p, t_max.hi, q) {
                    self.truth(R_MISSING_ON_PREMISES, &p.label);
                    self.sys[sq.idx()] += base(q, p.unit);
                }
            }
            CountPlan::ForceRow(unit, m) => {
                let at = {
                    let s = self.sheet.as_ref().expect("checked");
                    s.session.pick(&self.ctx.clock, &mut self.rng)
                };
                let q = asof(p, sales, at.hi);
                let exp = self.expected(p, at.hi, q);
                let text = qty_text(m);
                self.write_count(&p.label, &text, unit, p.location, &at)?;
                self.eval_row(&p.label, exp, sq, base(q, p.unit), unit.qtype(), base(m, unit));
            }
            plan => {
                let need = self.sheet.as_ref().is_some_and(|s| s.need_tmax);
                let mut at = if need {
                    t_max.clone()
                } else {
                    let s = self.sheet.as_ref().expect("checked");
                    s.session.pick(&self.ctx.clock, &mut self.rng)
                };
                let mut q = asof(p, sales, at.hi);
                if !self.expected(p, at.hi, q) {
                    at = t_max.clone();
                    q = asof(p, sales, at.hi);
                    if !self.expected(p, at.hi, q) {
                        return Ok(());
                    }
                }
                if let Some(s) = self.sheet.as_mut().filter(|_| at == t_max) {
                    s.need_tmax = false;
                }
                let (unit, text) = match plan {
                    CountPlan::Mismatch(d) => {
                        let v = if q + d < 0 { q - d } else { q + d };
                        (p.unit, qty_text(v))
                    }
                    CountPlan::UnitIncompat => {
                        if sq == QType::Each {
                            (Unit::Grams, qty_text(q / 1000 * 3500))
                        } else {
                            (Unit::Each, self.rng.range(1, 8).to_string())
                        }
                    }
                    _ => self.count_value(p, q),
                };
                let counted: f64 = text.parse::<f64>().expect("rendered number") * unit.factor();
                self.write_count(&p.label, &text, unit, p.location, &at)?;
                self.eval_row(&p.label, true, sq, base(q, p.unit), unit.qtype(), counted);
                if plan == CountPlan::Duplicate {
                    let by = self.user();
                    let s = self.sheet.as_mut().expect("checked");
                    let row = s.render_row(&p.label, &text, unit, "Vault B", &at.text, by);
                    s.tail.push(row);
                    self.truth(R_DUPLICATE_COUNT, &p.label);
                }
            }
        }
        Ok(())
    }

    /// Writes a count row, counted by a random user; returns its line number.
    fn write_count(
        &mut self,
        label: &str,
        qty: &str,
        unit: Unit,
        loc: &str,
        at: &Ts,
    ) -> Result<u64> {
        let by = self.user();
        let s = self.sheet.as_mut().expect("counted license");
        let row = s.render_row(label, qty, unit, loc, &at.text, by);
        s.write_line(&row)
    }

    /// A row for `label`, which no package has, at a random time of the session.
    pub(super) fn stray_row(&mut self, label: &str, unit: Unit, m: i64) -> Result<()> {
        let at = {
            let s = self.sheet.as_ref().expect("counted license");
            s.session.pick(&self.ctx.clock, &mut self.rng)
        };
        let loc = self.rng.pick(&["Back Stock", "Vault A", "Sales Floor"]);
        self.write_count(label, &qty_text(m), unit, loc, &at)?;
        self.eval_row(label, false, unit.qtype(), 0.0, unit.qtype(), base(m, unit));
        Ok(())
    }

    /// Ends the sheet: a row at the latest `CountedAt` if none was written there, the rows
    /// that make the planted significant discrepancy, the duplicate rows kept for the end,
    /// then the license's significant-discrepancy truth per quantity type.
    pub(super) fn finish_counts(&mut self) -> Result<()> {
        let Some(sheet) = &self.sheet else {
            return Ok(());
        };
        if sheet.need_tmax {
            // nothing was counted at the latest CountedAt assumed for uncounted packages:
            // a stray row there makes that assumption true (and is itself a finding)
            let at = sheet.session.t_max.clone();
            let label = self.stray_label();
            self.write_count(&label, "1", Unit::Grams, "Back Stock", &at)?;
            self.eval_row(&label, false, QType::Weight, 0.0, QType::Weight, 1.0);
        }
        if let Some(q) = self.ctx.plan.sig[self.idx] {
            let (s, c) = (self.sys[q.idx()], self.cnt[q.idx()]);
            let need = if s > 0.0 { s * 1.12 - c } else { 10.0 };
            if need > 0.0 {
                let unit = match q {
                    QType::Weight => Unit::Grams,
                    QType::Each => Unit::Each,
                    QType::Volume => Unit::Milliliters,
                };
                let rows = self.rng.range(1, 2);
                let per = (need / rows as f64).ceil() as i64 * 1000;
                for _ in 0..rows {
                    let label = self.stray_label();
                    self.stray_row(&label, unit, per)?;
                }
            }
        }
        let tail = std::mem::take(&mut self.sheet.as_mut().expect("checked").tail);
        for row in tail {
            self.sheet.as_mut().expect("checked").write_line(&row)?;
        }
        for q in QTYPES {
            let (s, c) = (self.sys[q.idx()], self.cnt[q.idx()]);
            let significant = if s > 0.0 { (c - s).abs() >= 0.05 * s } else { c > 0.0 };
            if significant {
                self.truth(R_SIGNIFICANT, "");
                self.significant.push(q);
            }
        }
        Ok(())
    }
}

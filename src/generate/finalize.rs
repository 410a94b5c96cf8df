//! Completing a family after its packages and planted events are made: random
//! adjustments and sales on top of what was planted (stock permitting), then the final
//! quantities, finished dates, history entries and last-modified times that follow.

use super::catalog::{ADJ_NOTES, ADJ_REASONS, Prod, Unit};
use super::clock::{DAY, HOUR, Shape, US};
use super::license::Lic;
use super::model::{Adj, Family, Hist, HistRec, Note, Pkg, Receipt, Tx};
use super::rng::Rng;
use super::writers::qty_text;

impl Lic<'_> {
    /// Completes `fam`: what each package holds and when it last changed follow from
    /// its draws, adjustments and sales.
    pub(super) fn finalize(&mut self, fam: &mut Family) {
        let n = fam.pkgs.len();
        let mut stock = vec![0i64; n];
        let mut last = vec![0i64; n];
        for i in 0..n {
            let p = &fam.pkgs[i];
            last[i] = p.t_ready().max(p.t_last_child);
            if p.shipped || p.reject.is_some() {
                continue;
            }
            let preset: i64 = p.adjs.iter().map(|a| a.m).sum();
            let avail = (p.orig_m - p.drawn_m + preset).max(0);
            let (new_adjs, avail) = self.random_adjustments(p, avail);
            let p = &mut fam.pkgs[i];
            p.adjs.extend(new_adjs);
            p.adjs.sort_by_key(|a| a.t);
            for a in &p.adjs {
                last[i] = last[i].max(a.t);
            }
            stock[i] = avail;
        }
        for r in &fam.receipts {
            for tx in &r.txs {
                stock[tx.pkg] -= tx.m;
                last[tx.pkg] = last[tx.pkg].max(r.t);
            }
        }
        let txs = self.random_sales(fam, &mut stock);
        self.ring_up(fam, txs, &mut last);
        self.settle(fam, &stock, &last);
    }

    /// Unplanted adjustments of a package holding `avail` (more often of bulk product),
    /// never taking it to zero; returns them and what is left.
    fn random_adjustments(&mut self, p: &Pkg, mut avail: i64) -> (Vec<Adj>, i64) {
        let post_end = self.ctx.times.post_end;
        let ready = p.t_ready();
        let auto = p.auto_adj;
        let bulkish = matches!(p.prod, Prod::BulkFlower | Prod::Trim | Prod::Concentrate);
        let unit = p.unit;
        let prob = if bulkish { 0.3 } else { 0.06 };
        let mut new_adjs = Vec::new();
        if auto && avail > 5000 && self.rng.chance(prob) {
            for _ in 0..self.rng.range(1, 2) {
                let m = if unit == Unit::Each {
                    self.rng.range(1, 2) * 1000
                } else {
                    ((avail as f64 * 0.02 * self.rng.f64()) as i64 / 10 * 10).max(100)
                };
                if m >= avail {
                    break;
                }
                avail -= m;
                let t = self.event_time(ready + HOUR, post_end);
                let shape = self.rng.pick(&[
                    Shape::Date,
                    Shape::Date,
                    Shape::Zulu,
                    Shape::Naive,
                    Shape::Offset,
                ]);
                let ts = self.render(t, shape);
                let k = self.rng.index(ADJ_NOTES.len());
                let user = self.user();
                new_adjs.push(Adj {
                    m: -m,
                    t,
                    ts,
                    reason: ADJ_REASONS[k % ADJ_REASONS.len()],
                    note: Note::Text(ADJ_NOTES[k]),
                    bad_date: false,
                    user,
                });
            }
        }
        (new_adjs, avail)
    }

    /// Sales lines `(time, package, quantity)` of the sellable packages, by time, taken
    /// from `stock`.
    fn random_sales(&mut self, fam: &Family, stock: &mut [i64]) -> Vec<(i64, usize, i64)> {
        let post_end = self.ctx.times.post_end;
        let mut txs: Vec<(i64, usize, i64)> = Vec::new();
        for (i, p) in fam.pkgs.iter().enumerate() {
            if !p.sellable || !p.random_sales || p.shipped || p.reject.is_some() {
                continue;
            }
            let lo = p.t_ready() + 3 * HOUR;
            if lo >= post_end {
                continue;
            }
            let unit = p.unit;
            let k = self.rng.pick(&[0, 1, 1, 2, 2, 3, 3, 4, 5, 7]);
            for _ in 0..k {
                let mut q = match unit {
                    Unit::Each => self.rng.range(1, 3) * 1000,
                    Unit::Grams => self.rng.pick(&[1000, 3500, 3500, 7000, 14_000]),
                    Unit::Ounces => self.rng.pick(&[125, 250, 500]),
                    Unit::Pounds => 100,
                    Unit::Milliliters => 30_000,
                    Unit::FluidOunces => 1000,
                };
                if stock[i] < q {
                    if stock[i] > 0 && self.rng.chance(0.5) {
                        q = stock[i];
                    } else {
                        break;
                    }
                }
                stock[i] -= q;
                let t = self.event_time(lo, post_end);
                txs.push((t, i, q));
            }
        }
        txs.sort_unstable();
        txs
    }

    /// Puts the sales lines on receipts: most on a receipt of their own, some on the
    /// previous new receipt when the package was ready by then.
    fn ring_up(&mut self, fam: &mut Family, txs: Vec<(i64, usize, i64)>, last: &mut [i64]) {
        let start = fam.receipts.len();
        for (t, i, q) in txs {
            let attach = fam.receipts.len() > start
                && self.rng.chance(0.2)
                && fam.receipts.last().is_some_and(|r| r.t >= fam.pkgs[i].t_ready() + 3 * HOUR);
            if attach {
                let r = fam.receipts.last_mut().expect("checked");
                r.txs.push(Tx { pkg: i, m: q });
                last[i] = last[i].max(r.t);
                continue;
            }
            let shape = if self.rng.chance(0.65) { Shape::Naive } else { Shape::Offset };
            let sales = self.render(t, shape);
            let recorded = if self.rng.chance(0.02) {
                None
            } else {
                let rt = t + self.rng.range(60, 10 * 3600) * US;
                let sh = if self.rng.chance(0.5) { Shape::Offset } else { Shape::Zulu };
                Some(self.render(rt, sh))
            };
            fam.receipts.push(Receipt { t, sales, recorded, txs: vec![Tx { pkg: i, m: q }] });
            last[i] = last[i].max(t);
        }
    }

    /// Final quantities, finished dates, history and last modified.
    fn settle(&mut self, fam: &mut Family, stock: &[i64], last: &[i64]) {
        let ctx = self.ctx;
        let tm = &ctx.times;
        for (i, p) in fam.pkgs.iter_mut().enumerate() {
            p.qty_m = if p.shipped { 0 } else { stock[i].max(0) };
            if p.qty_m == 0 && !p.shipped && p.reject.is_none() && p.finished.is_none() {
                let f = last[i] + self.rng.range(0, 36) * HOUR;
                p.finished = Some(self.render(f.min(tm.export - DAY), Shape::Date));
            }
            self.history(p);
            let mut lm = last[i];
            for h in &p.hist {
                if let HistRec::Ts(r) = &h.recorded {
                    lm = lm.max(r.lo);
                }
            }
            let lm = (lm + self.rng.range(600, 30 * 3600) * US + self.rng.range(0, US - 1))
                .min(tm.export);
            p.modified = Some(self.render(lm, Shape::Micros));
        }
    }

    /// The history of a package: its packaging or receipt, some of its adjustments, a
    /// move now and then, rarely an edge case; planted entries last.
    fn history(&mut self, p: &mut Pkg) {
        if p.reject.is_some() {
            return;
        }
        let mut out = Vec::new();
        let delay = |rng: &mut Rng| {
            if rng.chance(0.95) {
                rng.range(300, 8 * 3600) * US
            } else {
                rng.range(8 * 3600, 20 * 3600) * US
            }
        };
        let rec_shape = |rng: &mut Rng| {
            if rng.chance(0.6) { Shape::Offset } else { Shape::Zulu }
        };
        if let Some(r) = &p.recv {
            let d = delay(&mut self.rng);
            let sh = rec_shape(&mut self.rng);
            out.push(Hist {
                actual: r.ts.clone(),
                recorded: HistRec::Ts(self.render(r.t + d, sh)),
                desc: format!("Received from manifest {}", r.manifest),
                user: self.user(),
            });
        } else {
            let d = delay(&mut self.rng);
            let sh = rec_shape(&mut self.rng);
            out.push(Hist {
                actual: p.packaged.clone(),
                recorded: HistRec::Ts(self.render(p.t_pack + d, sh)),
                desc: format!(
                    "Packaged {} {} of {}",
                    qty_text(p.orig_m),
                    p.unit.name(),
                    p.item_name()
                ),
                user: self.user(),
            });
        }
        for a in &p.adjs {
            if a.bad_date || !self.rng.chance(0.4) {
                continue;
            }
            let d = delay(&mut self.rng);
            let sh = rec_shape(&mut self.rng);
            out.push(Hist {
                actual: a.ts.clone(),
                recorded: HistRec::Ts(self.render(a.t + d, sh)),
                desc: format!("Adjusted by {} {}: {}", qty_text(a.m), p.unit.name(), a.reason),
                user: a.user,
            });
        }
        if self.rng.chance(0.2) {
            let ctx = self.ctx;
            let tm = &ctx.times;
            let t = self.event_time(p.t_ready(), tm.post_end);
            let shape = self.rng.pick(&[Shape::Date, Shape::Naive, Shape::Offset]);
            let d = delay(&mut self.rng);
            let sh = rec_shape(&mut self.rng);
            out.push(Hist {
                actual: self.render(t, shape),
                recorded: HistRec::Ts(self.render(t + d, sh)),
                desc: format!("Moved to {}", p.location),
                user: self.user(),
            });
        }
        if self.rng.chance(0.004) {
            let k = self.rng.range(0, 3) as u32;
            if let Some(h) = self.edge_hist(k, p.t_ready()) {
                out.push(h);
            }
        }
        // planted entries (already in p.hist) go last
        out.append(&mut p.hist);
        p.hist = out;
    }
}

//! Planted anomalies: one function per kind of [`Plant`] (kinds that differ only in a
//! parameter share one), each building a self-contained family whose truth `oracle`
//! derives like any other, so side effects of an anomaly are in the truth too. Near
//! misses (`Edge*`) must produce nothing; `Rej*` are bad records for `expected_rejects.csv`.

use anyhow::Result;
use chrono::NaiveDate;

use super::catalog::{ADJ_NOTES, ADJ_REASONS, Prod, STRAINS, Unit};
use super::clock::{DAY, HOUR, MINUTE, Shape, Ts, US, push_dt};
use super::license::Lic;
use super::model::{
    Adj, Batch, CountPlan, Family, Hist, HistRec, Note, Pkg, PkgReject, Receipt, Tx,
};
use super::oracle::RejectRow;
use super::plan::Plant;

impl Lic<'_> {
    /// A small jar of flower on the back shelf.
    fn small_flower(&mut self) -> Pkg {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let t = self.pack_time(tm.pack_start, tm.pack_end);
        let m = self.rng.range(7, 56) * 500;
        let mut p = self.harvest_pkg(Prod::FlowerG, Unit::Grams, m, t);
        p.location = "Back Stock";
        p
    }

    /// A package for count plants: small, of a random quantity type.
    fn count_subject(&mut self) -> Pkg {
        let mut p = self.count_subject_any();
        // not sold out before the count
        p.random_sales = false;
        p
    }

    /// Small flower by the gram or ounce, carts, or tinctures in ml or fl oz.
    fn count_subject_any(&mut self) -> Pkg {
        let r = self.rng.f64();
        if r < 0.45 {
            self.small_flower()
        } else if r < 0.6 {
            let ctx = self.ctx;
            let tm = &ctx.times;
            let t = self.pack_time(tm.pack_start, tm.pack_end);
            let m = self.rng.range(1, 4) * 1000;
            self.harvest_pkg(Prod::FlowerOz, Unit::Ounces, m, t)
        } else if r < 0.8 {
            let m = self.rng.range(2, 12) * 1000;
            self.received_pkg(Prod::Cart, Unit::Each, m)
        } else if r < 0.9 {
            let m = self.rng.range(2, 8) * 30_000;
            self.received_pkg(Prod::Tincture, Unit::Milliliters, m)
        } else {
            let m = self.rng.range(2, 8) * 1000;
            self.received_pkg(Prod::Tincture, Unit::FluidOunces, m)
        }
    }

    /// A sellable package on its own: small flower or a received product.
    fn solo(&mut self) -> Pkg {
        if self.rng.chance(0.5) {
            let mut p = self.small_flower();
            p.sellable = true;
            p
        } else {
            self.retail_pkg()
        }
    }

    /// A receipt of one unit (a tenth of a weighed package) from package `i` of `fam`,
    /// recorded with a lag in `lag` (`None`: promptly).
    fn preset_sale(&mut self, fam: &mut Family, i: usize, lag: Option<(i64, i64)>) {
        let p = &fam.pkgs[i];
        let unit_m = if p.unit == Unit::Each { 1000 } else { p.orig_m / 10 };
        let lo = p.t_ready() + 3 * HOUR;
        let hi = self.ctx.times.post_end - 2 * DAY;
        let t = self.event_time(lo, hi);
        let shape = if self.rng.chance(0.6) { Shape::Naive } else { Shape::Offset };
        let shape = self.unambiguous(t, shape);
        let sales = self.render(t, shape);
        let rec_t = match lag {
            Some((a, b)) if a >= 0 => sales.hi + self.rng.range(a / US, b / US) * US,
            Some((a, b)) => sales.lo - self.rng.range(-b / US, -a / US) * US,
            None => t + self.rng.range(60, 6 * 3600) * US,
        };
        let recorded = Some(self.render(rec_t, Shape::Offset));
        fam.receipts.push(Receipt {
            t,
            sales,
            recorded,
            txs: vec![Tx { pkg: i, m: unit_m.max(1) }],
        });
    }

    /// Plants one anomaly of `kind`, as a family of its own (or a count row).
    pub(super) fn plant(&mut self, kind: Plant) -> Result<()> {
        match kind {
            Plant::MissingInSystem => self.plant_missing_in_system(),
            Plant::MissingOnPremises => self.plant_missing_on_premises(),
            Plant::Mismatch => self.plant_mismatch(),
            Plant::UnitIncompat => self.plant_unit_incompat(),
            Plant::DuplicateCount => self.plant_duplicate_count(),
            Plant::HistoryLate | Plant::HistoryBefore | Plant::DivergentDstLate => {
                self.plant_history_lag(kind)
            }
            Plant::SaleLate | Plant::SaleBefore => self.plant_sale_lag(kind),
            Plant::Orphan => self.plant_orphan(),
            Plant::Cycle3 | Plant::SelfLoop => self.plant_cycle(kind),
            Plant::ChildBeforeParent => self.plant_child_before_parent(),
            Plant::Overdrawn | Plant::EdgeOverdrawSaved => self.plant_overdrawn(kind),
            Plant::MissingPb | Plant::UnneededPb | Plant::MissingBatchNo => {
                self.plant_production_batch(kind)
            }
            Plant::UntestedSale => self.plant_untested_sale(),
            Plant::AdjNoNote | Plant::RejAdjDate | Plant::EdgeCountDayAdj => {
                self.plant_adjustment(kind)
            }
            Plant::DuplicatePackage => self.plant_duplicate_package(),
            Plant::EdgeSameDay => self.plant_same_day_child(),
            Plant::EdgeHistory => self.plant_edge_history(),
            Plant::DivergentPackagedAfterCount => self.plant_packaged_after_count(),
            Plant::RejPkgQty | Plant::RejPkgNaN | Plant::RejPkgLabel => {
                self.plant_bad_package(kind)
            }
            Plant::RejHistType => self.plant_bad_history_time(),
            Plant::RejCountQty => self.plant_bad_count(),
        }
    }

    /// A count row with no package behind it: a label never in the export, or a package
    /// sold out and finished in the summer that is still found on a shelf.
    fn plant_missing_in_system(&mut self) -> Result<()> {
        let ctx = self.ctx;
        let tm = &ctx.times;
        if self.rng.chance(0.6) {
            let (unit, m) = if self.rng.chance(0.8) {
                (Unit::Grams, self.rng.range(2, 30) * 500)
            } else {
                (Unit::Each, self.rng.range(1, 2) * 1000)
            };
            let label = self.stray_label();
            self.stray_row(&label, unit, m)?;
        } else {
            // sold out in the summer, finished, yet found on a shelf
            let mut p = self.small_flower();
            p.t_pack = p.t_pack.min(tm.pack_start + 120 * DAY);
            p.packaged = self.render(p.t_pack, Shape::Date);
            p.auto_adj = false;
            p.random_sales = false;
            p.count = CountPlan::ForceRow(Unit::Grams, self.rng.range(2, 10) * 500);
            let mut fam = Family::one(p);
            let total = fam.pkgs[0].orig_m;
            let t = fam.pkgs[0].t_pack + self.rng.range(2, 20) * DAY;
            let sales = self.render(t, Shape::Offset);
            let recorded = Some(self.render(t + 20 * MINUTE, Shape::Offset));
            fam.receipts.push(Receipt { t, sales, recorded, txs: vec![Tx { pkg: 0, m: total }] });
            self.emit(fam)?;
        }
        Ok(())
    }

    /// A package with stock that the count does not list.
    fn plant_missing_on_premises(&mut self) -> Result<()> {
        let mut p = self.count_subject();
        p.sellable = false;
        p.auto_adj = false;
        p.count = CountPlan::Skip;
        self.emit(Family::one(p))
    }

    /// A count off by more than the tolerance, either way.
    fn plant_mismatch(&mut self) -> Result<()> {
        let mut p = self.count_subject();
        let d = match p.unit {
            Unit::Grams => self.rng.range(3, 30) * 500,
            Unit::Ounces => self.rng.range(1, 5) * 100,
            Unit::Each => self.rng.range(1, 3) * 1000,
            Unit::Milliliters => self.rng.range(3, 30) * 1000,
            _ => self.rng.range(2, 10) * 100,
        };
        let d = if self.rng.chance(0.5) { d } else { -d };
        p.count = CountPlan::Mismatch(d);
        self.emit(Family::one(p))
    }

    /// A count in a unit of another quantity type.
    fn plant_unit_incompat(&mut self) -> Result<()> {
        let mut p = self.count_subject();
        p.count = CountPlan::UnitIncompat;
        self.emit(Family::one(p))
    }

    /// A package counted twice (the second row at the end of the sheet).
    fn plant_duplicate_count(&mut self) -> Result<()> {
        let mut p = self.count_subject();
        p.count = CountPlan::Duplicate;
        self.emit(Family::one(p))
    }

    /// A history entry recorded late (`HistoryLate`, `DivergentDstLate`: late only
    /// as SPEC reads a repeated hour) or before it happened (`HistoryBefore`).
    fn plant_history_lag(&mut self, kind: Plant) -> Result<()> {
        let mut p = self.solo();
        let h = self.planted_hist(kind, p.t_ready());
        p.hist.push(h);
        self.emit(Family::one(p))
    }

    /// A receipt recorded late (`SaleLate`) or before the sale (`SaleBefore`); sometimes
    /// with the label twice or a second package on it.
    fn plant_sale_lag(&mut self, kind: Plant) -> Result<()> {
        let lag =
            if kind == Plant::SaleLate { (25 * HOUR, 100 * HOUR) } else { (-20 * HOUR, -2 * HOUR) };
        let mut fam = Family::one(self.solo());
        fam.pkgs[0].sellable = true;
        fam.pkgs[0].lab = Some("TestPassed");
        self.preset_sale(&mut fam, 0, Some(lag));
        let r = self.rng.f64();
        if r < 0.3 {
            // the same label twice on the receipt: still one finding
            let tx = fam.receipts[0].txs[0].clone();
            fam.receipts[0].txs.push(tx);
        } else if r < 0.6 {
            let mut q = self.solo();
            q.sellable = true;
            q.lab = Some("TestPassed");
            let t_sale = fam.receipts[0].t;
            if q.t_ready() + 3 * HOUR <= t_sale {
                let m = if q.unit == Unit::Each { 1000 } else { q.orig_m / 10 };
                fam.pkgs.push(q);
                fam.receipts[0].txs.push(Tx { pkg: 1, m: m.max(1) });
            }
        }
        self.emit(fam)
    }

    /// A local package whose source is in no export: alone, or one of a concentrate's
    /// sources.
    fn plant_orphan(&mut self) -> Result<()> {
        if self.rng.chance(0.75) {
            let mut p = self.small_flower();
            p.harvest = None;
            p.sources = vec![self.stray_label()];
            p.sellable = true;
            self.emit(Family::one(p))?;
        } else {
            let mut fam = self.extract_family();
            let stray = self.stray_label();
            let conc = fam
                .pkgs
                .iter()
                .position(|p| p.prod == Prod::Concentrate)
                .expect("extract family has a concentrate");
            fam.pkgs[conc].sources.push(stray);
            self.emit(fam)?;
        }
        Ok(())
    }

    /// Packages that are their own ancestors: three in a ring (`Cycle3`) or one that is
    /// its own source (`SelfLoop`).
    fn plant_cycle(&mut self, kind: Plant) -> Result<()> {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let n = if kind == Plant::Cycle3 { 3 } else { 1 };
        let t = self.pack_time(tm.pack_start, tm.pack_end);
        let packaged = self.render(t, Shape::Date);
        let m = self.rng.range(56, 400) * 500;
        let strain = self.rng.index(STRAINS.len());
        let mut pkgs = Vec::new();
        for _ in 0..n {
            let mut p = self.new_pkg(Prod::FlowerG, strain, Unit::Grams, m, t);
            p.packaged = packaged.clone();
            p.sellable = true;
            pkgs.push(p);
        }
        for i in 0..n {
            let src = pkgs[(i + n - 1) % n].label.clone();
            pkgs[i].sources = vec![src];
        }
        self.emit(Family { pkgs, ..Family::default() })
    }

    /// A jar packaged before its bulk package: days before as dates, or hours before
    /// as times.
    fn plant_child_before_parent(&mut self) -> Result<()> {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let t_b = self.pack_time(tm.pack_start + 15 * DAY, tm.pack_end);
        let mut bulk = self.bulk(t_b);
        let (prod, unit, m, draw) = self.jar_spec();
        let mut c = self.child_of(&mut bulk, prod, unit, m, draw);
        if prod == Prod::PreRoll {
            c.is_pb = true;
            c.batch = Batch::Num(self.next_batch());
        }
        c.sellable = true;
        if self.rng.chance(0.5) {
            c.t_pack = t_b - self.rng.range(1, 10) * DAY;
            bulk.packaged = self.render(t_b, Shape::Date);
            c.packaged = self.render(c.t_pack, Shape::Date);
        } else {
            c.t_pack = t_b - self.rng.range(30, 200) * HOUR;
            bulk.packaged = self.render(t_b, Shape::Offset);
            c.packaged = self.render(c.t_pack, Shape::Offset);
        }
        self.emit(Family { pkgs: vec![bulk, c], ..Family::default() })
    }

    /// Children drawing more than the source holds plus its positive adjustments
    /// (`Overdrawn`); or, a near miss, children within that and a production batch on top,
    /// which does not draw by weight (`EdgeOverdrawSaved`).
    fn plant_overdrawn(&mut self, kind: Plant) -> Result<()> {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let t = self.pack_time(tm.pack_start, tm.pack_end - 30 * DAY);
        let orig = self.rng.range(1000, 4000) * 500;
        let mut bulk = self.harvest_pkg(Prod::BulkFlower, Unit::Grams, orig, t);
        let plus = if kind == Plant::EdgeOverdrawSaved || self.rng.chance(0.3) {
            self.rng.range(20, 100) * 1000
        } else {
            0
        };
        if plus > 0 {
            let ta = t + self.rng.range(1, 20) * HOUR;
            let ts = self.render(ta, Shape::Zulu);
            let user = self.user();
            bulk.adjs.push(Adj {
                m: plus,
                t: ta,
                ts,
                reason: "Entry Error",
                note: Note::Text("Initial weight keyed short; corrected after reweigh"),
                bad_date: false,
                user,
            });
        }
        let allowed = orig + plus;
        let target = if kind == Plant::Overdrawn {
            allowed + (allowed as f64 * (0.03 + 0.2 * self.rng.f64())) as i64 + 2000
        } else {
            allowed - self.rng.range(1, 40) * 500
        };
        let n = self.rng.range(2, 4);
        let mut kids = Vec::new();
        let mut left = target;
        for j in 0..n {
            let m = if j == n - 1 { left } else { (target / n) / 500 * 500 };
            left -= m;
            let mut c = self.child_of(&mut bulk, Prod::FlowerG, Unit::Grams, m, 0.0);
            c.sellable = true;
            kids.push(c);
        }
        if kind == Plant::EdgeOverdrawSaved {
            // a production batch of the same source is not drawn by its weight, so
            // the source is not overdrawn although the children's grams exceed it
            let m = (allowed - target) + self.rng.range(5, 50) * 1000;
            let mut c = self.child_of(&mut bulk, Prod::Concentrate, Unit::Grams, m, 0.0);
            c.is_pb = true;
            c.batch = Batch::Num(self.next_batch());
            kids.push(c);
        }
        bulk.drawn_m = orig + plus;
        bulk.auto_adj = false;
        let mut pkgs = vec![bulk];
        pkgs.extend(kids);
        self.emit(Family { pkgs, ..Family::default() })
    }

    /// A production batch where one is needed but not marked (`MissingPb`), one marked
    /// where none is needed (`UnneededPb`), or one without a batch number (`MissingBatchNo`).
    fn plant_production_batch(&mut self, kind: Plant) -> Result<()> {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let t = self.pack_time(tm.pack_start, tm.pack_end - 30 * DAY);
        let mut bulk = self.bulk(t);
        let mut c = match kind {
            Plant::UnneededPb => {
                let m = self.rng.range(56, 400) * 500;
                let mut c = self.child_of(&mut bulk, Prod::FlowerG, Unit::Grams, m, m as f64 / 1e3);
                c.is_pb = true;
                c.batch = Batch::Num(self.next_batch());
                c.lab = Some("NotSubmitted");
                c
            }
            _ => {
                let m = self.rng.range(20, 150) * 1000;
                let mut c = self.child_of(&mut bulk, Prod::PreRoll, Unit::Each, m, m as f64 / 1e3);
                c.sellable = true;
                if kind == Plant::MissingBatchNo {
                    c.is_pb = true;
                    c.batch = [Batch::Null, Batch::Empty, Batch::Spaces][self.rng.index(3)].clone();
                }
                c
            }
        };
        c.location = "Back Stock";
        self.emit(Family { pkgs: vec![bulk, c], ..Family::default() })
    }

    /// A sale of a package whose lab state does not allow it.
    fn plant_untested_sale(&mut self) -> Result<()> {
        let mut fam = Family::one(self.retail_pkg());
        fam.pkgs[0].lab = self.rng.pick(&[
            Some("NotSubmitted"),
            Some("SubmittedForTesting"),
            Some("TestFailed"),
            None,
        ]);
        self.preset_sale(&mut fam, 0, None);
        self.emit(fam)
    }

    /// An adjustment without a note (`AdjNoNote`), with an unparseable date
    /// (`RejAdjDate`), or dated the count day (`EdgeCountDayAdj`).
    fn plant_adjustment(&mut self, kind: Plant) -> Result<()> {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let mut p = self.solo();
        let step = if p.unit == Unit::Each { 1000 } else { 500 };
        let m = -(self.rng.range(1, 4) * step).min(p.orig_m / 4 / step * step).max(step);
        let mut t = self.event_time(p.t_ready() + HOUR, tm.post_end - DAY);
        let mut shape = self.rng.pick(&[Shape::Date, Shape::Zulu, Shape::Naive]);
        let count_day = self.sheet.as_ref().map(|s| s.session.t_max.lo);
        if let Some(day) = count_day.filter(|_| kind == Plant::EdgeCountDayAdj) {
            // a date-only change on the count day: after the count unless the
            // count itself is date-only (SPEC 2.3, end of day)
            t = day.max(p.t_ready() + HOUR);
            shape = Shape::Date;
        }
        let ts = self.render(t, shape);
        let note = match kind {
            Plant::AdjNoNote => {
                self.rng.pick(&[Note::Empty, Note::Null, Note::Spaces, Note::Missing])
            }
            _ => Note::Text(ADJ_NOTES[self.rng.index(ADJ_NOTES.len())]),
        };
        let user = self.user();
        p.adjs.push(Adj {
            m,
            t,
            ts,
            reason: ADJ_REASONS[self.rng.index(ADJ_REASONS.len())],
            note,
            bad_date: kind == Plant::RejAdjDate,
            user,
        });
        self.emit(Family::one(p))
    }

    /// A package record written twice.
    fn plant_duplicate_package(&mut self) -> Result<()> {
        let mut p = self.solo();
        p.dup = true;
        self.emit(Family::one(p))
    }

    /// A child dated the same day as its parent's time: not before it.
    fn plant_same_day_child(&mut self) -> Result<()> {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let t = self.pack_time(tm.pack_start, tm.pack_end - 30 * DAY);
        let mut bulk = self.bulk(t);
        bulk.packaged = self.render(t, Shape::Offset);
        let (prod, unit, m, draw) = self.jar_spec();
        let mut c = self.child_of(&mut bulk, prod, unit, m, draw);
        if prod == Prod::PreRoll {
            c.is_pb = true;
            c.batch = Batch::Num(self.next_batch());
        }
        c.sellable = true;
        // same local day as the parent's timestamp, as a date: not before it
        c.t_pack = t + 2 * HOUR;
        c.packaged = self.render(t, Shape::Date);
        self.emit(Family { pkgs: vec![bulk, c], ..Family::default() })
    }

    /// History entries at every lag limit, none of them a finding.
    fn plant_edge_history(&mut self) -> Result<()> {
        let mut p = self.solo();
        for k in 0..7 {
            if let Some(h) = self.edge_hist(k, p.t_ready()) {
                p.hist.push(h);
            }
        }
        self.emit(Family::one(p))
    }

    /// A package made after the count, so the count is right not to list it.
    fn plant_packaged_after_count(&mut self) -> Result<()> {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let (a, b) = tm.after_count;
        let t = self.rng.range(a / US, b / US) * US;
        let m = self.rng.range(10, 60) * 500;
        let mut p = self.harvest_pkg(Prod::BulkFlower, Unit::Grams, m, t);
        p.packaged = self.render(t, Shape::Date);
        p.auto_adj = false;
        self.emit(Family::one(p))
    }

    /// A package record with a non-numeric or non-finite quantity or no label.
    fn plant_bad_package(&mut self, kind: Plant) -> Result<()> {
        let mut p = self.small_flower();
        p.auto_adj = false;
        p.reject = Some(match kind {
            Plant::RejPkgQty => {
                PkgReject::BadQty(self.rng.pick(&["abc", "12,5 g", "n/a"]), "non-numeric quantity")
            }
            Plant::RejPkgNaN => PkgReject::BadQty("NaN", "non-finite quantity"),
            _ => PkgReject::NoLabel(self.rng.index(3) as u8),
        });
        self.emit(Family::one(p))
    }

    /// A history entry whose `RecordedDateTime` is of the wrong JSON type.
    fn plant_bad_history_time(&mut self) -> Result<()> {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let mut p = self.solo();
        let t = self.event_time(p.t_ready(), tm.post_end - DAY);
        let actual = self.render(t, Shape::Date);
        let recorded = if self.rng.chance(0.5) { HistRec::BadNumber } else { HistRec::BadObject };
        let user = self.user();
        p.hist.push(Hist { actual, recorded, desc: "Location changed".to_string(), user });
        self.emit(Family::one(p))
    }

    /// A count row with a non-numeric quantity.
    fn plant_bad_count(&mut self) -> Result<()> {
        if self.sheet.is_some() {
            let label = self.stray_label();
            let bad = self.rng.pick(&["abc", "twelve", "n/a", "1O"]);
            let loc = "Back Stock";
            let by = self.user();
            let s = self.sheet.as_mut().expect("checked");
            let at = s.session.pick(&self.ctx.clock, &mut self.rng);
            let row = s.render_row(&label, bad, Unit::Grams, loc, &at.text, by);
            let line = s.write_line(&row)?;
            let (file, column) = (s.file.clone(), s.qty_header());
            self.rejects.push(RejectRow {
                file,
                record: line,
                column,
                reason: "non-numeric quantity",
            });
        }
        Ok(())
    }

    /// The history entry of a lag plant: late, late only across a DST change, or recorded
    /// before it happened.
    fn planted_hist(&mut self, kind: Plant, ready: i64) -> Hist {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let c = &ctx.clock;
        let user = self.user();
        let (actual, rec) = match kind {
            Plant::DivergentDstLate => {
                // repeated hour: SPEC reads the earlier instant, so this is 24.25 h late
                let n = NaiveDate::from_ymd_opt(2026, 11, 1)
                    .and_then(|d| d.and_hms_opt(1, 30, 0))
                    .expect("valid");
                let occ = c.resolve(n);
                let mut text = String::new();
                push_dt(&mut text, n);
                text.push_str(".000");
                let actual = Ts { text, lo: occ, hi: occ };
                (actual, self.render(occ + 24 * HOUR + 15 * MINUTE, Shape::Zulu))
            }
            Plant::HistoryLate => {
                let r = self.rng.f64();
                if r < 0.2 {
                    // across the fall-back night: 24.5 h of real time, 23.5 h of wall time
                    let occ = c.at(2026, 10, 31, 3, 0);
                    (
                        self.render(occ, Shape::Naive),
                        self.render(occ + 24 * HOUR + 30 * MINUTE, Shape::Offset),
                    )
                } else {
                    let t = self.event_time(ready, tm.post_end - 8 * DAY);
                    let shape = self.rng.pick(&[Shape::Date, Shape::Naive, Shape::Offset]);
                    let shape = self.unambiguous(t, shape);
                    let actual = self.render(t, shape);
                    let rec = actual.hi + self.rng.range(25 * 3600, 200 * 3600) * US;
                    (actual, self.render(rec, Shape::Offset))
                }
            }
            _ => {
                let t = self.event_time(ready + 2 * DAY, tm.post_end - 2 * DAY);
                let shape = self.rng.pick(&[Shape::Date, Shape::Naive, Shape::Offset]);
                let shape = self.unambiguous(t, shape);
                let actual = self.render(t, shape);
                let rec = actual.lo - self.rng.range(2 * 3600, 40 * 3600) * US;
                (actual, self.render(rec, Shape::Zulu))
            }
        };
        Hist {
            actual,
            recorded: HistRec::Ts(rec),
            desc: "Package location changed".to_string(),
            user,
        }
    }

    /// History entries that look late or early at a glance but are not (SPEC 2.3).
    pub(super) fn edge_hist(&mut self, k: u32, ready: i64) -> Option<Hist> {
        let ctx = self.ctx;
        let c = &ctx.clock;
        let tm = &ctx.times;
        let user = self.user();
        let (actual, rec) = match k {
            0 => {
                // across the spring-forward night: 24.5 h of wall time, 23.5 h of real time
                let occ = c.at(2026, 3, 7, 3, 0);
                (
                    self.render(occ, Shape::Naive),
                    self.render(occ + 23 * HOUR + 30 * MINUTE, Shape::Offset),
                )
            }
            1 => {
                // date only: measured from the end of the day, 23 h
                let t = self.event_time(ready, tm.post_end - 3 * DAY);
                let actual = self.render(t, Shape::Date);
                let rec = actual.hi + 1 + 23 * HOUR;
                (actual, self.render(rec, Shape::Offset))
            }
            2 => {
                // date only: recorded 30 min before the day starts (not more than 1 h)
                let t = self.event_time(ready + 2 * DAY, tm.post_end - 3 * DAY);
                let actual = self.render(t, Shape::Date);
                let rec = actual.lo - 30 * MINUTE;
                (actual, self.render(rec, Shape::Offset))
            }
            4..=6 => {
                // exactly 24 h (not late), exactly 72 h (late, not yet high), 72 h and a
                // second (high): the limits are "more than"
                let lag = [24 * HOUR, 72 * HOUR, 72 * HOUR + US][k as usize - 4];
                let t = self.event_time(ready, tm.post_end - 4 * DAY);
                let actual = self.render(t, Shape::Offset);
                (actual, self.render(t + lag, Shape::Offset))
            }
            _ => {
                // a naive time in the skipped hour moves forward by the gap
                let n = NaiveDate::from_ymd_opt(2026, 3, 8)
                    .and_then(|d| d.and_hms_opt(2, 30, 0))
                    .expect("valid");
                let occ = c.resolve(n);
                let mut text = String::new();
                push_dt(&mut text, n);
                text.push_str(".000");
                let actual = Ts { text, lo: occ, hi: occ };
                (actual, self.render(occ + 30 * MINUTE, Shape::Offset))
            }
        };
        Some(Hist {
            actual,
            recorded: HistRec::Ts(rec),
            desc: "Package note updated".to_string(),
            user,
        })
    }
}

//! Clean families of packages, the bulk of every license: flower (a bulk package and the
//! jars and pre-rolls made from it), extract (trim to concentrate to carts, edibles and
//! tinctures), retail (received from outside the export) and both sides of a transfer;
//! and the package builders that planted anomalies reuse.

use super::catalog::{
    Prod, STRAINS, Unit, base, facility_name, lab_state, label_of, license_number, to_m,
};
use super::clock::{DAY, HOUR, Shape, US};
use super::license::Lic;
use super::model::{Batch, CountPlan, Family, Pkg, Recv};
use super::transfer::XferSpec;

impl Lic<'_> {
    /// A new package of this license with the next label, sometimes with sentinel dates.
    pub(super) fn new_pkg(
        &mut self,
        prod: Prod,
        strain: usize,
        unit: Unit,
        orig_m: i64,
        t_pack: i64,
    ) -> Pkg {
        let seq = self.next_seq();
        let shape = self.pack_shape();
        let locs = prod.locations();
        Pkg {
            seq,
            label: label_of(self.idx, seq),
            prod,
            strain,
            unit,
            orig_m,
            drawn_m: 0,
            qty_m: 0,
            t_pack,
            packaged: self.render(t_pack, shape),
            t_last_child: t_pack,
            sources: Vec::new(),
            harvest: None,
            is_pb: false,
            batch: Batch::Null,
            lab: Some(lab_state(prod, seq)),
            recv: None,
            shipped: false,
            finished: None,
            location: locs[self.rng.index(locs.len())],
            adjs: Vec::new(),
            hist: Vec::new(),
            count: CountPlan::Normal,
            dup: false,
            reject: None,
            sellable: false,
            auto_adj: true,
            random_sales: true,
            modified: None,
            sentinels: self.rng.chance(0.1),
        }
    }

    /// A locally created package from a harvest (no source packages).
    pub(super) fn harvest_pkg(&mut self, prod: Prod, unit: Unit, orig_m: i64, t: i64) -> Pkg {
        let strain = self.rng.index(STRAINS.len());
        let mut p = self.new_pkg(prod, strain, unit, orig_m, t);
        p.harvest = Some(self.harvest_name(t));
        p
    }

    /// A package received from a distributor outside the export (not locally created).
    pub(super) fn received_pkg(&mut self, prod: Prod, unit: Unit, orig_m: i64) -> Pkg {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let t_recv = self.rng.range((tm.pack_start + 20 * DAY) / US, tm.xfer_end / US) * US;
        let t_pack = t_recv - self.rng.range(2, 20) * DAY;
        let strain = self.rng.index(STRAINS.len());
        let mut p = self.new_pkg(prod, strain, unit, orig_m, t_pack);
        let ext = 9_500_000 + self.rng.index(400);
        if self.rng.chance(0.5) {
            p.sources = vec![label_of(ext % 99_999, 700_000_000_000 + p.seq)];
        }
        if matches!(prod, Prod::Cart | Prod::Edible | Prod::Tincture | Prod::PreRoll) {
            p.is_pb = true;
            p.batch = Batch::Num(format!("PB-EXT-{}", self.rng.range(10_000, 99_999)));
        }
        p.recv = Some(Recv {
            t: t_recv,
            ts: self.render(t_recv, Shape::Offset),
            manifest: format!("{:010}", 8_000_000_000 + self.rng.below(999_999_999)),
            from: license_number(ext),
            from_name: facility_name(ext),
        });
        p.sellable = true;
        p
    }

    /// A package made from `parent` (single source), packaged 2 h to 10 days later.
    pub(super) fn child_of(
        &mut self,
        parent: &mut Pkg,
        prod: Prod,
        unit: Unit,
        m: i64,
        draw_base: f64,
    ) -> Pkg {
        let t = parent.t_pack + 2 * HOUR + self.rng.range(0, 10 * DAY / US) * US;
        let mut c = self.new_pkg(prod, parent.strain, unit, m, t);
        c.sources = vec![parent.label.clone()];
        parent.drawn_m += to_m(draw_base, parent.unit);
        parent.t_last_child = parent.t_last_child.max(t);
        c
    }

    /// A jar or pre-roll lot to make from bulk flower: product, unit, quantity and the
    /// grams it draws.
    pub(super) fn jar_spec(&mut self) -> (Prod, Unit, i64, f64) {
        let r = self.rng.f64();
        if r < 0.35 {
            let m = self.rng.range(56, 896) * 500;
            (Prod::FlowerG, Unit::Grams, m, m as f64 / 1000.0)
        } else if r < 0.5 {
            let m = self.rng.range(2, 16) * 1000;
            (Prod::FlowerOz, Unit::Ounces, m, base(m, Unit::Ounces))
        } else if r < 0.8 {
            let m = self.rng.range(12, 120) * 1000;
            (Prod::Jar35, Unit::Each, m, m as f64 / 1000.0 * 3.5)
        } else {
            let m = self.rng.range(20, 200) * 1000;
            (Prod::PreRoll, Unit::Each, m, m as f64 / 1000.0)
        }
    }

    /// A bulk flower package from a harvest, in pounds or grams.
    pub(super) fn bulk(&mut self, t0: i64) -> Pkg {
        let (unit, m) = if self.rng.chance(0.55) {
            (Unit::Pounds, self.rng.range(2, 12) * 1000 + self.rng.range(0, 99) * 10)
        } else {
            (Unit::Grams, self.rng.range(800, 5000) * 1000)
        };
        self.harvest_pkg(Prod::BulkFlower, unit, m, t0)
    }

    // ----- clean families

    /// Bulk flower and the jars and pre-rolls (production batches) made from most of it.
    pub(super) fn flower_family(&mut self) -> Family {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let t0 = self.pack_time(tm.pack_start, tm.pack_end - 30 * DAY);
        let mut bulk = self.bulk(t0);
        let cap = base(bulk.orig_m, bulk.unit) * (0.6 + 0.28 * self.rng.f64());
        let mut used = 0.0;
        let mut kids = Vec::new();
        for _ in 0..self.rng.range(2, 10) {
            let (prod, unit, m, draw) = self.jar_spec();
            if used + draw > cap {
                continue;
            }
            used += draw;
            let mut c = self.child_of(&mut bulk, prod, unit, m, draw);
            if prod == Prod::PreRoll {
                c.is_pb = true;
                c.batch = Batch::Num(self.next_batch());
            }
            c.sellable = true;
            kids.push(c);
        }
        let mut pkgs = vec![bulk];
        pkgs.extend(kids);
        Family { pkgs, ..Family::default() }
    }

    /// Trim (sometimes flower) extracted into a concentrate batch, and the carts,
    /// edibles, tinctures and jars made from it.
    pub(super) fn extract_family(&mut self) -> Family {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let t0 = self.pack_time(tm.pack_start, tm.pack_end - 40 * DAY);
        let strain = self.rng.index(STRAINS.len());
        let mut pkgs = Vec::new();
        let mut trim_base = 0.0;
        for _ in 0..self.rng.range(1, 3) {
            let (unit, m) = if self.rng.chance(0.7) {
                (Unit::Grams, self.rng.range(500, 3000) * 1000)
            } else {
                (Unit::Pounds, self.rng.range(1, 6) * 1000 + self.rng.range(0, 99) * 10)
            };
            let t = t0 + self.rng.range(0, 3 * DAY / US) * US;
            // mostly trim; sometimes a lot of flower goes to extraction
            let prod = if self.rng.chance(0.25) { Prod::BulkFlower } else { Prod::Trim };
            let mut p = self.new_pkg(prod, strain, unit, m, t);
            p.harvest = Some(self.harvest_name(t));
            trim_base += base(m, unit);
            pkgs.push(p);
        }
        let t_last = pkgs.iter().map(|p| p.t_pack).max().unwrap_or(t0);
        let t_c = t_last + 2 * HOUR + self.rng.range(0, 10 * DAY / US) * US;
        let conc_m = ((trim_base * (0.08 + 0.07 * self.rng.f64())) * 10.0).round() as i64 * 100;
        let mut conc = self.new_pkg(Prod::Concentrate, strain, Unit::Grams, conc_m.max(1000), t_c);
        conc.is_pb = true;
        conc.batch = Batch::Num(self.next_batch());
        for p in &mut pkgs {
            conc.sources.push(p.label.clone());
            let f = if self.rng.chance(0.6) { 1.0 } else { 0.5 + 0.45 * self.rng.f64() };
            p.drawn_m = ((p.orig_m as f64) * f) as i64;
            p.t_last_child = t_c;
        }
        let cap = base(conc.orig_m, Unit::Grams) * 0.9;
        let mut used = 0.0;
        let mut kids = Vec::new();
        for _ in 0..self.rng.range(2, 6) {
            let r = self.rng.f64();
            let (prod, unit, m, draw) = if r < 0.35 {
                let m = self.rng.range(50, 300) * 1000;
                (Prod::Cart, Unit::Each, m, m as f64 / 1000.0 * 0.5)
            } else if r < 0.55 {
                let m = self.rng.range(24, 200) * 1000;
                (Prod::Edible, Unit::Each, m, m as f64 / 1000.0 * 0.1)
            } else if r < 0.7 {
                let m = self.rng.range(5, 40) * 30_000;
                (Prod::Tincture, Unit::Milliliters, m, m as f64 / 30_000.0 * 0.3)
            } else if r < 0.8 {
                let m = self.rng.range(5, 40) * 1000;
                (Prod::Tincture, Unit::FluidOunces, m, m as f64 / 1000.0 * 0.3)
            } else {
                let m = self.rng.range(10, 80) * 1000;
                (Prod::ConcJar, Unit::Grams, m, m as f64 / 1000.0)
            };
            if used + draw > cap {
                continue;
            }
            used += draw;
            let mut c = self.child_of(&mut conc, prod, unit, m, draw);
            if prod != Prod::ConcJar {
                c.is_pb = true;
                c.batch = Batch::Num(self.next_batch());
            }
            c.sellable = true;
            kids.push(c);
        }
        pkgs.push(conc);
        pkgs.extend(kids);
        Family { pkgs, ..Family::default() }
    }

    /// One or two packages received from outside the export.
    pub(super) fn retail_family(&mut self) -> Family {
        let mut pkgs = Vec::new();
        for _ in 0..self.rng.range(1, 3) {
            let p = self.retail_pkg();
            pkgs.push(p);
        }
        Family { pkgs, ..Family::default() }
    }

    /// A finished product received from outside the export.
    pub(super) fn retail_pkg(&mut self) -> Pkg {
        let r = self.rng.f64();
        let (prod, unit, m) = if r < 0.3 {
            (Prod::Cart, Unit::Each, self.rng.range(20, 200) * 1000)
        } else if r < 0.5 {
            (Prod::Edible, Unit::Each, self.rng.range(24, 150) * 1000)
        } else if r < 0.65 {
            (Prod::Tincture, Unit::Milliliters, self.rng.range(5, 30) * 30_000)
        } else if r < 0.8 {
            (Prod::Jar35, Unit::Each, self.rng.range(12, 96) * 1000)
        } else {
            (Prod::FlowerG, Unit::Grams, self.rng.range(56, 900) * 500)
        };
        self.received_pkg(prod, unit, m)
    }

    /// The shipper's side of manifest `x`: the bulk package and the jars made from it,
    /// labelled as the manifest says.
    pub(super) fn shipper_family(&mut self, x: XferSpec) -> Family {
        let mut bulk =
            self.new_pkg(Prod::BulkFlower, x.strain, x.bulk_unit, x.bulk_orig_m, x.bulk_t);
        self.seq -= 1; // transfer packages have their own label range
        bulk.seq = x.bulk_seq;
        bulk.label = label_of(self.idx, x.bulk_seq);
        bulk.packaged = x.bulk_packaged.clone();
        bulk.harvest = Some(x.harvest.clone());
        bulk.drawn_m = x.bulk_drawn_m;
        bulk.t_last_child = x.jars.iter().map(|j| j.t).max().unwrap_or(x.bulk_t);
        let mut pkgs = vec![bulk];
        for j in &x.jars {
            let mut p = self.new_pkg(j.prod, x.strain, j.unit, j.m, j.t);
            self.seq -= 1;
            p.seq = j.seq;
            p.label = j.label.clone();
            p.packaged = j.packaged.clone();
            p.sources = vec![pkgs[0].label.clone()];
            p.is_pb = j.is_pb;
            p.batch = j.batch.clone().map_or(Batch::Null, Batch::Num);
            p.lab = Some("TestPassed");
            p.shipped = j.state == "Accepted" && !x.voided;
            p.t_last_child = x.t_dep;
            p.auto_adj = !p.shipped;
            pkgs.push(p);
        }
        Family { pkgs, receipts: Vec::new(), xfer: Some((Box::new(x), false)) }
    }

    /// The recipient's side of manifest `x`: the accepted packages, as received.
    pub(super) fn recipient_family(&mut self, x: Box<XferSpec>) -> Family {
        let mut pkgs = Vec::new();
        if !x.voided {
            let from = self.ctx.plan.licenses[x.s].clone();
            for j in x.jars.iter().filter(|j| j.state == "Accepted") {
                let (unit, m) = j.recv.expect("accepted packages have a received quantity");
                let mut p = self.new_pkg(j.prod, x.strain, unit, m, j.t);
                self.seq -= 1;
                p.seq = j.seq;
                p.label = j.label.clone();
                p.packaged = j.packaged.clone();
                p.sources = vec![label_of(x.s, x.bulk_seq)];
                p.is_pb = j.is_pb;
                p.batch = j.batch.clone().map_or(Batch::Null, Batch::Num);
                p.lab = Some("TestPassed");
                p.recv = Some(Recv {
                    t: x.t_received,
                    ts: x.received.clone().expect("received transfers have a time"),
                    manifest: x.manifest.clone(),
                    from: from.clone(),
                    from_name: facility_name(x.s),
                });
                p.sellable = true;
                pkgs.push(p);
            }
        }
        Family { pkgs, receipts: Vec::new(), xfer: Some((x, true)) }
    }
}

//! One license, generated alone from its own seed: [`gen_license`] streams families of
//! packages (clean ones, planted anomalies and transfers, in an order fixed by the plan)
//! into the license's writers and collects the truth they must produce. The helpers here
//! are the random choices every kind of family shares.

use std::fs;
use std::io::Write as _;

use anyhow::Result;

use super::catalog::{
    QType, R_DUPLICATE_PACKAGE, R_UNTESTED_SALE, ROOMS, TESTED_OK, USERS, facility_name, label_of,
};
use super::clock::{DAY, HOUR, Shape, Ts, US};
use super::model::Family;
use super::oracle::RejectRow;
use super::plan::{Ctx, Plant};
use super::rng::{Rng, mix};
use super::transfer::{XferSpec, make_transfer, push_transfer};
use super::writers::{CountSheet, RecWriter, Session};

/// Label numbers of the packages a license's data of month `m` (`--months`) holds start at
/// `(m - 1) ×` this when the license changed that month, so that a changed license's own
/// packages are new packages; the first month's start at 0, as a single data set's do.
pub(super) const VERSION_STRIDE: u64 = 1_000_000_000;

/// What one license wrote: its truth rows (rule, label, severity), the quantity types of
/// its significant-discrepancy rows (whose label is empty), the bad records it planted,
/// and how much.
pub(super) struct LicOut {
    pub(super) truth: Vec<(&'static str, String, &'static str)>,
    pub(super) significant: Vec<QType>,
    pub(super) rejects: Vec<RejectRow>,
    pub(super) packages: usize,
    pub(super) bytes: u64,
}

/// A license being generated: its random stream, label and id counters, writers, count
/// sheet, the truth found so far and the system and counted totals per quantity type.
pub(super) struct Lic<'a> {
    pub(super) ctx: &'a Ctx,
    pub(super) idx: usize,
    pub(super) rng: Rng,
    /// Last package number used (transfer packages have their own range).
    pub(super) seq: u64,
    /// Last number of a label that is in no export (see `stray_label`).
    pub(super) stray: u64,
    pub(super) receipt_seq: u64,
    pub(super) batch_seq: u64,
    pub(super) adj_id: u64,
    pub(super) pkg_w: RecWriter,
    pub(super) adj_w: RecWriter,
    pub(super) xfer_w: RecWriter,
    pub(super) sale_w: RecWriter,
    pub(super) hist_w: RecWriter,
    pub(super) sheet: Option<CountSheet>,
    /// Where no event is placed (see `Session::blackout`).
    pub(super) blackout: Option<(i64, i64)>,
    pub(super) truth: Vec<(&'static str, String, &'static str)>,
    /// Quantity types with a significant discrepancy, as their truth rows were written.
    pub(super) significant: Vec<QType>,
    pub(super) rejects: Vec<RejectRow>,
    pub(super) packages: usize,
    /// Quantities are written as JSON strings in this export.
    pub(super) qty_string: bool,
    /// `QuantityType` is written as a number in this export.
    pub(super) qtype_numeric: bool,
    /// As-of system quantity of the packages the count covers, per quantity type.
    pub(super) sys: [f64; 3],
    /// Counted quantity per quantity type.
    pub(super) cnt: [f64; 3],
    /// The record being written, reused so records do not allocate.
    pub(super) buf: String,
}

/// Generates license `i` of the plan, in its `version` (0, or the month it last changed
/// less one, with `--months`): another version draws from another seed and labels its own
/// packages from `version × VERSION_STRIDE`. Manifests between licenses do not depend on
/// the version, so the other licenses' data stays as it was.
pub(super) fn gen_license(ctx: &Ctx, i: usize, version: u64) -> Result<LicOut> {
    let mut lic = Lic::new(ctx, i, version)?;
    lic.generate()?;
    lic.finish()
}

/// What the generation loop does at a scheduled position.
enum Sched {
    Plant(Plant),
    Out(usize),
    In(Box<XferSpec>),
}

impl<'a> Lic<'a> {
    /// Opens license `idx`: its writers, its count sheet if it is counted, and the quirks
    /// of its export (quantities as strings, `QuantityType` as a number).
    fn new(ctx: &'a Ctx, idx: usize, version: u64) -> Result<Lic<'a>> {
        let plan = &ctx.plan;
        let mut seed = mix(plan.seed, 0x6c69_6300 + idx as u64);
        if version > 0 {
            seed = mix(seed, 0x7665_7273_0000 + version);
        }
        let first = version * VERSION_STRIDE;
        let mut rng = Rng::new(seed);
        let [pkg_w, adj_w, xfer_w, sale_w, hist_w] = open_writers(ctx, idx, seed, &mut rng)?;
        let mut blackout = None;
        let sheet = if plan.counted[idx] {
            let session = Session::new(&ctx.clock, plan.session[idx], &mut rng);
            blackout = session.blackout();
            Some(CountSheet::create(ctx, idx, session)?)
        } else {
            None
        };
        let qty_string = rng.chance(0.25);
        let qtype_numeric = rng.chance(0.3);
        Ok(Lic {
            ctx,
            idx,
            rng,
            seq: first,
            stray: first,
            receipt_seq: 0,
            batch_seq: 0,
            adj_id: 0,
            pkg_w,
            adj_w,
            xfer_w,
            sale_w,
            hist_w,
            sheet,
            blackout,
            truth: Vec::new(),
            significant: Vec::new(),
            rejects: Vec::new(),
            packages: 0,
            qty_string,
            qtype_numeric,
            sys: [0.0; 3],
            cnt: [0.0; 3],
            buf: String::with_capacity(4096),
        })
    }

    /// Clean families until the license has its share of packages, with each planted
    /// anomaly and transfer emitted when as many packages as its position are written.
    fn generate(&mut self) -> Result<()> {
        let n = self.ctx.plan.sizes[self.idx];
        let sched = self.schedule(n);
        let first = self.flower_family();
        self.emit(first)?;
        let mut it = sched.into_iter().peekable();
        loop {
            while it.peek().is_some_and(|(pos, _)| *pos as usize <= self.packages) {
                let (_, s) = it.next().expect("peeked");
                self.run_scheduled(s)?;
            }
            if self.packages >= n {
                break;
            }
            let r = self.rng.f64();
            let fam = if r < 0.55 {
                self.flower_family()
            } else if r < 0.9 {
                self.extract_family()
            } else {
                self.retail_family()
            };
            self.emit(fam)?;
        }
        for (_, s) in it {
            self.run_scheduled(s)?;
        }
        self.finish_counts()
    }

    /// A random position (in packages written) for each planted anomaly, each outgoing
    /// manifest and each manifest the two previous licenses ship here.
    fn schedule(&mut self, n: usize) -> Vec<(u64, Sched)> {
        let ctx = self.ctx;
        let plan = &ctx.plan;
        let mut sched: Vec<(u64, Sched)> = Vec::new();
        for &p in &plan.plants[self.idx] {
            sched.push((self.rng.below(n as u64), Sched::Plant(p)));
        }
        for k in 0..plan.t_out[self.idx] {
            sched.push((self.rng.below(n as u64), Sched::Out(k)));
        }
        let l = plan.licenses.len();
        let mut senders = vec![(self.idx + l - 1) % l, (self.idx + l - 2) % l];
        senders.retain(|&s| s != self.idx);
        senders.dedup();
        for s in senders {
            for k in 0..plan.t_out[s] {
                let x = make_transfer(ctx, s, k);
                if x.recipient == Some(self.idx) {
                    sched.push((self.rng.below(n as u64), Sched::In(Box::new(x))));
                }
            }
        }
        sched.sort_by_key(|(pos, _)| *pos);
        sched
    }

    /// Emits a scheduled family: a planted anomaly or one side of a manifest.
    fn run_scheduled(&mut self, s: Sched) -> Result<()> {
        match s {
            Sched::Plant(p) => self.plant(p),
            Sched::Out(k) => {
                let x = make_transfer(self.ctx, self.idx, k);
                let fam = self.shipper_family(x);
                self.emit(fam)
            }
            Sched::In(x) => {
                let fam = self.recipient_family(x);
                self.emit(fam)
            }
        }
    }

    /// Closes the writers and hands over what the license produced.
    fn finish(mut self) -> Result<LicOut> {
        let mut bytes = 0;
        for w in
            [&mut self.pkg_w, &mut self.adj_w, &mut self.xfer_w, &mut self.sale_w, &mut self.hist_w]
        {
            w.close()?;
            bytes += w.bytes;
        }
        if let Some(mut s) = self.sheet.take() {
            s.w.flush()?;
            bytes += s.bytes;
        }
        Ok(LicOut {
            truth: self.truth,
            significant: self.significant,
            rejects: self.rejects,
            packages: self.packages,
            bytes,
        })
    }

    /// Completes a family, then writes it and records the truth it must produce.
    pub(super) fn emit(&mut self, mut fam: Family) -> Result<()> {
        self.finalize(&mut fam);
        self.eval_lineage(&fam);
        let n = fam.pkgs.len();
        let mut sales: Vec<Vec<(i64, i64)>> = vec![Vec::new(); n];
        for r in &fam.receipts {
            for tx in &r.txs {
                sales[tx.pkg].push((r.sales.hi, tx.m));
            }
        }
        for (i, p) in fam.pkgs.iter().enumerate() {
            self.write_package(p, false)?;
            if p.dup {
                self.write_package(p, true)?;
                self.truth(R_DUPLICATE_PACKAGE, &p.label);
            }
            for a in &p.adjs {
                self.write_adj(p, a)?;
            }
            for h in &p.hist {
                self.write_hist(p, h)?;
            }
            if p.reject.is_none() {
                self.count_pkg(p, &sales[i])?;
            }
        }
        let mut sold = vec![false; n];
        for r in &fam.receipts {
            self.write_receipt(&fam, r)?;
            let mut seen: Vec<usize> = Vec::new();
            for tx in &r.txs {
                sold[tx.pkg] = true;
                if seen.contains(&tx.pkg) {
                    continue;
                }
                seen.push(tx.pkg);
                if let Some(rec) = &r.recorded {
                    self.eval_lag(&fam.pkgs[tx.pkg].label, &r.sales, rec);
                }
            }
        }
        for (i, p) in fam.pkgs.iter().enumerate() {
            if sold[i] && !p.lab.is_some_and(|s| TESTED_OK.contains(&s)) {
                self.truth(R_UNTESTED_SALE, &p.label);
            }
        }
        if let Some((x, at_recipient)) = &fam.xfer {
            let shipper = &self.ctx.plan.licenses[x.s];
            let shipper_name = facility_name(x.s);
            let mut b = std::mem::take(&mut self.buf);
            b.clear();
            push_transfer(&mut b, x, shipper, &shipper_name);
            self.xfer_w.push(&b)?;
            self.buf = b;
            if *at_recipient && !x.voided {
                self.eval_transfer(x);
            }
        }
        Ok(())
    }

    // ----- random choices shared by every kind of family

    pub(super) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A label of this license that no package in the export has.
    pub(super) fn stray_label(&mut self) -> String {
        self.stray += 1;
        label_of(self.idx, 900_000_000_000 + self.stray)
    }

    /// A new production batch number.
    pub(super) fn next_batch(&mut self) -> String {
        self.batch_seq += 1;
        format!("PB-{:05}-{:06}", self.idx + 1, self.batch_seq)
    }

    pub(super) fn user(&mut self) -> &'static str {
        USERS[self.rng.index(USERS.len())]
    }

    pub(super) fn render(&self, t: i64, shape: Shape) -> Ts {
        self.ctx.clock.render(t, shape)
    }

    /// Planted lags sit near the 24 h / 1 h limits, where the reading of a repeated
    /// local hour would matter: give those values an offset instead.
    pub(super) fn unambiguous(&self, t: i64, shape: Shape) -> Shape {
        if shape == Shape::Naive && self.ctx.clock.ambiguous(t) { Shape::Offset } else { shape }
    }

    /// A random instant in `lo..=hi`, sometimes inside a DST change window, never in the
    /// count blackout.
    pub(super) fn event_time(&mut self, lo: i64, hi: i64) -> i64 {
        let ctx = self.ctx;
        let tm = &ctx.times;
        let mut t = self.rng.range(lo / US, hi.max(lo) / US) * US;
        if self.rng.chance(0.03) {
            let w = if self.rng.chance(0.5) { tm.spring } else { tm.fall };
            let (a, b) = (w.0.max(lo), w.1.min(hi));
            if a < b {
                t = self.rng.range(a / US, b / US) * US;
            }
        }
        if let Some((_, b1)) = self.blackout.filter(|&(b0, b1)| t >= b0 && t <= b1) {
            t = b1 + self.rng.range(HOUR / US, 6 * HOUR / US) * US;
        }
        t
    }

    /// A packaging instant in `lo..=hi`, sometimes in the spring DST change window.
    pub(super) fn pack_time(&mut self, lo: i64, hi: i64) -> i64 {
        let ctx = self.ctx;
        let tm = &ctx.times;
        if self.rng.chance(0.03) && tm.spring.0 >= lo && tm.spring.1 <= hi {
            return self.rng.range(tm.spring.0 / US, tm.spring.1 / US) * US;
        }
        self.rng.range(lo / US, hi / US) * US
    }

    /// How a `PackagedDate` is written: mostly a date, sometimes a time.
    pub(super) fn pack_shape(&mut self) -> Shape {
        let r = self.rng.f64();
        if r < 0.8 {
            Shape::Date
        } else if r < 0.9 {
            Shape::Naive
        } else {
            Shape::Offset
        }
    }

    /// The name of a harvest a few days before `t`.
    pub(super) fn harvest_name(&mut self, t: i64) -> String {
        let back = self.rng.range(2, 9) * DAY;
        let d = self.render(t - back, Shape::Date);
        format!("{}-{}-H", d.text, ROOMS[self.rng.index(ROOMS.len())])
    }
}

/// The five record writers of license `idx` (packages, adjustments, transfers, sales,
/// history); three in ten are one file, the rest are paged at a size of their own.
fn open_writers(ctx: &Ctx, idx: usize, seed: u64, rng: &mut Rng) -> Result<[RecWriter; 5]> {
    let number = &ctx.plan.licenses[idx];
    let dir = ctx.root.join("export").join(number);
    fs::create_dir_all(&dir)?;
    let n = ctx.plan.sizes[idx];
    let page = |rng: &mut Rng, per_pkg: f64| -> usize {
        if rng.chance(0.3) {
            usize::MAX
        } else {
            let est = (n as f64 * per_pkg) as usize;
            rng.pick(&[300usize, 600, 1500, 5000]).max(est / 6)
        }
    };
    let sizes = [page(rng, 1.0), page(rng, 0.3), page(rng, 0.05), page(rng, 0.6), page(rng, 1.5)];
    let jsonl = ctx.jsonl;
    let w = |kind, k: usize, s| RecWriter::new(&dir, number, kind, jsonl, s, mix(seed, k as u64));
    Ok([
        w("packages", 1, sizes[0]),
        w("adjustments", 2, sizes[1]),
        w("transfers", 3, sizes[2]),
        w("sales", 4, sizes[3]),
        w("history", 5, sizes[4]),
    ])
}

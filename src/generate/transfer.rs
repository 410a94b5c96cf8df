//! Transfers between licenses. A manifest is generated from its own seed
//! ([`make_transfer`]) so the shipper and the recipient, generated in parallel, build the
//! same one; [`push_transfer`] writes it as Metrc's transfer record.

use std::fmt::Write as _;

use super::catalog::{
    Prod, ROOMS, STRAINS, USERS, Unit, base, facility_name, label_of, license_number, to_m,
};
use super::clock::{Clock, DAY, HOUR, MINUTE, SENTINEL, Shape, Ts};
use super::plan::{Ctx, XPlant};
use super::rng::{Rng, mix};
use super::writers::{push_json_str, push_opt_str, push_qty};

/// One package of a manifest (`recv`: the received unit and quantity when accepted).
#[derive(Clone, Debug)]
pub(super) struct XJar {
    pub(super) seq: u64,
    pub(super) label: String,
    pub(super) prod: Prod,
    pub(super) unit: Unit,
    pub(super) m: i64,
    pub(super) t: i64,
    pub(super) packaged: Ts,
    pub(super) state: &'static str,
    pub(super) recv: Option<(Unit, i64)>,
    pub(super) is_pb: bool,
    pub(super) batch: Option<String>,
}

/// One manifest, generated from its own seed so shipper and recipient agree on it.
#[derive(Clone, Debug)]
pub(super) struct XferSpec {
    /// The shipping license.
    pub(super) s: usize,
    /// The receiving license, `None` for a facility outside the export.
    pub(super) recipient: Option<usize>,
    pub(super) recipient_license: String,
    pub(super) recipient_name: String,
    pub(super) manifest: String,
    pub(super) id: u64,
    pub(super) created: Ts,
    pub(super) est_dep: Ts,
    pub(super) act_dep: Option<Ts>,
    pub(super) est_arr: Ts,
    pub(super) act_arr: Option<Ts>,
    pub(super) received: Option<Ts>,
    pub(super) t_received: i64,
    pub(super) t_dep: i64,
    pub(super) modified: Option<Ts>,
    pub(super) voided: bool,
    pub(super) strain: usize,
    pub(super) harvest: String,
    pub(super) bulk_seq: u64,
    pub(super) bulk_unit: Unit,
    pub(super) bulk_orig_m: i64,
    pub(super) bulk_drawn_m: i64,
    pub(super) bulk_t: i64,
    pub(super) bulk_packaged: Ts,
    pub(super) jars: Vec<XJar>,
    pub(super) driver: &'static str,
}

/// When a manifest travelled: departure, arrival as reported, receipt and last change.
struct Trip {
    dep: i64,
    act_arr: Option<Ts>,
    est_arr_t: i64,
    received: i64,
    modified: Option<Ts>,
}

/// The `k`-th manifest shipped by license `s`, with the anomaly the plan gave it.
pub(super) fn make_transfer(ctx: &Ctx, s: usize, k: usize) -> XferSpec {
    let plan = &ctx.plan;
    let c = &ctx.clock;
    let tm = &ctx.times;
    let mut rng = Rng::new(mix(mix(plan.seed, 0x7866_6572), ((s as u64) << 32) | k as u64));
    let plant = plan.xplants.get(&(s, k)).copied().unwrap_or(XPlant::None);
    let recipient = pick_recipient(&mut rng, plan.licenses.len(), s, plant);
    let ext = 9_000_000 + rng.below(900) as usize;
    let (recipient_license, recipient_name) = match recipient {
        Some(r) => (plan.licenses[r].clone(), facility_name(r)),
        None => (license_number(ext), facility_name(ext)),
    };
    let voided = plant == XPlant::None && rng.chance(0.05);
    let strain = rng.index(STRAINS.len());
    let t0 = rng.range(tm.pack_start, tm.xfer_end - 20 * DAY);
    let bulk_unit = if rng.chance(0.5) { Unit::Pounds } else { Unit::Grams };
    let bulk_orig_m = if bulk_unit == Unit::Pounds {
        rng.range(3, 10) * 1000 + rng.range(0, 99) * 10
    } else {
        rng.range(1500, 4500) * 1000
    };
    let bulk_packaged = c.render(t0, Shape::Date);
    let (jars, bulk_drawn_m) = make_jars(c, &mut rng, s, k, t0, (bulk_unit, bulk_orig_m), plant);
    let last_jar = jars.iter().map(|j| j.t).max().unwrap_or(t0);
    let trip = make_trip(c, &mut rng, plant, voided || recipient.is_none(), last_jar);
    XferSpec {
        s,
        recipient,
        recipient_license,
        recipient_name,
        manifest: format!("{:010}", (s as u64 + 1) * 10_000_000 + k as u64),
        id: (s as u64 + 1) * 10_000_000 + k as u64,
        created: c.render(trip.dep - rng.range(DAY, 3 * DAY), Shape::Offset),
        est_dep: c.render(trip.dep - rng.range(0, HOUR), Shape::Naive),
        act_dep: rng
            .chance(0.9)
            .then(|| c.render(trip.dep, rng.pick(&[Shape::Naive, Shape::Offset]))),
        est_arr: c.render(trip.est_arr_t, Shape::Naive),
        act_arr: trip.act_arr,
        received: Some(c.render(trip.received, Shape::Offset)),
        t_received: trip.received,
        t_dep: trip.dep,
        modified: trip.modified,
        voided,
        strain,
        harvest: format!(
            "{}-{}-H",
            c.render(t0 - 3 * DAY, Shape::Date).text,
            ROOMS[rng.index(ROOMS.len())]
        ),
        bulk_seq: base_seq(k),
        bulk_unit,
        bulk_orig_m,
        bulk_drawn_m,
        bulk_t: t0,
        bulk_packaged,
        jars,
        driver: USERS[rng.index(USERS.len())],
    }
}

/// Manifest `k`'s packages are numbered after its bulk package, in their own label range.
fn base_seq(k: usize) -> u64 {
    500_000_000_000 + k as u64 * 100
}

/// One of the next two licenses, or (one clean manifest in ten, and always with a single
/// license) a facility outside the export.
fn pick_recipient(rng: &mut Rng, l: usize, s: usize, plant: XPlant) -> Option<usize> {
    let mut internal: Vec<usize> = vec![(s + 1) % l, (s + 2) % l];
    internal.retain(|&r| r != s);
    internal.dedup();
    if internal.is_empty() || (plant == XPlant::None && rng.chance(0.1)) {
        None
    } else {
        Some(internal[rng.index(internal.len())])
    }
}

/// The jars packaged from the bulk (at most 80 % of it) and the bulk quantity they draw.
fn make_jars(
    c: &Clock,
    rng: &mut Rng,
    s: usize,
    k: usize,
    t0: i64,
    (bulk_unit, bulk_orig_m): (Unit, i64),
    plant: XPlant,
) -> (Vec<XJar>, i64) {
    let base_seq = base_seq(k);
    let cap = base(bulk_orig_m, bulk_unit) * 0.8;
    let mut used = 0.0;
    let mut jars = Vec::new();
    let n_jars = rng.range(2, 5) as usize;
    let mut bulk_drawn_m = 0;
    let mismatch_target = if plant == XPlant::Mismatch { Some(0) } else { None };
    for j in 0..n_jars {
        let prod = rng.pick(&[Prod::FlowerG, Prod::FlowerOz, Prod::Jar35, Prod::PreRoll]);
        let (unit, m, draw) = jar_quantity(rng, prod);
        if used + draw > cap {
            break;
        }
        used += draw;
        bulk_drawn_m += to_m(draw, bulk_unit);
        let t = t0 + 2 * HOUR + rng.range(0, 3 * DAY);
        let shape = if rng.chance(0.85) { Shape::Date } else { Shape::Offset };
        let is_pb = prod == Prod::PreRoll;
        let seq = base_seq + 1 + j as u64;
        let state =
            if mismatch_target != Some(j) && rng.chance(0.08) { "Rejected" } else { "Accepted" };
        let mut recv = None;
        if state == "Accepted" {
            recv = Some(if mismatch_target == Some(j) {
                mismatched_quantity(rng, unit, m)
            } else {
                received_quantity(rng, unit, m)
            });
        }
        jars.push(XJar {
            seq,
            label: label_of(s, seq),
            prod,
            unit,
            m,
            t,
            packaged: c.render(t, shape),
            state,
            recv,
            is_pb,
            batch: is_pb.then(|| format!("PB-{}-X{k}-{j}", s + 1)),
        });
    }
    if jars.is_empty() {
        // the bulk is always large enough for one jar of 28 g; keep the manifest non-empty
        let seq = base_seq + 1;
        let t = t0 + 3 * HOUR;
        bulk_drawn_m += to_m(28.0, bulk_unit);
        jars.push(XJar {
            seq,
            label: label_of(s, seq),
            prod: Prod::FlowerG,
            unit: Unit::Grams,
            m: 28_000,
            t,
            packaged: c.render(t, Shape::Date),
            state: "Accepted",
            recv: Some((Unit::Grams, 28_000)),
            is_pb: false,
            batch: None,
        });
    }
    (jars, bulk_drawn_m)
}

/// A jar's unit and shipped quantity, and the base units it draws from the bulk.
fn jar_quantity(rng: &mut Rng, prod: Prod) -> (Unit, i64, f64) {
    match prod {
        Prod::FlowerG => {
            let m = rng.range(56, 900) * 500;
            (Unit::Grams, m, m as f64 / 1000.0)
        }
        Prod::FlowerOz => {
            let m = rng.range(4, 16) * 1000;
            (Unit::Ounces, m, base(m, Unit::Ounces))
        }
        Prod::Jar35 => {
            let m = rng.range(12, 60) * 1000;
            (Unit::Each, m, m as f64 / 1000.0 * 3.5)
        }
        _ => {
            let m = rng.range(20, 100) * 1000;
            (Unit::Each, m, m as f64 / 1000.0)
        }
    }
}

/// A received quantity that differs from the shipped `m` beyond tolerance.
fn mismatched_quantity(rng: &mut Rng, unit: Unit, m: i64) -> (Unit, i64) {
    let r = rng.f64();
    match unit {
        // the same number in another quantity type is a mismatch too
        Unit::Each if r < 0.2 => (Unit::Grams, m),
        Unit::Grams if r < 0.2 => (Unit::Each, m),
        Unit::Each => {
            if r < 0.45 {
                (Unit::Grams, m / 1000 * 3500)
            } else {
                (unit, m - rng.range(1, 3) * 1000)
            }
        }
        _ => {
            if r < 0.4 {
                (Unit::Each, rng.range(8, 40) * 1000)
            } else {
                let short = ((m as f64) * (0.03 + 0.07 * rng.f64())) as i64;
                let short = short.max(to_m(1.5, unit));
                (unit, m - short / 10 * 10)
            }
        }
    }
}

/// A received quantity that matches the shipped `m`, as written in varied ways.
fn received_quantity(rng: &mut Rng, unit: Unit, m: i64) -> (Unit, i64) {
    if unit != Unit::Each && rng.chance(0.12) {
        // same quantity, other unit of the same type (lb/oz -> g): within tolerance
        let g = (base(m, unit) * 100.0).round() as i64 * 10;
        (Unit::Grams, g)
    } else if unit == Unit::Grams && rng.chance(0.1) {
        (unit, m + rng.pick(&[-200, -100, 100, 200]))
    } else {
        (unit, m)
    }
}

/// Departure a day or more after the last jar, arrival hours later, and the receipt: late
/// or early as planted, else prompt. An `unchecked` manifest (voided, or to a facility
/// outside the export) is received late half the time: no lag finding may come of it.
fn make_trip(c: &Clock, rng: &mut Rng, plant: XPlant, unchecked: bool, last_jar: i64) -> Trip {
    let dep = last_jar + DAY + rng.range(0, 4 * DAY);
    let arr = dep + HOUR + rng.range(0, 5 * HOUR);
    let late = plant == XPlant::Late || (plant == XPlant::None && rng.chance(0.5));
    let received = match plant {
        XPlant::Late => arr + rng.range(26 * HOUR, 120 * HOUR),
        XPlant::Early => arr - rng.range(2 * HOUR, 10 * HOUR),
        _ if unchecked && late => arr + rng.range(30 * HOUR, 90 * HOUR),
        _ => arr + rng.range(18 * MINUTE, 18 * HOUR),
    };
    let need_actual = plant != XPlant::None;
    let act_arr = if need_actual || rng.chance(0.8) {
        let shape = if need_actual {
            Shape::Offset
        } else {
            rng.pick(&[Shape::Naive, Shape::Offset, Shape::Zulu])
        };
        Some(c.render(arr, shape))
    } else {
        None
    };
    let est_arr_t = if act_arr.is_some() {
        arr + rng.range(-2 * HOUR, 2 * HOUR)
    } else {
        arr + rng.range(-15 * MINUTE, 15 * MINUTE)
    };
    let modified = if rng.chance(0.3) {
        None
    } else {
        Some(c.render(received + rng.range(MINUTE, 3 * HOUR), Shape::Micros))
    };
    Trip { dep, act_arr, est_arr_t, received, modified }
}

/// Writes manifest `x` as shipped by `shipper` (the record is the same at both ends).
pub(super) fn push_transfer(b: &mut String, x: &XferSpec, shipper: &str, shipper_name: &str) {
    let _ = write!(b, "{{\"Id\":{},\"ManifestNumber\":", x.id);
    push_json_str(b, &x.manifest);
    b.push_str(",\"ShipmentLicenseType\":0,\"ShipperFacilityLicenseNumber\":");
    push_json_str(b, shipper);
    b.push_str(",\"ShipperFacilityName\":");
    push_json_str(b, shipper_name);
    b.push_str(",\"TransporterFacilityLicenseNumber\":");
    push_json_str(b, shipper);
    b.push_str(",\"DriverName\":");
    push_json_str(b, x.driver);
    let accepted = x.jars.iter().filter(|j| j.state == "Accepted").count();
    let _ = write!(
        b,
        ",\"VehicleMake\":\"Ford\",\"VehicleModel\":\"Transit\",\"PackageCount\":{},\
         \"ReceivedPackageCount\":{accepted},\"IsVoided\":{},\"CreatedDateTime\":",
        x.jars.len(),
        x.voided
    );
    push_json_str(b, &x.created.text);
    b.push_str(",\"CreatedByUserName\":");
    push_json_str(b, x.driver);
    b.push_str(",\"LastModified\":");
    push_json_str(b, x.modified.as_ref().map_or(SENTINEL, |t| t.text.as_str()));
    let _ = write!(b, ",\"DeliveryId\":{},\"RecipientFacilityLicenseNumber\":", x.id);
    push_json_str(b, &x.recipient_license);
    b.push_str(",\"RecipientFacilityName\":");
    push_json_str(b, &x.recipient_name);
    b.push_str(
        ",\"ShipmentTypeName\":\"Transfer\",\"ShipmentTransactionType\":\"Wholesale\",\
         \"EstimatedDepartureDateTime\":",
    );
    push_json_str(b, &x.est_dep.text);
    b.push_str(",\"ActualDepartureDateTime\":");
    push_opt_str(b, x.act_dep.as_ref().map(|t| t.text.as_str()));
    b.push_str(",\"EstimatedArrivalDateTime\":");
    push_json_str(b, &x.est_arr.text);
    b.push_str(",\"ActualArrivalDateTime\":");
    push_opt_str(b, x.act_arr.as_ref().map(|t| t.text.as_str()));
    let _ = write!(
        b,
        ",\"DeliveryPackageCount\":{},\"DeliveryReceivedPackageCount\":{accepted},\
         \"ReceivedDateTime\":",
        x.jars.len()
    );
    push_opt_str(b, x.received.as_ref().map(|t| t.text.as_str()));
    b.push_str(",\"Packages\":[");
    let bulk_label = label_of(x.s, x.bulk_seq);
    for (i, j) in x.jars.iter().enumerate() {
        if i > 0 {
            b.push(',');
        }
        let _ = write!(b, "{{\"PackageId\":{},\"PackageLabel\":", j.seq);
        push_json_str(b, &j.label);
        b.push_str(
            ",\"PackageType\":\"Product\",\"SourceHarvestNames\":null,\"SourcePackageLabels\":",
        );
        push_json_str(b, &bulk_label);
        b.push_str(",\"ItemName\":");
        push_json_str(b, &format!("{} - {}", STRAINS[x.strain], j.prod.suffix()));
        b.push_str(",\"ItemCategoryName\":");
        push_json_str(b, j.prod.category());
        b.push_str(",\"ItemStrainName\":");
        push_json_str(b, STRAINS[x.strain]);
        b.push_str(",\"LabTestingState\":\"TestPassed\",\"ProductionBatchNumber\":");
        push_opt_str(b, j.batch.as_deref());
        b.push_str(",\"ShipmentPackageState\":");
        push_json_str(b, j.state);
        b.push_str(",\"ShippedQuantity\":");
        push_qty(b, j.m, true);
        b.push_str(",\"ShippedUnitOfMeasureName\":");
        push_json_str(b, j.unit.name());
        b.push_str(",\"PackagedDate\":");
        push_json_str(b, &j.packaged.text);
        b.push_str(",\"ReceivedQuantity\":");
        match j.recv {
            Some((u, m)) => {
                push_qty(b, m, true);
                b.push_str(",\"ReceivedUnitOfMeasureName\":");
                push_json_str(b, u.name());
            }
            None => b.push_str("null,\"ReceivedUnitOfMeasureName\":null"),
        }
        b.push('}');
    }
    b.push_str("]}");
}

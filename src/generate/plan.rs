//! The plan: everything decided before licenses are generated in parallel (license
//! sizes, which license is not counted, which anomalies go where, the transfers between
//! licenses), so each license can be generated alone and still agree with the others.
//! [`Ctx`] is the read-only state every license shares.

use std::collections::HashMap;
use std::path::PathBuf;

use super::GenerateOptions;
use super::catalog::{QTYPES, QType, license_number};
use super::clock::{Clock, Times};
use super::rng::{Rng, mix};

/// A kind of planted anomaly (or near miss, `Edge*`; or bad record, `Rej*`), each planted
/// as a self-contained family of packages.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Plant {
    MissingInSystem,
    MissingOnPremises,
    Mismatch,
    UnitIncompat,
    DuplicateCount,
    HistoryLate,
    SaleLate,
    HistoryBefore,
    SaleBefore,
    Orphan,
    Cycle3,
    SelfLoop,
    ChildBeforeParent,
    Overdrawn,
    MissingPb,
    UnneededPb,
    MissingBatchNo,
    UntestedSale,
    AdjNoNote,
    DuplicatePackage,
    EdgeOverdrawSaved,
    EdgeSameDay,
    EdgeCountDayAdj,
    EdgeHistory,
    DivergentDstLate,
    DivergentPackagedAfterCount,
    RejPkgQty,
    RejPkgNaN,
    RejPkgLabel,
    RejAdjDate,
    RejHistType,
    RejCountQty,
}

/// What is wrong with a planted transfer between licenses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum XPlant {
    None,
    Late,
    Early,
    Mismatch,
}

/// The shape of a license's `CountedAt` values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum SessShape {
    DateOnly,
    Naive,
    Offset,
    Zulu,
}

/// The plan of a run; vectors are indexed by license.
pub(super) struct Plan {
    pub(super) seed: u64,
    /// License numbers.
    pub(super) licenses: Vec<String>,
    /// Packages to generate.
    pub(super) sizes: Vec<usize>,
    /// Whether the license has a count sheet (all but one, with two or more licenses).
    pub(super) counted: Vec<bool>,
    /// Manifests the license ships.
    pub(super) t_out: Vec<usize>,
    pub(super) plants: Vec<Vec<Plant>>,
    /// Planted manifests by `(shipper, k)`.
    pub(super) xplants: HashMap<(usize, usize), XPlant>,
    /// The quantity type whose count total is planted to differ significantly.
    pub(super) sig: Vec<Option<QType>>,
    pub(super) session: Vec<SessShape>,
    /// The license whose count sheet has a BOM and CRLF line ends.
    pub(super) bom: Option<usize>,
    /// The license whose count sheet has no license column.
    pub(super) no_license_col: Option<usize>,
}

/// An index drawn with probability proportional to its weight; `None` if all are zero.
fn weighted_pick(rng: &mut Rng, weights: &[usize]) -> Option<usize> {
    let total: usize = weights.iter().sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.index(total);
    for (i, &w) in weights.iter().enumerate() {
        if r < w {
            return Some(i);
        }
        r -= w;
    }
    None
}

impl Plan {
    /// The plan of `opts`, drawn from one random stream in a fixed order.
    pub(super) fn new(opts: &GenerateOptions) -> Plan {
        let l = opts.licenses;
        let n = opts.packages;
        let mut rng = Rng::new(mix(opts.seed, 0x706c_616e));
        let sizes = license_sizes(&mut rng, l, n);
        let mut counted = vec![true; l];
        if l >= 2 {
            counted[rng.index(l)] = false;
        }
        let t_out: Vec<usize> =
            sizes.iter().map(|&s| if l >= 2 { (s / 80).max(1) } else { 0 }).collect();
        let session: Vec<SessShape> = (0..l)
            .map(|i| {
                [SessShape::DateOnly, SessShape::Naive, SessShape::Offset, SessShape::Zulu]
                    [(i + opts.seed as usize % 4) % 4]
            })
            .collect();
        let counted_ix: Vec<usize> = (0..l).filter(|&i| counted[i]).collect();
        let (bom, no_license_col) = sheet_quirks(&mut rng, &counted_ix);

        let k = ((n as f64 / 500.0).round() as usize).max(1);
        let counted_sizes: Vec<usize> =
            (0..l).map(|i| if counted[i] { sizes[i] } else { 0 }).collect();
        let mut plants: Vec<Vec<Plant>> = vec![Vec::new(); l];
        for (p, count, needs_counts) in wanted_plants(k, n, l) {
            let weights = if needs_counts { &counted_sizes } else { &sizes };
            for _ in 0..count {
                if let Some(i) = weighted_pick(&mut rng, weights) {
                    plants[i].push(p);
                }
            }
        }
        let xplants = if l >= 2 { assign_xplants(&mut rng, &t_out, k) } else { HashMap::new() };
        let sig = pick_significant(&mut rng, l, &counted_ix);

        Plan {
            seed: opts.seed,
            licenses: (0..l).map(license_number).collect(),
            sizes,
            counted,
            t_out,
            plants,
            xplants,
            sig,
            session,
            bom,
            no_license_col,
        }
    }
}

/// Packages per license: uneven (weights 0.35 to 2), at least one each, `n` in all.
fn license_sizes(rng: &mut Rng, l: usize, n: usize) -> Vec<usize> {
    let w: Vec<f64> = (0..l).map(|_| 0.35 + 1.65 * rng.f64()).collect();
    let sum: f64 = w.iter().sum();
    let mut sizes: Vec<usize> = w.iter().map(|x| ((n as f64 * x / sum) as usize).max(1)).collect();
    let total: usize = sizes.iter().sum();
    if total < n {
        let big = (0..l).max_by_key(|&i| sizes[i]).unwrap_or(0);
        sizes[big] += n - total;
    }
    sizes
}

/// The counted license whose sheet has a BOM (and CRLF) and, when there are two or more
/// counted licenses, another one whose sheet has no license column.
fn sheet_quirks(rng: &mut Rng, counted_ix: &[usize]) -> (Option<usize>, Option<usize>) {
    let bom = counted_ix.get(rng.index(counted_ix.len())).copied();
    let no_license_col = if counted_ix.len() >= 2 {
        let mut c = bom;
        while c == bom {
            c = Some(counted_ix[rng.index(counted_ix.len())]);
        }
        c
    } else {
        None
    };
    (bom, no_license_col)
}

/// How many of each anomaly `n` packages over `l` licenses get (`k` = one per 500
/// packages), and whether it needs a counted license.
fn wanted_plants(k: usize, n: usize, l: usize) -> Vec<(Plant, usize, bool)> {
    let third = k.div_ceil(3);
    let half = k.div_ceil(2);
    let edges = (n / 2000).max(1);
    let divergent = 1 + n / 100_000;
    let rejects = 1 + n / 50_000;
    // late and early transfers stand in for some of the lag plants
    let xfer_third = if l >= 2 { third } else { 0 };
    let mut wanted: Vec<(Plant, usize, bool)> = vec![
        (Plant::MissingInSystem, k, true),
        (Plant::MissingOnPremises, k, true),
        (Plant::Mismatch, k, true),
        (Plant::UnitIncompat, k, true),
        (Plant::DuplicateCount, k, true),
        (Plant::SaleLate, third, false),
        (Plant::HistoryLate, k.saturating_sub(third + xfer_third).max(1), false),
        (Plant::SaleBefore, third, false),
        (Plant::HistoryBefore, k.saturating_sub(third + xfer_third).max(1), false),
        (Plant::Orphan, k, false),
        (Plant::Cycle3, half, false),
        (Plant::SelfLoop, k.saturating_sub(half).max(1), false),
        (Plant::ChildBeforeParent, k, false),
        (Plant::Overdrawn, k, false),
        (Plant::MissingPb, k, false),
        (Plant::UnneededPb, k, false),
        (Plant::MissingBatchNo, k, false),
        (Plant::UntestedSale, k, false),
        (Plant::AdjNoNote, k, false),
        (Plant::DuplicatePackage, k, false),
        (Plant::EdgeOverdrawSaved, edges, false),
        (Plant::EdgeSameDay, edges, false),
        (Plant::EdgeCountDayAdj, edges, true),
        (Plant::EdgeHistory, edges, false),
        (Plant::DivergentDstLate, divergent, false),
        (Plant::DivergentPackagedAfterCount, divergent, true),
    ];
    for p in [
        Plant::RejPkgQty,
        Plant::RejPkgNaN,
        Plant::RejPkgLabel,
        Plant::RejAdjDate,
        Plant::RejHistType,
    ] {
        wanted.push((p, rejects, false));
    }
    wanted.push((Plant::RejCountQty, rejects, true));
    wanted
}

/// Which outgoing transfers (`(shipper, k)`, `k < t_out[shipper]`) carry an anomaly.
fn assign_xplants(rng: &mut Rng, t_out: &[usize], k: usize) -> HashMap<(usize, usize), XPlant> {
    let third = k.div_ceil(3);
    let mut xplants = HashMap::new();
    let mut free: Vec<(usize, usize)> =
        (0..t_out.len()).flat_map(|s| (0..t_out[s]).map(move |k| (s, k))).collect();
    for (x, count) in [(XPlant::Mismatch, k), (XPlant::Late, third), (XPlant::Early, third)] {
        for _ in 0..count {
            if free.is_empty() {
                break;
            }
            let j = rng.index(free.len());
            xplants.insert(free.swap_remove(j), x);
        }
    }
    xplants
}

/// The counted licenses (one in eight, at least one) whose counts are planted to differ
/// significantly in total, and in which quantity type.
fn pick_significant(rng: &mut Rng, l: usize, counted_ix: &[usize]) -> Vec<Option<QType>> {
    let mut sig = vec![None; l];
    let n_sig = (counted_ix.len() / 8).max(1).min(counted_ix.len());
    let mut pool = counted_ix.to_vec();
    for _ in 0..n_sig {
        let j = rng.index(pool.len());
        let i = pool.swap_remove(j);
        sig[i] = Some(rng.pick(&QTYPES));
    }
    sig
}

/// What every license reads: the plan, the clock and calendar, where to write, and how.
pub(super) struct Ctx {
    pub(super) plan: Plan,
    pub(super) clock: Clock,
    pub(super) times: Times,
    pub(super) root: PathBuf,
    pub(super) jsonl: bool,
}

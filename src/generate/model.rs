//! The model of one family of packages, closed under lineage: every source of a package
//! is in its family or is deliberately foreign. A family is generated, completed
//! (`finalize`), written and checked as one unit, which is what keeps truth exact.
//! Quantities named `m` or `*_m` are thousandths of the package's unit.

use super::catalog::{Prod, STRAINS, Unit};
use super::clock::Ts;
use super::transfer::XferSpec;

/// `ProductionBatchNumber` as written: a number or one of the blank forms.
#[derive(Clone, Debug)]
pub(super) enum Batch {
    Num(String),
    Null,
    Empty,
    Spaces,
}

impl Batch {
    pub(super) fn blank(&self) -> bool {
        !matches!(self, Batch::Num(_))
    }
}

/// Where a package was received from (a manifest of another license or distributor).
#[derive(Clone, Debug)]
pub(super) struct Recv {
    pub(super) t: i64,
    pub(super) ts: Ts,
    pub(super) manifest: String,
    pub(super) from: String,
    pub(super) from_name: String,
}

/// `AdjustmentNote` as written; all but `Text` count as no note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Note {
    Text(&'static str),
    Empty,
    Null,
    Spaces,
    Missing,
}

/// A quantity adjustment (`bad_date`: written with an unparseable date, a planted reject).
#[derive(Clone, Debug)]
pub(super) struct Adj {
    pub(super) m: i64,
    pub(super) t: i64,
    pub(super) ts: Ts,
    pub(super) reason: &'static str,
    pub(super) note: Note,
    pub(super) bad_date: bool,
    pub(super) user: &'static str,
}

/// `RecordedDateTime` of a history entry: a time, or a planted value of the wrong JSON type.
#[derive(Clone, Debug)]
pub(super) enum HistRec {
    Ts(Ts),
    BadNumber,
    BadObject,
}

/// A package history entry: when it happened, when it was recorded, what and by whom.
#[derive(Clone, Debug)]
pub(super) struct Hist {
    pub(super) actual: Ts,
    pub(super) recorded: HistRec,
    pub(super) desc: String,
    pub(super) user: &'static str,
}

/// How a package appears on its license's count sheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CountPlan {
    Normal,
    Skip,
    Mismatch(i64),
    UnitIncompat,
    Duplicate,
    ForceRow(Unit, i64),
}

/// What makes a package record a planted bad record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum PkgReject {
    BadQty(&'static str, &'static str),
    NoLabel(u8),
}

/// A package and everything the export says about it.
#[derive(Clone, Debug)]
pub(super) struct Pkg {
    pub(super) seq: u64,
    pub(super) label: String,
    pub(super) prod: Prod,
    pub(super) strain: usize,
    pub(super) unit: Unit,
    pub(super) orig_m: i64,
    /// Taken out by the packages made from this one.
    pub(super) drawn_m: i64,
    /// The export's `Quantity`, set by `finalize`.
    pub(super) qty_m: i64,
    pub(super) t_pack: i64,
    pub(super) packaged: Ts,
    /// When the last package made from this one was packaged (or it was shipped).
    pub(super) t_last_child: i64,
    pub(super) sources: Vec<String>,
    pub(super) harvest: Option<String>,
    pub(super) is_pb: bool,
    pub(super) batch: Batch,
    pub(super) lab: Option<&'static str>,
    pub(super) recv: Option<Recv>,
    /// Shipped to another license: empty here, no sales or adjustments.
    pub(super) shipped: bool,
    pub(super) finished: Option<Ts>,
    pub(super) location: &'static str,
    pub(super) adjs: Vec<Adj>,
    pub(super) hist: Vec<Hist>,
    pub(super) count: CountPlan,
    /// Written twice (a planted duplicate).
    pub(super) dup: bool,
    pub(super) reject: Option<PkgReject>,
    pub(super) sellable: bool,
    /// `finalize` may add random adjustments.
    pub(super) auto_adj: bool,
    /// `finalize` may add random sales.
    pub(super) random_sales: bool,
    pub(super) modified: Option<Ts>,
    /// Empty dates are written as Metrc's sentinel date rather than null.
    pub(super) sentinels: bool,
}

impl Pkg {
    /// When the package is on hand: packaged, and received if it came from elsewhere.
    pub(super) fn t_ready(&self) -> i64 {
        self.recv.as_ref().map_or(self.t_pack, |r| r.t.max(self.t_pack))
    }

    pub(super) fn category(&self) -> &'static str {
        self.prod.category()
    }

    pub(super) fn item_name(&self) -> String {
        format!("{} - {}", STRAINS[self.strain], self.prod.suffix())
    }
}

/// One line of a receipt: `m` of package `pkg` (an index into the family).
#[derive(Clone, Debug)]
pub(super) struct Tx {
    pub(super) pkg: usize,
    pub(super) m: i64,
}

/// A sales receipt (`recorded`: `None` is written as the sentinel date).
#[derive(Clone, Debug)]
pub(super) struct Receipt {
    pub(super) t: i64,
    pub(super) sales: Ts,
    pub(super) recorded: Option<Ts>,
    pub(super) txs: Vec<Tx>,
}

/// Packages that are generated and checked together, their receipts and, for a transfer,
/// the manifest (and whether this family is the recipient's side of it).
#[derive(Default)]
pub(super) struct Family {
    pub(super) pkgs: Vec<Pkg>,
    pub(super) receipts: Vec<Receipt>,
    pub(super) xfer: Option<(Box<XferSpec>, bool)>,
}

impl Family {
    /// A family of one package.
    pub(super) fn one(p: Pkg) -> Family {
        Family { pkgs: vec![p], ..Family::default() }
    }
}

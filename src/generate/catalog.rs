//! The generator's vocabulary: SPEC section 3 rule ids and their default severities, lab
//! states, quantity types, units, products and the names of strains, users, rooms,
//! facilities and labels. A leaf: it imports no other generator module but `rng`.

use super::rng::mix;

// Rule ids (SPEC section 3)

pub(super) const R_MISSING_IN_SYSTEM: &str = "count.missing_in_system";
pub(super) const R_MISSING_ON_PREMISES: &str = "count.missing_on_premises";
pub(super) const R_QUANTITY_MISMATCH: &str = "count.quantity_mismatch";
pub(super) const R_UNIT_INCOMPATIBLE: &str = "count.unit_incompatible";
pub(super) const R_DUPLICATE_COUNT: &str = "count.duplicate_count";
pub(super) const R_SIGNIFICANT: &str = "count.significant_discrepancy";
pub(super) const R_LATE: &str = "lag.late_entry";
pub(super) const R_BEFORE: &str = "lag.recorded_before_occurred";
pub(super) const R_ORPHAN: &str = "lineage.orphan_source";
pub(super) const R_CYCLE: &str = "lineage.cycle";
pub(super) const R_CHILD_BEFORE_PARENT: &str = "lineage.child_before_parent";
pub(super) const R_OVERDRAWN: &str = "lineage.overdrawn_source";
pub(super) const R_MISSING_PB: &str = "lineage.missing_production_batch";
pub(super) const R_UNNEEDED_PB: &str = "lineage.unneeded_production_batch";
pub(super) const R_MISSING_BATCH_NO: &str = "lineage.missing_batch_number";
pub(super) const R_UNTESTED_SALE: &str = "lineage.untested_sale";
pub(super) const R_ACCEPTED_MISMATCH: &str = "transfer.accepted_quantity_mismatch";
pub(super) const R_ADJ_NO_NOTE: &str = "record.adjustment_without_note";
pub(super) const R_DUPLICATE_PACKAGE: &str = "record.duplicate_package";

/// A rule's severity when its finding does not set one (the rule files' headers; SPEC
/// section 3). `lag.late_entry` sets its own: high beyond 72 h.
pub(super) fn default_severity(rule: &str) -> &'static str {
    match rule {
        R_SIGNIFICANT | R_UNTESTED_SALE | R_CYCLE => "critical",
        R_MISSING_IN_SYSTEM
        | R_MISSING_ON_PREMISES
        | R_ORPHAN
        | R_OVERDRAWN
        | R_DUPLICATE_PACKAGE
        | R_ACCEPTED_MISMATCH => "high",
        R_DUPLICATE_COUNT | R_BEFORE | R_UNNEEDED_PB | R_ADJ_NO_NOTE => "low",
        _ => "medium",
    }
}

/// Every rule id of SPEC section 3 (the generator must plant each one).
#[cfg(test)]
pub(super) const RULE_IDS: [&str; 19] = [
    R_MISSING_IN_SYSTEM,
    R_MISSING_ON_PREMISES,
    R_QUANTITY_MISMATCH,
    R_UNIT_INCOMPATIBLE,
    R_DUPLICATE_COUNT,
    R_SIGNIFICANT,
    R_LATE,
    R_BEFORE,
    R_ORPHAN,
    R_CYCLE,
    R_CHILD_BEFORE_PARENT,
    R_OVERDRAWN,
    R_MISSING_PB,
    R_UNNEEDED_PB,
    R_MISSING_BATCH_NO,
    R_UNTESTED_SALE,
    R_ACCEPTED_MISMATCH,
    R_ADJ_NO_NOTE,
    R_DUPLICATE_PACKAGE,
];

/// Lab states that allow a sale.
pub(super) const TESTED_OK: [&str; 5] =
    ["TestPassed", "RetestPassed", "NotRequired", "ProcessValidated", "Remediated"];

/// A package's lab state: every state that allows a sale occurs (one package in eight is
/// not `TestPassed`), chosen from the label's number so the rest of the data does not move.
pub(super) fn lab_state(prod: Prod, seq: u64) -> &'static str {
    match prod.lab() {
        "TestPassed" => match mix(seq, 0x6c61_6273) % 32 {
            0 => "Remediated",
            1 => "RetestPassed",
            2 => "ProcessValidated",
            3 => "NotRequired",
            _ => "TestPassed",
        },
        other => other,
    }
}

/// Quantity type; quantities of different types cannot be compared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum QType {
    Weight,
    Each,
    Volume,
}

impl QType {
    /// Index into per-type totals.
    pub(super) fn idx(self) -> usize {
        match self {
            QType::Weight => 0,
            QType::Each => 1,
            QType::Volume => 2,
        }
    }

    /// SPEC's default tolerance, in base units.
    pub(super) fn tol(self) -> f64 {
        match self {
            QType::Weight | QType::Volume => 0.5,
            QType::Each => 0.0,
        }
    }
}

pub(super) const QTYPES: [QType; 3] = [QType::Weight, QType::Each, QType::Volume];

/// Unit of measure (base units: grams, each, milliliters).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Unit {
    Grams,
    Ounces,
    Pounds,
    Each,
    Milliliters,
    FluidOunces,
}

impl Unit {
    pub(super) fn name(self) -> &'static str {
        match self {
            Unit::Grams => "Grams",
            Unit::Ounces => "Ounces",
            Unit::Pounds => "Pounds",
            Unit::Each => "Each",
            Unit::Milliliters => "Milliliters",
            Unit::FluidOunces => "Fluid Ounces",
        }
    }

    pub(super) fn abbr(self) -> &'static str {
        match self {
            Unit::Grams => "g",
            Unit::Ounces => "oz",
            Unit::Pounds => "lb",
            Unit::Each => "ea",
            Unit::Milliliters => "ml",
            Unit::FluidOunces => "fl oz",
        }
    }

    pub(super) fn qtype(self) -> QType {
        match self {
            Unit::Grams | Unit::Ounces | Unit::Pounds => QType::Weight,
            Unit::Each => QType::Each,
            Unit::Milliliters | Unit::FluidOunces => QType::Volume,
        }
    }

    /// Base units in one of this unit.
    pub(super) fn factor(self) -> f64 {
        match self {
            Unit::Grams | Unit::Each | Unit::Milliliters => 1.0,
            Unit::Ounces => 28.349_523_125,
            Unit::Pounds => 453.592_37,
            Unit::FluidOunces => 29.573_529_562_5,
        }
    }

    /// Metrc's `QuantityType`, as a name and as a number.
    pub(super) fn quantity_type(self) -> (&'static str, u8) {
        match self.qtype() {
            QType::Weight => ("WeightBased", 0),
            QType::Each => ("CountBased", 1),
            QType::Volume => ("VolumeBased", 2),
        }
    }
}

/// Quantity in base units of a value held in thousandths of `u`.
pub(super) fn base(m: i64, u: Unit) -> f64 {
    m as f64 / 1000.0 * u.factor()
}

/// Thousandths of `u` holding at least `b` base units.
pub(super) fn to_m(b: f64, u: Unit) -> i64 {
    (b / u.factor() * 1000.0).ceil() as i64
}

/// Product: item category, name suffix, shelf locations and initial lab state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Prod {
    BulkFlower,
    FlowerG,
    FlowerOz,
    Jar35,
    PreRoll,
    Trim,
    Concentrate,
    ConcJar,
    Cart,
    Edible,
    Tincture,
}

impl Prod {
    pub(super) fn category(self) -> &'static str {
        match self {
            Prod::BulkFlower | Prod::FlowerG | Prod::FlowerOz | Prod::Jar35 => "Buds",
            Prod::PreRoll => "Pre-Roll",
            Prod::Trim => "Shake/Trim",
            Prod::Concentrate | Prod::ConcJar => "Concentrate",
            Prod::Cart => "Vape Cartridge",
            Prod::Edible => "Edible",
            Prod::Tincture => "Tincture",
        }
    }

    pub(super) fn suffix(self) -> &'static str {
        match self {
            Prod::BulkFlower => "Bulk Flower",
            Prod::FlowerG => "Flower",
            Prod::FlowerOz => "Smalls",
            Prod::Jar35 => "3.5g Jar",
            Prod::PreRoll => "Pre-Roll 1g",
            Prod::Trim => "Trim",
            Prod::Concentrate => "Live Resin Bulk",
            Prod::ConcJar => "Live Resin 1g",
            Prod::Cart => "1g Cart",
            Prod::Edible => "Gummies 100mg",
            Prod::Tincture => "Tincture",
        }
    }

    pub(super) fn code(self) -> u64 {
        self as u64 + 1
    }

    pub(super) fn locations(self) -> &'static [&'static str] {
        match self {
            Prod::BulkFlower | Prod::Trim => &["Vault A", "Drying Room", "Cure Room"],
            Prod::Concentrate => &["Extraction Lab", "Vault B"],
            _ => &["Sales Floor", "Back Stock", "Vault B"],
        }
    }

    /// `InitialLabTestingState` (and the usual `LabTestingState`, see `lab_state`).
    pub(super) fn lab(self) -> &'static str {
        match self {
            Prod::Trim => "NotSubmitted",
            _ => "TestPassed",
        }
    }
}

pub(super) const STRAINS: [&str; 16] = [
    "Blue Dream",
    "OG Kush",
    "Gelato 41",
    "Sour Diesel",
    "Wedding Cake",
    "Zkittlez",
    "Runtz",
    "GSC",
    "Purple Punch",
    "Pineapple Express",
    "Granddaddy Purple",
    "Jack Herer",
    "Mimosa",
    "Sunset Sherbet",
    "Durban Poison",
    "Lemon Haze",
];
pub(super) const USERS: [&str; 8] =
    ["jsmith", "mgarcia", "tnguyen", "alee", "rpatel", "kjohnson", "dkim", "slopez"];
pub(super) const ROOMS: [&str; 4] =
    ["Greenhouse 1", "Greenhouse 2", "Indoor Room A", "Indoor Room B"];
pub(super) const ADJ_REASONS: [&str; 5] =
    ["Drying", "Scale Variance", "Waste (Unusable Product)", "Damage", "Entry Error"];
pub(super) const ADJ_NOTES: [&str; 6] = [
    "Moisture loss after cure, reweighed on calibrated scale",
    "Scale recalibrated; difference recorded by shift lead",
    "Container dropped during restock, product destroyed per SOP",
    "Stems and seeds removed during trim review",
    "Quarterly reweigh of vault inventory",
    "Corrected keying error from prior shift",
];
const FACILITIES: [&str; 8] = [
    "Golden State Greens",
    "Emerald Coast Farms",
    "Sierra Cultivation",
    "Bay Area Remedies",
    "Pacific Extracts",
    "Redwood Canna Co",
    "Valley Microbusiness",
    "Harbor Dispensary",
];

/// The package tag of number `seq` of license `lic` (license-scoped, so never shared).
pub(super) fn label_of(lic: usize, seq: u64) -> String {
    format!("1A4FF01{:05}{seq:012}", lic + 1)
}

/// License number `i` (0-based); numbers past the run's licenses are outside facilities.
pub(super) fn license_number(i: usize) -> String {
    format!("C11-{:07}-LIC", i + 1)
}

/// Facility name of license `i`.
pub(super) fn facility_name(i: usize) -> String {
    format!("{} #{}", FACILITIES[i % FACILITIES.len()], i + 1)
}

//! What each finding family and rule means for a licensee: the regulation that applies and
//! what must be done, in plain language (SPEC sections 1 and 3). Text only, no data.

use crate::vocab::{family, rule};

/// One finding family as the report presents it.
pub(crate) struct Family {
    /// Family id as written in `findings.parquet`.
    pub id: &'static str,
    /// Section title.
    pub title: &'static str,
    /// What the checks of this family compare.
    pub checks: &'static str,
    /// The rules of law that apply.
    pub regulation: &'static str,
    /// What the licensee must do about findings of this family.
    pub action: &'static str,
    /// One line for the executive summary.
    pub short: &'static str,
}

/// The four families of SPEC section 3, in report order.
pub(crate) const FAMILIES: [Family; 4] = [
    Family {
        id: family::COUNT,
        title: "Inventory discrepancies",
        checks: "Each physical count row is compared with the system quantity of its package as \
                 of the moment it was counted; packages the system expects on the premises but \
                 nobody counted are listed; per license and quantity type, the counted total is \
                 compared with the system total.",
        regulation: "4 CCR §15051 and §17218(b): reconcile on-hand inventory against the \
                     track-and-trace system at least every 30 calendar days. §15034: a \
                     significant discrepancy between physical and recorded inventory must be \
                     reported to the Department within 24 hours of discovery.",
        action: "Recount or locate each listed package and correct the system with an adjustment \
                 whose note explains the reason (§15049(d)). Where a discrepancy is significant, \
                 report it to the Department within 24 hours of discovery (§15034).",
        short: "§15051/§17218(b): reconcile every 30 days and correct each difference with a noted \
                adjustment; §15034: report a significant discrepancy to the Department within \
                24 hours of discovery.",
    },
    Family {
        id: family::LAG,
        title: "Data-entry lag",
        checks: "Time from an activity (history entry, sale, transfer receipt) to the moment it \
                 was recorded in the system.",
        regulation: "4 CCR §15049(b): receipt, rejection, manufacturing, QC/R&D use, destruction, \
                     packaging and repackaging, lab testing and sale must be recorded in the \
                     track-and-trace system within 24 hours of occurrence. An entry recorded \
                     before the activity occurred is an inaccurate record (§15047.2(d)).",
        action: "Record every activity within 24 hours of occurrence: review the late entries, \
                 find where the process stalls (receiving, point of sale, integrations, staffing) \
                 and fix it; correct entries whose dates are wrong.",
        short: "§15049(b): record activity within 24 hours of occurrence.",
    },
    Family {
        id: family::LINEAGE,
        title: "Lineage and custody",
        checks: "Whether every package traces to source packages of the same license, whether \
                 production batches are flagged and numbered correctly, whether sold product \
                 was tested, and whether accepted transfers match their manifests.",
        regulation: "Every package must trace to its sources (§15047.2(c), §15049(c)(4)). A \
                     production batch (product changes form or category, categories are \
                     combined, non-cannabis ingredients are added) starts untested and must pass \
                     lab testing before sale; repackaging must not create one. A receiver must \
                     reject a shipment whose type or quantity differs from the manifest \
                     (§15049.2(d)).",
        action: "Put packages with broken lineage on hold (quarantine) until their records are \
                 corrected; stop the sale of untested product and hold what remains until it \
                 passes lab testing; correct production-batch flags and numbers; correct or \
                 reject receipts that differ from the manifest.",
        short: "§15047.2(c), §15049(c)(4): every package must trace to its sources; untested \
                product must not be sold — quarantine and stop sale until resolved.",
    },
    Family {
        id: family::RECORD,
        title: "Record quality",
        checks: "Completeness and uniqueness of the system records themselves.",
        regulation: "4 CCR §15049(d): every package adjustment must carry a note explaining why. \
                     §15048.2: a UID tag identifies exactly one package.",
        action: "Add the missing adjustment notes; resolve each duplicated package label in the \
                 system (with Metrc support where needed).",
        short: "§15049(d): explain every adjustment; §15048.2: one package per UID tag.",
    },
];

/// The family with `id`, if it is one of the four.
pub(crate) fn family(id: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.id == id)
}

/// What a finding of `rule_id` asks of the licensee (built-in rules only).
pub(crate) fn rule_action(rule_id: &str) -> Option<&'static str> {
    Some(match rule_id {
        rule::COUNT_MISSING_IN_SYSTEM => {
            "Counted product has no package in the system at this license: identify it and \
             record it (or correct the tag) before it is moved or sold."
        }
        "count.missing_on_premises" => {
            "An expected package was not counted: search for it, then adjust the system with a \
             note; unexplained loss may be a significant discrepancy (§15034)."
        }
        "count.quantity_mismatch" => {
            "Counted quantity differs from the system: recount, then adjust the package with a \
             reason and note (§15049(d))."
        }
        rule::COUNT_UNIT_INCOMPATIBLE => {
            "Counted in a unit of another quantity type: recount in the package's unit."
        }
        "count.duplicate_count" => "The tag was counted twice: correct the count sheet.",
        rule::COUNT_SIGNIFICANT_DISCREPANCY => {
            "Significant discrepancy: report it to the Department within 24 hours of discovery \
             (§15034) and document the investigation."
        }
        "lag.late_entry" => {
            "Recorded more than 24 hours after it occurred (§15049(b)): fix the process that \
             delayed the entry."
        }
        "lag.recorded_before_occurred" => {
            "Recorded before it occurred: correct the activity or recorded date."
        }
        "lineage.orphan_source" => {
            "A source label is not a package of this license: correct the source or document \
             the origin; hold the package until resolved."
        }
        rule::LINEAGE_CYCLE => {
            "The package is its own ancestor: correct the source labels and hold the packages \
             of the cycle."
        }
        "lineage.child_before_parent" => {
            "Packaged before its source was: correct the packaged dates."
        }
        "lineage.overdrawn_source" => {
            "More product was packaged from the source than it held: investigate, adjust and \
             hold the packages concerned."
        }
        "lineage.missing_production_batch" => {
            "Category changed without a production batch: the product must be a tested \
             production batch before sale; hold it."
        }
        "lineage.unneeded_production_batch" => {
            "Repackaging was flagged as a production batch, which discards the source's test \
             results: correct the flag; do not sell until the test status is resolved."
        }
        "lineage.missing_batch_number" => "Enter the production batch number.",
        "lineage.untested_sale" => {
            "Untested product was sold: stop sale and quarantine what remains until it passes \
             lab testing."
        }
        "transfer.accepted_quantity_mismatch" => {
            "Accepted with a quantity other than shipped: such a shipment must be rejected \
             (§15049.2(d)); correct the receipt."
        }
        "record.adjustment_without_note" => "Add a note explaining the adjustment (§15049(d)).",
        "record.duplicate_package" => {
            "One tag appears on two packages: resolve the duplicate record."
        }
        _ => return None,
    })
}

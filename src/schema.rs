//! Canonical table and column names: the only contract between the stages.
//!
//! Ingest writes these tables under `OUT/lake/<table>/license=<LICENSE>/part-*.parquet`,
//! checks and report read them. Never retype a table or column name elsewhere.

/// Canonical tables of the lake, in the order ingest writes them.
pub const TABLES: &[&str] = &[
    PACKAGES,
    PACKAGE_SOURCES,
    ADJUSTMENTS,
    TRANSFERS,
    TRANSFER_PACKAGES,
    SALES,
    HISTORY,
    LAB_RESULTS,
    COUNTS,
    COUNT_REJECTS,
    EVENTS,
    USERS,
    OUTAGES,
];

pub const PACKAGES: &str = "packages";
pub const PACKAGE_SOURCES: &str = "package_sources";
pub const ADJUSTMENTS: &str = "adjustments";
pub const TRANSFERS: &str = "transfers";
pub const TRANSFER_PACKAGES: &str = "transfer_packages";
pub const SALES: &str = "sales";
pub const HISTORY: &str = "history";
pub const LAB_RESULTS: &str = "lab_results";
pub const COUNTS: &str = "counts";
/// Count rows that could not be read: their labels were counted, quantity unknown.
pub const COUNT_REJECTS: &str = "count_rejects";
pub const EVENTS: &str = "events";
/// The licensee's list of authorised users (`--users`, SPEC 2.2b); empty without it.
pub const USERS: &str = "users";
/// The licensee's documented losses of access (`--outages`, SPEC 2.2b); empty without it.
pub const OUTAGES: &str = "outages";

/// File extensions (lowercase) of count sheets. Their `record` is a line, not a record
/// index, and findings on their rows say "(line N)".
pub const SHEET_EXTENSIONS: &[&str] = &["csv", "tsv", "xlsx"];

/// Output files under `--out`.
pub mod out {
    pub const LAKE: &str = "lake";
    pub const FINDINGS: &str = "findings.parquet";
    pub const SUMMARY: &str = "summary.parquet";
    pub const REJECTS: &str = "rejects.parquet";
    pub const REPORT_HTML: &str = "report.html";
    pub const REPORT_MD: &str = "report.md";
    pub const FINDINGS_XLSX: &str = "findings.xlsx";
    pub const CHANGES: &str = "changes.parquet";
    pub const TREND: &str = "trend.parquet";
    pub const MANIFEST: &str = "manifest.json";
}

/// Columns shared by several tables.
pub mod col {
    pub const LICENSE: &str = "license";
    pub const LABEL: &str = "label";
    pub const SOURCE_FILE: &str = "source_file";
    /// 0-based record index in a JSON file, 1-based physical line in a count sheet (see
    /// [`super::SHEET_EXTENSIONS`]).
    pub const RECORD: &str = "record";
    pub const QUANTITY: &str = "quantity";
    pub const UNIT: &str = "unit";
    /// `weight`, `each` or `volume`.
    pub const QUANTITY_TYPE: &str = "quantity_type";
    /// `g`, `ea` or `ml`.
    pub const BASE_UNIT: &str = "base_unit";
    pub const QUANTITY_BASE: &str = "quantity_base";
}

/// Column layout of every canonical table, as (name, type) pairs.
///
/// Types: `str`, `f64`, `i64`, `bool`, `ts` (timestamp µs UTC), `date` (local calendar date).
/// A time field read from the input gives two columns: `<name>` is the earliest instant the
/// value can mean (a date-only value: start of the local day) and `<name>_end` the latest
/// (end of the local day); they are equal for a full timestamp.
pub const LAYOUT: &[(&str, &[(&str, &str)])] = &[
    (
        PACKAGES,
        &[
            ("license", "str"),
            ("label", "str"),
            ("package_type", "str"),
            ("item_name", "str"),
            ("category", "str"),
            ("quantity", "f64"),
            ("original_quantity", "f64"),
            ("unit", "str"),
            ("quantity_type", "str"),
            ("base_unit", "str"),
            ("quantity_base", "f64"),
            ("original_quantity_base", "f64"),
            ("location", "str"),
            ("packaged_at", "ts"),
            ("packaged_at_end", "ts"),
            ("packaged_date", "date"),
            ("lab_testing_state", "str"),
            ("is_production_batch", "bool"),
            ("production_batch_number", "str"),
            ("source_package_labels", "str"),
            ("source_harvest_names", "str"),
            ("source_count", "i64"),
            ("received_at", "ts"),
            ("received_manifest", "str"),
            ("received_from_license", "str"),
            ("finished_date", "date"),
            ("archived_date", "date"),
            ("last_modified", "ts"),
            ("is_local", "bool"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
    (
        PACKAGE_SOURCES,
        &[
            ("license", "str"),
            ("label", "str"),
            ("source_label", "str"),
            ("source_index", "i64"),
            ("source_count", "i64"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
    (
        ADJUSTMENTS,
        &[
            ("license", "str"),
            ("label", "str"),
            ("quantity", "f64"),
            ("unit", "str"),
            ("quantity_type", "str"),
            ("base_unit", "str"),
            ("quantity_base", "f64"),
            ("reason", "str"),
            ("note", "str"),
            ("adjusted_at", "ts"),
            ("adjusted_at_end", "ts"),
            ("adjusted_by", "str"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
    (
        TRANSFERS,
        &[
            ("license", "str"),
            ("manifest", "str"),
            ("shipper_license", "str"),
            ("recipient_license", "str"),
            ("created_at", "ts"),
            ("departed_at", "ts"),
            ("estimated_arrival_at", "ts"),
            ("actual_arrival_at", "ts"),
            ("received_at", "ts"),
            ("received_at_end", "ts"),
            ("is_voided", "bool"),
            ("package_count", "i64"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
    (
        TRANSFER_PACKAGES,
        &[
            // `license` is the folder the file sat in; `recipient_license` is who received.
            ("license", "str"),
            ("manifest", "str"),
            ("shipper_license", "str"),
            ("recipient_license", "str"),
            ("is_voided", "bool"),
            ("label", "str"),
            ("state", "str"),
            ("shipped_quantity", "f64"),
            ("shipped_unit", "str"),
            ("shipped_quantity_type", "str"),
            ("shipped_quantity_base", "f64"),
            ("received_quantity", "f64"),
            ("received_unit", "str"),
            ("received_quantity_type", "str"),
            ("received_quantity_base", "f64"),
            ("base_unit", "str"),
            // ActualArrivalDateTime, else EstimatedArrivalDateTime
            ("arrived_at", "ts"),
            ("arrived_at_end", "ts"),
            ("received_at", "ts"),
            ("received_at_end", "ts"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
    (
        SALES,
        &[
            // one row per transaction; a receipt without transactions gives one row with a
            // null label so that no receipt is lost
            ("license", "str"),
            ("receipt", "str"),
            ("sold_at", "ts"),
            ("sold_at_end", "ts"),
            ("recorded_at", "ts"),
            ("recorded_at_end", "ts"),
            ("label", "str"),
            ("quantity", "f64"),
            ("unit", "str"),
            ("quantity_type", "str"),
            ("base_unit", "str"),
            ("quantity_base", "f64"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
    (
        HISTORY,
        &[
            ("license", "str"),
            ("label", "str"),
            ("occurred_at", "ts"),
            ("occurred_at_end", "ts"),
            ("recorded_at", "ts"),
            ("recorded_at_end", "ts"),
            ("description", "str"),
            ("user_name", "str"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
    (
        LAB_RESULTS,
        &[
            ("license", "str"),
            ("label", "str"),
            ("test_type", "str"),
            ("passed", "bool"),
            ("tested_at", "ts"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
    (
        COUNTS,
        &[
            ("license", "str"),
            ("label", "str"),
            ("quantity", "f64"),
            ("unit", "str"),
            ("quantity_type", "str"),
            ("base_unit", "str"),
            ("quantity_base", "f64"),
            ("location", "str"),
            ("counted_at", "ts"),
            ("counted_at_end", "ts"),
            ("counted_date", "date"),
            ("counted_by", "str"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
    (
        // count rows that were rejected (SPEC 2.4): a readable label was counted with an
        // unknown quantity; every row counts toward its license's rejected share
        COUNT_REJECTS,
        &[
            ("license", "str"),
            ("label", "str"),
            ("counted_at", "ts"),
            ("counted_at_end", "ts"),
            ("counted_date", "date"),
            ("column", "str"),
            ("reason", "str"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
    (
        EVENTS,
        &[
            // activities for the lag rules; `license` is whose activity it is (for a transfer
            // receipt: the recipient), `kind` is history | sale | transfer_receipt
            ("license", "str"),
            ("kind", "str"),
            ("label", "str"),
            ("reference", "str"),
            ("occurred_at", "ts"),
            ("occurred_at_end", "ts"),
            ("recorded_at", "ts"),
            ("recorded_at_end", "ts"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
    (
        // one row per (license, user, authorised period); `user_key` is the name in lower
        // case without spaces, as activities are matched to it; a blank bound is null
        USERS,
        &[
            ("license", "str"),
            ("user_name", "str"),
            ("user_key", "str"),
            ("authorized_from", "ts"),
            ("authorized_to", "ts"),
            ("authorized_to_end", "ts"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
    (
        // one row per documented loss of access: during = lost_at ≤ t < restored_at;
        // `grace_end` is the last microsecond of the 3rd local calendar day after the local
        // date of restoration (§15050(c)(1))
        OUTAGES,
        &[
            ("license", "str"),
            ("lost_at", "ts"),
            ("restored_at", "ts"),
            ("restored_date", "date"),
            ("grace_end", "ts"),
            // the local times as people read them (`2025-03-10 14:00`), for details
            ("lost_local", "str"),
            ("restored_local", "str"),
            ("cause", "str"),
            ("source_file", "str"),
            ("record", "i64"),
        ],
    ),
];

/// `findings.parquet` columns (SPEC section 4), in order.
pub const FINDINGS_COLUMNS: &[(&str, &str)] = &[
    ("run_id", "str"),
    ("rule_id", "str"),
    ("family", "str"),
    ("severity", "str"),
    ("license", "str"),
    ("package_label", "str"),
    ("related_label", "str"),
    ("reference", "str"),
    ("occurred_at", "ts"),
    ("recorded_at", "ts"),
    ("lag_hours", "f64"),
    ("system_quantity", "f64"),
    ("counted_quantity", "f64"),
    ("variance", "f64"),
    ("unit", "str"),
    ("detail", "str"),
    ("citation", "str"),
    ("source_file", "str"),
];

/// Column of `findings.parquet` after the fixed ones: the finding's stable key
/// ([`crate::checks::finding_key`]), the same for the same finding in every run.
pub const FINDING_KEY: &str = "finding_key";

/// `rejects.parquet` columns (SPEC section 2.4), in order.
pub const REJECTS_COLUMNS: &[(&str, &str)] = &[
    ("source_file", "str"),
    ("record", "i64"),
    ("column", "str"),
    ("reason", "str"),
    ("raw", "str"),
];

/// `summary.parquet` columns. `kind` = `rule` (one row per license × rule that fired),
/// `known_count` (see the duty columns below),
/// `quantity` (one row per license × quantity type with counts; `significant` is null when
/// not determined) or `coverage` (one row per license: `count_status` checked |
/// not_determined | not_checked, with its count rows and how many were rejected).
/// `basis_total` (quantity rows) is what the significance threshold is a fraction of: the
/// system total, or the average monthly sales with that basis.
pub const SUMMARY_COLUMNS: &[(&str, &str)] = &[
    ("license", "str"),
    ("kind", "str"),
    ("rule_id", "str"),
    ("family", "str"),
    ("findings", "i64"),
    ("worst_severity", "str"),
    ("quantity_type", "str"),
    ("unit", "str"),
    ("system_total", "f64"),
    ("counted_total", "f64"),
    ("variance", "f64"),
    ("variance_pct", "f64"),
    ("significant", "bool"),
    ("count_status", "str"),
    ("count_rows", "i64"),
    ("count_rows_rejected", "i64"),
    ("basis_total", "f64"),
    // reconciliation duties (SPEC 3), on `coverage` rows: the latest known count and the
    // as-of time; `known_count` rows: one per license × local count date known to the run
    // (this run's and, with --previous, the earlier runs'), the next run's history
    ("counted_at", "ts"),
    ("counted_date", "date"),
    ("source_file", "str"),
    ("as_of", "ts"),
    // checked | not_checked
    ("overdue_status", "str"),
    ("users_status", "str"),
    ("outages_status", "str"),
    ("outages", "i64"),
    ("outage_excused", "i64"),
    // on `coverage` rows: the export files a counted license lacks for the as-of system
    // ("packages", "adjustments", "sales", comma-separated); its count family is not checked
    ("count_lacks", "str"),
];

/// Columns of a table in [`LAYOUT`].
pub fn layout(table: &str) -> &'static [(&'static str, &'static str)] {
    LAYOUT.iter().find(|(t, _)| *t == table).map(|(_, cols)| *cols).unwrap_or(&[])
}

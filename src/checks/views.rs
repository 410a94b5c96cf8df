//! Derived views the rules read besides the canonical tables: the deduplicated package
//! list, the as-of-count positions, lag activities, received packages. Built lazily from
//! the lake; registered by name in the SQL context (names listed in `queries/README.md`).

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::*;

use crate::config::{Basis, Profile};
use crate::error::{PolarsContext, Result};
use crate::ingest::normalize;
use crate::schema;
use crate::store;

/// Every table and view a rule may read, by name.
pub struct Views {
    /// (name, frame), canonical tables first.
    pub frames: Vec<(&'static str, LazyFrame)>,
}

impl Views {
    /// A view by name.
    pub fn get(&self, name: &str) -> LazyFrame {
        self.frames
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| panic!("view {name} is registered by Views::build"))
    }
}

fn us_to_hours(e: Expr) -> Expr {
    e.cast(DataType::Float64) / lit(3_600_000_000.0)
}

fn ts_us(name: &str) -> Expr {
    col(name).cast(DataType::Int64)
}

/// Unit name → factor to base, for every unit spelling in `units`.
fn unit_factors(units: &[String]) -> DataFrame {
    let mut names = Vec::new();
    let mut factors = Vec::new();
    for u in units {
        if let Some(unit) = normalize::parse_unit(u) {
            names.push(u.clone());
            factors.push(unit.factor);
        }
    }
    DataFrame::new(
        names.len(),
        vec![Column::new("unit".into(), names), Column::new("unit_factor".into(), factors)],
    )
    .expect("two columns of equal length")
}

/// Compute a view once: it feeds several rules, and each rule's plan is collected on its
/// own, so a lazy view would be recomputed (its sorts and joins included) per rule.
fn materialize(lf: LazyFrame, what: &str) -> Result<LazyFrame> {
    let t = std::time::Instant::now();
    let mut df = lf.collect().ctx(|| format!("computing view {what}"))?;
    // One chunk per column: the rules join and gather these views many times, and Polars
    // gathers strings from several chunks value by value through a builder (copying each
    // long value) but from one chunk by copying views (perf: string gathers 9 % of check
    // before, 7 % after; findings equal).
    df.rechunk_mut_par();
    super::timing(&format!("view {what} ({} rows)", df.height()), t);
    Ok(df.lazy())
}

/// `count_totals`: per license × quantity type, Σ as-of system quantity over expected
/// packages and Σ counted over count rows (SPEC 3, significance totals), the variance and
/// the verdict. The sums are exact (see [`super::sums`]): Polars' parallel group-by sum
/// gave other last bits from run to run, thread count and batch size, and the rule and
/// the summary each recomputed it. Computed once here; one row per group, small.
fn count_totals(
    count_checks: &LazyFrame,
    uncounted_expected: &LazyFrame,
    sales: &LazyFrame,
    count_coverage: &LazyFrame,
    profile: &Profile,
) -> Result<LazyFrame> {
    let t = std::time::Instant::now();
    let sys_part = concat(
        [
            count_checks.clone().filter(col("expected")).select([
                col("license"),
                col("system_quantity_type").alias("quantity_type"),
                col("system_quantity").alias("sys"),
                lit(0.0).alias("cnt"),
            ]),
            uncounted_expected.clone().select([
                col("license"),
                col("system_quantity_type").alias("quantity_type"),
                col("system_quantity").alias("sys"),
                lit(0.0).alias("cnt"),
            ]),
            count_checks.clone().filter(col("unit_incompatible").not()).select([
                col("license"),
                col("effective_quantity_type").alias("quantity_type"),
                lit(0.0).alias("sys"),
                col("counted_quantity").alias("cnt"),
            ]),
        ],
        UnionArgs::default(),
    )
    .ctx(|| "count totals".into())?
    .filter(col("quantity_type").is_not_null());
    let mut totals = super::sums::exact_group_sums(
        sys_part,
        ["license", "quantity_type"],
        &[("sys", "system_total"), ("cnt", "counted_total")],
    )?
    .lazy();
    let threshold = profile.significance.threshold_pct() / 100.0;
    let variance = col("counted_total") - col("system_total");
    totals = totals.with_columns([
        variance.clone().alias("variance"),
        (variance.clone() / col("system_total") * lit(100.0)).alias("variance_pct"),
    ]);
    totals = match profile.significance.basis {
        Basis::NetDifference => totals
            .with_column(
                when(col("system_total").gt(lit(0.0)))
                    .then(variance.abs().gt_eq(lit(threshold) * col("system_total")))
                    .otherwise(col("counted_total").gt(lit(0.0)))
                    .alias("significant"),
            )
            .with_column(col("system_total").alias("basis_total")),
        Basis::AverageMonthlySales => {
            // Average monthly sales = sold quantity / months spanned by the sales (the
            // sold sum exact too; min and max are exact anyway).
            let sold_sales = sales.clone().filter(col("label").is_not_null());
            let sold = super::sums::exact_group_sums(
                sold_sales.clone(),
                ["license", "quantity_type"],
                &[("quantity_base", "sold")],
            )?
            .lazy();
            let monthly = sold_sales
                .group_by([col("license"), col("quantity_type")])
                .agg([((ts_us("sold_at").max() - ts_us("sold_at").min()).cast(DataType::Float64)
                    / lit(30.436_875 * 86_400_000_000.0))
                .alias("months")])
                .join(
                    sold,
                    [col("license"), col("quantity_type")],
                    [col("license"), col("quantity_type")],
                    JoinArgs::new(JoinType::Inner),
                )
                .with_column(
                    (col("sold")
                        / when(col("months").gt(lit(1.0))).then(col("months")).otherwise(lit(1.0)))
                    .alias("basis_total"),
                )
                .select([col("license"), col("quantity_type"), col("basis_total")]);
            totals
                .join(
                    monthly,
                    [col("license"), col("quantity_type")],
                    [col("license"), col("quantity_type")],
                    JoinArgs::new(JoinType::Left),
                )
                .with_column(
                    variance
                        .clone()
                        .abs()
                        .gt_eq(lit(threshold) * col("basis_total").fill_null(lit(0.0)))
                        .and(variance.abs().gt(lit(0.0)))
                        .alias("significant"),
                )
        }
    };
    // Not determined (over 1 % of the license's count rows rejected): no verdict.
    let totals = totals
        .join(
            count_coverage.clone().select([
                col("license"),
                col("count_status"),
                col("count_rows"),
                col("count_rows_rejected"),
            ]),
            [col("license")],
            [col("license")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(
            when(col("count_status").eq(lit("not_determined")))
                .then(lit(NULL).cast(DataType::Boolean))
                .otherwise(col("significant"))
                .alias("significant"),
        );
    let count_totals = totals
        .with_column(
            col("quantity_type")
                .replace_strict(
                    lit(Series::new("k".into(), ["weight", "each", "volume"])),
                    lit(Series::new("v".into(), ["g", "ea", "ml"])),
                    None,
                    Some(DataType::String),
                )
                .alias("unit"),
        )
        .with_column(lit(threshold).alias("threshold"))
        .sort_by_exprs([col("license"), col("quantity_type")], SortMultipleOptions::default());
    super::timing("exact count totals", t);
    materialize(count_totals, "count_totals")
}

impl Views {
    /// Build every view over the lake at `lake`.
    pub fn build(lake: &Path, profile: &Profile) -> Result<Views> {
        Self::build_for(lake, profile, None)
    }

    /// Build every view over the partitions `only` of the lake (every partition: `None`).
    /// Rules are per license, so a batch of licenses gives exactly those licenses'
    /// findings; the one cross-license input, the shipper's copy of a transfer received by
    /// a license of the batch, is read from every partition.
    pub fn build_for(
        lake: &Path,
        profile: &Profile,
        only: Option<&BTreeSet<String>>,
    ) -> Result<Views> {
        let scan = |t: &str| store::scan_partitions(lake, t, only);
        let packages_all = scan(schema::PACKAGES)?;
        let adjustments = scan(schema::ADJUSTMENTS)?;
        let transfers = scan(schema::TRANSFERS)?;
        let transfer_packages = scan(schema::TRANSFER_PACKAGES)?;
        let sales = scan(schema::SALES)?;
        let history = scan(schema::HISTORY)?;
        let lab_results = scan(schema::LAB_RESULTS)?;
        let counts = scan(schema::COUNTS)?;
        let count_rejects = scan(schema::COUNT_REJECTS)?;
        let events = scan(schema::EVENTS)?;
        let sources_all = scan(schema::PACKAGE_SOURCES)?;

        // Settings as one-row tables so that SQL rules can join them.
        let t = &profile.tolerance;
        let tolerances = df!(
            "quantity_type" => ["weight", "each", "volume"],
            "abs_tol" => [t.abs_g, t.abs_ea, t.abs_ml],
            "rel_tol" => [t.rel, t.rel, t.rel],
        )
        .ctx(|| "tolerances".into())?
        .lazy();
        let settings = df!(
            "late_hours" => [profile.lag.late_hours],
            "high_hours" => [profile.lag.high_hours],
            "early_hours" => [profile.lag.early_hours],
            "threshold" => [profile.significance.threshold_pct() / 100.0],
        )
        .ctx(|| "settings".into())?
        .lazy();

        // Latest copy of each (license, label): LastModified, then file and record. Only the
        // few labels listed more than once need the sort; the rest pass through untouched.
        // Copies are found by label alone (one string key, a window, no join): a label in two
        // licenses (a shipment) is sorted too, and kept once per license.
        let key2 = || [col("license"), col("label")];
        let listed = packages_all
            .clone()
            .with_column(len().over([col("label")]).ctx(|| "package copies".into())?.alias("_n"))
            .cache();
        let singles = listed.clone().filter(col("_n").eq(lit(1)));
        let latest_copies = listed
            .filter(col("_n").gt(lit(1)))
            .sort_by_exprs(
                [
                    col("license"),
                    col("label"),
                    col("last_modified"),
                    col("source_file"),
                    col("record"),
                ],
                SortMultipleOptions::default()
                    .with_order_descending_multi([false, false, true, true, true])
                    .with_nulls_last(true),
            )
            .unique_stable_generic(Some(key2().to_vec()), UniqueKeepStrategy::First);
        let packages = concat([singles, latest_copies], UnionArgs::default())
            .ctx(|| "packages".into())?
            .drop(by_name(["_n"], true, false));
        let packages = materialize(packages, "packages")?;
        let key = [col("license"), col("label"), col("source_file"), col("record")];
        let package_sources = sources_all
            .join(
                packages.clone().select([
                    col("license"),
                    col("label"),
                    col("source_file"),
                    col("record"),
                ]),
                key.clone(),
                key,
                JoinArgs::new(JoinType::Semi),
            )
            .unique_stable_generic(
                Some(vec![col("license"), col("label"), col("source_label")]),
                UniqueKeepStrategy::First,
            );
        let package_sources = materialize(package_sources, "package_sources")?;
        // Each source line with its package (the child) and, when the license has it, the
        // source package (the parent): the lineage rules read the same two joins, which were
        // each rule's main cost when each rule made them.
        let edge_side = |prefix: &str| {
            let c = |name: &str| col(name).alias(format!("{prefix}_{name}"));
            packages.clone().select([
                col("license"),
                col("label"),
                c("source_file"),
                c("record"),
                c("is_local"),
                c("is_production_batch"),
                c("category"),
                c("quantity_type"),
                c("original_quantity_base"),
                c("packaged_at"),
                c("packaged_at_end"),
                c("packaged_date"),
            ])
        };
        let source_edges = package_sources
            .clone()
            .select([col("license"), col("label"), col("source_label"), col("source_count")])
            .join(
                edge_side("child"),
                [col("license"), col("label")],
                [col("license"), col("label")],
                JoinArgs::new(JoinType::Inner),
            )
            .join(
                edge_side("parent"),
                [col("license"), col("source_label")],
                [col("license"), col("label")],
                JoinArgs::new(JoinType::Left),
            );
        let source_edges = materialize(source_edges, "source_edges")?;

        // Licenses in the export: every folder that gave rows.
        let licenses = concat(
            [
                packages_all.clone().select([col("license")]),
                adjustments.clone().select([col("license")]),
                transfers.clone().select([col("license")]),
                sales.clone().select([col("license")]),
                history.clone().select([col("license")]),
            ],
            UnionArgs::default(),
        )
        .ctx(|| "licenses".into())?
        .unique_stable(None, UniqueKeepStrategy::First);
        let licenses = materialize(licenses, "licenses")?;

        // Factor of each package's own unit, for adjustments and sales without a unit.
        let pkg_units: Vec<String> = packages
            .clone()
            .select([col("unit")])
            .unique(None, UniqueKeepStrategy::Any)
            .collect()
            .ctx(|| "package units".into())?
            .column("unit")
            .ctx(|| "unit".into())?
            .str()
            .ctx(|| "unit".into())?
            .iter()
            .flatten()
            .map(str::to_owned)
            .collect();
        let factors = unit_factors(&pkg_units).lazy();
        let pkg_q = packages
            .clone()
            .select([
                col("license"),
                col("label"),
                col("quantity_type").alias("pkg_quantity_type"),
                col("unit").alias("pkg_unit"),
            ])
            .join(factors, [col("pkg_unit")], [col("unit")], JoinArgs::new(JoinType::Left));
        // A change in the package's base unit: same quantity type, or no unit at all.
        let in_pkg_base = |lf: LazyFrame| {
            lf.join(
                pkg_q.clone(),
                [col("license"), col("label")],
                [col("license"), col("label")],
                JoinArgs::new(JoinType::Inner),
            )
            .with_column(
                when(col("quantity_type").eq(col("pkg_quantity_type")))
                    .then(col("quantity_base"))
                    .when(col("unit").is_null())
                    .then(col("quantity") * col("unit_factor"))
                    .otherwise(lit(NULL).cast(DataType::Float64))
                    .alias("pkg_quantity_base"),
            )
        };
        let adjustments_base = in_pkg_base(adjustments.clone()).select([
            col("license"),
            col("label"),
            col("adjusted_at"),
            col("adjusted_at_end"),
            col("pkg_quantity_base").alias("quantity_base"),
            col("pkg_quantity_type").alias("quantity_type"),
            col("source_file"),
            col("record"),
        ]);

        // ---------------------------------------------------------------- counts
        // Every count row, read or rejected (SPEC 2.4): a rejected row's readable label was
        // counted, so it is not missing, and its license's count time includes it.
        let count_rows_all = concat(
            [
                counts.clone().select([
                    col("license"),
                    col("label"),
                    col("counted_at_end"),
                    col("counted_date"),
                    lit(false).alias("rejected"),
                ]),
                count_rejects.clone().select([
                    col("license"),
                    col("label"),
                    col("counted_at_end"),
                    col("counted_date"),
                    lit(true).alias("rejected"),
                ]),
            ],
            UnionArgs::default(),
        )
        .ctx(|| "count rows".into())?
        .cache();
        // Per license of the export or of the counts: how many count rows it has and how
        // many were rejected; over 1 % rejected leaves its significance not determined,
        // none at all leaves the count family not checked.
        let count_coverage = concat(
            [
                count_rows_all.clone().select([col("license"), col("rejected")]),
                licenses
                    .clone()
                    .select([col("license"), lit(NULL).cast(DataType::Boolean).alias("rejected")]),
            ],
            UnionArgs::default(),
        )
        .ctx(|| "count coverage".into())?
        .group_by([col("license")])
        .agg([
            col("rejected").count().cast(DataType::Int64).alias("count_rows"),
            col("rejected").sum().cast(DataType::Int64).alias("count_rows_rejected"),
        ])
        .with_column(
            when(col("count_rows").eq(lit(0)))
                .then(lit("not_checked"))
                .when((col("count_rows_rejected") * lit(100)).gt(col("count_rows")))
                .then(lit("not_determined"))
                .otherwise(lit("checked"))
                .alias("count_status"),
        )
        .sort_by_exprs([col("license")], SortMultipleOptions::default());
        let count_coverage = materialize(count_coverage, "count_coverage")?;
        let sessions = count_rows_all
            .clone()
            .group_by([col("license")])
            .agg([
                col("counted_at_end").max().alias("session_at"),
                col("counted_date").max().alias("session_date"),
            ])
            .cache();
        // Each (license, label)'s first count row in file and line order, and how many it
        // has (windows: one grouping, where a grouped table joined back hashed every row
        // twice; ingest rejects count rows without a label).
        let counts_first = counts
            .clone()
            .sort_by_exprs([col("source_file"), col("record")], SortMultipleOptions::default())
            .with_row_index("row", None)
            .with_columns([
                col("row").min().over(key2()).ctx(|| "first count row".into())?.alias("first_row"),
                len().over(key2()).ctx(|| "count rows".into())?.alias("n_rows"),
            ])
            .join(
                sessions.clone(),
                [col("license")],
                [col("license")],
                JoinArgs::new(JoinType::Left),
            )
            .with_columns([
                col("counted_at_end").fill_null(col("session_at")).alias("t"),
                col("counted_date").fill_null(col("session_date")).alias("t_date"),
                col("row").eq(col("first_row")).alias("is_first"),
            ])
            .cache();
        let count_duplicates =
            counts_first.clone().filter(col("n_rows").gt(lit(1)).and(col("is_first"))).select([
                col("license"),
                col("label"),
                col("n_rows"),
                col("t").alias("counted_at"),
                col("quantity").alias("counted_quantity"),
                col("unit"),
                col("source_file"),
                col("record"),
            ]);
        let counted_rows = counts_first.clone().filter(col("is_first"));
        // Evaluation points: each first count row at its own time; every package of a
        // counted license that nobody counted at the license's latest count time.
        let uncounted = packages
            .clone()
            .select([col("license"), col("label")])
            .join(
                sessions.clone(),
                [col("license")],
                [col("license")],
                JoinArgs::new(JoinType::Inner),
            )
            .join(
                count_rows_all
                    .clone()
                    .filter(col("label").is_not_null())
                    .select([col("license"), col("label")]),
                [col("license"), col("label")],
                [col("license"), col("label")],
                JoinArgs::new(JoinType::Anti),
            )
            .select([
                col("license"),
                col("label"),
                col("session_at").alias("t"),
                col("session_date").alias("t_date"),
                lit(false).alias("counted"),
            ]);
        let points = concat(
            [
                counted_rows.clone().select([
                    col("license"),
                    col("label"),
                    col("t"),
                    col("t_date"),
                    lit(true).alias("counted"),
                ]),
                uncounted,
            ],
            UnionArgs::default(),
        )
        .ctx(|| "count points".into())?;
        let points = materialize(points, "count points")?;
        // Changes after t: adjustments are undone, sales are put back. Only changes after a
        // license's earliest evaluation time can be rolled back, and they are few (a tenth
        // of the sales at 1 M packages), so they are picked before they meet the packages
        // (joining every sale to its package was a third of this view's time).
        let earliest =
            points.clone().group_by([col("license")]).agg([col("t").min().alias("t_min")]);
        // The batch's earliest evaluation time as a literal: the scan drops what is before
        // it, and the join below meets only the rest (it gathers every column it keeps).
        let first_t = points
            .clone()
            .select([col("t").min()])
            .collect()
            .ctx(|| "earliest count point".into())?;
        let first_t = match first_t.column("t").and_then(|c| c.get(0)) {
            Ok(AnyValue::Datetime(v, tu, tz)) => {
                Some(lit(v).cast(DataType::Datetime(tu, tz.cloned())))
            }
            Ok(AnyValue::DatetimeOwned(v, tu, tz)) => {
                Some(lit(v).cast(DataType::Datetime(tu, tz.as_deref().cloned())))
            }
            // No count point in the batch: nothing to roll back.
            _ => None,
        };
        let after_earliest = |lf: LazyFrame, at: &str| {
            let later = first_t.clone().map_or(lit(false), |t| col(at).gt(t));
            lf.filter(later)
                .join(
                    earliest.clone(),
                    [col("license")],
                    [col("license")],
                    JoinArgs::new(JoinType::Inner),
                )
                .filter(col(at).gt(col("t_min")))
        };
        let changes = concat(
            [
                in_pkg_base(after_earliest(adjustments.clone(), "adjusted_at_end")).select([
                    col("license"),
                    col("label"),
                    col("adjusted_at_end").alias("at"),
                    (-col("pkg_quantity_base")).alias("delta"),
                ]),
                in_pkg_base(after_earliest(
                    sales.clone().filter(col("label").is_not_null()),
                    "sold_at_end",
                ))
                .select([
                    col("license"),
                    col("label"),
                    col("sold_at_end").alias("at"),
                    col("pkg_quantity_base").alias("delta"),
                ]),
            ],
            UnionArgs::default(),
        )
        .ctx(|| "changes".into())?;
        let rollback = points
            .clone()
            .select([col("license"), col("label"), col("t")])
            .join(
                changes,
                [col("license"), col("label")],
                [col("license"), col("label")],
                JoinArgs::new(JoinType::Inner),
            )
            .filter(col("at").gt(col("t")))
            .group_by([col("license"), col("label"), col("t")])
            .agg([col("delta").sum().alias("rollback")]);
        let on_date =
            |c: &str, op: fn(Expr, Expr) -> Expr| op(col(c), col("t_date")).fill_null(lit(true));
        let positions = points
            .join(
                packages.clone().select([
                    col("license"),
                    col("label"),
                    col("quantity_base").alias("pkg_quantity"),
                    col("quantity_type").alias("system_quantity_type"),
                    col("base_unit").alias("system_unit"),
                    col("packaged_date"),
                    col("finished_date"),
                    col("archived_date"),
                    col("received_at"),
                    col("source_file").alias("pkg_source_file"),
                    col("record").alias("pkg_record"),
                ]),
                [col("license"), col("label")],
                [col("license"), col("label")],
                JoinArgs::new(JoinType::Left),
            )
            .join(
                rollback,
                [col("license"), col("label"), col("t")],
                [col("license"), col("label"), col("t")],
                {
                    let mut a = JoinArgs::new(JoinType::Left);
                    a.nulls_equal = true;
                    a
                },
            )
            .with_column(
                (col("pkg_quantity") + col("rollback").fill_null(lit(0.0)))
                    .alias("system_quantity"),
            )
            .with_column(
                col("pkg_source_file")
                    .is_not_null()
                    .and(on_date("packaged_date", |a, b| a.lt_eq(b)))
                    .and(on_date("finished_date", |a, b| a.gt_eq(b)))
                    .and(on_date("archived_date", |a, b| a.gt_eq(b)))
                    .and(col("received_at").lt_eq(col("t")).fill_null(lit(true)))
                    .and(col("system_quantity").gt(lit(0.0)).fill_null(lit(false)))
                    .alias("expected"),
            );
        let positions = materialize(positions, "positions")?;
        let tol = tolerances.clone();
        let count_checks = counted_rows
            .select([
                col("license"),
                col("label"),
                col("t").alias("counted_at"),
                col("quantity"),
                col("unit").alias("count_unit"),
                col("quantity_type").alias("count_quantity_type"),
                col("quantity_base"),
                col("location"),
                col("source_file"),
                col("record"),
            ])
            .join(
                positions.clone().filter(col("counted")).select([
                    col("license"),
                    col("label"),
                    col("system_quantity"),
                    col("system_quantity_type"),
                    col("system_unit"),
                    col("expected"),
                ]),
                [col("license"), col("label")],
                [col("license"), col("label")],
                JoinArgs::new(JoinType::Left),
            )
            .with_columns([
                col("expected").fill_null(lit(false)),
                // A row without a unit is read in the system's (or its own) base unit.
                col("quantity_base").fill_null(col("quantity")).alias("counted_quantity"),
                col("count_quantity_type")
                    .fill_null(col("system_quantity_type"))
                    .alias("effective_quantity_type"),
            ])
            .with_column(
                col("expected")
                    .and(col("count_quantity_type").is_not_null())
                    .and(col("system_quantity_type").is_not_null())
                    .and(col("count_quantity_type").neq(col("system_quantity_type")))
                    .alias("unit_incompatible"),
            )
            .join(
                tol,
                [col("system_quantity_type")],
                [col("quantity_type")],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(
                col("system_unit")
                    .fill_null(col("effective_quantity_type").replace_strict(
                        lit(Series::new("k".into(), ["weight", "each", "volume"])),
                        lit(Series::new("v".into(), ["g", "ea", "ml"])),
                        None,
                        Some(DataType::String),
                    ))
                    .alias("base_unit"),
            );
        let count_checks = materialize(count_checks, "count_checks")?;
        let uncounted_expected =
            positions.clone().filter(col("counted").not().and(col("expected"))).select([
                col("license"),
                col("label"),
                col("t").alias("session_at"),
                col("system_quantity"),
                col("system_quantity_type"),
                col("system_unit"),
                col("pkg_source_file").alias("source_file"),
                col("pkg_record").alias("record"),
            ]);
        let uncounted_expected = materialize(uncounted_expected, "uncounted_expected")?;

        let count_totals =
            count_totals(&count_checks, &uncounted_expected, &sales, &count_coverage, profile)?;

        // ---------------------------------------------------------------- lag
        let own_file = col("source_file").str().starts_with(col("license") + lit("/"));
        // Lag is computed first and only activities past a threshold (the only ones a lag
        // rule reports) go on to be deduplicated.
        let with_lag = |lf: LazyFrame| {
            lf.with_columns([
                us_to_hours(ts_us("recorded_at") - ts_us("occurred_at_end")).alias("lag_hours"),
                us_to_hours(ts_us("occurred_at") - ts_us("recorded_at_end")).alias("early_hours"),
            ])
            .filter(
                col("lag_hours")
                    .gt(lit(profile.lag.late_hours))
                    .or(col("early_hours").gt(lit(profile.lag.early_hours))),
            )
        };
        let events_here = with_lag(events.clone()).join(
            licenses.clone(),
            [col("license")],
            [col("license")],
            JoinArgs::new(JoinType::Semi),
        );
        // History entries are judged one by one. Sales and transfer receipts are judged once
        // per (kind, reference, label): a sale's label once per receipt, a transfer receipt
        // once per manifest even when both parties exported it (the recipient's copy wins).
        let history_events = events_here.clone().filter(col("kind").eq(lit("history")));
        let dedup_keys = || vec![col("license"), col("kind"), col("reference"), col("label")];
        // Sales: copies sit in the license's own files; the first in lake (file) order wins.
        let sale_events = events_here
            .clone()
            .filter(col("kind").eq(lit("sale")))
            .unique_stable_generic(Some(dedup_keys()), UniqueKeepStrategy::First);
        // Transfer receipts: the recipient's own copy wins over the shipper's.
        let receipt_events = events_here
            .filter(col("kind").neq(lit("history")).and(col("kind").neq(lit("sale"))))
            .with_column(own_file.alias("own"))
            .sort_by_exprs(
                [col("own"), col("source_file"), col("record")],
                SortMultipleOptions::default().with_order_descending_multi([true, false, false]),
            )
            .unique_stable_generic(Some(dedup_keys()), UniqueKeepStrategy::First)
            .drop(by_name(["own"], true, false));
        let activities =
            concat([history_events, sale_events, receipt_events], UnionArgs::default())
                .ctx(|| "activities".into())?;
        let activities = materialize(activities, "activities")?;

        // ---------------------------------------------------------------- transfers
        // A shipper's copy sits in the shipper's partition, maybe outside this batch.
        let all_transfer_packages = match only {
            Some(_) => store::scan_table(lake, schema::TRANSFER_PACKAGES)?,
            None => transfer_packages.clone(),
        };
        let received_packages = all_transfer_packages
            .filter(col("is_voided").not().and(col("recipient_license").is_not_null()))
            .with_column(col("recipient_license").alias("license_to"))
            .join(
                licenses.clone(),
                [col("license_to")],
                [col("license")],
                JoinArgs::new(JoinType::Semi),
            )
            .with_column(
                col("source_file")
                    .str()
                    .starts_with(col("recipient_license") + lit("/"))
                    .alias("own"),
            )
            .sort_by_exprs(
                [col("own"), col("source_file"), col("record")],
                SortMultipleOptions::default().with_order_descending_multi([true, false, false]),
            )
            .unique_stable_generic(
                Some(vec![col("recipient_license"), col("manifest"), col("label")]),
                UniqueKeepStrategy::First,
            )
            .drop(by_name(["own", "license", "license_to"], true, false))
            .with_column(col("recipient_license").alias("license"))
            .join(
                tolerances.clone(),
                [col("shipped_quantity_type")],
                [col("quantity_type")],
                JoinArgs::new(JoinType::Left),
            );

        let frames: Vec<(&'static str, LazyFrame)> = vec![
            ("packages", packages),
            ("packages_all", packages_all),
            ("package_sources", package_sources),
            ("source_edges", source_edges),
            ("adjustments", adjustments),
            ("adjustments_base", adjustments_base),
            ("transfers", transfers),
            ("transfer_packages", transfer_packages),
            ("received_packages", received_packages),
            ("sales", sales),
            ("history", history),
            ("lab_results", lab_results),
            ("counts", counts),
            ("count_rejects", count_rejects),
            ("count_coverage", count_coverage),
            ("events", events),
            ("activities", activities),
            ("count_checks", count_checks),
            ("count_duplicates", count_duplicates),
            ("uncounted_expected", uncounted_expected),
            ("count_totals", count_totals),
            ("licenses", licenses),
            ("tolerances", tolerances),
            ("settings", settings),
        ];
        Ok(Views { frames })
    }
}

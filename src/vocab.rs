//! Words every stage shares: how serious a finding is ([`Severity`]), the rule families
//! ([`family`]) and the ids of the built-in rules that code refers to by name ([`rule`]).
//!
//! A leaf: it imports nothing from the crate, so the command line, the profile, the checks
//! and the report can all use it without importing one another.

/// How serious a finding is. The order is the ranking: `Info < Low < … < Critical`.
///
/// The help texts are those of `--fail-on`, the one option that takes a severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Severity {
    /// For information.
    #[value(help = "info and worse")]
    Info,
    /// Low.
    #[value(help = "low and worse")]
    Low,
    /// Medium.
    #[value(help = "medium and worse")]
    Medium,
    /// High.
    #[value(help = "high and worse")]
    High,
    /// Critical.
    #[value(help = "critical only")]
    Critical,
}

impl Severity {
    /// All, least serious first.
    pub const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    /// All, worst first: the order of every report table.
    pub const WORST_FIRST: [Severity; 5] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info];

    /// Parse `info` … `critical` as a person writes it (any case, surrounding space).
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The severity named exactly `s`, as `findings.parquet` holds it.
    pub fn from_name(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// 0 (info) … 4 (critical).
    pub const fn rank(self) -> u8 {
        self as u8
    }

    /// The position in [`Severity::WORST_FIRST`]: 0 (critical) … 4 (info).
    pub const fn worst_first_index(self) -> usize {
        Severity::Critical as usize - self as usize
    }

    /// The names, worst first.
    pub const fn names_worst_first() -> [&'static str; 5] {
        let w = Severity::WORST_FIRST;
        [w[0].as_str(), w[1].as_str(), w[2].as_str(), w[3].as_str(), w[4].as_str()]
    }
}

/// Rule families: the sections of the report. A rule's family is its header's
/// `-- family:`, else the part of its id before the first `.`.
pub mod family {
    /// Physical counts against the system.
    pub const COUNT: &str = "count";
    /// Time from an activity to its record.
    pub const LAG: &str = "lag";
    /// Sources, production batches, testing and custody.
    pub const LINEAGE: &str = "lineage";
    /// Quality of the records themselves.
    pub const RECORD: &str = "record";
}

/// Ids of the built-in rules that code names (the SQL rules' ids are their file names in
/// `queries/rules/`).
pub mod rule {
    /// A package that is its own ancestor: the one rule written in Rust.
    pub const LINEAGE_CYCLE: &str = "lineage.cycle";
    /// The per-license significant-discrepancy verdict (4 CCR §15034).
    pub const COUNT_SIGNIFICANT_DISCREPANCY: &str = "count.significant_discrepancy";
    /// A counted label that is no package of the license.
    pub const COUNT_MISSING_IN_SYSTEM: &str = "count.missing_in_system";
    /// A count in a unit of another quantity type than its package's.
    pub const COUNT_UNIT_INCOMPATIBLE: &str = "count.unit_incompatible";
    pub const COUNT_RECONCILIATION_OVERDUE: &str = "count.reconciliation_overdue";
    pub const RECORD_UNAUTHORIZED_USER: &str = "record.unauthorized_user";
    pub const LAG_LATE_AFTER_OUTAGE: &str = "lag.late_after_outage";
    pub const TRANSFER_DURING_OUTAGE: &str = "transfer.during_outage";
    pub const RECORD_OUTAGE_UNDOCUMENTED: &str = "record.outage_undocumented";
    /// The rules judged only with `--outages`.
    pub const OUTAGE_RULES: [&str; 3] =
        [LAG_LATE_AFTER_OUTAGE, TRANSFER_DURING_OUTAGE, RECORD_OUTAGE_UNDOCUMENTED];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_names_parse_back_in_rank_order() {
        for (i, s) in Severity::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(s.rank()), i);
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            assert_eq!(Severity::from_name(s.as_str()), Some(s));
            assert_eq!(Severity::WORST_FIRST[s.worst_first_index()], s);
            assert_eq!(Severity::names_worst_first()[s.worst_first_index()], s.as_str());
        }
        assert_eq!(Severity::parse(" High "), Some(Severity::High));
        assert_eq!(Severity::from_name("High"), None);
        assert_eq!(Severity::parse("urgent"), None);
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
    }
}

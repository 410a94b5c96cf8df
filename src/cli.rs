//! The command line (clap derive only). What the user typed; `app` validates it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Seed-to-sale compliance reconciliation: Metrc exports + physical counts → findings.
///
/// Exit codes: 0 no finding at or above --fail-on; 1 findings at or above --fail-on;
/// 2 usage or input error; 3 internal error.
#[derive(Debug, Parser)]
#[command(name = "tagtrail", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Options for every command.
    #[command(flatten)]
    pub global: Global,
}

/// Options shared by every subcommand.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Facility time zone for naive timestamps (IANA name) [default: America/Los_Angeles]
    #[arg(long, global = true, value_name = "TZ")]
    pub timezone: Option<String>,
    /// Profile (TOML): thresholds, tolerances, severities, time zone
    #[arg(long, global = true, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Exit 1 when a finding has this severity or worse
    #[arg(long, global = true, value_name = "SEVERITY", value_enum)]
    pub fail_on: Option<FailOn>,
    /// No progress bars and no summary on stderr
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Worker threads [default: all cores]
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Check licenses in batches of about this many MB of lake Parquet; memory follows
    /// the largest batch (about 10× its size), findings do not change [default: 32]
    #[arg(long, global = true, value_name = "MB", value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_mb: Option<u64>,
    /// When the counts were made, for count sheets without a count-time column (local
    /// time of --timezone unless it has an offset), e.g. 2026-10-29T17:00
    #[arg(long, global = true, value_name = "DATETIME")]
    pub counted_at: Option<String>,
    /// When another run is writing the same --out, wait for it instead of stopping
    #[arg(long, global = true)]
    pub wait: bool,
    /// Worksheet of an XLSX count sheet to read [default: the first with a count table]
    #[arg(long, global = true, value_name = "NAME")]
    pub sheet: Option<String>,
}

/// How `tagtrail rules` prints the rule list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// Aligned columns for reading
    Table,
    /// One rule per line, tab-separated, with a header line
    Tsv,
    /// A JSON array of objects (id, family, severity, citation, description)
    Json,
}

/// Severity threshold for the exit code.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailOn {
    /// info and worse
    Info,
    /// low and worse
    Low,
    /// medium and worse
    Medium,
    /// high and worse
    High,
    /// critical only
    Critical,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest, check and report in one go.
    ///
    /// With no --export it runs on the bundled sample (data/sample).
    ///
    /// Example: tagtrail run --export exports/ --counts counts/ --out audit-2026-11
    Run {
        /// Export folder: one sub-folder per license with Metrc JSON files
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
        /// Count sheet (CSV/TSV in any common encoding, or XLSX) or a folder of them; columns
        /// Tag or Label, Quantity, Unit, Counted At, optional License, Location, Counted By
        #[arg(long, value_name = "PATH")]
        counts: Option<PathBuf>,
        /// Output folder
        #[arg(long, value_name = "DIR", default_value = "tagtrail-out")]
        out: PathBuf,
        /// Folder of extra SQL rules
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Read an export (and counts) into the Parquet lake under OUT.
    ///
    /// Example: tagtrail ingest --export exports/ --counts counts/ --out audit
    Ingest {
        /// Export folder: one sub-folder per license with Metrc JSON files
        #[arg(long, value_name = "DIR")]
        export: PathBuf,
        /// Count sheet (CSV/TSV in any common encoding, or XLSX) or a folder of them; columns
        /// Tag or Label, Quantity, Unit, Counted At, optional License, Location, Counted By
        #[arg(long, value_name = "PATH")]
        counts: Option<PathBuf>,
        /// Output folder
        #[arg(long, value_name = "DIR", default_value = "tagtrail-out")]
        out: PathBuf,
    },
    /// Run every rule over OUT's lake: findings.parquet and summary.parquet.
    ///
    /// Example: tagtrail check --out audit --rules my-rules/
    Check {
        /// Output folder holding the lake
        #[arg(long, value_name = "DIR", default_value = "tagtrail-out")]
        out: PathBuf,
        /// Folder of extra SQL rules
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Write report.html and report.md from OUT's findings.
    ///
    /// Example: tagtrail report --out audit
    Report {
        /// Output folder holding findings.parquet
        #[arg(long, value_name = "DIR", default_value = "tagtrail-out")]
        out: PathBuf,
    },
    /// List every rule: id, family, severity, citation, description.
    Rules {
        /// Folder of extra SQL rules
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Output format [default: table on a terminal, tsv otherwise]
        #[arg(long, value_enum)]
        format: Option<RulesFormat>,
    },
    /// Write a synthetic export + counts with planted anomalies and truth.csv.
    ///
    /// Example: tagtrail generate --out /tmp/state --licenses 20 --packages 1000000 --seed 7
    Generate {
        /// Output folder (export/, counts/, truth.csv)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Number of licenses
        #[arg(long, default_value_t = 4)]
        licenses: usize,
        /// Number of packages across all licenses
        #[arg(long, default_value_t = 3000)]
        packages: usize,
        /// Random seed
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// json (arrays and Metrc pages) or jsonl
        #[arg(long, default_value = "json", value_parser = ["json", "jsonl"])]
        format: String,
        /// Also write counts-realworld/<STYLE>/: the count sheets restyled as operators keep
        /// them (`realworld` = every style: encodings, delimiters, title rows, Metrc grid
        /// names, units in cells, XLSX...), each folder a complete --counts input
        ///
        /// Example: tagtrail generate --out data --sheet-style realworld
        #[arg(long, value_name = "STYLE", value_parser = sheet_style_values())]
        sheet_style: Option<String>,
    },
}

/// `realworld` and every style name of [`crate::generate::sheet_style::SheetStyle`].
fn sheet_style_values() -> clap::builder::PossibleValuesParser {
    use crate::generate::sheet_style::SheetStyle;
    let names = std::iter::once("realworld").chain(SheetStyle::ALL.iter().map(|s| s.name()));
    clap::builder::PossibleValuesParser::new(names)
}

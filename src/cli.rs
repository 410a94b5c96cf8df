//! The command line (clap derive only). What the user typed; `app` validates it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::vocab::Severity;

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
    /// Options given before the command (`tagtrail --quiet run`): still accepted, not listed.
    #[command(flatten)]
    pub before: Before,
}

/// Every option, accepted before the command name as earlier versions did; hidden from
/// help, which lists each command's own options under that command.
#[derive(Debug, Args, Clone, Default)]
pub struct Before {
    #[arg(long, hide = true)]
    timezone: Option<String>,
    #[arg(long, hide = true)]
    profile: Option<PathBuf>,
    #[arg(long, hide = true, value_enum)]
    fail_on: Option<Severity>,
    #[arg(long, short, hide = true)]
    quiet: bool,
    #[arg(long, hide = true)]
    threads: Option<usize>,
    #[arg(long, hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    batch_mb: Option<u64>,
    #[arg(long, hide = true)]
    counted_at: Option<String>,
    #[arg(long, hide = true)]
    wait: bool,
    #[arg(long, hide = true)]
    sheet: Option<String>,
}

impl Cli {
    /// The options of the command given, merged (those it does not take are unset).
    pub fn global(&self) -> Global {
        let b = &self.before;
        let mut g = Global {
            timezone: b.timezone.clone(),
            profile: b.profile.clone(),
            fail_on: b.fail_on,
            quiet: b.quiet,
            threads: b.threads,
            batch_mb: b.batch_mb,
            counted_at: b.counted_at.clone(),
            wait: b.wait,
            sheet: b.sheet.clone(),
            previous: None,
            users: None,
            outages: None,
            as_of: None,
        };
        let (common, zone, profile, read, check, write) = match &self.command {
            Command::Run {
                common, zone, profile, read, check, write, previous, duties, ..
            } => {
                g.previous.clone_from(&previous.previous);
                g.users.clone_from(&duties.users);
                g.outages.clone_from(&duties.outages);
                (common, Some(zone), Some(profile), Some(read), Some(check), Some(write))
            }
            Command::Ingest { common, zone, profile, read, write, duties, .. } => {
                g.users.clone_from(&duties.users);
                g.outages.clone_from(&duties.outages);
                (common, Some(zone), Some(profile), Some(read), None, Some(write))
            }
            Command::Check { common, zone, profile, check, write, previous, .. } => {
                g.previous.clone_from(&previous.previous);
                (common, Some(zone), Some(profile), None, Some(check), Some(write))
            }
            Command::Report { common, write, .. } => (common, None, None, None, None, Some(write)),
            Command::Rules { common, profile, .. } => {
                (common, None, Some(profile), None, None, None)
            }
            Command::Generate { common, zone, .. } => (common, Some(zone), None, None, None, None),
        };
        // an option after the command wins over the same option before it
        g.quiet |= common.quiet;
        g.threads = common.threads.or(g.threads);
        if let Some(z) = zone {
            g.timezone = z.timezone.clone().or(g.timezone);
        }
        if let Some(p) = profile {
            g.profile = p.profile.clone().or(g.profile);
        }
        if let Some(r) = read {
            g.counted_at = r.counted_at.clone().or(g.counted_at);
            g.sheet = r.sheet.clone().or(g.sheet);
        }
        if let Some(c) = check {
            g.fail_on = c.fail_on.or(g.fail_on);
            g.batch_mb = c.batch_mb.or(g.batch_mb);
            g.as_of = c.as_of.clone().or(g.as_of);
        }
        if let Some(w) = write {
            g.wait |= w.wait;
        }
        g
    }
}

/// The options of a command, merged from its option groups.
#[derive(Debug, Clone, Default)]
pub struct Global {
    pub timezone: Option<String>,
    pub profile: Option<PathBuf>,
    pub fail_on: Option<Severity>,
    pub quiet: bool,
    pub threads: Option<usize>,
    pub batch_mb: Option<u64>,
    pub counted_at: Option<String>,
    pub wait: bool,
    pub sheet: Option<String>,
    pub previous: Option<PathBuf>,
    pub users: Option<PathBuf>,
    pub outages: Option<PathBuf>,
    pub as_of: Option<String>,
}

/// Options every command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct Common {
    /// No progress bars and no summary on stderr (errors, warnings and the reason for an
    /// exit 1 are still shown)
    #[arg(long, short)]
    pub quiet: bool,
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// The facility's time zone.
#[derive(Debug, Args, Clone, Default)]
pub struct ZoneOpt {
    /// Facility time zone for naive timestamps (IANA name) [default: America/Los_Angeles]
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
}

/// The profile file.
#[derive(Debug, Args, Clone, Default)]
pub struct ProfileOpt {
    /// Profile (TOML): thresholds, tolerances, severities, time zone
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
}

/// How count sheets are read.
#[derive(Debug, Args, Clone, Default)]
pub struct ReadOpts {
    /// When the counts were made, for count sheets without a count-time column and rows whose
    /// count time is blank (local time of --timezone unless it has an offset), e.g. 2026-10-29T17:00
    #[arg(long, value_name = "DATETIME")]
    pub counted_at: Option<String>,
    /// Worksheet of an XLSX count sheet to read [default: the first with a count table]
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
}

/// How the rules run and what fails the run.
#[derive(Debug, Args, Clone, Default)]
pub struct CheckOpts {
    /// Exit 1 when a finding has this severity or worse
    #[arg(long, value_name = "SEVERITY", value_enum)]
    pub fail_on: Option<Severity>,
    /// Check licenses in batches of about this many MB of lake Parquet; memory follows
    /// the largest batch (about 10× its size), findings do not change [default: 32]
    #[arg(long, value_name = "MB", value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_mb: Option<u64>,
    /// The moment the reconciliation is judged at (count.reconciliation_overdue), local time
    /// of --timezone unless it has an offset [default: per license, its latest recorded
    /// activity in the export], e.g. 2026-11-30T23:59
    #[arg(long, value_name = "DATETIME")]
    pub as_of: Option<String>,
}

/// The licensee's own records for the reconciliation duties (4 CCR §15050, §15051).
#[derive(Debug, Args, Clone, Default)]
pub struct DutyFiles {
    /// Authorised users (CSV or XLSX): License, UserName, AuthorizedFrom, AuthorizedTo;
    /// checks record.unauthorized_user for the licenses it lists
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// Documented losses of access to the system (CSV or XLSX): License, LostAt,
    /// RestoredAt, Cause; checks the outage rules (§15050)
    #[arg(long, value_name = "FILE")]
    pub outages: Option<PathBuf>,
}

/// Comparing with an earlier run.
#[derive(Debug, Args, Clone, Default)]
pub struct PreviousOpt {
    /// The output folder of the previous run (last month's): writes changes.parquet, each
    /// finding new, recurring (since the run it first appeared in) or resolved
    #[arg(long, value_name = "OUT_DIR")]
    pub previous: Option<PathBuf>,
}

/// Writing OUT.
#[derive(Debug, Args, Clone, Default)]
pub struct WriteOpts {
    /// When another run is writing the same --out, wait for it instead of stopping
    #[arg(long)]
    pub wait: bool,
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
        #[command(flatten)]
        read: ReadOpts,
        #[command(flatten)]
        duties: DutyFiles,
        #[command(flatten)]
        check: CheckOpts,
        #[command(flatten)]
        previous: PreviousOpt,
        #[command(flatten)]
        zone: ZoneOpt,
        #[command(flatten)]
        profile: ProfileOpt,
        #[command(flatten)]
        write: WriteOpts,
        #[command(flatten)]
        common: Common,
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
        #[command(flatten)]
        read: ReadOpts,
        #[command(flatten)]
        duties: DutyFiles,
        #[command(flatten)]
        zone: ZoneOpt,
        #[command(flatten)]
        profile: ProfileOpt,
        #[command(flatten)]
        write: WriteOpts,
        #[command(flatten)]
        common: Common,
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
        #[command(flatten)]
        check: CheckOpts,
        #[command(flatten)]
        previous: PreviousOpt,
        #[command(flatten)]
        zone: ZoneOpt,
        #[command(flatten)]
        profile: ProfileOpt,
        #[command(flatten)]
        write: WriteOpts,
        #[command(flatten)]
        common: Common,
    },
    /// Write report.html, report.md and findings.xlsx from OUT's findings.
    ///
    /// Example: tagtrail report --out audit
    Report {
        /// Output folder holding findings.parquet
        #[arg(long, value_name = "DIR", default_value = "tagtrail-out")]
        out: PathBuf,
        #[command(flatten)]
        write: WriteOpts,
        #[command(flatten)]
        common: Common,
    },
    /// List every rule: id, family, severity, citation, description.
    Rules {
        /// Folder of extra SQL rules
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Output format [default: table on a terminal, tsv otherwise]
        #[arg(long, value_enum)]
        format: Option<RulesFormat>,
        #[command(flatten)]
        profile: ProfileOpt,
        #[command(flatten)]
        common: Common,
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
        /// Also write counts-realworld/STYLE/: the count sheets restyled as operators keep
        /// them (`realworld` = every style: encodings, delimiters, title rows, Metrc grid
        /// names, units in cells, XLSX...), each folder a complete --counts input
        ///
        /// Example: tagtrail generate --out data --sheet-style realworld
        #[arg(long, value_name = "STYLE", value_parser = sheet_style_values())]
        sheet_style: Option<String>,
        /// Monthly data sets of the same facilities (at most 99): N > 1 writes
        /// OUT/month-01/ … OUT/month-NN/, each a complete input set, and from the second
        /// month on changes_truth.csv (the changes since the month before)
        ///
        /// Example: tagtrail generate --out chain --months 3 --changed-licenses 2
        #[arg(long, value_name = "N", default_value_t = 1)]
        months: usize,
        /// Licenses whose data changes from one month to the next, with --months
        /// [default: one in ten, at least one]
        #[arg(long, value_name = "K")]
        changed_licenses: Option<usize>,
        /// Also plant the reconciliation duties (an overdue license, a user removed
        /// mid-period, outages with activity inside and outside the 3-day grace, a transfer
        /// during an outage, an outage without a cause) and write users.csv and outages.csv
        /// for --users and --outages
        #[arg(long)]
        duties: bool,
        #[command(flatten)]
        zone: ZoneOpt,
        #[command(flatten)]
        common: Common,
    },
}

/// `realworld` and every style name of [`crate::generate::sheet_style::SheetStyle`].
fn sheet_style_values() -> clap::builder::PossibleValuesParser {
    use crate::generate::sheet_style::SheetStyle;
    let names = std::iter::once("realworld").chain(SheetStyle::ALL.iter().map(|s| s.name()));
    clap::builder::PossibleValuesParser::new(names)
}

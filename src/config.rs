//! Run settings: the profile (TOML: thresholds, tolerances, severities, time zone) with
//! California defaults built in, validated once into [`Profile`]. Nothing past `main`
//! sees the command line.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::vocab::Severity;

/// Basis of the significant-discrepancy test (4 CCR §15034).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// |Σ counted − Σ system| / Σ system ≥ threshold (default, 5 %).
    NetDifference,
    /// |Σ counted − Σ system| ≥ threshold × average monthly sales (the older 3 % rule).
    AverageMonthlySales,
}

/// Significant-discrepancy settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Significance {
    /// Threshold in percent; unset means the basis's own default (5 % of the system total,
    /// or 3 % of average monthly sales for the older rule).
    pub threshold_pct: Option<f64>,
    /// What the threshold is a percentage of.
    pub basis: Basis,
}

impl Significance {
    /// The threshold in force, in percent.
    pub fn threshold_pct(&self) -> f64 {
        self.threshold_pct.unwrap_or(match self.basis {
            Basis::NetDifference => 5.0,
            Basis::AverageMonthlySales => 3.0,
        })
    }
}

impl Default for Significance {
    fn default() -> Self {
        Significance { threshold_pct: None, basis: Basis::NetDifference }
    }
}

/// Quantity tolerance: `max(abs, rel × system)` per quantity type.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Tolerance {
    /// Grams.
    pub abs_g: f64,
    /// Each.
    pub abs_ea: f64,
    /// Millilitres.
    pub abs_ml: f64,
    /// Fraction of the system quantity.
    pub rel: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { abs_g: 0.5, abs_ea: 0.0, abs_ml: 0.5, rel: 0.0 }
    }
}

/// Data-entry lag settings, in hours.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Lag {
    /// Later than this is `lag.late_entry` (§15049(b): 24 h).
    pub late_hours: f64,
    /// Later than this raises `lag.late_entry` to high.
    pub high_hours: f64,
    /// Recorded more than this before it occurred is `lag.recorded_before_occurred`.
    pub early_hours: f64,
}

impl Default for Lag {
    fn default() -> Self {
        Lag { late_hours: 24.0, high_hours: 72.0, early_hours: 1.0 }
    }
}

/// Everything that changes results besides the inputs and rules.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// Facility time zone for naive times (IANA name).
    pub timezone: String,
    /// Significant discrepancy.
    pub significance: Significance,
    /// Quantity tolerance.
    pub tolerance: Tolerance,
    /// Lag thresholds.
    pub lag: Lag,
    /// Severity overrides by rule id.
    pub severities: BTreeMap<String, String>,
    /// What the check stage knows of the run besides the lake (not a profile setting).
    #[serde(skip)]
    pub duties: RunDuties,
}

/// The run's evidence for the reconciliation duties that is not in the lake: set by the
/// check stage from the command line, the manifest and the previous run, and given to the
/// views as small tables (`duty_settings`, and `known_counts` with the previous counts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunDuties {
    /// `--as-of`, µs UTC (None: each license's latest recorded activity).
    pub as_of_us: Option<i64>,
    /// `--users` was given (licenses it lists are checked).
    pub users_given: bool,
    /// `--outages` was given (every license is checked).
    pub outages_given: bool,
    /// The counts known from earlier runs of the chain (`--previous`).
    pub previous_counts: Vec<KnownCount>,
    /// (license, kind) of every export file read (the manifest's inputs): whether a
    /// license's export holds the adjustments and sales its as-of quantities need.
    pub export_files: Vec<(String, String)>,
}

/// One count of a license known from an earlier run: the latest count time of one local
/// count date.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownCount {
    pub license: String,
    /// µs UTC.
    pub counted_at_us: i64,
    /// Local date, days since 1970-01-01.
    pub counted_date: i32,
    /// Where the run that read it took it from (its count sheet).
    pub source_file: Option<String>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            timezone: "America/Los_Angeles".into(),
            significance: Significance::default(),
            tolerance: Tolerance::default(),
            lag: Lag::default(),
            severities: BTreeMap::new(),
            duties: RunDuties::default(),
        }
    }
}

impl Profile {
    /// Read a TOML profile; absent keys keep their defaults.
    pub fn load(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
        let p: Profile = toml::from_str(&text).map_err(|e| Error::Input {
            path: path.to_path_buf(),
            position: e.span().map(|s| format!("byte {}", s.start)),
            reason: format!("not a valid profile: {}", e.message()),
        })?;
        p.validate().map_err(|why| Error::Usage(format!("profile `{}`: {why}", path.display())))?;
        Ok(p)
    }

    /// Check values are usable.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.tz()?;
        let t = &self.tolerance;
        for (name, v) in [
            ("tolerance.abs_g", t.abs_g),
            ("tolerance.abs_ea", t.abs_ea),
            ("tolerance.abs_ml", t.abs_ml),
            ("tolerance.rel", t.rel),
            ("significance.threshold_pct", self.significance.threshold_pct()),
            ("lag.late_hours", self.lag.late_hours),
            ("lag.high_hours", self.lag.high_hours),
            ("lag.early_hours", self.lag.early_hours),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("{name} must be a number ≥ 0, got {v}"));
            }
        }
        for (rule, sev) in &self.severities {
            if Severity::parse(sev).is_none() {
                return Err(format!(
                    "severities.{rule} = `{sev}`: use info, low, medium, high or critical"
                ));
            }
        }
        Ok(())
    }

    /// The time zone.
    pub fn tz(&self) -> std::result::Result<chrono_tz::Tz, String> {
        self.timezone.parse::<chrono_tz::Tz>().map_err(|_| {
            format!(
                "unknown time zone `{}` (use an IANA name like America/Los_Angeles)",
                self.timezone
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_defaults_are_californias() {
        let p = Profile::default();
        assert_eq!(p.significance.threshold_pct(), 5.0);
        assert_eq!(p.tolerance.abs_g, 0.5);
        assert_eq!(p.lag.late_hours, 24.0);
        assert_eq!(p.tz().unwrap(), chrono_tz::America::Los_Angeles);
    }

    #[test]
    fn profile_older_rule_defaults_to_3_percent_of_monthly_sales() {
        let p: Profile =
            toml::from_str("[significance]\nbasis = \"average_monthly_sales\"\n").unwrap();
        assert_eq!(p.significance.basis, Basis::AverageMonthlySales);
        assert_eq!(p.significance.threshold_pct(), 3.0);
        let p: Profile = toml::from_str(
            "[significance]\nbasis = \"average_monthly_sales\"\nthreshold_pct = 4\n",
        )
        .unwrap();
        assert_eq!(p.significance.threshold_pct(), 4.0);
    }

    #[test]
    fn profile_load_reads_a_file_and_accepts_zero() {
        Profile::default().validate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.toml");
        let text =
            "timezone = \"America/Denver\"\n[tolerance]\nabs_g = 0\n[lag]\nlate_hours = 48\n";
        std::fs::write(&path, text).unwrap();
        let p = Profile::load(&path).unwrap();
        assert_eq!(p.tz().unwrap(), chrono_tz::America::Denver);
        assert_eq!(p.tolerance.abs_g, 0.0);
        assert_eq!(p.lag.late_hours, 48.0);
        assert_eq!(p.lag.high_hours, 72.0, "absent keys keep their defaults");
        for bad in
            ["[lag]\nlate_hours = -1\n", "[lag]\nlate_hours = nan\n", "[lag]\nlate_hours = inf\n"]
        {
            std::fs::write(&path, bad).unwrap();
            let e = Profile::load(&path).unwrap_err().to_string();
            assert!(e.contains("lag.late_hours") && e.contains("site.toml"), "{bad}: {e}");
        }
        std::fs::write(&path, "[tolerance]\nabs_g = \"half\"\n").unwrap();
        let e = Profile::load(&path).unwrap_err().to_string();
        assert!(e.contains("site.toml") && e.contains("not a valid profile"), "{e}");
        assert!(Profile::load(&dir.path().join("missing.toml")).is_err());
    }

    #[test]
    fn profile_rejects_unknown_keys_and_bad_values() {
        assert!(toml::from_str::<Profile>("[tolerance]\nabs_kg = 1\n").is_err());
        let p: Profile = toml::from_str("[tolerance]\nabs_g = -1\n").unwrap();
        assert!(p.validate().unwrap_err().contains("tolerance.abs_g"));
        let p: Profile = toml::from_str("[severities]\n\"lag.late_entry\" = \"urgent\"\n").unwrap();
        assert!(p.validate().is_err());
        let p: Profile = toml::from_str("timezone = \"Mars/Base\"\n").unwrap();
        assert!(p.validate().is_err());
    }
}

//! `tagtrail generate --duties`: the reconciliation duties (§15050, §15051) planted with
//! their truth, and the `users.csv` and `outages.csv` they imply. Opt-in, so the default
//! data set (and the benchmarks and peers that read it) stay as they were.
//!
//! Every planted record is in files of its own (`history.duties.json`,
//! `transfers.duties.json`) and in January 2026, before the synthetic year's first
//! activity, so no generated activity falls inside a planted outage; the records name
//! labels of no package, which only the lag and user rules read. Planted, at the first
//! license: a user removed mid-period who records once before and once after (one
//! finding), an outage with one activity recorded within the 3-day grace (excused) and
//! one after it, a transfer departing during it, and an outage without a cause; at the
//! second license (not in `users.csv`: not checked) an activity by an unlisted user; at
//! the last counted license, an activity recorded 45 days after the year's counts
//! (overdue).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::Result;

use super::catalog::USERS;
use super::plan::Ctx;

/// The user whose authorisation ends mid-period.
const REMOVED: &str = "Quinn Harlow";
/// The recipient of the planted transfer: a license outside the export.
const OUTSIDE: &str = "C11-0099999-LIC";

/// A label of no package, unique per license and entry.
fn label(lic: usize, n: usize) -> String {
    format!("1A4FF0100000029{lic:04}{n:05}")
}

fn history(label: &str, occurred: &str, recorded: &str, user: &str) -> String {
    format!(
        "{{\"PackageLabel\":\"{label}\",\"ActualDate\":\"{occurred}\",\"RecordedDateTime\":\
         \"{recorded}\",\"Descriptions\":[\"Moved to Vault A\"],\"UserName\":\"{user}\"}}"
    )
}

fn transfer(manifest: &str, shipper: &str, label: &str, departed: &str) -> String {
    format!(
        "{{\"Id\":990001,\"ManifestNumber\":\"{manifest}\",\"ShipperFacilityLicenseNumber\":\
         \"{shipper}\",\"RecipientFacilityLicenseNumber\":\"{OUTSIDE}\",\"IsVoided\":false,\
         \"CreatedDateTime\":\"{departed}\",\"ActualDepartureDateTime\":\"{departed}\",\
         \"EstimatedArrivalDateTime\":\"2026-01-05T16:00:00\",\"PackageCount\":1,\"Packages\":[{{\
         \"PackageLabel\":\"{label}\",\"ShipmentPackageState\":\"Shipped\",\"ShippedQuantity\":\
         10.0,\"ShippedUnitOfMeasureName\":\"Grams\"}}]}}"
    )
}

fn write_json(dir: &Path, name: &str, records: &[String]) -> Result<u64> {
    let text = format!("[\n{}\n]\n", records.join(",\n"));
    fs::write(dir.join(name), &text)?;
    Ok(text.len() as u64)
}

/// Plant the duties into the data set at `root` (after `truth.csv` is written): the extra
/// records, `users.csv`, `outages.csv`, and their rows appended to `truth.csv`. Returns
/// (bytes written, truth rows added).
pub(super) fn plant(ctx: &Ctx, root: &Path) -> Result<(u64, usize)> {
    let lics = &ctx.plan.licenses;
    let first = &lics[0];
    let export = root.join("export");
    let mut truth = String::new();
    let mut bytes = 0;
    // Times are naive local (the facility's zone, as --timezone reads them).
    let mut at_first = vec![
        // before and after REMOVED's authorisation ends (2026-01-14)
        history(&label(0, 1), "2026-01-10T09:00:00", "2026-01-10T09:00:00", REMOVED),
        history(&label(0, 2), "2026-01-20T09:00:00", "2026-01-20T09:00:00", REMOVED),
        // outage 2026-01-05 08:00-14:00: within the grace (to 2026-01-08 end), then after
        history(&label(0, 3), "2026-01-05T10:00:00", "2026-01-08T20:00:00", USERS[0]),
        history(&label(0, 4), "2026-01-05T11:00:00", "2026-01-09T09:00:00", USERS[1]),
    ];
    let late = label(0, 4);
    let _ = writeln!(truth, "record.unauthorized_user,{first},,high");
    let _ = writeln!(truth, "lag.late_after_outage,{first},{late},medium");
    let _ = writeln!(truth, "lag.late_entry,{first},{late},high");
    let _ = writeln!(truth, "transfer.during_outage,{first},,high");
    let _ = writeln!(truth, "record.outage_undocumented,{first},,low");
    if let Some(second) = lics.get(1) {
        // not in users.csv: not checked, so no finding
        let h = history(&label(1, 1), "2026-01-10T09:00:00", "2026-01-10T09:00:00", REMOVED);
        bytes += write_json(&export.join(second), "history.duties.json", &[h])?;
    }
    // the last counted license: an activity 45 days after the counts (late October)
    let overdue = (0..lics.len()).rev().find(|&i| ctx.plan.counted[i]);
    if let Some(i) = overdue {
        let h = history(&label(i, 9), "2026-12-15T09:00:00", "2026-12-15T09:00:00", USERS[2]);
        if i == 0 {
            at_first.push(h);
        } else {
            bytes += write_json(&export.join(&lics[i]), "history.duties.json", &[h])?;
        }
        let _ = writeln!(truth, "count.reconciliation_overdue,{},,high", lics[i]);
    }
    let dir = export.join(first);
    bytes += write_json(&dir, "history.duties.json", &at_first)?;
    let t = transfer("0099000001", first, &label(0, 5), "2026-01-05T12:00:00");
    bytes += write_json(&dir, "transfers.duties.json", &[t])?;

    let mut users = String::from("License,UserName,AuthorizedFrom,AuthorizedTo\n");
    for u in USERS {
        let _ = writeln!(users, "{first},{u},,");
    }
    let _ = writeln!(users, "{first},{REMOVED},2026-01-01,2026-01-14");
    let outages = format!(
        "License,LostAt,RestoredAt,Cause\n{first},2026-01-05T08:00,2026-01-05T14:00,internet \
         provider outage\n{first},2026-01-20T09:00,2026-01-20T10:00,\n"
    );
    fs::write(root.join("users.csv"), &users)?;
    fs::write(root.join("outages.csv"), &outages)?;
    let mut key = fs::read_to_string(root.join("truth.csv"))?;
    key.push_str(&truth);
    fs::write(root.join("truth.csv"), &key)?;
    bytes += (users.len() + outages.len() + truth.len()) as u64;
    Ok((bytes, truth.lines().count()))
}

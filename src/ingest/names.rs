//! What a file of an export holds, from its name alone: our own prefixes (`packages*.json`)
//! and Metrc's endpoint names (`Packages_GetActivePackages.json`), plain or gzip-compressed.
//! A file that is not read gets the reason a person needs to act on it. Reads no file.
//!
//! Endpoint names are looked up whole in a table, never by prefix: `Packages_GetAdjustments`
//! starts with "packages" and holds adjustments.

use super::metrc::Kind;

/// How an export file is read, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportFile {
    /// What its records are.
    pub kind: Kind,
    /// gzip-compressed (`.gz`): decompressed while read.
    pub gzip: bool,
    /// JSON Lines (`.jsonl`, `.ndjson`), else a JSON array or a Metrc page.
    pub lines: bool,
}

/// Metrc list endpoints whose records tagtrail reads, lower case. The short names are
/// Metrc's v1 method names (`GET /packages/v1/active`), the long ones its v2 names.
const READ: &[(&str, Kind)] = &[
    ("packages_getactivepackages", Kind::Packages),
    ("packages_getinactivepackages", Kind::Packages),
    ("packages_getonholdpackages", Kind::Packages),
    ("packages_getactive", Kind::Packages),
    ("packages_getinactive", Kind::Packages),
    ("packages_getonhold", Kind::Packages),
    ("packages_getadjustments", Kind::Adjustments),
    ("transfers_getincomingtransfers", Kind::Transfers),
    ("transfers_getoutgoingtransfers", Kind::Transfers),
    ("transfers_getrejectedtransfers", Kind::Transfers),
    ("transfers_getincoming", Kind::Transfers),
    ("transfers_getoutgoing", Kind::Transfers),
    ("transfers_getrejected", Kind::Transfers),
    ("sales_getactivereceipts", Kind::Sales),
    ("sales_getinactivereceipts", Kind::Sales),
    ("sales_getreceipts", Kind::Sales),
    ("labtests_getresults", Kind::LabResults),
];

const LOOKUP_PACKAGE: &str = "single-object lookup, not a list of packages";
const NOT_OWN_PACKAGES: &str = "packages on their way between licenses, not the license's packages (the transfers \
     files hold shipments)";

/// Endpoints of the kinds tagtrail reads whose records are something else, lower case.
const NOT_READ: &[(&str, &str)] = &[
    ("packages_getpackagesbyid", LOOKUP_PACKAGE),
    ("packages_getpackagebyid", LOOKUP_PACKAGE),
    ("packages_getpackagesbylabel", LOOKUP_PACKAGE),
    ("packages_getpackagebylabel", LOOKUP_PACKAGE),
    ("packages_getbyid", LOOKUP_PACKAGE),
    ("packages_getbylabel", LOOKUP_PACKAGE),
    (
        "packages_getsourceharvestbyid",
        "lookup of one package's source harvests, not a list of packages",
    ),
    ("packages_gettransferred", NOT_OWN_PACKAGES),
    ("packages_getintransitpackages", NOT_OWN_PACKAGES),
    ("packages_getintransit", NOT_OWN_PACKAGES),
    ("packages_getlabsamples", "lab samples, not the license's list of packages"),
    ("packages_getadjustreasons", "reference list of adjustment reasons, not adjustments"),
    ("packages_getpackagestypes", "reference list of package types, not packages"),
    ("packages_gettypes", "reference list of package types, not packages"),
    (
        "transfers_getdeliverypackagebyid",
        "lookup of one delivery's packages, not a list of transfers (a transfers file \
         carries them in each transfer's \"Packages\")",
    ),
    (
        "transfers_getdeliveriespackagesstates",
        "reference list of delivery package states, not transfers",
    ),
    (
        "transfers_gettransfersdeliverybyid",
        "lookup of one transfer's deliveries, not a list of transfers",
    ),
    ("labtests_getstates", "reference list of lab testing states, not lab results"),
    ("labtests_gettypes", "reference list of lab test types, not lab results"),
];

/// Readable words for the Metrc groups tagtrail does not read.
const GROUPS: &[(&str, &str)] = &[
    ("plantbatches", "plant batches"),
    ("unitsofmeasure", "units of measure"),
    ("processingjob", "processing jobs"),
    ("processingjobs", "processing jobs"),
    ("labtests", "lab tests"),
    ("sublocations", "sublocations"),
];

/// What the file named `name` (no folder) holds: how to read it, or why it is not read.
/// Hidden files are the caller's business.
pub fn classify(name: &str) -> Result<ExportFile, String> {
    let low = name.to_ascii_lowercase();
    let (base, gzip) = match low.strip_suffix(".gz") {
        Some(b) => (b, true),
        None => (&low[..], false),
    };
    let (stem, lines) = if let Some(s) = base.strip_suffix(".json") {
        (s, false)
    } else if let Some(s) = base.strip_suffix(".jsonl").or_else(|| base.strip_suffix(".ndjson")) {
        (s, true)
    } else {
        return Err(not_json(base, gzip));
    };
    let kind = match endpoint(stem) {
        Some((group, method)) => of_endpoint(group, method)?,
        None => Kind::ALL.into_iter().find(|k| stem.starts_with(k.prefix())).ok_or_else(|| {
            "its name is no export kind tagtrail reads (packages*, adjustments*, transfers*, \
             sales*, history*, labresults*, or a Metrc endpoint name such as \
             Packages_GetActivePackages)"
                .to_owned()
        })?,
    };
    Ok(ExportFile { kind, gzip, lines })
}

/// `(group, method)` of a Metrc endpoint name (`packages_getactivepackages.2` →
/// `("packages", "getactivepackages")`): letters or digits, `_`, then `get` and more; what
/// follows (a page number `.2`, `_2`, ` (1)`) starts with anything else.
fn endpoint(stem: &str) -> Option<(&str, &str)> {
    let (group, rest) = stem.split_once('_')?;
    let alnum = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    let end = rest.bytes().position(|b| !b.is_ascii_alphanumeric()).unwrap_or(rest.len());
    let method = &rest[..end];
    (alnum(group) && method.len() > 3 && method.starts_with("get")).then_some((group, method))
}

fn of_endpoint(group: &str, method: &str) -> Result<Kind, String> {
    let name = format!("{group}_{method}");
    if let Some(&(_, kind)) = READ.iter().find(|(n, _)| *n == name) {
        return Ok(kind);
    }
    if let Some(&(_, why)) = NOT_READ.iter().find(|(n, _)| *n == name) {
        return Err(why.to_owned());
    }
    if method.contains("byid") || method.contains("bylabel") {
        return Err("single-object lookup, not a list".to_owned());
    }
    let words = GROUPS.iter().find(|(g, _)| *g == group).map_or(group, |(_, w)| w);
    Err(format!("Metrc endpoint tagtrail does not use ({words})"))
}

fn not_json(base: &str, gzip: bool) -> String {
    let ext = base.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if ext == "zip" {
        return "zip archive: tagtrail reads .json files and .json.gz; unzip it into the \
                license folder"
            .to_owned();
    }
    if gzip {
        return "compressed file that is not JSON (.json.gz, .jsonl.gz and .ndjson.gz are read)"
            .to_owned();
    }
    "not a JSON export file (tagtrail reads .json, .jsonl and .ndjson, optionally as .gz)"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> Option<Kind> {
        classify(name).ok().map(|f| f.kind)
    }

    #[test]
    fn names_own_prefixes_pages_and_encodings() {
        assert_eq!(kind("packages.json"), Some(Kind::Packages));
        assert_eq!(kind("packages.2.json"), Some(Kind::Packages));
        assert_eq!(kind("Packages_active.JSON"), Some(Kind::Packages));
        assert_eq!(kind("adjustments.jsonl"), Some(Kind::Adjustments));
        assert_eq!(kind("transfers.ndjson"), Some(Kind::Transfers));
        assert_eq!(kind("history.json"), Some(Kind::History));
        assert_eq!(kind("labresults.json"), Some(Kind::LabResults));
        let f = classify("sales.jsonl.gz").unwrap();
        assert_eq!(f, ExportFile { kind: Kind::Sales, gzip: true, lines: true });
        let f = classify("packages.json.GZ").unwrap();
        assert_eq!(f, ExportFile { kind: Kind::Packages, gzip: true, lines: false });
        let f = classify("packages.json").unwrap();
        assert_eq!(f, ExportFile { kind: Kind::Packages, gzip: false, lines: false });
    }

    #[test]
    fn names_metrc_endpoints_by_what_they_hold() {
        for (name, want) in [
            ("Packages_GetActivePackages.json", Kind::Packages),
            ("Packages_GetInactivePackages.json", Kind::Packages),
            ("packages_getonholdpackages.json", Kind::Packages),
            ("Packages_GetAdjustments.json", Kind::Adjustments),
            ("Packages_GetAdjustments.2.json", Kind::Adjustments),
            ("Packages_GetAdjustments_2.jsonl.gz", Kind::Adjustments),
            ("PACKAGES_GETADJUSTMENTS.JSON", Kind::Adjustments),
            ("Transfers_GetIncomingTransfers.json", Kind::Transfers),
            ("Transfers_GetOutgoingTransfers.json.gz", Kind::Transfers),
            ("Transfers_GetRejectedTransfers.json", Kind::Transfers),
            ("Sales_GetActiveReceipts.json", Kind::Sales),
            ("Sales_GetInactiveReceipts (1).json", Kind::Sales),
            ("LabTests_GetResults.json", Kind::LabResults),
        ] {
            assert_eq!(kind(name), Some(want), "{name}");
        }
    }

    #[test]
    fn names_not_read_say_why() {
        let why = |name: &str| classify(name).unwrap_err();
        for name in [
            "Packages_GetPackagesById.json",
            "Packages_GetPackageById.json",
            "Packages_GetPackageById.2.json",
            "packages_getpackagebylabel.json.gz",
        ] {
            assert_eq!(why(name), "single-object lookup, not a list of packages", "{name}");
        }
        assert!(why("Packages_GetSourceHarvestById.json").contains("not a list of packages"));
        assert!(why("Packages_GetTransferred.json").contains("not the license's packages"));
        assert!(why("Transfers_GetDeliveryPackageById.json").contains("one delivery"));
        assert!(why("Transfers_GetDeliveriesPackagesStates.json").contains("reference list"));
        assert!(why("LabTests_GetStates.json").contains("reference list"));
        assert!(why("Sales_GetReceiptById.json").contains("single-object lookup"));
        assert_eq!(
            why("Items_GetActiveItems.json"),
            "Metrc endpoint tagtrail does not use (items)"
        );
        assert!(why("Locations_GetActiveLocations.json").ends_with("(locations)"));
        assert!(why("Harvests_GetHarvestsWaste.json").ends_with("(harvests)"));
        assert!(why("Plants_GetPlantsWaste.json").ends_with("(plants)"));
        assert!(why("PlantBatches_GetActivePlantBatches.json").ends_with("(plant batches)"));
        assert!(why("UnitsOfMeasure_GetActiveUnitsOfMeasure.json").ends_with("(units of measure)"));
        assert!(why("ProcessingJob_GetActiveProcessingJob.json").ends_with("(processing jobs)"));
        assert!(why("Packages_GetSomethingNew.json").ends_with("(packages)"));
        assert!(why("notes.txt").starts_with("not a JSON export file"));
        assert!(why("counts.csv").starts_with("not a JSON export file"));
        assert!(why("export.zip").starts_with("zip archive"));
        assert!(why("notes.txt.gz").starts_with("compressed file that is not JSON"));
        assert!(why("inventory.json").contains("no export kind"));
        assert!(why("packages").starts_with("not a JSON export file"));
    }

    #[test]
    fn names_every_endpoint_of_the_real_examples() {
        // The files of tests/fixtures/real/metrc-api-doc-examples, by what they hold.
        let read = [
            "LabTests_GetResults.json",
            "Packages_GetActivePackages.json",
            "Packages_GetAdjustments.json",
            "Sales_GetActiveReceipts.json",
            "Transfers_GetIncomingTransfers.json",
            "Transfers_GetOutgoingTransfers.json",
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/real/metrc-api-doc-examples");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if !name.ends_with(".json") {
                continue;
            }
            seen += 1;
            assert_eq!(classify(&name).is_ok(), read.contains(&&*name), "{name}");
        }
        assert!(seen >= 20, "{seen} examples");
    }
}

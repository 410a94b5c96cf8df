//! Metrc API JSON records → canonical rows. One decoder per export kind; each turns one
//! record into rows of its tables (and of `events`), or names the field that is bad.
//!
//! Field names are Metrc's (SPEC 2.1); unknown fields are ignored.

use std::borrow::Cow;

use super::normalize::Stamp;
use super::raw::{Fields, Nested, Qty, Raw};
use super::reader::{FromJson, ReadError, ReadResult, Reader, json_record};
use crate::schema;
use crate::store::{TableBatch, V};

/// The kinds of export file, by file-name prefix (or Metrc endpoint name, see
/// [`super::names`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `packages*.json`
    Packages,
    /// `adjustments*.json`
    Adjustments,
    /// `transfers*.json`
    Transfers,
    /// `sales*.json`
    Sales,
    /// `history*.json`
    History,
    /// `labresults*.json`
    LabResults,
}

impl Kind {
    /// Every kind, in ingest order.
    pub const ALL: [Kind; 6] = [
        Kind::Packages,
        Kind::Adjustments,
        Kind::Transfers,
        Kind::Sales,
        Kind::History,
        Kind::LabResults,
    ];

    /// File-name prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Packages => "packages",
            Kind::Adjustments => "adjustments",
            Kind::Transfers => "transfers",
            Kind::Sales => "sales",
            Kind::History => "history",
            Kind::LabResults => "labresults",
        }
    }

    /// The kind of an export file, from its name (`packages.2.json`, `sales.jsonl.gz`,
    /// `Packages_GetAdjustments.json`); see [`super::names::classify`].
    pub fn of_file(name: &str) -> Option<Kind> {
        super::names::classify(name).ok().map(|f| f.kind)
    }

    /// Tables this kind writes, in the order of [`Rows::batches`].
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Kind::Packages => &[schema::PACKAGES, schema::PACKAGE_SOURCES],
            Kind::Adjustments => &[schema::ADJUSTMENTS],
            Kind::Transfers => &[schema::TRANSFERS, schema::TRANSFER_PACKAGES, schema::EVENTS],
            Kind::Sales => &[schema::SALES, schema::EVENTS],
            Kind::History => &[schema::HISTORY, schema::EVENTS],
            Kind::LabResults => &[schema::LAB_RESULTS],
        }
    }
}

/// Where a record came from.
pub struct Origin<'a> {
    /// Folder license.
    pub license: &'a str,
    /// Path relative to the input root.
    pub source_file: &'a str,
    /// Record index.
    pub record: i64,
}

/// Output rows of a run of records of one kind.
pub struct Rows {
    /// One batch per table of [`Kind::tables`].
    pub batches: Vec<TableBatch>,
}

impl Rows {
    /// Empty batches for `kind`.
    pub fn new(kind: Kind) -> Self {
        Rows { batches: kind.tables().iter().map(|t| TableBatch::new(t)).collect() }
    }

    /// Move `other`'s rows to the end of ours.
    pub fn append(&mut self, other: Rows) {
        for (a, b) in self.batches.iter_mut().zip(other.batches) {
            a.append(b);
        }
    }
}

/// What became of one record.
pub enum Outcome {
    /// Rows were written.
    Accepted,
    /// A field could not be read; nothing was written.
    Rejected {
        /// The field.
        column: String,
        /// Why.
        reason: String,
    },
    /// The record is not JSON at all (syntax); fatal for the file.
    Syntax {
        /// Byte offset inside the record.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Decode one record of `kind` from `bytes` and push its rows into `rows`.
pub fn decode(
    kind: Kind,
    bytes: &[u8],
    origin: &Origin<'_>,
    tz: chrono_tz::Tz,
    rows: &mut Rows,
) -> Outcome {
    let Ok(text) = simdutf8::basic::from_utf8(bytes) else {
        return Outcome::Rejected { column: String::new(), reason: "not valid UTF-8".into() };
    };
    let mut f = Fields::new(tz);
    let res = match kind {
        Kind::Packages => parse::<PackageRec<'_>>(text).map(|r| package(&r, origin, &mut f, rows)),
        Kind::Adjustments => {
            parse::<AdjustmentRec<'_>>(text).map(|r| adjustment(&r, origin, &mut f, rows))
        }
        Kind::Transfers => {
            parse::<TransferRec<'_>>(text).map(|r| transfer(&r, origin, &mut f, rows))
        }
        Kind::Sales => parse::<ReceiptRec<'_>>(text).map(|r| sale(&r, origin, &mut f, rows)),
        Kind::History => parse::<HistoryRec<'_>>(text).map(|r| history(&r, origin, &mut f, rows)),
        Kind::LabResults => parse::<LabRec<'_>>(text).map(|r| lab(&r, origin, &mut f, rows)),
    };
    match res {
        Ok(()) => match f.bad {
            None => Outcome::Accepted,
            Some(bad) => Outcome::Rejected {
                column: bad.column,
                reason: if f.more > 0 {
                    format!("{} (and {} more bad field(s))", bad.reason, f.more)
                } else {
                    bad.reason
                },
            },
        },
        Err(e) => e,
    }
}

fn parse<'a, T: FromJson<'a>>(text: &'a str) -> Result<T, Outcome> {
    Reader::record::<T>(text).map_err(|e| match e {
        ReadError::Syntax { offset, reason } => {
            Outcome::Syntax { offset, reason: reason.to_owned() }
        }
        // The record itself is not an object (a number, a string, an array…).
        ReadError::Data { column, .. } if column.is_empty() => {
            Outcome::Rejected { column, reason: "record is not a JSON object".into() }
        }
        ReadError::Data { column, reason } => Outcome::Rejected { column, reason },
    })
}

fn ts_start(s: Option<Stamp>) -> V<'static> {
    V::opt_ts(s.map(|s| s.start_us))
}
fn ts_end(s: Option<Stamp>) -> V<'static> {
    V::opt_ts(s.map(|s| s.end_us))
}
fn date(s: Option<Stamp>) -> V<'static> {
    V::opt_d(s.map(|s| s.local_date))
}

/// `"A, B"` (also tolerating `["A","B"]` written into the string) → labels.
pub fn split_labels(s: &str) -> Vec<&str> {
    s.split(',')
        .map(|p| p.trim_matches(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | '"')))
        .filter(|p| !p.is_empty())
        .collect()
}

// ---------------------------------------------------------------- packages

json_record! {
    struct ItemRec<'a> {
        name: Raw<'a> = "Name",
        category: Raw<'a> = "ProductCategoryName",
        quantity_type: Raw<'a> = "QuantityType",
    }
}

impl super::raw::Shape for ItemRec<'_> {
    const IS_LIST: bool = false;
}

json_record! {
    struct PackageRec<'a> {
        label: Raw<'a> = "Label",
        package_type: Raw<'a> = "PackageType",
        source_labels: Raw<'a> = "SourcePackageLabels",
        source_harvests: Raw<'a> = "SourceHarvestNames",
        quantity: Raw<'a> = "Quantity",
        original_quantity: Raw<'a> = "OriginalPackageQuantity",
        unit: Raw<'a> = "UnitOfMeasureName",
        location: Raw<'a> = "LocationName",
        packaged: Raw<'a> = "PackagedDate",
        lab_state: Raw<'a> = "LabTestingState",
        is_pb: Raw<'a> = "IsProductionBatch",
        batch_number: Raw<'a> = "ProductionBatchNumber",
        received: Raw<'a> = "ReceivedDateTime",
        received_manifest: Raw<'a> = "ReceivedFromManifestNumber",
        received_from: Raw<'a> = "ReceivedFromFacilityLicenseNumber",
        finished: Raw<'a> = "FinishedDate",
        archived: Raw<'a> = "ArchivedDate",
        last_modified: Raw<'a> = "LastModified",
        item: Nested<ItemRec<'a>> = "Item",
    }
}

fn package(r: &PackageRec<'_>, o: &Origin<'_>, f: &mut Fields, rows: &mut Rows) {
    let label = f.required("Label", &r.label);
    let package_type = f.text("PackageType", &r.package_type);
    let sources = f.text("SourcePackageLabels", &r.source_labels);
    let harvests = f.text("SourceHarvestNames", &r.source_harvests);
    let quantity = f.number("Quantity", &r.quantity);
    let original = f.number("OriginalPackageQuantity", &r.original_quantity);
    let (unit_name, unit) = f.unit("UnitOfMeasureName", &r.unit);
    let location = f.text("LocationName", &r.location);
    let packaged = f.stamp("PackagedDate", &r.packaged);
    let lab_state = f.text("LabTestingState", &r.lab_state);
    let is_pb = f.boolean("IsProductionBatch", &r.is_pb);
    let batch_number = f.text("ProductionBatchNumber", &r.batch_number);
    let received = f.stamp("ReceivedDateTime", &r.received);
    let received_manifest = f.text("ReceivedFromManifestNumber", &r.received_manifest);
    let received_from = f.text("ReceivedFromFacilityLicenseNumber", &r.received_from);
    let finished = f.stamp("FinishedDate", &r.finished);
    let archived = f.stamp("ArchivedDate", &r.archived);
    let last_modified = f.stamp("LastModified", &r.last_modified);
    let (item_name, category, item_qtype) = match &r.item {
        Nested::None => (None, None, None),
        Nested::Some(item) => {
            f.set_prefix(Some(("Item", None)));
            let t = (
                f.text("Name", &item.name),
                f.text("ProductCategoryName", &item.category),
                f.item_quantity_type("QuantityType", &item.quantity_type),
            );
            f.set_prefix(None);
            t
        }
        Nested::Wrong(kind) => {
            f.fail("Item", format!("wrong JSON type: expected object, got {kind}"));
            (None, None, None)
        }
    };
    let q = f.converted("Quantity", Qty::new(quantity, unit, item_qtype));
    let oq = f.converted("OriginalPackageQuantity", Qty::new(original, unit, item_qtype));
    if f.bad.is_some() {
        return;
    }
    let Some(label) = label else { return };
    let source_list = sources.map(split_labels).unwrap_or_default();
    let is_local = received.is_none() && received_manifest.is_none();
    rows.batches[0].push(&[
        V::S(o.license),
        V::S(label),
        V::opt_s(package_type),
        V::opt_s(item_name),
        V::opt_s(category),
        V::opt_f(quantity),
        V::opt_f(original),
        V::opt_s(unit_name.as_deref()),
        V::opt_s(q.qtype_str()),
        V::opt_s(q.base_unit()),
        V::opt_f(q.base),
        V::opt_f(oq.base),
        V::opt_s(location),
        ts_start(packaged),
        ts_end(packaged),
        date(packaged),
        V::opt_s(lab_state),
        V::B(is_pb.unwrap_or(false)),
        V::opt_s(batch_number),
        V::opt_s(sources),
        V::opt_s(harvests),
        V::I(source_list.len() as i64),
        ts_start(received),
        V::opt_s(received_manifest),
        V::opt_s(received_from),
        date(finished),
        date(archived),
        ts_start(last_modified),
        V::B(is_local),
        V::S(o.source_file),
        V::I(o.record),
    ]);
    let n = source_list.len() as i64;
    for (i, s) in source_list.into_iter().enumerate() {
        rows.batches[1].push(&[
            V::S(o.license),
            V::S(label),
            V::S(s),
            V::I(i as i64),
            V::I(n),
            V::S(o.source_file),
            V::I(o.record),
        ]);
    }
}

// ---------------------------------------------------------------- adjustments

json_record! {
    struct AdjustmentRec<'a> {
        label: Raw<'a> = "PackageLabel",
        quantity: Raw<'a> = "AdjustmentQuantity",
        unit: Raw<'a> = "AdjustmentUnitOfMeasureName",
        reason: Raw<'a> = "AdjustmentReasonName",
        note: Raw<'a> = "AdjustmentNote",
        date: Raw<'a> = "AdjustmentDate",
        user: Raw<'a> = "AdjustedByUserName",
    }
}

fn adjustment(r: &AdjustmentRec<'_>, o: &Origin<'_>, f: &mut Fields, rows: &mut Rows) {
    let label = f.required("PackageLabel", &r.label);
    let quantity = f.number("AdjustmentQuantity", &r.quantity);
    let (unit_name, unit) = f.unit("AdjustmentUnitOfMeasureName", &r.unit);
    let reason = f.text("AdjustmentReasonName", &r.reason);
    let note = f.text("AdjustmentNote", &r.note);
    let at = f.stamp("AdjustmentDate", &r.date);
    let user = f.text("AdjustedByUserName", &r.user);
    let q = f.converted("AdjustmentQuantity", Qty::new(quantity, unit, None));
    let (Some(label), None) = (label, &f.bad) else { return };
    rows.batches[0].push(&[
        V::S(o.license),
        V::S(label),
        V::opt_f(quantity),
        V::opt_s(unit_name.as_deref()),
        V::opt_s(q.qtype_str()),
        V::opt_s(q.base_unit()),
        V::opt_f(q.base),
        V::opt_s(reason),
        V::opt_s(note),
        ts_start(at),
        ts_end(at),
        V::opt_s(user),
        V::S(o.source_file),
        V::I(o.record),
    ]);
}

// ---------------------------------------------------------------- transfers

json_record! {
    struct DeliveryRec<'a> {
        label: Raw<'a> = "PackageLabel",
        state: Raw<'a> = "ShipmentPackageState",
        shipped: Raw<'a> = "ShippedQuantity",
        shipped_unit: Raw<'a> = "ShippedUnitOfMeasureName",
        received: Raw<'a> = "ReceivedQuantity",
        received_unit: Raw<'a> = "ReceivedUnitOfMeasureName",
    }
}

json_record! {
    struct TransferRec<'a> {
        manifest: Raw<'a> = "ManifestNumber",
        shipper: Raw<'a> = "ShipperFacilityLicenseNumber",
        recipient: Raw<'a> = "RecipientFacilityLicenseNumber",
        created: Raw<'a> = "CreatedDateTime",
        departed: Raw<'a> = "ActualDepartureDateTime",
        est_arrival: Raw<'a> = "EstimatedArrivalDateTime",
        arrival: Raw<'a> = "ActualArrivalDateTime",
        received: Raw<'a> = "ReceivedDateTime",
        voided: Raw<'a> = "IsVoided",
        packages: Nested<Vec<DeliveryRec<'a>>> = "Packages",
    }
}

struct Delivery<'r> {
    label: &'r str,
    state: Option<&'r str>,
    shipped: Qty,
    shipped_unit: Option<String>,
    received: Qty,
    received_unit: Option<String>,
}

fn transfer(r: &TransferRec<'_>, o: &Origin<'_>, f: &mut Fields, rows: &mut Rows) {
    let manifest = f.text("ManifestNumber", &r.manifest);
    let shipper = f.text("ShipperFacilityLicenseNumber", &r.shipper);
    let recipient = f.text("RecipientFacilityLicenseNumber", &r.recipient);
    let created = f.stamp("CreatedDateTime", &r.created);
    let departed = f.stamp("ActualDepartureDateTime", &r.departed);
    let est_arrival = f.stamp("EstimatedArrivalDateTime", &r.est_arrival);
    let arrival = f.stamp("ActualArrivalDateTime", &r.arrival);
    let received = f.stamp("ReceivedDateTime", &r.received);
    let voided = f.boolean("IsVoided", &r.voided).unwrap_or(false);
    let mut deliveries = Vec::new();
    match &r.packages {
        Nested::None => {}
        Nested::Wrong(kind) => {
            f.fail("Packages", format!("wrong JSON type: expected array, got {kind}"))
        }
        Nested::Some(list) => {
            for (i, d) in list.iter().enumerate() {
                f.set_prefix(Some(("Packages", Some(i))));
                let label = f.required("PackageLabel", &d.label);
                let state = f.text("ShipmentPackageState", &d.state);
                let shipped = f.number("ShippedQuantity", &d.shipped);
                let (shipped_unit, su) = f.unit("ShippedUnitOfMeasureName", &d.shipped_unit);
                let received_q = f.number("ReceivedQuantity", &d.received);
                let (received_unit, ru) = f.unit("ReceivedUnitOfMeasureName", &d.received_unit);
                let shipped = f.converted("ShippedQuantity", Qty::new(shipped, su, None));
                // A received quantity without its own unit is in the shipped unit.
                let received =
                    f.converted("ReceivedQuantity", Qty::new(received_q, ru.or(su), None));
                if let Some(label) = label {
                    deliveries.push(Delivery {
                        label,
                        state,
                        shipped,
                        shipped_unit,
                        received,
                        received_unit,
                    });
                }
            }
            f.set_prefix(None);
        }
    }
    if f.bad.is_some() {
        return;
    }
    let n = match &r.packages {
        Nested::Some(list) => V::I(list.len() as i64),
        _ => V::Null,
    };
    rows.batches[0].push(&[
        V::S(o.license),
        V::opt_s(manifest),
        V::opt_s(shipper),
        V::opt_s(recipient),
        ts_start(created),
        ts_start(departed),
        ts_start(est_arrival),
        ts_start(arrival),
        ts_start(received),
        ts_end(received),
        V::B(voided),
        n,
        V::S(o.source_file),
        V::I(o.record),
    ]);
    let arrived = arrival.or(est_arrival);
    for d in &deliveries {
        let base_unit = d.shipped.base_unit().or(d.received.base_unit());
        rows.batches[1].push(&[
            V::S(o.license),
            V::opt_s(manifest),
            V::opt_s(shipper),
            V::opt_s(recipient),
            V::B(voided),
            V::S(d.label),
            V::opt_s(d.state),
            V::opt_f(d.shipped.value),
            V::opt_s(d.shipped_unit.as_deref()),
            V::opt_s(d.shipped.qtype_str()),
            V::opt_f(d.shipped.base),
            V::opt_f(d.received.value),
            V::opt_s(d.received_unit.as_deref()),
            V::opt_s(d.received.qtype_str()),
            V::opt_f(d.received.base),
            V::opt_s(base_unit),
            ts_start(arrived),
            ts_end(arrived),
            ts_start(received),
            ts_end(received),
            V::S(o.source_file),
            V::I(o.record),
        ]);
        // The receipt is the recipient's activity, for each package it accepted or rejected.
        let received_state = matches!(d.state, Some("Accepted" | "Rejected"));
        if let (false, true, Some(recipient)) = (voided, received_state, recipient) {
            rows.batches[2].push(&[
                V::S(recipient),
                V::S("transfer_receipt"),
                V::S(d.label),
                V::opt_s(manifest),
                ts_start(arrived),
                ts_end(arrived),
                ts_start(received),
                ts_end(received),
                V::S(o.source_file),
                V::I(o.record),
            ]);
        }
    }
}

// ---------------------------------------------------------------- sales

json_record! {
    struct TransactionRec<'a> {
        label: Raw<'a> = "PackageLabel",
        quantity: Raw<'a> = "QuantitySold",
        unit: Raw<'a> = "UnitOfMeasureName",
        recorded: Raw<'a> = "RecordedDateTime",
    }
}

json_record! {
    struct ReceiptRec<'a> {
        id: Raw<'a> = "Id",
        receipt: Raw<'a> = "ReceiptNumber",
        external: Raw<'a> = "ExternalReceiptNumber",
        sold: Raw<'a> = "SalesDateTime",
        recorded: Raw<'a> = "RecordedDateTime",
        transactions: Nested<Vec<TransactionRec<'a>>> = "Transactions",
    }
}

fn sale(r: &ReceiptRec<'_>, o: &Origin<'_>, f: &mut Fields, rows: &mut Rows) {
    let receipt_no = f.text("ReceiptNumber", &r.receipt);
    let external = f.text("ExternalReceiptNumber", &r.external);
    // The receipt's Id names it only when it has no number (built only then).
    let id = match (&receipt_no, &external, &r.id) {
        (None, None, Raw::Num(x)) => Some(format!("{x}")),
        (None, None, Raw::Str(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    };
    let receipt = receipt_no.or(external).or(id.as_deref());
    let sold = f.stamp("SalesDateTime", &r.sold);
    let recorded = f.stamp("RecordedDateTime", &r.recorded);
    let mut lines = Vec::new();
    match &r.transactions {
        Nested::None => {}
        Nested::Wrong(kind) => {
            f.fail("Transactions", format!("wrong JSON type: expected array, got {kind}"));
        }
        Nested::Some(list) => {
            for (i, t) in list.iter().enumerate() {
                f.set_prefix(Some(("Transactions", Some(i))));
                let label = f.required("PackageLabel", &t.label);
                let q = f.number("QuantitySold", &t.quantity);
                let (unit_name, unit) = f.unit("UnitOfMeasureName", &t.unit);
                let t_recorded = f.stamp("RecordedDateTime", &t.recorded);
                let q = f.converted("QuantitySold", Qty::new(q, unit, None));
                if let Some(label) = label {
                    lines.push((label, q, unit_name, t_recorded));
                }
            }
            f.set_prefix(None);
        }
    }
    if f.bad.is_some() {
        return;
    }
    let push =
        |rows: &mut Rows, label: Option<&str>, q: Qty, unit: Option<&str>, rec: Option<Stamp>| {
            rows.batches[0].push(&[
                V::S(o.license),
                V::opt_s(receipt),
                ts_start(sold),
                ts_end(sold),
                ts_start(rec),
                ts_end(rec),
                V::opt_s(label),
                V::opt_f(q.value),
                V::opt_s(unit),
                V::opt_s(q.qtype_str()),
                V::opt_s(q.base_unit()),
                V::opt_f(q.base),
                V::S(o.source_file),
                V::I(o.record),
            ]);
        };
    if lines.is_empty() {
        push(rows, None, Qty::default(), None, recorded);
    }
    for (label, q, unit_name, t_recorded) in &lines {
        let rec = recorded.or(*t_recorded);
        push(rows, Some(label), *q, unit_name.as_deref(), rec);
        rows.batches[1].push(&[
            V::S(o.license),
            V::S("sale"),
            V::S(label),
            V::opt_s(receipt),
            ts_start(sold),
            ts_end(sold),
            ts_start(rec),
            ts_end(rec),
            V::S(o.source_file),
            V::I(o.record),
        ]);
    }
}

// ---------------------------------------------------------------- history

/// `Descriptions`: Metrc gives a list of strings; a string or other JSON is kept too.
#[derive(Default)]
enum Descriptions<'a> {
    #[default]
    None,
    /// The strings (other JSON values as their compact JSON text).
    List(Vec<Cow<'a, str>>),
    /// A single string, or other JSON as its compact text.
    One(Cow<'a, str>),
}

impl<'a> FromJson<'a> for Descriptions<'a> {
    fn read(r: &mut Reader<'a>) -> ReadResult<Self> {
        fn one<'a>(r: &mut Reader<'a>) -> ReadResult<Cow<'a, str>> {
            if r.peek()? == b'"' {
                if let Raw::Str(s) = r.value()? {
                    return Ok(s);
                }
            }
            // Rare shapes: the compact JSON text, as before.
            let text = r.raw_text()?;
            Ok(serde_json::from_str::<serde_json::Value>(text)
                .map_or(Cow::Borrowed(text), |v| Cow::Owned(v.to_string())))
        }
        match r.peek()? {
            b'n' => r.value().map(|_| Descriptions::None),
            b'[' => {
                let mut items = Vec::new();
                r.array(|r, _| {
                    items.push(one(r)?);
                    Ok(())
                })?;
                Ok(Descriptions::List(items))
            }
            _ => one(r).map(Descriptions::One),
        }
    }
}

impl Descriptions<'_> {
    fn text(&self) -> Option<String> {
        match self {
            Descriptions::None => None,
            Descriptions::One(s) => Some(s.to_string()),
            Descriptions::List(items) => Some(items.join("; ")),
        }
    }
}

json_record! {
    struct HistoryRec<'a> {
        label: Raw<'a> = "PackageLabel",
        actual: Raw<'a> = "ActualDate",
        recorded: Raw<'a> = "RecordedDateTime",
        descriptions: Descriptions<'a> = "Descriptions",
        user: Raw<'a> = "UserName",
    }
}

fn history(r: &HistoryRec<'_>, o: &Origin<'_>, f: &mut Fields, rows: &mut Rows) {
    let label = f.required("PackageLabel", &r.label);
    let actual = f.stamp("ActualDate", &r.actual);
    let recorded = f.stamp("RecordedDateTime", &r.recorded);
    let user = f.text("UserName", &r.user);
    let description = r.descriptions.text();
    let (Some(label), None) = (label, &f.bad) else { return };
    rows.batches[0].push(&[
        V::S(o.license),
        V::S(label),
        ts_start(actual),
        ts_end(actual),
        ts_start(recorded),
        ts_end(recorded),
        V::opt_s(description.as_deref()),
        V::opt_s(user),
        V::S(o.source_file),
        V::I(o.record),
    ]);
    rows.batches[1].push(&[
        V::S(o.license),
        V::S("history"),
        V::S(label),
        V::Null,
        ts_start(actual),
        ts_end(actual),
        ts_start(recorded),
        ts_end(recorded),
        V::S(o.source_file),
        V::I(o.record),
    ]);
}

// ---------------------------------------------------------------- lab results

json_record! {
    struct LabRec<'a> {
        label: Raw<'a> = "PackageLabel",
        source_label: Raw<'a> = "SourcePackageLabel",
        test_type: Raw<'a> = "TestTypeName",
        passed: Raw<'a> = "TestPassed",
        performed: Raw<'a> = "TestPerformedDate",
    }
}

fn lab(r: &LabRec<'_>, o: &Origin<'_>, f: &mut Fields, rows: &mut Rows) {
    // Metrc's `GET /labtests/v2/results` names the tested package `SourcePackageLabel`.
    let label =
        f.text("PackageLabel", &r.label).or_else(|| f.text("SourcePackageLabel", &r.source_label));
    let test_type = f.text("TestTypeName", &r.test_type);
    let passed = f.boolean("TestPassed", &r.passed);
    let performed = f.stamp("TestPerformedDate", &r.performed);
    if f.bad.is_some() {
        return;
    }
    rows.batches[0].push(&[
        V::S(o.license),
        V::opt_s(label),
        V::opt_s(test_type),
        V::opt_b(passed),
        ts_start(performed),
        V::S(o.source_file),
        V::I(o.record),
    ]);
}

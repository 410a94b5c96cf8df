//! The Metrc JSON records of one license: packages, adjustments, history entries and
//! sales receipts, written when their family is complete. A planted bad record is listed
//! in the license's rejects here, where its file and record number are known; the truth
//! one record decides (an adjustment without a note, a history entry's lag) is recorded
//! as it is written.

use std::fmt::Write as _;

use anyhow::Result;

use super::catalog::{R_ADJ_NO_NOTE, STRAINS};
use super::clock::{SENTINEL, Shape, US};
use super::license::Lic;
use super::model::{Adj, Batch, Family, Hist, HistRec, Note, Pkg, PkgReject, Receipt};
use super::oracle::RejectRow;
use super::writers::{push_json_str, push_opt_str, push_qty};

impl Lic<'_> {
    /// Writes a package record (`second`: the planted duplicate, modified later).
    pub(super) fn write_package(&mut self, p: &Pkg, second: bool) -> Result<()> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        let id = (self.idx as u64 + 1) * 1_000_000_000_000 + p.seq;
        let _ = write!(b, "{{\"Id\":{id}");
        match &p.reject {
            Some(PkgReject::NoLabel(0)) => {}
            Some(PkgReject::NoLabel(1)) => b.push_str(",\"Label\":null"),
            Some(PkgReject::NoLabel(_)) => b.push_str(",\"Label\":\"\""),
            _ => {
                b.push_str(",\"Label\":");
                push_json_str(&mut b, &p.label);
            }
        }
        let _ = write!(
            b,
            ",\"PackageType\":\"Product\",\"SourceHarvestCount\":{},\"SourcePackageCount\":{},\
             \"SourceProcessingJobCount\":0,\"SourceHarvestNames\":",
            u8::from(p.harvest.is_some()),
            p.sources.len()
        );
        push_opt_str(&mut b, p.harvest.as_deref());
        b.push_str(",\"SourcePackageLabels\":");
        if p.sources.is_empty() {
            b.push_str("null");
        } else {
            push_json_str(&mut b, &p.sources.join(", "));
        }
        let _ = write!(b, ",\"LocationId\":{},\"LocationName\":", p.location.len() + 100);
        push_json_str(&mut b, p.location);
        b.push_str(",\"LocationTypeName\":\"Default Location Type\",\"Quantity\":");
        match &p.reject {
            Some(PkgReject::BadQty(v, _)) => push_json_str(&mut b, v),
            _ if self.qty_string => {
                b.push('"');
                push_qty(&mut b, p.qty_m, false);
                b.push('"');
            }
            _ => push_qty(&mut b, p.qty_m, true),
        }
        b.push_str(",\"OriginalPackageQuantity\":");
        push_qty(&mut b, p.orig_m, true);
        b.push_str(",\"UnitOfMeasureName\":");
        push_json_str(&mut b, p.unit.name());
        b.push_str(",\"UnitOfMeasureAbbreviation\":");
        push_json_str(&mut b, p.unit.abbr());
        b.push_str(",\"PatientLicenseNumber\":null,\"Note\":null,\"PackagedDate\":");
        push_json_str(&mut b, &p.packaged.text);
        b.push_str(",\"ExpirationDate\":null,\"InitialLabTestingState\":");
        push_json_str(&mut b, if p.is_pb { "NotSubmitted" } else { p.prod.lab() });
        b.push_str(",\"LabTestingState\":");
        push_opt_str(&mut b, p.lab);
        b.push_str(",\"LabTestingStateDate\":");
        push_json_str(&mut b, &p.packaged.text[..10]);
        let _ = write!(b, ",\"IsProductionBatch\":{},\"ProductionBatchNumber\":", p.is_pb);
        match &p.batch {
            Batch::Num(s) => push_json_str(&mut b, s),
            Batch::Null => b.push_str("null"),
            Batch::Empty => b.push_str("\"\""),
            Batch::Spaces => b.push_str("\"  \""),
        }
        b.push_str(
            ",\"SourceProductionBatchNumbers\":null,\"IsTradeSample\":false,\"IsDonation\":false,\
             \"IsTestingSample\":false,\"ProductRequiresRemediation\":false,\
             \"ContainsRemediatedProduct\":false,\"RemediationDate\":null,\"ReceivedDateTime\":",
        );
        push_received(&mut b, p);
        b.push_str(",\"IsOnHold\":false,\"ArchivedDate\":");
        b.push_str(if p.sentinels { "\"0001-01-01T00:00:00+00:00\"" } else { "null" });
        let _ = write!(b, ",\"IsFinished\":{},\"FinishedDate\":", p.finished.is_some());
        match &p.finished {
            Some(f) => push_json_str(&mut b, &f.text),
            None if p.sentinels => push_json_str(&mut b, SENTINEL),
            None => b.push_str("null"),
        }
        b.push_str(",\"LastModified\":");
        let lm = p.modified.as_ref().expect("finalized");
        if second {
            let t = lm.lo + self.rng.range(60, 7200) * US;
            let lm2 = self.render(t, Shape::Micros);
            push_json_str(&mut b, &lm2.text);
        } else {
            push_json_str(&mut b, &lm.text);
        }
        push_item(&mut b, p, self.qtype_numeric);
        let record = self.pkg_w.push(&b)?;
        self.buf = b;
        self.packages += 1;
        if let Some(r) = &p.reject {
            let (column, reason) = match r {
                PkgReject::BadQty(_, reason) => ("Quantity", *reason),
                PkgReject::NoLabel(_) => ("Label", "missing label"),
            };
            let file = self.pkg_w.rel();
            self.rejects.push(RejectRow { file, record, column, reason });
        }
        Ok(())
    }

    /// Writes an adjustment of `p`.
    pub(super) fn write_adj(&mut self, p: &Pkg, a: &Adj) -> Result<()> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        self.adj_id += 1;
        let _ = write!(
            b,
            "{{\"Id\":{},\"PackageId\":{},\"PackageLabel\":",
            self.adj_id,
            (self.idx as u64 + 1) * 1_000_000_000_000 + p.seq
        );
        push_json_str(&mut b, &p.label);
        b.push_str(",\"ItemName\":");
        push_json_str(&mut b, &p.item_name());
        b.push_str(",\"ItemCategoryName\":");
        push_json_str(&mut b, p.category());
        b.push_str(",\"AdjustmentQuantity\":");
        push_qty(&mut b, a.m, true);
        b.push_str(",\"AdjustmentUnitOfMeasureName\":");
        push_json_str(&mut b, p.unit.name());
        b.push_str(",\"AdjustmentUnitOfMeasureAbbreviation\":");
        push_json_str(&mut b, p.unit.abbr());
        b.push_str(",\"AdjustmentReasonName\":");
        push_json_str(&mut b, a.reason);
        match a.note {
            Note::Text(s) => {
                b.push_str(",\"AdjustmentNote\":");
                push_json_str(&mut b, s);
            }
            Note::Empty => b.push_str(",\"AdjustmentNote\":\"\""),
            Note::Spaces => b.push_str(",\"AdjustmentNote\":\"   \""),
            Note::Null => b.push_str(",\"AdjustmentNote\":null"),
            Note::Missing => {}
        }
        b.push_str(",\"AdjustmentDate\":");
        if a.bad_date {
            b.push_str("\"not-a-date\"");
        } else {
            push_json_str(&mut b, &a.ts.text);
        }
        b.push_str(",\"PackagedDate\":");
        push_json_str(&mut b, &p.packaged.text);
        b.push_str(",\"AdjustedByUserName\":");
        push_json_str(&mut b, a.user);
        b.push_str(",\"PackageLabTestResultExpirationDateTime\":null}");
        let record = self.adj_w.push(&b)?;
        self.buf = b;
        if a.bad_date {
            let file = self.adj_w.rel();
            self.rejects.push(RejectRow {
                file,
                record,
                column: "AdjustmentDate",
                reason: "unparseable date",
            });
        } else if !matches!(a.note, Note::Text(_)) {
            self.truth(R_ADJ_NO_NOTE, &p.label);
        }
        Ok(())
    }

    /// Writes a history entry of `p`.
    pub(super) fn write_hist(&mut self, p: &Pkg, h: &Hist) -> Result<()> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        b.push_str("{\"PackageLabel\":");
        push_json_str(&mut b, &p.label);
        b.push_str(",\"ActualDate\":");
        push_json_str(&mut b, &h.actual.text);
        b.push_str(",\"RecordedDateTime\":");
        match &h.recorded {
            HistRec::Ts(t) => push_json_str(&mut b, &t.text),
            HistRec::BadNumber => b.push_str("12345"),
            HistRec::BadObject => {
                b.push_str("{\"$date\":");
                push_json_str(&mut b, &h.actual.text);
                b.push('}');
            }
        }
        b.push_str(",\"Descriptions\":[");
        push_json_str(&mut b, &h.desc);
        b.push_str("],\"UserName\":");
        push_json_str(&mut b, h.user);
        b.push('}');
        let record = self.hist_w.push(&b)?;
        self.buf = b;
        match &h.recorded {
            HistRec::Ts(r) => self.eval_lag(&p.label, &h.actual, r),
            _ => {
                let file = self.hist_w.rel();
                self.rejects.push(RejectRow {
                    file,
                    record,
                    column: "RecordedDateTime",
                    reason: "wrong JSON type",
                });
            }
        }
        Ok(())
    }

    /// Writes a sales receipt of packages of `fam`.
    pub(super) fn write_receipt(&mut self, fam: &Family, r: &Receipt) -> Result<()> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        self.receipt_seq += 1;
        let id = (self.idx as u64 + 1) * 1_000_000_000 + self.receipt_seq;
        let _ = write!(
            b,
            "{{\"Id\":{id},\"ReceiptNumber\":\"{id:012}\",\"ExternalReceiptNumber\":\"POS-{}\",\
             \"SalesDateTime\":",
            self.receipt_seq
        );
        push_json_str(&mut b, &r.sales.text);
        let total: i64 = r.txs.len() as i64 * self.rng.range(1500, 6000);
        let _ = write!(
            b,
            ",\"SalesCustomerType\":\"Consumer\",\"PatientLicenseNumber\":null,\
             \"CaregiverLicenseNumber\":null,\"IdentificationMethod\":null,\"TotalPackages\":{},\
             \"TotalPrice\":{}.{:02},\"Transactions\":[",
            r.txs.len(),
            total / 100,
            total % 100
        );
        for (k, tx) in r.txs.iter().enumerate() {
            let p = &fam.pkgs[tx.pkg];
            if k > 0 {
                b.push(',');
            }
            let _ = write!(
                b,
                "{{\"PackageId\":{},\"PackageLabel\":",
                (self.idx as u64 + 1) * 1_000_000_000_000 + p.seq
            );
            push_json_str(&mut b, &p.label);
            b.push_str(",\"ProductName\":");
            push_json_str(&mut b, &p.item_name());
            b.push_str(",\"ProductCategoryName\":");
            push_json_str(&mut b, p.category());
            b.push_str(",\"QuantitySold\":");
            if self.qty_string {
                b.push('"');
                push_qty(&mut b, tx.m, false);
                b.push('"');
            } else {
                push_qty(&mut b, tx.m, true);
            }
            b.push_str(",\"UnitOfMeasureName\":");
            push_json_str(&mut b, p.unit.name());
            b.push_str(",\"UnitOfMeasureAbbreviation\":");
            push_json_str(&mut b, p.unit.abbr());
            let price = self.rng.range(1500, 6000);
            let _ = write!(b, ",\"TotalAmount\":{}.{:02}}}", price / 100, price % 100);
        }
        b.push_str("],\"IsFinal\":true,\"ArchivedDate\":null,\"RecordedDateTime\":");
        push_json_str(&mut b, r.recorded.as_ref().map_or(SENTINEL, |t| t.text.as_str()));
        b.push_str(",\"RecordedByUserName\":");
        push_json_str(&mut b, self.user());
        b.push_str(",\"LastModified\":");
        let lm = r.recorded.as_ref().map_or(r.t, |t| t.lo) + self.rng.range(1, 3600) * US;
        let lm = self.render(lm, Shape::Micros);
        push_json_str(&mut b, &lm.text);
        b.push('}');
        self.sale_w.push(&b)?;
        self.buf = b;
        Ok(())
    }
}

/// The `ReceivedDateTime` value and the manifest fields after it.
fn push_received(b: &mut String, p: &Pkg) {
    match &p.recv {
        Some(r) => {
            push_json_str(b, &r.ts.text);
            b.push_str(",\"ReceivedFromManifestNumber\":");
            push_json_str(b, &r.manifest);
            b.push_str(",\"ReceivedFromFacilityLicenseNumber\":");
            push_json_str(b, &r.from);
            b.push_str(",\"ReceivedFromFacilityName\":");
            push_json_str(b, &r.from_name);
        }
        None => b.push_str(
            "null,\"ReceivedFromManifestNumber\":null,\
             \"ReceivedFromFacilityLicenseNumber\":null,\"ReceivedFromFacilityName\":null",
        ),
    }
}

/// The package's `Item` object (`qtype_numeric`: `QuantityType` as a number).
fn push_item(b: &mut String, p: &Pkg, qtype_numeric: bool) {
    let item_id = p.strain as u64 * 100 + p.prod.code();
    let _ = write!(b, ",\"Item\":{{\"Id\":{item_id},\"Name\":");
    push_json_str(b, &p.item_name());
    b.push_str(",\"ProductCategoryName\":");
    push_json_str(b, p.category());
    b.push_str(",\"ProductCategoryType\":0,\"QuantityType\":");
    let (qt_name, qt_num) = p.unit.quantity_type();
    if qtype_numeric {
        let _ = write!(b, "{qt_num}");
    } else {
        push_json_str(b, qt_name);
    }
    b.push_str(",\"DefaultLabTestingState\":0,\"UnitOfMeasureName\":");
    push_json_str(b, p.unit.name());
    let _ = write!(
        b,
        ",\"ApprovalStatus\":0,\"ApprovalStatusDateTime\":\"{SENTINEL}\",\"StrainId\":{},\
         \"StrainName\":",
        p.strain + 1
    );
    push_json_str(b, STRAINS[p.strain]);
    b.push_str("}}");
}

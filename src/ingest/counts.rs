//! Physical count sheets (CSV, or the first worksheet of an XLSX) → the `counts` table.
//! Headers are matched case- and punctuation-insensitively against the aliases of SPEC 2.2;
//! a UTF-8 BOM and CRLF are fine.

use chrono_tz::Tz;

use super::normalize;
use super::raw::Qty;
use crate::schema;
use crate::store::{TableBatch, V};

/// Canonical count columns and the header names that mean them (lowercase, only a-z0-9).
const ALIASES: &[(Col, &[&str])] = &[
    (Col::License, &["license", "licensenumber", "facilitylicensenumber", "facilitylicense"]),
    (Col::Label, &["label", "tag", "packagetag", "uid", "packagelabel", "packageuid", "packageid"]),
    (Col::Quantity, &["quantity", "qty", "count", "countedquantity", "quantitycounted"]),
    (Col::Unit, &["unitofmeasure", "unit", "uom", "unitofmeasurename", "units"]),
    (Col::Location, &["location", "locationname"]),
    (
        Col::CountedAt,
        &[
            "countedat",
            "counteddatetime",
            "counteddate",
            "countdate",
            "date",
            "timestamp",
            "countedon",
        ],
    ),
    (Col::CountedBy, &["countedby", "counter"]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    License,
    Label,
    Quantity,
    Unit,
    Location,
    CountedAt,
    CountedBy,
}

/// A bad row of a count sheet.
pub struct CountReject {
    /// 1-based physical line.
    pub line: i64,
    /// Header name of the bad column.
    pub column: String,
    /// Why.
    pub reason: String,
    /// The row as text.
    pub raw: String,
}

/// What a count sheet gave.
pub struct CountSheet {
    /// Accepted rows.
    pub rows: TableBatch,
    /// Rejected rows.
    pub rejects: Vec<CountReject>,
    /// Data rows read.
    pub rows_in: u64,
}

/// Header problem: fatal for the file.
pub type HeaderError = String;

/// Read the first worksheet of an XLSX count sheet: its used range becomes CSV text with
/// the same line numbers as the worksheet's row numbers (rows above the used range are
/// blank lines), read by [`read_csv`]. Cells become text as a person reads them: numbers in
/// their shortest form, a date-time cell as the facility's local time, a date cell (no time
/// of day) as a date, `TRUE`/`FALSE`, an error cell as its code (`#N/A`). A line break
/// inside a cell becomes a space, so that every row stays one line.
pub fn read_xlsx(
    bytes: &[u8],
    source_file: &str,
    default_license: &str,
    tz: Tz,
) -> Result<CountSheet, HeaderError> {
    use calamine::{Data, Reader, Xlsx};
    let mut book = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a readable XLSX workbook: {e}"))?;
    let range = match book.worksheet_range_at(0) {
        Some(Ok(r)) => r,
        Some(Err(e)) => return Err(format!("unreadable first worksheet: {e}")),
        None => return Err("the workbook has no worksheet".into()),
    };
    let mut csv = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(
        std::iter::repeat_n(b'\n', range.start().map_or(0, |(row, _)| row as usize))
            .collect::<Vec<u8>>(),
    );
    for row in range.rows() {
        let cells = row.iter().map(|c| match c {
            Data::Empty => String::new(),
            Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
                s.replace(['\r', '\n'], " ")
            }
            Data::Float(f) => f.to_string(),
            Data::Int(i) => i.to_string(),
            Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
            Data::Error(e) => e.to_string(),
            Data::DateTime(d) => match d.as_datetime() {
                Some(t) if d.is_datetime() && t.time() == chrono::NaiveTime::MIN => {
                    t.format("%Y-%m-%d").to_string()
                }
                Some(t) if d.is_datetime() => t.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
                _ => d.as_f64().to_string(),
            },
        });
        csv.write_record(cells).map_err(|e| format!("cannot convert a row: {e}"))?;
    }
    let text = csv.into_inner().map_err(|e| format!("cannot convert the sheet: {e}"))?;
    read_csv(&text, source_file, default_license, tz)
}

/// Read one count sheet. `default_license` is used when the sheet has no License column.
pub fn read_csv(
    bytes: &[u8],
    source_file: &str,
    default_license: &str,
    tz: Tz,
) -> Result<CountSheet, HeaderError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(bytes);
    // The CSV reader's own line numbers are off by one on CRLF files; count `\n` bytes up to
    // each record's start instead (records come in byte order, so this is one pass).
    let mut lines = LineCounter { bytes, pos: 0, line: 1 };
    let headers = rdr.byte_headers().map_err(|e| format!("unreadable header: {e}"))?.clone();
    let names: Vec<String> =
        headers.iter().map(|h| String::from_utf8_lossy(h).trim().to_owned()).collect();
    let mut idx: Vec<(Col, usize)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let key: String = name
            .trim_start_matches('\u{feff}')
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if let Some((col, _)) = ALIASES.iter().find(|(_, al)| al.contains(&key.as_str())) {
            if !idx.iter().any(|(c, _)| c == col) {
                idx.push((*col, i));
            }
        }
    }
    let find = |c: Col| idx.iter().find(|(k, _)| *k == c).map(|(_, i)| *i);
    let (Some(label_i), Some(qty_i)) = (find(Col::Label), find(Col::Quantity)) else {
        return Err(format!(
            "header has no {} column (found: {}); expected Label/Tag/Package Tag/UID and Quantity/Qty/Count",
            if find(Col::Label).is_none() { "Label" } else { "Quantity" },
            names.join(", ")
        ));
    };
    let name_of = |i: usize| names.get(i).cloned().unwrap_or_default();
    let mut rows = TableBatch::new(schema::COUNTS);
    let mut rejects = Vec::new();
    let mut rows_in = 0u64;
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // A row the CSV reader cannot split (e.g. an unterminated quote) is one reject.
                rows_in += 1;
                let line = e.position().map_or(0, |p| lines.at(p.byte()));
                rejects.push(CountReject {
                    line,
                    column: String::new(),
                    reason: format!("unreadable CSV row: {e}"),
                    raw: String::new(),
                });
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = rec.position().map_or(0, |p| lines.at(p.byte()));
        if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // blank line
        }
        rows_in += 1;
        let raw = rec
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect::<Vec<_>>()
            .join(",");
        let mut bad: Option<(String, String)> = None;
        let mut get = |c: Option<usize>| -> Option<String> {
            let i = c?;
            let f = rec.get(i)?;
            match std::str::from_utf8(f) {
                Ok(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
                Err(_) => {
                    bad.get_or_insert((name_of(i), "not valid UTF-8".into()));
                    None
                }
            }
        };
        let license = get(find(Col::License)).unwrap_or_else(|| default_license.to_owned());
        let label = get(Some(label_i));
        let qty_s = get(Some(qty_i));
        let unit_s = get(find(Col::Unit));
        let location = get(find(Col::Location));
        let at_s = get(find(Col::CountedAt));
        let by = get(find(Col::CountedBy));
        if label.is_none() && bad.is_none() {
            bad = Some((name_of(label_i), "missing or blank".into()));
        }
        let quantity = match qty_s.as_deref().map(normalize::parse_number) {
            None => {
                bad.get_or_insert((name_of(qty_i), "missing or blank".into()));
                None
            }
            Some(Ok(q)) => Some(q),
            Some(Err(why)) => {
                bad.get_or_insert((
                    name_of(qty_i),
                    format!("{why}: `{}`", qty_s.as_deref().unwrap_or("")),
                ));
                None
            }
        };
        let unit = match unit_s.as_deref() {
            None => None,
            Some(u) => {
                let parsed = normalize::parse_unit(u);
                if parsed.is_none() {
                    bad.get_or_insert((
                        name_of(find(Col::Unit).unwrap_or(0)),
                        format!("unknown unit of measure `{u}`"),
                    ));
                }
                parsed
            }
        };
        let counted = match at_s.as_deref().map(|s| normalize::parse_timestamp(s, tz)) {
            None => None,
            Some(Ok(st)) => st,
            Some(Err(why)) => {
                bad.get_or_insert((
                    name_of(find(Col::CountedAt).unwrap_or(0)),
                    format!("{why}: `{}`", at_s.as_deref().unwrap_or("")),
                ));
                None
            }
        };
        let q = Qty::new(quantity, unit, None);
        // 1e308 kg is a finite number but no finite number of grams.
        if q.base.is_some_and(|b| !b.is_finite()) {
            bad.get_or_insert((
                name_of(qty_i),
                format!("number out of range in base units: `{}`", qty_s.as_deref().unwrap_or("")),
            ));
        }
        if let Some((column, reason)) = bad {
            rejects.push(CountReject { line, column, reason, raw });
            continue;
        }
        let Some(label) = label else { continue };
        rows.push(&[
            V::S(&license),
            V::S(&label),
            V::opt_f(quantity),
            V::opt_s(unit_s.as_deref()),
            V::opt_s(q.qtype_str()),
            V::opt_s(q.base_unit()),
            V::opt_f(q.base),
            V::opt_s(location.as_deref()),
            V::opt_ts(counted.map(|s| s.start_us)),
            V::opt_ts(counted.map(|s| s.end_us)),
            V::opt_d(counted.map(|s| s.local_date)),
            V::opt_s(by.as_deref()),
            V::S(source_file),
            V::I(line),
        ]);
    }
    Ok(CountSheet { rows, rejects, rows_in })
}

/// 1-based physical line of increasing byte offsets in one buffer.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: i64,
}

impl LineCounter<'_> {
    fn at(&mut self, byte: u64) -> i64 {
        let mut to = usize::try_from(byte).unwrap_or(usize::MAX).min(self.bytes.len());
        // After a `\r` terminator the reader reports the next record at the `\n` that
        // follows it: the record starts after the line break.
        while to < self.bytes.len() && matches!(self.bytes[to], b'\r' | b'\n') {
            to += 1;
        }
        if to > self.pos {
            let seg = &self.bytes[self.pos..to];
            // A lone `\r` (classic Mac line ends) ends a line for the reader, so for us too.
            let lone_cr = memchr::memchr_iter(b'\r', seg)
                .filter(|&i| self.bytes.get(self.pos + i + 1) != Some(&b'\n'))
                .count();
            self.line += (memchr::memchr_iter(b'\n', seg).count() + lone_cr) as i64;
            self.pos = to;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(csv: &[u8]) -> (Vec<i64>, Vec<i64>) {
        let sheet = read_csv(csv, "f.csv", "LIC", chrono_tz::America::Los_Angeles).unwrap();
        let rejects = sheet.rejects.iter().map(|r| r.line).collect();
        let df = sheet.rows.into_frame().unwrap();
        let rec = df.column(schema::col::RECORD).unwrap().i64().unwrap().clone();
        ((0..rec.len()).map(|i| rec.get(i).unwrap()).collect(), rejects)
    }

    /// Regression (issue 6, found by fuzz/counts_csv: `Label,Qty\ro,1`): with lone `\r`
    /// line ends every row was "line 1", the header's line.
    #[test]
    fn counts_lone_cr_line_ends_are_lines() {
        assert_eq!(lines(b"Label,Qty\ro,1"), (vec![2], vec![]));
        assert_eq!(lines(b"Label,Qty\rA,1\r\rB,x\rC,2\r"), (vec![2, 5], vec![4]));
        // CRLF and LF as before, blank lines counted.
        assert_eq!(lines(b"Label,Qty\r\nA,1\r\n\r\nB,x\nC,2\n"), (vec![2, 5], vec![4]));
    }

    /// Issue 6: a quantity that overflows when converted to the base unit is rejected, not
    /// stored as infinity (which made every total and variance of its license inf/NaN).
    #[test]
    fn counts_quantity_overflowing_its_base_unit_is_rejected() {
        let csv = b"Tag,Qty,UOM\nA,1e308,kg\nB,1e308,g\nC,-1e306,lb\n";
        assert_eq!(lines(csv), (vec![3], vec![2, 4]));
        let sheet = read_csv(csv, "f.csv", "LIC", chrono_tz::UTC).unwrap();
        assert_eq!(sheet.rejects[0].column, "Qty");
        assert!(sheet.rejects[0].reason.contains("out of range"), "{}", sheet.rejects[0].reason);
    }
}

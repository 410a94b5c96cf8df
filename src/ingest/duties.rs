//! The licensee's own records behind the reconciliation duties (SPEC 2.2b): the list of
//! authorised users (`--users`, §15051(a)(2)) → `users`, and the documented losses of
//! access (`--outages`, §15050) → `outages`. Read like count sheets (encodings, delimiters,
//! title rows, XLSX, header names in any case or spacing). A row that cannot be read goes
//! to rejects; inverted or overlapping outage windows of one license stop the run, because
//! every outage rule would read them wrongly.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono_tz::Tz;

use super::counts::CountReject;
use super::normalize::{self, Stamp};
use super::sheet_text::{self, Lines, TextEncoding, clean, split_fields};
use crate::schema;
use crate::store::{TableBatch, V};

/// Which record a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// `--users`: `License`, `UserName`, `AuthorizedFrom`, `AuthorizedTo`.
    Users,
    /// `--outages`: `License`, `LostAt`, `RestoredAt`, `Cause`.
    Outages,
}

impl Duty {
    /// The option and table name (`users`, `outages`).
    pub fn name(self) -> &'static str {
        match self {
            Duty::Users => schema::USERS,
            Duty::Outages => schema::OUTAGES,
        }
    }

    fn table(self) -> &'static str {
        self.name()
    }

    /// Canonical column names, the header names that mean them (lower-case letters and
    /// digits only), and whether a header must have them.
    fn columns(self) -> &'static [(&'static str, &'static [&'static str], bool)] {
        const LICENSE: &[&str] = &[
            "license",
            "licensenumber",
            "currentlicense",
            "facilitylicense",
            "facilitylicensenumber",
            "licence",
            "licenseno",
        ];
        match self {
            Duty::Users => &[
                ("License", LICENSE, false),
                (
                    "UserName",
                    &["username", "user", "employee", "name", "employeename", "login", "users"],
                    true,
                ),
                (
                    "AuthorizedFrom",
                    &["authorizedfrom", "authorisedfrom", "from", "validfrom", "start", "added"],
                    false,
                ),
                (
                    "AuthorizedTo",
                    &["authorizedto", "authorisedto", "to", "validto", "end", "removed"],
                    false,
                ),
            ],
            Duty::Outages => &[
                ("License", LICENSE, false),
                ("LostAt", &["lostat", "lost", "accesslostat", "outagestart", "start"], true),
                (
                    "RestoredAt",
                    &["restoredat", "restored", "accessrestoredat", "outageend", "end"],
                    true,
                ),
                ("Cause", &["cause", "reason", "description", "notes", "note"], false),
            ],
        }
    }
}

/// How to read one file.
pub struct DutyOptions<'a> {
    pub tz: Tz,
    /// The export's licenses: a License cell naming one in other case or spacing is it.
    pub licenses: &'a BTreeSet<String>,
    /// XLSX: the worksheet to read (`--sheet`).
    pub worksheet: Option<&'a str>,
}

/// What a file gave.
pub struct DutyFile {
    /// Accepted rows of `users` or `outages`.
    pub rows: TableBatch,
    /// Rejected rows (1-based line, column, reason, raw).
    pub rejects: Vec<CountReject>,
    /// Data rows read (accepted + rejected).
    pub rows_in: u64,
    /// How the file was read, for the manifest.
    pub read_as: String,
    /// Licenses the file names that are not licenses of the export (their rows are kept out
    /// of the lake: nothing of theirs can be judged).
    pub other_licenses: BTreeSet<String>,
}

/// A file problem that stops the run: the line (if any) and why.
pub type DutyError = (Option<i64>, String);

const HEADER_SEARCH: usize = 100;

/// Read a users or outages file (CSV-like text or XLSX).
pub fn read(
    duty: Duty,
    bytes: &[u8],
    xlsx: bool,
    source_file: &str,
    opts: &DutyOptions<'_>,
) -> Result<DutyFile, DutyError> {
    let texts: Vec<(Option<String>, Cow<'_, str>, Option<TextEncoding>)> = if xlsx {
        super::counts::xlsx_texts(bytes, opts.worksheet)
            .map_err(|e| (None, e))?
            .into_iter()
            .map(|(name, text)| (Some(name), Cow::Owned(text), None))
            .collect()
    } else {
        let (text, enc) = sheet_text::decode(bytes);
        vec![(None, text, Some(enc))]
    };
    let delims: &[u8] = if xlsx { b"," } else { &sheet_text::DELIMITERS };
    let mut why = String::from("the file is empty");
    for (sheet, text, enc) in &texts {
        match find_header(duty, text, delims) {
            Ok(header) => {
                let mut read_as: Vec<String> = Vec::new();
                if let Some(s) = sheet {
                    read_as.push(format!("worksheet `{s}`"));
                }
                if let Some(e) = enc {
                    read_as.push(e.name().to_owned());
                    read_as.push(format!("{}-separated", sheet_text::delimiter_name(header.delim)));
                }
                read_as.push(format!("header on line {}", header.line));
                let mut file = read_rows(duty, text, &header, source_file, opts)?;
                file.read_as = read_as.join(", ");
                return Ok(file);
            }
            Err(e) => why = e,
        }
    }
    Err((None, why))
}

struct Header {
    line: i64,
    delim: u8,
    /// Column index of each canonical column of [`Duty::columns`], in that order.
    index: Vec<Option<usize>>,
    names: Vec<String>,
}

fn header_key(name: &str) -> String {
    clean(name)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The first row naming every required column (best delimiter: the most columns named).
fn find_header(duty: Duty, text: &str, delims: &[u8]) -> Result<Header, String> {
    let cols = duty.columns();
    let mut fields = Vec::new();
    for (line_no, line) in
        Lines::new(text).filter(|(_, l)| !clean(l).is_empty()).take(HEADER_SEARCH)
    {
        let mut best: Option<Header> = None;
        for &d in delims {
            split_fields(line, d, &mut fields);
            let keys: Vec<String> = fields.iter().map(|f| header_key(f)).collect();
            // Each canonical column takes the best-ranked alias present.
            let index: Vec<Option<usize>> = cols
                .iter()
                .map(|(_, aliases, _)| {
                    aliases.iter().find_map(|a| keys.iter().position(|k| k == a))
                })
                .collect();
            let complete = cols.iter().zip(&index).all(|((_, _, req), i)| !req || i.is_some());
            let named = index.iter().flatten().count();
            if complete && best.as_ref().is_none_or(|b| named > b.index.iter().flatten().count()) {
                let names = fields.iter().map(|f| clean(f).to_owned()).collect();
                best = Some(Header { line: line_no, delim: d, index, names });
            }
        }
        if let Some(h) = best {
            return Ok(h);
        }
    }
    let wanted: Vec<&str> = cols.iter().filter(|c| c.2).map(|c| c.0).collect();
    Err(format!(
        "no header row naming the {} column{} of a {} file (SPEC 2.2b: {}) in its first \
         {HEADER_SEARCH} rows",
        wanted.join(" and "),
        if wanted.len() == 1 { "" } else { "s" },
        duty.name(),
        cols.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
    ))
}

/// One readable row before the checks across rows.
struct Row {
    line: i64,
    license: String,
    /// Users: user name; outages: cause.
    text: Option<String>,
    from: Option<Stamp>,
    to: Option<Stamp>,
}

fn read_rows(
    duty: Duty,
    text: &str,
    header: &Header,
    source_file: &str,
    opts: &DutyOptions<'_>,
) -> Result<DutyFile, DutyError> {
    let cols = duty.columns();
    let mut rejects = Vec::new();
    let mut rows = Vec::new();
    let mut other_licenses = BTreeSet::new();
    let mut rows_in = 0u64;
    let mut fields: Vec<Cow<'_, str>> = Vec::new();
    let single = (opts.licenses.len() == 1).then(|| opts.licenses.first().cloned()).flatten();
    if header.index[0].is_none() && single.is_none() {
        return Err((
            Some(header.line),
            format!(
                "the header has no License column ({}), and the export has {} licenses: add a \
                 License column naming each row's license",
                header.names.join(", "),
                opts.licenses.len()
            ),
        ));
    }
    for (line_no, line) in Lines::new(text).skip_while(|(n, _)| *n <= header.line) {
        if clean(line).is_empty() {
            continue;
        }
        let whole = split_fields(line, header.delim, &mut fields);
        if fields.iter().all(|f| clean(f).is_empty()) {
            continue;
        }
        rows_in += 1;
        let mut reject = |column: &str, reason: String| {
            rejects.push(CountReject {
                line: line_no,
                column: column.to_owned(),
                reason,
                raw: line.to_owned(),
            });
        };
        if !whole {
            reject("", "the row has an unbalanced quote".into());
            continue;
        }
        let cell = |k: usize| -> Option<&str> {
            header.index[k].and_then(|i| fields.get(i)).map(|f| clean(f)).filter(|s| !s.is_empty())
        };
        let license = match (header.index[0], cell(0)) {
            (None, _) => single.clone().unwrap_or_default(),
            (Some(_), None) => {
                reject(cols[0].0, "blank License".into());
                continue;
            }
            (Some(_), Some(l)) => {
                let key = |s: &str| s.split_whitespace().collect::<String>().to_ascii_uppercase();
                match opts.licenses.iter().find(|k| key(k) == key(l)) {
                    Some(k) => k.clone(),
                    None => {
                        other_licenses.insert(l.to_owned());
                        l.to_owned()
                    }
                }
            }
        };
        let (text_col, from_col, to_col) = match duty {
            Duty::Users => (1, 2, 3),
            Duty::Outages => (3, 1, 2),
        };
        let mut stamp = |k: usize| -> Result<Option<Stamp>, ()> {
            match cell(k).map(|raw| normalize::parse_timestamp(raw, opts.tz)) {
                None => Ok(None),
                Some(Ok(s)) => Ok(s),
                Some(Err(why)) => {
                    reject(cols[k].0, why.to_owned());
                    Err(())
                }
            }
        };
        let (Ok(from), Ok(to)) = (stamp(from_col), stamp(to_col)) else { continue };
        let text = cell(text_col).map(str::to_owned);
        if duty == Duty::Users && text.is_none() {
            reject(cols[1].0, "blank UserName".into());
            continue;
        }
        if duty == Duty::Outages {
            if let Some(k) = [(1, from), (2, to)].iter().find(|(_, s)| s.is_none()).map(|p| p.0) {
                reject(cols[k].0, format!("blank {}", cols[k].0));
                continue;
            }
        }
        rows.push(Row { line: line_no, license, text, from, to });
    }
    let mut batch = TableBatch::new(duty.table());
    match duty {
        Duty::Users => users_batch(&mut batch, &rows, source_file, &mut rejects),
        Duty::Outages => outages_batch(&mut batch, &mut rows, source_file, opts.tz)?,
    }
    rejects.sort_by_key(|r| r.line);
    Ok(DutyFile { rows: batch, rejects, rows_in, read_as: String::new(), other_licenses })
}

/// `users` rows. A period that ends before it starts is a reject: it authorises nobody,
/// and reading it as "always" or "never" would be a guess.
fn users_batch(
    batch: &mut TableBatch,
    rows: &[Row],
    source_file: &str,
    rejects: &mut Vec<CountReject>,
) {
    for r in rows {
        let name = r.text.as_deref().unwrap_or_default();
        if let (Some(f), Some(t)) = (r.from, r.to) {
            if t.end_us < f.start_us {
                rejects.push(CountReject {
                    line: r.line,
                    column: "AuthorizedTo".into(),
                    reason: "AuthorizedTo is before AuthorizedFrom".into(),
                    raw: format!("{},{name}", r.license),
                });
                continue;
            }
        }
        let key = user_key(name);
        batch.push(&[
            V::S(&r.license),
            V::S(name),
            V::S(&key),
            r.from.map_or(V::Null, |s| V::Ts(s.start_us)),
            r.to.map_or(V::Null, |s| V::Ts(s.start_us)),
            r.to.map_or(V::Null, |s| V::Ts(s.end_us)),
            V::S(source_file),
            V::I(r.line),
        ]);
    }
}

/// How a user name is matched: case- and space-insensitively (the SQL rule computes the
/// same key of the export's names: `LOWER(REPLACE(name, ' ', ''))`).
pub fn user_key(name: &str) -> String {
    name.replace(' ', "").to_lowercase()
}

/// `outages` rows, after refusing inverted windows and windows of one license that overlap
/// (exit 2 naming the row: which outage excused an activity would be ambiguous).
fn outages_batch(
    batch: &mut TableBatch,
    rows: &mut [Row],
    source_file: &str,
    tz: Tz,
) -> Result<(), DutyError> {
    // both bounds are present: rows without them were rejected
    let lost = |r: &Row| r.from.map_or(0, |s| s.start_us);
    let restored = |r: &Row| r.to.map_or(0, |s| s.start_us);
    for r in rows.iter() {
        if restored(r) < lost(r) {
            return Err((
                Some(r.line),
                format!(
                    "outage of {} restored before it was lost (RestoredAt before LostAt)",
                    r.license
                ),
            ));
        }
    }
    rows.sort_by(|a, b| (&a.license, lost(a), a.line).cmp(&(&b.license, lost(b), b.line)));
    for w in rows.windows(2) {
        if w[0].license == w[1].license && lost(&w[1]) < restored(&w[0]) {
            let (first, second) =
                if w[0].line < w[1].line { (&w[0], &w[1]) } else { (&w[1], &w[0]) };
            return Err((
                Some(second.line),
                format!(
                    "outage of {} overlaps the outage on line {} (one loss of access per time: \
                     merge them or correct the times)",
                    second.license, first.line
                ),
            ));
        }
    }
    rows.sort_by_key(|r| r.line);
    for r in rows.iter() {
        let restored_stamp = r.to.expect("checked above");
        let grace = grace_end(restored_stamp.local_date, tz);
        batch.push(&[
            V::S(&r.license),
            V::Ts(lost(r)),
            V::Ts(restored(r)),
            V::D(restored_stamp.local_date),
            grace.map_or(V::Null, V::Ts),
            V::S(&local_text(lost(r), tz)),
            V::S(&local_text(restored(r), tz)),
            V::opt_s(r.text.as_deref()),
            V::S(source_file),
            V::I(r.line),
        ]);
    }
    Ok(())
}

/// An instant as the facility's local time, to the minute (`2025-03-10 14:00`).
pub fn local_text(us: i64, tz: Tz) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The last microsecond of the 3rd local calendar day after `restored_date` (days since
/// 1970-01-01): restored on the 10th, recorded up to the 13th 23:59:59.999999 is in time.
pub fn grace_end(restored_date: i32, tz: Tz) -> Option<i64> {
    local_day_end(i64::from(restored_date) + 3, tz)
}

/// The last microsecond of local calendar day `day` (days since 1970-01-01), DST-aware.
pub fn local_day_end(day: i64, tz: Tz) -> Option<i64> {
    let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?
        .checked_add_signed(chrono::TimeDelta::try_days(day)?)?;
    let text = date.format("%Y-%m-%d").to_string();
    normalize::parse_timestamp(&text, tz).ok().flatten().map(|s| s.end_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(l: &BTreeSet<String>) -> DutyOptions<'_> {
        DutyOptions { tz: chrono_tz::America::Los_Angeles, licenses: l, worksheet: None }
    }

    #[test]
    fn users_read_with_aliases_and_rejects() {
        let lic = BTreeSet::from(["C11-0000001-LIC".to_owned()]);
        let text = "Users of the store\n\nlicense;Employee;Authorized From;Authorized To\n\
                    c11-0000001-lic;Ann Lee;2025-01-01;\n;Bob;;\nC11-0000001-LIC;Cy;2025-13-01;\n\
                    C11-0000001-LIC;;;\n";
        let f = read(Duty::Users, text.as_bytes(), false, "users.csv", &opts(&lic)).unwrap();
        assert_eq!(f.rows_in, 4);
        assert_eq!(f.rows.len(), 1);
        let lines: Vec<(i64, &str)> =
            f.rejects.iter().map(|r| (r.line, r.column.as_str())).collect();
        assert_eq!(lines, [(5, "License"), (6, "AuthorizedFrom"), (7, "UserName")]);
        assert_eq!(user_key(" Ann  Lee"), "annlee");
    }

    /// An XLSX list: the first worksheet holding the table (a notes sheet before it is
    /// passed over), its row numbers as lines; `--sheet` picks one (any case).
    #[test]
    fn users_read_from_an_xlsx_worksheet() {
        let mut book = rust_xlsxwriter::Workbook::new();
        book.add_worksheet().set_name("Notes").unwrap().write_string(0, 0, "read me").unwrap();
        let ws = book.add_worksheet().set_name("Users").unwrap();
        for (c, h) in ["License", "UserName", "AuthorizedFrom"].iter().enumerate() {
            ws.write_string(2, c as u16, *h).unwrap();
        }
        ws.write_string(3, 0, "C11-0000001-LIC").unwrap();
        ws.write_string(3, 1, "Ann Lee").unwrap();
        ws.write_string(3, 2, "2025-01-01").unwrap();
        ws.write_string(5, 1, "Bob").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let lic = BTreeSet::from(["C11-0000001-LIC".to_owned()]);
        let f = read(Duty::Users, &bytes, true, "users.xlsx", &opts(&lic)).unwrap();
        assert_eq!((f.rows_in, f.rows.len()), (2, 1));
        let rejects: Vec<(i64, &str)> =
            f.rejects.iter().map(|r| (r.line, r.column.as_str())).collect();
        assert_eq!(rejects, [(6, "License")]);
        assert!(f.read_as.contains("worksheet `Users`"), "{}", f.read_as);
        let mut o = opts(&lic);
        o.worksheet = Some("users");
        assert_eq!(read(Duty::Users, &bytes, true, "users.xlsx", &o).unwrap().rows.len(), 1);
        o.worksheet = Some("Notes");
        assert!(read(Duty::Users, &bytes, true, "users.xlsx", &o).is_err());
    }

    #[test]
    fn outages_refuse_inverted_and_overlapping_windows() {
        let lic = BTreeSet::from(["L1".to_owned()]);
        let bad = "License,LostAt,RestoredAt,Cause\nL1,2025-03-10T10:00,2025-03-10T09:00,x\n";
        let e = read(Duty::Outages, bad.as_bytes(), false, "o.csv", &opts(&lic)).err().unwrap();
        assert_eq!(e.0, Some(2));
        let overlap = "License,LostAt,RestoredAt\nL1,2025-03-10T10:00,2025-03-11T09:00\n\
                       L1,2025-03-09T10:00,2025-03-10T10:30\n";
        let e = read(Duty::Outages, overlap.as_bytes(), false, "o.csv", &opts(&lic)).err().unwrap();
        assert_eq!(e.0, Some(3));
        assert!(e.1.contains("line 2"), "{}", e.1);
        let ok = "License,LostAt,RestoredAt\nL1,2025-03-10T10:00,2025-03-11T09:00\n\
                  L1,2025-03-11T09:00,2025-03-12T10:30\n";
        assert_eq!(
            read(Duty::Outages, ok.as_bytes(), false, "o.csv", &opts(&lic)).unwrap().rows.len(),
            2
        );
    }

    #[test]
    fn grace_ends_with_the_third_local_day_after_restoration() {
        let tz = chrono_tz::America::Los_Angeles;
        let r = normalize::parse_timestamp("2025-03-10T14:00", tz).unwrap().unwrap();
        let end = grace_end(r.local_date, tz).unwrap();
        let last = normalize::parse_timestamp("2025-03-13T23:59:59.999999", tz).unwrap().unwrap();
        assert_eq!(end, last.start_us);
    }
}

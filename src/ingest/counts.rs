//! Physical count sheets (CSV and its relatives, or a worksheet of an XLSX) → the `counts`
//! table, and the count rows that could not be read → `count_rejects`.
//!
//! Sheets come as operators keep them (SPEC 2.2): any of the encodings and delimiters of
//! [`sheet_text`](super::sheet_text), title rows above the header, Metrc web-grid column
//! names, a quantity cell holding its unit, thousands separators, labels in any case. The
//! header is the first row that names a label and a quantity column; headers are matched
//! case- and punctuation-insensitively against the aliases below, and a column that is not
//! an alias (`Package Item`, `Packaged On`) is never read.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono_tz::Tz;

use super::normalize::{self, Stamp, Unit};
use super::raw::Qty;
use super::sheet_text::{self, Lines, TextEncoding, clean, split_fields};
use crate::schema;
use crate::store::{TableBatch, V};

/// Canonical count columns and the header names that mean them (lowercase, only a-z0-9),
/// best first: when a sheet has two columns for one meaning, the better name wins.
const ALIASES: &[(Col, &[&str])] = &[
    (
        Col::License,
        &[
            "license",
            "currentlicense",
            "licensenumber",
            "facilitylicense",
            "facilitylicensenumber",
            "licence",
            "licenseno",
        ],
    ),
    (
        Col::Label,
        &[
            "label",
            "tag",
            "packagetag",
            "packagelabel",
            "uid",
            "packageuid",
            "tagnumber",
            "packagetagnumber",
            "tagid",
            "packageid",
        ],
    ),
    (
        Col::Quantity,
        // A sheet printed from the system and filled in by hand holds the system's
        // quantity and the count side by side: the counted one wins.
        &[
            "countedquantity",
            "quantitycounted",
            "countedqty",
            "qtycounted",
            "physicalcount",
            "physicalquantity",
            "physicalqty",
            "actualcount",
            "actualquantity",
            "counted",
            "count",
            "quantity",
            "qty",
            "packagequantity",
        ],
    ),
    (
        Col::Unit,
        &[
            "unitofmeasure",
            "unit",
            "uom",
            "unitofmeasurename",
            "units",
            "unitofmeasureabbreviation",
            "quantityunit",
            "packageunitofmeasure",
        ],
    ),
    (Col::Location, &["location", "locationname", "packagelocation", "room"]),
    (
        Col::CountedAt,
        &[
            "countedat",
            "counteddatetime",
            "counteddate",
            "countedon",
            "countdate",
            "countdatetime",
            "counttime",
            "datecounted",
            "timecounted",
            "datetimecounted",
            "countedtime",
            "inventorydate",
            "date",
            "datetime",
            "timestamp",
        ],
    ),
    (Col::CountedBy, &["countedby", "counter", "countedbyuser"]),
];

/// Rows searched for the header (title and preamble rows come first).
const HEADER_SEARCH: usize = 100;
/// Physical lines a quoted cell may span before its row is taken as broken.
const MAX_CELL_LINES: usize = 50;
/// Largest count quantity in base units (g, ea, ml): a million tonnes, a trillion units,
/// a billion litres, far beyond any package. Rows above it are rejected as out of range,
/// so that a license's counted total (at most this times the rows of a sheet, ~1e21 for a
/// billion rows) never overflows to infinity.
pub const MAX_COUNT_QUANTITY: f64 = 1e12;
/// Columns of a worksheet read, from its leftmost used column: no count sheet has more.
/// Cells further right are ignored, so a cell at XFD (column 16,384) beside a small table
/// cannot widen every row of it.
const MAX_XLSX_COLUMNS: u32 = 1024;
/// Up to this many used columns every row of a worksheet is written with all of them (the
/// dense range's shape); wider, each row ends at its last cell.
const PAD_XLSX_COLUMNS: usize = 64;

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
    /// 1-based physical line (XLSX: the worksheet's row number).
    pub line: i64,
    /// Header name of the bad column (empty when the row itself is broken).
    pub column: String,
    /// Why.
    pub reason: String,
    /// The row as text.
    pub raw: String,
}

/// How a sheet was read, for the manifest and the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetFormat {
    /// Encoding of the bytes (XLSX: none).
    pub encoding: Option<TextEncoding>,
    /// Field delimiter (XLSX: none).
    pub delimiter: Option<u8>,
    /// Line (row) of the header.
    pub header_line: i64,
    /// Worksheet read (XLSX).
    pub worksheet: Option<String>,
    /// The sheet has a count-time column.
    pub has_time: bool,
    /// The sheet has a license column.
    pub has_license: bool,
}

impl SheetFormat {
    /// One line for people: "Windows-1252, semicolon-separated, header on line 4".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(w) = &self.worksheet {
            parts.push(format!("worksheet `{w}`"));
        }
        if let Some(e) = self.encoding {
            parts.push(e.name().to_owned());
        }
        if let Some(d) = self.delimiter {
            parts.push(format!("{}-separated", sheet_text::delimiter_name(d)));
        }
        parts.push(format!(
            "header on {} {}",
            if self.worksheet.is_some() { "row" } else { "line" },
            self.header_line
        ));
        parts.join(", ")
    }
}

/// What a count sheet gave.
pub struct CountSheet {
    /// Accepted rows (`counts`); `license` is null where the sheet's own license applies
    /// (no License column or a blank cell) and no default was given.
    pub rows: TableBatch,
    /// Count rows that were rejected (`count_rejects`): a readable label among them was
    /// counted with a quantity nobody can know.
    pub unknown: TableBatch,
    /// Rejected rows, as they go to rejects.parquet.
    pub rejects: Vec<CountReject>,
    /// Data rows read (accepted + rejected).
    pub rows_in: u64,
    /// How the sheet was read.
    pub format: SheetFormat,
}

/// Header problem or a sheet that cannot be read as counts: fatal for the file.
pub type HeaderError = String;

/// How to read a sheet.
#[derive(Clone, Copy)]
pub struct SheetOptions<'a> {
    /// Facility time zone for naive times.
    pub tz: Tz,
    /// When the counts were made, for a sheet without a count-time column (`--counted-at`).
    pub counted_at: Option<Stamp>,
    /// A sheet without a count-time column and no `counted_at` is an error (else its rows
    /// have no count time).
    pub require_time: bool,
    /// The export's licenses: a License cell naming one in other case or spacing is it.
    pub licenses: &'a BTreeSet<String>,
    /// License of rows without one of their own; `None` leaves them null for the caller.
    pub default_license: Option<&'a str>,
    /// XLSX: the worksheet to read (`--sheet`).
    pub worksheet: Option<&'a str>,
}

impl<'a> SheetOptions<'a> {
    /// Plain options: no export licenses, rows without a license get `default_license`,
    /// and a sheet without a count-time column is read with null count times.
    pub fn plain(tz: Tz, default_license: &'a str, licenses: &'a BTreeSet<String>) -> Self {
        SheetOptions {
            tz,
            counted_at: None,
            require_time: false,
            licenses,
            default_license: Some(default_license),
            worksheet: None,
        }
    }
}

/// Read one CSV-like count sheet with plain options (see [`SheetOptions::plain`]).
pub fn read_csv(
    bytes: &[u8],
    source_file: &str,
    default_license: &str,
    tz: Tz,
) -> Result<CountSheet, HeaderError> {
    let none = BTreeSet::new();
    read_text_sheet(bytes, source_file, &SheetOptions::plain(tz, default_license, &none))
}

/// Read a CSV-like count sheet (any encoding and delimiter of SPEC 2.2).
pub fn read_text_sheet(
    bytes: &[u8],
    source_file: &str,
    opts: &SheetOptions<'_>,
) -> Result<CountSheet, HeaderError> {
    let (text, encoding) = sheet_text::decode(bytes);
    let header = find_header(&text, &sheet_text::DELIMITERS).map_err(|e| {
        if encoding == TextEncoding::Utf8 {
            e
        } else {
            format!("{e} (read as {})", encoding.name())
        }
    })?;
    let mut sheet = read_rows(&text, header, source_file, opts)?;
    sheet.format.encoding = Some(encoding);
    Ok(sheet)
}

/// Read an XLSX count sheet: `opts.worksheet`, else the first worksheet whose rows hold a
/// header. Its rows become text lines numbered as the worksheet's rows. Cells become text
/// as a person reads them: numbers in their shortest form, a date-time cell as the
/// facility's local time, a date cell (no time of day) as a date, `TRUE`/`FALSE`, an error
/// cell as its code (`#N/A`). A line break inside a cell becomes a space.
pub fn read_xlsx(
    bytes: &[u8],
    source_file: &str,
    opts: &SheetOptions<'_>,
) -> Result<CountSheet, HeaderError> {
    use calamine::{Reader, Xlsx};
    let mut book = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a readable XLSX workbook: {e}"))?;
    let names = book.sheet_names();
    if names.is_empty() {
        return Err("the workbook has no worksheet".into());
    }
    let wanted: Vec<String> = match opts.worksheet {
        Some(w) => match names.iter().find(|n| n.eq_ignore_ascii_case(w.trim())) {
            Some(n) => vec![n.clone()],
            None => {
                return Err(format!(
                    "the workbook has no worksheet named `{w}` (--sheet); its worksheets: {}",
                    names.join(", ")
                ));
            }
        },
        None => names.clone(),
    };
    let mut tried = Vec::new();
    for name in &wanted {
        let cells = worksheet_cells(&mut book, name)
            .map_err(|e| format!("unreadable worksheet `{name}`: {e}"))?;
        let text = worksheet_text(cells)?;
        match find_header(&text, b",") {
            Ok(header) => {
                let mut sheet = read_rows(&text, header, source_file, opts)?;
                sheet.format.worksheet = Some(name.clone());
                return Ok(sheet);
            }
            Err(e) => tried.push(format!("`{name}`: {e}")),
        }
    }
    Err(format!("no worksheet holds a count table; {}", tried.join("; ")))
}

/// The worksheets of an XLSX workbook (`worksheet` only, when given) as CSV text whose
/// line numbers are the rows, in workbook order: for the other sheets a licensee keeps
/// (users, outages), read the way a count sheet's worksheet is.
pub(super) fn xlsx_texts(
    bytes: &[u8],
    worksheet: Option<&str>,
) -> Result<Vec<(String, String)>, HeaderError> {
    use calamine::{Reader, Xlsx};
    let mut book = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a readable XLSX workbook: {e}"))?;
    let names = book.sheet_names();
    let wanted: Vec<String> = match worksheet {
        Some(w) => names.iter().filter(|n| n.eq_ignore_ascii_case(w.trim())).cloned().collect(),
        None => names.clone(),
    };
    let mut out = Vec::new();
    for name in wanted {
        let cells = worksheet_cells(&mut book, &name)
            .map_err(|e| format!("unreadable worksheet `{name}`: {e}"))?;
        out.push((name, worksheet_text(cells)?));
    }
    Ok(out)
}

/// The non-empty cells of a worksheet as `(row, column, value)`, read one at a time:
/// memory and work follow the cells the file holds, never the dimension it declares (a
/// 19 KB workbook may declare A1:XFD1048576, 17 billion cells as a dense range).
fn worksheet_cells<RS: std::io::Read + std::io::Seek>(
    book: &mut calamine::Xlsx<RS>,
    name: &str,
) -> Result<Vec<(u32, u32, calamine::Data)>, calamine::XlsxError> {
    use calamine::{DataRef, XlsxError};
    let mut reader = match book.worksheet_cells_reader(name) {
        Ok(r) => r,
        // A chart sheet: no cells (as calamine's dense range reads it).
        Err(XlsxError::NotAWorksheet(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut cells = Vec::new();
    while let Some(cell) = reader.next_cell()? {
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        let (row, col) = cell.get_position();
        cells.push((row, col, cell.get_value().clone().into()));
    }
    // Rows and cells in order; a cell given twice keeps its last value, as in the range.
    cells.sort_by_key(|&(r, c, _)| (r, c));
    cells.reverse();
    cells.dedup_by_key(|&mut (r, c, _)| (r, c));
    cells.reverse();
    Ok(cells)
}

/// A worksheet's used range as CSV text whose line numbers are the worksheet's row numbers:
/// a row without cells is an empty line, a row with cells has one field per column from the
/// leftmost used one to the rightmost (at most [`MAX_XLSX_COLUMNS`]), so the text grows with
/// the cells present, never with the declared or the used range's size. Beyond
/// [`PAD_XLSX_COLUMNS`] columns a row ends at its own last cell (the empty cells after it
/// are no data), so that one far cell does not widen every row.
fn worksheet_text(cells: Vec<(u32, u32, calamine::Data)>) -> Result<String, HeaderError> {
    let Some(first_col) = cells.iter().map(|c| c.1).min() else {
        return Ok(String::new());
    };
    let last_col = cells.iter().map(|c| c.1).max().unwrap_or(first_col);
    let width = (last_col - first_col).min(MAX_XLSX_COLUMNS - 1) as usize + 1;
    let mut out = Vec::new();
    let mut line = 0u32; // rows written so far (the next row's index)
    let mut fields = vec![String::new(); width];
    let mut cells = cells.into_iter().peekable();
    while let Some(&(row, _, _)) = cells.peek() {
        out.resize(out.len() + (row - line) as usize, b'\n');
        fields.iter_mut().for_each(String::clear);
        let mut used = 0;
        while let Some((_, col, value)) = cells.next_if(|c| c.0 == row) {
            if let Some(f) = fields.get_mut((col - first_col) as usize) {
                *f = cell_text(&value);
                used = used.max((col - first_col) as usize + 1);
            }
        }
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(1024)
            .from_writer(&mut out);
        let shown = if width <= PAD_XLSX_COLUMNS { width } else { used.max(1) };
        csv.write_record(&fields[..shown]).map_err(|e| format!("cannot convert a row: {e}"))?;
        csv.flush().map_err(|e| format!("cannot convert a row: {e}"))?;
        drop(csv);
        line = row + 1;
    }
    String::from_utf8(out).map_err(|e| format!("cannot convert the sheet: {e}"))
}

/// A cell as a person reads it (see [`read_xlsx`]).
fn cell_text(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
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
    }
}

/// The header row: where it is, its delimiter and which column means what.
struct Header {
    line: i64,
    delim: u8,
    names: Vec<String>,
    cols: Vec<(Col, usize)>,
    width: usize,
}

impl Header {
    /// The unit the quantity column's name gives (`Quantity (g)`).
    fn quantity_unit(&self) -> Option<(Unit, &str)> {
        self.find(Col::Quantity)
            .and_then(|i| self.names.get(i))
            .and_then(|n| header_unit(n))
            .map(|(_, u)| u)
    }
}

impl Header {
    fn find(&self, c: Col) -> Option<usize> {
        self.cols.iter().find(|(k, _)| *k == c).map(|(_, i)| *i)
    }
    fn name(&self, i: usize) -> String {
        self.names.get(i).cloned().unwrap_or_default()
    }
}

/// A header name as compared with the aliases: lower-case letters and digits only. A
/// trailing note in brackets is left out (`Quantity (g)`, `Qty (each or weight)` are
/// `quantity`, `qty`), unless it says the column is the system's (`Quantity (Metrc)`, never
/// a count) or that it is the count (`Quantity (counted)` is `countedquantity`).
fn header_key(name: &str) -> String {
    let alnum = |s: &str| -> String {
        s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
    };
    let name = clean(name);
    let Some((base, note)) = bracket_note(name) else { return alnum(name) };
    let note = alnum(note);
    let says = |words: &[&str]| words.iter().any(|w| note.contains(w));
    if says(&["system", "metrc", "expected", "book", "onhand", "recorded", "previous"]) {
        alnum(name)
    } else if says(&["counted", "physical", "actual"]) {
        format!("counted{}", alnum(base))
    } else {
        alnum(base)
    }
}

/// `Qty (each or weight)`: the name before a trailing bracketed note, and the note.
fn bracket_note(name: &str) -> Option<(&str, &str)> {
    let close = name.strip_suffix(')').or_else(|| name.strip_suffix(']'))?;
    let open = close.rfind(['(', '['])?;
    Some((close[..open].trim_end(), &close[open + 1..]))
}

/// `Quantity (g)`, `Qty [lb]`: the name before the brackets and the unit in them.
fn header_unit(name: &str) -> Option<(&str, (Unit, &str))> {
    let name = clean(name);
    let close = name.strip_suffix(')').or_else(|| name.strip_suffix(']'))?;
    let open = close.rfind(['(', '['])?;
    let text = close[open + 1..].trim();
    let unit = normalize::parse_unit(text)?;
    Some((&name[..open], (unit, text)))
}

/// Which column means what: per meaning, the column with the best alias (leftmost on a tie).
fn map_columns(names: &[Cow<'_, str>]) -> Vec<(Col, usize)> {
    let keys: Vec<String> = names.iter().map(|n| header_key(n)).collect();
    let mut cols = Vec::new();
    for (col, aliases) in ALIASES {
        let best = keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| aliases.iter().position(|a| a == k).map(|rank| (rank, i)))
            .min();
        if let Some((_, i)) = best {
            cols.push((*col, i));
        }
    }
    cols
}

/// A header row read with one delimiter: columns recognised, fields, delimiter, meanings, names.
type Candidate = (usize, usize, u8, Vec<(Col, usize)>, Vec<String>);

/// The first row (of the first [`HEADER_SEARCH`] non-blank ones) that names a label and a
/// quantity column, with the delimiter that makes it so (the one naming most columns).
fn find_header(text: &str, delims: &[u8]) -> Result<Header, HeaderError> {
    let mut fields = Vec::new();
    let mut first_line: Option<&str> = None;
    let mut partial: Option<String> = None;
    for (line_no, line) in
        Lines::new(text).filter(|(_, l)| !clean(l).is_empty()).take(HEADER_SEARCH)
    {
        first_line.get_or_insert(line);
        let mut best: Option<Candidate> = None;
        for &d in delims {
            split_fields(line, d, &mut fields);
            let cols = map_columns(&fields);
            let has = |c: Col| cols.iter().any(|(k, _)| *k == c);
            if has(Col::Label) && has(Col::Quantity) {
                let score = (cols.len(), fields.len());
                if best.as_ref().is_none_or(|b| score > (b.0, b.1)) {
                    let names = fields.iter().map(|f| clean(f).to_owned()).collect();
                    best = Some((score.0, score.1, d, cols, names));
                }
            } else if partial.is_none() && (has(Col::Label) || has(Col::Quantity)) {
                partial = Some(format!(
                    "line {line_no} names a {} column but no {} column",
                    if has(Col::Label) { "label" } else { "quantity" },
                    if has(Col::Label) {
                        "quantity (Quantity, Qty, Count, Package Quantity)"
                    } else {
                        "label (Label, Tag, Package Tag, Package Label, UID)"
                    },
                ));
            }
        }
        if let Some((_, width, delim, cols, names)) = best {
            return Ok(Header { line: line_no, delim, names, cols, width });
        }
    }
    let Some(first) = first_line else {
        return Err("the sheet is empty: no header row".into());
    };
    let shown: String = first.chars().take(120).collect();
    Err(format!(
        "no header row naming a label column (Label, Tag, Package Tag, Package Label, UID) and a \
         quantity column (Quantity, Qty, Count, Package Quantity) in its first {HEADER_SEARCH} \
         rows{}; the first row reads `{shown}`",
        partial.map(|p| format!(" ({p})")).unwrap_or_default()
    ))
}

/// The data rows after the header.
fn read_rows(
    text: &str,
    header: Header,
    source_file: &str,
    opts: &SheetOptions<'_>,
) -> Result<CountSheet, HeaderError> {
    let has_time = header.find(Col::CountedAt).is_some();
    let format = SheetFormat {
        encoding: None,
        delimiter: Some(header.delim),
        header_line: header.line,
        worksheet: None,
        has_time,
        has_license: header.find(Col::License).is_some(),
    };
    let mut rd = RowReader {
        header,
        opts,
        source_file,
        rows: TableBatch::new(schema::COUNTS),
        unknown: TableBatch::new(schema::COUNT_REJECTS),
        rejects: Vec::new(),
        rows_in: 0,
        last_license: std::cell::RefCell::new(None),
        comma_decimal: false,
    };
    rd.comma_decimal = sheet_uses_decimal_comma(text, &rd.header);
    let header_line = rd.header.line;
    let mut lines = Lines::new(text).skip_while(|(n, _)| *n <= header_line).peekable();
    let mut fields: Vec<Cow<'_, str>> = Vec::new();
    while let Some((line_no, line)) = lines.next() {
        if split_fields(line, rd.header.delim, &mut fields) {
            rd.row(line_no, &fields, line);
            continue;
        }
        // A quoted cell open at the end of its line: a cell with a line break in it, or a
        // stray quote that would swallow the rows below. It is a cell only if its closing
        // quote comes within a few lines, the row then has the header's width, and none of
        // the lines it takes reads as a count row of its own.
        match rd.joined(line, &lines) {
            Some((taken, joined)) => {
                for _ in 0..taken {
                    lines.next();
                }
                let mut jf = Vec::new();
                split_fields(&joined, rd.header.delim, &mut jf);
                rd.row(line_no, &jf, &joined);
            }
            None => rd.broken(line_no, &fields, line),
        }
    }
    // Without a count time every row would be judged at a guessed moment; a sheet with no
    // rows needs none.
    if !has_time && opts.require_time && opts.counted_at.is_none() && rd.rows_in > 0 {
        return Err(format!(
            "the sheet has no count-time column (Counted At, Count Date, Date, Timestamp; found: \
             {}); add one, or pass --counted-at with when the count was made, e.g. \
             --counted-at 2026-10-29T17:00 (applies to sheets without such a column)",
            rd.header.names.join(", ")
        ));
    }
    Ok(CountSheet {
        rows: rd.rows,
        unknown: rd.unknown,
        rejects: rd.rejects,
        rows_in: rd.rows_in,
        format,
    })
}

/// Whether the sheet's quantity cells are written with a decimal comma (one pass over the
/// quantity column; a comma-separated sheet is not scanned, see [`decimal_mark`]).
fn sheet_uses_decimal_comma(text: &str, header: &Header) -> bool {
    let Some(qi) = header.find(Col::Quantity) else { return false };
    if header.delim == b',' {
        return false;
    }
    let mut fields = Vec::new();
    let cells: Vec<String> = Lines::new(text)
        .skip_while(|(n, _)| *n <= header.line)
        .filter_map(|(_, line)| {
            split_fields(line, header.delim, &mut fields);
            fields.get(qi).map(|f| clean(f).to_owned())
        })
        .collect();
    decimal_mark(cells.iter().map(String::as_str), header.delim)
}

struct RowReader<'o, 'a> {
    header: Header,
    opts: &'o SheetOptions<'a>,
    source_file: &'o str,
    rows: TableBatch,
    unknown: TableBatch,
    rejects: Vec<CountReject>,
    rows_in: u64,
    /// The last License cell read and the license it names.
    last_license: std::cell::RefCell<Option<(String, String)>>,
    /// The sheet writes decimals with a comma (see [`decimal_mark`]).
    comma_decimal: bool,
}

/// What a rejected count row still tells.
struct Unreadable<'s> {
    license: Option<String>,
    label: Option<Cow<'s, str>>,
    counted: Option<Stamp>,
    column: String,
    reason: String,
    raw: &'s str,
    /// A count row (its label, if readable, was counted); a totals row is not.
    is_count: bool,
}

impl RowReader<'_, '_> {
    /// `(lines taken after the first, the row's text)` when the open quote of `first` closes
    /// within [`MAX_CELL_LINES`] lines into a row of the header's width.
    fn joined<'t, I>(&self, first: &str, rest: &std::iter::Peekable<I>) -> Option<(usize, String)>
    where
        I: Iterator<Item = (i64, &'t str)> + Clone,
    {
        let mut joined = first.to_owned();
        for (taken, (_, next)) in rest.clone().take(MAX_CELL_LINES).enumerate() {
            if self.looks_like_row(next) {
                return None;
            }
            joined.push('\n');
            joined.push_str(next);
            let mut fields = Vec::new();
            if split_fields(&joined, self.header.delim, &mut fields) {
                let width = fields.len();
                drop(fields);
                return (width == self.header.width).then_some((taken + 1, joined));
            }
        }
        None
    }

    /// A line that is a complete row of the header's width with a tag-like label.
    fn looks_like_row(&self, line: &str) -> bool {
        let mut f = Vec::new();
        let Some(li) = self.header.find(Col::Label) else { return false };
        split_fields(line, self.header.delim, &mut f)
            && f.len() == self.header.width
            && f.get(li).is_some_and(|l| {
                let l = clean(l);
                l.len() >= 8 && l.chars().all(|c| c.is_ascii_alphanumeric())
            })
    }

    /// A row broken by a quote that never closes: rejected with its line. Its label is
    /// still read when it comes before the broken cell.
    fn broken(&mut self, line_no: i64, fields: &[Cow<'_, str>], line: &str) {
        let open = fields.len() - 1;
        let label =
            self.header.find(Col::Label).filter(|&i| i < open).and_then(|i| label_of(&fields[i]));
        let license = self
            .header
            .find(Col::License)
            .filter(|&i| i < open)
            .and_then(|i| self.license_of(&fields[i]));
        self.reject(
            line_no,
            Unreadable {
                license,
                label,
                counted: None,
                column: self.header.name(open),
                reason: "unbalanced quote: a cell opens a quote that is not closed on this line \
                         (nor closes into a row of the header's width)"
                    .into(),
                raw: line,
                is_count: true,
            },
        );
    }

    /// A License cell as the export's license it names (in any case or spacing), else as
    /// written. Consecutive rows repeat one license, so the last answer is kept.
    fn license_of(&self, cell: &str) -> Option<String> {
        let c = clean(cell);
        if c.is_empty() {
            return None;
        }
        if let Some((raw, lic)) = &*self.last_license.borrow() {
            if raw == c {
                return Some(lic.clone());
            }
        }
        let lic = self.resolve_license(c);
        *self.last_license.borrow_mut() = Some((c.to_owned(), lic.clone()));
        Some(lic)
    }

    fn resolve_license(&self, c: &str) -> String {
        let squash = |s: &str| -> String {
            s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
        };
        let key = squash(c);
        self.opts
            .licenses
            .iter()
            .find(|l| squash(l) == key)
            .cloned()
            .unwrap_or_else(|| c.to_owned())
    }

    fn reject(&mut self, line: i64, u: Unreadable<'_>) {
        self.rows_in += 1;
        if u.is_count {
            self.unknown.push(&[
                V::opt_s(u.license.as_deref().or(self.opts.default_license)),
                V::opt_s(u.label.as_deref()),
                V::opt_ts(u.counted.map(|s| s.start_us)),
                V::opt_ts(u.counted.map(|s| s.end_us)),
                V::opt_d(u.counted.map(|s| s.local_date)),
                V::S(&u.column),
                V::S(&u.reason),
                V::S(self.source_file),
                V::I(line),
            ]);
        }
        self.rejects.push(CountReject {
            line,
            column: u.column,
            reason: u.reason,
            raw: u.raw.to_owned(),
        });
    }

    /// One data row.
    fn row(&mut self, line: i64, fields: &[Cow<'_, str>], raw: &str) {
        if fields.iter().all(|f| clean(f).is_empty()) {
            return; // a blank line, or a row of empty cells
        }
        let h = &self.header;
        let cell = |c: Col| -> Option<&str> {
            h.find(c).and_then(|i| fields.get(i)).map(|f| clean(f)).filter(|s| !s.is_empty())
        };
        let name = |c: Col| h.find(c).map(|i| h.name(i)).unwrap_or_default();
        let license = cell(Col::License).and_then(|c| self.license_of(c));
        let label = cell(Col::Label).and_then(label_of);
        let counted = match cell(Col::CountedAt) {
            None => Ok(self.opts.counted_at),
            Some(s) => normalize::parse_timestamp(s, self.opts.tz)
                .map_err(|why| (name(Col::CountedAt), format!("{why}: `{s}`"))),
        };
        let qty = match cell(Col::Quantity) {
            None => Err((name(Col::Quantity), "missing or blank".to_owned())),
            Some(s) => {
                quantity_cell(s, self.comma_decimal).map_err(|why| (name(Col::Quantity), why))
            }
        };
        let unit = match (cell(Col::Unit), &qty) {
            (None, Ok((_, u))) => match (u, h.quantity_unit()) {
                (Some((c, t)), Some((hu, ht))) if *c != hu => Err((
                    name(Col::Quantity),
                    format!("the quantity cell says `{t}` but the column's name says `{ht}`"),
                )),
                (Some(u), _) => Ok(Some(*u)),
                (None, hu) => Ok(hu),
            },
            (Some(s), Ok((_, in_cell))) => match normalize::parse_unit(s) {
                None => Err((name(Col::Unit), format!("unknown unit of measure `{s}`"))),
                Some(u) if in_cell.is_some_and(|(c, _)| c != u) => Err((
                    name(Col::Unit),
                    format!(
                        "the quantity cell says `{}` but the unit column says `{s}`",
                        in_cell.map_or("", |(_, t)| t)
                    ),
                )),
                Some(u) => Ok(Some((u, s))),
            },
            (_, Err(_)) => Ok(None),
        };
        let bad = if label.is_none() {
            Some((h.name(h.find(Col::Label).unwrap_or(0)), "missing or blank".to_owned()))
        } else {
            qty.as_ref().err().or(unit.as_ref().err()).or(counted.as_ref().err()).cloned()
        };
        if let Some((column, reason)) = bad {
            let is_total = label.as_deref().is_some_and(is_totals_row);
            let counted = counted.ok().flatten();
            self.reject(
                line,
                Unreadable { license, label, counted, column, reason, raw, is_count: !is_total },
            );
            return;
        }
        let (Some(label), Ok((quantity, _)), Ok(unit), Ok(counted)) = (label, qty, unit, counted)
        else {
            return;
        };
        let q = Qty::new(Some(quantity), unit.map(|(u, _)| u), None);
        // 1e308 kg is a finite number but no finite number of grams; and a sheet of
        // quantities each finite but huge would sum to infinity, and its license's totals
        // to "n/a". No package holds MAX_COUNT_QUANTITY of its base unit.
        if q.base.unwrap_or(quantity).abs() > MAX_COUNT_QUANTITY || !quantity.is_finite() {
            let reason = format!(
                "number out of range in base units: `{}` (a count is at most {MAX_COUNT_QUANTITY:e} \
                 g, ea or ml)",
                cell(Col::Quantity).unwrap_or("")
            );
            let column = name(Col::Quantity);
            self.reject(
                line,
                Unreadable {
                    license,
                    label: Some(label),
                    counted,
                    column,
                    reason,
                    raw,
                    is_count: true,
                },
            );
            return;
        }
        if is_totals_row(&label) {
            let column = name(Col::Label);
            let reason = "a totals row, not a package".to_owned();
            self.reject(
                line,
                Unreadable { license, label: None, counted, column, reason, raw, is_count: false },
            );
            return;
        }
        let unit_text: Option<&str> = unit.map(|(_, text)| text);
        self.rows_in += 1;
        self.rows.push(&[
            V::opt_s(license.as_deref().or(self.opts.default_license)),
            V::S(&label),
            V::F(quantity),
            V::opt_s(unit_text),
            V::opt_s(q.qtype_str()),
            V::opt_s(q.base_unit()),
            V::opt_f(q.base),
            V::opt_s(cell(Col::Location)),
            V::opt_ts(counted.map(|s| s.start_us)),
            V::opt_ts(counted.map(|s| s.end_us)),
            V::opt_d(counted.map(|s| s.local_date)),
            V::opt_s(cell(Col::CountedBy)),
            V::S(self.source_file),
            V::I(line),
        ]);
    }
}

/// A label as Metrc writes tags: without surrounding space, upper-case.
fn label_of(cell: &str) -> Option<Cow<'_, str>> {
    let c = clean(cell);
    if c.is_empty() {
        None
    } else if c.chars().any(char::is_lowercase) {
        Some(Cow::Owned(c.to_uppercase()))
    } else {
        Some(Cow::Borrowed(c))
    }
}

/// `TOTAL`, `Grand Total`, `Sum`: a spreadsheet's footer row, not a package.
fn is_totals_row(label: &str) -> bool {
    matches!(
        label.to_ascii_uppercase().as_str(),
        "TOTAL" | "TOTALS" | "GRAND TOTAL" | "SUBTOTAL" | "SUM"
    )
}

/// A unit and its text as the sheet wrote it.
type UnitText<'a> = (Unit, &'a str);

/// A quantity cell: a number, possibly with thousands separators, possibly followed by its
/// unit (`33.07 g`, `1,234.5 Grams`, `311 ea`, `2 fl oz`), with the unit's text as written.
fn quantity_cell(s: &str, comma_decimal: bool) -> Result<(f64, Option<UnitText<'_>>), String> {
    if !comma_decimal {
        if let Ok(x) = normalize::parse_number(s) {
            return Ok((x, None));
        }
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i].is_ascii_digit() || b"+-.,' ".contains(&b[i])) {
        i += 1;
    }
    // An exponent (`1.5e3`) belongs to the number only when digits follow it.
    if i > 0 && matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            i = j;
        }
    }
    // Non-breaking spaces between the number and its unit or inside the number.
    let (num, unit_s) = s.split_at(i);
    let unit_s = clean(unit_s);
    let num = num.trim();
    let (num, unit_s) = match unit_s.strip_prefix(['\u{a0}', '\u{202f}']) {
        Some(rest) => (num, clean(rest)),
        None => (num, unit_s),
    };
    let unit = if unit_s.is_empty() {
        None
    } else {
        let u = normalize::parse_unit(unit_s)
            .ok_or_else(|| format!("not a number (or unknown unit): `{s}`"))?;
        Some((u, unit_s))
    };
    let x = number(num, comma_decimal).ok_or_else(|| format!("not a number: `{s}`"))?;
    Ok((x, unit))
}

/// A number with thousands separators (`1,234.5`, `1.234,5`, `1 234,5`, `1'234.5`) or a
/// decimal comma (`12,5`). `1,234` is one thousand two hundred and thirty-four, unless the
/// sheet writes decimals with a comma (`comma_decimal`, see [`decimal_mark`]): then it is
/// 1.234, and `1.234` is one thousand two hundred and thirty-four.
fn number(s: &str, comma_decimal: bool) -> Option<f64> {
    let s: String =
        s.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'')).collect();
    if !(comma_decimal && s.contains('.')) {
        if let Ok(x) = normalize::parse_number(&s) {
            return Some(x);
        }
    }
    let (sign, body) = match s.strip_prefix('-') {
        Some(b) => ("-", b),
        None => ("", s.strip_prefix('+').unwrap_or(&s)),
    };
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    let plain = match (body.rfind('.'), body.rfind(',')) {
        // 1,234.5 — commas group thousands.
        (Some(d), Some(c)) if d > c && grouped(&body[..d], ',') && digits(&body[d + 1..]) => {
            format!("{}.{}", body[..d].replace(',', ""), &body[d + 1..])
        }
        // 1.234,5 — dots group thousands, the comma is the decimal mark.
        (Some(d), Some(c)) if c > d && grouped(&body[..c], '.') && digits(&body[c + 1..]) => {
            format!("{}.{}", body[..c].replace('.', ""), &body[c + 1..])
        }
        (None, Some(_)) if !comma_decimal && grouped(body, ',') => body.replace(',', ""),
        (None, Some(c)) if digits(&body[..c]) && digits(&body[c + 1..]) => {
            format!("{}.{}", &body[..c], &body[c + 1..])
        }
        (Some(_), None)
            if grouped(body, '.') && (comma_decimal || body.matches('.').count() >= 2) =>
        {
            body.replace('.', "")
        }
        _ => return None,
    };
    normalize::parse_number(&format!("{sign}{plain}")).ok()
}

/// `1,234,567`: digit groups of three after a first group of one to three.
fn grouped(int: &str, sep: char) -> bool {
    let mut groups = int.split(sep);
    let first_ok = groups
        .next()
        .is_some_and(|g| (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()));
    let mut n = 0;
    first_ok
        && groups.all(|g| {
            n += 1;
            g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit())
        })
        && n >= 1
}

/// Which decimal mark a quantity cell shows, when it tells (`12,5`, `1.234,5`: comma;
/// `9.38`, `1,234.5`: dot); `1,234`, `1.234` and integers do not tell.
fn decimal_evidence(cell: &str) -> Option<bool> {
    let end = cell
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+')))
        .unwrap_or(cell.len());
    let body = cell[..end].trim_start_matches(['-', '+']);
    match (body.rfind('.'), body.rfind(',')) {
        (Some(d), Some(c)) => Some(c > d),
        (None, Some(_)) => (!grouped(body, ',')).then_some(true),
        (Some(_), None) => (!grouped(body, '.')).then_some(false),
        (None, None) => None,
    }
}

/// Whether a sheet writes decimals with a comma: some quantity cell says so and none says
/// otherwise; when no cell tells (`9,384` alone) and no cell holds a dot, a
/// semicolon-separated sheet (as spreadsheet programs write them where the comma is the
/// decimal mark) does. A
/// comma-separated sheet keeps the dot (its commas in numbers are thousands, quoted).
fn decimal_mark<'t>(cells: impl Iterator<Item = &'t str>, delim: u8) -> bool {
    if delim == b',' {
        return false;
    }
    // Which kinds of cell the column holds; how many of each does not matter.
    let (mut comma, mut dot, mut ambiguous_comma, mut any_dot) = (false, false, false, false);
    for c in cells {
        any_dot |= c.contains('.');
        match decimal_evidence(c) {
            Some(true) => comma = true,
            Some(false) => dot = true,
            None => ambiguous_comma |= c.contains(','),
        }
    }
    !dot && (comma || (ambiguous_comma && !any_dot && delim == b';'))
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

    fn frame(csv: &[u8]) -> polars::prelude::DataFrame {
        read_csv(csv, "f.csv", "LIC", chrono_tz::UTC).unwrap().rows.into_frame().unwrap()
    }

    /// With lone `\r` line ends every row was once "line 1", the header's line.
    #[test]
    fn counts_lone_cr_line_ends_are_lines() {
        assert_eq!(lines(b"Label,Qty\ro,1"), (vec![2], vec![]));
        assert_eq!(lines(b"Label,Qty\rA,1\r\rB,x\rC,2\r"), (vec![2, 5], vec![4]));
        // CRLF and LF as before, blank lines counted.
        assert_eq!(lines(b"Label,Qty\r\nA,1\r\n\r\nB,x\nC,2\n"), (vec![2, 5], vec![4]));
    }

    /// A quantity that overflows when converted to the base unit is rejected, not stored as
    /// infinity (which made every total and variance of its license inf/NaN).
    #[test]
    fn counts_quantity_overflowing_its_base_unit_is_rejected() {
        // Also a finite quantity beyond MAX_COUNT_QUANTITY (many would sum to
        // infinity); the bound itself is a count.
        let csv =
            b"Tag,Qty,UOM\nA,1e308,kg\nB,1e308,g\nC,-1e306,lb\nD,1e12,g\nE,1.1e9,kg\nF,2e12\n";
        assert_eq!(lines(csv), (vec![5], vec![2, 3, 4, 6, 7]));
        let sheet = read_csv(csv, "f.csv", "LIC", chrono_tz::UTC).unwrap();
        assert_eq!(sheet.rejects[0].column, "Qty");
        assert!(sheet.rejects[0].reason.contains("out of range"), "{}", sheet.rejects[0].reason);
    }

    fn number_dot(s: &str) -> Option<f64> {
        number(s, false)
    }

    fn quantity_cell_dot(s: &str) -> Result<(f64, Option<UnitText<'_>>), String> {
        quantity_cell(s, false)
    }

    /// A sheet that writes decimals with a comma reads `9,384` as 9.384.
    #[test]
    fn decimal_comma_sheets() {
        assert_eq!(number("9,384", true), Some(9.384));
        assert_eq!(number("1.234", true), Some(1234.0));
        assert_eq!(number("1.234,5", true), Some(1234.5));
        assert!(decimal_mark(["9,384", "93", "13,875"].into_iter(), b';'));
        assert!(!decimal_mark(["9,384", "93"].into_iter(), b'\t'));
        assert!(decimal_mark(["12,5", "1,234"].into_iter(), b'\t'));
        assert!(!decimal_mark(["12.5", "1,234"].into_iter(), b';'));
        assert!(!decimal_mark(["12,5"].into_iter(), b','));
        // A cell showing a decimal point outvotes none: the mark stays the dot.
        assert!(!decimal_mark(["12,5", "9.38"].into_iter(), b'\t'));
        // In a comma-decimal sheet a dot only groups thousands.
        assert_eq!(number("1.5", true), None);
        assert_eq!(number("12.34,5", false), None);
        // A mark with no digits on one side is no number.
        assert_eq!(number_dot("12,"), None);
        assert_eq!(number(",5", true), None);
        assert_eq!(number_dot("1,234."), None);
        // A comma after more than three digits groups nothing: it is the decimal mark.
        assert_eq!(number_dot("1234,567"), Some(1234.567));
        // Integers alone tell nothing, not even in a semicolon-separated sheet.
        assert!(!decimal_mark(["9", "12"].into_iter(), b';'));
        assert!(!decimal_mark(std::iter::empty(), b';'));
        // Only the cells below the header tell: a header `Qty.` is not a decimal point.
        let df = frame(b"Tag;Qty.\nA;9,384\n");
        assert_eq!(df.column("quantity").unwrap().f64().unwrap().get(0), Some(9.384));
        let df = frame(b"Tag;Qty;UOM\nA;9,384;lb\nB;1.234;g\nC;12,5;ea\n");
        let q = df.column("quantity").unwrap().f64().unwrap().clone();
        assert_eq!((q.get(0), q.get(1), q.get(2)), (Some(9.384), Some(1234.0), Some(12.5)));
        let df = frame(b"Tag;Qty;UOM\nA;9,384;lb\nB;93;ea\n");
        let q = df.column("quantity").unwrap().f64().unwrap().clone();
        assert_eq!((q.get(0), q.get(1)), (Some(9.384), Some(93.0)));
        let df = frame(b"Tag;Qty;UOM\nA;9.384;lb\nB;1,234;g\n");
        let q = df.column("quantity").unwrap().f64().unwrap().clone();
        assert_eq!((q.get(0), q.get(1)), (Some(9.384), Some(1234.0)));
    }

    #[test]
    fn numbers_with_separators_and_units() {
        assert_eq!(number_dot("1,234.5"), Some(1234.5));
        assert_eq!(number_dot("1.234,5"), Some(1234.5));
        assert_eq!(number_dot("1 234,5"), Some(1234.5));
        assert_eq!(number_dot("1,234"), Some(1234.0));
        assert_eq!(number_dot("12,5"), Some(12.5));
        assert_eq!(number_dot("-1,234,567.25"), Some(-1_234_567.25));
        assert_eq!(number_dot("1.234.567"), Some(1_234_567.0));
        assert_eq!(number_dot("12,34.5"), None);
        assert_eq!(number_dot("abc"), None);
        let u = |t: &'static str| Some((normalize::parse_unit(t).unwrap(), t));
        assert_eq!(quantity_cell_dot("33.07 g").unwrap(), (33.07, u("g")));
        assert_eq!(quantity_cell_dot("33.07g").unwrap(), (33.07, u("g")));
        assert_eq!(quantity_cell_dot("93 ea").unwrap(), (93.0, u("ea")));
        assert_eq!(quantity_cell_dot("1 each").unwrap(), (1.0, u("each")));
        assert_eq!(quantity_cell_dot("1,234.5 Grams").unwrap(), (1234.5, u("Grams")));
        assert_eq!(quantity_cell_dot("2 fl oz").unwrap(), (2.0, u("fl oz")));
        assert_eq!(quantity_cell_dot("1.5e2 g").unwrap(), (150.0, u("g")));
        assert_eq!(quantity_cell_dot("1e3").unwrap(), (1000.0, None));
        assert!(quantity_cell_dot("12 bananas").is_err());
        assert!(quantity_cell_dot("ea").is_err());
    }

    /// The header is found below title rows, with the delimiter it uses, and Metrc grid
    /// columns that are not counts (`Package Item`, `Packaged On`) are never read.
    #[test]
    fn header_below_preamble_and_grid_names() {
        let csv = "Inventory count report\nLicense: C11\n\nPackage Tag;Package Item;Packaged On;Package Quantity;Unit of Measure;Counted At\n\
                   1a4ff01 ;Buds;2026-01-01;1.234,5;g;2026-10-29T10:00:00Z\n";
        let sheet = read_csv(csv.as_bytes(), "f.csv", "LIC", chrono_tz::UTC).unwrap();
        assert_eq!(sheet.format.header_line, 4);
        assert_eq!(sheet.format.delimiter, Some(b';'));
        let df = sheet.rows.into_frame().unwrap();
        assert_eq!(df.column("label").unwrap().str().unwrap().get(0), Some("1A4FF01"));
        assert_eq!(df.column("quantity").unwrap().f64().unwrap().get(0), Some(1234.5));
        let at = df.column("counted_at").unwrap().datetime().unwrap().phys.get(0);
        assert_eq!(at, Some(1_793_268_000_000_000));
    }

    /// A stray quote is one rejected line and swallows nothing; a quoted cell with a line
    /// break is one row.
    #[test]
    fn stray_quote_rejects_its_line_only() {
        let csv = b"Tag,Location,Qty,UOM\nAAAAAAAA01,\"Bodega,1,g\nAAAAAAAA02,Back,2,g\nAAAAAAAA03,Back,3,g\n";
        assert_eq!(lines(csv), (vec![3, 4], vec![2]));
        let sheet = read_csv(csv, "f.csv", "LIC", chrono_tz::UTC).unwrap();
        assert_eq!(sheet.rows_in, 3);
        let unknown = sheet.unknown.into_frame().unwrap();
        assert_eq!(unknown.column("label").unwrap().str().unwrap().get(0), Some("AAAAAAAA01"));
        let csv = b"Tag,Location,Qty,UOM\nAAAAAAAA01,\"Back\nroom\",1,g\nAAAAAAAA02,Back,2,g\n";
        assert_eq!(lines(csv), (vec![2, 4], vec![]));
        // A middle line of the cell without a quote is not taken for a row of its own.
        let csv =
            b"Tag,Location,Qty,UOM\nAAAAAAAA01,\"Back\nof the\nroom\",1,g\nAAAAAAAA02,Back,2,g\n";
        assert_eq!(lines(csv), (vec![2, 5], vec![]));
        // A row with a tag-like label (8+ letters and digits) ends the search for the
        // closing quote, even when a later line would close it; a short one does not.
        let csv = b"Tag,Location,Qty,UOM\nAAAAAAAA01,\"Bodega,1,g\nAAAAAAAA02,Back,2,g\n\
                    AAAAAAAA03,Back\",3,g\n";
        assert_eq!(lines(csv).1, vec![2]);
        let csv = b"Tag,Location,Qty,UOM\nAAAAAAAA01,\"Bodega,1,g\nA02,Back,2,g\nA03,Back\",3,g\n";
        assert_eq!(lines(csv), (vec![2], vec![]));
    }

    /// A date cell (midnight) is a date, a date-time cell keeps its time of day.
    #[test]
    fn xlsx_date_cells_read_as_dates_and_date_times() {
        use calamine::{Data, ExcelDateTime, ExcelDateTimeType::DateTime};
        let cell =
            |serial: f64| cell_text(&Data::DateTime(ExcelDateTime::new(serial, DateTime, false)));
        assert_eq!(cell(46_310.0), "2026-10-15");
        assert_eq!(cell(46_310.5), "2026-10-15T12:00:00");
        // A duration cell (`[hh]:mm`) is its number of days, not a date.
        let half_day = ExcelDateTime::new(0.5, calamine::ExcelDateTimeType::TimeDelta, false);
        assert_eq!(cell_text(&Data::DateTime(half_day)), "0.5");
    }

    /// Which decimal mark a tab- or pipe-separated sheet uses is read from the cells that
    /// tell (`12,5`); the ones that do not (`1,234`) follow them. A lone dot that could
    /// group thousands (`1.234 g`) is a decimal point in a sheet of decimal points.
    #[test]
    fn decimal_mark_from_the_cells_that_tell() {
        let df = frame(b"Tag\tQty\nA\t12,5\nB\t1,234\n");
        let q = df.column("quantity").unwrap().f64().unwrap();
        assert_eq!((q.get(0), q.get(1)), (Some(12.5), Some(1.234)));
        // Commas that do not group thousands before a decimal point: not a number.
        assert_eq!(lines(b"Tag,Qty\nA,\"12,34.5 g\"\nB,\"1,234.5 g\"\n"), (vec![3], vec![2]));
        let df = frame(b"Tag,Qty\nA,1.234 g\nB,2.000.000 g\n");
        let q = df.column("quantity").unwrap().f64().unwrap();
        assert_eq!((q.get(0), q.get(1)), (Some(1.234), Some(2_000_000.0)));
    }

    /// A broken row keeps the license and label of the cells before its broken one (and
    /// only those: after it, the cells are not known).
    #[test]
    fn broken_row_keeps_the_cells_before_the_open_quote() {
        let read = |csv: &[u8]| {
            let sheet = read_csv(csv, "f.csv", "LIC", chrono_tz::UTC).unwrap();
            assert_eq!(sheet.rejects.len(), 1);
            let df = sheet.unknown.into_frame().unwrap();
            let get = |c: &str| df.column(c).unwrap().str().unwrap().get(0).map(str::to_owned);
            (get("license"), get("label"))
        };
        let got = read(
            b"License,Tag,Location,Qty
C11-0000009-LIC,AAAAAAAA01,\"Bodega,1\n",
        );
        assert_eq!(got, (Some("C11-0000009-LIC".into()), Some("AAAAAAAA01".into())));
        let got = read(
            b"Location,Tag,License,Qty
\"Bodega,AAAAAAAA01,C11-0000009-LIC,1\n",
        );
        assert_eq!(got.1, None);
        assert_ne!(got.0.as_deref(), Some("C11-0000009-LIC"));
        // The broken cell itself is not read either.
        let got = read(b"License,Tag,Location,Qty\nC11-0000009-LIC,\"AAAAAAAA01,Back,1\n");
        assert_eq!(got, (Some("C11-0000009-LIC".into()), None));
    }

    /// The last of a dot and a comma is the decimal mark; one mark alone tells unless it
    /// groups thousands.
    #[test]
    fn decimal_evidence_reads_the_last_mark() {
        for (cell, want) in [
            ("1.234,5", Some(true)),
            ("-1.234,5 g", Some(true)),
            ("1,234.5", Some(false)),
            ("+12,5", Some(true)),
            ("9.38", Some(false)),
            ("1,234", None),
            ("1.234", None),
            ("12", None),
        ] {
            assert_eq!(decimal_evidence(cell), want, "{cell}");
        }
    }

    /// Of the delimiters that make a line a header, the one naming most columns wins; a
    /// sheet without one says which of the two columns its best line lacked.
    #[test]
    fn header_delimiter_naming_most_columns_and_why_none_fits() {
        // ',' names Tag and Qty (`UOM;Room` is no name); ';' names Tag, Qty, UOM, Room.
        let h = find_header("Tag;,Qty;,UOM;Room\n", &sheet_text::DELIMITERS).unwrap();
        assert_eq!((h.delim, h.width, h.cols.len()), (b';', 4, 4));
        // On a tie the first delimiter (comma, tab, semicolon, pipe) wins.
        let h = find_header("Tag;,Qty;,UOM\n", &sheet_text::DELIMITERS).unwrap();
        assert_eq!((h.delim, h.width, h.cols.len()), (b',', 3, 3));
        let e = find_header("Store count\nTag,Notes\nA,x\n", b",").err().unwrap();
        assert!(e.contains("(line 2 names a label column but no quantity"), "{e}");
        assert!(e.contains("the first row reads `Store count`"), "{e}");
        let e = find_header("Quantity,Notes\n", b",").err().unwrap();
        assert!(e.contains("(line 1 names a quantity column but no label"), "{e}");
    }

    #[test]
    fn unit_in_cell_must_agree_with_unit_column() {
        assert_eq!(lines(b"Tag,Qty,UOM\nA,1 g,Grams\nB,1 lb,g\nC,2 oz,\n"), (vec![2, 4], vec![3]));
        // An exponent with its sign belongs to the number, not to the unit.
        let df = frame(b"Tag,Qty\nA,1.5e+3 g\nB,25E-1 g\n");
        let q = df.column("quantity").unwrap().f64().unwrap();
        assert_eq!((q.get(0), q.get(1)), (Some(1500.0), Some(2.5)));
        let df = frame(b"Tag,Qty\nA,2 oz\n");
        let oz = normalize::parse_unit("oz").unwrap().factor;
        assert_eq!(df.column("quantity_base").unwrap().f64().unwrap().get(0), Some(2.0 * oz));
    }

    /// A unit in the quantity column's name applies to its cells; a sheet holding the
    /// system's quantity beside the count reads the count.
    #[test]
    fn unit_in_header_and_counted_column_wins() {
        let df = frame(b"Tag,Quantity (lb)\nA,2\nB,3 lb\n");
        let lb = normalize::parse_unit("lb").unwrap().factor;
        assert_eq!(df.column("quantity_base").unwrap().f64().unwrap().get(0), Some(2.0 * lb));
        assert_eq!(df.column("unit").unwrap().str().unwrap().get(0), Some("lb"));
        assert_eq!(lines(b"Tag,Quantity [g]\nA,2\nB,3 lb\n"), (vec![2], vec![3]));
        let df = frame(b"Tag,Quantity,UOM,Counted Qty\nA,10,g,9\n");
        assert_eq!(df.column("quantity").unwrap().f64().unwrap().get(0), Some(9.0));
        let df = frame(b"Tag,Qty (each or weight),UOM\nA,7,g\n");
        assert_eq!(df.column("quantity").unwrap().f64().unwrap().get(0), Some(7.0));
        let df = frame(b"Tag,Quantity (Metrc),Quantity (counted),UOM\nA,10,8,g\n");
        assert_eq!(df.column("quantity").unwrap().f64().unwrap().get(0), Some(8.0));
        assert!(read_csv(b"Tag,Quantity (system)\nA,1\n", "f.csv", "L", chrono_tz::UTC).is_err());
    }

    /// A workbook declaring A1:XFD1048576 (one far cell) is read by its cells:
    /// rows keep their worksheet numbers and the table its shape.
    #[test]
    fn xlsx_far_cells_are_read_sparsely() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let ws = book.add_worksheet();
        for (c, h) in ["Tag", "Qty", "UOM"].iter().enumerate() {
            ws.write_string(1, c as u16 + 1, *h).unwrap();
        }
        ws.write_string(2, 1, "A").unwrap();
        ws.write_number(2, 2, 1.5).unwrap();
        ws.write_string(2, 3, "g").unwrap();
        ws.write_string(4, 1, "B").unwrap();
        ws.write_string(4, 2, "x").unwrap();
        ws.write_string(4, 900, "note").unwrap();
        ws.write_string(1_048_575, 16_383, "far").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let none = BTreeSet::new();
        let opts = SheetOptions::plain(chrono_tz::UTC, "L", &none);
        let sheet = read_xlsx(&bytes, "f.xlsx", &opts).unwrap();
        assert_eq!(sheet.format.header_line, 2);
        assert_eq!((sheet.rows_in, sheet.rows.len()), (2, 1));
        assert_eq!(sheet.rejects[0].line, 5);
        // Wider than PAD_XLSX_COLUMNS: the row ends at its last cell.
        assert_eq!(sheet.rejects[0].raw, format!("B,x{}note", ",".repeat(898)));
        let text = worksheet_text(vec![
            (1, 0, calamine::Data::String("a".into())),
            (3, 2, calamine::Data::Float(2.0)),
        ])
        .unwrap();
        assert_eq!(text, "\na,,\n\n,,2\n");
        // At most MAX_XLSX_COLUMNS columns from the leftmost used one: the 1024th is read,
        // the 1025th is not.
        let cell = |c: u32, v: &str| (0, c, calamine::Data::String(v.into()));
        let text = worksheet_text(vec![cell(3, "a"), cell(3 + 1023, "z"), cell(3 + 1024, "gone")]);
        assert_eq!(text.unwrap(), format!("a{}z\n", ",".repeat(1023)));
    }

    #[test]
    fn totals_row_is_not_a_count() {
        let sheet = read_csv(b"Tag,Qty\nA,1\nTotal,1\n", "f.csv", "L", chrono_tz::UTC).unwrap();
        assert_eq!((sheet.rows.len(), sheet.rejects.len(), sheet.unknown.len()), (1, 1, 0));
        // A package row whose quantity cannot be read is a count nobody can know; a totals
        // row with a bad cell is no count at all.
        let csv = b"Tag,Qty\nAAAAAAAA01,x\nTotal,y\n";
        let sheet = read_csv(csv, "f.csv", "L", chrono_tz::UTC).unwrap();
        assert_eq!((sheet.rows.len(), sheet.rejects.len(), sheet.unknown.len()), (0, 2, 1));
        let df = sheet.unknown.into_frame().unwrap();
        assert_eq!(df.column("label").unwrap().str().unwrap().get(0), Some("AAAAAAAA01"));
    }

    #[test]
    fn missing_time_column_needs_counted_at() {
        let none = BTreeSet::new();
        let mut opts = SheetOptions::plain(chrono_tz::UTC, "L", &none);
        opts.require_time = true;
        let e = read_text_sheet(b"Tag,Qty\nA,1\n", "f.csv", &opts).err().unwrap();
        assert!(e.contains("--counted-at"), "{e}");
        // A sheet with no rows needs no count time.
        let sheet = read_text_sheet(b"Tag,Qty\n", "f.csv", &opts).unwrap();
        assert_eq!((sheet.rows_in, sheet.rows.len()), (0, 0));
    }

    /// A sheet with no header says the encoding it was read in, unless that was UTF-8.
    #[test]
    fn no_header_names_a_legacy_encoding_only() {
        let e = read_csv(b"Caf\xe9 notes\nx,y\n", "f.csv", "L", chrono_tz::UTC).err().unwrap();
        assert!(e.contains("(read as "), "{e}");
        let e =
            read_csv("Café notes\nx,y\n".as_bytes(), "f.csv", "L", chrono_tz::UTC).err().unwrap();
        assert!(!e.contains("read as"), "{e}");
    }

    /// A unit in brackets right after the name, with or without a space.
    #[test]
    fn bracket_note_with_and_without_a_space() {
        assert_eq!(bracket_note("Qty(g)"), Some(("Qty", "g")));
        assert_eq!(bracket_note("Quantity [lb]"), Some(("Quantity", "lb")));
        assert_eq!(bracket_note("(g)"), Some(("", "g")));
        assert_eq!(bracket_note("Quantity"), None);
        // A quantity cell with the unit its column names is read, not rejected.
        let df = frame(b"Tag,Qty (g)\nA,5 g\nB,6\n");
        let q = df.column("quantity").unwrap().f64().unwrap();
        assert_eq!((q.get(0), q.get(1)), (Some(5.0), Some(6.0)));
    }

    /// The first line naming one of label and quantity is the one the error names: not a
    /// title line of two cells naming neither, nor a later line naming the other.
    #[test]
    fn no_header_names_the_line_with_one_of_the_two() {
        let e = find_header("Inventory,October\nTag,Notes\nA,x\n", b",").err().unwrap();
        assert!(e.contains("line 2 names a label column but no quantity"), "{e}");
        // The first such line, not the last.
        let e = find_header("Tag,Notes\nQty,Memo\nA,x\n", b",").err().unwrap();
        assert!(e.contains("line 1 names a label column but no quantity"), "{e}");
    }

    /// Each row's License cell is its license (in the export's spelling when it names one
    /// of them in other case or spacing); a broken License cell is not read.
    #[test]
    fn license_cells_per_row() {
        let licenses: BTreeSet<String> =
            ["C11-0000001-LIC", "C11-0000002-LIC"].into_iter().map(String::from).collect();
        let opts = SheetOptions::plain(chrono_tz::UTC, "DEFAULT", &licenses);
        let csv = b"License,Tag,Qty\nc11-0000002 -lic,AAAAAAAA01,1\nC11-0000001-LIC,AAAAAAAA02,2\n\
                    C11-0000001-LIC,AAAAAAAA03,3\nC11-0000009-LIC,AAAAAAAA04,4\n";
        let df = read_text_sheet(csv, "f.csv", &opts).unwrap().rows.into_frame().unwrap();
        let lic = df.column("license").unwrap().str().unwrap();
        let got: Vec<_> = (0..4).map(|i| lic.get(i)).collect();
        assert_eq!(
            got,
            [
                Some("C11-0000002-LIC"),
                Some("C11-0000001-LIC"),
                Some("C11-0000001-LIC"),
                Some("C11-0000009-LIC")
            ]
        );
        let csv = b"Tag,License,Qty\nAAAAAAAA01,\"C11-0000001-LIC,1\n";
        let sheet = read_text_sheet(csv, "f.csv", &opts).unwrap();
        let df = sheet.unknown.into_frame().unwrap();
        assert_eq!(df.column("license").unwrap().str().unwrap().get(0), Some("DEFAULT"));
    }

    /// An exponent needs a number before it: `e5` alone is an unknown unit.
    #[test]
    fn exponent_needs_a_number() {
        let e = quantity_cell_dot("e5").unwrap_err();
        assert!(e.contains("unknown unit"), "{e}");
    }
}

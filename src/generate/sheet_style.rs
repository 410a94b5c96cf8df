//! Count sheets as operators keep them (SPEC 2.2): rewrites a plain count sheet in one of
//! the real-world shapes (other encodings and delimiters, title rows, Metrc web-grid
//! names, a unit inside the quantity cell, thousands separators, lower-case labels, a file
//! name a person chose, an XLSX whose counts sit on its second worksheet). Every style
//! means exactly the same count rows as the plain sheet; it never reads the export, so a
//! style the sheet's content rules out is an error the caller falls back from.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

/// A real-world shape of a count sheet. [`SheetStyle::ALL`] lists them in a fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SheetStyle {
    /// The sheet as given (the control of every comparison).
    Plain,
    /// UTF-8 with a byte-order mark and CRLF line ends (Excel's "CSV UTF-8").
    Utf8Bom,
    /// UTF-16 LE with BOM, tab-separated, CRLF (Washington CCRS style).
    Utf16LeTab,
    /// UTF-16 BE with BOM, comma-separated.
    Utf16Be,
    /// Windows-1252 bytes, comma-separated, CRLF.
    Cp1252,
    /// Windows-1252 bytes, semicolon-separated (European Excel), CRLF.
    Cp1252Semicolon,
    /// UTF-8, tab-separated.
    TabUtf8,
    /// UTF-8, pipe-separated.
    Pipe,
    /// Title rows (report name, date range, license, blank line) above the header.
    Preamble,
    /// Metrc web-grid column names plus columns to ignore (`Package Item`, `Packaged On`
    /// before the count time, `Package Type`).
    MetrcGrid,
    /// Quantity cells hold number and unit (`9.384 lb`); no unit column.
    QtyWithUnit,
    /// Quantity cells hold number and unit and the unit column is kept (they agree).
    QtyWithUnitAndColumn,
    /// Quantities of 1000 or more with a thousands separator (`"1,234.5"`).
    Thousands,
    /// Labels lower-cased and padded with spaces (`"  1a4ff0…  "`).
    LowercaseLabels,
    /// No License column and a file name a person chose (`inventory 1.csv`): the reader
    /// must find the license from the labels. Not possible for a sheet of several licenses.
    FileNamed,
    /// XLSX: a cover sheet of instructions first, then `Counts` with a title row and the
    /// table (numbers as numbers, text as text).
    XlsxSecondSheet,
    /// Windows-1252 + semicolons + CRLF + title rows + grid names + lower-case padded
    /// labels + thousands separators at once.
    Mixed,
}

/// Why a sheet could not be restyled.
#[derive(Debug, thiserror::Error)]
pub enum StyleError {
    /// The plain sheet is not CSV with a header row.
    #[error("`{file}` is not a plain count sheet: {reason}")]
    Unreadable {
        /// Sheet file name.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The sheet's content rules the style out (see [`restyle`]).
    #[error("style `{style}` does not fit `{file}`: {reason}")]
    NotApplicable {
        /// Style name.
        style: &'static str,
        /// Sheet file name.
        file: String,
        /// Why.
        reason: String,
    },
}

impl SheetStyle {
    /// Every style, in the order `generate --sheet-style realworld` writes them.
    pub const ALL: [SheetStyle; 17] = [
        SheetStyle::Plain,
        SheetStyle::Utf8Bom,
        SheetStyle::Utf16LeTab,
        SheetStyle::Utf16Be,
        SheetStyle::Cp1252,
        SheetStyle::Cp1252Semicolon,
        SheetStyle::TabUtf8,
        SheetStyle::Pipe,
        SheetStyle::Preamble,
        SheetStyle::MetrcGrid,
        SheetStyle::QtyWithUnit,
        SheetStyle::QtyWithUnitAndColumn,
        SheetStyle::Thousands,
        SheetStyle::LowercaseLabels,
        SheetStyle::FileNamed,
        SheetStyle::XlsxSecondSheet,
        SheetStyle::Mixed,
    ];

    /// Kebab-case name (folder name under `counts-realworld/`).
    pub fn name(self) -> &'static str {
        match self {
            SheetStyle::Plain => "plain",
            SheetStyle::Utf8Bom => "utf8-bom",
            SheetStyle::Utf16LeTab => "utf16le-tab",
            SheetStyle::Utf16Be => "utf16be",
            SheetStyle::Cp1252 => "cp1252",
            SheetStyle::Cp1252Semicolon => "cp1252-semicolon",
            SheetStyle::TabUtf8 => "tab-utf8",
            SheetStyle::Pipe => "pipe",
            SheetStyle::Preamble => "preamble",
            SheetStyle::MetrcGrid => "metrc-grid",
            SheetStyle::QtyWithUnit => "qty-with-unit",
            SheetStyle::QtyWithUnitAndColumn => "qty-with-unit-and-column",
            SheetStyle::Thousands => "thousands",
            SheetStyle::LowercaseLabels => "lowercase-labels",
            SheetStyle::FileNamed => "file-named",
            SheetStyle::XlsxSecondSheet => "xlsx-second-sheet",
            SheetStyle::Mixed => "mixed",
        }
    }

    /// The style named `name` ([`SheetStyle::name`]).
    pub fn from_name(name: &str) -> Option<SheetStyle> {
        SheetStyle::ALL.into_iter().find(|s| s.name() == name)
    }

    /// What `--sheet-style VALUE` selects: `realworld` is every style, else one by name.
    pub fn select(value: &str) -> Option<Vec<SheetStyle>> {
        if value == "realworld" {
            Some(SheetStyle::ALL.to_vec())
        } else {
            SheetStyle::from_name(value).map(|s| vec![s])
        }
    }

    /// The CSV shape of this style; `None` for [`SheetStyle::Plain`] (bytes kept as given)
    /// and [`SheetStyle::XlsxSecondSheet`].
    pub fn format(self) -> Option<Format> {
        let p = Format::plain();
        let f = match self {
            SheetStyle::Plain | SheetStyle::XlsxSecondSheet => return None,
            SheetStyle::Utf8Bom => Format { encoding: Encoding::Utf8Bom, crlf: true, ..p },
            SheetStyle::Utf16LeTab => {
                Format { encoding: Encoding::Utf16Le, delimiter: b'\t', crlf: true, ..p }
            }
            SheetStyle::Utf16Be => Format { encoding: Encoding::Utf16Be, ..p },
            SheetStyle::Cp1252 => Format { encoding: Encoding::Windows1252, crlf: true, ..p },
            SheetStyle::Cp1252Semicolon => {
                Format { encoding: Encoding::Windows1252, delimiter: b';', crlf: true, ..p }
            }
            SheetStyle::TabUtf8 => Format { delimiter: b'\t', ..p },
            SheetStyle::Pipe => Format { delimiter: b'|', ..p },
            SheetStyle::Preamble => Format { preamble: PREAMBLE_ROWS, ..p },
            SheetStyle::MetrcGrid => Format { grid_names: true, ..p },
            SheetStyle::QtyWithUnit => Format { qty_unit: QtyUnit::InCell, ..p },
            SheetStyle::QtyWithUnitAndColumn => Format { qty_unit: QtyUnit::Both, ..p },
            SheetStyle::Thousands => Format { thousands: true, ..p },
            SheetStyle::LowercaseLabels => Format { lowercase_labels: true, pad_labels: true, ..p },
            SheetStyle::FileNamed => Format { file_named: true, ..p },
            SheetStyle::Mixed => Format {
                encoding: Encoding::Windows1252,
                delimiter: b';',
                crlf: true,
                preamble: PREAMBLE_ROWS,
                grid_names: true,
                thousands: true,
                lowercase_labels: true,
                pad_labels: true,
                ..p
            },
        };
        Some(f)
    }
}

/// Text encoding of a CSV sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8, no BOM.
    Utf8,
    /// UTF-8 with BOM.
    Utf8Bom,
    /// UTF-16 little-endian with BOM.
    Utf16Le,
    /// UTF-16 big-endian with BOM.
    Utf16Be,
    /// Windows-1252 (no BOM exists); a character it lacks makes the style not applicable.
    Windows1252,
}

/// Where the unit of measure goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QtyUnit {
    /// In its own column, as in the plain sheet.
    Column,
    /// Appended to the quantity cell (`9.384 lb`); the unit column is dropped.
    InCell,
    /// Appended to the quantity cell and kept in the unit column too.
    Both,
}

/// Title rows [`SheetStyle::Preamble`] writes (report name, date range, license, blank).
pub const PREAMBLE_ROWS: usize = 4;

/// One combination of the shapes of SPEC 2.2 for a CSV sheet; the styles are fixed
/// combinations, the property tests draw arbitrary ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// Text encoding.
    pub encoding: Encoding,
    /// Field delimiter (`,`, `\t`, `;`, `|`).
    pub delimiter: u8,
    /// CRLF line ends instead of LF.
    pub crlf: bool,
    /// Title rows above the header, 0 to [`PREAMBLE_ROWS`].
    pub preamble: usize,
    /// Metrc web-grid column names and extra columns to ignore.
    pub grid_names: bool,
    /// Where the unit goes.
    pub qty_unit: QtyUnit,
    /// Thousands separators in quantities of 1000 or more.
    pub thousands: bool,
    /// Labels in lower case.
    pub lowercase_labels: bool,
    /// Labels surrounded by spaces.
    pub pad_labels: bool,
    /// License column dropped and the file renamed as a person would.
    pub file_named: bool,
}

impl Format {
    /// UTF-8, comma, LF, nothing else changed.
    pub const fn plain() -> Format {
        Format {
            encoding: Encoding::Utf8,
            delimiter: b',',
            crlf: false,
            preamble: 0,
            grid_names: false,
            qty_unit: QtyUnit::Column,
            thousands: false,
            lowercase_labels: false,
            pad_labels: false,
            file_named: false,
        }
    }
}

/// A restyled sheet: the file name it should be saved under, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restyled {
    /// File name (no folder); a style may change it (`file-named`, `xlsx-second-sheet`).
    pub file_name: String,
    /// File contents.
    pub bytes: Vec<u8>,
}

/// Rewrites the plain sheet `plain` (UTF-8 CSV text with a header row; a leading BOM is
/// fine) saved as `file_name` in `style`.
///
/// Errors: [`StyleError::Unreadable`] when `plain` is not such a sheet;
/// [`StyleError::NotApplicable`] when its content rules the style out: `file-named` on a
/// sheet holding several licenses (a reader can only find one license from labels), and
/// the Windows-1252 styles on text with characters that code page lacks. Callers fall
/// back to [`SheetStyle::Plain`], which always succeeds (see [`restyle_folder`]).
pub fn restyle(plain: &str, file_name: &str, style: SheetStyle) -> Result<Restyled, StyleError> {
    match style {
        SheetStyle::Plain => {
            Ok(Restyled { file_name: file_name.to_owned(), bytes: plain.as_bytes().to_vec() })
        }
        SheetStyle::XlsxSecondSheet => {
            let sheet = Sheet::parse(plain, file_name)?;
            let bytes = write_xlsx(&sheet, file_name)?;
            Ok(Restyled { file_name: format!("{}.xlsx", stem(file_name)), bytes })
        }
        s => {
            let fmt = s.format().expect("every CSV style has a format");
            write_csv(plain, file_name, &fmt).map_err(|e| match e {
                StyleError::NotApplicable { file, reason, .. } => {
                    StyleError::NotApplicable { style: s.name(), file, reason }
                }
                e => e,
            })
        }
    }
}

/// Rewrites the plain sheet `plain` in the CSV shape `fmt` (any combination, for the
/// property tests). Errors as [`restyle`].
pub fn write_csv(plain: &str, file_name: &str, fmt: &Format) -> Result<Restyled, StyleError> {
    let mut sheet = Sheet::parse(plain, file_name)?;
    let mut name = file_name.to_owned();
    if fmt.file_named {
        sheet.drop_license(file_name)?;
        name = person_file_name(&sheet, file_name);
    }
    if fmt.lowercase_labels || fmt.pad_labels {
        sheet.map(Role::Label, |l| {
            let l = if fmt.lowercase_labels { l.to_lowercase() } else { l.to_owned() };
            if fmt.pad_labels { format!("  {l}  ") } else { l }
        });
    }
    if fmt.thousands {
        sheet.map(Role::Quantity, |q| group_thousands(q).unwrap_or_else(|| q.to_owned()));
    }
    if fmt.qty_unit != QtyUnit::Column {
        sheet.unit_into_quantity(fmt.qty_unit == QtyUnit::Both);
    }
    let preamble = preamble_rows(&sheet, file_name, fmt.preamble);
    if fmt.grid_names {
        sheet.grid_names(file_name);
    }
    let mut text = String::new();
    let eol = if fmt.crlf { "\r\n" } else { "\n" };
    for row in preamble.iter().chain([&sheet.header]).chain(&sheet.rows) {
        push_row(&mut text, row, fmt.delimiter as char, eol);
    }
    let bytes = encode(&text, fmt.encoding).map_err(|c| StyleError::NotApplicable {
        style: "windows-1252",
        file: file_name.to_owned(),
        reason: format!("Windows-1252 has no character `{c}`"),
    })?;
    Ok(Restyled { file_name: name, bytes })
}

/// The plain sheet with a little non-ASCII text, so that encodings matter: locations
/// `Back Stock` become `Bodega Café` and `Vault A` becomes `Säule 3 – Vault A` (the dash
/// is byte 0x96 in Windows-1252, outside Latin-1). Written as plain UTF-8 CSV with LF.
/// Findings never depend on location text, so the sheet still gives the same findings;
/// the generator's own `counts/` is left ASCII so its default output is unchanged.
pub fn accent_locations(plain: &str, file_name: &str) -> Result<String, StyleError> {
    let mut sheet = Sheet::parse(plain, file_name)?;
    sheet.map(Role::Location, |l| match l {
        "Back Stock" => "Bodega Café".to_owned(),
        "Vault A" => "Säule 3 – Vault A".to_owned(),
        l => l.to_owned(),
    });
    let mut text = String::new();
    for row in [&sheet.header].into_iter().chain(&sheet.rows) {
        push_row(&mut text, row, ',', "\n");
    }
    Ok(text)
}

/// Writes every `.csv` sheet of the folder `src` (not its subfolders) into `dest` in
/// `style`, after [`accent_locations`]. A sheet the style does not fit is written plain
/// (accented) instead; a file name already taken in `dest` gets ` (2)`, ` (3)`… before
/// its extension, as a browser download would. Returns each written file's name, the
/// style it got and its size in bytes.
pub fn restyle_folder(
    src: &Path,
    dest: &Path,
    style: SheetStyle,
) -> Result<Vec<(String, SheetStyle, u64)>> {
    fs::create_dir_all(dest).with_context(|| format!("cannot create `{}`", dest.display()))?;
    let mut files: Vec<_> = fs::read_dir(src)
        .with_context(|| format!("cannot read `{}`", src.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.retain(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")));
    files.sort();
    let mut taken = BTreeSet::new();
    let mut written = Vec::new();
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = fs::read_to_string(&path)
            .with_context(|| format!("cannot read `{}` as UTF-8", path.display()))?;
        let plain = accent_locations(&text, &name)?;
        let (out, used) = match restyle(&plain, &name, style) {
            Ok(r) => (r, style),
            Err(StyleError::NotApplicable { .. }) => {
                (restyle(&plain, &name, SheetStyle::Plain)?, SheetStyle::Plain)
            }
            Err(e) => return Err(e.into()),
        };
        let file = unique_name(&mut taken, &out.file_name);
        let target = dest.join(&file);
        fs::write(&target, &out.bytes)
            .with_context(|| format!("cannot write `{}`", target.display()))?;
        written.push((file, used, out.bytes.len() as u64));
    }
    Ok(written)
}

fn unique_name(taken: &mut BTreeSet<String>, name: &str) -> String {
    let (base, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let mut candidate = name.to_owned();
    let mut n = 2;
    while taken.contains(&candidate.to_lowercase()) {
        candidate = format!("{base} ({n}).{ext}");
        n += 1;
    }
    taken.insert(candidate.to_lowercase());
    candidate
}

fn stem(file_name: &str) -> &str {
    file_name.rsplit_once('.').map_or(file_name, |(s, _)| s)
}

// ---------------------------------------------------------------------------------------
// The sheet as a table of text cells

/// What a column means (SPEC 2.2 aliases); `Other` columns are carried along unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    License,
    Label,
    Quantity,
    Unit,
    Location,
    CountedAt,
    CountedBy,
    Other,
}

const ROLES: &[(Role, &[&str])] = &[
    (Role::License, &["license", "licensenumber", "facilitylicense", "currentlicense"]),
    (Role::Label, &["label", "tag", "packagetag", "uid", "packagelabel", "packageuid"]),
    (Role::Quantity, &["quantity", "qty", "count", "countedquantity", "packagequantity"]),
    (Role::Unit, &["unitofmeasure", "unit", "uom", "unitofmeasurename", "units"]),
    (Role::Location, &["location", "locationname"]),
    (Role::CountedAt, &["countedat", "counteddate", "countdate", "date", "timestamp"]),
    (Role::CountedBy, &["countedby", "counter"]),
];

struct Sheet {
    header: Vec<String>,
    roles: Vec<Role>,
    /// Every row exactly as long as the header: fields past the header are never read.
    rows: Vec<Vec<String>>,
}

impl Sheet {
    fn parse(plain: &str, file: &str) -> Result<Sheet, StyleError> {
        let text = plain.strip_prefix('\u{feff}').unwrap_or(plain);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let unreadable = |reason: String| StyleError::Unreadable { file: file.to_owned(), reason };
        let mut records = rdr.records();
        let header: Vec<String> = match records.next() {
            Some(Ok(r)) => r.iter().map(str::to_owned).collect(),
            Some(Err(e)) => return Err(unreadable(format!("header: {e}"))),
            None => return Err(unreadable("no header row".into())),
        };
        let mut roles: Vec<Role> = Vec::with_capacity(header.len());
        for h in &header {
            let key: String = h
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            let role = ROLES
                .iter()
                .find(|(_, names)| names.contains(&key.as_str()))
                .map_or(Role::Other, |(r, _)| *r);
            // The first column of a meaning counts, as for the reader.
            roles.push(if roles.contains(&role) { Role::Other } else { role });
        }
        if !roles.contains(&Role::Label) || !roles.contains(&Role::Quantity) {
            return Err(unreadable("the header names no label or no quantity column".into()));
        }
        let mut rows = Vec::new();
        for r in records {
            let r = r.map_err(|e| unreadable(e.to_string()))?;
            let mut row: Vec<String> = r.iter().map(str::to_owned).collect();
            row.resize(header.len(), String::new());
            rows.push(row);
        }
        Ok(Sheet { header, roles, rows })
    }

    fn col(&self, role: Role) -> Option<usize> {
        self.roles.iter().position(|r| *r == role)
    }

    fn map(&mut self, role: Role, f: impl Fn(&str) -> String) {
        if let Some(i) = self.col(role) {
            for row in &mut self.rows {
                if !row[i].is_empty() {
                    row[i] = f(&row[i]);
                }
            }
        }
    }

    fn remove(&mut self, i: usize) {
        self.header.remove(i);
        self.roles.remove(i);
        for row in &mut self.rows {
            row.remove(i);
        }
    }

    fn insert(&mut self, at: usize, name: &str, value: impl Fn(usize) -> String) {
        self.header.insert(at, name.to_owned());
        self.roles.insert(at, Role::Other);
        for (k, row) in self.rows.iter_mut().enumerate() {
            row.insert(at, value(k));
        }
    }

    /// The license of every row (blank cells mean the file's name, as for the reader).
    fn licenses(&self, file: &str) -> BTreeSet<String> {
        match self.col(Role::License) {
            None => BTreeSet::from([stem(file).to_owned()]),
            Some(i) => self
                .rows
                .iter()
                .map(|r| match r[i].trim() {
                    "" => stem(file).to_owned(),
                    l => l.to_owned(),
                })
                .collect(),
        }
    }

    fn drop_license(&mut self, file: &str) -> Result<(), StyleError> {
        let lics = self.licenses(file);
        if lics.len() > 1 {
            return Err(StyleError::NotApplicable {
                style: SheetStyle::FileNamed.name(),
                file: file.to_owned(),
                reason: format!(
                    "it holds {} licenses; without a License column a reader can only find \
                     one license from the labels",
                    lics.len()
                ),
            });
        }
        if let Some(i) = self.col(Role::License) {
            self.remove(i);
        }
        Ok(())
    }

    fn unit_into_quantity(&mut self, keep_column: bool) {
        let (Some(q), Some(u)) = (self.col(Role::Quantity), self.col(Role::Unit)) else {
            return;
        };
        for row in &mut self.rows {
            if !row[q].trim().is_empty() && !row[u].trim().is_empty() {
                row[q] = format!("{} {}", row[q].trim(), row[u].trim());
            }
        }
        if !keep_column {
            self.remove(u);
        }
    }

    /// Metrc web-grid names, an item name after the label, `Packaged On` just before the
    /// count time (a date a reader must not take for it), and `Package Type` last.
    fn grid_names(&mut self, file: &str) {
        let tag = if file.bytes().map(u32::from).sum::<u32>() % 2 == 0 {
            "Package Tag"
        } else {
            "Package Label"
        };
        for (h, r) in self.header.iter_mut().zip(&self.roles) {
            let name = match r {
                Role::License => "Current License",
                Role::Label => tag,
                Role::Quantity => "Package Quantity",
                Role::Unit => "Unit of Measure",
                Role::Location => "Location",
                Role::CountedAt => "Counted At",
                Role::CountedBy => "Counted By",
                Role::Other => continue,
            };
            *h = name.to_owned();
        }
        let label = self.col(Role::Label).expect("parsed sheets have a label column");
        self.insert(label + 1, "Package Item", |k| ITEMS[k % ITEMS.len()].to_owned());
        let at = self.col(Role::CountedAt).unwrap_or(self.header.len());
        self.insert(at, "Packaged On", |k| format!("09/{:02}/2026", 1 + k % 28));
        self.insert(self.header.len(), "Package Type", |_| "Product".to_owned());
    }

    /// First and last count date (`YYYY-MM-DD` prefix of the count time).
    fn date_range(&self) -> Option<(String, String)> {
        let i = self.col(Role::CountedAt)?;
        let dates: BTreeSet<&str> = self
            .rows
            .iter()
            .filter_map(|r| r[i].trim().get(..10))
            .filter(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
            .collect();
        Some(((*dates.first()?).to_owned(), (*dates.last()?).to_owned()))
    }
}

const ITEMS: &[&str] = &[
    "Blue Dream - Flower 3.5g",
    "Piña Colada Gummies 10ct",
    "OG Kush Pre-Roll 1g",
    "Sour Diesel Vape Cart 0.5g",
    "Trim - Bulk",
];

/// `2026-10-29` → `10/29/2026`, as US report headers write dates.
fn us_date(iso: &str) -> String {
    format!("{}/{}/{}", &iso[5..7], &iso[8..10], &iso[..4])
}

fn preamble_rows(sheet: &Sheet, file: &str, n: usize) -> Vec<Vec<String>> {
    let license = sheet.licenses(file).into_iter().next().unwrap_or_default();
    let range = sheet.date_range().map_or("10/01/2026 - 10/31/2026".to_owned(), |(a, b)| {
        format!("{} - {}", us_date(&a), us_date(&b))
    });
    let rows = [
        vec!["Inventory count report".to_owned()],
        vec![format!("Date range: {range}")],
        vec!["License:".to_owned(), license],
        vec![String::new()],
    ];
    rows.into_iter().take(n.min(PREAMBLE_ROWS)).collect()
}

/// `inventory 1.csv`, `October count 2026-10-31.csv` or `count sheet (2).csv`, from the
/// number in the file's name and the sheet's first count date.
fn person_file_name(sheet: &Sheet, file: &str) -> String {
    let digits: String = stem(file)
        .rsplit(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .unwrap_or("0")
        .to_owned();
    let n: u64 = digits.trim_start_matches('0').parse().unwrap_or(0);
    let date = sheet.date_range().map(|(a, _)| a);
    match (n % 3, date) {
        (0, Some(d)) => {
            let month = chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map(|d| d.format("%B").to_string())
                .unwrap_or_default();
            format!("{month} count {d}.csv")
        }
        (1, _) | (0, None) => format!("inventory {n}.csv"),
        _ => format!("count sheet ({n}).csv"),
    }
}

/// `1234.5` → `1,234.5` (numbers of 1000 or more only); `None` for anything else.
fn group_thousands(q: &str) -> Option<String> {
    let q = q.trim();
    let (sign, digits) = q.strip_prefix('-').map_or(("", q), |d| ("-", d));
    let (int, frac) = digits.split_once('.').map_or((digits, None), |(i, f)| (i, Some(f)));
    let plain = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    if !plain || int.trim_start_matches('0').len() < 4 {
        return None;
    }
    let mut out = String::from(sign);
    for (k, c) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------
// Writing

/// One CSV row; a field is quoted when it holds the delimiter, a quote, a line break or
/// surrounding spaces (so that padded labels look as spreadsheets save them).
fn push_row(out: &mut String, row: &[String], delim: char, eol: &str) {
    for (k, f) in row.iter().enumerate() {
        if k > 0 {
            out.push(delim);
        }
        let quote = f.contains([delim, '"', '\r', '\n']) || f.starts_with(' ') || f.ends_with(' ');
        if quote {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str(eol);
}

/// `text` in `enc`; the error is a character Windows-1252 lacks.
fn encode(text: &str, enc: Encoding) -> Result<Vec<u8>, char> {
    Ok(match enc {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Utf8Bom => [&[0xEF, 0xBB, 0xBF], text.as_bytes()].concat(),
        Encoding::Utf16Le => {
            let mut b = vec![0xFF, 0xFE];
            b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            b
        }
        Encoding::Utf16Be => {
            let mut b = vec![0xFE, 0xFF];
            b.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
            b
        }
        Encoding::Windows1252 => text.chars().map(cp1252_byte).collect::<Result<_, _>>()?,
    })
}

/// Windows-1252 is Latin-1 except 0x80..0x9F, where it has typographic characters.
fn cp1252_byte(c: char) -> Result<u8, char> {
    const HIGH: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8A),
        ('‹', 0x8B),
        ('Œ', 0x8C),
        ('Ž', 0x8E),
        ('\u{2018}', 0x91),
        ('\u{2019}', 0x92),
        ('\u{201C}', 0x93),
        ('\u{201D}', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9A),
        ('›', 0x9B),
        ('œ', 0x9C),
        ('ž', 0x9E),
        ('Ÿ', 0x9F),
    ];
    match u32::from(c) {
        v @ (0..=0x7F | 0xA0..=0xFF) => Ok(v as u8),
        _ => HIGH.iter().find(|(h, _)| *h == c).map(|(_, b)| *b).ok_or(c),
    }
}

const COVER: &[&str] = &[
    "Monthly physical inventory",
    "1. Count every package on the premises, room by room.",
    "2. Enter each package's tag and the amount on hand in the next worksheet.",
    "3. Save the workbook and send it to compliance by the 5th.",
    "Questions: ask the inventory manager.",
];

/// XLSX bytes: worksheet 1 `Instructions` (text, no header), worksheet 2 `Counts` (a
/// title row, a blank row, the header and the rows). Quantities that are plain numbers
/// are number cells; everything else, count times included, is text exactly as given.
fn write_xlsx(sheet: &Sheet, file: &str) -> Result<Vec<u8>, StyleError> {
    use rust_xlsxwriter::{Workbook, XlsxError};
    let build = || -> Result<Vec<u8>, XlsxError> {
        let mut wb = Workbook::new();
        let cover = wb.add_worksheet().set_name("Instructions")?;
        for (r, line) in COVER.iter().enumerate() {
            cover.write_string(r as u32, 0, *line)?;
        }
        let ws = wb.add_worksheet().set_name("Counts")?;
        ws.write_string(0, 0, "Inventory count report")?;
        for (c, h) in sheet.header.iter().enumerate() {
            ws.write_string(2, c as u16, h)?;
        }
        let qty = sheet.col(Role::Quantity);
        for (k, row) in sheet.rows.iter().enumerate() {
            let r = 3 + k as u32;
            for (c, v) in row.iter().enumerate() {
                match number(v).filter(|_| Some(c) == qty) {
                    Some(x) => ws.write_number(r, c as u16, x)?,
                    None if v.is_empty() => continue,
                    None => ws.write_string(r, c as u16, v)?,
                };
            }
        }
        wb.save_to_buffer()
    };
    build().map_err(|e| StyleError::Unreadable {
        file: file.to_owned(),
        reason: format!("cannot write XLSX: {e}"),
    })
}

/// A decimal number as written by hand (`12`, `-3.5`), not `1e5`, `NaN` or `0x10`.
fn number(v: &str) -> Option<f64> {
    let d = v.strip_prefix('-').unwrap_or(v);
    let ok = !d.is_empty()
        && d.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && d.bytes().filter(|b| *b == b'.').count() <= 1
        && !d.starts_with('.')
        && !d.ends_with('.');
    ok.then(|| v.parse().ok()).flatten().filter(|x: &f64| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHEET: &str = "License,Label,Quantity,UnitOfMeasure,Location,CountedAt\n\
                         C11-0000001-LIC,1A4FF01,1234.5,Grams,Back Stock,2026-10-29\n\
                         C11-0000001-LIC,1A4FF02,abc,g,Vault A,2026-10-30T10:00:00Z\n";

    #[test]
    fn sheet_style_names_round_trip() {
        for s in SheetStyle::ALL {
            assert_eq!(SheetStyle::from_name(s.name()), Some(s));
        }
        assert_eq!(SheetStyle::select("realworld").unwrap().len(), SheetStyle::ALL.len());
    }

    #[test]
    fn sheet_style_thousands_groups_plain_numbers_only() {
        assert_eq!(group_thousands("1234.5").as_deref(), Some("1,234.5"));
        assert_eq!(group_thousands("-1234567").as_deref(), Some("-1,234,567"));
        assert_eq!(group_thousands("999.9"), None);
        assert_eq!(group_thousands("1e308"), None);
        assert_eq!(group_thousands("abc"), None);
    }

    #[test]
    fn sheet_style_mixed_is_cp1252_semicolon_with_grid_names() {
        let plain = accent_locations(SHEET, "C11-0000001-LIC.csv").unwrap();
        let r = restyle(&plain, "C11-0000001-LIC.csv", SheetStyle::Mixed).unwrap();
        let text: String = r.bytes.iter().map(|&b| char::from(b)).collect();
        assert!(text.starts_with("Inventory count report\r\nDate range: 10/29/2026 - 10/30/2026"));
        let head = ";Package Item;Package Quantity;Unit of Measure;Location;Packaged On;Counted At;\
                    Package Type\r\n";
        assert!(text.contains(&format!("Current License;Package Tag{head}")), "{text}");
        assert!(text.contains("\"  1a4ff01  \";Blue Dream - Flower 3.5g;1,234.5;"));
        assert!(r.bytes.contains(&0x96) && r.bytes.contains(&0xE9), "en dash and é");
    }

    #[test]
    fn sheet_style_qty_with_unit_drops_the_unit_column() {
        let r = restyle(SHEET, "x.csv", SheetStyle::QtyWithUnit).unwrap();
        let text = String::from_utf8(r.bytes).unwrap();
        assert!(text.starts_with("License,Label,Quantity,Location,CountedAt\n"), "{text}");
        assert!(text.contains(",1234.5 Grams,") && text.contains(",abc g,"), "{text}");
    }

    #[test]
    fn sheet_style_file_named_needs_one_license() {
        let r = restyle(SHEET, "C11-0000001-LIC.csv", SheetStyle::FileNamed).unwrap();
        assert_eq!(r.file_name, "inventory 1.csv");
        assert!(String::from_utf8(r.bytes).unwrap().starts_with("Label,Quantity"));
        let two = format!("{SHEET}C11-0000002-LIC,1A4FF03,1,g,Vault B,2026-10-29\n");
        let e = restyle(&two, "c.csv", SheetStyle::FileNamed).unwrap_err();
        assert!(matches!(e, StyleError::NotApplicable { style: "file-named", .. }), "{e}");
    }

    #[test]
    fn sheet_style_cp1252_refuses_characters_it_lacks() {
        let s = SHEET.replace("Back Stock", "Lager 北");
        let e = restyle(&s, "x.csv", SheetStyle::Cp1252).unwrap_err();
        assert!(matches!(e, StyleError::NotApplicable { style: "cp1252", .. }), "{e}");
    }

    #[test]
    fn sheet_style_utf16_has_a_bom() {
        let r = restyle(SHEET, "x.csv", SheetStyle::Utf16LeTab).unwrap();
        assert_eq!(&r.bytes[..4], &[0xFF, 0xFE, b'L', 0]);
        let r = restyle(SHEET, "x.csv", SheetStyle::Utf16Be).unwrap();
        assert_eq!(&r.bytes[..4], &[0xFE, 0xFF, 0, b'L']);
    }
}

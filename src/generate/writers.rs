//! Output writers: the JSON text helpers, [`RecWriter`] (one kind of record of one
//! license, paged as Metrc pages it) and [`CountSheet`] (a license's physical count CSV,
//! with the counting [`Session`] whose times its rows carry). They write what they are
//! given; deciding what is true about it is `oracle`'s job.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::NaiveDate;

use super::catalog::Unit;
use super::clock::{Clock, HOUR, MINUTE, Shape, Ts};
use super::plan::{Ctx, SessShape};
use super::rng::Rng;

/// Appends `v` as a JSON string.
pub(super) fn push_json_str(s: &mut String, v: &str) {
    s.push('"');
    if v.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        s.push_str(v);
    } else {
        for c in v.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(s, "\\u{:04x}", c as u32);
                }
                c => s.push(c),
            }
        }
    }
    s.push('"');
}

/// Appends `v` as a JSON string, or `null`.
pub(super) fn push_opt_str(s: &mut String, v: Option<&str>) {
    match v {
        Some(v) => push_json_str(s, v),
        None => s.push_str("null"),
    }
}

/// Thousandths as a decimal; `float` keeps a `.0` on whole numbers (Metrc style).
pub(super) fn push_qty(s: &mut String, m: i64, float: bool) {
    if m < 0 {
        s.push('-');
    }
    let a = m.unsigned_abs();
    let _ = write!(s, "{}", a / 1000);
    let mut frac = a % 1000;
    if frac == 0 {
        if float {
            s.push_str(".0");
        }
        return;
    }
    let mut digits = [b'0'; 3];
    for d in digits.iter_mut().rev() {
        *d = b'0' + (frac % 10) as u8;
        frac /= 10;
    }
    let len = 3 - digits.iter().rev().take_while(|&&d| d == b'0').count();
    s.push('.');
    s.push_str(std::str::from_utf8(&digits[..len]).expect("ascii digits"));
}

/// Thousandths as a decimal, without a `.0` on whole numbers.
pub(super) fn qty_text(m: i64) -> String {
    let mut s = String::new();
    push_qty(&mut s, m, false);
    s
}

/// One kind of record of one license, split into pages (`packages.json`, `packages.2.json`…).
pub(super) struct RecWriter {
    dir: PathBuf,
    license: String,
    kind: &'static str,
    jsonl: bool,
    page_size: usize,
    rng: Rng,
    file_no: usize,
    in_file: usize,
    page_fmt: bool,
    cur: Option<BufWriter<File>>,
    pub(super) bytes: u64,
}

impl RecWriter {
    pub(super) fn new(
        dir: &Path,
        license: &str,
        kind: &'static str,
        jsonl: bool,
        page_size: usize,
        seed: u64,
    ) -> RecWriter {
        RecWriter {
            dir: dir.to_path_buf(),
            license: license.to_string(),
            kind,
            jsonl,
            page_size,
            rng: Rng::new(seed),
            file_no: 0,
            in_file: 0,
            page_fmt: false,
            cur: None,
            bytes: 0,
        }
    }

    fn file_name(&self) -> String {
        let ext = if self.jsonl { "jsonl" } else { "json" };
        if self.file_no <= 1 {
            format!("{}.{ext}", self.kind)
        } else {
            format!("{}.{}.{ext}", self.kind, self.file_no)
        }
    }

    /// The current file as `expected_rejects.csv` names it (`<LICENSE>/<file>`).
    pub(super) fn rel(&self) -> String {
        format!("{}/{}", self.license, self.file_name())
    }

    /// Appends a record; returns its 0-based index in its file.
    pub(super) fn push(&mut self, rec: &str) -> Result<u64> {
        if self.cur.is_none() || self.in_file >= self.page_size {
            self.rotate()?;
        }
        let w = self.cur.as_mut().expect("rotate opened a file");
        if self.jsonl {
            w.write_all(rec.as_bytes())?;
            w.write_all(b"\n")?;
        } else {
            if self.in_file > 0 {
                w.write_all(b",\n")?;
                self.bytes += 2;
            }
            w.write_all(rec.as_bytes())?;
        }
        self.bytes += rec.len() as u64 + u64::from(self.jsonl);
        self.in_file += 1;
        Ok(self.in_file as u64 - 1)
    }

    /// Starts the next file: as JSON, half of them are Metrc pages (`{"Data": [...]}`
    /// with page counts), the others plain arrays.
    fn rotate(&mut self) -> Result<()> {
        self.close()?;
        self.file_no += 1;
        self.in_file = 0;
        let path = self.dir.join(self.file_name());
        let f =
            File::create(&path).with_context(|| format!("cannot create `{}`", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        self.page_fmt = !self.jsonl && self.rng.chance(0.5);
        if !self.jsonl {
            let head: &[u8] = if self.page_fmt { b"{\"Data\":[\n" } else { b"[\n" };
            w.write_all(head)?;
            self.bytes += head.len() as u64;
        }
        self.cur = Some(w);
        Ok(())
    }

    /// Ends and flushes the current file.
    pub(super) fn close(&mut self) -> Result<()> {
        if let Some(mut w) = self.cur.take() {
            if !self.jsonl {
                let tail = if self.page_fmt {
                    let n = self.in_file;
                    let ps = if self.page_size == usize::MAX { n } else { self.page_size };
                    format!(
                        "\n],\"Total\":{n},\"TotalRecords\":{n},\"PageSize\":{ps},\
                         \"RecordsOnPage\":{n},\"Page\":{p},\"CurrentPage\":{p}}}\n",
                        p = self.file_no
                    )
                } else {
                    "\n]\n".to_string()
                };
                w.write_all(tail.as_bytes())?;
                self.bytes += tail.len() as u64;
            }
            w.flush()?;
        }
        Ok(())
    }
}

/// A column of a count sheet; the text is the header the sheet uses for it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    License,
    Label(&'static str),
    Qty(&'static str),
    Unit(&'static str),
    Location,
    CountedAt(&'static str),
    CountedBy(&'static str),
}

/// The time frame of one license's count: the shape its `CountedAt` values take and the
/// instants they may name.
pub(super) struct Session {
    shape: SessShape,
    lo: i64,
    hi: i64,
    dates: Vec<NaiveDate>,
    pub(super) t_max: Ts,
}

impl Session {
    /// The count window of a license: one or two days (date only) or a few hours of one
    /// day, late October to early November (the naive one spans the repeated hour).
    pub(super) fn new(c: &Clock, shape: SessShape, rng: &mut Rng) -> Session {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).expect("valid date");
        match shape {
            SessShape::DateOnly => {
                let mut dates = vec![d(10, 30)];
                if rng.chance(0.5) {
                    dates.push(d(10, 31));
                }
                let last = *dates.last().expect("one date");
                Session {
                    shape,
                    lo: c.day_start(dates[0]),
                    hi: c.day_start(last) + 12 * HOUR,
                    t_max: c.render(c.day_start(last) + 12 * HOUR, Shape::Date),
                    dates,
                }
            }
            SessShape::Naive => {
                let (lo, hi) = (c.at(2026, 11, 1, 0, 30), c.at(2026, 11, 1, 3, 30));
                Session { shape, lo, hi, dates: Vec::new(), t_max: c.render(hi, Shape::Naive) }
            }
            SessShape::Offset => {
                let (lo, hi) = (c.at(2026, 10, 29, 9, 0), c.at(2026, 10, 29, 17, 0));
                Session { shape, lo, hi, dates: Vec::new(), t_max: c.render(hi, Shape::Offset) }
            }
            SessShape::Zulu => {
                let (lo, hi) = (c.at(2026, 11, 2, 8, 0), c.at(2026, 11, 2, 15, 0));
                Session { shape, lo, hi, dates: Vec::new(), t_max: c.render(hi, Shape::Zulu) }
            }
        }
    }

    /// A `CountedAt` within the session, to the minute.
    pub(super) fn pick(&self, c: &Clock, rng: &mut Rng) -> Ts {
        match self.shape {
            SessShape::DateOnly => {
                let d = self.dates[rng.index(self.dates.len())];
                c.render(c.day_start(d) + 12 * HOUR, Shape::Date)
            }
            s => {
                let t = self.lo + rng.range(0, (self.hi - self.lo) / MINUTE) * MINUTE;
                let shape = match s {
                    SessShape::Naive => Shape::Naive,
                    SessShape::Offset => Shape::Offset,
                    _ => Shape::Zulu,
                };
                c.render(t, shape)
            }
        }
    }

    /// Window in which as-of relevant changes are not placed, so that the reading of an
    /// ambiguous naive `CountedAt` (earlier or later instant) cannot change a result.
    pub(super) fn blackout(&self) -> Option<(i64, i64)> {
        (self.shape != SessShape::DateOnly).then(|| (self.lo - 3 * HOUR, self.hi + 3 * HOUR))
    }
}

/// The column layouts operators use (header names, unit names or abbreviations).
const LAYOUTS: [(&[Col], bool); 4] = [
    (
        &[
            Col::License,
            Col::Label("Label"),
            Col::Qty("Quantity"),
            Col::Unit("UnitOfMeasure"),
            Col::Location,
            Col::CountedAt("CountedAt"),
            Col::CountedBy("CountedBy"),
        ],
        false,
    ),
    (
        &[
            Col::Label("Tag"),
            Col::Qty("Qty"),
            Col::Unit("Unit"),
            Col::Location,
            Col::CountedAt("Count Date"),
            Col::CountedBy("Counted By"),
            Col::License,
        ],
        true,
    ),
    (
        &[
            Col::Label("Package Tag"),
            Col::Location,
            Col::Qty("Quantity"),
            Col::Unit("UOM"),
            Col::CountedAt("Counted At"),
            Col::License,
        ],
        true,
    ),
    (
        &[
            Col::License,
            Col::Label("PackageLabel"),
            Col::Qty("Count"),
            Col::Unit("Unit"),
            Col::CountedAt("CountedAt"),
            Col::CountedBy("CountedBy"),
        ],
        false,
    ),
];

/// `counts/<LICENSE>.csv` of one license, being written.
pub(super) struct CountSheet {
    pub(super) w: BufWriter<File>,
    license: String,
    pub(super) file: String,
    pub(super) bytes: u64,
    line: u64,
    cols: Vec<Col>,
    abbr: bool,
    crlf: bool,
    pub(super) session: Session,
    /// No row has the latest `CountedAt` yet (the as-of time of packages not counted).
    pub(super) need_tmax: bool,
    /// Rows written after all others (the second row of a duplicate count).
    pub(super) tail: Vec<String>,
}

impl CountSheet {
    /// Creates the sheet of license `idx` and writes its header: a layout chosen by
    /// license and seed, with the BOM (and CRLF) or the missing license column the plan
    /// gave this license.
    pub(super) fn create(ctx: &Ctx, idx: usize, session: Session) -> Result<CountSheet> {
        let plan = &ctx.plan;
        let number = &plan.licenses[idx];
        let (cols, abbr) = LAYOUTS[(idx * 7 + plan.seed as usize) % 4];
        let mut cols = cols.to_vec();
        if plan.no_license_col == Some(idx) {
            cols.retain(|c| *c != Col::License);
        }
        let bom = plan.bom == Some(idx);
        let file = format!("{number}.csv");
        let path = ctx.root.join("counts").join(&file);
        let f =
            File::create(&path).with_context(|| format!("cannot create `{}`", path.display()))?;
        let mut sheet = CountSheet {
            w: BufWriter::with_capacity(1 << 18, f),
            license: number.clone(),
            file,
            bytes: 0,
            line: 0,
            cols,
            abbr,
            crlf: bom,
            session,
            need_tmax: true,
            tail: Vec::new(),
        };
        let head = sheet.header(bom);
        sheet.write_line(&head)?;
        Ok(sheet)
    }

    fn header(&self, bom: bool) -> String {
        let mut head = String::new();
        if bom {
            head.push('\u{feff}');
        }
        for (i, c) in self.cols.iter().enumerate() {
            if i > 0 {
                head.push(',');
            }
            head.push_str(match c {
                Col::License => "License",
                Col::Location => "Location",
                Col::Label(h)
                | Col::Qty(h)
                | Col::Unit(h)
                | Col::CountedAt(h)
                | Col::CountedBy(h) => h,
            });
        }
        head.push_str(if bom { "\r\n" } else { "\n" });
        head
    }

    /// A row in this sheet's layout and line ending.
    pub(super) fn render_row(
        &self,
        label: &str,
        qty: &str,
        unit: Unit,
        loc: &str,
        at: &str,
        by: &str,
    ) -> String {
        let mut s = String::with_capacity(96);
        for (i, c) in self.cols.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            match c {
                Col::License => s.push_str(&self.license),
                Col::Label(_) => s.push_str(label),
                Col::Qty(_) => s.push_str(qty),
                Col::Unit(_) => s.push_str(if self.abbr { unit.abbr() } else { unit.name() }),
                Col::Location => s.push_str(loc),
                Col::CountedAt(_) => s.push_str(at),
                Col::CountedBy(_) => s.push_str(by),
            }
        }
        s.push_str(if self.crlf { "\r\n" } else { "\n" });
        s
    }

    /// Writes a row; returns its line number (the header is line 1).
    pub(super) fn write_line(&mut self, row: &str) -> Result<u64> {
        self.w.write_all(row.as_bytes())?;
        self.bytes += row.len() as u64;
        self.line += 1;
        Ok(self.line)
    }

    /// The header of the quantity column, as rejects name the column.
    pub(super) fn qty_header(&self) -> &'static str {
        self.cols
            .iter()
            .find_map(|c| match c {
                Col::Qty(h) => Some(*h),
                _ => None,
            })
            .unwrap_or("Quantity")
    }
}

//! A strict JSON reader for one export record, typed by the record's shape: the fields a
//! decoder asks for become [`Raw`] values borrowed from the input, everything else is
//! validated and skipped without being built. This is the ingest hot path (most bytes of a
//! Metrc record are fields nobody reads), so strings are scanned eight bytes at a time and
//! nothing is allocated unless a string holds an escape.
//!
//! Errors keep serde_json's split: [`ReadError::Syntax`] (not JSON: fatal for the file) and
//! [`ReadError::Data`] (JSON, but a value cannot be taken: the record is rejected, naming
//! the field). The input is a `&str`: callers check whole records with simdutf8 first.

use std::borrow::Cow;

use super::raw::{Nested, Raw, Shape};

/// Nesting deeper than this is an error (as in serde_json), so hostile input cannot
/// overflow the stack.
pub const MAX_DEPTH: usize = 128;

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadError {
    /// Not JSON at `offset` (bytes into the record).
    Syntax {
        /// Byte offset inside the record.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// JSON, but a value of a field cannot be taken.
    Data {
        /// The field, as named in the input (`Transactions[2].QuantitySold`); empty for
        /// the record itself.
        column: String,
        /// Why.
        reason: String,
    },
}

impl ReadError {
    fn data(reason: impl Into<String>) -> Self {
        ReadError::Data { column: String::new(), reason: reason.into() }
    }

    /// Name the field (or array element) the error happened in.
    fn within(self, name: &str) -> Self {
        match self {
            ReadError::Data { column, reason } => {
                let column = if column.is_empty() {
                    name.to_owned()
                } else if column.starts_with('[') {
                    format!("{name}{column}")
                } else {
                    format!("{name}.{column}")
                };
                ReadError::Data { column, reason }
            }
            syntax => syntax,
        }
    }
}

/// Result of reading.
pub type ReadResult<T> = Result<T, ReadError>;

/// A cursor over one record's bytes.
pub struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

/// A value type that can be read from JSON.
pub trait FromJson<'a>: Sized {
    /// Read one value at the cursor (whitespace already skipped).
    fn read(r: &mut Reader<'a>) -> ReadResult<Self>;
}

/// The JSON kind starting with byte `c`, for messages.
fn kind_of(c: u8) -> &'static str {
    match c {
        b'{' => "object",
        b'[' => "array",
        b'"' => "string",
        b't' | b'f' => "boolean",
        b'n' => "null",
        _ => "number",
    }
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Reader { b: text.as_bytes(), i: 0, depth: 0 }
    }

    /// Read one whole record of type `T`: the input must hold exactly one JSON value.
    pub fn record<T: FromJson<'a>>(text: &'a str) -> ReadResult<T> {
        let mut r = Reader::new(text);
        r.ws();
        let v = T::read(&mut r)?;
        r.ws();
        if r.i < r.b.len() {
            return Err(r.syntax("trailing characters"));
        }
        Ok(v)
    }

    fn syntax(&self, reason: &'static str) -> ReadError {
        ReadError::Syntax { offset: self.i.min(self.b.len()), reason }
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next non-whitespace byte, not consumed.
    #[inline]
    pub fn peek(&mut self) -> ReadResult<u8> {
        self.ws();
        match self.b.get(self.i) {
            Some(&c) => Ok(c),
            None => Err(self.syntax("EOF while parsing a value")),
        }
    }

    fn enter(&mut self) -> ReadResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.syntax("recursion limit exceeded"));
        }
        Ok(())
    }

    /// Step into the object or array opening with `open` at the cursor; false when it is
    /// empty (and already stepped over). Another kind of value is skipped and is a data error.
    fn open(&mut self, open: u8, close: u8, what: &str) -> ReadResult<bool> {
        let c = self.peek()?;
        if c != open {
            let kind = kind_of(c);
            self.skip()?;
            return Err(ReadError::data(format!("wrong JSON type: expected {what}, got {kind}")));
        }
        self.enter()?;
        self.i += 1;
        if self.peek()? == close {
            self.i += 1;
            self.depth -= 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// The members of an object at the cursor: `f(reader, key)` reads or skips each value.
    /// A value that is not an object is a data error naming its kind.
    pub fn object(
        &mut self,
        mut f: impl FnMut(&mut Self, &[u8]) -> ReadResult<()>,
    ) -> ReadResult<()> {
        if !self.open(b'{', b'}', "object")? {
            return Ok(());
        }
        loop {
            if self.peek()? != b'"' {
                return Err(self.syntax("key must be a string"));
            }
            self.i += 1;
            let key = match self.string_body() {
                // A key with a lone surrogate names no field: its value is skipped.
                Err(ReadError::Data { .. }) => Cow::Borrowed("\u{fffd}"),
                key => key?,
            };
            if self.peek()? != b':' {
                return Err(self.syntax("expected `:`"));
            }
            self.i += 1;
            self.ws();
            match key {
                Cow::Borrowed(k) => f(self, k.as_bytes())?,
                Cow::Owned(k) => f(self, k.as_bytes())?,
            }
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    break;
                }
                _ => return Err(self.syntax("expected `,` or `}`")),
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// The elements of an array at the cursor: `f(reader, index)` reads each one. A value
    /// that is not an array is a data error naming its kind.
    pub fn array(
        &mut self,
        mut f: impl FnMut(&mut Self, usize) -> ReadResult<()>,
    ) -> ReadResult<()> {
        if !self.open(b'[', b']', "array")? {
            return Ok(());
        }
        let mut n = 0;
        loop {
            self.ws();
            f(self, n)?;
            n += 1;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    break;
                }
                _ => return Err(self.syntax("expected `,` or `]`")),
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Any value, validated; objects and arrays are skipped and only their kind kept.
    pub fn value(&mut self) -> ReadResult<Raw<'a>> {
        Ok(match self.peek()? {
            b'"' => {
                self.i += 1;
                Raw::Str(self.string_body()?)
            }
            b'{' | b'[' => {
                let obj = self.b[self.i] == b'{';
                self.skip()?;
                if obj { Raw::Object } else { Raw::Array }
            }
            b'n' => {
                self.literal(b"null")?;
                Raw::Null
            }
            b't' => {
                self.literal(b"true")?;
                Raw::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Raw::Bool(false)
            }
            _ => Raw::Num(self.number()?),
        })
    }

    /// Skip one value, checking that it is well-formed JSON.
    pub fn skip(&mut self) -> ReadResult<()> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                self.skip_string_body()
            }
            b'{' => self.object(|r, _| r.skip()),
            b'[' => self.array(|r, _| r.skip()),
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            _ => self.number_text().map(|_| ()),
        }
    }

    /// The raw text of one value (validated), for values kept as JSON text.
    pub fn raw_text(&mut self) -> ReadResult<&'a str> {
        self.ws();
        let start = self.i;
        self.skip()?;
        Ok(self.text(start, self.i))
    }

    fn text(&self, a: usize, b: usize) -> &'a str {
        let bytes = &self.b[a..b];
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: the reader's input is a `&str`, and `a`/`b` are always at an ASCII
        // delimiter or an end of the input, so the slice is whole characters. Not checked
        // again: this runs for every string read, on the ingest hot path.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    fn literal(&mut self, word: &'static [u8]) -> ReadResult<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.syntax("expected value"))
        }
    }

    /// Just after an opening quote: skip to just after the closing one.
    fn skip_string_body(&mut self) -> ReadResult<()> {
        loop {
            self.i = find_special(self.b, self.i);
            match self.b.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.i += 1;
                    // A lone surrogate in a value nobody reads is skipped, as serde does.
                    self.escape(&mut None)?;
                }
                Some(_) => {
                    return Err(self.syntax("control character (\\u0000-\\u001F) in a string"));
                }
                None => return Err(self.syntax("EOF while parsing a string")),
            }
        }
    }

    /// Just after an opening quote: the string's content, borrowed unless it has escapes.
    fn string_body(&mut self) -> ReadResult<Cow<'a, str>> {
        let start = self.i;
        self.i = find_special(self.b, self.i);
        if self.b.get(self.i) == Some(&b'"') {
            self.i += 1;
            return Ok(Cow::Borrowed(self.text(start, self.i - 1)));
        }
        let mut out = Some(String::from(self.text(start, self.i)));
        let mut lone = false;
        loop {
            match self.b.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    // Read to the closing quote first, so the record's remaining fields
                    // are still checked as JSON; then the value is refused, not the file.
                    if lone {
                        return Err(ReadError::data(
                            "the string holds a lone surrogate escape (`\\ud800`…): not \
                             valid Unicode text",
                        ));
                    }
                    return Ok(Cow::Owned(out.unwrap_or_default()));
                }
                Some(b'\\') => {
                    self.i += 1;
                    lone |= !self.escape(&mut out)?;
                }
                Some(_) => {
                    return Err(self.syntax("control character (\\u0000-\\u001F) in a string"));
                }
                None => return Err(self.syntax("EOF while parsing a string")),
            }
            let run = self.i;
            self.i = find_special(self.b, self.i);
            if let Some(o) = out.as_mut() {
                o.push_str(self.text(run, self.i));
            }
        }
    }

    /// Just after a backslash: one escape, appended to `out` when decoding. False for a
    /// lone surrogate (`\ud800` without its pair): well-formed JSON, but no character;
    /// U+FFFD stands in for it.
    fn escape(&mut self, out: &mut Option<String>) -> ReadResult<bool> {
        let Some(&c) = self.b.get(self.i) else {
            return Err(self.syntax("EOF while parsing a string"));
        };
        self.i += 1;
        let ch = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    if self.b.get(self.i) != Some(&b'\\') || self.b.get(self.i + 1) != Some(&b'u') {
                        None
                    } else {
                        // The next escape is taken as the pair; when it is not a trailing
                        // surrogate the string is refused anyway, so it need not be kept.
                        self.i += 2;
                        let lo = self.hex4()?;
                        (0xDC00..0xE000)
                            .contains(&lo)
                            .then(|| 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                    }
                } else if (0xDC00..0xE000).contains(&hi) {
                    None
                } else {
                    Some(hi)
                };
                match code.and_then(char::from_u32) {
                    Some(c) => c,
                    None => {
                        if let Some(o) = out.as_mut() {
                            o.push(char::REPLACEMENT_CHARACTER);
                        }
                        return Ok(false);
                    }
                }
            }
            _ => {
                self.i -= 1;
                return Err(self.syntax("invalid escape"));
            }
        };
        if let Some(o) = out.as_mut() {
            o.push(ch);
        }
        Ok(true)
    }

    fn hex4(&mut self) -> ReadResult<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.b.get(self.i) {
                Some(&c @ b'0'..=b'9') => c - b'0',
                Some(&c @ b'a'..=b'f') => c - b'a' + 10,
                Some(&c @ b'A'..=b'F') => c - b'A' + 10,
                Some(_) => return Err(self.syntax("invalid escape")),
                None => return Err(self.syntax("EOF while parsing a string")),
            };
            v = v * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(v)
    }

    /// A number per the JSON grammar: its text, and the integer digits and exponent for the
    /// exact fast path (None when it does not apply).
    fn number_text(&mut self) -> ReadResult<(&'a str, Option<(u64, i32)>)> {
        let b = self.b;
        let start = self.i;
        let mut i = start;
        let neg = b.get(i) == Some(&b'-');
        if neg {
            i += 1;
        }
        let mut mant: u64 = 0;
        let mut digits = 0u32;
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while let Some(&c @ b'0'..=b'9') = b.get(i) {
                    mant = mant.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                    digits += 1;
                    i += 1;
                }
            }
            _ => {
                self.i = i;
                return Err(self.syntax(if neg { "invalid number" } else { "expected value" }));
            }
        }
        let mut exp: i32 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let frac = i;
            while let Some(&c @ b'0'..=b'9') = b.get(i) {
                if mant != 0 || c != b'0' {
                    digits += 1;
                }
                mant = mant.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                i += 1;
            }
            if i == frac {
                self.i = i;
                return Err(self.syntax("invalid number"));
            }
            exp = -((i - frac).min(1000) as i32);
        }
        let mut exact = digits <= 15;
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            let eneg = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let e0 = i;
            let mut e: i32 = 0;
            while let Some(&c @ b'0'..=b'9') = b.get(i) {
                e = e.saturating_mul(10).saturating_add(i32::from(c - b'0'));
                i += 1;
            }
            if i == e0 {
                self.i = i;
                return Err(self.syntax("invalid number"));
            }
            exp = exp.saturating_add(if eneg { -e } else { e });
            exact = false;
        }
        self.i = i;
        let text = self.text(start, i);
        let fast = (exact && exp >= -22).then_some((mant, exp));
        Ok((text, fast))
    }

    /// A number's value; out of the f64 range is a data error.
    fn number(&mut self) -> ReadResult<f64> {
        let (text, fast) = self.number_text()?;
        if let Some((mant, exp)) = fast {
            // Clinger's fast path: both exact in f64, one correctly rounded operation.
            let m = mant as f64;
            let v = if exp < 0 { m / POW10[(-exp) as usize] } else { m };
            return Ok(if text.starts_with('-') { -v } else { v });
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(ReadError::data("number out of range")),
        }
    }
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Index of the first `"`, `\` or control byte at or after `i` (or `b.len()`), sixteen
/// bytes at a time (SSE2), then eight, then one.
#[inline]
fn find_special(b: &[u8], mut i: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Sixteen bytes at a time with SSE2 (every x86-64 has it): a value of up to 16 bytes
    // is scanned in one step, where the eight-byte loop below takes up to three, each
    // ending on a branch the CPU mispredicts.
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        while let Some(chunk) = b.get(i..i + 16) {
            // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes of `chunk`.
            let mask = unsafe {
                let x = _mm_loadu_si128(chunk.as_ptr().cast());
                let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
                // Below 0x20: unchanged by an unsigned minimum with 0x1F.
                let control = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control))
            };
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let q = x ^ (LO * u64::from(b'"'));
        let s = x ^ (LO * u64::from(b'\\'));
        // Per byte: zero after the xor (a quote or backslash), or below 0x20. The lowest
        // flagged byte is always a true hit, which is all we use.
        let t = (q.wrapping_sub(LO) & !q)
            | (s.wrapping_sub(LO) & !s)
            | (x.wrapping_sub(LO * 0x20) & !x);
        let t = t & HI;
        if t != 0 {
            return i + (t.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

impl<'a> FromJson<'a> for Raw<'a> {
    fn read(r: &mut Reader<'a>) -> ReadResult<Self> {
        r.value()
    }
}

impl<'a, T: FromJson<'a>> FromJson<'a> for Vec<T> {
    fn read(r: &mut Reader<'a>) -> ReadResult<Self> {
        let mut out = Vec::new();
        r.array(|r, i| {
            out.push(T::read(r).map_err(|e| e.within(&format!("[{i}]")))?);
            Ok(())
        })?;
        Ok(out)
    }
}

impl<'a, T: FromJson<'a> + Shape> FromJson<'a> for Nested<T> {
    fn read(r: &mut Reader<'a>) -> ReadResult<Self> {
        let c = r.peek()?;
        let wanted = if T::IS_LIST { b'[' } else { b'{' };
        if c == wanted {
            return T::read(r).map(Nested::Some);
        }
        if c == b'n' {
            r.literal(b"null")?;
            return Ok(Nested::None);
        }
        r.skip()?;
        Ok(Nested::Wrong(kind_of(c)))
    }
}

/// A record struct whose fields are read by their JSON key: each listed field is read as
/// its type, other keys are skipped, a key given twice is a data error (as with serde).
macro_rules! json_record {
    ($(#[$meta:meta])* struct $name:ident<'a> { $($field:ident : $ty:ty = $key:literal,)* }) => {
        $(#[$meta])*
        #[derive(Default)]
        struct $name<'a> {
            $($field: $ty,)*
            _life: std::marker::PhantomData<&'a ()>,
        }

        impl<'a> $crate::ingest::reader::FromJson<'a> for $name<'a> {
            fn read(r: &mut $crate::ingest::reader::Reader<'a>)
                -> $crate::ingest::reader::ReadResult<Self> {
                let mut out = Self::default();
                let mut seen = 0u64;
                r.object(|r, key| {
                    let mut bit = 1u64;
                    $(
                        if key == $key.as_bytes() {
                            if seen & bit != 0 {
                                return Err($crate::ingest::reader::duplicate($key));
                            }
                            seen |= bit;
                            out.$field = $crate::ingest::reader::FromJson::read(r)
                                .map_err(|e| $crate::ingest::reader::within(e, $key))?;
                            return Ok(());
                        }
                        bit <<= 1;
                    )*
                    let _ = bit;
                    r.skip()
                })?;
                Ok(out)
            }
        }
    };
}
pub(crate) use json_record;

/// A key given twice in one object.
pub fn duplicate(key: &str) -> ReadError {
    ReadError::Data { column: key.to_owned(), reason: format!("duplicate field `{key}`") }
}

/// Name the field an error happened in.
pub fn within(e: ReadError, key: &str) -> ReadError {
    e.within(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    json_record! {
        struct Inner<'a> {
            name: Raw<'a> = "Name",
        }
    }
    impl Shape for Inner<'_> {
        const IS_LIST: bool = false;
    }

    json_record! {
        struct Rec<'a> {
            label: Raw<'a> = "Label",
            qty: Raw<'a> = "Quantity",
            item: Nested<Inner<'a>> = "Item",
            list: Nested<Vec<Inner<'a>>> = "List",
        }
    }

    fn read(s: &str) -> ReadResult<Rec<'_>> {
        Reader::record::<Rec<'_>>(s)
    }

    fn str_of(r: &Raw<'_>) -> String {
        match r {
            Raw::Str(s) => s.to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn reads_known_fields_and_skips_the_rest() {
        let r = read(
            r#" {"Id": 12, "Label": "A\"B\u00e9\ud83d\ude00", "Skip": {"x": [1, -2.5e3, true, null, "\\"]},
                "Quantity": -12.50, "Item": {"Name": "Jar", "More": []}, "List": [{"Name": "x"}, {}]} "#,
        )
        .unwrap();
        assert_eq!(str_of(&r.label), "A\"Bé😀");
        assert!(matches!(r.qty, Raw::Num(x) if x == -12.5));
        assert!(matches!(&r.item, Nested::Some(i) if str_of(&i.name) == "Jar"));
        assert!(matches!(&r.list, Nested::Some(v) if v.len() == 2));
    }

    #[test]
    fn numbers_match_std_parsing() {
        for t in [
            "0",
            "-0",
            "1",
            "12.5",
            "0.1",
            "0.30000000000000004",
            "123456789012345",
            "1e3",
            "1.5E-7",
            "9007199254740993",
            "123456789012345678901234567890",
            "2.2250738585072014e-308",
            "-17.000001",
            "0.000000000000000000001",
        ] {
            let rec = format!(r#"{{"Quantity": {t}}}"#);
            let r = read(&rec).unwrap();
            let want: f64 = t.parse().unwrap();
            assert!(matches!(r.qty, Raw::Num(x) if x.to_bits() == want.to_bits()), "{t}");
        }
        let e = read(r#"{"Quantity": 1e400}"#).err().unwrap();
        assert_eq!(
            e,
            ReadError::Data { column: "Quantity".into(), reason: "number out of range".into() }
        );
    }

    #[test]
    fn syntax_errors_name_the_offset() {
        for (text, offset) in [
            (r#"{"Label": 01}"#, 11),
            (r#"{"Label": 1.}"#, 12),
            (r#"{"Label": -}"#, 11),
            (r#"{"Label": .5}"#, 10),
            (r#"{"Label": NaN}"#, 10),
            (r#"{"Label": "a"#, 12),
            (r#"{"Label": "a\x"}"#, 13),
            ("{\"Label\": \"a\tb\"}", 12),
            (r#"{"Label" 1}"#, 9),
            (r#"{"Label": 1 "x": 2}"#, 12),
            (r"{Label: 1}", 1),
            (r#"{"Label": 1} x"#, 13),
            (r#"{"Label": [1,]}"#, 13),
            (r#"{"Label": tru}"#, 10),
        ] {
            match read(text) {
                Err(ReadError::Syntax { offset: o, .. }) => assert_eq!(o, offset, "{text}"),
                other => panic!("{text}: {:?}", other.map(|_| ())),
            }
        }
    }

    #[test]
    fn wrong_shapes_and_duplicates_are_data_errors() {
        let data = |t: &str| match read(t) {
            Err(ReadError::Data { column, reason }) => (column, reason),
            other => panic!("{t}: {:?}", other.map(|_| ())),
        };
        assert_eq!(data("[1, 2]").1, "wrong JSON type: expected object, got array");
        assert_eq!(data(r#"{"Label": 1, "Label": 2}"#).0, "Label");
        assert_eq!(
            data(r#"{"List": [{"Name": 1}, [1]]}"#),
            ("List[1]".into(), "wrong JSON type: expected object, got array".into())
        );
        assert_eq!(data(r#"{"List": [{"Name": 1e999}]}"#).0, "List[0].Name");
        // A lone surrogate refuses the value read, not the file; in a field nobody
        // reads (or a key) it is skipped, as serde_json skips it.
        for text in
            [r#"{"Label": "\ud800"}"#, r#"{"Label": "a\udc00b"}"#, r#"{"Label": "\ud800\u0041"}"#]
        {
            let (column, reason) = data(text);
            assert_eq!(column, "Label", "{text}");
            assert!(reason.contains("lone surrogate"), "{reason}");
        }
        assert_eq!(data(r#"{"List": [{"Name": "\ud83d"}]}"#).0, "List[0].Name");
        assert!(read(r#"{"Skip": "\ud800", "K\udc00": 1, "Label": "\ud83d\ude00"}"#).is_ok());
        let r = read(r#"{"Item": [1], "List": {"a": 1}}"#).unwrap();
        assert!(matches!(r.item, Nested::Wrong("array")));
        assert!(matches!(r.list, Nested::Wrong("object")));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!(r#"{{"Skip": {}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(
            read(&deep),
            Err(ReadError::Syntax { reason: "recursion limit exceeded", .. })
        ));
    }

    #[test]
    fn find_special_matches_a_plain_scan() {
        let text: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        for start in 0..300 {
            let want = text[start..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .map_or(text.len(), |k| start + k);
            assert_eq!(find_special(&text, start), want);
        }
        // One special byte at every position of runs of plain bytes (high ones too), and
        // none: found wherever the 16- and 8-byte steps and the byte tail meet it.
        for len in 0..48 {
            let plain: Vec<u8> =
                (0..len).map(|k| if k % 3 == 0 { 0xE9 } else { b'a' + k as u8 % 26 }).collect();
            assert_eq!(find_special(&plain, 0), len);
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut t = plain.clone();
                    t[at] = special;
                    assert_eq!(find_special(&t, 0), at, "{len} {at} {special}");
                }
            }
        }
    }

    /// Differential check against serde_json: on any text, a value this reader skips as
    /// well-formed is one serde_json parses (out-of-range numbers aside, which only the
    /// typed read rejects), and a syntax error here is an error there.
    mod differential {
        use proptest::prelude::*;

        use super::super::*;

        fn ours(text: &str) -> Result<(), ReadError> {
            let mut r = Reader::new(text);
            r.ws();
            r.skip()?;
            r.ws();
            if r.i < r.b.len() {
                return Err(r.syntax("trailing characters"));
            }
            Ok(())
        }

        fn check(text: &str) {
            let theirs = serde_json::from_str::<serde::de::IgnoredAny>(text);
            match ours(text) {
                Ok(()) => assert!(theirs.is_ok(), "{text:?}: serde_json says {theirs:?}"),
                Err(e) => assert!(theirs.is_err(), "{text:?}: we say {e:?}"),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]
            #[test]
            fn agrees_with_serde_json_on_json_like_text(
                text in r#"[ \t\n{}\[\]",:0-9.eE+\-tfnulrs\\/ubx\u{0}\u{1f}é😀]{0,40}"#
            ) {
                check(&text);
            }

            #[test]
            fn agrees_with_serde_json_on_valid_json(v in json_value(3)) {
                let text = v.to_string();
                check(&text);
                prop_assert!(ours(&text).is_ok());
            }
        }

        fn json_value(depth: u32) -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::Bool),
                any::<i64>().prop_map(|n| serde_json::json!(n)),
                (-1e300f64..1e300).prop_map(|x| serde_json::json!(x)),
                ".{0,12}".prop_map(serde_json::Value::String),
            ];
            leaf.prop_recursive(depth, 24, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                    prop::collection::btree_map(".{0,6}", inner, 0..6)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }
    }
}

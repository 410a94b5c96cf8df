//! Text of a count sheet as operators keep it: the bytes' encoding (BOM, UTF-8, UTF-16,
//! else Windows-1252), physical lines (`\n`, `\r\n` or a lone `\r`) and delimited fields
//! (comma, tab, semicolon or pipe; RFC 4180 quotes, leniently). Knows nothing of columns.

use std::borrow::Cow;

/// How a sheet's bytes were decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 without BOM.
    Utf8,
    /// UTF-8 with a BOM.
    Utf8Bom,
    /// UTF-16 little endian (with BOM, or recognised by its zero bytes).
    Utf16Le,
    /// UTF-16 big endian.
    Utf16Be,
    /// Not valid UTF-8 and no BOM: Windows-1252 (a superset of Latin-1's printable range).
    Windows1252,
}

impl TextEncoding {
    /// As shown to people.
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 with BOM",
            TextEncoding::Utf16Le => "UTF-16 LE",
            TextEncoding::Utf16Be => "UTF-16 BE",
            TextEncoding::Windows1252 => "Windows-1252",
        }
    }
}

/// Decode a sheet's bytes. Valid UTF-8 is borrowed as it is (the plain path copies
/// nothing); a byte order mark wins over everything; UTF-16 without a BOM is recognised by
/// its zero bytes (text sheets hold no NUL otherwise); anything else is Windows-1252, the
/// encoding spreadsheet programs on Windows save "CSV" in.
pub fn decode(bytes: &[u8]) -> (Cow<'_, str>, TextEncoding) {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let body = &bytes[bom..];
        let kind = if enc == encoding_rs::UTF_8 {
            TextEncoding::Utf8Bom
        } else if enc == encoding_rs::UTF_16LE {
            TextEncoding::Utf16Le
        } else {
            TextEncoding::Utf16Be
        };
        return (enc.decode_without_bom_handling(body).0, kind);
    }
    if let Ok(s) = simdutf8::basic::from_utf8(bytes) {
        if let Some(kind) = utf16_without_bom(bytes) {
            let enc = if kind == TextEncoding::Utf16Le {
                encoding_rs::UTF_16LE
            } else {
                encoding_rs::UTF_16BE
            };
            return (enc.decode_without_bom_handling(bytes).0, kind);
        }
        return (Cow::Borrowed(s), TextEncoding::Utf8);
    }
    if let Some(kind) = utf16_without_bom(bytes) {
        let enc = if kind == TextEncoding::Utf16Le {
            encoding_rs::UTF_16LE
        } else {
            encoding_rs::UTF_16BE
        };
        return (enc.decode_without_bom_handling(bytes).0, kind);
    }
    (encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0, TextEncoding::Windows1252)
}

/// UTF-16 without a BOM: in the first bytes, most code units of ASCII text have a zero
/// byte on one side (even positions: big endian, odd: little endian).
fn utf16_without_bom(bytes: &[u8]) -> Option<TextEncoding> {
    let head = &bytes[..bytes.len().min(512) & !1];
    if head.len() < 4 {
        return None;
    }
    let pairs = head.len() / 2;
    let zero_hi = head.chunks_exact(2).filter(|p| p[1] == 0 && p[0] != 0).count();
    let zero_lo = head.chunks_exact(2).filter(|p| p[0] == 0 && p[1] != 0).count();
    if zero_hi * 10 >= pairs * 7 {
        Some(TextEncoding::Utf16Le)
    } else if zero_lo * 10 >= pairs * 7 {
        Some(TextEncoding::Utf16Be)
    } else {
        None
    }
}

/// Physical lines of a text with their 1-based numbers; a line ends at `\n`, `\r\n` or a
/// lone `\r` (classic Mac), and its terminator is not part of it.
#[derive(Clone)]
pub struct Lines<'a> {
    text: &'a str,
    pos: usize,
    line: i64,
}

impl<'a> Lines<'a> {
    /// Lines of `text`, the first numbered 1.
    pub fn new(text: &'a str) -> Self {
        Lines { text, pos: 0, line: 0 }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (i64, &'a str);
    fn next(&mut self) -> Option<(i64, &'a str)> {
        if self.pos >= self.text.len() {
            return None;
        }
        let rest = &self.text.as_bytes()[self.pos..];
        self.line += 1;
        let start = self.pos;
        match memchr::memchr2(b'\n', b'\r', rest) {
            Some(i) => {
                let crlf = rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n');
                self.pos += i + if crlf { 2 } else { 1 };
                Some((self.line, &self.text[start..start + i]))
            }
            None => {
                self.pos = self.text.len();
                Some((self.line, &self.text[start..]))
            }
        }
    }
}

/// Field separators a sheet may use, in the order they are preferred on a tie.
pub const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];

/// As shown to people.
pub fn delimiter_name(d: u8) -> &'static str {
    match d {
        b',' => "comma",
        b'\t' => "tab",
        b';' => "semicolon",
        b'|' => "pipe",
        _ => "other",
    }
}

/// Split one line into fields. A field that starts with `"` is quoted: it ends at the next
/// lone `"`, `""` stands for one quote, and anything after the closing quote up to the
/// delimiter is kept as written (spreadsheet programs are lenient there too). A quote
/// anywhere else is an ordinary character. Returns `false` when a quoted field is still
/// open at the end of the line (its closing quote may be on a following line).
pub fn split_fields<'a>(line: &'a str, delim: u8, out: &mut Vec<Cow<'a, str>>) -> bool {
    out.clear();
    let b = line.as_bytes();
    if memchr::memchr(b'"', b).is_none() {
        // The plain path: no quotes at all.
        out.extend(line.split(delim as char).map(Cow::Borrowed));
        return true;
    }
    let mut i = 0;
    loop {
        if b.get(i) == Some(&b'"') {
            let mut text = String::new();
            let mut j = i + 1;
            let mut closed = false;
            while j < b.len() {
                let Some(k) = memchr::memchr(b'"', &b[j..]) else {
                    text.push_str(&line[j..]);
                    j = b.len();
                    break;
                };
                text.push_str(&line[j..j + k]);
                j += k + 1;
                if b.get(j) == Some(&b'"') {
                    text.push('"');
                    j += 1;
                } else {
                    closed = true;
                    break;
                }
            }
            if !closed {
                out.push(Cow::Owned(text));
                return false;
            }
            let end = memchr::memchr(delim, &b[j..]).map_or(b.len(), |k| j + k);
            text.push_str(&line[j..end]);
            out.push(Cow::Owned(text));
            if end >= b.len() {
                return true;
            }
            i = end + 1;
        } else {
            let end = memchr::memchr(delim, &b[i..]).map_or(b.len(), |k| i + k);
            out.push(Cow::Borrowed(&line[i..end]));
            if end >= b.len() {
                return true;
            }
            i = end + 1;
        }
        if i == b.len() {
            out.push(Cow::Borrowed(""));
            return true;
        }
    }
}

/// A cell's text without surrounding white space and invisible marks (BOM, zero-width
/// characters, non-breaking spaces) that spreadsheets and copy-paste leave in cells.
pub fn clean(cell: &str) -> &str {
    cell.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '\u{feff}' | '\u{200b}'..='\u{200d}' | '\u{2060}')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str, d: u8) -> (Vec<String>, bool) {
        let mut v = Vec::new();
        let ok = split_fields(line, d, &mut v);
        (v.into_iter().map(Cow::into_owned).collect(), ok)
    }

    #[test]
    fn fields_quotes_and_delimiters() {
        assert_eq!(
            fields("a,b,,c", b','),
            (vec!["a".into(), "b".into(), String::new(), "c".into()], true)
        );
        assert_eq!(fields("a,", b','), (vec!["a".into(), String::new()], true));
        assert_eq!(fields(r#""1,234.5",x"#, b','), (vec!["1,234.5".into(), "x".into()], true));
        assert_eq!(fields(r#""a ""b""";c"#, b';'), (vec![r#"a "b""#.into(), "c".into()], true));
        assert_eq!(
            fields(r#"Bodega "Cafe",1"#, b','),
            (vec![r#"Bodega "Cafe""#.into(), "1".into()], true)
        );
        assert_eq!(fields(r#"x,"open,1,g"#, b','), (vec!["x".into(), "open,1,g".into()], false));
        assert_eq!(fields(r#""a","#, b','), (vec!["a".into(), String::new()], true));
    }

    #[test]
    fn lines_every_terminator() {
        let v: Vec<_> = Lines::new("a\r\nb\rc\n\nd").collect();
        assert_eq!(v, vec![(1, "a"), (2, "b"), (3, "c"), (4, ""), (5, "d")]);
        assert_eq!(Lines::new("a\n").count(), 1);
    }

    #[test]
    fn decode_every_encoding() {
        let text = "Label,Location\nA,Bodega Café\n";
        assert_eq!(decode(text.as_bytes()), (Cow::Borrowed(text), TextEncoding::Utf8));
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(decode(&bom).0, text);
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&le), (Cow::Owned(text.to_owned()), TextEncoding::Utf16Le));
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode(&be).0, text);
        let le_nobom: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(decode(&le_nobom), (Cow::Owned(text.to_owned()), TextEncoding::Utf16Le));
        // Latin-1 bytes are the code points below 256.
        let cp: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
        assert_eq!(decode(&cp), (Cow::Owned(text.to_owned()), TextEncoding::Windows1252));
    }

    #[test]
    fn clean_invisible_marks() {
        assert_eq!(clean("\u{feff} 1a4\u{a0}\u{200b} "), "1a4");
    }
}

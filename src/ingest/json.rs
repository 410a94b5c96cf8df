//! Split a JSON input file into records without parsing them: a top-level array, a Metrc
//! page object (`{"Data": [...], "Total": ...}`), a single object (told apart, see
//! [`Splitter::single_object`]: ingest does not read a lookup as a list), or JSON Lines.
//!
//! Reads in blocks (or walks a memory map of the file block by block, dropping the pages
//! it is done with) and hands out chunks of complete records, so memory stays at a few
//! blocks however large the file. Structural damage (truncation, not JSON) is an error
//! with the byte offset; what is inside a record is the decoder's business.

use std::io::Read;
use std::ops::Deref;
use std::sync::Arc;

/// Bytes read per block.
const BLOCK: usize = 4 << 20;

/// Bytes of input being split: read into memory, or a window of the file mapped into
/// memory (no copy from the page cache, no buffer to fill).
pub enum Block {
    /// Read with `read(2)`.
    Owned(Vec<u8>),
    /// `map[start..end]`.
    Mapped {
        /// The whole file.
        map: Arc<memmap2::Mmap>,
        /// First byte of the window.
        start: usize,
        /// End of the window.
        end: usize,
    },
}

impl Deref for Block {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Block::Owned(v) => v,
            Block::Mapped { map, start, end } => &map[*start..*end],
        }
    }
}

/// A run of complete records sharing one buffer.
pub struct Chunk {
    /// The bytes the records point into.
    pub buf: Block,
    /// Byte ranges of the records in `buf`.
    pub records: Vec<(usize, usize)>,
    /// Record index (JSON: 0-based position; JSON Lines: 0-based line) of each record.
    pub index: Vec<u64>,
    /// File offset of `buf[0]`.
    pub base: u64,
}

/// Structural error: what is wrong and the file byte offset where it was seen.
#[derive(Debug)]
pub struct SplitError {
    /// File byte offset.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Before the first value.
    Start,
    /// Inside the top-level object, before a key (or `}`).
    ObjKey,
    /// Inside the top-level object, after a value (`,` or `}`).
    ObjNext,
    /// Inside the record array, before a record or `]`.
    ArrValue,
    /// Inside the record array, after a record (`,` or `]`).
    ArrNext,
    /// After the top-level value: only whitespace may follow.
    End,
}

/// Streaming record splitter.
pub struct Splitter<R> {
    reader: R,
    lines: bool,
    buf: Block,
    pos: usize,
    base: u64,
    eof: bool,
    state: State,
    /// Top-level `{` offset in `buf` while we do not know yet if it is a page or a record.
    obj_start: Option<usize>,
    in_page: bool,
    /// The top-level object had a `Data` key (a second one is an error).
    data_seen: bool,
    next_index: u64,
    /// Bytes handed out so far (for progress).
    pub bytes_read: u64,
    hasher: Option<sha2::Sha256>,
    /// A block handed back by the caller, reused for the next one (fresh pages cost more
    /// than reading).
    spare: Option<Vec<u8>>,
    /// Bytes of a mapped file released (see [`Splitter::release_consumed`]).
    released: usize,
    /// The top-level value was one object with no `Data` array: a lookup, not a list.
    single_object: bool,
}

impl<R: Read> Splitter<R> {
    /// Split `reader`; `lines` for JSON Lines. Every byte read goes through `hasher`.
    pub fn new(reader: R, lines: bool, hasher: sha2::Sha256) -> Self {
        Self::with_block(reader, Block::Owned(Vec::new()), lines, hasher)
    }

    /// Split the file mapped as `map` (`reader` is not read); the same chunks, records and
    /// errors as [`Splitter::new`] on the file, without copying its bytes.
    pub fn mapped(reader: R, map: memmap2::Mmap, lines: bool, hasher: sha2::Sha256) -> Self {
        Self::with_block(
            reader,
            Block::Mapped { map: Arc::new(map), start: 0, end: 0 },
            lines,
            hasher,
        )
    }

    fn with_block(reader: R, buf: Block, lines: bool, hasher: sha2::Sha256) -> Self {
        Splitter {
            reader,
            lines,
            buf,
            pos: 0,
            base: 0,
            eof: false,
            state: State::Start,
            obj_start: None,
            in_page: false,
            data_seen: false,
            next_index: 0,
            bytes_read: 0,
            hasher: Some(hasher),
            spare: None,
            released: 0,
            single_object: false,
        }
    }

    /// Do not hash what is read (the caller hashes the file as stored, e.g. compressed).
    #[must_use]
    pub fn without_hash(mut self) -> Self {
        self.hasher = None;
        self
    }

    /// The reader being split.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader being split, to finish it.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// Whether the top-level value was a single object (no array, no `Data` page): known
    /// once its one record is handed out, which is then the file's only record.
    pub fn single_object(&self) -> bool {
        self.single_object
    }

    /// Hand a chunk's buffer back once its records are decoded, to be reused.
    pub fn recycle(&mut self, buf: Block) {
        match buf {
            Block::Owned(v) => self.spare = Some(v),
            Block::Mapped { .. } => {
                drop(buf);
                self.release_consumed();
            }
        }
    }

    /// Unmap the pages of a mapped file wholly before the current window: every chunk cut
    /// from them was handed back, and the rows copied what they keep. Without this a
    /// mapped file's pages count in the process's memory until the file is done (a
    /// statewide file of several GB).
    fn release_consumed(&mut self) {
        const PAGE: usize = 4096;
        if let Block::Mapped { map, start, .. } = &self.buf {
            let upto = start / PAGE * PAGE;
            if upto > self.released {
                // SAFETY: the map is a private read-only map of a file; `DontNeed` drops
                // the pages from it, and reading them again would fault the same bytes in
                // from the file. No chunk is alive to read them (the caller handed the last
                // one back), and the window starts after `upto`.
                let _ = unsafe {
                    map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        self.released,
                        upto - self.released,
                    )
                };
                self.released = upto;
            }
        }
    }

    /// The SHA-256 of every byte read; call after the last chunk.
    pub fn finish_hash(&mut self) -> [u8; 32] {
        use sha2::Digest;
        self.hasher.take().map(|h| h.finalize().into()).unwrap_or_default()
    }

    fn fill(&mut self) -> Result<bool, SplitError> {
        use sha2::Digest;
        if self.eof {
            return Ok(false);
        }
        let old = self.buf.len();
        let n = match &mut self.buf {
            Block::Mapped { map, end, .. } => {
                let n = BLOCK.min(map.len() - *end);
                *end += n;
                self.eof = *end == map.len();
                n
            }
            Block::Owned(buf) => {
                // Read into spare capacity (no zero-filling of a fresh block each time).
                buf.reserve(BLOCK);
                let mut n = 0;
                while n < BLOCK {
                    match (&mut self.reader).take((BLOCK - n) as u64).read_to_end(buf) {
                        Ok(0) => {
                            self.eof = true;
                            break;
                        }
                        Ok(k) => n += k,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            return Err(SplitError {
                                offset: self.base + (old + n) as u64,
                                reason: format!("read failed: {e}"),
                            });
                        }
                    }
                }
                n
            }
        };
        if let Some(h) = self.hasher.as_mut() {
            h.update(&self.buf[old..old + n]);
        }
        self.bytes_read += n as u64;
        if self.base == 0 && old == 0 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            self.pos = 3;
        }
        Ok(n > 0)
    }

    fn err(&self, at: usize, reason: impl Into<String>) -> SplitError {
        SplitError { offset: self.base + at as u64, reason: reason.into() }
    }

    /// The next chunk of records, or None at the end of the file.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, SplitError> {
        let mut records = Vec::new();
        let mut index = Vec::new();
        loop {
            let more = if self.lines {
                self.scan_lines(&mut records, &mut index)?
            } else {
                self.scan_json(&mut records, &mut index)?
            };
            let have = records.last().map_or(0, |r: &(usize, usize)| r.1);
            if !records.is_empty() && (have >= BLOCK || !more) {
                return Ok(Some(self.take_chunk(records, index)));
            }
            if !more {
                return Ok(None);
            }
            if !self.fill()? {
                // End of file: the scanner is told by `eof`.
                if self.lines {
                    continue;
                }
                return self.at_eof(records, index);
            }
        }
    }

    fn at_eof(
        &mut self,
        records: Vec<(usize, usize)>,
        index: Vec<u64>,
    ) -> Result<Option<Chunk>, SplitError> {
        let rest = skip_ws(&self.buf, self.pos);
        if self.state == State::Start && rest == self.buf.len() {
            return Err(self.err(rest, "file is empty (no JSON value)"));
        }
        if self.state != State::End {
            return Err(self.err(self.buf.len(), "unexpected end of file (truncated JSON)"));
        }
        if !records.is_empty() {
            return Ok(Some(self.take_chunk(records, index)));
        }
        Ok(None)
    }

    fn take_chunk(&mut self, records: Vec<(usize, usize)>, index: Vec<u64>) -> Chunk {
        // Keep what is not consumed yet (a partial record, or the undecided top object).
        let keep_from = self.obj_start.unwrap_or(self.pos).min(self.pos);
        let rest = match &self.buf {
            Block::Owned(buf) => {
                let mut rest = self.spare.take().unwrap_or_default();
                rest.clear();
                rest.extend_from_slice(&buf[keep_from..]);
                Block::Owned(rest)
            }
            Block::Mapped { map, start, end } => {
                Block::Mapped { map: Arc::clone(map), start: start + keep_from, end: *end }
            }
        };
        let buf = std::mem::replace(&mut self.buf, rest);
        let base = self.base;
        self.base += keep_from as u64;
        self.pos -= keep_from;
        if let Some(s) = self.obj_start.as_mut() {
            *s -= keep_from;
        }
        Chunk { buf, records, index, base }
    }

    /// Scan JSON Lines; returns false when the file is done.
    fn scan_lines(
        &mut self,
        records: &mut Vec<(usize, usize)>,
        index: &mut Vec<u64>,
    ) -> Result<bool, SplitError> {
        loop {
            let start = self.pos;
            let end = match memchr::memchr(b'\n', &self.buf[start..]) {
                Some(k) => start + k,
                None if self.eof && start < self.buf.len() => self.buf.len(),
                None => return Ok(!self.eof),
            };
            self.pos = (end + 1).min(self.buf.len()).max(end);
            let line_no = self.next_index;
            self.next_index += 1;
            let mut e = end;
            if e > start && self.buf[e - 1] == b'\r' {
                e -= 1;
            }
            if skip_ws(&self.buf[..e], start) < e {
                records.push((start, e));
                index.push(line_no);
            }
            if end == self.buf.len() {
                return Ok(false);
            }
            if records.last().map_or(0, |r| r.1) >= BLOCK {
                return Ok(true);
            }
        }
    }

    /// Scan JSON; returns false when the top-level value is complete (or true when the buffer
    /// ran out and more input is needed).
    fn scan_json(
        &mut self,
        records: &mut Vec<(usize, usize)>,
        index: &mut Vec<u64>,
    ) -> Result<bool, SplitError> {
        loop {
            let i = skip_ws(&self.buf, self.pos);
            if i >= self.buf.len() {
                self.pos = i;
                return Ok(self.state != State::End || !self.eof);
            }
            let c = self.buf[i];
            match self.state {
                State::Start => match c {
                    b'[' => {
                        self.pos = i + 1;
                        self.state = State::ArrValue;
                    }
                    b'{' => {
                        self.obj_start = Some(i);
                        self.pos = i + 1;
                        self.state = State::ObjKey;
                    }
                    _ => return Err(self.err(i, "expected `[` or `{` (not a JSON export)")),
                },
                State::ObjKey => match c {
                    b'}' => {
                        self.pos = i + 1;
                        self.close_object(records, index, i + 1);
                    }
                    b'"' => {
                        let Some(kend) = skip_string(&self.buf, i + 1) else {
                            return Ok(true);
                        };
                        let key = &self.buf[i + 1..kend - 1];
                        let j = skip_ws(&self.buf, kend);
                        if j >= self.buf.len() {
                            return Ok(true);
                        }
                        if self.buf[j] != b':' {
                            return Err(self.err(j, "expected `:` after an object key"));
                        }
                        let v = skip_ws(&self.buf, j + 1);
                        if v >= self.buf.len() {
                            return Ok(true);
                        }
                        // A second `Data` of a page would be dropped (or read over the
                        // first) without a word: the file is refused, as serde refuses a key
                        // given twice in a record.
                        if key == b"Data" {
                            if self.data_seen {
                                return Err(self.err(i, "`Data` given twice in the page object"));
                            }
                            self.data_seen = true;
                        }
                        if key == b"Data" && self.buf[v] == b'[' {
                            self.in_page = true;
                            self.obj_start = None;
                            self.pos = v + 1;
                            self.state = State::ArrValue;
                        } else {
                            let end = match skip_value(&self.buf, v) {
                                Ok(Some(end)) => end,
                                Ok(None) => return Ok(true),
                                Err((at, why)) => return Err(self.err(at, why)),
                            };
                            // `{"Data": null}`: a page with no records (Metrc writes it for
                            // an empty result), not one record holding a null.
                            if key == b"Data" && &self.buf[v..end] == b"null" {
                                self.in_page = true;
                                self.obj_start = None;
                            }
                            self.pos = end;
                            self.state = State::ObjNext;
                        }
                    }
                    _ => return Err(self.err(i, "expected an object key")),
                },
                State::ObjNext => match c {
                    b',' => {
                        self.pos = i + 1;
                        self.state = State::ObjKey;
                    }
                    b'}' => {
                        self.pos = i + 1;
                        self.close_object(records, index, i + 1);
                    }
                    _ => return Err(self.err(i, "expected `,` or `}` in the top-level object")),
                },
                State::ArrValue => {
                    if c == b']' {
                        self.pos = i + 1;
                        self.after_array();
                        continue;
                    }
                    match skip_value(&self.buf, i) {
                        Ok(Some(end)) => {
                            records.push((i, end));
                            index.push(self.next_index);
                            self.next_index += 1;
                            self.pos = end;
                            self.state = State::ArrNext;
                            if end >= BLOCK && self.obj_start.is_none() {
                                return Ok(true);
                            }
                        }
                        Ok(None) => {
                            self.pos = i;
                            return Ok(true);
                        }
                        Err((at, why)) => return Err(self.err(at, why)),
                    }
                }
                State::ArrNext => match c {
                    b',' => {
                        self.pos = i + 1;
                        self.state = State::ArrValue;
                    }
                    b']' => {
                        self.pos = i + 1;
                        self.after_array();
                    }
                    _ => return Err(self.err(i, "expected `,` or `]` between records")),
                },
                State::End => {
                    return Err(self.err(i, "unexpected data after the end of the JSON value"));
                }
            }
        }
    }

    fn after_array(&mut self) {
        self.state = if self.in_page { State::ObjNext } else { State::End };
    }

    fn close_object(
        &mut self,
        records: &mut Vec<(usize, usize)>,
        index: &mut Vec<u64>,
        end: usize,
    ) {
        // A top-level object that never had a `Data` array is itself the one record.
        if let Some(start) = self.obj_start.take() {
            records.push((start, end));
            index.push(self.next_index);
            self.next_index += 1;
            self.single_object = true;
        }
        self.state = State::End;
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// `i` is just after an opening quote; returns the offset after the closing quote.
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let k = memchr::memchr2(b'"', b'\\', &b[i..])?;
        i += k;
        if b[i] == b'\\' {
            i += 2;
            if i > b.len() {
                return None;
            }
        } else {
            return Some(i + 1);
        }
    }
}

/// End offset of the JSON value starting at `start`, None when the buffer ends first.
fn skip_value(b: &[u8], start: usize) -> Result<Option<usize>, (usize, &'static str)> {
    let mut i = start;
    match b[i] {
        b'"' => return Ok(skip_string(b, i + 1)),
        b'{' | b'[' => {}
        b'}' | b']' | b',' | b':' => return Err((i, "expected a JSON value")),
        _ => {
            // Scalar: runs until a delimiter.
            while i < b.len() {
                if matches!(b[i], b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                    return Ok(Some(i));
                }
                i += 1;
            }
            return Ok(None);
        }
    }
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'"' => match skip_string(b, i + 1) {
                Some(e) => {
                    i = e;
                    continue;
                }
                None => return Ok(None),
            },
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(i + 1));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &str, lines: bool) -> Result<Vec<String>, SplitError> {
        let mut s = Splitter::new(input.as_bytes(), lines, sha2::Sha256::default());
        let mut out = Vec::new();
        while let Some(c) = s.next_chunk()? {
            for (a, b) in &c.records {
                out.push(String::from_utf8_lossy(&c.buf[*a..*b]).into_owned());
            }
        }
        Ok(out)
    }

    #[test]
    fn json_array_records() {
        let r = split(r#" [ {"a": "x]}"}, {"b": [1, {"c": "\"}"}]}, 3 ] "#, false).unwrap();
        assert_eq!(r, vec![r#"{"a": "x]}"}"#, r#"{"b": [1, {"c": "\"}"}]}"#, "3"]);
    }

    #[test]
    fn page_object_records_with_data_anywhere() {
        let r =
            split(r#"{"Total": 2, "Data": [{"a":1},{"a":2}], "Page": {"x": []}}"#, false).unwrap();
        assert_eq!(r, vec![r#"{"a":1}"#, r#"{"a":2}"#]);
    }

    #[test]
    fn single_object_is_one_record() {
        let r = split("\u{feff}{\"Label\": \"A\", \"Item\": {\"Data\": 1}}", false).unwrap();
        assert_eq!(r, vec!["{\"Label\": \"A\", \"Item\": {\"Data\": 1}}"]);
        // Told apart from a page and an array, which ingest reads as lists.
        for (text, single) in [(r#"{"Label": "A"}"#, true), (r#"{"Data": [{"a":1}]}"#, false)] {
            let mut s = Splitter::new(text.as_bytes(), false, sha2::Sha256::default());
            let c = s.next_chunk().unwrap().unwrap();
            assert_eq!((c.records.len(), s.single_object()), (1, single), "{text}");
        }
    }

    #[test]
    fn json_lines_skip_blank_and_keep_line_numbers() {
        let mut s = Splitter::new(&b"{\"a\":1}\r\n\n{\"a\":2}"[..], true, sha2::Sha256::default());
        let c = s.next_chunk().unwrap().unwrap();
        assert_eq!(c.index, vec![0, 2]);
        assert_eq!(&c.buf[c.records[0].0..c.records[0].1], b"{\"a\":1}");
        assert_eq!(&c.buf[c.records[1].0..c.records[1].1], b"{\"a\":2}");
    }

    type Split = (Vec<(u64, Vec<u8>, u64)>, [u8; 32]);

    /// Every record (file offset, bytes, index) of a splitter and the SHA-256, or its error.
    fn all_records<R: Read>(mut s: Splitter<R>) -> Result<Split, (u64, String)> {
        let mut out = Vec::new();
        loop {
            match s.next_chunk() {
                Ok(Some(c)) => {
                    for (&(a, b), &i) in c.records.iter().zip(&c.index) {
                        out.push((c.base + a as u64, c.buf[a..b].to_vec(), i));
                    }
                    s.recycle(c.buf);
                }
                Ok(None) => return Ok((out, s.finish_hash())),
                Err(e) => return Err((e.offset, e.reason)),
            }
        }
    }

    #[test]
    fn mapped_files_split_as_read_ones() {
        // Three blocks and more of records, some cut by a block boundary; JSON Lines with a
        // last line without its newline; and the same JSON truncated.
        let rec =
            |i: usize| format!(r#"{{"Label": "1A4{i:021}", "Note": "{}"}}"#, "x".repeat(i % 97));
        let n = 3 * BLOCK / 60;
        let json = format!(
            "{{\"Data\": [{}], \"Total\": {n}}}",
            (0..n).map(rec).collect::<Vec<_>>().join(",\n")
        );
        let lines = (0..n).map(rec).collect::<Vec<_>>().join("\r\n");
        let dir = tempfile::tempdir().unwrap();
        for (name, text, jsonl) in [
            ("page.json", &json[..], false),
            ("lines.jsonl", &lines[..], true),
            ("cut.json", &json[..json.len() - 10], false),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let file = std::fs::File::open(&path).unwrap();
            // SAFETY: the test's own file, not changed while mapped.
            let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
            let mapped = all_records(Splitter::mapped(&file, map, jsonl, sha2::Sha256::default()));
            let read = all_records(Splitter::new(&file, jsonl, sha2::Sha256::default()));
            assert_eq!(mapped, read, "{name}");
            match (name, read) {
                ("cut.json", Err((_, why))) => assert!(why.contains("truncated"), "{why}"),
                (_, Ok((r, sha))) => {
                    use sha2::Digest;
                    assert_eq!(sha, <[u8; 32]>::from(sha2::Sha256::digest(text)), "{name}");
                    assert_eq!(r.len(), n, "{name}");
                    assert_eq!(r[n - 1].1, rec(n - 1).into_bytes(), "{name}");
                }
                (_, Err(e)) => panic!("{name}: {e:?}"),
            }
        }
    }

    /// A second `Data` array is an error, not dropped without a word; `{"Data": null}` is
    /// no record, not one phantom record.
    #[test]
    fn page_data_twice_is_an_error_and_null_data_is_empty() {
        let e = split(r#"{"Data": [{"a":1}], "Data": [{"a":2}]}"#, false).unwrap_err();
        assert!(e.reason.contains("`Data` given twice"), "{}", e.reason);
        assert_eq!(e.offset, 20);
        for text in [
            r#"{"Data": null, "Total": 0, "Data": [{"a":2}]}"#,
            r#"{"Data": 5, "Data": [{"a":2}]}"#,
            r#"{"Data": [], "Data": null}"#,
        ] {
            let e = split(text, false).unwrap_err();
            assert!(e.reason.contains("twice"), "{text}: {}", e.reason);
        }
        for text in [r#"{"Data": null}"#, r#"{"Total": 0, "Data": null }"#, r#"{"Data": []}"#] {
            let mut s = Splitter::new(text.as_bytes(), false, sha2::Sha256::default());
            assert!(s.next_chunk().unwrap().is_none(), "{text}");
            assert!(!s.single_object(), "{text}");
        }
    }

    #[test]
    fn truncated_json_names_the_offset() {
        let e = split(r#"[{"a": 1}, {"b": "#, false).unwrap_err();
        assert!(e.reason.contains("truncated"), "{}", e.reason);
        assert_eq!(e.offset, 17);
        let e = split("", false).unwrap_err();
        assert!(e.reason.contains("empty"));
        let e = split("hello", false).unwrap_err();
        assert_eq!(e.offset, 0);
        let e = split("[1] [2]", false).unwrap_err();
        assert_eq!(e.offset, 4);
    }
}

//! The bytes of an export file as the splitter reads them: the file itself, or a gzip file
//! decompressed as a stream (never whole in memory). A compressed file is hashed and
//! counted as stored on disk (what `sha256sum` prints), not as its decompressed text.

use std::fs::File;
use std::io::{self, Read};

use flate2::read::MultiGzDecoder;
use sha2::Digest;

/// A reader that hashes and counts every byte read through it.
pub struct Stored<R> {
    inner: R,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<R: Read> Read for Stored<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// An export file being read.
pub enum ExportReader {
    /// Read (or mapped) as is; the splitter hashes what it reads.
    Plain(File),
    /// Decompressed while read. Multi-member, as `cat a.gz b.gz` and parallel gzip tools
    /// write it: a plain decoder would stop after the first member without a word. Boxed:
    /// the decoder's state is large and one is made per file, not per record.
    Gzip(Box<MultiGzDecoder<Stored<File>>>),
}

impl ExportReader {
    /// Decompress `file` while reading it.
    pub fn gzip(file: File) -> Self {
        let stored = Stored { inner: file, hasher: sha2::Sha256::default(), bytes: 0 };
        ExportReader::Gzip(Box::new(MultiGzDecoder::new(stored)))
    }

    /// Bytes of the compressed file read so far (progress counts the file as stored);
    /// None for a plain file, whose splitter counts them.
    pub fn stored_bytes(&self) -> Option<u64> {
        match self {
            ExportReader::Plain(_) => None,
            ExportReader::Gzip(d) => Some(d.get_ref().bytes),
        }
    }

    /// SHA-256 and size of the compressed file, reading what the decoder left (bytes after
    /// the last member) so that the hash is of the whole file. None for a plain file.
    pub fn finish(&mut self) -> io::Result<Option<([u8; 32], u64)>> {
        match self {
            ExportReader::Plain(_) => Ok(None),
            ExportReader::Gzip(d) => {
                let stored = d.get_mut();
                io::copy(stored, &mut io::sink())?;
                let hash = std::mem::take(&mut stored.hasher).finalize().into();
                Ok(Some((hash, stored.bytes)))
            }
        }
    }
}

impl Read for ExportReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ExportReader::Plain(f) => f.read(buf),
            // flate2 says "corrupt deflate stream" or "invalid gzip header": say what file
            // it is about and what to do.
            ExportReader::Gzip(d) => d.read(buf).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "not a readable gzip file ({e}); the file is damaged or not \
                         gzip-compressed: compress it again or save it without `.gz`"
                    ),
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(text: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    }

    /// The decompressed text, and the hash and size of the file as stored.
    type ReadAll = (io::Result<Vec<u8>>, Option<([u8; 32], u64)>);

    fn read_all(bytes: &[u8]) -> ReadAll {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json.gz");
        std::fs::write(&path, bytes).unwrap();
        let mut r = ExportReader::gzip(File::open(&path).unwrap());
        let mut out = Vec::new();
        let res = r.read_to_end(&mut out).map(|_| out);
        let fin = if res.is_ok() { r.finish().unwrap() } else { None };
        (res, fin)
    }

    #[test]
    fn gzip_members_decompress_and_hash_as_stored() {
        let mut file = gz(b"[{\"a\":1},");
        file.extend(gz(b"{\"a\":2}]"));
        let (text, fin) = read_all(&file);
        assert_eq!(text.unwrap(), b"[{\"a\":1},{\"a\":2}]");
        let (hash, bytes) = fin.unwrap();
        assert_eq!(hash, <[u8; 32]>::from(sha2::Sha256::digest(&file)));
        assert_eq!(bytes, file.len() as u64);
    }

    #[test]
    fn gzip_damage_is_an_error_not_a_short_file() {
        let file = gz(&b"[{\"Label\": \"x\"}]".repeat(1000));
        let (res, _) = read_all(&file[..file.len() / 2]);
        assert!(res.is_err(), "truncated gzip read as complete");
        let mut bad = file.clone();
        bad[file.len() / 2] ^= 0xff;
        let (res, _) = read_all(&bad);
        assert!(res.is_err(), "corrupted gzip read as complete");
        let (res, _) = read_all(b"[{\"Label\": \"not compressed\"}]");
        let e = res.unwrap_err().to_string();
        assert!(e.contains("not a readable gzip file"), "{e}");
    }
}

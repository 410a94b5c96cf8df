//! The bundled sample that `tagtrail run` reads when no `--export` is given: the source
//! tree's `data/sample` when it is there, else the copy packed into the binary by
//! `build.rs`, unpacked once per version into the user's cache folder.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `data/sample` packed by `build.rs` (gzip of length-prefixed path and content records).
static PACKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sample.bin.gz"));

/// The sample folder (with `export/` and `counts/`).
pub fn dir() -> Result<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("sample");
    if source.join("export").is_dir() {
        return Ok(source);
    }
    let dest = cache_root().join(format!("sample-{}", env!("CARGO_PKG_VERSION")));
    if !dest.join("export").is_dir() {
        unpack_into(&dest)?;
    }
    Ok(dest)
}

/// `$XDG_CACHE_HOME/tagtrail`, `$HOME/.cache/tagtrail`, else the temporary folder.
fn cache_root() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("XDG_CACHE_HOME")
        .or_else(|| env("HOME").map(|h| h.join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("tagtrail")
}

/// Every (relative path, content) of the packed sample.
pub fn files() -> Result<Vec<(String, Vec<u8>)>> {
    let bad = |what: &str| Error::Internal(format!("the bundled sample is damaged: {what}"));
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(PACKED).read_to_end(&mut raw).map_err(|e| bad(&e.to_string()))?;
    let mut rest = raw.as_slice();
    let mut out = Vec::new();
    let take = |rest: &mut &[u8], n: usize| -> Result<Vec<u8>> {
        if rest.len() < n {
            return Err(bad("truncated"));
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Ok(head.to_vec())
    };
    while !rest.is_empty() {
        let n = take(&mut rest, 4)?;
        let n = u32::from_le_bytes(n.try_into().map_err(|_| bad("length"))?) as usize;
        let path = String::from_utf8(take(&mut rest, n)?).map_err(|_| bad("path"))?;
        let n = take(&mut rest, 8)?;
        let n = u64::from_le_bytes(n.try_into().map_err(|_| bad("length"))?);
        let content = take(&mut rest, usize::try_from(n).map_err(|_| bad("length"))?)?;
        if path.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            return Err(bad("path"));
        }
        out.push((path, content));
    }
    Ok(out)
}

/// Unpack into `dest` through a sibling folder renamed into place, so a reader never sees
/// half a sample and two runs unpacking at once both end with a whole one.
fn unpack_into(dest: &Path) -> Result<()> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".sample-")
        .tempdir_in(parent)
        .map_err(|e| Error::io("cannot create a folder in", parent, e))?;
    for (rel, content) in files()? {
        let path = tmp.path().join(&rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(|e| Error::io("cannot create", p, e))?;
        }
        std::fs::write(&path, content).map_err(|e| Error::io("cannot write", &path, e))?;
    }
    match std::fs::rename(tmp.path(), dest) {
        Ok(()) => {
            let _kept = tmp.keep();
            Ok(())
        }
        // another run unpacked it first
        Err(_) if dest.join("export").is_dir() => Ok(()),
        Err(e) => Err(Error::io("cannot create", dest, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_sample_is_the_source_trees() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("sample");
        let files = files().unwrap();
        assert!(files.iter().any(|(p, _)| p.starts_with("export/")));
        assert!(files.iter().any(|(p, _)| p.starts_with("counts/")));
        let mut on_disk = 0;
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    on_disk += 1;
                }
            }
        }
        assert_eq!(files.len(), on_disk);
        for (rel, content) in &files {
            assert_eq!(&std::fs::read(root.join(rel)).unwrap(), content, "{rel}");
        }
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sample");
        unpack_into(&dest).unwrap();
        for (rel, content) in &files {
            assert_eq!(&std::fs::read(dest.join(rel)).unwrap(), content, "{rel}");
        }
        // a second unpack into an existing sample keeps it
        unpack_into(&dest).unwrap();
        assert!(dest.join("export").is_dir());
    }
}

//! OUT holds one complete result at a time (SPEC 5).
//!
//! Every run writes a new *generation* folder under `OUT/.tagtrail/` and publishes it by
//! replacing one symlink, `OUT/.tagtrail/current`, with `rename(2)`: before that moment
//! readers see the previous result, after it the new one, never a mix. The outputs SPEC
//! names (`OUT/lake`, `OUT/findings.parquet`, …) are fixed symlinks through `current`.
//! One writer at a time holds an advisory lock on `OUT/.tagtrail/lock` (released by the
//! kernel when its process dies, so a crashed run never blocks the next one). Generations
//! that were never published (a kill, a crash) are removed by the next writer. Nothing in
//! OUT that tagtrail did not create is ever touched.

use std::fs;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{OpenOptionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::schema::out;

/// tagtrail's own folder inside OUT.
pub const STATE: &str = ".tagtrail";
const LOCK: &str = "lock";
const CURRENT: &str = "current";
const GEN_PREFIX: &str = "gen-";

/// The outputs of a result, each a symlink `OUT/<name>` → `.tagtrail/current/<name>`.
pub const OUTPUTS: &[&str] = &[
    out::LAKE,
    out::FINDINGS,
    out::SUMMARY,
    out::REJECTS,
    out::REPORT_HTML,
    out::REPORT_MD,
    out::FINDINGS_XLSX,
    out::CHANGES,
    out::TREND,
    out::MANIFEST,
];

/// The generation being written, removed if the process is interrupted (see
/// [`install_signal_cleanup`]).
static IN_PROGRESS: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The exclusive right to write OUT, for as long as it lives.
pub struct OutLock {
    out: PathBuf,
    _file: fs::File,
}

impl OutLock {
    /// OUT.
    pub fn out(&self) -> &Path {
        &self.out
    }
}

/// Take OUT's lock: at once, or (`wait`) when the run holding it ends. A second run stops
/// with a usage error naming the first.
pub fn lock(out: &Path, wait: bool) -> Result<OutLock> {
    if out.exists() && !out.is_dir() {
        return Err(Error::Usage(format!(
            "--out `{}` is a file, not a folder; pass a folder (it is created if missing)",
            out.display()
        )));
    }
    let state = out.join(STATE);
    fs::create_dir_all(&state).map_err(|e| Error::io("cannot create", &state, e))?;
    let path = state.join(LOCK);
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| Error::io("cannot open the lock file", &path, e))?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => {}
        Err(fs4::TryLockError::WouldBlock) if wait => {
            fs4::FileExt::lock(&file).map_err(|e| Error::io("cannot lock", &path, e))?;
        }
        Err(fs4::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim().replace('\n', ", ");
            return Err(Error::Usage(format!(
                "`{}` is in use by another tagtrail run ({}); wait for it to finish, or pass \
                 --wait to start when it does",
                out.display(),
                if holder.is_empty() { "holder unknown".to_owned() } else { holder }
            )));
        }
        Err(fs4::TryLockError::Error(e)) => return Err(Error::io("cannot lock", &path, e)),
    }
    // Who holds it, for the message of a second run.
    let argv: Vec<String> = std::env::args().collect();
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(
        file,
        "pid {}\nstarted {}\n{}\n",
        std::process::id(),
        crate::manifest::now_rfc3339(),
        argv.join(" ")
    );
    Ok(OutLock { out: out.to_path_buf(), _file: file })
}

/// The folder holding OUT's current result: the published generation, or OUT itself for
/// a result written before generations (its outputs are real files); `None` when OUT holds
/// no result.
pub fn current(out: &Path) -> Option<PathBuf> {
    let link = out.join(STATE).join(CURRENT);
    if let Ok(target) = fs::read_link(&link) {
        let dir = out.join(STATE).join(target);
        return dir.is_dir().then_some(dir);
    }
    let manifest = out.join(out::MANIFEST);
    let legacy = fs::symlink_metadata(&manifest).is_ok_and(|m| m.is_file());
    legacy.then(|| out.to_path_buf())
}

/// A result being written; removed unless [`Generation::publish`] is called.
pub struct Generation {
    dir: PathBuf,
    out: PathBuf,
    published: bool,
}

/// Start a new generation in the locked OUT (after removing what earlier runs left).
pub fn begin(lock: &OutLock) -> Result<Generation> {
    let out = lock.out();
    outputs_free(out)?;
    sweep(out);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = out.join(STATE).join(format!("{GEN_PREFIX}{stamp}-{}", std::process::id()));
    // `create_dir`, not `create_dir_all`: a name that exists (planted) is an error, never
    // a folder we would write into.
    fs::create_dir(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
    *IN_PROGRESS.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(dir.clone());
    Ok(Generation { dir, out: out.to_path_buf(), published: false })
}

impl Generation {
    /// Where this result's outputs are written.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bring `names` (files or folder trees) of the result in `from` into this one, as hard
    /// links (the previous generation never changes, so sharing its files is safe).
    pub fn carry(&self, from: &Path, names: &[&str]) -> Result<()> {
        for name in names {
            let src = from.join(name);
            if fs::symlink_metadata(&src).is_ok() {
                link_tree(&src, &self.dir.join(name))?;
            }
        }
        Ok(())
    }

    /// Make this result OUT's current one, atomically, and remove the previous one.
    pub fn publish(mut self) -> Result<()> {
        let state = self.out.join(STATE);
        let name = self.dir.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
        let tmp = state.join(format!("{CURRENT}.tmp-{}", std::process::id()));
        let _ = fs::remove_file(&tmp);
        symlink(&name, &tmp).map_err(|e| Error::io("cannot create", &tmp, e))?;
        let current = state.join(CURRENT);
        crate::store::rename(&tmp, &current)?;
        self.published = true;
        *IN_PROGRESS.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        link_outputs(&self.out)?;
        sweep(&self.out);
        Ok(())
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.dir);
            *IN_PROGRESS.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        }
    }
}

/// `OUT/<name>` → `.tagtrail/current/<name>` for every output. A real file or folder of a
/// result written before generations is moved into `.tagtrail/` first (and then removed);
/// anything else of that name that tagtrail did not write is left alone, with an error.
fn link_outputs(out: &Path) -> Result<()> {
    let legacy = out.join(STATE).join(format!("legacy-{}", std::process::id()));
    let earlier_result = earlier_result(out);
    for name in OUTPUTS {
        let path = out.join(name);
        let target = Path::new(STATE).join(CURRENT).join(name);
        // Only what this result has: `ingest` alone writes no findings, and a link to
        // nothing would fail a dashboard that reads every `*.parquet` of OUT.
        if fs::symlink_metadata(out.join(&target)).is_err() {
            if fs::read_link(&path).is_ok_and(|t| t == target) {
                fs::remove_file(&path).map_err(|e| Error::io("cannot remove", &path, e))?;
            }
            continue;
        }
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                if fs::read_link(&path).is_ok_and(|t| t == target) {
                    continue;
                }
                fs::remove_file(&path).map_err(|e| Error::io("cannot replace", &path, e))?;
            }
            Ok(_) if earlier_result => {
                fs::create_dir_all(&legacy).map_err(|e| Error::io("cannot create", &legacy, e))?;
                crate::store::rename(&path, &legacy.join(name))?;
            }
            Ok(_) => {
                // `outputs_free` refused this before anything was written.
                return Err(Error::Internal(format!(
                    "`{}` appeared during the run",
                    path.display()
                )));
            }
            Err(_) => {}
        }
        symlink(&target, &path).map_err(|e| Error::io("cannot create", &path, e))?;
    }
    let _ = fs::remove_dir_all(&legacy);
    Ok(())
}

/// Whether OUT's real files are an earlier version's result (its manifest says so). Real
/// files at output names are moved aside only then; anyone else's are never touched.
fn earlier_result(out: &Path) -> bool {
    let manifest = out.join(out::MANIFEST);
    fs::symlink_metadata(&manifest).is_ok_and(|m| m.is_file())
        && fs::read_to_string(&manifest).is_ok_and(|t| t.contains("\"tool\": \"tagtrail\""))
}

/// Refuse, before anything is written, an OUT holding files of its own at output names.
fn outputs_free(out: &Path) -> Result<()> {
    if earlier_result(out) {
        return Ok(());
    }
    for name in OUTPUTS {
        let path = out.join(name);
        if fs::symlink_metadata(&path).is_ok_and(|m| !m.file_type().is_symlink()) {
            return Err(Error::Usage(format!(
                "`{}` exists and was not written by tagtrail; tagtrail will not replace it: move \
                 it, or choose another --out",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Remove generations that are not current, and temporary links: what an interrupted run
/// left. Only names tagtrail makes inside its own folder are touched.
fn sweep(out: &Path) {
    let state = out.join(STATE);
    let current = fs::read_link(state.join(CURRENT)).ok();
    let Ok(entries) = fs::read_dir(&state) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let name_s = name.to_string_lossy();
        let is_current = current.as_deref().is_some_and(|c| c.as_os_str() == name);
        if (name_s.starts_with(GEN_PREFIX) || name_s.starts_with("legacy-")) && !is_current {
            let _ = fs::remove_dir_all(e.path());
        } else if name_s.starts_with(&format!("{CURRENT}.tmp-")) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Hard-link `src` (a file, or a folder tree of files) to `dst`, copying where a link is
/// refused.
fn link_tree(src: &Path, dst: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(src).map_err(|e| Error::io("cannot read", src, e))?;
    if meta.is_dir() {
        fs::create_dir_all(dst).map_err(|e| Error::io("cannot create", dst, e))?;
        for e in fs::read_dir(src).map_err(|e| Error::io("cannot list", src, e))? {
            let e = e.map_err(|e| Error::io("cannot list", src, e))?;
            link_tree(&e.path(), &dst.join(e.file_name()))?;
        }
        return Ok(());
    }
    if !meta.is_file() {
        return Ok(());
    }
    if fs::hard_link(src, dst).is_err() {
        fs::copy(src, dst).map_err(|e| Error::io("cannot copy into", dst, e))?;
    }
    Ok(())
}

/// On SIGINT or SIGTERM: remove the generation being written and exit 130 or 143 (the
/// lock goes with the process). A thread waits for the signals, so no work happens in a
/// signal handler.
pub fn install_signal_cleanup() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            crate::store::STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
            let dir = IN_PROGRESS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
            if let Some(dir) = dir {
                // A file already being written may still add a folder while the tree is
                // removed; remove until it stays gone.
                for _ in 0..50 {
                    let _ = fs::remove_dir_all(&dir);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    if !dir.exists() {
                        break;
                    }
                }
            }
            crate::printer::stderr_line("interrupted: nothing was changed in the output folder");
            std::process::exit(128 + sig);
        }
    });
}

/// A mapped input file that shrinks while it is read faults (SIGBUS) instead of returning
/// an error: say what happened and exit 2 instead of dying without a word. The generation
/// being written is removed by the next run.
pub fn install_sigbus_message() {
    extern "C" fn on_sigbus(_: libc::c_int) {
        const MSG: &[u8] = b"error: an input file changed (shrank) while tagtrail read it; \
            another program may still be writing the export: copy it and run again\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe.
        unsafe {
            libc::write(2, MSG.as_ptr().cast(), MSG.len());
            libc::_exit(2);
        }
    }
    // SAFETY: a plain handler that only calls async-signal-safe functions.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        libc::sigemptyset(&raw mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &raw const action, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_generation_published_or_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let lock = lock(&out, false).unwrap();
        assert!(current(&out).is_none());
        let g = begin(&lock).unwrap();
        fs::write(g.dir().join(out::MANIFEST), "{}").unwrap();
        let dir = g.dir().to_path_buf();
        g.publish().unwrap();
        assert_eq!(current(&out).unwrap(), dir);
        assert_eq!(fs::read_to_string(out.join(out::MANIFEST)).unwrap(), "{}");
        // A generation dropped unpublished leaves nothing; the current one stays.
        let g = begin(&lock).unwrap();
        let gone = g.dir().to_path_buf();
        drop(g);
        assert!(!gone.exists());
        assert_eq!(current(&out).unwrap(), dir);
        // A second writer is refused, naming the first.
        let e = super::lock(&out, false).err().unwrap().to_string();
        assert!(e.contains("in use by another tagtrail run") && e.contains("pid"), "{e}");
    }

    #[test]
    fn out_foreign_files_at_output_names_are_refused_before_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join(out::REPORT_HTML), "my own report").unwrap();
        let lock = lock(&out, false).unwrap();
        let e = begin(&lock).err().unwrap().to_string();
        assert!(e.contains("not written by tagtrail"), "{e}");
        assert_eq!(fs::read_to_string(out.join(out::REPORT_HTML)).unwrap(), "my own report");
        assert!(current(&out).is_none());
    }

    #[test]
    fn out_user_files_are_never_swept() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        fs::create_dir_all(out.join(".tagtrail-staging-mywork")).unwrap();
        fs::write(out.join(".notes.tmp-draft"), "mine").unwrap();
        let lock = lock(&out, false).unwrap();
        begin(&lock).unwrap().publish().unwrap();
        assert!(out.join(".tagtrail-staging-mywork").is_dir());
        assert_eq!(fs::read_to_string(out.join(".notes.tmp-draft")).unwrap(), "mine");
    }
}

//! OUT is one complete result at a time (SPEC 5): two runs on one OUT, kills at any
//! moment, signals, a lake changed behind tagtrail's back, bad rules, planted links.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{finding_keys, generate, left_in_out, manifest, read, run_expect, tagtrail};

fn run_args(data: &Path, out: &Path) -> Vec<String> {
    let mut v: Vec<String> = vec!["run".into(), "--quiet".into()];
    for (flag, p) in [("--export", data.join("export")), ("--counts", data.join("counts"))] {
        v.push(flag.into());
        v.push(p.display().to_string());
    }
    v.push("--out".into());
    v.push(out.display().to_string());
    v
}

fn spawn(args: &[String]) -> Child {
    tagtrail().args(args).spawn().expect("the binary runs")
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) on a child we spawned and have not reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, sig) };
}

/// The result in OUT is whole: the manifest's part list is the lake on disk, and its row
/// counts are those of the Parquet outputs. Its run id.
fn whole_result(out: &Path) -> String {
    let m = manifest(out);
    let mut on_disk = Vec::new();
    walk(&out.join("lake"), &out.join("lake"), &mut on_disk);
    on_disk.sort();
    let mut listed: Vec<(String, u64)> = m["lake_parts"]
        .as_array()
        .expect("lake_parts")
        .iter()
        .map(|p| (p["path"].as_str().unwrap().to_owned(), p["bytes"].as_u64().unwrap()))
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed, "the lake is the manifest's");
    for (file, key) in
        [("findings.parquet", "findings.parquet"), ("summary.parquet", "summary.parquet")]
    {
        let rows = m["outputs"].as_array().unwrap().iter().find(|o| o["path"] == key);
        let rows = rows.unwrap_or_else(|| panic!("{key} in the manifest"))["rows"].as_u64();
        assert_eq!(Some(read(&out.join(file)).height() as u64), rows, "{file} rows");
    }
    m["run_id"].as_str().unwrap().to_owned()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u64)>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if p.extension().is_some_and(|x| x == "parquet") {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.push((rel, fs::metadata(&p).unwrap().len()));
        }
    }
}

/// Wait until `child` holds OUT's lock (its pid is written there once it does).
fn wait_for_lock_holder(out: &Path, child: &Child) {
    let lock = out.join(".tagtrail").join("lock");
    let start = Instant::now();
    let me = format!("pid {}\n", child.id());
    while !fs::read_to_string(&lock).is_ok_and(|t| t.starts_with(&me)) {
        assert!(start.elapsed() < Duration::from_secs(20), "the first run never took the lock");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn integrity_second_run_on_one_out_stops_naming_the_first_or_waits() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    generate(&data, 4, 60_000, 5, "jsonl");
    let out = tmp.path().join("out");
    let args = run_args(&data, &out);
    let mut first = spawn(&args);
    wait_for_lock_holder(&out, &first);
    let second = tagtrail().args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(err.contains("in use by another tagtrail run"), "{err}");
    assert!(err.contains(&format!("pid {}", first.id())), "names the first run: {err}");
    assert!(first.wait().unwrap().success());
    let id = whole_result(&out);
    // With --wait the second run starts when the first ends; both succeed, one result.
    let mut first = spawn(&args);
    wait_for_lock_holder(&out, &first);
    let mut waiting = args.clone();
    waiting.push("--wait".into());
    let second = tagtrail().args(&waiting).output().unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", String::from_utf8_lossy(&second.stderr));
    assert!(first.wait().unwrap().success());
    assert_eq!(whole_result(&out), id);
    assert_eq!(left_in_out(&out).iter().filter(|n| n.starts_with(".tagtrail/gen-")).count(), 1);
}

/// 50 SIGKILLs at pseudo-random moments of runs alternating between two inputs: after
/// each, OUT is exactly the result of one of them, whole.
#[test]
fn integrity_kill_loop_leaves_the_previous_or_the_new_result() {
    let tmp = tempfile::tempdir().unwrap();
    let data = [tmp.path().join("d1"), tmp.path().join("d2")];
    generate(&data[0], 3, 6_000, 1, "json");
    generate(&data[1], 3, 6_000, 2, "json");
    // Reference results, and how long a run takes.
    let mut reference: BTreeMap<String, BTreeMap<(String, String, String), usize>> =
        BTreeMap::new();
    let mut longest = Duration::ZERO;
    for (i, d) in data.iter().enumerate() {
        let out = tmp.path().join(format!("ref{i}"));
        let t = Instant::now();
        let args = run_args(d, &out);
        run_expect(&args.iter().map(String::as_str).collect::<Vec<_>>(), 0);
        longest = longest.max(t.elapsed());
        reference.insert(whole_result(&out), finding_keys(&out));
    }
    assert_eq!(reference.len(), 2);
    let out = tmp.path().join("out");
    run_expect(&run_args(&data[0], &out).iter().map(String::as_str).collect::<Vec<_>>(), 0);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut outcomes = BTreeMap::new();
    for round in 0..50 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Up to twice a quiet run: under load a run takes longer than its reference did.
        let delay = longest.mul_f64((seed % 1000) as f64 / 1000.0 * 2.0);
        let mut child = spawn(&run_args(&data[round % 2], &out));
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let id = whole_result(&out);
        let expected =
            reference.get(&id).unwrap_or_else(|| panic!("round {round}: unknown result {id}"));
        assert_eq!(&finding_keys(&out), expected, "round {round}: findings of {id}");
        *outcomes.entry(id).or_insert(0) += 1;
    }
    // The next run cleans up whatever the kills left.
    run_expect(&run_args(&data[1], &out).iter().map(String::as_str).collect::<Vec<_>>(), 0);
    let gens: Vec<_> =
        left_in_out(&out).into_iter().filter(|n| n.starts_with(".tagtrail/gen-")).collect();
    assert_eq!(gens.len(), 1, "{gens:?}");
    assert_eq!(outcomes.len(), 2, "kills landed both before and after publishing: {outcomes:?}");
}

#[test]
fn integrity_check_and_report_refuse_a_lake_that_differs_from_its_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    run_expect(&["run", "--quiet", "--out", o], 0);
    let part = fs::read_dir(out.join("lake/packages"))
        .unwrap()
        .flatten()
        .flat_map(|d| fs::read_dir(d.path()).unwrap().flatten())
        .map(|f| f.path())
        .next()
        .unwrap();
    let saved = fs::read(&part).unwrap();
    fs::remove_file(&part).unwrap();
    for cmd in ["check", "report"] {
        let r = run_expect(&[cmd, "--quiet", "--out", o], 2);
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(err.contains("does not match its manifest") && err.contains("is missing"), "{err}");
    }
    fs::write(&part, &saved).unwrap();
    fs::write(part.with_file_name("part-99999-00000.parquet"), &saved).unwrap();
    let r = run_expect(&["check", "--quiet", "--out", o], 2);
    assert!(String::from_utf8_lossy(&r.stderr).contains("not in the manifest"));
    fs::remove_file(part.with_file_name("part-99999-00000.parquet")).unwrap();
    // What a file browser or an editor leaves in a folder is not a part.
    for stray in ["Thumbs.db", ".DS_Store", "notes.txt", ".part-0.parquet.swp"] {
        fs::write(part.with_file_name(stray), b"not parquet").unwrap();
    }
    run_expect(&["check", "--quiet", "--out", o], 0);
    run_expect(&["report", "--quiet", "--out", o], 0);
    whole_result(&out);
}

#[test]
fn integrity_bad_rules_leave_the_previous_result_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    run_expect(&["run", "--quiet", "--out", o], 0);
    let before = (manifest(&out)["run_id"].clone(), fs::read(out.join("report.html")).unwrap());
    let rules = tmp.path().join("rules");
    fs::create_dir_all(&rules).unwrap();
    fs::write(rules.join("bad.sql"), "-- id: my.bad\nSELECT nonsense FROM nowhere").unwrap();
    let r = tmp.path().join("rules");
    for args in [
        vec!["run", "--quiet", "--out", o, "--rules", r.to_str().unwrap()],
        vec!["check", "--quiet", "--out", o, "--rules", r.to_str().unwrap()],
    ] {
        run_expect(&args, 2);
        let after = (manifest(&out)["run_id"].clone(), fs::read(out.join("report.html")).unwrap());
        assert!(after == before, "{args:?} changed OUT");
    }
    whole_result(&out);
}

#[test]
fn integrity_planted_links_and_user_files_are_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(out.join(".tagtrail-staging-mywork")).unwrap();
    fs::write(out.join(".tagtrail-staging-mywork/keep.txt"), "mine").unwrap();
    fs::write(out.join(".notes.tmp-draft"), "draft").unwrap();
    let outside = tmp.path().join("outside.txt");
    fs::write(&outside, "precious").unwrap();
    std::os::unix::fs::symlink(&outside, out.join("findings.parquet")).unwrap();
    std::os::unix::fs::symlink(&outside, out.join(".findings.parquet.tmp-1")).unwrap();
    run_expect(&["run", "--quiet", "--out", out.to_str().unwrap()], 0);
    assert_eq!(fs::read_to_string(&outside).unwrap(), "precious");
    assert_eq!(fs::read_to_string(out.join(".tagtrail-staging-mywork/keep.txt")).unwrap(), "mine");
    assert_eq!(fs::read_to_string(out.join(".notes.tmp-draft")).unwrap(), "draft");
    assert!(read(&out.join("findings.parquet")).height() > 0);
    whole_result(&out);
}

#[test]
fn integrity_sigterm_and_sigint_remove_the_unpublished_result() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    generate(&data, 4, 60_000, 6, "json");
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    run_expect(&["run", "--quiet", "--out", o], 0);
    let id = whole_result(&out);
    for (sig, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let child = tagtrail().args(run_args(&data, &out)).stderr(Stdio::piped()).spawn().unwrap();
        wait_for_lock_holder(&out, &child);
        std::thread::sleep(Duration::from_millis(200));
        signal(&child, sig);
        let status = child.wait_with_output().unwrap();
        assert_eq!(status.status.code(), Some(code), "{}", String::from_utf8_lossy(&status.stderr));
        assert_eq!(whole_result(&out), id, "the previous result stays");
        let gens =
            left_in_out(&out).into_iter().filter(|n| n.starts_with(".tagtrail/gen-")).count();
        assert_eq!(gens, 1, "the interrupted run's generation is gone");
    }
}

#[test]
fn integrity_sigbus_is_a_message_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    generate(&data, 4, 60_000, 8, "json");
    let out = tmp.path().join("out");
    let child = tagtrail().args(run_args(&data, &out)).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_lock_holder(&out, &child);
    signal(&child, libc::SIGBUS);
    let status = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&status.stderr);
    assert_eq!(status.status.code(), Some(2), "{err}");
    assert!(err.contains("changed (shrank) while tagtrail read it"), "{err}");
    assert!(left_in_out(&out).iter().all(|n| !n.ends_with(".parquet")), "nothing published");
}

#[test]
fn integrity_out_that_is_a_file_is_exit_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.txt");
    fs::write(&out, "not a folder").unwrap();
    let r = run_expect(&["run", "--quiet", "--out", out.to_str().unwrap()], 2);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("out.txt") && err.contains("is a file"), "{err}");
    let nested = out.join("sub");
    let r = run_expect(
        &["ingest", "--quiet", "--export", "data/sample/export", "--out", nested.to_str().unwrap()],
        2,
    );
    assert!(String::from_utf8_lossy(&r.stderr).contains("out.txt"));
}

/// A full disk (simulated: this machine's disk cannot be filled by a test) at each of the
/// first files a run writes: exit 2 naming the folder, and the previous result stays.
#[test]
fn integrity_disk_full_is_exit_2_and_keeps_the_previous_result() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    run_expect(&["run", "--quiet", "--out", o], 0);
    let id = whole_result(&out);
    for after in [0, 1, 5, 20, 40] {
        let r = tagtrail()
            .args(["run", "--quiet", "--out", o])
            .env("TAGTRAIL_TEST_DISK_FULL_AFTER", after.to_string())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "after {after} files: {err}");
        assert!(err.contains(".tagtrail") && err.contains("no storage space"), "{err}");
        assert_eq!(whole_result(&out), id, "after {after} files");
        let gens =
            left_in_out(&out).into_iter().filter(|n| n.starts_with(".tagtrail/gen-")).count();
        assert_eq!(gens, 1);
    }
}

/// An OUT written before generations (real files, no `.tagtrail`) is taken over: `check`
/// reads it, and the new result replaces its files with links.
#[test]
fn integrity_out_of_an_earlier_version_is_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    run_expect(&["run", "--quiet", "--out", o], 0);
    let keys = finding_keys(&out);
    // Turn it into the old layout: the result's files in OUT itself.
    let old = tmp.path().join("old");
    let status = std::process::Command::new("cp").arg("-rL").arg(&out).arg(&old).status().unwrap();
    assert!(status.success());
    fs::remove_dir_all(old.join(".tagtrail")).unwrap();
    assert!(!fs::symlink_metadata(old.join("lake")).unwrap().file_type().is_symlink());
    run_expect(&["check", "--quiet", "--out", old.to_str().unwrap()], 0);
    assert!(fs::symlink_metadata(old.join("lake")).unwrap().file_type().is_symlink());
    assert_eq!(finding_keys(&old), keys);
    whole_result(&old);
}

/// The process's umask, from /proc (reading it with umask(2) would change it meanwhile).
fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("Umask:")).expect("Umask line");
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).expect("octal umask")
}

#[test]
fn integrity_outputs_get_the_mode_of_any_new_file() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    generate(&data, 2, 300, 5, "json");
    let args = run_args(&data, &out);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_expect(&args, 0);
    // Outputs are read by dashboards and colleagues: not owner-only like a temporary file.
    let want = 0o666 & !umask();
    let mut files = Vec::new();
    walk(&out.join("lake"), &out.join("lake"), &mut files);
    let mut paths: Vec<std::path::PathBuf> =
        files.iter().map(|(rel, _)| out.join("lake").join(rel)).collect();
    for name in out_dir_outputs() {
        paths.push(out.join(name));
    }
    for p in paths {
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, want, "{} has mode {mode:o}", p.display());
    }
}

fn out_dir_outputs() -> [&'static str; 7] {
    [
        "findings.parquet",
        "summary.parquet",
        "rejects.parquet",
        "report.html",
        "report.md",
        "findings.xlsx",
        "manifest.json",
    ]
}

/// OUT links only the outputs its current result has: after `ingest` alone there is no
/// findings link pointing at nothing; after `run` every output; `ingest` again drops the
/// links of what that result no longer has.
#[test]
fn integrity_out_links_only_outputs_the_result_has() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    generate(&data, 2, 300, 5, "json");
    let export = data.join("export");
    let ingest =
        ["ingest", "--quiet", "--export", export.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let dangling = |out: &Path| -> Vec<String> {
        fs::read_dir(out)
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().unwrap().is_symlink() && fs::metadata(e.path()).is_err())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    run_expect(&ingest, 0);
    assert!(dangling(&out).is_empty(), "{:?}", dangling(&out));
    assert!(out.join("lake").is_dir() && out.join("manifest.json").is_file());
    assert!(fs::symlink_metadata(out.join("findings.parquet")).is_err());
    let args = run_args(&data, &out);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_expect(&args, 0);
    for name in out_dir_outputs() {
        assert!(out.join(name).is_file(), "{name} after run");
    }
    run_expect(&ingest, 0);
    assert!(dangling(&out).is_empty(), "{:?}", dangling(&out));
    assert!(fs::symlink_metadata(out.join("report.html")).is_err());
}

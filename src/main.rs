//! The `tagtrail` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use tagtrail::printer;

// Ingest decodes millions of small strings and Polars allocates per column chunk: the
// system allocator's malloc/free showed high in ingest profiles, mimalloc's far less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's `mi_option_set` (linked with mimalloc itself) and its purge-delay option.
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

fn main() -> ExitCode {
    // Keep freed memory instead of handing it back to the OS after 10 ms: ingest frees and
    // allocates multi-megabyte buffers per record block, and refaulting them as zeroed huge
    // pages is slow, while peak memory does not grow.
    // SAFETY: a plain option setter, called before any other thread exists.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
    std::panic::set_hook(Box::new(|info| {
        printer::stderr_line(&format!(
            "error: internal error: {info}\nThis is a bug in tagtrail; please report it \
             (run with RUST_BACKTRACE=1 for details)."
        ));
    }));
    let cli = match tagtrail::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    tagtrail::out_dir::install_sigbus_message();
    if let Some(n) = cli.global().threads {
        // Before Polars or rayon start their pools.
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("POLARS_MAX_THREADS", n.max(1).to_string()) };
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global();
    }
    // After the environment is set: it starts a thread.
    tagtrail::out_dir::install_signal_cleanup();
    match std::panic::catch_unwind(|| tagtrail::app::run(cli)) {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(_)) if tagtrail::store::STOPPING.load(std::sync::atomic::Ordering::SeqCst) => {
            // Interrupted: the signal thread removes the unfinished result and exits with
            // the signal's code; this error is only the work being stopped.
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
        Ok(Err(e)) => {
            printer::stderr_line(&format!("error: {e}"));
            ExitCode::from(e.exit_code())
        }
        Err(_) => ExitCode::from(3),
    }
}

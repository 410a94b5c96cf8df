//! Everything tagtrail shows on the terminal: data on stdout; notes, warnings, errors and
//! progress bars on stderr. The one module that prints (`print_stdout` and `print_stderr`
//! are denied everywhere else), so `--quiet` and the split between data and talk hold.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "the one module that prints")]

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Talks to the user on stderr; silent with `--quiet`. Data goes to stdout.
pub struct Printer {
    quiet: bool,
}

impl Printer {
    /// A printer; `quiet` silences notes and progress bars.
    pub fn new(quiet: bool) -> Self {
        Printer { quiet }
    }

    /// A note on stderr.
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// A warning on stderr, shown even with `--quiet`: how an input was read that the user
    /// must know to trust the result.
    pub fn warn(&self, msg: &str) {
        eprintln!("warning: {msg}");
    }

    /// A line on stderr, shown even with `--quiet`.
    pub fn always(&self, msg: &str) {
        eprintln!("{msg}");
    }

    /// Data on stdout. A reader that stops early (`tagtrail rules | head -3`) closes the
    /// pipe: that ends the program quietly with success, as for other Unix tools, rather
    /// than as a crash.
    pub fn out(&self, msg: &str) {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = writeln!(stdout, "{msg}").and_then(|()| stdout.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("warning: cannot write to standard output: {e}");
        }
    }

    /// A progress bar counting `unit` (hidden when quiet or stderr is not a terminal).
    pub fn count_bar(&self, what: &str, unit: &str) -> ProgressBar {
        let pb = self.bar(what, false);
        let template = format!("{{msg:>8}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{elapsed}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb
    }

    /// A progress bar (hidden when quiet or stderr is not a terminal).
    pub fn bar(&self, what: &str, bytes: bool) -> ProgressBar {
        if self.quiet || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let template = if bytes {
            "{msg:>8} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        } else {
            "{msg:>8} {spinner} {elapsed}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(what.to_owned());
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    }
}

/// A line on stderr where no [`Printer`] exists: the error or panic that ends the process,
/// the interrupt message of the signal thread, `TAGTRAIL_TIMING` measurements.
pub fn stderr_line(msg: &str) {
    eprintln!("{msg}");
}

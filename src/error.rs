//! The crate's error type and the exit status each error maps to.
//!
//! Library code returns [`Result`]; `main` prints the chain once and exits with
//! [`Error::exit_code`]. Input problems are 2, internal faults are 3.

use std::path::PathBuf;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or profile asked for something impossible.
    #[error("{0}")]
    Usage(String),
    /// An input file cannot be read at all (not JSON, truncated, unreadable header).
    #[error("cannot read `{path}`{}: {reason}", position.as_deref().map(|p| format!(" at {p}")).unwrap_or_default())]
    Input {
        /// The file, as the user named it.
        path: PathBuf,
        /// `byte N`, `line N` or `line N, column M`, when known.
        position: Option<String>,
        /// What is wrong with it.
        reason: String,
    },
    /// A rule file does not parse or returns the wrong columns.
    #[error("rule `{path}`: {reason}")]
    Rule {
        /// The rule file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file system operation failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What we were doing (`cannot write`, `cannot create`...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Polars failed on data we produced: a bug, unless `context` says otherwise.
    #[error("{context}: {source}")]
    Polars {
        /// What we were doing.
        context: String,
        /// The underlying error.
        source: polars::prelude::PolarsError,
    },
    /// Anything else that should not happen.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Exit code per SPEC section 5: 2 usage, input or environment error (a file system
    /// that refuses: missing, read-only, full, not a folder), 3 internal error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Input { .. } | Error::Rule { .. } | Error::Io { .. } => 2,
            // Polars reports the file system's refusal (disk full) as an I/O error too.
            Error::Polars { source: polars::prelude::PolarsError::IO { .. }, .. } => 2,
            Error::Polars { .. } | Error::Internal(_) => 3,
        }
    }

    /// An I/O error with the path it concerns.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }

    /// A Polars error with what we were doing.
    pub fn polars(context: impl Into<String>, source: polars::prelude::PolarsError) -> Self {
        Error::Polars { context: context.into(), source }
    }
}

/// Attach context to a Polars result.
pub trait PolarsContext<T> {
    /// Wrap the error with `context`.
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> PolarsContext<T> for polars::prelude::PolarsResult<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::polars(context(), e))
    }
}

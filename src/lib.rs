//! tagtrail: seed-to-sale compliance reconciliation.
//!
//! Stages, each a module and a subcommand, joined only by canonical Parquet tables:
//! [`ingest`] (Metrc JSON + count sheets → lake) → [`checks`] (rules → findings) →
//! [`report`] (findings → HTML, Markdown, XLSX). [`schema`] names the tables, [`store`]
//! writes and reads them, [`vocab`] holds the words every stage shares (severities, rule
//! families). [`generate`] writes synthetic inputs; [`app`] wires the stages to the
//! command line, and [`printer`] is the one module that prints.

pub mod app;
pub mod checks;
pub mod cli;
pub mod config;
pub mod error;
pub mod generate;
pub mod ingest;
pub mod manifest;
pub mod out_dir;
pub mod printer;
pub mod report;
pub mod sample;
pub mod schema;
pub mod store;
pub mod vocab;
pub mod workers;

pub use error::{Error, Result};

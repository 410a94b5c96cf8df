//! One integration-test binary (faster to link than one per file). Every test runs the
//! real `tagtrail` binary in a fresh temporary folder and reads what it wrote.

mod cli;
mod common;
mod ingest;
mod report;
mod rules;
mod truth;

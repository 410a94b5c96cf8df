//! One integration-test binary (faster to link than one per file). The tests run the real
//! `tagtrail` binary in a fresh temporary folder and read what it wrote; `props` calls the
//! library in-process instead (spawning the binary per generated case would be slow).

mod cli;
mod clients;
mod common;
mod determinism;
mod duties;
mod evidence;
mod export_shapes;
mod function_length;
mod hostile;
mod incremental;
mod ingest;
mod integrity;
mod monthly;
mod props;
mod realworld;
mod report;
mod rules;
mod truth;

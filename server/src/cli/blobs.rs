//! The photo parts of the command line: `wijklog blobs gc`, and the photo
//! steps of `wijklog backup` / `wijklog restore` (over [`crate::blobs`]).

use std::path::Path;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::{Common, load_config};
use crate::blobs::BlobStore;
use crate::blobs::backup::{self, BlobCopyReport};
use crate::config::Config;

/// `wijklog blobs ...`.
#[derive(Debug, Subcommand)]
pub enum BlobsAction {
    /// Delete photos that no document has referenced for longer than
    /// `blobs.gc_grace_secs` (the server also does this periodically).
    Gc {
        /// Common options.
        #[command(flatten)]
        common: Common,
    },
}

/// Runs a `wijklog blobs` command.
pub fn run(action: BlobsAction) -> anyhow::Result<()> {
    match action {
        BlobsAction::Gc { common } => {
            let config = load_config(&common)?;
            crate::telemetry::init(config.log_format, "warn", std::io::stderr);
            // Opening the store runs the migrations (the blob tables). On
            // PostgreSQL it may run beside the nodes: one collects at a
            // time (`Singleton::BlobGc`).
            let db = crate::startup::open_store(&config)?;
            let store = BlobStore::for_store(&db, &config.data_dir, config.blobs.clone());
            let report = store
                .collect_garbage(crate::domain::now_ms())
                .context("collecting garbage")?;
            if report.skipped {
                bail!(
                    "a wijklog node on this database is collecting photo garbage now; try again when it is done"
                );
            }
            println!(
                "deleted {} unreferenced photo(s), {} stray file(s), {} temp file(s), {} thumbnail(s); {} could not be deleted",
                report.deleted.len(),
                report.stray_files,
                report.temp_files,
                report.thumbnails,
                report.failed
            );
            Ok(())
        }
    }
}

/// Refuses a backup whose blob directory (`FILE.blobs`) exists already.
pub fn check_backup_target(to: &Path) -> anyhow::Result<()> {
    let dir = backup::blobs_dir_for(to);
    if dir.exists() {
        bail!(
            "{} already exists; choose a new backup file name",
            dir.display()
        );
    }
    Ok(())
}

fn describe(report: &BlobCopyReport) -> String {
    format!("{} photo(s), {} bytes", report.copied, report.bytes)
}

/// After the database copy `db` is written: copies the photos it records
/// into `FILE.blobs/` of the backup's final name `to`.
pub fn backup_blobs(config: &Config, db: &Path, to: &Path) -> anyhow::Result<()> {
    let dir = backup::blobs_dir_for(to);
    let report =
        backup::backup_blobs(&config.data_dir, db, &dir).context("backing up the photos")?;
    println!(
        "photos written to {} ({})",
        dir.display(),
        describe(&report)
    );
    if !report.missing.is_empty() {
        eprintln!(
            "warning: {} recorded photo(s) were missing or damaged and are not in the backup",
            report.missing.len()
        );
    }
    Ok(())
}

/// After the database is restored from `from`: puts the photos of
/// `FILE.blobs/` back (a backup without photos restores none).
pub fn restore_blobs(config: &Config, from: &Path) -> anyhow::Result<()> {
    let dir = backup::blobs_dir_for(from);
    if !dir.is_dir() {
        println!(
            "no photo directory {} beside the backup; no photos restored",
            dir.display()
        );
        return Ok(());
    }
    let report = backup::restore_blobs(&dir, &config.data_dir).context("restoring the photos")?;
    println!(
        "restored {} from {} ({} already present)",
        describe(&report),
        dir.display(),
        report.already_present
    );
    if !report.missing.is_empty() {
        eprintln!(
            "warning: {} photo(s) recorded in the database are not in the backup",
            report.missing.len()
        );
    }
    Ok(())
}

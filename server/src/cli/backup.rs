//! `wijklog backup --to FILE`: a backup is either complete or not there.
//!
//! The database copy is written to `FILE.partial` and the photos to
//! `FILE.blobs/`; only when both are complete and the copy passed its
//! integrity check is `FILE.partial` renamed to `FILE` (and the directory
//! synced). A backup killed at any moment leaves no `FILE`: at most
//! `FILE.partial` (with SQLite's `FILE.partial-journal`) and a partial
//! `FILE.blobs/`, which the next `wijklog backup --to FILE` removes before
//! it starts again. While a backup runs it holds an exclusive lock on
//! `FILE.partial`, so a second backup to the same name refuses instead of
//! removing the first one's files.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::blobs;
use crate::blobs::backup::blobs_dir_for;
use crate::blobs::files::sync_dir;
use crate::config::Config;
use crate::crashpoint::{self, Point};

/// `FILE.partial`: where the database copy is written until it is complete.
pub fn partial_path(to: &Path) -> PathBuf {
    with_suffix(to, ".partial")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes a file if it is there.
fn remove_file_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Takes the name `to` for this backup: refuses if a backup is there or
/// running, removes what an interrupted one left. Returns the locked,
/// empty `FILE.partial`.
fn claim(to: &Path) -> anyhow::Result<File> {
    if to.exists() {
        bail!("{} already exists; choose a new file", to.display());
    }
    let partial = partial_path(to);
    let interrupted = partial.exists();
    if !interrupted {
        // Photos without a database copy beside them are not ours to remove.
        blobs::check_backup_target(to)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    if file.try_lock().is_err() {
        bail!(
            "a backup to {} is running (it holds {}); wait for it to finish",
            to.display(),
            partial.display()
        );
    }
    // The other backup may have finished (and renamed its file) between
    // our first look and the lock.
    if to.exists() {
        bail!("{} already exists; choose a new file", to.display());
    }
    if interrupted {
        eprintln!(
            "wijklog: {} is left from an interrupted backup; removing it and starting again",
            partial.display()
        );
        let photos = blobs_dir_for(to);
        if photos.exists() {
            std::fs::remove_dir_all(&photos)
                .with_context(|| format!("removing {}", photos.display()))?;
        }
    }
    // A hot journal of a killed copy would be played back into the new one.
    for sidecar in ["-journal", "-wal", "-shm"] {
        remove_file_if_present(&with_suffix(&partial, sidecar))?;
    }
    file.set_len(0)
        .with_context(|| format!("emptying {}", partial.display()))?;
    Ok(file)
}

/// Writes a complete backup of the SQLite database and its photos to `to`.
pub fn backup(config: &Config, to: &Path) -> anyhow::Result<()> {
    let src = config.database_path();
    if !src.is_file() {
        bail!("no database at {}", src.display());
    }
    let lock = claim(to)?;
    let partial = partial_path(to);
    crate::storage::backup_database(&src, &partial).context("backing up")?;
    crashpoint::reached(Point::BackupDatabaseCopied);
    blobs::backup_blobs(config, &partial, to)?;
    crashpoint::reached(Point::BackupBeforeRename);
    std::fs::rename(&partial, to)
        .with_context(|| format!("renaming {} to {}", partial.display(), to.display()))?;
    let dir = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    sync_dir(dir).with_context(|| format!("syncing {}", dir.display()))?;
    drop(lock);
    println!("backup written to {}", to.display());
    Ok(())
}

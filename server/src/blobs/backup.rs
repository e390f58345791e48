//! Blobs in backups.
//!
//! `wijklog backup --to FILE` writes the database copy to `FILE` and the
//! blobs it records to the directory `FILE.blobs/` (same layout as
//! `<data>/blobs/`: `ab/cdef...`). The blob list is read from the database
//! *copy*, after it is made, so every blob the copy records is in the
//! backup (blobs uploaded later are not, exactly like their rows). Each file
//! is verified against its hash while copying and written atomically.
//!
//! `wijklog restore --from FILE` restores the database, then copies the
//! files of `FILE.blobs/` (verified again) into `<data>/blobs/`. Thumbnails
//! are a cache and are not backed up.

use std::path::{Path, PathBuf};

use super::BlobHash;
use super::db::hashes_in;
use super::files::{self, Layout};

/// Backup and restore failures.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The destination directory exists already.
    #[error("{0} already exists; choose a new backup file name")]
    Exists(PathBuf),
    /// Reading the blob list from the database failed.
    #[error("cannot read the blob list from {path}")]
    Db {
        /// The database file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: rusqlite::Error,
    },
    /// Reading or writing a file failed.
    #[error("i/o error on {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// What a backup or restore copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobCopyReport {
    /// Files copied.
    pub copied: usize,
    /// Bytes copied.
    pub bytes: u64,
    /// Files already present at the destination (restore only).
    pub already_present: usize,
    /// Recorded blobs whose file was missing or did not match its hash
    /// (not copied; listed so that the operator knows).
    pub missing: Vec<BlobHash>,
}

/// The blob directory that belongs to backup file `file`: `FILE.blobs`.
pub fn blobs_dir_for(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".blobs");
    PathBuf::from(name)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads `path` and checks that it hashes to `hash`. `Ok(None)` if the
/// file is missing or does not match.
fn read_verified(path: &Path, hash: &BlobHash) -> Result<Option<Vec<u8>>, BackupError> {
    match std::fs::read(path) {
        Ok(bytes) if BlobHash::of(&bytes) == *hash => Ok(Some(bytes)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Copies every blob recorded in the database copy `backup_db` from
/// `data_dir` into `dest` (which must not exist yet).
pub fn backup_blobs(
    data_dir: &Path,
    backup_db: &Path,
    dest: &Path,
) -> Result<BlobCopyReport, BackupError> {
    if dest.exists() {
        return Err(BackupError::Exists(dest.to_owned()));
    }
    let hashes = hashes_in(backup_db).map_err(|source| BackupError::Db {
        path: backup_db.to_owned(),
        source,
    })?;
    let from = Layout::new(data_dir);
    let to = Layout::with_blob_root(dest, &dest.join("unused"));
    files::create_dir_durable(dest).map_err(io_err(dest))?;
    let mut report = BlobCopyReport::default();
    for (hash, _) in hashes {
        let src = from.blob_path(&hash);
        match read_verified(&src, &hash)? {
            Some(bytes) => {
                let target = to.blob_path(&hash);
                files::write_atomic(&target, &bytes).map_err(io_err(&target))?;
                report.copied += 1;
                report.bytes += bytes.len() as u64;
            }
            None => {
                tracing::warn!(blob = %hash, "backup: a recorded blob is missing or damaged");
                report.missing.push(hash);
            }
        }
    }
    Ok(report)
}

/// Copies the blobs of backup directory `src` into `data_dir`, verifying
/// each against its name. Blobs the restored database records but the
/// backup lacks are reported in `missing`.
pub fn restore_blobs(src: &Path, data_dir: &Path) -> Result<BlobCopyReport, BackupError> {
    let from = Layout::with_blob_root(src, &src.join("unused"));
    let to = Layout::new(data_dir);
    let mut report = BlobCopyReport::default();
    let listed = from.list_blobs().map_err(io_err(src))?;
    for (hash, path) in listed {
        let target = to.blob_path(&hash);
        if read_verified(&target, &hash)?.is_some() {
            report.already_present += 1;
            continue;
        }
        match read_verified(&path, &hash)? {
            Some(bytes) => {
                files::write_atomic(&target, &bytes).map_err(io_err(&target))?;
                report.copied += 1;
                report.bytes += bytes.len() as u64;
            }
            None => {
                tracing::warn!(blob = %hash, "restore: a blob in the backup does not match its name");
                report.missing.push(hash);
            }
        }
    }
    let db = crate::storage::database_path(data_dir);
    let recorded = hashes_in(&db).map_err(|source| BackupError::Db {
        path: db.clone(),
        source,
    })?;
    for (hash, _) in recorded {
        if !to.blob_path(&hash).is_file() && !report.missing.contains(&hash) {
            report.missing.push(hash);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blob_directory_sits_beside_the_backup_file() {
        assert_eq!(
            blobs_dir_for(Path::new("/b/wijklog-2026.db")),
            PathBuf::from("/b/wijklog-2026.db.blobs")
        );
    }
}

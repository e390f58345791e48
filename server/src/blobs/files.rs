//! The on-disk layout and the atomic write.
//!
//! ```text
//! <data>/blobs/ab/cdef0123...      the blob whose SHA-256 is abcdef0123... (62 hex digits)
//! <data>/blobs/ab/.tmp-<uuid>      a write in progress (removed on failure; swept by GC)
//! <data>/thumbs/<px>/ab/cdef....jpg a cached thumbnail (derived data, never backed up)
//! ```
//!
//! [`write_atomic`]: the bytes go to a temp file in the destination's own
//! directory, which is fsynced, renamed over the destination and then the
//! directory is fsynced. A crash at any point leaves either no file or the
//! complete file under the final name, never a partial one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::BlobHash;

/// Prefix of temp files.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Where blobs and thumbnails live inside a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    blobs: PathBuf,
    thumbs: PathBuf,
}

impl Layout {
    /// The layout inside `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self::with_blob_root(&data_dir.join("blobs"), &data_dir.join("thumbs"))
    }

    /// A layout with explicit roots (backups keep blobs in `FILE.blobs/`).
    pub fn with_blob_root(blobs: &Path, thumbs: &Path) -> Self {
        Self {
            blobs: blobs.to_owned(),
            thumbs: thumbs.to_owned(),
        }
    }

    /// The blob directory.
    pub fn blob_root(&self) -> &Path {
        &self.blobs
    }

    /// The thumbnail cache directory.
    pub fn thumb_root(&self) -> &Path {
        &self.thumbs
    }

    /// The file of a blob.
    pub fn blob_path(&self, hash: &BlobHash) -> PathBuf {
        let hex = hash.to_string();
        self.blobs.join(&hex[..2]).join(&hex[2..])
    }

    /// The cached thumbnail of a blob at `px`.
    pub fn thumb_path(&self, hash: &BlobHash, px: u32) -> PathBuf {
        let hex = hash.to_string();
        self.thumbs
            .join(px.to_string())
            .join(&hex[..2])
            .join(format!("{}.jpg", &hex[2..]))
    }

    /// Every blob file present (by name; contents are not checked here).
    pub fn list_blobs(&self) -> io::Result<Vec<(BlobHash, PathBuf)>> {
        let mut out = Vec::new();
        for (dir_name, dir) in subdirs(&self.blobs)? {
            if dir_name.len() != 2 {
                continue;
            }
            for entry in fs::read_dir(&dir)? {
                let entry = entry?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if let Ok(hash) = BlobHash::parse(&format!("{dir_name}{name}"))
                    && entry.file_type()?.is_file()
                {
                    out.push((hash, entry.path()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes temp files (left by a crash mid-write) last modified before
    /// `older_than`. Returns how many were removed.
    pub fn sweep_temp_files(&self, older_than: SystemTime) -> io::Result<usize> {
        let mut removed = 0;
        for (_, dir) in subdirs(&self.blobs)? {
            for entry in fs::read_dir(&dir)? {
                let entry = entry?;
                let is_temp = entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(TEMP_PREFIX));
                if is_temp && entry.metadata()?.modified()? < older_than {
                    remove_if_present(&entry.path())?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

fn subdirs(root: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_dir()
            && let Some(name) = entry.file_name().to_str()
        {
            out.push((name.to_owned(), entry.path()));
        }
    }
    Ok(out)
}

/// Removes a file; a file that is already gone is fine.
pub fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// fsyncs a directory (makes a rename or a new entry in it durable).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` (and parents); fsyncs the parent of each directory created
/// so that the new entries survive a crash.
pub fn create_dir_durable(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent()
        && !parent.as_os_str().is_empty()
    {
        create_dir_durable(parent)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        // Photos are personal data: owner only.
        builder.mode(0o700);
    }
    match builder.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    }
    if let Some(parent) = dir.parent()
        && !parent.as_os_str().is_empty()
    {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Removes the temp file on drop unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` to `path` atomically and durably: temp file in the same
/// directory, write, fsync, rename over `path`, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the destination has no directory",
        )
    })?;
    create_dir_durable(dir)?;
    let mut temp = TempFile {
        path: dir.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple())),
        armed: true,
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temp.path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temp.path, path)?;
    temp.armed = false;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_splits_the_hash_into_a_two_digit_directory() {
        let layout = Layout::new(Path::new("/data"));
        let h = BlobHash::of(b"x");
        let hex = h.to_string();
        assert_eq!(
            layout.blob_path(&h),
            PathBuf::from(format!("/data/blobs/{}/{}", &hex[..2], &hex[2..]))
        );
        assert_eq!(
            layout.thumb_path(&h, 320),
            PathBuf::from(format!("/data/thumbs/320/{}/{}.jpg", &hex[..2], &hex[2..]))
        );
    }

    #[test]
    fn atomic_write_leaves_the_file_and_no_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path());
        let h = BlobHash::of(b"content");
        write_atomic(&layout.blob_path(&h), b"content").expect("write");
        write_atomic(&layout.blob_path(&h), b"content").expect("rewrite is fine");
        assert_eq!(fs::read(layout.blob_path(&h)).expect("read"), b"content");
        let names: Vec<_> = fs::read_dir(layout.blob_path(&h).parent().expect("dir"))
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "only the blob itself: {names:?}");
        assert_eq!(
            layout.list_blobs().expect("list"),
            vec![(h, layout.blob_path(&h))]
        );
    }

    #[test]
    fn failed_write_removes_its_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The destination is an existing non-empty directory: rename fails.
        let dest = dir.path().join("sub").join("target");
        fs::create_dir_all(dest.join("occupied")).expect("mkdir");
        assert!(write_atomic(&dest, b"x").is_err());
        let names: Vec<_> = fs::read_dir(dir.path().join("sub"))
            .expect("ls")
            .map(|e| e.expect("e").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("target")]);
    }

    #[test]
    fn stale_temp_files_are_swept_and_unrelated_files_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path());
        let sub = layout.blob_root().join("ab");
        fs::create_dir_all(&sub).expect("mkdir");
        fs::write(sub.join(".tmp-123"), b"partial").expect("temp");
        fs::write(sub.join("not-a-hash"), b"x").expect("other");
        assert_eq!(
            layout
                .sweep_temp_files(SystemTime::UNIX_EPOCH)
                .expect("sweep"),
            0,
            "not old enough"
        );
        let later = SystemTime::now() + std::time::Duration::from_secs(60);
        assert_eq!(layout.sweep_temp_files(later).expect("sweep"), 1);
        assert!(!sub.join(".tmp-123").exists());
        assert!(layout.list_blobs().expect("list").is_empty());
    }
}

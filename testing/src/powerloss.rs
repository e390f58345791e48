//! The power cut: from the journal the server's power-loss VFS wrote
//! (`wijklog_server::crashpoint::powerloss`, armed by
//! `WIJKLOG_TEST_POWERLOSS_JOURNAL`), put the database files of a killed
//! server back into the state a disk could be in after the power went at
//! the moment of the kill.
//!
//! A write or truncation is on the disk if its file was synced after it
//! (a sync record of the same file comes later in the journal); every other
//! one may be lost. [`cut_power`] with [`Survivors::None`] takes back every
//! one of them, newest first: the disk of a power cut that lost all unsynced
//! data. [`Survivors::Seeded`] keeps a random subset of them instead, each
//! written whole or, now and then, torn after a whole number of 512-byte
//! sectors (the disk wrote part of it): the page cache reached the disk in
//! any order, partly.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use wijklog_server::crashpoint::powerloss::{RECORD_SYNC, RECORD_TRUNCATE, RECORD_WRITE};

/// One journal record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `new` was written at `offset`; the file had `size_before` bytes and
    /// `old` was there (the part inside the file).
    Write {
        /// The file.
        path: PathBuf,
        /// Where.
        offset: u64,
        /// The file's size before.
        size_before: u64,
        /// The bytes overwritten.
        old: Vec<u8>,
        /// The bytes written.
        new: Vec<u8>,
    },
    /// The file was cut (or extended) from `size_before` to `size_after`;
    /// `cut` were the bytes beyond `size_after`.
    Truncate {
        /// The file.
        path: PathBuf,
        /// Size before.
        size_before: u64,
        /// Size after.
        size_after: u64,
        /// The bytes cut off.
        cut: Vec<u8>,
    },
    /// The file was synced: every earlier record of it is on the disk.
    Sync {
        /// The file.
        path: PathBuf,
    },
}

impl Record {
    fn path(&self) -> &Path {
        match self {
            Record::Write { path, .. } | Record::Truncate { path, .. } | Record::Sync { path } => {
                path
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()? as usize;
        Some(self.take(n)?.to_vec())
    }
    fn path(&mut self) -> Option<PathBuf> {
        use std::os::unix::ffi::OsStringExt;
        Some(PathBuf::from(std::ffi::OsString::from_vec(self.bytes()?)))
    }
}

/// Every record of the journal at `path`, in order. Panics on a malformed
/// journal (the process writes each record with one `write(2)` and is
/// killed, not cut, so a record is never half there).
pub fn read_journal(path: &Path) -> Vec<Record> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = Reader { bytes: &bytes };
    let mut records = Vec::new();
    while let Some(kind) = r.take(1).map(|k| k[0]) {
        let record = match kind {
            RECORD_WRITE => (|| {
                Some(Record::Write {
                    path: r.path()?,
                    offset: r.u64()?,
                    size_before: r.u64()?,
                    old: r.bytes()?,
                    new: r.bytes()?,
                })
            })(),
            RECORD_TRUNCATE => (|| {
                Some(Record::Truncate {
                    path: r.path()?,
                    size_before: r.u64()?,
                    size_after: r.u64()?,
                    cut: r.bytes()?,
                })
            })(),
            RECORD_SYNC => r.path().map(|path| Record::Sync { path }),
            other => panic!("journal record {}: unknown kind {other}", records.len()),
        };
        records.push(
            record.unwrap_or_else(|| panic!("journal record {} is cut short", records.len())),
        );
    }
    records
}

/// Which unsynced writes reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Survivors {
    /// None: all unsynced data is lost.
    None,
    /// A subset chosen by the seed, some of them torn.
    Seeded(u64),
}

/// What a power cut did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cut {
    /// Writes and truncations journaled.
    pub writes: usize,
    /// Sync records.
    pub syncs: usize,
    /// Writes and truncations that were not synced, all taken back.
    pub unsynced: usize,
    /// Of those, written again whole ([`Survivors::Seeded`]).
    pub kept: usize,
    /// Of those, written again in part.
    pub torn: usize,
}

/// xorshift64*: the seeded choices (not for secrets).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn open(path: &Path) -> std::fs::File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Cuts the power: takes back, newest first, every write and truncation of
/// the journal at `journal` that no later sync of its file covers, then
/// (with [`Survivors::Seeded`]) writes a chosen subset of them again, oldest
/// first. Call it only on the files of a process that is dead.
pub fn cut_power(journal: &Path, survivors: Survivors) -> Cut {
    let records = read_journal(journal);
    let mut cut = Cut::default();
    // Per file, the unsynced records are the ones after its last sync.
    let mut synced_later: HashSet<PathBuf> = HashSet::new();
    let mut unsynced = Vec::new();
    for (i, record) in records.iter().enumerate().rev() {
        match record {
            Record::Sync { path } => {
                cut.syncs += 1;
                synced_later.insert(path.clone());
            }
            _ => {
                cut.writes += 1;
                if !synced_later.contains(record.path()) {
                    unsynced.push(i);
                }
            }
        }
    }
    cut.unsynced = unsynced.len();
    // `unsynced` is newest first: undo in that order.
    for &i in &unsynced {
        match &records[i] {
            Record::Write {
                path,
                offset,
                size_before,
                old,
                ..
            } => {
                let file = open(path);
                file.write_all_at(old, *offset).expect("restore old bytes");
                if file.metadata().expect("stat").len() > *size_before {
                    file.set_len(*size_before).expect("restore size");
                }
            }
            Record::Truncate {
                path,
                size_before,
                size_after,
                cut,
            } => {
                let file = open(path);
                if size_after < size_before {
                    file.write_all_at(cut, *size_after)
                        .expect("restore cut bytes");
                } else {
                    file.set_len(*size_before).expect("restore size");
                }
            }
            Record::Sync { .. } => unreachable!("only writes are unsynced"),
        }
    }
    let Survivors::Seeded(seed) = survivors else {
        return cut;
    };
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    for &i in unsynced.iter().rev() {
        if rng.next().is_multiple_of(2) {
            continue;
        }
        match &records[i] {
            Record::Write {
                path, offset, new, ..
            } => {
                let sectors = new.len() / 512;
                let len = if sectors > 1 && rng.next().is_multiple_of(4) {
                    cut.torn += 1;
                    512 * (1 + (rng.next() as usize) % (sectors - 1))
                } else {
                    cut.kept += 1;
                    new.len()
                };
                open(path)
                    .write_all_at(&new[..len], *offset)
                    .expect("write again");
            }
            Record::Truncate {
                path, size_after, ..
            } => {
                cut.kept += 1;
                open(path).set_len(*size_after).expect("truncate again");
            }
            Record::Sync { .. } => unreachable!("only writes are unsynced"),
        }
    }
    cut
}

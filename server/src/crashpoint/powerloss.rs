//! A power cut for tests: an SQLite VFS that journals every write so that a
//! test can later take back the ones that were never synced.
//!
//! **For tests only.** Nothing is registered unless the environment
//! variable [`ENV`] (`WIJKLOG_TEST_POWERLOSS_JOURNAL`) names a file when
//! the process starts ([`install_from_env`], called first thing by
//! `wijklog`); unset, SQLite uses its own `unix` VFS and this module costs
//! nothing.
//!
//! Armed, a VFS named `wijklog-powerloss` becomes SQLite's default. It
//! wraps `unix` and passes every call through, except that for the main
//! database file, its rollback journal and its write-ahead log:
//!
//! - before each `xWrite`, it appends to the journal a write record: the
//!   file, the offset, the file's size before, the bytes that were there
//!   before and the bytes written;
//! - before each `xTruncate`, a truncate record: the file, the size before
//!   and after, and the bytes cut off;
//! - after each successful `xSync`, a sync record for the file: every
//!   earlier record of that file is now on the disk.
//!
//! Each record is one `write(2)` of the journal, made before the write it
//! describes and in the same order (one lock over both). The journal is not
//! fsynced: the process is only ever killed (SIGKILL keeps what the kernel
//! was given, for the journal as for the database); the power cut itself is
//! done afterwards by the test, on the files, from the journal
//! (`wijklog_testing::powerloss`).
//!
//! Before each journaled write (and before its record) the crash point
//! `sqlite.write` is reached (`crate::crashpoint`), so a test can kill the
//! process just before any write of a scripted run.
//!
//! [`SYNCHRONOUS_ENV`] set to `OFF` (only honoured when the journal is armed)
//! makes every connection run with `PRAGMA synchronous=OFF`: the negative
//! control of the power-loss test, which must then lose an acked change.
//!
//! Not modelled: directory entries (a file created or deleted during the
//! run keeps its directory entry), the shared-memory index (`-shm`, which
//! SQLite rebuilds when the first connection opens after a crash), and
//! files other than the ones above (temporary files).

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::ptr;
use std::sync::{Mutex, OnceLock};

use rusqlite::ffi;

use super::{Point, reached_with};

/// The environment variable that arms the VFS: the journal's path.
pub const ENV: &str = "WIJKLOG_TEST_POWERLOSS_JOURNAL";
/// `OFF` here (with [`ENV`] set) runs every connection with
/// `synchronous=OFF`: the negative control.
pub const SYNCHRONOUS_ENV: &str = "WIJKLOG_TEST_POWERLOSS_SYNCHRONOUS";
/// The VFS's name.
pub const VFS_NAME: &CStr = c"wijklog-powerloss";

/// Record kinds, the first byte of each record. Integers are little-endian;
/// a path is its length (u32) and bytes; a byte string is its length (u32)
/// and bytes.
///
/// `W` path, offset (u64), size before (u64), old bytes, new bytes.
pub const RECORD_WRITE: u8 = b'W';
/// `T` path, size before (u64), size after (u64), bytes cut off.
pub const RECORD_TRUNCATE: u8 = b'T';
/// `S` path.
pub const RECORD_SYNC: u8 = b'S';

/// The armed shim: the real VFS and the journal.
struct Shim {
    real: *mut ffi::sqlite3_vfs,
    journal: Mutex<File>,
    synchronous_off: bool,
}

// SAFETY: `real` points to SQLite's static `unix` VFS object, which is never
// freed or changed after registration and whose methods are thread-safe;
// the journal is behind a mutex.
unsafe impl Send for Shim {}
// SAFETY: as above.
unsafe impl Sync for Shim {}

static SHIM: OnceLock<Shim> = OnceLock::new();

/// Registers the VFS as SQLite's default if [`ENV`] is set; `Ok(false)` if
/// it is not. Must run before the first connection opens.
pub fn install_from_env() -> Result<bool, String> {
    let Some(path) = std::env::var_os(ENV) else {
        return Ok(false);
    };
    let off = std::env::var(SYNCHRONOUS_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("off"));
    install(Path::new(&path), off)?;
    Ok(true)
}

/// `OFF` when the negative control is armed, else `default`.
pub fn synchronous(default: &'static str) -> &'static str {
    match SHIM.get() {
        Some(shim) if shim.synchronous_off => "OFF",
        _ => default,
    }
}

fn install(journal: &Path, synchronous_off: bool) -> Result<(), String> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(journal)
        .map_err(|e| format!("{ENV}: cannot open {}: {e}", journal.display()))?;
    // SAFETY: a valid NUL-terminated name; sqlite3_vfs_find initialises
    // SQLite if needed and returns a static object or null.
    let real = unsafe { ffi::sqlite3_vfs_find(c"unix".as_ptr()) };
    if real.is_null() {
        return Err(format!("{ENV}: SQLite has no unix VFS"));
    }
    let shim = Shim {
        real,
        journal: Mutex::new(file),
        synchronous_off,
    };
    if SHIM.set(shim).is_err() {
        return Err(format!("{ENV}: installed twice"));
    }
    // SAFETY: `real` is a valid VFS object (checked non-null above); copying
    // the struct copies its function pointers. The copied methods other than
    // xOpen (xDelete, xAccess, xFullPathname, time, randomness, system calls)
    // do not read the VFS pointer they are given beyond fields copied here
    // (in os_unix.c only unixOpen reads pAppData, and xOpen is replaced by
    // one that calls unixOpen with the real VFS).
    let mut vfs: ffi::sqlite3_vfs = unsafe { *real };
    let real_size = usize::try_from(vfs.szOsFile).unwrap_or(0);
    vfs.szOsFile = c_int::try_from(std::mem::size_of::<ShimFile>() + real_size)
        .map_err(|_| format!("{ENV}: file object too large"))?;
    vfs.zName = VFS_NAME.as_ptr();
    vfs.pNext = ptr::null_mut();
    vfs.xOpen = Some(shim_open);
    let vfs = Box::leak(Box::new(vfs));
    // SAFETY: `vfs` lives for the rest of the process (leaked) and is a
    // complete VFS object; makeDflt=1 makes it the default for every
    // connection opened from now on.
    let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 1) };
    if rc != ffi::SQLITE_OK {
        return Err(format!("{ENV}: sqlite3_vfs_register failed ({rc})"));
    }
    Ok(())
}

/// Our file object: SQLite allocates `szOsFile` bytes; ours come first, the
/// real VFS's file object right after (24 bytes, so it stays 8-aligned).
#[repr(C)]
struct ShimFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    /// The file's full path, if it is journaled (else null); owned.
    path: *mut c_char,
}

const TRACKED: c_int =
    ffi::SQLITE_OPEN_MAIN_DB | ffi::SQLITE_OPEN_MAIN_JOURNAL | ffi::SQLITE_OPEN_WAL;

unsafe extern "C" fn shim_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let Some(shim) = SHIM.get() else {
        return ffi::SQLITE_ERROR;
    };
    let f = file.cast::<ShimFile>();
    // SAFETY: SQLite hands us `szOsFile` writable bytes at `file`, 8-aligned:
    // room for a ShimFile followed by the real file object.
    unsafe {
        let real = file
            .cast::<u8>()
            .add(std::mem::size_of::<ShimFile>())
            .cast::<ffi::sqlite3_file>();
        (*f).base.pMethods = ptr::null();
        (*f).real = real;
        (*f).path = ptr::null_mut();
        let open = (*shim.real).xOpen.expect("unix VFS has xOpen");
        let rc = open(shim.real, name, real, flags, out_flags);
        // SQLite calls xClose iff pMethods is set, even after a failed open;
        // mirror what the real VFS did.
        if (*real).pMethods.is_null() {
            return rc;
        }
        (*f).base.pMethods = &METHODS;
        if rc == ffi::SQLITE_OK && flags & TRACKED != 0 && !name.is_null() {
            (*f).path = CStr::from_ptr(name).to_owned().into_raw();
        }
        rc
    }
}

/// The real file object and its methods.
///
/// # Safety
/// `file` must be a ShimFile opened by [`shim_open`] with a real file.
unsafe fn real(
    file: *mut ffi::sqlite3_file,
) -> (*mut ffi::sqlite3_file, &'static ffi::sqlite3_io_methods) {
    // SAFETY: per the contract, `real` is set and its pMethods non-null and
    // static (the unix VFS's method tables are static).
    unsafe {
        let real = (*file.cast::<ShimFile>()).real;
        (real, &*(*real).pMethods)
    }
}

/// The journaled path of `file`, if any.
///
/// # Safety
/// As [`real`].
unsafe fn tracked(file: *mut ffi::sqlite3_file) -> Option<&'static CStr> {
    // SAFETY: `path` is null or a CString we own until xClose.
    unsafe {
        let path = (*file.cast::<ShimFile>()).path;
        (!path.is_null()).then(|| CStr::from_ptr(path))
    }
}

fn put_bytes(record: &mut Vec<u8>, bytes: &[u8]) {
    record.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
    record.extend_from_slice(bytes);
}

fn append(journal: &mut File, record: &[u8]) -> bool {
    journal.write_all(record).is_ok()
}

/// The file's size, through the real methods.
///
/// # Safety
/// As [`real`].
unsafe fn size_of_file(file: *mut ffi::sqlite3_file) -> Result<i64, c_int> {
    // SAFETY: forwarding to the real method with its own file object.
    unsafe {
        let (real, m) = real(file);
        let mut size: ffi::sqlite3_int64 = 0;
        let rc = m
            .xFileSize
            .map_or(ffi::SQLITE_IOERR, |f| f(real, &mut size));
        if rc == ffi::SQLITE_OK {
            Ok(size)
        } else {
            Err(rc)
        }
    }
}

/// The `len` bytes at `offset` as they are now (a short read is zero-filled
/// by SQLite's contract; only bytes inside the file are asked for).
///
/// # Safety
/// As [`real`].
unsafe fn read_at(file: *mut ffi::sqlite3_file, offset: i64, len: usize) -> Result<Vec<u8>, c_int> {
    let mut buf = vec![0u8; len];
    if len == 0 {
        return Ok(buf);
    }
    // SAFETY: `buf` has `len` writable bytes; forwarding to the real method.
    let rc = unsafe {
        let (real, m) = real(file);
        let n = c_int::try_from(len).map_err(|_| ffi::SQLITE_IOERR_READ)?;
        m.xRead.map_or(ffi::SQLITE_IOERR, |f| {
            f(real, buf.as_mut_ptr().cast(), n, offset)
        })
    };
    if rc == ffi::SQLITE_OK || rc == ffi::SQLITE_IOERR_SHORT_READ {
        Ok(buf)
    } else {
        Err(rc)
    }
}

fn basename(path: &CStr) -> String {
    let bytes = path.to_bytes();
    let name = bytes.rsplit(|b| *b == b'/').next().unwrap_or(bytes);
    String::from_utf8_lossy(name).into_owned()
}

unsafe extern "C" fn shim_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes a file it opened through shim_open once; the
    // path is ours to free.
    unsafe {
        let (real, m) = real(file);
        let rc = m.xClose.map_or(ffi::SQLITE_OK, |f| f(real));
        let shim = file.cast::<ShimFile>();
        if !(*shim).path.is_null() {
            drop(CString::from_raw((*shim).path));
            (*shim).path = ptr::null_mut();
        }
        rc
    }
}

unsafe extern "C" fn shim_write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: `file` came from shim_open; `data` holds `amount` bytes (the
    // xWrite contract).
    unsafe {
        let (real, m) = real(file);
        let Some(write) = m.xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let (Some(path), Some(shim)) = (tracked(file), SHIM.get()) else {
            return write(real, data, amount, offset);
        };
        let mut journal = shim.journal.lock().unwrap_or_else(|p| p.into_inner());
        let len = usize::try_from(amount).unwrap_or(0);
        let new = std::slice::from_raw_parts(data.cast::<u8>(), len);
        let before = match size_of_file(file) {
            Ok(size) => size,
            Err(rc) => return rc,
        };
        let inside = usize::try_from((before - offset).max(0))
            .unwrap_or(0)
            .min(len);
        let old = match read_at(file, offset, inside) {
            Ok(old) => old,
            Err(rc) => return rc,
        };
        let mut record = Vec::with_capacity(64 + old.len() + new.len());
        record.push(RECORD_WRITE);
        put_bytes(&mut record, path.to_bytes());
        record.extend_from_slice(&offset.to_le_bytes());
        record.extend_from_slice(&before.to_le_bytes());
        put_bytes(&mut record, &old);
        put_bytes(&mut record, new);
        // Before the record: a kill here leaves neither the write nor its
        // record, so the power cut never makes a write the process did not.
        reached_with(Point::SqliteWrite, || {
            format!("file={} offset={offset} len={len}", basename(path))
        });
        if !append(&mut journal, &record) {
            return ffi::SQLITE_IOERR_WRITE;
        }
        write(real, data, amount, offset)
    }
}

unsafe extern "C" fn shim_truncate(
    file: *mut ffi::sqlite3_file,
    size: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: `file` came from shim_open.
    unsafe {
        let (real, m) = real(file);
        let Some(truncate) = m.xTruncate else {
            return ffi::SQLITE_IOERR_TRUNCATE;
        };
        let (Some(path), Some(shim)) = (tracked(file), SHIM.get()) else {
            return truncate(real, size);
        };
        let mut journal = shim.journal.lock().unwrap_or_else(|p| p.into_inner());
        let before = match size_of_file(file) {
            Ok(before) => before,
            Err(rc) => return rc,
        };
        let cut_len = usize::try_from((before - size).max(0)).unwrap_or(0);
        let cut = match read_at(file, size, cut_len) {
            Ok(cut) => cut,
            Err(rc) => return rc,
        };
        let mut record = Vec::with_capacity(32 + cut.len());
        record.push(RECORD_TRUNCATE);
        put_bytes(&mut record, path.to_bytes());
        record.extend_from_slice(&before.to_le_bytes());
        record.extend_from_slice(&size.to_le_bytes());
        put_bytes(&mut record, &cut);
        if !append(&mut journal, &record) {
            return ffi::SQLITE_IOERR_TRUNCATE;
        }
        truncate(real, size)
    }
}

unsafe extern "C" fn shim_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: `file` came from shim_open.
    unsafe {
        let (real, m) = real(file);
        let Some(sync) = m.xSync else {
            return ffi::SQLITE_IOERR_FSYNC;
        };
        let (Some(path), Some(shim)) = (tracked(file), SHIM.get()) else {
            return sync(real, flags);
        };
        // Held across the sync: no write of the file can slip between the
        // sync and its record.
        let mut journal = shim.journal.lock().unwrap_or_else(|p| p.into_inner());
        let rc = sync(real, flags);
        if rc == ffi::SQLITE_OK {
            let mut record = vec![RECORD_SYNC];
            put_bytes(&mut record, path.to_bytes());
            if !append(&mut journal, &record) {
                return ffi::SQLITE_IOERR_FSYNC;
            }
        }
        rc
    }
}

/// Defines io methods that only forward to the real file's method of the
/// same name (or answer `$missing` if the real file has none).
macro_rules! forward {
    ($name:ident, $method:ident, $missing:expr, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> $ret {
            // SAFETY: `file` came from shim_open; the arguments are passed
            // on unchanged with the real file object.
            unsafe {
                let (real, m) = real(file);
                match m.$method {
                    Some(f) => f(real $(, $arg)*),
                    None => $missing,
                }
            }
        }
    };
}

forward!(shim_read, xRead, ffi::SQLITE_IOERR_READ, (buf: *mut c_void, amount: c_int, offset: ffi::sqlite3_int64) -> c_int);
forward!(shim_file_size, xFileSize, ffi::SQLITE_IOERR_FSTAT, (size: *mut ffi::sqlite3_int64) -> c_int);
forward!(shim_lock, xLock, ffi::SQLITE_IOERR_LOCK, (level: c_int) -> c_int);
forward!(shim_unlock, xUnlock, ffi::SQLITE_IOERR_UNLOCK, (level: c_int) -> c_int);
forward!(shim_check_reserved_lock, xCheckReservedLock, ffi::SQLITE_IOERR_CHECKRESERVEDLOCK, (out: *mut c_int) -> c_int);
forward!(shim_file_control, xFileControl, ffi::SQLITE_NOTFOUND, (op: c_int, arg: *mut c_void) -> c_int);
forward!(shim_sector_size, xSectorSize, 4096, () -> c_int);
forward!(shim_device_characteristics, xDeviceCharacteristics, 0, () -> c_int);
forward!(shim_shm_map, xShmMap, ffi::SQLITE_IOERR_SHMMAP, (region: c_int, size: c_int, extend: c_int, out: *mut *mut c_void) -> c_int);
forward!(shim_shm_lock, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, (offset: c_int, n: c_int, flags: c_int) -> c_int);
forward!(shim_shm_unmap, xShmUnmap, ffi::SQLITE_OK, (delete: c_int) -> c_int);
forward!(shim_fetch, xFetch, { *out = ptr::null_mut(); ffi::SQLITE_OK }, (offset: ffi::sqlite3_int64, amount: c_int, out: *mut *mut c_void) -> c_int);
forward!(shim_unfetch, xUnfetch, ffi::SQLITE_OK, (offset: ffi::sqlite3_int64, page: *mut c_void) -> c_int);

unsafe extern "C" fn shim_shm_barrier(file: *mut ffi::sqlite3_file) {
    // SAFETY: `file` came from shim_open.
    unsafe {
        let (real, m) = real(file);
        if let Some(f) = m.xShmBarrier {
            f(real);
        }
    }
}

/// Version 3: the unix VFS's default method table (posix locks) is version
/// 3; a real file whose table lacks a method answers the error above.
static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(shim_close),
    xRead: Some(shim_read),
    xWrite: Some(shim_write),
    xTruncate: Some(shim_truncate),
    xSync: Some(shim_sync),
    xFileSize: Some(shim_file_size),
    xLock: Some(shim_lock),
    xUnlock: Some(shim_unlock),
    xCheckReservedLock: Some(shim_check_reserved_lock),
    xFileControl: Some(shim_file_control),
    xSectorSize: Some(shim_sector_size),
    xDeviceCharacteristics: Some(shim_device_characteristics),
    xShmMap: Some(shim_shm_map),
    xShmLock: Some(shim_shm_lock),
    xShmBarrier: Some(shim_shm_barrier),
    xShmUnmap: Some(shim_shm_unmap),
    xFetch: Some(shim_fetch),
    xUnfetch: Some(shim_unfetch),
};

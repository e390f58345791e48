//! A throwaway PostgreSQL cluster for tests (feature `testing`).
//!
//! [`PgCluster::start`] runs `initdb` in a new temporary directory, starts
//! `postgres` on a free loopback port (its socket and log inside that
//! directory) and [`Drop`] stops it (`pg_ctl stop -m immediate`) and deletes
//! the directory. [`PgCluster::shared`] is one cluster per test process,
//! stopped and deleted when the process exits; [`PgCluster::fresh_database`]
//! gives every test its own empty database in it.
//!
//! The binaries come from `$WIJKLOG_PG_BIN` (set by `make test` from
//! `scripts/ensure-postgres.sh`), else `/usr/lib/postgresql/15/bin`. A missing
//! binary is a test failure with a clear message, never a skip. `initdb`
//! refuses to run as root, so as root the cluster runs as the `postgres` user
//! (`runuser -u postgres`) in a directory owned by it. Nothing assumes a
//! database already running, and only 127.0.0.1 is used.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The default location of Debian's PostgreSQL 15 binaries.
pub const DEFAULT_PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// The cluster's superuser (made by `initdb -U`).
pub const SUPERUSER: &str = "wijklog";

/// Temporary directories of clusters start with this (stale ones, whose
/// test process died, are cleaned up by the next start).
const DIR_PREFIX: &str = "wijklog-pg-";

/// A running throwaway PostgreSQL cluster.
#[derive(Debug)]
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    password: String,
    as_postgres: bool,
    stopped: std::sync::atomic::AtomicBool,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The PostgreSQL binary directory: `$WIJKLOG_PG_BIN` or the Debian default.
/// Panics with a clear message when `initdb` is not there.
pub fn pg_bin() -> PathBuf {
    let bin = PathBuf::from(
        std::env::var("WIJKLOG_PG_BIN").unwrap_or_else(|_| DEFAULT_PG_BIN.to_owned()),
    );
    assert!(
        bin.join("initdb").is_file() && bin.join("pg_ctl").is_file(),
        "PostgreSQL is needed for these tests and was not found in {}. Install Debian's \
         `postgresql` package (scripts/ensure-postgres.sh does, as root) or point \
         WIJKLOG_PG_BIN at a directory with initdb and pg_ctl.",
        bin.display()
    );
    bin
}

fn free_loopback_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("random bytes");
    hex::encode(buf)
}

fn postgres_ids() -> (u32, u32) {
    let out = Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .expect("run id");
    let gid = Command::new("id")
        .args(["-g", "postgres"])
        .output()
        .expect("run id");
    let parse = |o: std::process::Output| -> u32 {
        assert!(
            o.status.success(),
            "running as root, the tests need the `postgres` user (Debian's postgresql package makes it)"
        );
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .expect("numeric id")
    };
    (parse(out), parse(gid))
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown to postgres");
}

impl PgCluster {
    /// Starts a new cluster. Panics (a test failure) if it cannot.
    pub fn start() -> PgCluster {
        let bin = pg_bin();
        clean_stale_clusters(&bin);
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir()
            .expect("temporary directory")
            .keep();
        let password = random_hex(16);
        let pwfile = dir.join("pwfile");
        std::fs::write(&pwfile, format!("{password}\n")).expect("write pwfile");
        let data = dir.join("data");
        if as_postgres {
            let (uid, gid) = postgres_ids();
            chown(&dir, uid, gid);
            chown(&pwfile, uid, gid);
        }
        let mut cluster = PgCluster {
            dir,
            bin,
            port: 0,
            password,
            as_postgres,
            stopped: std::sync::atomic::AtomicBool::new(false),
        };
        let out = cluster
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args(["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A port another process takes between our probe and postgres'
        // bind makes the start fail: try a few ports.
        let mut last_err = String::new();
        for _ in 0..5 {
            cluster.port = free_loopback_port();
            match cluster.pg_ctl_start() {
                Ok(()) => return cluster,
                Err(e) => last_err = e,
            }
        }
        panic!("PostgreSQL did not start: {last_err}");
    }

    /// One cluster for the whole test process, started on first use and
    /// stopped and deleted when the process exits.
    pub fn shared() -> &'static PgCluster {
        static SHARED: OnceLock<PgCluster> = OnceLock::new();
        SHARED.get_or_init(|| {
            let cluster = PgCluster::start();
            extern "C" fn stop_shared() {
                if let Some(c) = SHARED.get() {
                    c.stop();
                }
            }
            // SAFETY: registering a plain `extern "C" fn` with no arguments.
            unsafe {
                libc::atexit(stop_shared);
            }
            cluster
        })
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server log (inside the cluster's directory).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c max_connections=300 -c shared_buffers=32MB -c fsync=on",
            self.port,
            self.dir.display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .args(["-w", "-t", "60", "-o", &opts, "start"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
            Err(format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stderr),
                log.lines().rev().take(10).collect::<Vec<_>>().join("\n")
            ))
        }
    }

    /// Stops the server (immediately: nothing of a throwaway cluster needs
    /// a clean shutdown) and deletes its directory. Idempotent.
    pub fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// Restarts the server on the same port (`-m immediate`: like a crash,
    /// recovery replays the WAL). Used by the tests of reconnects.
    pub fn restart_immediate(&self) {
        self.crash();
        self.start_again();
    }

    /// Stops the server at once (`-m immediate`: like a crash or a pulled
    /// plug) and keeps its data for [`PgCluster::start_again`].
    pub fn crash(&self) {
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("pg_ctl stop");
        assert!(status.success(), "pg_ctl stop failed");
    }

    /// Starts the server again after [`PgCluster::crash`], on the same port
    /// (recovery replays the WAL).
    pub fn start_again(&self) {
        self.pg_ctl_start().expect("PostgreSQL restarts");
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password (random per cluster).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `postgres://wijklog:<password>@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// The same URL without the password (for tests of secrets from the environment).
    pub fn url_without_password(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs SQL through `psql` on database `db` as the superuser (over the
    /// Unix socket in the cluster's directory). Returns stdout; panics on error.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = self
            .command("../bin/psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .arg("-h")
            .arg(&self.dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates a new, empty database and returns its URL.
    pub fn fresh_database(&self) -> String {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "t{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            random_hex(3)
        );
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }
}

impl PgCluster {
    /// Creates a new database with the current schema (a copy of a template
    /// migrated once per process) and returns its URL.
    pub fn fresh_migrated_database(&self) -> String {
        static TEMPLATE: OnceLock<String> = OnceLock::new();
        let template = TEMPLATE.get_or_init(|| {
            let name = format!("tmpl{}_{}", std::process::id(), random_hex(3));
            self.psql("postgres", &format!("CREATE DATABASE {name}"));
            // Migrate, then close every connection: a template in use
            // cannot be copied.
            drop(
                crate::storage::PgStore::connect(&self.url(&name), Default::default())
                    .expect("migrate the template database"),
            );
            name
        });
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "m{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            random_hex(3)
        );
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {name} TEMPLATE {template}"),
        );
        self.url(&name)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stops and deletes clusters left behind by test processes that died
/// (killed before their exit handler ran): their directory names carry the
/// owning process id.
fn clean_stale_clusters(bin: &Path) {
    let tmp = std::env::temp_dir();
    let Ok(entries) = std::fs::read_dir(&tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) == 0 }
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if alive {
            continue;
        }
        let dir = entry.path();
        let mut stop = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin.join("pg_ctl"));
            c
        } else {
            Command::new(bin.join("pg_ctl"))
        };
        let _ = stop
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-m", "immediate", "-w", "-t", "10", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Waits until `f` returns `Some`, at most `timeout`.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

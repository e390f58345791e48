//! A real `wijklog serve` process on 127.0.0.1, port 0, with its data in a
//! directory of the caller's choosing, and the `wijklog user add` command.
//!
//! The binary is `$WIJKLOG_BIN` if set; otherwise `cargo build -p
//! wijklog-server --bin wijklog` is run (a no-op when up to date) and
//! `target/<profile>/wijklog` is used.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Path of the `wijklog` binary (built on first use unless `WIJKLOG_BIN` is set).
pub fn wijklog_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("WIJKLOG_BIN") {
            let bin = PathBuf::from(bin);
            assert!(
                bin.is_file(),
                "WIJKLOG_BIN={} does not exist; build it with `cargo build -p wijklog-server`",
                bin.display()
            );
            return bin;
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
            .to_owned();
        let release = !cfg!(debug_assertions);
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&root)
            .args(["build", "-q", "-p", "wijklog-server", "--bin", "wijklog"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo build for wijklog");
        assert!(
            status.success(),
            "building the wijklog binary failed; set WIJKLOG_BIN to a built binary"
        );
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let bin = target
            .join(if release { "release" } else { "debug" })
            .join("wijklog");
        assert!(bin.is_file(), "{} missing after cargo build", bin.display());
        bin
    })
    .clone()
}

/// Creates an account with `wijklog user add` (password on stdin).
pub fn add_user(data: &Path, username: &str, password: &str, roles: &[&str], team: Option<&str>) {
    let mut cmd = Command::new(wijklog_bin());
    cmd.args(["user", "add", "--username", username, "--data"])
        .arg(data);
    for role in roles {
        cmd.args(["--role", role]);
    }
    if let Some(team) = team {
        cmd.args(["--team", team]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wijklog user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("password");
    let out = child.wait_with_output().expect("wijklog user add");
    assert!(
        out.status.success(),
        "wijklog user add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `wijklog serve`.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The port.
    pub port: u16,
    /// Every line the server printed on stdout (its log) so far.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The thread that reads stdout into `log` (ends when the process does).
    reader: Option<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts the server on a free port with `data` as its data directory
    /// and waits for its "listening on port" line. `env` adds environment
    /// variables (e.g. `WIJKLOG_LIMITS_*`).
    pub fn start(data: &Path, env: &[(&str, &str)]) -> ServerProcess {
        Self::spawn(Command::new(wijklog_bin()), data, env)
    }

    /// Like [`ServerProcess::start`], but the process may map at most
    /// `address_space_bytes` of memory (RLIMIT_AS, set with util-linux
    /// `prlimit`, which execs the server: the pid is the server's). glibc
    /// keeps few malloc arenas (`MALLOC_ARENA_MAX=2`) so that the limit
    /// measures memory used rather than address space reserved. Panics if
    /// `prlimit` is missing: a missing tool is a failure, not a skip.
    pub fn start_capped(
        data: &Path,
        env: &[(&str, &str)],
        address_space_bytes: u64,
    ) -> ServerProcess {
        let prlimit = ["/usr/bin/prlimit", "/bin/prlimit"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .expect("prlimit (util-linux) is needed to cap the server's memory");
        let mut cmd = Command::new(prlimit);
        cmd.arg(format!("--as={address_space_bytes}"))
            .arg("--")
            .arg(wijklog_bin())
            .env("MALLOC_ARENA_MAX", "2");
        Self::spawn(cmd, data, env)
    }

    fn spawn(mut cmd: Command, data: &Path, env: &[(&str, &str)]) -> ServerProcess {
        let static_dir = data.join("static");
        std::fs::create_dir_all(&static_dir).expect("static dir");
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--static")
            .arg(&static_dir)
            .env("WIJKLOG_LOG_FILTER", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn wijklog serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = log.clone();
        let reader = std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(mut kept) = keep.lock() {
                    kept.push(line.clone());
                }
                if !sent && let Some(port) = parse_port(&line) {
                    let _ = tx.send(port);
                    sent = true;
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                panic!("wijklog serve did not print its port within 60 s");
            }
        };
        ServerProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            log,
            reader: Some(reader),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set size (VmHWM) in kB, from /proc.
    pub fn peak_rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Current resident set size (VmRSS) in kB, from /proc.
    pub fn rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait up to `timeout` for the exit; true if it exited.
    pub fn terminate(self, timeout: Duration) -> bool {
        self.terminate_status(timeout).is_some()
    }

    /// SIGTERM, then wait up to `timeout` for the exit: its status, or
    /// `None` if it did not exit in time (it is killed then).
    pub fn terminate_status(mut self, timeout: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait_exit(timeout)
    }

    /// Waits up to `timeout` for the process to end on its own (a crash
    /// point, a signal it sent itself): its status, or `None` if it was
    /// still running (it is killed then).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Every line it printed is in `log` once its stdout ends.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    /// The log lines (stdout) so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the port from the line `wijklog listening on port <N>`.
fn parse_port(line: &str) -> Option<u16> {
    line.strip_prefix("wijklog listening on port ")?
        .trim()
        .parse()
        .ok()
}

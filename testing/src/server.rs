//! A real `wijklog serve` as a child process on 127.0.0.1, port 0: one
//! builder ([`Serve`]) for every test that runs the binary as a server, and
//! the running process ([`ServerProcess`]).
//!
//! The server prints `wijklog listening on port <N>` on standard output once
//! it listens; [`Serve::start`] waits for that line. Standard output (the
//! log) and standard error are read into memory all the time, so the server
//! never blocks on a full pipe, a start that fails says why (its standard
//! error), and a test that fails with a server running prints the server's
//! standard error.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a server may take to print its port (a debug build on a loaded
/// machine migrating a fresh database).
const START_WAIT: Duration = Duration::from_secs(60);
/// The most of standard error kept (the end is what explains a failure).
const STDERR_KEPT: usize = 256 * 1024;

/// How to start `wijklog serve`: `bin serve --bind 127.0.0.1:0 --data DATA
/// --static DATA/static`, with `RUST_LOG` removed and
/// `WIJKLOG_LOG_FILTER=warn` unless the test sets another.
#[derive(Debug, Clone)]
pub struct Serve {
    bin: PathBuf,
    wrapper: Option<(PathBuf, Vec<OsString>)>,
    data: PathBuf,
    database: Option<String>,
    static_dir: Option<PathBuf>,
    args: Vec<OsString>,
    set: Vec<(OsString, OsString)>,
    unset: Vec<OsString>,
}

impl Serve {
    /// `bin` serving from the data directory `data`.
    pub fn new(bin: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Serve {
        Serve {
            bin: bin.into(),
            wrapper: None,
            data: data.into(),
            database: None,
            static_dir: None,
            args: Vec::new(),
            set: vec![("WIJKLOG_LOG_FILTER".into(), "warn".into())],
            unset: vec!["RUST_LOG".into()],
        }
    }

    /// The database: `--database URL` (PostgreSQL) instead of the SQLite
    /// file in the data directory.
    pub fn database(mut self, url: &str) -> Serve {
        self.database = Some(url.to_owned());
        self
    }

    /// The PWA directory served as static files (default: `DATA/static`,
    /// created empty).
    pub fn static_dir(mut self, dir: impl Into<PathBuf>) -> Serve {
        self.static_dir = Some(dir.into());
        self
    }

    /// One more argument after the ones above.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Serve {
        self.args.push(arg.into());
        self
    }

    /// One environment variable (the last setting of a name wins).
    pub fn env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Serve {
        let name = name.into();
        self.unset.retain(|n| *n != name);
        self.set.push((name, value.into()));
        self
    }

    /// Environment variables, in order.
    pub fn envs(mut self, vars: &[(&str, &str)]) -> Serve {
        for (name, value) in vars {
            self = self.env(*name, *value);
        }
        self
    }

    /// Removes a variable of the test's own environment (and any set here).
    pub fn env_remove(mut self, name: impl Into<OsString>) -> Serve {
        let name = name.into();
        self.set.retain(|(n, _)| *n != name);
        self.unset.push(name);
        self
    }

    /// Runs the server through `program args… --` (e.g. `prlimit
    /// --as=N`), which must exec it: the process id is then the server's.
    pub fn wrapped_in(mut self, program: impl Into<PathBuf>, args: &[&str]) -> Serve {
        self.wrapper = Some((program.into(), args.iter().map(OsString::from).collect()));
        self
    }

    fn command(&self) -> Command {
        let mut cmd = match &self.wrapper {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg("--").arg(&self.bin);
                cmd
            }
            None => Command::new(&self.bin),
        };
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--data"])
            .arg(&self.data);
        if let Some(url) = &self.database {
            cmd.args(["--database", url]);
        }
        let static_dir = self
            .static_dir
            .clone()
            .unwrap_or_else(|| self.data.join("static"));
        cmd.arg("--static").arg(static_dir).args(&self.args);
        for name in &self.unset {
            cmd.env_remove(name);
        }
        for (name, value) in &self.set {
            cmd.env(name, value);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts the server and waits for its port; panics with the server's
    /// standard error if it exits or stays silent instead.
    pub fn start(self) -> ServerProcess {
        match self.try_start() {
            Ok(server) => server,
            Err(failed) => panic!("{failed}"),
        }
    }

    /// Starts the server and waits for its port; a server that exits first
    /// (or prints no port within a minute) is an error with what it printed.
    pub fn try_start(self) -> Result<ServerProcess, StartFailed> {
        if self.static_dir.is_none() {
            std::fs::create_dir_all(self.data.join("static")).expect("static dir");
        }
        let mut child = self.command().spawn().expect("spawn wijklog serve");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let keep = log.clone();
        let stdout_reader = std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent && let Some(port) = parse_port(&line) {
                    let _ = tx.send(port);
                    sent = true;
                }
                keep.lock().expect("log").push(line);
            }
        });
        let keep = errors.clone();
        let stderr_reader = std::thread::spawn(move || read_capped(stderr, &keep));
        let mut server = ServerProcess {
            child,
            base: String::new(),
            port: 0,
            log,
            errors,
            readers: vec![stdout_reader, stderr_reader],
        };
        // Disconnected: standard output closed, the server has exited.
        match rx.recv_timeout(START_WAIT) {
            Ok(port) => {
                server.port = port;
                server.base = format!("http://127.0.0.1:{port}");
                Ok(server)
            }
            Err(_) => {
                let _ = server.child.kill();
                let status = server.child.wait().ok();
                server.join_readers();
                Err(StartFailed {
                    status,
                    stderr: server.stderr(),
                    stdout: server.stdout_lines().join("\n"),
                })
            }
        }
    }
}

/// A `wijklog serve` that did not print its port: how it ended and what it
/// printed.
#[derive(Debug)]
pub struct StartFailed {
    /// The exit status (after a kill if it was still running).
    pub status: Option<ExitStatus>,
    /// Its standard error.
    pub stderr: String,
    /// Its standard output.
    pub stdout: String,
}

impl std::fmt::Display for StartFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "wijklog serve did not start ({:?}); stderr:\n{}\nstdout:\n{}",
            self.status, self.stderr, self.stdout
        )
    }
}

/// Reads `from` to its end into `into`, keeping the last [`STDERR_KEPT`] bytes.
fn read_capped(mut from: impl Read, into: &Mutex<String>) {
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut kept = into.lock().expect("stderr");
                kept.push_str(&String::from_utf8_lossy(&buf[..n]));
                if kept.len() > STDERR_KEPT {
                    let mut cut = kept.len() - STDERR_KEPT;
                    while !kept.is_char_boundary(cut) {
                        cut += 1;
                    }
                    kept.drain(..cut);
                }
            }
        }
    }
}

/// Reads the port from the line `wijklog listening on port <N>`.
fn parse_port(line: &str) -> Option<u16> {
    line.strip_prefix("wijklog listening on port ")?
        .trim()
        .parse()
        .ok()
}

/// A running `wijklog serve`; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The port.
    pub port: u16,
    /// Every line the server printed on stdout (its log) so far.
    pub log: Arc<Mutex<Vec<String>>>,
    errors: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl ServerProcess {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every line printed on standard output so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    /// Standard error so far (its last 256 KiB).
    pub fn stderr(&self) -> String {
        self.errors.lock().expect("stderr").clone()
    }

    /// Peak resident set size (VmHWM) in kB, from /proc.
    pub fn peak_rss_kb(&self) -> Option<u64> {
        self.proc_status_kb("VmHWM:")
    }

    /// Current resident set size (VmRSS) in kB, from /proc.
    pub fn rss_kb(&self) -> Option<u64> {
        self.proc_status_kb("VmRSS:")
    }

    fn proc_status_kb(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with(field))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait up to `timeout` for the exit: its status, or
    /// `None` if it did not stop in time (it is then killed). Once it has
    /// exited its whole output has been read ([`Self::stdout_lines`],
    /// [`Self::stderr`]).
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait_exit(timeout)
    }

    /// Waits up to `timeout` for the process to end on its own (a crash
    /// point, a signal it sent itself): its status, or `None` if it was
    /// still running (it is killed then). Once it has exited its whole
    /// output has been read.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.join_readers();
        status
    }

    /// Waits for both output readers (they end when the process has exited
    /// and its pipes are closed).
    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Never leave a server running, also when an assertion fails.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            self.join_readers();
            eprintln!(
                "wijklog serve on port {} (the test failed); its stderr:\n{}",
                self.port,
                self.stderr()
            );
        }
    }
}

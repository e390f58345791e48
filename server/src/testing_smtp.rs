//! A real SMTP server for tests: `tests/smtp/smtp_sink.py` (aiosmtpd) on
//! 127.0.0.1, started and stopped by the test itself. Every accepted message
//! is a `<n>.json` file in the sink's directory (envelope, decoded headers and
//! text body), read back with [`SmtpSink::messages`].
//!
//! The python comes from `WIJKLOG_SMTP_PYTHON` (set by `make test`), else
//! `target/smtp-venv/bin/python`; without it the test fails and says to run
//! `make smtp-venv` (which installs the pinned aiosmtpd into that venv).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ReceivedMail {
    /// `MAIL FROM`.
    pub envelope_from: String,
    /// `RCPT TO`s.
    pub envelope_to: Vec<String>,
    /// `From:` header.
    pub from: String,
    /// `To:` header.
    pub to: String,
    /// Decoded `Subject:`.
    pub subject: String,
    /// `Message-ID:`.
    pub message_id: String,
    /// Decoded text body.
    pub body: String,
}

/// A running (or stopped) SMTP sink.
#[derive(Debug)]
pub struct SmtpSink {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    _tmp: Option<tempfile::TempDir>,
}

/// The python that has aiosmtpd; panics with the fix when there is none.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("WIJKLOG_SMTP_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join("target/smtp-venv/bin/python");
    assert!(
        venv.exists(),
        "the mail tests need aiosmtpd (a real SMTP server): run `make smtp-venv` \
         (or scripts/ensure-smtp-sink.sh), or set WIJKLOG_SMTP_PYTHON to a python that has it"
    );
    venv
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl SmtpSink {
    /// Starts a sink on a free port with a fresh directory.
    pub fn start() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut sink = Self {
            port: free_port(),
            dir: tmp.path().to_owned(),
            child: None,
            _tmp: Some(tmp),
        };
        sink.restart(&[]);
        sink
    }

    /// A sink on `port` writing to `dir` (not started).
    pub fn at(port: u16, dir: &Path) -> Self {
        Self {
            port,
            dir: dir.to_owned(),
            child: None,
            _tmp: None,
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// (Re)starts the server on the same port and directory; `args` are
    /// extra options of smtp_sink.py (e.g. `["--hold-secs", "30"]`).
    pub fn restart(&mut self, args: &[&str]) {
        self.stop();
        let script = workspace_root().join("tests/smtp/smtp_sink.py");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut child = Command::new(python())
                .arg(&script)
                .arg(self.port.to_string())
                .arg(&self.dir)
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("starting the SMTP sink (python)");
            let stdout = child.stdout.take().expect("stdout");
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            if line.trim() == "ready" {
                self.child = Some(child);
                return;
            }
            let status = child.wait().ok();
            // The port may still be held by the previous run for a moment.
            assert!(
                Instant::now() < deadline,
                "the SMTP sink did not start (exit {status:?}); is aiosmtpd installed? run `make smtp-venv`"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server (SIGTERM, then waits).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).expect("read message");
                serde_json::from_str(&text).expect("message json")
            })
            .collect()
    }

    /// Waits (polling, at most `timeout`) until at least `n` messages arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

//! The `wijklog` binary run as a command: one invocation with arguments,
//! environment and standard input, and its output as one text.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `bin` with `args` and waits for it. The environment is the test's
/// minus `RUST_LOG` and the names in `unset`, plus `set`; `stdin` is written
/// to the command's standard input (then closed).
pub fn run(
    bin: &Path,
    args: &[&str],
    set: &[(&str, &str)],
    unset: &[&str],
    stdin: Option<&str>,
) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(args).env_remove("RUST_LOG");
    for name in unset {
        cmd.env_remove(name);
    }
    for (name, value) in set {
        cmd.env(name, value);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wijklog");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(s) = stdin {
            // A command that fails before reading stdin (bad arguments)
            // closes it: that broken pipe is not the test's concern.
            match input.write_all(s.as_bytes()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => panic!("write stdin: {e}"),
            }
        }
    }
    child.wait_with_output().expect("wait")
}

/// Standard output followed by standard error, as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

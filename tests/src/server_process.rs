//! The `wijklog` binary of this build for the cross-component tests:
//! `wijklog serve` ([`wijklog_testing::server`]) with its data in a
//! directory of the caller's choosing, and the `wijklog user add` command.
//!
//! The binary is `$WIJKLOG_BIN` if set; otherwise `cargo build -p
//! wijklog-server --bin wijklog` is run (a no-op when up to date) and
//! `target/<profile>/wijklog` is used.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use wijklog_testing::cli;
pub use wijklog_testing::server::{Serve, ServerProcess};

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
    let data = data.to_str().expect("utf-8 path");
    let mut args = vec!["user", "add", "--username", username, "--data", data];
    for role in roles {
        args.extend(["--role", role]);
    }
    if let Some(team) = team {
        args.extend(["--team", team]);
    }
    let out = cli::run(
        &wijklog_bin(),
        &args,
        &[],
        &[],
        Some(&format!("{password}\n")),
    );
    assert!(
        out.status.success(),
        "wijklog user add failed: {}",
        cli::text(&out)
    );
}

/// `wijklog serve` on a free port with `data` as its data directory
/// ([`Serve`]: add environment, arguments, then `start`).
pub fn serve(data: &Path) -> Serve {
    Serve::new(wijklog_bin(), data)
}

/// Like [`serve`], but the process may map at most `address_space_bytes`
/// of memory (RLIMIT_AS, set with util-linux `prlimit`, which execs the
/// server: the pid is the server's). glibc keeps few malloc arenas
/// (`MALLOC_ARENA_MAX=2`) so that the limit measures memory used rather
/// than address space reserved. Panics if `prlimit` is missing: a missing
/// tool is a failure, not a skip.
pub fn serve_capped(data: &Path, address_space_bytes: u64) -> Serve {
    let prlimit = ["/usr/bin/prlimit", "/bin/prlimit"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("prlimit (util-linux) is needed to cap the server's memory");
    serve(data)
        .wrapped_in(prlimit, &[&format!("--as={address_space_bytes}")])
        .env("MALLOC_ARENA_MAX", "2")
}

//! The `wijklog` command line (docs/operations.md).
//!
//! ```text
//! wijklog serve   [--config FILE] [--bind ADDR:PORT] [--data DIR] [--database URL] [--static DIR] [--log-format text|json]
//! wijklog migrate [--data DIR] [--database URL]
//! wijklog user add --username U --role R [--role R2] [--team T] [--name N] [--data DIR] [--database URL]   (password on stdin)
//! wijklog user disable U [--data DIR] [--database URL]
//! wijklog user enable U [--data DIR] [--database URL]
//! wijklog demo [--data DIR] [--database URL]
//! wijklog compact [--min-changes N] [--data DIR] [--database URL]
//! wijklog backup --to FILE [--data DIR]          (SQLite; PostgreSQL: pg_dump)
//! wijklog backup --to-dir DIR [--keep-days N] [--data DIR]
//! wijklog retention run [--dry-run] [--data DIR] [--database URL]
//! wijklog restore --from FILE [--data DIR] [--force]
//! wijklog blobs gc [--data DIR] [--database URL]
//! ```
//! Every subcommand also takes `--config FILE`; `--data` overrides the
//! file's `data_dir`, which overrides `WIJKLOG_DATA_DIR`; `--database URL`
//! likewise overrides `database.url` and `WIJKLOG_DATABASE_URL` (the
//! password comes from `WIJKLOG_DATABASE_PASSWORD`).

mod backup;
mod blobs;
mod retention;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, LogFormat};
use crate::domain::Role;
use crate::startup::Application;
use crate::storage::{AuditEntry, NewUser, Store, StoreError};

/// Wijklog's sync server.
#[derive(Debug, Parser)]
#[command(name = "wijklog", version, about)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Configuration file (TOML; see server/wijklog.example.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, JWT secret, photos).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// PostgreSQL database instead of SQLite in the data directory,
    /// `postgres://user@host:port/db`; the password from
    /// `WIJKLOG_DATABASE_PASSWORD`.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Log format.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Common options.
        #[command(flatten)]
        common: Common,
        /// Listen address, ADDR:PORT (port 0: any free port).
        #[arg(long, value_name = "ADDR:PORT")]
        bind: Option<String>,
        /// Directory of the built PWA (default pwa/dist).
        #[arg(long = "static", value_name = "DIR")]
        static_dir: Option<PathBuf>,
    },
    /// Bring the database's schema up to this version and exit (serve does
    /// it too; refuses a database written by a newer wijklog).
    Migrate {
        /// Common options.
        #[command(flatten)]
        common: Common,
    },
    /// Manage accounts.
    User {
        /// What to do.
        #[command(subcommand)]
        action: UserAction,
    },
    /// Create the demo accounts and demo walks (idempotent); prints the logins.
    Demo {
        /// Common options.
        #[command(flatten)]
        common: Common,
    },
    /// Compact every document with many changes into a snapshot (one pass;
    /// safe while the server runs).
    Compact {
        /// Common options.
        #[command(flatten)]
        common: Common,
        /// Compact documents with at least this many uncovered changes.
        #[arg(long, default_value_t = 1)]
        min_changes: u64,
    },
    /// Copy the SQLite database to FILE, consistently, even while the server
    /// runs (on PostgreSQL: pg_dump, see docs/operations.md).
    Backup {
        /// Common options.
        #[command(flatten)]
        common: Common,
        /// Destination file (must not exist).
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "to_dir",
            conflicts_with = "to_dir"
        )]
        to: Option<PathBuf>,
        /// Write `wijklog-<UTC time>.db` into DIR instead, and delete the
        /// backups made there more than `--keep-days` days ago.
        #[arg(long, value_name = "DIR")]
        to_dir: Option<PathBuf>,
        /// With `--to-dir`: days to keep backups (default
        /// `retention.backup_keep_days`; 0 keeps them all).
        #[arg(long, value_name = "N")]
        keep_days: Option<u32>,
    },
    /// Replace the database with a backup (stop the server first).
    Restore {
        /// Common options.
        #[command(flatten)]
        common: Common,
        /// The backup file.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Restore even though a server seems to be running on this data directory.
        #[arg(long)]
        force: bool,
    },
    /// Photos: `wijklog blobs gc` deletes unreferenced ones (docs/blobs.md).
    Blobs {
        /// What to do.
        #[command(subcommand)]
        action: blobs::BlobsAction,
    },
    /// Retention periods: `wijklog retention run [--dry-run]` (docs/privacy.md).
    Retention {
        /// What to do.
        #[command(subcommand)]
        action: retention::RetentionAction,
    },
}

/// `wijklog user ...`.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create an account; the password is read from the first line of stdin.
    Add {
        /// Common options.
        #[command(flatten)]
        common: Common,
        /// Login name.
        #[arg(long)]
        username: String,
        /// Role (boa, spreekuur, coordinator, admin); repeat for several.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// Team.
        #[arg(long)]
        team: Option<String>,
        /// Display name (default: the username).
        #[arg(long)]
        name: Option<String>,
    },
    /// Disable an account: no login, no refresh; open sessions end.
    Disable {
        /// Common options.
        #[command(flatten)]
        common: Common,
        /// Login name.
        username: String,
    },
    /// Re-enable a disabled account (its old devices stay signed out).
    Enable {
        /// Common options.
        #[command(flatten)]
        common: Common,
        /// Login name.
        username: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).map_err(|e| e.to_string())
}

/// Loads the configuration and applies the common flags.
pub fn load_config(common: &Common) -> anyhow::Result<Config> {
    let mut config = Config::load(common.config.as_deref())?;
    if let Some(dir) = &common.data {
        config.data_dir = dir.clone();
    }
    if let Some(url) = &common.database {
        if !crate::storage::is_postgres_url(url) {
            bail!(
                "--database takes a postgres:// URL (SQLite is chosen with --data DIR), got {}",
                crate::storage::redact_url(url)
            );
        }
        config.database.url = url.clone();
    }
    if let Some(format) = common.log_format {
        config.log_format = format;
    }
    Ok(config)
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    private_files_by_default();
    large_allocations_return_to_the_system();
    // Test-only: the power-loss VFS, before any connection opens.
    if let Err(e) = crate::crashpoint::powerloss::install_from_env() {
        eprintln!("wijklog: {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wijklog: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            common,
            bind,
            static_dir,
        } => {
            let mut config = load_config(&common)?;
            if let Some(bind) = bind {
                config.bind = bind;
            }
            if let Some(dir) = static_dir {
                config.static_dir = dir;
            }
            crate::telemetry::init(config.log_format, &config.log_filter, std::io::stdout);
            serve(config)
        }
        Command::Migrate { common } => {
            let config = load_config(&common)?;
            init_cli_logs(&config);
            migrate(&config)
        }
        Command::User { action } => user(action),
        Command::Demo { common } => {
            let config = load_config(&common)?;
            init_cli_logs(&config);
            demo(&config)
        }
        Command::Compact {
            common,
            min_changes,
        } => {
            let config = load_config(&common)?;
            init_cli_logs(&config);
            let store = open_store(&config)?;
            let report = crate::compaction::run_pass(store.as_ref(), min_changes)?;
            println!(
                "compacted {} documents ({} changes moved into snapshots, {} failed)",
                report.documents, report.covered, report.failed
            );
            if report.failed > 0 {
                bail!(
                    "{} documents could not be compacted (see the log)",
                    report.failed
                );
            }
            Ok(())
        }
        Command::Backup {
            common,
            to,
            to_dir,
            keep_days,
        } => {
            let config = load_config(&common)?;
            init_cli_logs(&config);
            match (to, to_dir) {
                (Some(_), _) if keep_days.is_some() => {
                    bail!(
                        "--keep-days rotates the backups of --to-dir DIR; --to FILE writes one file"
                    )
                }
                (Some(to), _) => backup(&config, &to),
                (None, Some(dir)) => {
                    let now = crate::domain::now_ms();
                    crate::storage::create_private_dir(&dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                    backup(&config, &retention::backup_file(&dir, now)?)?;
                    let keep = keep_days.unwrap_or(config.retention.backup_keep_days);
                    let removed = retention::rotate_backups(&dir, keep, now)?;
                    if keep == 0 {
                        println!("backups are kept without limit (keep days 0)");
                    } else {
                        println!("deleted {removed} backup(s) older than {keep} days");
                    }
                    Ok(())
                }
                (None, None) => bail!("say where the backup goes: --to FILE or --to-dir DIR"),
            }
        }
        Command::Restore {
            common,
            from,
            force,
        } => {
            let config = load_config(&common)?;
            init_cli_logs(&config);
            restore(&config, &from, force)
        }
        Command::Blobs { action } => blobs::run(action),
        Command::Retention { action } => retention::run_command(action),
    }
}

fn init_cli_logs(config: &Config) {
    // Commands print their results on stdout; logs go to stderr.
    crate::telemetry::init(config.log_format, "warn", std::io::stderr);
}

/// The lock file a running server holds (exclusive) in its data directory.
pub fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("wijklog.lock")
}

fn serve(config: Config) -> anyhow::Result<()> {
    crate::storage::create_private_dir(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(&config.data_dir))
        .context("opening the lock file")?;
    // One server per SQLite file; on PostgreSQL several nodes share the
    // database, and only a data directory of its own per node is locked.
    if lock.try_lock().is_err() {
        bail!(
            "another wijklog server is already running on {}",
            config.data_dir.display()
        );
    }
    if config.database.is_postgres()
        && config.auth.jwt_secret.is_none()
        && config.auth.jwt_secret_file.as_os_str().is_empty()
    {
        bail!(
            "on PostgreSQL every node must sign tokens with the same secret: set \
             WIJKLOG_AUTH_JWT_SECRET (or auth.jwt_secret_file to a file all nodes share)"
        );
    }
    let result = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config).await?;
        let port = app.port();
        // Signals are handled from here on: the port is announced after.
        let serving = app.run_until_stopped();
        println!("wijklog listening on port {port}");
        serving.await.context("serving")
    });
    drop(lock);
    result
}

fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    crate::startup::open_store(config)
}

/// `wijklog migrate`: opening the store migrates it; prints the version.
fn migrate(config: &Config) -> anyhow::Result<()> {
    if config.database.is_postgres() {
        let store = crate::startup::open_postgres(config)?;
        println!(
            "PostgreSQL database {} is at schema version {}",
            store.redacted_url(),
            store.schema_version()?
        );
    } else {
        crate::startup::open_store(config)?;
        println!(
            "SQLite database {} is at schema version {}",
            config.database_path().display(),
            crate::storage::LATEST_VERSION
        );
    }
    Ok(())
}

/// Refuses a file-level command (backup, restore) on PostgreSQL.
pub(crate) fn refuse_on_postgres(config: &Config, what: &str, instead: &str) -> anyhow::Result<()> {
    if config.database.is_postgres() {
        bail!(
            "{what} works on the SQLite data directory; this installation uses PostgreSQL: {instead}"
        );
    }
    Ok(())
}

fn user(action: UserAction) -> anyhow::Result<()> {
    match action {
        UserAction::Add {
            common,
            username,
            roles,
            team,
            name,
        } => {
            let config = load_config(&common)?;
            init_cli_logs(&config);
            let username = username.trim().to_owned();
            if username.is_empty() {
                bail!("the username must not be empty");
            }
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            let password = line.trim_end_matches(['\n', '\r']);
            let words = [username.as_str(), name.as_deref().unwrap_or_default()];
            if let Err(e) = crate::auth::password::check_new_password(password, &words) {
                bail!("the password (first line of stdin) is refused: {e}");
            }
            let hash = crate::auth::password::hash_password(password)?;
            let store = open_store(&config)?;
            let user = match store.create_user(NewUser {
                display_name: name.unwrap_or_else(|| username.clone()),
                username: username.clone(),
                password_hash: hash,
                roles,
                team: team.filter(|t| !t.trim().is_empty()),
            }) {
                Err(StoreError::AlreadyExists(_)) => {
                    bail!("a user named {username} already exists")
                }
                other => other?,
            };
            store.append_audit(AuditEntry {
                actor: None,
                action: "user.add".into(),
                subject: Some(user.id.to_string()),
                detail: serde_json::json!({"via": "cli", "roles": user.roles}),
            })?;
            println!("created user {} (id {})", user.username, user.id);
            Ok(())
        }
        UserAction::Disable { common, username } => set_disabled(&common, &username, true),
        UserAction::Enable { common, username } => set_disabled(&common, &username, false),
    }
}

fn set_disabled(common: &Common, username: &str, disabled: bool) -> anyhow::Result<()> {
    let config = load_config(common)?;
    init_cli_logs(&config);
    let store = open_store(&config)?;
    let user = match store.set_user_disabled(username, disabled) {
        Err(StoreError::NotFound(_)) => bail!("no user named {username}"),
        other => other?,
    };
    store.append_audit(AuditEntry {
        actor: None,
        action: if disabled {
            "user.disable"
        } else {
            "user.enable"
        }
        .into(),
        subject: Some(user.id.to_string()),
        detail: serde_json::json!({"via": "cli"}),
    })?;
    if disabled {
        println!("disabled user {} (all devices signed out)", user.username);
    } else {
        println!("enabled user {}", user.username);
    }
    Ok(())
}

fn backup(config: &Config, to: &Path) -> anyhow::Result<()> {
    refuse_on_postgres(
        config,
        "wijklog backup",
        "back it up with pg_dump (docs/operations.md, \"PostgreSQL\")",
    )?;
    backup::backup(config, to)
}

fn restore(config: &Config, from: &Path, force: bool) -> anyhow::Result<()> {
    refuse_on_postgres(
        config,
        "wijklog restore",
        "restore a pg_dump with pg_restore (docs/operations.md, \"PostgreSQL\")",
    )?;
    if !from.is_file() {
        bail!("no backup file at {}", from.display());
    }
    crate::storage::create_private_dir(&config.data_dir)?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(&config.data_dir))?;
    let locked = lock.try_lock().is_ok();
    if !locked && !force {
        bail!(
            "a wijklog server is running on {}; stop it first (or pass --force, then restart it)",
            config.data_dir.display()
        );
    }
    crate::storage::restore_database(from, &config.database_path()).context("restoring")?;
    println!(
        "restored {} into {}",
        from.display(),
        config.database_path().display()
    );
    blobs::restore_blobs(config, from)?;
    Ok(())
}

/// Creates the demo data (accounts, teams, walks). Idempotent.
fn demo(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let logins = crate::seed::demo(store.as_ref(), &config.data_dir)?;
    println!(
        "Demo accounts (also in {}):",
        crate::seed::demo_logins_path(&config.data_dir).display()
    );
    for l in logins {
        let roles: Vec<&str> = l.roles.iter().map(Role::as_str).collect();
        println!(
            "  {:<20} {:<24} roles: {:<16} team: {}",
            l.username,
            l.password,
            roles.join(","),
            l.team.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// Every file and directory the process creates (the database with its WAL
/// and SHM files, photos, thumbnails, backups, secrets) is readable by its
/// owner only: umask 077. The data directory holds personal data.
fn private_files_by_default() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file mode creation mask; it
    // cannot fail and touches no memory.
    unsafe {
        libc::umask(0o077);
    }
}

/// Big short-lived buffers (an Argon2id hash's 19 MiB, a decoded image) are
/// mapped and unmapped on their own instead of being carved out of malloc's
/// heaps. glibc otherwise raises its mmap threshold after the first such
/// free, and under concurrency the freed blocks stay resident as
/// fragmentation: 60 concurrent logins kept ~570 MB although only two
/// hashes ever ran at once; with a fixed threshold the peak was ~60 MB
/// (docs/security.md). Setting the threshold also turns off its dynamic
/// adjustment.
fn large_allocations_return_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called once at
    // start, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}

//! `wijklog retention run [--dry-run]` (over [`crate::retention`]) and the
//! rotation of `wijklog backup --to-dir`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use wijklog_shared::erase::EraseWhat;

use super::{Common, load_config, lock_path};
use crate::blobs::BlobStore;
use crate::config::DAY_MS;
use crate::erasure::Eraser;
use crate::retention::{Rules, due, run};
use crate::storage::Singleton;

/// `wijklog retention ...`.
#[derive(Debug, Subcommand)]
pub enum RetentionAction {
    /// Erase what has passed its retention period (`[retention]` in the
    /// configuration; docs/privacy.md). `serve` does this daily.
    Run {
        /// Common options.
        #[command(flatten)]
        common: Common,
        /// Only list what is due (ids and counts, never values); change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs a `wijklog retention` command.
pub fn run_command(action: RetentionAction) -> anyhow::Result<()> {
    match action {
        RetentionAction::Run { common, dry_run } => {
            let config = load_config(&common)?;
            super::init_cli_logs(&config);
            let rules = Rules::from_config(&config.retention);
            let now = crate::domain::now_ms();
            // On SQLite a running server holds the documents in memory and
            // would not learn of a rewrite; on PostgreSQL every node hears
            // of it (the change notifications) and drops its copy, and the
            // run takes the same lead as the nodes' timers, so it never
            // runs beside one of them.
            if !dry_run && !config.database.is_postgres() {
                refuse_while_serving(&config.data_dir)?;
            }
            let store = super::open_store(&config)?;
            if dry_run {
                let due = due(store.as_ref(), &rules, now).context("reading what is due")?;
                println!(
                    "due at {}: {} contact details, {} items' content, {} audit entries (dry run: nothing changed)",
                    date(now),
                    due.count(EraseWhat::Contact),
                    due.count(EraseWhat::Item),
                    due.audit.map_or_else(|| "no".to_owned(), |n| n.to_string()),
                );
                for d in &due.items {
                    let what = match d.what {
                        EraseWhat::Contact => "contact",
                        EraseWhat::Item => "content",
                    };
                    println!("{what} {}/{} due since {}", d.doc, d.item, date(d.since));
                }
                match &due.points {
                    Some(p) => {
                        println!(
                            "residents' points: {} contact details, {} contents",
                            p.contact.len(),
                            p.content.len()
                        );
                        for id in &p.contact {
                            println!("point-contact {id}");
                        }
                        for id in &p.content {
                            println!("point-content {id}");
                        }
                    }
                    None => println!("residents' points: not kept in this database"),
                }
                if due.items.len() > rules.max_erasures {
                    println!(
                        "a run erases at most {} (retention.max_erasures_per_run); the rest follows in the next runs",
                        rules.max_erasures
                    );
                }
                if due.unreadable > 0 {
                    println!(
                        "{} documents could not be read (see the log)",
                        due.unreadable
                    );
                }
                return Ok(());
            }
            let blobs = BlobStore::for_store(&store, &config.data_dir, config.blobs.clone());
            let Some(_lead) = store
                .try_lead(Singleton::Retention)
                .context("taking the retention lead")?
            else {
                bail!(
                    "a wijklog node on this database is running retention now; try again when it is done"
                );
            };
            let report = run(
                &Eraser::standalone(store.clone()),
                &blobs,
                &rules,
                now,
                "cli",
            )
            .context("running retention")?;
            println!(
                "erased {} contact details and {} items' content ({} photos), emptied {} residents' points' contact details and {} points' content, deleted {} audit entries; {} failed, {} left for the next run",
                report.contact,
                report.content,
                report.photos_removed,
                report.points_contact,
                report.points_content,
                report.audit,
                report.failed,
                report.left
            );
            if report.failed > 0 || report.unreadable > 0 {
                bail!(
                    "{} erasures failed and {} documents could not be read (see the log); run again later",
                    report.failed,
                    report.unreadable
                );
            }
            Ok(())
        }
    }
}

/// A real run rewrites documents a running server may hold in memory; the
/// server runs retention itself (`retention.interval_secs`).
fn refuse_while_serving(data_dir: &Path) -> anyhow::Result<()> {
    let Ok(lock) = std::fs::File::open(lock_path(data_dir)) else {
        return Ok(());
    };
    if lock.try_lock().is_err() {
        bail!(
            "a wijklog server is running on {}: it runs retention itself (retention.interval_secs); \
             stop it first, or use --dry-run to list what is due",
            data_dir.display()
        );
    }
    Ok(())
}

fn date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// The name pattern of backups `wijklog backup --to-dir` writes:
/// `wijklog-YYYYMMDDTHHMMSSZ.db` (UTC).
const STAMP: &str = "%Y%m%dT%H%M%SZ";

/// The file `wijklog backup --to-dir DIR` writes at `now` (ms).
pub fn backup_file(dir: &Path, now: i64) -> anyhow::Result<PathBuf> {
    let t = jiff::Timestamp::from_millisecond(now).context("the clock")?;
    Ok(dir.join(format!("wijklog-{}.db", t.strftime(STAMP))))
}

/// When a backup named by [`backup_file`] was made (ms); `None` for any
/// other name.
fn backup_time(name: &str) -> Option<i64> {
    let stamp = name.strip_prefix("wijklog-")?.strip_suffix(".db")?;
    if stamp.len() != 16 {
        return None;
    }
    let dt = jiff::civil::DateTime::strptime(STAMP, stamp).ok()?;
    let t = dt
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp();
    Some(t.as_millisecond())
}

/// Deletes the backups in `dir` named by [`backup_file`] (and their photo
/// directories) made more than `keep_days` days before `now`; returns how
/// many. Other files are never touched.
pub fn rotate_backups(dir: &Path, keep_days: u32, now: i64) -> anyhow::Result<usize> {
    if keep_days == 0 {
        return Ok(0);
    }
    let cutoff = now - i64::from(keep_days) * DAY_MS;
    let mut removed = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(made) = name.to_str().and_then(backup_time) else {
            continue;
        };
        if made >= cutoff || !entry.file_type()?.is_file() {
            continue;
        }
        let path = entry.path();
        let blobs = crate::blobs::backup::blobs_dir_for(&path);
        if blobs.is_dir() {
            std::fs::remove_dir_all(&blobs)
                .with_context(|| format!("deleting {}", blobs.display()))?;
        }
        std::fs::remove_file(&path).with_context(|| format!("deleting {}", path.display()))?;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names_carry_their_time_and_nothing_else_matches() {
        // 2026-12-07T19:05:01Z
        let t = 1_796_670_301_000;
        let file = backup_file(Path::new("/b"), t).expect("name");
        assert_eq!(file, Path::new("/b/wijklog-20261207T190501Z.db"));
        assert_eq!(backup_time("wijklog-20261207T190501Z.db"), Some(t));
        for other in [
            "wijklog.db",
            "wijklog-20261207T190501Z.db.blobs",
            "wijklog-20261207T190501Z.sqlite",
            "wijklog-2026-12-07.db",
            "notes-20261207T190501Z.db",
            "wijklog-20261307T190501Z.db",
        ] {
            assert_eq!(backup_time(other), None, "{other}");
        }
    }
}

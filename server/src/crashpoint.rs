//! Crash points: named moments on the paths that must survive a crash (the
//! group commit, its ack, compaction, backup), where a test can make the
//! real process die (also an erasure's history rewrite, as a retention run
//! does it).
//!
//! **For tests only.** Nothing happens unless the environment variable
//! `WIJKLOG_TEST_CRASH_AT` is set when the process starts; unset, a crash
//! point costs one atomic load. Its value is one of:
//!
//! - `trace`: every crash point prints `wijklog crash point <name>@<n>` on
//!   stdout when it is reached for the n-th time (n counts from 1, per
//!   point, per process), so a test can list the points of a scripted run;
//! - `<name>@<n>`: the n-th time point `<name>` is reached, the process
//!   prints `wijklog crash point <name>@<n>: kill` (with the point's
//!   detail, if any) and sends itself SIGKILL: no destructor, no flush, no
//!   further line of code runs, exactly as if the machine's operator had
//!   killed it there;
//! - `<name>@<n>:term`: the same moment, but the process sends itself
//!   SIGTERM and carries on (a graceful shutdown that starts while, say, a
//!   commit is inside its transaction).
//!
//! The points, in the order a sync write passes them ([`Point`]): see
//! docs/operations.md, "Crash points", for what a kill at each proves.
//!
//! [`powerloss`]: the test-only SQLite VFS that journals every write so a
//! test can take back the unsynced ones (a power cut); its `sqlite.write`
//! point is reached only when that VFS is armed.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

pub mod powerloss;

/// The environment variable that arms the crash points (tests only).
pub const ENV: &str = "WIJKLOG_TEST_CRASH_AT";

/// A named moment where a test may stop the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// A group commit's transaction holds every row of the batch; SQLite's
    /// COMMIT has not run.
    StoreCommitBefore,
    /// The group commit is durable (the store returned); no write of the
    /// batch has been answered.
    CommitterCommitted,
    /// A connection's session decided an `ack`; it is not written to the
    /// socket yet.
    AckBeforeSend,
    /// An `ack` was written to the socket.
    AckSent,
    /// A compaction's transaction holds the new snapshot and has cleared
    /// the covered changes' bytes; COMMIT has not run.
    CompactionBeforeCommit,
    /// A compaction committed.
    CompactionCommitted,
    /// An erasure's transaction (a retention run's or an administrator's)
    /// holds the rewritten history, snapshot, projection and audit entry;
    /// COMMIT has not run.
    ErasureBeforeCommit,
    /// An erasure committed; the write-ahead log is not checkpointed, the
    /// cached copy not evicted, no photo deleted.
    ErasureCommitted,
    /// One of the many small steps of an erasure, from the moment it holds
    /// the document's lock to the photos' deletion: after the erasure edit,
    /// after the history rewrite, inside the transaction after each
    /// rewritten change row and each table it replaces, after the WAL
    /// checkpoint, after the cache eviction. Counted over the whole run, so
    /// `erasure.step@n` is the n-th moment of a retention run's erasures
    /// (the kill line's detail names the step).
    ErasureStep,
    /// `wijklog backup`: one step of SQLite's online backup copied pages.
    BackupStep,
    /// `wijklog backup`: the database copy is complete and checked; the
    /// photos are not copied yet.
    BackupDatabaseCopied,
    /// `wijklog backup`: everything is copied; the backup file still has
    /// its `.partial` name.
    BackupBeforeRename,
    /// The power-loss VFS ([`powerloss`], armed only by its own variable)
    /// is about to journal and make a write to the database or its log.
    SqliteWrite,
    /// The mail worker: the SMTP server accepted a message (its `250`
    /// arrived); the outbox does not record it as sent yet.
    MailAccepted,
}

impl Point {
    /// Every point, in order.
    pub const ALL: [Point; 14] = [
        Point::StoreCommitBefore,
        Point::CommitterCommitted,
        Point::AckBeforeSend,
        Point::AckSent,
        Point::CompactionBeforeCommit,
        Point::CompactionCommitted,
        Point::ErasureBeforeCommit,
        Point::ErasureCommitted,
        Point::ErasureStep,
        Point::BackupStep,
        Point::BackupDatabaseCopied,
        Point::BackupBeforeRename,
        Point::SqliteWrite,
        Point::MailAccepted,
    ];

    /// The name used in `WIJKLOG_TEST_CRASH_AT` and in the printed lines.
    pub fn name(self) -> &'static str {
        match self {
            Point::StoreCommitBefore => "store.commit.before",
            Point::CommitterCommitted => "committer.committed",
            Point::AckBeforeSend => "sync.ack.before_send",
            Point::AckSent => "sync.ack.sent",
            Point::CompactionBeforeCommit => "compaction.before_commit",
            Point::CompactionCommitted => "compaction.committed",
            Point::ErasureBeforeCommit => "erasure.before_commit",
            Point::ErasureCommitted => "erasure.committed",
            Point::ErasureStep => "erasure.step",
            Point::BackupStep => "backup.step",
            Point::BackupDatabaseCopied => "backup.database_copied",
            Point::BackupBeforeRename => "backup.before_rename",
            Point::SqliteWrite => "sqlite.write",
            Point::MailAccepted => "mail.accepted",
        }
    }

    fn index(self) -> usize {
        Point::ALL
            .iter()
            .position(|p| *p == self)
            .unwrap_or_default()
    }

    /// The point named `name`.
    pub fn parse(name: &str) -> Option<Point> {
        Point::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// What to do when the armed point is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// SIGKILL.
    Kill,
    /// SIGTERM, then carry on.
    Term,
}

/// A parsed `WIJKLOG_TEST_CRASH_AT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Print every point reached.
    Trace,
    /// Act at the n-th time `point` is reached.
    At {
        /// The point.
        point: Point,
        /// Which time (from 1).
        n: u64,
        /// Kill or terminate.
        action: Action,
    },
}

impl Plan {
    /// Parses the variable's value; `None` for anything else (which the
    /// process reports once and otherwise ignores).
    pub fn parse(value: &str) -> Option<Plan> {
        let value = value.trim();
        if value == "trace" {
            return Some(Plan::Trace);
        }
        let (at, action) = match value.split_once(':') {
            Some((at, "term")) => (at, Action::Term),
            Some((at, "kill")) => (at, Action::Kill),
            Some(_) => return None,
            None => (value, Action::Kill),
        };
        let (name, n) = at.split_once('@')?;
        let n: u64 = n.parse().ok().filter(|n| *n >= 1)?;
        Some(Plan::At {
            point: Point::parse(name)?,
            n,
            action,
        })
    }
}

static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
static COUNTS: [AtomicU64; Point::ALL.len()] = [const { AtomicU64::new(0) }; Point::ALL.len()];

fn plan() -> Option<Plan> {
    *PLAN.get_or_init(|| {
        let value = std::env::var(ENV).ok()?;
        let plan = Plan::parse(&value);
        if plan.is_none() {
            eprintln!("wijklog: {ENV}={value:?} is not a crash point; ignored");
        }
        plan
    })
}

/// Point `point` is reached.
pub fn reached(point: Point) {
    reached_with(point, String::new);
}

/// Point `point` is reached; `detail` (only computed when a test armed the
/// points) is printed with the kill line, for the test to check against.
pub fn reached_with(point: Point, detail: impl FnOnce() -> String) {
    let Some(plan) = plan() else {
        return;
    };
    let n = COUNTS[point.index()].fetch_add(1, Ordering::SeqCst) + 1;
    match plan {
        Plan::Trace => say(&format!("wijklog crash point {}@{n}", point.name())),
        Plan::At {
            point: armed,
            n: at,
            action,
        } if armed == point && at == n => {
            let detail = detail();
            let sep = if detail.is_empty() { "" } else { " " };
            match action {
                Action::Kill => {
                    say(&format!(
                        "wijklog crash point {}@{n}: kill{sep}{detail}",
                        point.name()
                    ));
                    die();
                }
                Action::Term => {
                    say(&format!(
                        "wijklog crash point {}@{n}: term{sep}{detail}",
                        point.name()
                    ));
                    // SAFETY: kill(2) on our own pid with a valid signal
                    // number; it touches no memory of ours.
                    unsafe {
                        libc::kill(libc::getpid(), libc::SIGTERM);
                    }
                }
            }
        }
        Plan::At { .. } => {}
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn die() -> ! {
    // SAFETY: kill(2) on our own pid with a valid signal number.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    // SIGKILL cannot be caught; this thread only waits for it to land.
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_names_a_point_a_count_and_an_action() {
        assert_eq!(Plan::parse("trace"), Some(Plan::Trace));
        assert_eq!(
            Plan::parse("store.commit.before@3"),
            Some(Plan::At {
                point: Point::StoreCommitBefore,
                n: 3,
                action: Action::Kill
            })
        );
        assert_eq!(
            Plan::parse("sync.ack.sent@1:term"),
            Some(Plan::At {
                point: Point::AckSent,
                n: 1,
                action: Action::Term
            })
        );
        for bad in [
            "",
            "store.commit.before",
            "store.commit.before@0",
            "store.commit.before@x",
            "nowhere@1",
            "sync.ack.sent@1:stop",
        ] {
            assert_eq!(Plan::parse(bad), None, "{bad:?}");
        }
        for p in Point::ALL {
            assert_eq!(Point::parse(p.name()), Some(p));
        }
    }
}

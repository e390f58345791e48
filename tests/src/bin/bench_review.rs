//! Benchmark of the coordinators' review queries on 100,000
//! projected items: p50/p95 of a filtered list page, a full-text query and
//! the stats query, and the time to export everything as CSV.
//!
//! The data is real: 100 walk documents of 1,000 observations each, built
//! with wijklog-shared's typed edits, stored with `Store::commit` and the
//! sync layer's projection into a SQLite database in a temporary directory
//! (exactly what a sync commit writes). The queries run in-process through
//! the same functions the HTTP handlers call (`wijklog_server::review`),
//! so the numbers are the database and serialisation cost without HTTP.
//!
//! Run: `cargo run --release -p wijklog-tests --bin bench_review`
//! (`BENCH_REVIEW_ITEMS` overrides the item count, `BENCH_REVIEW_RUNS` the
//! number of timed runs per query).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Context;
use wijklog_server::domain::{DocId as ServerDocId, DocKind, UserId as ServerUserId};
use wijklog_server::review::query::{Filters, ListRequest, list_items};
use wijklog_server::review::{ReviewDb, Scope, export, stats};
use wijklog_server::storage::{DocMeta, DocWrite, SqliteStore, Store};
use wijklog_shared::{
    Catalog, DocId, Document, FollowUpStatus, Location, NewItem, NewWalk, Severity, Timestamp,
    UserId,
};

/// xorshift64*: deterministic data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const WORDS: &[&str] = &[
    "jongeren",
    "fietsen",
    "scooter",
    "overlast",
    "hangplek",
    "zwerfafval",
    "vuilniszakken",
    "graffiti",
    "kapot",
    "lantaarnpaal",
    "speeltuin",
    "portiek",
    "geluid",
    "buren",
    "café",
    "parkeren",
    "snelheid",
    "drempel",
    "brandje",
    "container",
    "dealen",
    "auto",
    "winkel",
    "school",
    "bankje",
    "plein",
    "steeg",
    "tunnel",
    "verlichting",
    "bewoners",
    "opgeruimd",
];
const WIJKEN: &[&str] = &[
    "stad_en_lande",
    "oostermeent",
    "bovenmaten",
    "buitenwijken",
    "centrum",
];
const TEAMS: &[&str] = &["noord", "oost", "zuid", "west"];
const CATEGORIES: &[&str] = &[
    "jeugdoverlast",
    "drugs",
    "vervuiling",
    "vernieling",
    "brandjes",
    "verkeer",
    "onbegrepen_gedrag",
    "woonoverlast",
    "intimidatie",
    "discriminatie",
    "openbare_ruimte",
    "positief_signaal",
];
const PARTNERS: &[&str] = &[
    "politie",
    "woningcorporatie",
    "jongerenwerk",
    "gemeente_oov",
];
const STATUSES: &[FollowUpStatus] = &[
    FollowUpStatus::Open,
    FollowUpStatus::InBehandeling,
    FollowUpStatus::Afgerond,
];

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const DAY: i64 = 86_400_000;

fn build(store: &SqliteStore, items: usize) -> anyhow::Result<()> {
    let catalog = Catalog::defaults();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let per_doc = 1000.min(items.max(1));
    let docs = items.div_ceil(per_doc);
    let mut made = 0;
    for d in 0..docs {
        let team = TEAMS[d % TEAMS.len()];
        let user = format!("boa-{team}");
        let by = UserId::parse(&user)?;
        let mut walk = Document::new_walk(
            DocId::new_v4(),
            &catalog,
            &by,
            Timestamp::from_millis(T0 - 400 * DAY),
            NewWalk {
                title: format!("Ronde {d}"),
                wijk: WIJKEN[d % WIJKEN.len()].into(),
                route: "Markt, Kerkstraat".into(),
                team: team.into(),
                planned_at: None,
            },
        )?;
        let n = per_doc.min(items - made);
        for _ in 0..n {
            let words: Vec<&str> = (0..6).map(|_| rng.pick(WORDS)).collect();
            let when = T0 - (rng.below(365) as i64) * DAY - (rng.below(86_400) as i64) * 1000;
            let id = walk.add_observation(
                &catalog,
                &by,
                Timestamp::from_millis(when),
                NewItem {
                    id: None,
                    category: rng.pick(CATEGORIES).into(),
                    severity: Severity::ALL[rng.below(4)],
                    text: words.join(" "),
                    place: Some(format!("{} {}", rng.pick(WORDS), rng.below(100))),
                    location: (rng.below(10) < 7).then(|| Location {
                        lat: 52.30 + rng.below(1000) as f64 / 10_000.0,
                        lon: 5.20 + rng.below(1000) as f64 / 10_000.0,
                        accuracy_m: Some(10.0),
                    }),
                    feedback_needed: rng.below(5) == 0,
                },
            )?;
            if rng.below(10) == 0 {
                walk.set_follow_up(
                    &catalog,
                    &by,
                    Timestamp::from_millis(when + 1000),
                    &id,
                    rng.pick(PARTNERS),
                    STATUSES[rng.below(3)],
                    None,
                )?;
            }
        }
        made += n;
        let server_id = ServerDocId::from_bytes(walk.id().as_bytes());
        let owner = ServerUserId::parse(&user).map_err(|e| anyhow::anyhow!(e))?;
        let am = walk.automerge_mut();
        let meta = DocMeta {
            id: server_id,
            kind: DocKind::Walk,
            owner: owner.clone(),
            team: Some(team.into()),
            created_at: T0,
        };
        let author = owner.as_str().to_owned();
        let rows = wijklog_server::sync::projection::rows(&meta, am.document(), &mut |_| {
            Some(author.clone())
        })
        .context("projection")?;
        let out = store.commit(&[DocWrite {
            projection: Some(rows),
            ..DocWrite::creating(server_id, DocKind::Walk, &owner, Some(team), am.document())
        }])?;
        if let Some(Err(e)) = out.writes.first() {
            anyhow::bail!("commit rejected: {e}");
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn time_runs(
    runs: usize,
    mut f: impl FnMut() -> anyhow::Result<usize>,
) -> anyhow::Result<(Duration, Duration, usize)> {
    let rows = f()?; // warm-up
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok((percentile(&times, 0.5), percentile(&times, 0.95), rows))
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
    q.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn main() -> anyhow::Result<()> {
    let items: usize = std::env::var("BENCH_REVIEW_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = std::env::var("BENCH_REVIEW_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .max(1);
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open_in_dir(dir.path())?;
    let start = Instant::now();
    build(&store, items)?;
    let build_time = start.elapsed();
    let db = ReviewDb::in_dir(dir.path());
    let scope = Scope::all();

    let filtered = ListRequest::parse(&pairs(&[
        ("wijk", "oostermeent,centrum"),
        ("severity", "zorgelijk,urgent"),
        ("feedback_outstanding", "false"),
        ("limit", "50"),
    ]))
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let fts = ListRequest::parse(&pairs(&[("q", "fiets hangpl"), ("limit", "50")]))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let partner = ListRequest::parse(&pairs(&[
        ("partner", "politie"),
        ("status", "open"),
        ("sort", "severity"),
        ("limit", "50"),
    ]))
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let positive: BTreeSet<String> = ["positief_signaal".to_owned()].into();

    let q = |req: &ListRequest| -> anyhow::Result<usize> {
        let page = list_items(&db, &scope, req).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok(page.items.len())
    };
    let list = time_runs(runs, || q(&filtered))?;
    let search = time_runs(runs, || q(&fts))?;
    let by_partner = time_runs(runs, || q(&partner))?;
    let stat = time_runs(runs, || {
        let s = stats::stats(&db, &scope, T0 - 90 * DAY, T0, &positive)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok(usize::try_from(s.problems.current + s.positive.current).unwrap_or(0))
    })?;
    let export_runs = 3;
    let mut bytes = 0;
    let csv = time_runs(export_runs, || {
        let (out, summary) = export::write_csv(&db, &scope, &Filters::default(), false)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        bytes = out.len();
        Ok(summary.count)
    })?;
    // What the server does since exports stream: rows go into a writer as
    // they are produced (here one that only counts), nothing is collected.
    let mut streamed_bytes = 0;
    let csv_streamed = time_runs(export_runs, || {
        let mut sink = CountingSink(0);
        let mut summary = export::ExportSummary::default();
        export::write_csv_to(
            &db,
            &scope,
            &Filters::default(),
            false,
            &mut sink,
            &mut summary,
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        streamed_bytes = sink.0;
        Ok(summary.count)
    })?;

    println!();
    println!(
        "review benchmark: {items} projected items ({} walks), SQLite in a temp dir, built in {:.1} s; {runs} timed runs per query (export: {export_runs})",
        items.div_ceil(1000),
        build_time.as_secs_f64()
    );
    println!();
    println!(
        "| query                                                     | rows   | p50 (ms) | p95 (ms) |"
    );
    println!(
        "|-----------------------------------------------------------|--------|----------|----------|"
    );
    for (name, (p50, p95, rows)) in [
        (
            "list page: wijk x2, severity x2, no feedback outstanding",
            list,
        ),
        (
            "full text: q=\"fiets hangpl\" (prefixes), first page",
            search,
        ),
        (
            "list page: partner=politie, status=open, sort=severity",
            by_partner,
        ),
        ("stats: 90 days + previous 90 days", stat),
    ] {
        println!(
            "| {name:<57} | {rows:>6} | {:>8} | {:>8} |",
            ms(p50),
            ms(p95)
        );
    }
    println!(
        "| {:<57} | {:>6} | {:>8} | {:>8} |",
        format!("CSV export of everything ({:.1} MB)", bytes as f64 / 1e6),
        csv.2,
        ms(csv.0),
        ms(csv.1)
    );
    println!(
        "| {:<57} | {:>6} | {:>8} | {:>8} |",
        format!(
            "CSV export streamed, as served ({:.1} MB)",
            streamed_bytes as f64 / 1e6
        ),
        csv_streamed.2,
        ms(csv_streamed.0),
        ms(csv_streamed.1)
    );
    println!();
    Ok(())
}

/// A writer that only counts the bytes (the export's destination in the benchmark).
struct CountingSink(usize);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

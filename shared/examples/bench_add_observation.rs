//! Benchmark (not a test): 1,000 `add_observation` calls on one walk, natively,
//! plus `save()` and `project()` of the result. Prints a table; the wasm
//! counterpart is `tests/node/bench-wasm.mjs` (same workload).
//!
//! ```sh
//! cargo run --release -p wijklog-shared --example bench_add_observation [calls]
//! ```

use std::time::Instant;

use wijklog_shared::{
    Catalog, DocId, Document, Error, Location, NewItem, NewWalk, Severity, Timestamp, UserId,
};

const T0: i64 = 1_767_265_200_000;

fn main() -> Result<(), Error> {
    let calls: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let catalog = Catalog::defaults();
    let boa = UserId::parse("boa-17")?;
    let new_walk = |id: &str, title: &str| -> Result<Document, Error> {
        Document::new_walk(
            DocId::parse(id)?,
            &catalog,
            &boa,
            Timestamp::from_millis(T0),
            NewWalk {
                title: title.into(),
                wijk: "centrum".into(),
                route: String::new(),
                team: "team-centrum".into(),
                planned_at: None,
            },
        )
    };
    let categories = [
        "jeugdoverlast",
        "drugs",
        "vervuiling",
        "verkeer",
        "positief_signaal",
    ];
    let item = |i: usize| NewItem {
        id: None,
        category: categories[i % categories.len()].into(),
        severity: Severity::ALL[i % Severity::ALL.len()],
        text: format!("Waarneming {i}: groep bij het winkelcentrum"),
        place: Some("winkelcentrum Oostermeent".into()),
        location: Some(Location {
            lat: 53.19 + i as f64 * 1e-5,
            lon: 6.88,
            accuracy_m: Some(8.5),
        }),
        feedback_needed: false,
    };

    // Warm-up on a separate document (allocator, caches).
    let mut warm = new_walk("0c4e7a9b-2d1f-4a3e-8b6c-5d4e3f2a1b0c", "Warm-up")?;
    for i in 0..50 {
        warm.add_observation(
            &catalog,
            &boa,
            Timestamp::from_millis(T0 + i as i64),
            item(i),
        )?;
    }

    let mut walk = new_walk("5e2b8c1d-7a3f-4d6e-9b0c-2a1f3e4d5c6b", "Benchmarkronde")?;
    let started = Instant::now();
    for i in 0..calls {
        walk.add_observation(
            &catalog,
            &boa,
            Timestamp::from_millis(T0 + i as i64 * 1000),
            item(i),
        )?;
    }
    let total = started.elapsed();

    let save_start = Instant::now();
    let saved = walk.save();
    let save = save_start.elapsed();
    let project_start = Instant::now();
    let rows = walk.project()?.len();
    let project = project_start.elapsed();
    assert_eq!(rows, calls, "every observation projects");

    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let table = [
        ("add_observation calls".to_owned(), calls.to_string()),
        ("total (ms)".to_owned(), format!("{:.1}", ms(total))),
        (
            "per call (ms)".to_owned(),
            format!("{:.3}", ms(total) / calls as f64),
        ),
        (
            format!("save() of {calls} observations (ms)"),
            format!("{:.1}", ms(save)),
        ),
        ("saved document (bytes)".to_owned(), saved.len().to_string()),
        (
            format!("project() of {calls} observations (ms)"),
            format!("{:.1}", ms(project)),
        ),
        (
            "profile".to_owned(),
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_owned(),
        ),
    ];
    let w = table.iter().map(|(k, _)| k.len()).max().unwrap_or(6);
    println!("native document model (wijklog-shared)");
    println!("{:w$} | value", "metric");
    println!("{}-|-{}", "-".repeat(w), "-".repeat(12));
    for (k, v) in &table {
        println!("{k:w$} | {v}");
    }
    Ok(())
}

//! Benchmark (not a test): the cost of an erasure in the document model —
//! `Document::erase` plus `erase::rewrite_history` (decode, neutralise,
//! re-encode and apply every change, then compare the whole state) — for
//! one item of (a) a walk of 1,000 observations (1,000 changes) and (b) a
//! walk whose history has 10,000 changes (100 observations, each edited 99
//! times), and the size of the rewritten document against the original.
//! The server adds one database transaction and a WAL checkpoint to this.
//!
//! ```sh
//! cargo run --release -p wijklog-shared --example bench_erase
//! ```

use std::time::Instant;

use wijklog_shared::automerge::ActorId;
use wijklog_shared::erase::{EraseBasis, EraseWhat, rewrite_history, targets_of};
use wijklog_shared::{
    Catalog, DocId, Document, Error, ItemId, Location, NewItem, NewWalk, Severity, Timestamp,
    UserId,
};

const T0: i64 = 1_767_265_200_000;
const RUNS: usize = 5;

fn walk(items: usize, edits_per_item: usize) -> Result<(Document, ItemId), Error> {
    let catalog = Catalog::defaults();
    let boa = UserId::parse("boa-17")?;
    let mut doc = Document::new_walk(
        DocId::parse("0b6f5e3c-8f57-4a8e-9a43-2f1c9c0d6a01")?,
        &catalog,
        &boa,
        Timestamp::from_millis(T0),
        NewWalk {
            title: "Avondronde".into(),
            wijk: "centrum".into(),
            route: String::new(),
            team: "team-centrum".into(),
            planned_at: None,
        },
    )?;
    doc.set_actor(ActorId::from([7u8; 16]));
    let mut first = None;
    let mut t = T0;
    for i in 0..items {
        t += 1000;
        let id = doc.add_observation(
            &catalog,
            &boa,
            Timestamp::from_millis(t),
            NewItem {
                id: None,
                category: "jeugdoverlast".into(),
                severity: Severity::Aandacht,
                text: format!("Groep jongeren bij het winkelcentrum, observatie {i}"),
                place: Some(format!("Marktplein {i}")),
                location: Some(Location {
                    lat: 52.37 + i as f64 * 1e-5,
                    lon: 5.21,
                    accuracy_m: Some(6.0),
                }),
                feedback_needed: false,
            },
        )?;
        for e in 1..edits_per_item {
            t += 1000;
            doc.splice_text(&boa, Timestamp::from_millis(t), &id, 0, 0, &format!("{e} "))?;
        }
        first.get_or_insert(id);
    }
    Ok((doc, first.expect("at least one item")))
}

fn main() -> Result<(), Error> {
    println!(
        "| document | changes | erase + rewrite p50 ms | min ms | max ms | bytes before | bytes after | after/before |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|");
    for (label, items, edits) in [
        ("walk, 1,000 observations", 1000, 1),
        ("walk, 10,000 changes (100 obs x 100)", 100, 100),
    ] {
        let (mut doc, target) = walk(items, edits)?;
        let original = doc.automerge_mut().document().clone();
        let before = original.save().len();
        let changes = original.get_changes(&[]).len();
        let coord = UserId::parse("coord-1")?;
        let mut times = Vec::with_capacity(RUNS);
        let mut after = 0;
        for run in 0..RUNS {
            let mut d = Document::load(doc.id(), &original.save())?;
            d.set_actor(ActorId::from([0xee; 16]));
            let start = Instant::now();
            d.erase(
                &coord,
                Timestamp::from_millis(T0 + 10_000_000 + run as i64),
                &target,
                EraseWhat::Item,
                EraseBasis::Verzoek,
            )?;
            let erased = d.automerge_mut().document().clone();
            let rewritten =
                rewrite_history(&erased, &targets_of(&erased)).expect("rewrite succeeds");
            let bytes = rewritten.doc.save();
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            after = bytes.len();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| {label} | {changes} | {:.0} | {:.0} | {:.0} | {before} | {after} | {:.3} |",
            times[RUNS / 2],
            times[0],
            times[RUNS - 1],
            after as f64 / before as f64
        );
    }
    Ok(())
}

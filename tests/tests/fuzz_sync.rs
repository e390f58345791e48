//! Property-based fuzzing of the sync path: the frame parser, automerge sync
//! messages and changes into the real core (over the real cache, committer
//! step and SQLite store, `wijklog_tests::sim::FrameHarness`). Each case
//! feeds a short sequence of frames: random bytes, random text, and
//! mutations (bit flips, overwritten bytes, truncation, insertion) of a
//! corpus of real frames built here from a walk (a first message, one with
//! every change, one with a change whose parent is left out). Nothing may
//! panic; the session answers only with frames, acks and its stable error
//! codes; what it holds for missing dependencies stays within its bound;
//! the database stays intact and every stored document loads.
//!
//! `make test` runs the default number of cases (`PROPTEST_CASES`, 256);
//! `make fuzz` runs many more. Failing inputs are kept by proptest next to
//! this file (`fuzz_sync.proptest-regressions`) and replayed first.

use automerge::sync::{ChunkList, State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use proptest::prelude::*;
use wijklog_server::domain::DocId;
use wijklog_server::sync::core::{Effect, Event};
use wijklog_server::sync::limits::SyncLimits;
use wijklog_server::sync::protocol::{self, ServerMessage};
use wijklog_testing::mutation::{Mutation, mutate, mutation};
use wijklog_tests::sim::FrameHarness;

/// A frame carrying the changes of `doc` after `since` (all when empty).
fn frame_with(id: DocId, doc: &mut AutoCommit, since: &[automerge::ChangeHash]) -> Vec<u8> {
    let changes: Vec<Vec<u8>> = doc
        .get_changes(since)
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    let mut msg = doc
        .sync()
        .generate_sync_message(&mut State::new())
        .expect("a first message");
    msg.changes = ChunkList::from(changes);
    protocol::encode_frame(id, &msg.encode())
}

/// Real frames of one walk.
fn corpus() -> Vec<Vec<u8>> {
    let id = DocId::from_bytes([7; 16]);
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "kind", "walk").expect("put");
    doc.put(ROOT, "team", "noord").expect("put");
    doc.put_object(ROOT, "observations", automerge::ObjType::Map)
        .expect("map");
    doc.commit();
    let first = doc
        .sync()
        .generate_sync_message(&mut State::new())
        .expect("message");
    let all = frame_with(id, &mut doc, &[]);
    let base = doc.get_heads();
    doc.put(ROOT, "title", "Avondronde").expect("put");
    doc.commit();
    let parent = doc.get_heads();
    let text = doc
        .put_object(ROOT, "summary", automerge::ObjType::Text)
        .expect("text");
    doc.splice_text(&text, 0, 0, "bank bij de speeltuin")
        .expect("splice");
    doc.commit();
    let child_only = frame_with(id, &mut doc, &parent);
    let both = frame_with(id, &mut doc, &base);
    vec![
        protocol::encode_frame(id, &first.encode()),
        all,
        child_only,
        both,
    ]
}

#[derive(Debug, Clone)]
enum Input {
    Corpus {
        pick: prop::sample::Index,
        mutations: Vec<Mutation>,
    },
    Bytes(Vec<u8>),
    Text(String),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        6 => (any::<prop::sample::Index>(), prop::collection::vec(mutation(), 0..5))
            .prop_map(|(pick, mutations)| Input::Corpus { pick, mutations }),
        2 => prop::collection::vec(any::<u8>(), 0..512).prop_map(Input::Bytes),
        1 => prop_oneof![
            ".{0,64}".prop_map(String::from),
            Just(r#"{"type":"auth","token":"x"}"#.to_owned()),
        ]
        .prop_map(Input::Text),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_core_takes_any_sequence_of_frames(inputs in prop::collection::vec(input(), 1..6)) {
        let corpus = corpus();
        let mut h = FrameHarness::new();
        for (i, input) in inputs.into_iter().enumerate() {
            let event = match input {
                Input::Corpus { pick, mutations } => {
                    Event::Binary(mutate(corpus[pick.index(corpus.len())].clone(), &mutations))
                }
                Input::Bytes(b) => Event::Binary(b),
                Input::Text(t) => Event::Text(t),
            };
            let effects = h.feed(event, 1_000 * i as u64);
            prop_assert!(effects.len() <= 64, "{} effects for one frame", effects.len());
            for effect in &effects {
                match effect {
                    Effect::Binary(frame) => prop_assert!(protocol::split_frame(frame).is_ok()),
                    Effect::Text(ServerMessage::Ack { .. } | ServerMessage::Doc { .. }) => {}
                    Effect::Text(ServerMessage::Error { message, .. }) => {
                        prop_assert!(!message.is_empty());
                    }
                    other => prop_assert!(false, "unexpected effect {other:?}"),
                }
            }
            prop_assert!(h.waiting_changes() <= SyncLimits::default().max_waiting_changes);
        }
        prop_assert!(h.integrity_ok());
        if let Err(e) = h.stored_documents_load() {
            prop_assert!(false, "{e}");
        }
    }
}

//! Property: replicas that apply random typed edits and exchange automerge sync
//! messages over a hostile network (random order, partitions, duplicated and
//! dropped messages, restarts from saved bytes) converge once the network heals:
//! identical heads, identical projections, and every observation created
//! anywhere present everywhere.
//!
//! Default 256 cases; `PROPTEST_CASES=1000 cargo test -p wijklog-shared --test convergence`
//! runs more.

mod common;

use std::collections::BTreeSet;

use common::*;
use proptest::prelude::*;
use wijklog_shared::automerge::{ActorId, sync};
use wijklog_shared::{
    Catalog, Document, FeedbackChannel, FollowUpStatus, ItemId, Location, NewItem, NewParticipant,
    Severity, Timestamp, WalkText,
};

const CATEGORIES: &[&str] = &["jeugdoverlast", "drugs", "verkeer", "positief_signaal"];
const PARTNERS: &[&str] = &["politie", "woningcorporatie", "jongerenwerk"];
const WORDS: &[&str] = &["bank", "café", "groep", "", "ß", "straatlantaarn kapot"];

#[derive(Debug, Clone)]
enum Op {
    Add {
        category: usize,
        severity: usize,
        text: usize,
        with_location: bool,
    },
    Splice {
        item: usize,
        pos: usize,
        del: usize,
        text: usize,
    },
    Severity {
        item: usize,
        severity: usize,
    },
    Category {
        item: usize,
        category: usize,
    },
    Place {
        item: usize,
        text: usize,
    },
    Location {
        item: usize,
        lat: i32,
    },
    Delete {
        item: usize,
    },
    Undelete {
        item: usize,
    },
    FollowUp {
        item: usize,
        partner: usize,
        status: usize,
        text: usize,
    },
    Feedback {
        item: usize,
    },
    Photo {
        item: usize,
        byte: u8,
    },
    Summary {
        pos: usize,
        text: usize,
    },
    Participant,
}

#[derive(Debug, Clone)]
enum Action {
    Edit {
        replica: usize,
        op: Op,
    },
    /// `from` generates a message for `to`; it goes into the network.
    Send {
        from: usize,
        to: usize,
    },
    /// Deliver the in-flight message at this index (mod len); maybe also keep a duplicate.
    Deliver {
        index: usize,
        duplicate: bool,
    },
    /// Lose the in-flight message at this index (mod len).
    Drop {
        index: usize,
    },
    /// The replica saves, "crashes" and loads its bytes again (same actor),
    /// and starts fresh sync states (a new connection).
    Restart {
        replica: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0usize..8;
    prop_oneof![
        3 => (0..CATEGORIES.len(), 0usize..4, 0..WORDS.len(), any::<bool>())
            .prop_map(|(category, severity, text, with_location)| Op::Add { category, severity, text, with_location }),
        3 => (i.clone(), 0usize..30, 0usize..4, 0..WORDS.len()).prop_map(|(item, pos, del, text)| Op::Splice { item, pos, del, text }),
        1 => (i.clone(), 0usize..4).prop_map(|(item, severity)| Op::Severity { item, severity }),
        1 => (i.clone(), 0..CATEGORIES.len()).prop_map(|(item, category)| Op::Category { item, category }),
        1 => (i.clone(), 0..WORDS.len()).prop_map(|(item, text)| Op::Place { item, text }),
        1 => (i.clone(), -90i32..90).prop_map(|(item, lat)| Op::Location { item, lat }),
        1 => i.clone().prop_map(|item| Op::Delete { item }),
        1 => i.clone().prop_map(|item| Op::Undelete { item }),
        2 => (i.clone(), 0..PARTNERS.len(), 0usize..3, 0..WORDS.len())
            .prop_map(|(item, partner, status, text)| Op::FollowUp { item, partner, status, text }),
        1 => i.clone().prop_map(|item| Op::Feedback { item }),
        1 => (i, any::<u8>()).prop_map(|(item, byte)| Op::Photo { item, byte }),
        1 => (0usize..30, 0..WORDS.len()).prop_map(|(pos, text)| Op::Summary { pos, text }),
        1 => Just(Op::Participant),
    ]
}

fn action(n: usize) -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0..n, op()).prop_map(|(replica, op)| Action::Edit { replica, op }),
        4 => (0..n, 0..n).prop_filter("no self-sync", |(a, b)| a != b).prop_map(|(from, to)| Action::Send { from, to }),
        4 => (any::<usize>(), prop::bool::weighted(0.2)).prop_map(|(index, duplicate)| Action::Deliver { index, duplicate }),
        1 => any::<usize>().prop_map(|index| Action::Drop { index }),
        1 => (0..n).prop_map(|replica| Action::Restart { replica }),
    ]
}

/// Replica count, a partition (a side per replica) for the first phase, and the two phases.
fn scenario() -> impl Strategy<Value = (usize, Vec<bool>, Vec<Action>, Vec<Action>)> {
    (3usize..=5).prop_flat_map(|n| {
        (
            Just(n),
            prop::collection::vec(any::<bool>(), n),
            prop::collection::vec(action(n), 0..40),
            prop::collection::vec(action(n), 0..40),
        )
    })
}

struct Net {
    docs: Vec<Document>,
    /// states[i][j]: replica i's sync state for peer j.
    states: Vec<Vec<sync::State>>,
    in_flight: Vec<(usize, usize, Vec<u8>)>,
    created: BTreeSet<String>,
    seq: u32,
    clock: i64,
}

impl Net {
    fn new(n: usize) -> Net {
        let mut origin = walk();
        let bytes = origin.save();
        let docs = (0..n)
            .map(|i| {
                let mut d = Document::load(origin.id(), &bytes).expect("loads");
                d.set_actor(ActorId::from(vec![i as u8 + 1; 16]));
                d
            })
            .collect();
        Net {
            docs,
            states: (0..n)
                .map(|_| (0..n).map(|_| sync::State::new()).collect())
                .collect(),
            in_flight: Vec::new(),
            created: BTreeSet::new(),
            seq: 0,
            clock: T0,
        }
    }

    fn item(&self, replica: usize, pick: usize) -> Option<ItemId> {
        let ids: Vec<String> = self.docs[replica]
            .walk()
            .expect("walk")
            .observations
            .into_keys()
            .collect();
        if ids.is_empty() {
            return None;
        }
        Some(ItemId::parse(&ids[pick % ids.len()]).expect("typed edits write uuid keys"))
    }

    fn edit(&mut self, r: usize, op: &Op) -> Result<(), TestCaseError> {
        self.clock += 1000;
        let at = Timestamp::from_millis(self.clock);
        let by = user(&format!("boa-{r}"));
        let c = Catalog::defaults();
        let word = |i: usize| WORDS[i];
        let result = match op {
            Op::Add {
                category,
                severity,
                text,
                with_location,
            } => {
                self.seq += 1;
                let mut b = [0u8; 16];
                b[0] = r as u8;
                b[12..].copy_from_slice(&self.seq.to_be_bytes());
                let id = ItemId::from_bytes(b);
                let init = NewItem {
                    id: Some(id),
                    category: CATEGORIES[*category].into(),
                    severity: Severity::ALL[*severity],
                    text: word(*text).into(),
                    place: None,
                    location: with_location.then_some(Location {
                        lat: 52.0,
                        lon: 5.0,
                        accuracy_m: Some(3.0),
                    }),
                    feedback_needed: *severity > 1,
                };
                let res = self.docs[r].add_observation(&c, &by, at, init);
                if res.is_ok() {
                    self.created.insert(id.to_string());
                }
                res.map(|_| ())
            }
            Op::Participant => self.docs[r]
                .add_participant(
                    &by,
                    at,
                    NewParticipant {
                        id: None,
                        name: "Deelnemer".into(),
                        organisation: String::new(),
                    },
                )
                .map(|_| ()),
            Op::Summary { pos, text } => {
                let len = self.docs[r]
                    .walk()
                    .expect("walk")
                    .summary
                    .unwrap_or_default()
                    .chars()
                    .count();
                self.docs[r].splice_walk_text(
                    &by,
                    at,
                    WalkText::Summary,
                    pos % (len + 1),
                    0,
                    word(*text),
                )
            }
            other => {
                let pick = match other {
                    Op::Splice { item, .. }
                    | Op::Severity { item, .. }
                    | Op::Category { item, .. }
                    | Op::Place { item, .. }
                    | Op::Location { item, .. }
                    | Op::Delete { item }
                    | Op::Undelete { item }
                    | Op::FollowUp { item, .. }
                    | Op::Feedback { item }
                    | Op::Photo { item, .. } => *item,
                    _ => unreachable!("handled above"),
                };
                let Some(id) = self.item(r, pick) else {
                    return Ok(());
                };
                let d = &mut self.docs[r];
                match other {
                    Op::Splice { pos, del, text, .. } => {
                        let len = d.walk().expect("walk").observations[&id.to_string()]
                            .text
                            .as_deref()
                            .map_or(0, |t| t.chars().count());
                        let pos = pos % (len + 1);
                        d.splice_text(&by, at, &id, pos, (*del).min(len - pos), word(*text))
                    }
                    Op::Severity { severity, .. } => {
                        d.set_severity(&by, at, &id, Severity::ALL[*severity])
                    }
                    Op::Category { category, .. } => {
                        d.set_category(&c, &by, at, &id, CATEGORIES[*category])
                    }
                    Op::Place { text, .. } => d.set_place(&by, at, &id, Some(word(*text))),
                    Op::Location { lat, .. } => d.set_location(
                        &by,
                        at,
                        &id,
                        Some(Location {
                            lat: f64::from(*lat),
                            lon: 4.5,
                            accuracy_m: None,
                        }),
                    ),
                    Op::Delete { .. } => d.delete_item(&by, at, &id),
                    Op::Undelete { .. } => d.undelete_item(&by, at, &id),
                    Op::FollowUp {
                        partner,
                        status,
                        text,
                        ..
                    } => d.set_follow_up(
                        &c,
                        &by,
                        at,
                        &id,
                        PARTNERS[*partner],
                        FollowUpStatus::ALL[*status],
                        Some(word(*text)),
                    ),
                    Op::Feedback { .. } => {
                        d.record_feedback_given(&by, at, &id, FeedbackChannel::Telefoon, at)
                    }
                    Op::Photo { byte, .. } => d.add_photo(
                        &by,
                        at,
                        &id,
                        &format!("sha256:{}", hex::encode([*byte; 32])),
                    ),
                    _ => unreachable!("handled above"),
                }
            }
        };
        match result {
            Ok(()) => Ok(()),
            // Refusals that depend on the replica's current state are expected.
            Err(e) if matches!(e.code(), "item_deleted" | "not_deleted") => Ok(()),
            Err(e) => Err(TestCaseError::fail(format!(
                "edit {op:?} on replica {r} failed: {} ({e})",
                e.code()
            ))),
        }
    }

    fn send(&mut self, from: usize, to: usize) {
        if let Some(msg) = self.docs[from].generate_sync_message(&mut self.states[from][to]) {
            self.in_flight.push((from, to, msg));
        }
    }

    fn deliver(&mut self, from: usize, to: usize, msg: &[u8]) -> Result<(), TestCaseError> {
        self.docs[to]
            .receive_sync_message(&mut self.states[to][from], msg)
            .map_err(|e| TestCaseError::fail(format!("receive on {to} from {from}: {}", e.code())))
    }

    fn restart(&mut self, r: usize) {
        let actor = self.docs[r].automerge().get_actor().clone();
        let bytes = self.docs[r].save();
        let mut d = Document::load(self.docs[r].id(), &bytes).expect("own bytes load");
        d.set_actor(actor);
        self.docs[r] = d;
        let n = self.docs.len();
        for j in 0..n {
            self.states[r][j] = sync::State::new();
            self.states[j][r] = sync::State::new();
        }
        // Messages to or from the old incarnation are lost with the connection.
        self.in_flight.retain(|(f, t, _)| *f != r && *t != r);
    }

    fn run(&mut self, actions: &[Action], side: Option<&[bool]>) -> Result<(), TestCaseError> {
        for a in actions {
            match a {
                Action::Edit { replica, op } => self.edit(*replica, op)?,
                Action::Send { from, to } => {
                    if side.is_none_or(|s| s[*from] == s[*to]) {
                        self.send(*from, *to);
                    }
                }
                Action::Deliver { index, duplicate } => {
                    if !self.in_flight.is_empty() {
                        let i = index % self.in_flight.len();
                        let (from, to, msg) = if *duplicate {
                            self.in_flight[i].clone()
                        } else {
                            self.in_flight.remove(i)
                        };
                        self.deliver(from, to, &msg)?;
                    }
                }
                Action::Drop { index } => {
                    if !self.in_flight.is_empty() {
                        let i = index % self.in_flight.len();
                        self.in_flight.remove(i);
                    }
                }
                Action::Restart { replica } => self.restart(*replica),
            }
        }
        Ok(())
    }

    /// Reconnect everyone (fresh sync states, old messages gone), then sync
    /// every pair with immediate delivery until nobody has anything to say.
    fn heal(&mut self) -> Result<(), TestCaseError> {
        let n = self.docs.len();
        self.in_flight.clear();
        self.states = (0..n)
            .map(|_| (0..n).map(|_| sync::State::new()).collect())
            .collect();
        for round in 0.. {
            prop_assert!(round < 100, "sync did not become quiescent");
            let mut quiet = true;
            for from in 0..n {
                for to in 0..n {
                    if from == to {
                        continue;
                    }
                    if let Some(msg) =
                        self.docs[from].generate_sync_message(&mut self.states[from][to])
                    {
                        quiet = false;
                        self.deliver(from, to, &msg)?;
                    }
                }
            }
            if quiet {
                break;
            }
        }
        Ok(())
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_after_a_hostile_network_heals((n, side, partitioned, open) in scenario()) {
        let mut net = Net::new(n);
        net.run(&partitioned, Some(&side))?;
        net.run(&open, None)?;
        net.heal()?;

        let heads0 = net.docs[0].heads();
        let rows0 = net.docs[0].project().expect("projects");
        let view0 = net.docs[0].walk().expect("walk");
        for r in 1..n {
            prop_assert_eq!(&net.docs[r].heads(), &heads0, "heads of replica {}", r);
            prop_assert_eq!(&net.docs[r].project().expect("projects"), &rows0, "rows of replica {}", r);
            prop_assert_eq!(&net.docs[r].walk().expect("walk"), &view0, "view of replica {}", r);
        }
        let ids: BTreeSet<String> = rows0.iter().map(|row| row.item_id.clone()).collect();
        prop_assert_eq!(&ids, &net.created, "every observation created anywhere is present");
        for row in &rows0 {
            prop_assert!(row.invalid.is_empty(), "typed edits only write valid fields: {:?}", row.invalid);
        }
        prop_assert!(view0.invalid.is_empty(), "{:?}", view0.invalid);
    }
}

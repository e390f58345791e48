//! Erasure that reaches the history.
//!
//! An automerge document keeps every value ever written. To erase a
//! resident's contact details or a whole observation or note, Wijklog
//! rewrites the history (see `docs/decisions/0018-erasure-rewrites-history.md`):
//!
//! 1. [`Document::erase`](crate::Document::erase) removes the values from the
//!    current state and records the erasure in the item (`erased.contact` or
//!    `erased.item`: when, by whom, on what basis) as one ordinary change;
//! 2. [`rewrite_history`] rebuilds every change of the document with the
//!    same actor, sequence number, operation ids, time and message, but with
//!    each value the erasure covers replaced by a neutral value (`""`, `0`,
//!    `false`; a character of text by `_`). Change hashes change (they hash
//!    the content), nothing else does: object ids, attribution and the item
//!    history stay. The current state of the rewritten document equals the
//!    current state before the rewrite (checked: [`RewriteError::StateChanged`]).
//! 3. [`rebase_changes`] carries a device's unsent changes, made on the old
//!    history, over to the rewritten one: their dependencies are mapped by
//!    (actor, sequence number), and values they write into erased fields are
//!    neutralised the same way (the edit is dropped, the change kept).
//!
//! Which fields an erasure covers is [`is_erased`], the one place of that rule.

use std::collections::{HashMap, HashSet};

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ActorId, Automerge, Change, ChangeHash, ObjType, ROOT, ReadDoc, ScalarValue};

use crate::ids::ItemId;

/// What an erasure removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EraseWhat {
    /// A note's resident contact details (name, phone, e-mail).
    Contact,
    /// An observation's or note's content: text, place, location, photos,
    /// contact details, follow-up and call-back notes. What stays is what
    /// says that the item existed and how it was handled: created at/by,
    /// category, severity, tombstone, feedback, follow-up status, call-back
    /// dates and outcomes, the consent flags and the erasure itself.
    Item,
}

impl EraseWhat {
    /// `contact` or `item` (the API and document spelling).
    pub const fn as_str(self) -> &'static str {
        match self {
            EraseWhat::Contact => "contact",
            EraseWhat::Item => "item",
        }
    }

    /// Parses `contact` or `item`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "contact" => Some(EraseWhat::Contact),
            "item" => Some(EraseWhat::Item),
            _ => None,
        }
    }
}

/// Why an erasure was done (written into the document, shown to users).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EraseBasis {
    /// On the resident's request.
    Verzoek,
    /// Another reason, given in words by the coordinator (audited, not
    /// written into the document).
    Anders,
    /// The retention period passed.
    Bewaartermijn,
}

impl EraseBasis {
    /// `verzoek`, `anders` or `bewaartermijn` (the API and document spelling).
    pub const fn as_str(self) -> &'static str {
        match self {
            EraseBasis::Verzoek => "verzoek",
            EraseBasis::Anders => "anders",
            EraseBasis::Bewaartermijn => "bewaartermijn",
        }
    }

    /// Parses `verzoek`, `anders` or `bewaartermijn`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "verzoek" => Some(EraseBasis::Verzoek),
            "anders" => Some(EraseBasis::Anders),
            "bewaartermijn" => Some(EraseBasis::Bewaartermijn),
            _ => None,
        }
    }
}

/// One item and what of it is erased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EraseTarget {
    /// The item id as it is keyed in `observations` / `notes`.
    pub item: String,
    /// What of it.
    pub what: EraseWhat,
}

impl EraseTarget {
    /// A target for `item`.
    pub fn new(item: &ItemId, what: EraseWhat) -> Self {
        Self {
            item: item.to_string(),
            what,
        }
    }
}

/// Fields of the `resident` map that are not contact details.
const CONSENT_FIELDS: [&str; 3] = ["consent", "consent_at", "consent_withdrawn_at"];

/// Whether the value at `rest` (the path below an item: map keys, `None` for
/// a list or text position) is covered by erasing `what`. Only values are
/// erased; objects themselves (their creation) are structure and stay.
pub fn is_erased(what: EraseWhat, rest: &[Option<&str>]) -> bool {
    match what {
        EraseWhat::Contact => match rest {
            [Some("resident"), Some(field), ..] => !CONSENT_FIELDS.contains(field),
            [Some("resident"), None, ..] => true,
            _ => false,
        },
        EraseWhat::Item => !item_keeps(rest),
    }
}

/// The values an item erasure keeps (see [`EraseWhat::Item`]).
fn item_keeps(rest: &[Option<&str>]) -> bool {
    match rest {
        [Some("created_at" | "created_by" | "category" | "severity")] => true,
        [Some("deleted" | "feedback"), Some(_)] => true,
        [Some("erased"), ..] => true,
        [
            Some("follow_up"),
            Some(_),
            Some("status" | "updated_at" | "updated_by"),
        ] => true,
        [
            Some("callback"),
            Some(
                "requested" | "requested_at" | "requested_by" | "due_at" | "assignee" | "done_at"
                | "by" | "outcome",
            ),
        ] => true,
        [
            Some("callback"),
            Some("attempts"),
            Some(_),
            Some("at" | "by" | "outcome"),
        ] => true,
        [Some("resident"), Some(field)] => CONSENT_FIELDS.contains(field),
        _ => false,
    }
}

/// Every erasure recorded in a document (`erased.contact` / `erased.item`
/// of its observations or notes).
pub fn targets_of(doc: &impl ReadDoc) -> Vec<EraseTarget> {
    let mut out = Vec::new();
    for coll in ["observations", "notes"] {
        let Ok(Some((automerge::Value::Object(ObjType::Map), items))) = doc.get(ROOT, coll) else {
            continue;
        };
        for item in doc.keys(&items) {
            let Ok(Some((automerge::Value::Object(ObjType::Map), obj))) = doc.get(&items, &item)
            else {
                continue;
            };
            let Ok(Some((automerge::Value::Object(ObjType::Map), erased))) =
                doc.get(&obj, "erased")
            else {
                continue;
            };
            for what in [EraseWhat::Contact, EraseWhat::Item] {
                if let Ok(Some(_)) = doc.get(&erased, what.as_str()) {
                    out.push(EraseTarget {
                        item: item.clone(),
                        what,
                    });
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Why a rewrite failed (nothing was changed).
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// A change came before one of its dependencies, or a dependency of an
    /// unsent change is in neither history.
    #[error("change {change} depends on {dependency}, which is unknown")]
    MissingDependency {
        /// The change.
        change: ChangeHash,
        /// Its unknown dependency.
        dependency: ChangeHash,
    },
    /// automerge refused the rewritten changes.
    #[error(transparent)]
    Apply(#[from] automerge::AutomergeError),
    /// The rewritten document's current state differs from the original's:
    /// a value the erasure covers was still visible (the erasure edit must
    /// come first).
    #[error("the rewritten document's state differs from the original")]
    StateChanged,
}

/// One path segment: a map key, or a position in a list or text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Seg {
    Key(String),
    Pos,
}

/// Where each object of a history lives (path from the root), built while
/// the changes are read in order.
#[derive(Debug, Default)]
struct Paths {
    objects: HashMap<OpId, Vec<Seg>>,
}

impl Paths {
    fn path_of(&self, obj: &ObjectId) -> Option<&[Seg]> {
        match obj {
            ObjectId::Root => Some(&[]),
            ObjectId::Id(id) => self.objects.get(id).map(Vec::as_slice),
        }
    }

    fn learn(&mut self, change: &automerge::ExpandedChange) {
        for (i, op) in change.operations.iter().enumerate() {
            if let OpType::Make(_) = op.action {
                let Some(parent) = self.path_of(&op.obj) else {
                    continue;
                };
                let mut path = parent.to_vec();
                path.push(seg(&op.key));
                let id = OpId(change.start_op.get() + i as u64, change.actor_id.clone());
                self.objects.insert(id, path);
            }
        }
    }
}

fn seg(key: &Key) -> Seg {
    match key {
        Key::Map(k) => Seg::Key(k.to_string()),
        Key::Seq(_) => Seg::Pos,
    }
}

/// The erasure targets by item id.
type Targets = HashMap<String, Vec<EraseWhat>>;

fn index(targets: &[EraseTarget]) -> Targets {
    let mut by_item: Targets = HashMap::new();
    for t in targets {
        by_item.entry(t.item.clone()).or_default().push(t.what);
    }
    by_item
}

/// Whether an operation's value at `path` (object path + key) is erased.
fn covered(targets: &Targets, path: &[Seg]) -> bool {
    let [Seg::Key(coll), Seg::Key(item), rest @ ..] = path else {
        return false;
    };
    if coll != "observations" && coll != "notes" {
        return false;
    }
    let Some(whats) = targets.get(item) else {
        return false;
    };
    if rest.is_empty() {
        return false;
    }
    let rest: Vec<Option<&str>> = rest
        .iter()
        .map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Pos => None,
        })
        .collect();
    whats.iter().any(|w| is_erased(*w, &rest))
}

/// The neutral value that replaces an erased one (same type, no content).
fn neutral(value: &ScalarValue, in_sequence: bool) -> ScalarValue {
    match value {
        ScalarValue::Str(_) if in_sequence => ScalarValue::Str("_".into()),
        ScalarValue::Str(_) => ScalarValue::Str("".into()),
        ScalarValue::Bytes(_) => ScalarValue::Bytes(Vec::new()),
        ScalarValue::Int(_) => ScalarValue::Int(0),
        ScalarValue::Uint(_) => ScalarValue::Uint(0),
        ScalarValue::F64(_) => ScalarValue::F64(0.0),
        ScalarValue::Counter(_) => ScalarValue::counter(0),
        ScalarValue::Timestamp(_) => ScalarValue::Timestamp(0),
        ScalarValue::Boolean(_) => ScalarValue::Boolean(false),
        ScalarValue::Unknown { type_code, .. } => ScalarValue::Unknown {
            type_code: *type_code,
            bytes: Vec::new(),
        },
        ScalarValue::Null => ScalarValue::Null,
    }
}

/// Neutralises the erased values of one change; returns how many.
fn redact(change: &mut automerge::ExpandedChange, paths: &Paths, targets: &Targets) -> usize {
    let mut replaced = 0;
    for op in &mut change.operations {
        let in_sequence = matches!(op.key, Key::Seq(_));
        let value = match &mut op.action {
            OpType::Put(v) => v,
            OpType::MarkBegin(m) => &mut m.value,
            OpType::Increment(n) => {
                let Some(obj) = paths.path_of(&op.obj) else {
                    continue;
                };
                let mut path = obj.to_vec();
                path.push(seg(&op.key));
                if covered(targets, &path) && *n != 0 {
                    *n = 0;
                    replaced += 1;
                }
                continue;
            }
            OpType::Make(_) | OpType::Delete | OpType::MarkEnd(_) => continue,
        };
        let Some(obj) = paths.path_of(&op.obj) else {
            continue;
        };
        let mut path = obj.to_vec();
        path.push(seg(&op.key));
        if covered(targets, &path) {
            let n = neutral(value, in_sequence);
            if *value != n {
                *value = n;
                replaced += 1;
            }
        }
    }
    replaced
}

/// A rewritten history.
#[derive(Debug)]
pub struct Rewritten {
    /// The document with the rewritten history.
    pub doc: Automerge,
    /// Old change hash -> new change hash (equal when nothing in or before
    /// the change was erased).
    pub hashes: HashMap<ChangeHash, ChangeHash>,
    /// How many values were neutralised.
    pub replaced: usize,
}

/// Rebuilds `doc`'s history with every value `targets` cover neutralised
/// (see the module documentation). The caller must have applied the
/// erasure edit first, so that no erased value is visible any more; the
/// rewrite checks that the state is unchanged.
pub fn rewrite_history(
    doc: &Automerge,
    targets: &[EraseTarget],
) -> Result<Rewritten, RewriteError> {
    let targets = index(targets);
    let mut paths = Paths::default();
    let mut hashes: HashMap<ChangeHash, ChangeHash> = HashMap::new();
    let mut out = Vec::new();
    let mut replaced = 0;
    for change in doc.get_changes(&[]) {
        let old = change.hash();
        let mut expanded = change.decode();
        paths.learn(&expanded);
        let n = redact(&mut expanded, &paths, &targets);
        let deps_same = expanded.deps.iter().all(|d| hashes.get(d) == Some(d));
        if n == 0 && deps_same {
            hashes.insert(old, old);
            out.push(change);
            continue;
        }
        replaced += n;
        expanded.hash = None;
        expanded.deps = map_deps(old, &expanded.deps, &hashes)?;
        let new = Change::from(expanded);
        hashes.insert(old, new.hash());
        out.push(new);
    }
    let mut rewritten = Automerge::new_with_encoding(doc.text_encoding());
    rewritten.apply_changes(out)?;
    if rewritten.hydrate(None) != doc.hydrate(None) {
        return Err(RewriteError::StateChanged);
    }
    Ok(Rewritten {
        doc: rewritten,
        hashes,
        replaced,
    })
}

fn map_deps(
    change: ChangeHash,
    deps: &[ChangeHash],
    hashes: &HashMap<ChangeHash, ChangeHash>,
) -> Result<Vec<ChangeHash>, RewriteError> {
    let mut mapped = deps
        .iter()
        .map(|d| {
            hashes
                .get(d)
                .copied()
                .ok_or(RewriteError::MissingDependency {
                    change,
                    dependency: *d,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    mapped.sort();
    Ok(mapped)
}

/// Unsent changes carried over to a rewritten history.
#[derive(Debug)]
pub struct Rebased {
    /// The changes to apply to the new document (and send), in order.
    pub changes: Vec<Change>,
    /// Changes the new history already has (committed before the rewrite,
    /// their acknowledgement lost): nothing to do for them.
    pub already_there: usize,
    /// Ids of the items whose erased fields an unsent change wrote to: those
    /// edits were dropped (their values neutralised). Tell the user.
    pub dropped_on: Vec<String>,
}

/// Carries `unsent` (changes of `old`, in causal order, that the server has
/// not acknowledged) over to `new`, the rewritten history of the same
/// document: each change keeps its actor, sequence number and operations;
/// a dependency on an old change becomes one on the change with the same
/// actor and sequence number in `new`; values in fields erased in `new`
/// ([`targets_of`]) are neutralised. Apply the result to `new` with
/// `apply_changes`, then run the erasure edit again (it writes nothing
/// when nothing erased is visible).
pub fn rebase_changes(
    old: &Automerge,
    unsent: &[Change],
    new: &Automerge,
) -> Result<Rebased, RewriteError> {
    let targets = index(&targets_of(new));
    let mut by_seq: HashMap<(ActorId, u64), ChangeHash> = HashMap::new();
    let mut paths = Paths::default();
    for change in new.get_changes(&[]) {
        by_seq.insert((change.actor_id().clone(), change.seq()), change.hash());
        paths.learn(&change.decode());
    }
    let mut mapped: HashMap<ChangeHash, ChangeHash> = HashMap::new();
    let mut changes = Vec::new();
    let mut already_there = 0;
    let mut dropped_on: HashSet<String> = HashSet::new();
    for change in unsent {
        let key = (change.actor_id().clone(), change.seq());
        if let Some(h) = by_seq.get(&key) {
            mapped.insert(change.hash(), *h);
            already_there += 1;
            continue;
        }
        let mut expanded = change.decode();
        let mut deps = Vec::with_capacity(expanded.deps.len());
        for d in &expanded.deps {
            let new_dep = if let Some(h) = mapped.get(d) {
                *h
            } else if new.get_change_meta_by_hash(d).is_some() {
                *d
            } else {
                let meta = old
                    .get_change_by_hash(d)
                    .ok_or(RewriteError::MissingDependency {
                        change: change.hash(),
                        dependency: *d,
                    })?;
                *by_seq.get(&(meta.actor_id().clone(), meta.seq())).ok_or(
                    RewriteError::MissingDependency {
                        change: change.hash(),
                        dependency: *d,
                    },
                )?
            };
            deps.push(new_dep);
        }
        deps.sort();
        deps.dedup();
        paths.learn(&expanded);
        for (item, _) in targets.iter() {
            let one: Targets = [(item.clone(), targets[item].clone())]
                .into_iter()
                .collect();
            let mut probe = expanded.clone();
            if redact(&mut probe, &paths, &one) > 0 {
                dropped_on.insert(item.clone());
            }
        }
        redact(&mut expanded, &paths, &targets);
        expanded.deps = deps;
        expanded.hash = None;
        let new_change = Change::from(expanded);
        mapped.insert(change.hash(), new_change.hash());
        by_seq.insert(key, new_change.hash());
        changes.push(new_change);
    }
    let mut dropped_on: Vec<String> = dropped_on.into_iter().collect();
    dropped_on.sort();
    Ok(Rebased {
        changes,
        already_there,
        dropped_on,
    })
}

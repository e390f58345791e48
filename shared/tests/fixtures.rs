//! Runs every fixture in `shared/fixtures/*.json` against the native crate.
//!
//! The format is described in `shared/fixtures/README.md`; the node runner of
//! the wasm build reads the same files. Expected projections and views in the
//! fixtures are written by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;
use wijklog_shared::{
    CallbackOutcome, CallbackRequest, Catalog, DocId, Document, Error, ItemId, Location,
    NewAttempt, NewCategory, NewItem, NewParticipant, NewSpreekuur, NewWalk, ResidentContact,
    Timestamp, UserId, WalkText,
};

fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn arg<T: DeserializeOwned>(args: &Value, name: &str) -> T {
    serde_json::from_value(args.get(name).cloned().unwrap_or(Value::Null))
        .unwrap_or_else(|e| panic!("argument {name}: {e}"))
}

fn catalog(docs: &BTreeMap<String, Document>) -> Catalog {
    docs.get("catalog")
        .expect("a step needs the doc named \"catalog\"")
        .catalog()
        .expect("catalog reads")
}

/// Applies one step; `Ok(Some(id))` for steps that return an id.
fn apply(docs: &mut BTreeMap<String, Document>, step: &Value) -> Result<Option<String>, Error> {
    let name = step["step"].as_str().expect("step name");
    let target = step["doc"].as_str().expect("doc name").to_owned();
    let args = step
        .get("args")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    let by: UserId = serde_json::from_value(step.get("by").cloned().unwrap_or("fixture".into()))
        .expect("by is a user id");
    let at = Timestamp::from_millis(step.get("at").and_then(Value::as_i64).unwrap_or(0));
    let item = || -> ItemId { arg(&args, "item") };

    // Steps that create or replace the target document.
    match name {
        "newCatalog" => {
            let doc = Document::new_catalog_with_defaults(arg(&args, "id"))?;
            docs.insert(target, doc);
            return Ok(None);
        }
        "newWalk" => {
            let init: NewWalk = arg(&args, "init");
            let doc = Document::new_walk(arg(&args, "id"), &catalog(docs), &by, at, init)?;
            docs.insert(target, doc);
            return Ok(None);
        }
        "newSpreekuur" => {
            let init: NewSpreekuur = arg(&args, "init");
            let doc = Document::new_spreekuur(arg(&args, "id"), &catalog(docs), &by, at, init)?;
            docs.insert(target, doc);
            return Ok(None);
        }
        "load" => {
            let from: String = arg(&args, "from");
            let source = docs.get_mut(&from).expect("source doc");
            let id: DocId = source.id();
            let bytes = source.save();
            docs.insert(target, Document::load(id, &bytes)?);
            return Ok(None);
        }
        "merge" => {
            let from: String = arg(&args, "from");
            let mut other = docs.remove(&from).expect("source doc");
            let result = docs.get_mut(&target).expect("target doc").merge(&mut other);
            docs.insert(from, other);
            return result.map(|()| None);
        }
        _ => {}
    }

    let cat = if matches!(
        name,
        "addObservation" | "addNote" | "setCategory" | "setFollowUp" | "requestCallback"
    ) {
        Some(catalog(docs))
    } else {
        None
    };
    let cat = || cat.as_ref().expect("catalog loaded");
    let doc = docs
        .get_mut(&target)
        .unwrap_or_else(|| panic!("no doc named {target}"));
    let text = || -> String { arg(&args, "text") };
    let none = |r: Result<(), Error>| r.map(|()| None);
    match name {
        "startWalk" => none(doc.start_walk(&by, at)),
        "endWalk" => none(doc.end_walk(&by, at)),
        "reopenWalk" => none(doc.reopen_walk(&by, at)),
        "addParticipant" => {
            let init: NewParticipant = arg(&args, "init");
            doc.add_participant(&by, at, init)
                .map(|id| Some(id.to_string()))
        }
        "spliceWalkText" => {
            let field: WalkText = arg(&args, "field");
            none(doc.splice_walk_text(
                &by,
                at,
                field,
                arg(&args, "pos"),
                arg(&args, "del"),
                &text(),
            ))
        }
        "addObservation" => {
            let init: NewItem = arg(&args, "init");
            doc.add_observation(cat(), &by, at, init)
                .map(|id| Some(id.to_string()))
        }
        "addNote" => {
            let init: NewItem = arg(&args, "init");
            doc.add_note(cat(), &by, at, init)
                .map(|id| Some(id.to_string()))
        }
        "addStaff" => {
            let user: UserId = arg(&args, "user");
            let staff_name: String = arg(&args, "name");
            none(doc.add_staff(&by, at, &user, &staff_name))
        }
        "setResidentContact" => {
            let contact: ResidentContact = arg(&args, "contact");
            none(doc.set_resident_contact(&by, at, &item(), contact))
        }
        "clearResidentContact" => none(doc.clear_resident_contact(&by, at, &item())),
        "withdrawResidentConsent" => none(doc.withdraw_resident_consent(&by, at, &item())),
        "requestCallback" => {
            let request: Option<CallbackRequest> = arg(&args, "request");
            none(doc.request_callback(cat(), &by, at, &item(), request.unwrap_or_default()))
        }
        "completeCallback" => none(doc.complete_callback(&by, at, &item())),
        "setCallbackDue" => {
            let due_at: Timestamp = arg(&args, "due_at");
            none(doc.set_callback_due(&by, at, &item(), due_at))
        }
        "assignCallback" => {
            let assignee: Option<UserId> = arg(&args, "assignee");
            none(doc.assign_callback(&by, at, &item(), assignee.as_ref()))
        }
        "logCallbackAttempt" => {
            let attempt: NewAttempt = arg(&args, "attempt");
            doc.log_callback_attempt(&by, at, &item(), attempt)
                .map(|id| Some(id.to_string()))
        }
        "closeCallback" => {
            let outcome: Option<CallbackOutcome> = arg(&args, "outcome");
            none(doc.close_callback(&by, at, &item(), outcome))
        }
        "spliceText" => none(doc.splice_text(
            &by,
            at,
            &item(),
            arg(&args, "pos"),
            arg(&args, "del"),
            &text(),
        )),
        "setCategory" => {
            let category: String = arg(&args, "category");
            none(doc.set_category(cat(), &by, at, &item(), &category))
        }
        "setSeverity" => none(doc.set_severity(&by, at, &item(), arg(&args, "severity"))),
        "setLocation" => {
            let location: Option<Location> = arg(&args, "location");
            none(doc.set_location(&by, at, &item(), location))
        }
        "setPlace" => {
            let place: Option<String> = arg(&args, "place");
            none(doc.set_place(&by, at, &item(), place.as_deref()))
        }
        "addPhoto" => {
            let photo: String = arg(&args, "photo");
            none(doc.add_photo(&by, at, &item(), &photo))
        }
        "deleteItem" => none(doc.delete_item(&by, at, &item())),
        "undeleteItem" => none(doc.undelete_item(&by, at, &item())),
        "setFollowUp" => {
            let partner: String = arg(&args, "partner");
            let note: Option<String> = arg(&args, "note");
            none(doc.set_follow_up(
                cat(),
                &by,
                at,
                &item(),
                &partner,
                arg(&args, "status"),
                note.as_deref(),
            ))
        }
        "spliceFollowUpNote" => {
            let partner: String = arg(&args, "partner");
            none(doc.splice_follow_up_note(
                &by,
                at,
                &item(),
                &partner,
                arg(&args, "pos"),
                arg(&args, "del"),
                &text(),
            ))
        }
        "setFeedbackNeeded" => {
            none(doc.set_feedback_needed(&by, at, &item(), arg(&args, "needed")))
        }
        "recordFeedbackGiven" => {
            let given_at: Timestamp = arg(&args, "given_at");
            none(doc.record_feedback_given(&by, at, &item(), arg(&args, "channel"), given_at))
        }
        "addCategory" => {
            let category: NewCategory = arg(&args, "category");
            none(doc.add_category(&by, at, category))
        }
        "renameCategory" | "renamePartner" | "renameWijk" => {
            let id: String = arg(&args, "id");
            let label: String = arg(&args, "label");
            none(match name {
                "renameCategory" => doc.rename_category(&by, at, &id, &label),
                "renamePartner" => doc.rename_partner(&by, at, &id, &label),
                _ => doc.rename_wijk(&by, at, &id, &label),
            })
        }
        "setCategoryColor" => {
            let id: String = arg(&args, "id");
            let color: String = arg(&args, "color");
            none(doc.set_category_color(&by, at, &id, &color))
        }
        "retireCategory" | "retirePartner" | "retireWijk" => {
            let id: String = arg(&args, "id");
            none(match name {
                "retireCategory" => doc.retire_category(&by, at, &id),
                "retirePartner" => doc.retire_partner(&by, at, &id),
                _ => doc.retire_wijk(&by, at, &id),
            })
        }
        "setCategoryCallbackDays" => {
            let id: String = arg(&args, "id");
            let days: u32 = arg(&args, "days");
            none(doc.set_category_callback_days(&by, at, &id, days))
        }
        "addPartner" => {
            let id: String = arg(&args, "id");
            let label: String = arg(&args, "label");
            none(doc.add_partner(&by, at, &id, &label))
        }
        "addWijk" => {
            let id: String = arg(&args, "id");
            let label: String = arg(&args, "label");
            let bbox: Option<[f64; 4]> = arg(&args, "bbox");
            none(doc.add_wijk(&by, at, &id, &label, bbox))
        }
        other => panic!("unknown step {other}"),
    }
}

/// `expected` matches `actual` when every key of an expected object is in the
/// actual object with a matching value (extra actual keys are fine for
/// `subset`), arrays match element-wise with equal length, numbers are compared
/// as f64, and everything else must be equal.
fn matches(expected: &Value, actual: &Value, subset: bool, path: &str, errors: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => matches(ev, av, subset, &format!("{path}.{k}"), errors),
                    None => errors.push(format!("{path}.{k}: missing in actual")),
                }
            }
            if !subset {
                for k in a.keys().filter(|k| !e.contains_key(*k)) {
                    errors.push(format!("{path}.{k}: not expected (actual {})", a[k]));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                errors.push(format!(
                    "{path}: expected {} elements, found {}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, av, subset, &format!("{path}[{i}]"), errors);
            }
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => {}
        (e, a) if e == a => {}
        (e, a) => errors.push(format!("{path}: expected {e}, found {a}")),
    }
}

fn run(path: &Path) -> Vec<String> {
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("readable"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs = BTreeMap::new();
    let mut errors = Vec::new();
    for (i, step) in fixture["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .enumerate()
    {
        let label = format!("step {i} ({})", step["step"]);
        let result = apply(&mut docs, step);
        match (step.get("error").and_then(Value::as_str), result) {
            (Some(code), Err(e)) if e.code() == code => {}
            (Some(code), Err(e)) => {
                errors.push(format!("{label}: expected error {code}, got {}", e.code()))
            }
            (Some(code), Ok(_)) => {
                errors.push(format!("{label}: expected error {code}, got success"))
            }
            (None, Err(e)) => errors.push(format!("{label}: unexpected error {} ({e})", e.code())),
            (None, Ok(returned)) => {
                if let Some(want) = step.get("returns").and_then(Value::as_str)
                    && returned.as_deref() != Some(want)
                {
                    errors.push(format!("{label}: returned {returned:?}, expected {want}"));
                }
            }
        }
    }
    for (name, expect) in fixture["expect"].as_object().expect("expect").iter() {
        let doc = docs
            .get(name)
            .unwrap_or_else(|| panic!("no doc named {name}"));
        if let Some(rows) = expect.get("project") {
            let actual = serde_json::to_value(doc.project().expect("projects")).expect("json");
            matches(
                rows,
                &actual,
                false,
                &format!("{name}.project"),
                &mut errors,
            );
        }
        if let Some(view) = expect.get("view") {
            let actual = serde_json::to_value(doc.view().expect("view")).expect("json");
            matches(view, &actual, true, &format!("{name}.view"), &mut errors);
        }
    }
    errors
}

#[test]
fn every_fixture_passes_natively() {
    let files = fixture_files();
    assert!(files.len() >= 4, "fixtures found: {files:?}");
    let mut failures = Vec::new();
    for f in &files {
        for e in run(f) {
            failures.push(format!("{}: {e}", f.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(
        failures.is_empty(),
        "fixture failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_matcher_reports_differences() {
    let mut errors = Vec::new();
    let e = serde_json::json!({"a": 1, "b": [1, 2], "c": {"d": "x"}});
    let a = serde_json::json!({"a": 1.0, "b": [1], "c": {"d": "y"}, "extra": true});
    matches(&e, &a, false, "$", &mut errors);
    assert_eq!(
        errors,
        vec![
            "$.b: expected 2 elements, found 1",
            "$.c.d: expected \"x\", found \"y\"",
            "$.extra: not expected (actual true)",
        ]
    );
    errors.clear();
    matches(
        &e,
        &serde_json::json!({"a": 1, "b": [1, 2], "c": {"d": "x"}, "z": 0}),
        true,
        "$",
        &mut errors,
    );
    assert!(errors.is_empty());
}

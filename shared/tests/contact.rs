//! The contact rules (`wijklog_shared::contact`) and actions (several edits as
//! one change, all or nothing).
//!
//! - A property test over generated phone and e-mail strings: the rules never
//!   panic, every derived E.164 form is well formed, and the form's check and
//!   the model's edit (`set_resident_contact`) agree on every string.
//! - `generated_cases_match_the_fixture`: a fixed, seeded set of generated
//!   strings with their native verdicts is committed in
//!   `shared/fixtures/contact-rules/cases.json`; this test fails when the
//!   native rules no longer give those verdicts, and
//!   `tests/node/contact-rules.test.mjs` checks the wasm build gives the same.
//!   `UPDATE_CONTACT_CASES=1` rewrites the file after a deliberate rule change.
//! - Actions: all edits commit as one change, or none is applied.

mod common;

use common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use wijklog_shared::contact::{check_email, check_phone};
use wijklog_shared::{CallbackRequest, Catalog, Document, Error, ResidentContact};

/// Phone-like strings: digit groups with the separators people use, `+` and
/// `00` prefixes, slashes, remarks, and now and then anything at all.
fn phone_strategy() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => "[0-9]{1,4}",
        3 => prop_oneof![Just(" "), Just("."), Just("-"), Just("("), Just(")"), Just(" / "), Just("/")]
            .prop_map(str::to_owned),
        1 => prop_oneof![Just("+31"), Just("0031"), Just("+"), Just("00"), Just("+44 ")].prop_map(str::to_owned),
        1 => prop_oneof![Just(" (na 17u)"), Just(" alleen 's avonds"), Just(" of "), Just(", "), Just("tel: ")]
            .prop_map(str::to_owned),
        1 => any::<char>().prop_map(|c| c.to_string()),
    ];
    prop_oneof![
        8 => prop::collection::vec(piece, 1..14).prop_map(|v| v.concat()),
        1 => ".{0,120}",
        1 => "(06|0[1-9][0-9])[ .-]?[0-9]{3,4}[ .-]?[0-9]{2,4}[ .-]?[0-9]{0,3}",
    ]
}

/// E-mail-like strings: local parts, one or more `@`, domains with and
/// without dots, quotes, brackets, spaces, and anything at all.
fn email_strategy() -> impl Strategy<Value = String> {
    let local = prop_oneof![
        "[a-z0-9]{1,10}",
        "[a-z0-9]{1,5}[.+_-][a-z0-9]{1,5}",
        "\"[a-z ]{1,8}\"",
        "[a-z. ]{0,6}",
        ".{0,6}",
    ];
    let domain = prop_oneof![
        "[a-z]{1,10}",
        "[a-z0-9-]{1,8}(\\.[a-z]{2,6}){1,2}",
        "\\[[0-9]{1,3}(\\.[0-9]{1,3}){3}\\]",
        "[a-z.-]{0,8}",
        ".{0,8}",
    ];
    prop_oneof![
        8 => (local, prop_oneof![Just("@"), Just("@@"), Just(""), Just(" @")], domain)
            .prop_map(|(l, a, d)| format!("{l}{a}{d}")),
        1 => ".{0,80}",
        1 => "[A-Za-z ]{1,8} <[a-z]{1,6}@[a-z]{1,6}\\.nl>",
    ]
}

fn well_formed_e164(s: &str) -> bool {
    s.split(' ').all(|n| {
        n.strip_prefix('+').is_some_and(|d| {
            (8..=15).contains(&d.len())
                && d.chars().all(|c| c.is_ascii_digit())
                && !d.starts_with('0')
        })
    })
}

/// `set_resident_contact` on a fresh note with this phone and e-mail.
fn edit_with(phone: Option<&str>, email: Option<&str>) -> Result<(), Error> {
    let mut doc = spreekuur();
    doc.add_note(&Catalog::defaults(), &boa(), at(1), item(1, "verkeer", "x"))
        .unwrap();
    doc.set_resident_contact(
        &boa(),
        at(2),
        &item_id(1),
        ResidentContact {
            name: None,
            phone: phone.map(str::to_owned),
            email: email.map(str::to_owned),
            consent: true,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn phone_rules_never_panic_and_agree_with_the_edit(s in phone_strategy()) {
        let trimmed = s.trim();
        let check = check_phone(trimmed);
        if let Ok(c) = &check {
            prop_assert!(!c.numbers.is_empty());
            if let Some(e) = &c.e164 {
                prop_assert!(well_formed_e164(e), "{e:?} from {s:?}");
            }
        }
        if !trimmed.is_empty() {
            let edit = edit_with(Some(&s), None);
            prop_assert_eq!(check.is_ok(), edit.is_ok(), "{:?}: check {:?}, edit {:?}", s, check, edit);
            if let Err(e) = edit {
                prop_assert_eq!(e.code(), "invalid_phone");
            }
        }
    }

    #[test]
    fn email_rules_never_panic_and_agree_with_the_edit(s in email_strategy()) {
        let trimmed = s.trim();
        let check = check_email(trimmed);
        if !trimmed.is_empty() {
            let edit = edit_with(None, Some(&s));
            prop_assert_eq!(check.is_ok(), edit.is_ok(), "{:?}", s);
        }
    }

    /// Separators inside a Dutch mobile number never change what is derived.
    #[test]
    fn separators_do_not_change_the_number(d in "[0-9]{8}", seps in prop::collection::vec(prop_oneof![Just(""), Just(" "), Just("."), Just("-")], 9)) {
        let digits = format!("06{d}");
        let mut typed = String::new();
        for (i, c) in digits.chars().enumerate() {
            typed.push(c);
            if i < 9 { typed.push_str(seps[i]); }
        }
        let c = check_phone(&typed).unwrap();
        let want = format!("+316{d}");
        prop_assert_eq!(c.e164.as_deref(), Some(want.as_str()));
    }
}

const CASES_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/contact-rules/cases.json"
);

/// A fixed set of generated strings and their native verdicts.
fn generated_cases() -> serde_json::Value {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[10; 32]),
    );
    let mut phones = Vec::new();
    let phone = phone_strategy();
    for _ in 0..400 {
        let s = phone.new_tree(&mut runner).unwrap().current();
        let c = check_phone(s.trim());
        phones.push(serde_json::json!({
            "input": s,
            "valid": s.trim().is_empty() || c.is_ok(),
            "e164": c.ok().and_then(|c| c.e164),
        }));
    }
    let mut emails = Vec::new();
    let email = email_strategy();
    for _ in 0..400 {
        let s = email.new_tree(&mut runner).unwrap().current();
        emails.push(serde_json::json!({
            "input": s,
            "valid": s.trim().is_empty() || check_email(s.trim()).is_ok(),
        }));
    }
    serde_json::json!({
        "description": "Generated phone and e-mail strings with the verdict of the native rules (wijklog_shared::contact). Written by shared/tests/contact.rs with UPDATE_CONTACT_CASES=1; tests/node/contact-rules.test.mjs checks the wasm build agrees. Inputs are trimmed before checking; an empty input is valid (no value).",
        "phone": phones,
        "email": emails,
    })
}

#[test]
fn generated_cases_match_the_fixture() {
    let cases = generated_cases();
    if std::env::var_os("UPDATE_CONTACT_CASES").is_some() {
        std::fs::create_dir_all(std::path::Path::new(CASES_FILE).parent().unwrap()).unwrap();
        std::fs::write(
            CASES_FILE,
            serde_json::to_string_pretty(&cases).unwrap() + "\n",
        )
        .unwrap();
    }
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(CASES_FILE).expect("cases file")).unwrap();
    // Same inputs (the generator is seeded) and the same verdicts.
    for kind in ["phone", "email"] {
        let (now, then) = (
            cases[kind].as_array().unwrap(),
            stored[kind].as_array().unwrap(),
        );
        assert_eq!(now.len(), then.len(), "{kind}");
        for (a, b) in now.iter().zip(then) {
            assert_eq!(a, b, "{kind}: the native rules changed for this case");
        }
    }
    // The set covers both verdicts and derived numbers.
    let phones = stored["phone"].as_array().unwrap();
    assert!(phones.iter().filter(|c| c["valid"] == true).count() > 50);
    assert!(phones.iter().filter(|c| c["valid"] == false).count() > 50);
    assert!(phones.iter().filter(|c| c["e164"].is_string()).count() > 20);
    let emails = stored["email"].as_array().unwrap();
    assert!(emails.iter().filter(|c| c["valid"] == true).count() > 30);
    assert!(emails.iter().filter(|c| c["valid"] == false).count() > 50);
}

#[test]
fn what_residents_typed_at_a_spreekuur_is_accepted() {
    for (typed, e164) in [
        ("06.12.34.56.78", Some("+31612345678")),
        ("06 1234 5678 (na 17u)", Some("+31612345678")),
        (
            "035-5251234 / 06-12345678",
            Some("+31355251234 +31612345678"),
        ),
    ] {
        assert_eq!(check_phone(typed).unwrap().e164.as_deref(), e164, "{typed}");
        edit_with(Some(typed), None).unwrap();
    }
    assert!(check_email("jan@example").is_ok());
    edit_with(None, Some("jan@example")).unwrap();
}

// ----- actions -----

fn note_doc() -> Document {
    spreekuur()
}

#[test]
fn an_action_is_one_change_with_every_edit() {
    let mut doc = note_doc();
    let before = doc.automerge_mut().get_changes(&[]).len();
    let cat = Catalog::defaults();
    let id = doc
        .action(at(5), |d| {
            let id = d.add_note(&cat, &boa(), at(5), item(1, "verkeer", "Drempel"))?;
            d.set_resident_contact(
                &boa(),
                at(5),
                &id,
                ResidentContact {
                    name: Some("Jan".into()),
                    phone: Some("06.12.34.56.78".into()),
                    email: Some("jan@example".into()),
                    consent: true,
                },
            )?;
            d.request_callback(
                &Catalog::defaults(),
                &boa(),
                at(5),
                &id,
                CallbackRequest::default(),
            )?;
            Ok(id)
        })
        .unwrap();
    let changes = doc.automerge_mut().get_changes(&[]);
    assert_eq!(changes.len(), before + 1, "one change for the whole action");
    assert_eq!(
        changes.last().unwrap().message(),
        Some("add_note,set_resident_contact,request_callback")
    );
    let rows = doc.project().unwrap();
    let r = rows.iter().find(|r| r.item_id == id.to_string()).unwrap();
    let res = r.resident.as_ref().unwrap();
    assert_eq!(res.phone.as_deref(), Some("06.12.34.56.78"));
    assert_eq!(res.phone_e164.as_deref(), Some("+31612345678"));
    assert_eq!(res.email.as_deref(), Some("jan@example"));
    assert_eq!(r.callback.as_ref().unwrap().requested, Some(true));
}

#[test]
fn a_failing_edit_applies_nothing_of_the_action() {
    let mut doc = note_doc();
    let heads = doc.heads();
    let rows = serde_json::to_value(doc.project().unwrap()).unwrap();
    let cat = Catalog::defaults();
    // The contact edit is refused after the note was added: neither stays.
    let err = doc
        .action(at(5), |d| {
            let id = d.add_note(&cat, &boa(), at(5), item(1, "verkeer", "Drempel"))?;
            d.request_callback(
                &Catalog::defaults(),
                &boa(),
                at(5),
                &id,
                CallbackRequest::default(),
            )?;
            d.set_resident_contact(
                &boa(),
                at(5),
                &id,
                ResidentContact {
                    name: None,
                    phone: Some("geen nummer".into()),
                    email: None,
                    consent: true,
                },
            )?;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.code(), "invalid_phone");
    assert_eq!(doc.heads(), heads);
    assert_eq!(serde_json::to_value(doc.project().unwrap()).unwrap(), rows);
    // An edit refused while writing (unknown item) rolls back the ones before it too.
    let err = doc
        .action(at(6), |d| {
            d.add_note(&cat, &boa(), at(6), item(2, "verkeer", "Twee"))?;
            d.request_callback(
                &Catalog::defaults(),
                &boa(),
                at(6),
                &item_id(77),
                CallbackRequest::default(),
            )?;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.code(), "item_not_found");
    assert_eq!(doc.heads(), heads);
    // The document still takes edits and actions afterwards.
    doc.action(at(7), |d| {
        d.add_note(&cat, &boa(), at(7), item(3, "verkeer", "Drie"))
    })
    .unwrap();
    assert_eq!(doc.project().unwrap().len(), 1);
}

#[test]
fn actions_do_not_nest() {
    let mut doc = note_doc();
    let err = doc
        .action(at(1), |d| d.action(at(1), |_| Ok(())))
        .unwrap_err();
    assert_eq!(err.code(), "action_open");
    // The failed outer action left nothing open.
    doc.action(at(2), |_| Ok(())).unwrap();
}

#[test]
fn withdrawing_consent_clears_the_contact_and_a_new_consent_restores_it() {
    let mut doc = note_doc();
    let cat = Catalog::defaults();
    let id = doc
        .add_note(&cat, &boa(), at(1), item(1, "verkeer", "x"))
        .unwrap();
    let contact = || ResidentContact {
        name: Some("Jan".into()),
        phone: Some("06 1234 5678".into()),
        email: Some("jan@example".into()),
        consent: true,
    };
    doc.set_resident_contact(&boa(), at(2), &id, contact())
        .unwrap();
    doc.withdraw_resident_consent(&boa(), at(3), &id).unwrap();
    let r = doc.project().unwrap()[0].resident.clone().unwrap();
    assert_eq!(
        (r.name, r.phone, r.phone_e164, r.email),
        (None, None, None, None)
    );
    assert_eq!(r.consent, Some(false));
    assert_eq!(r.consent_withdrawn_at, Some(at(3).as_millis()));
    doc.set_resident_contact(&boa(), at(4), &id, contact())
        .unwrap();
    let r = doc.project().unwrap()[0].resident.clone().unwrap();
    assert_eq!(r.consent, Some(true));
    assert_eq!(r.consent_withdrawn_at, None);
    assert_eq!(r.phone_e164.as_deref(), Some("+31612345678"));
    // A correction without a number that has an E.164 form removes the old one.
    doc.set_resident_contact(
        &boa(),
        at(5),
        &id,
        ResidentContact {
            phone: Some("612345678".into()),
            ..contact()
        },
    )
    .unwrap();
    let r = doc.project().unwrap()[0].resident.clone().unwrap();
    assert_eq!(r.phone.as_deref(), Some("612345678"));
    assert_eq!(r.phone_e164, None);
}

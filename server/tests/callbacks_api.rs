//! The "Terugbellen en terugkoppeling" work list:
//! `GET /api/v1/callbacks`, the work-list counts of `GET /api/v1/stats` and
//! the reminder query `review::callbacks::for_person`. The real server on
//! 127.0.0.1 port 0 with SQLite in a temp directory; the documents are made
//! with wijklog-shared's typed edits and stored with the sync layer's
//! projection, as a sync commit stores them.

use serde_json::Value;
use wijklog_server::domain::{DocKind, Role, now_ms};
use wijklog_server::testing::{Response, TestApp, spawn_app};
use wijklog_shared::{
    AttemptOutcome, CallbackOutcome, CallbackRequest, Catalog, DocId, Document, ItemId, NewAttempt,
    NewItem, NewSpreekuur, NewWalk, ResidentContact, Severity, Timestamp,
};
use wijklog_testing::stored::{Person, StoredDoc, person};

/// 2026-01-01T00:00:00Z, a Thursday.
const T0: i64 = 1_767_225_600_000;
const DAY: i64 = 86_400_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn session(who: &Person, team: &str, wijk: &str) -> StoredDoc {
    let doc = Document::new_spreekuur(
        DocId::new_v4(),
        &Catalog::defaults(),
        &who.uid(),
        at(T0 - DAY),
        NewSpreekuur {
            location: format!("Buurthuis {team}"),
            wijk: wijk.into(),
            held_on: at(T0),
            team: team.into(),
        },
    )
    .expect("spreekuur");
    StoredDoc {
        doc,
        kind: DocKind::Spreekuur,
        team: Some(team.into()),
        stored: Vec::new(),
    }
}

fn note(d: &mut StoredDoc, who: &Person, when: i64, text: &str, feedback: bool) -> ItemId {
    d.doc
        .add_note(
            &Catalog::defaults(),
            &who.uid(),
            at(when),
            NewItem {
                id: None,
                category: "woonoverlast".into(),
                severity: Severity::Aandacht,
                text: text.into(),
                place: None,
                location: None,
                feedback_needed: feedback,
            },
        )
        .expect("note")
}

fn request(
    d: &mut StoredDoc,
    who: &Person,
    when: i64,
    id: &ItemId,
    due: i64,
    assignee: Option<&Person>,
) {
    d.doc
        .request_callback(
            &Catalog::defaults(),
            &who.uid(),
            at(when),
            id,
            CallbackRequest {
                due_at: Some(at(due)),
                assignee: assignee.map(Person::uid),
            },
        )
        .expect("request");
}

async fn get(app: &TestApp, who: Option<&Person>, path: &str) -> Response {
    let auth = who.map(|p| format!("Bearer {}", p.token));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    app.request("GET", path, &headers, None).await
}

struct World {
    app: TestApp,
    coord: Person,
    sp_n: Person,
    sp_z: Person,
    boa_n: Person,
    admin: Person,
    noord: StoredDoc,
    ids: Vec<(&'static str, String)>,
    now: i64,
}

impl World {
    fn name(&self, id: &str) -> &'static str {
        self.ids
            .iter()
            .find(|(_, v)| v == id)
            .map(|(k, _)| *k)
            .unwrap_or("?")
    }
    /// `task:letter` per entry, in order.
    async fn list(&self, who: &Person, query: &str) -> Vec<String> {
        let res = get(&self.app, Some(who), &format!("/api/v1/callbacks?{query}")).await;
        assert_eq!(res.status, 200, "{query}: {}", res.text());
        res.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    e["task"].as_str().expect("task"),
                    self.name(e["item"]["item_id"].as_str().expect("id"))
                )
            })
            .collect()
    }
    fn id(&self, letter: &str) -> ItemId {
        let s = &self
            .ids
            .iter()
            .find(|(k, _)| *k == letter)
            .expect("letter")
            .1;
        ItemId::parse(s).expect("id")
    }
}

/// Team noord, session in oostermeent:
///   P  call back due T0+20d (overdue), team; contact with phone and e-mail
///   Q  call back due now+5d, assigned to sp_n
///   R  feedback needed, created T0 (due T0+14d: overdue)
/// Team zuid, session in centrum:
///   S  call back due T0+30d (overdue), team
/// Team noord, walk:
///   W  feedback needed, created an hour ago (due in about two weeks)
async fn world() -> World {
    let app = spawn_app().await;
    let coord = person(&app, "coord", &[Role::Coordinator], None).await;
    let sp_n = person(&app, "sp-noord", &[Role::Spreekuur], Some("noord")).await;
    let sp_z = person(&app, "sp-zuid", &[Role::Spreekuur], Some("zuid")).await;
    let boa_n = person(&app, "boa-noord", &[Role::Boa], Some("noord")).await;
    let admin = person(&app, "admin", &[Role::Admin], None).await;
    let now = now_ms();

    let mut noord = session(&sp_n, "noord", "oostermeent");
    let p = note(&mut noord, &sp_n, T0 + DAY, "Overlast bovenburen", false);
    noord
        .doc
        .set_resident_contact(
            &sp_n.uid(),
            at(T0 + DAY),
            &p,
            ResidentContact {
                name: Some("Jan Jansen".into()),
                phone: Some("06 1234 5678 (na 17u)".into()),
                email: Some("jan@example".into()),
                consent: true,
            },
        )
        .expect("contact");
    request(&mut noord, &sp_n, T0 + DAY, &p, T0 + 20 * DAY, None);
    let q = note(&mut noord, &sp_n, now - DAY, "Lantaarn kapot", false);
    request(&mut noord, &sp_n, now - DAY, &q, now + 5 * DAY, Some(&sp_n));
    let r = note(&mut noord, &sp_n, T0, "Hangjongeren", true);
    noord.commit_as(&app, &sp_n);

    let mut zuid = session(&sp_z, "zuid", "centrum");
    let s = note(
        &mut zuid,
        &sp_z,
        T0 + 2 * DAY,
        "Parkeren op de stoep",
        false,
    );
    request(&mut zuid, &sp_z, T0 + 2 * DAY, &s, T0 + 30 * DAY, None);
    zuid.commit_as(&app, &sp_z);

    let mut walk = StoredDoc {
        doc: Document::new_walk(
            DocId::new_v4(),
            &Catalog::defaults(),
            &boa_n.uid(),
            at(now - 2 * 3_600_000),
            NewWalk {
                title: "Avondronde".into(),
                wijk: "oostermeent".into(),
                route: String::new(),
                team: "noord".into(),
                planned_at: None,
            },
        )
        .expect("walk"),
        kind: DocKind::Walk,
        team: Some("noord".into()),
        stored: Vec::new(),
    };
    let w = walk
        .doc
        .add_observation(
            &Catalog::defaults(),
            &boa_n.uid(),
            at(now - 3_600_000),
            NewItem {
                id: None,
                category: "verkeer".into(),
                severity: Severity::Aandacht,
                text: "Hard rijden".into(),
                place: None,
                location: None,
                feedback_needed: true,
            },
        )
        .expect("observation");
    walk.commit_as(&app, &boa_n);

    let ids = vec![
        ("P", p.to_string()),
        ("Q", q.to_string()),
        ("R", r.to_string()),
        ("S", s.to_string()),
        ("W", w.to_string()),
    ];
    World {
        app,
        coord,
        sp_n,
        sp_z,
        boa_n,
        admin,
        noord,
        ids,
        now,
    }
}

#[actix_web::test]
async fn the_work_list_is_due_date_first_with_the_contact_and_the_read_is_audited() {
    let w = world().await;
    let res = get(&w.app, Some(&w.coord), "/api/v1/callbacks").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let body = res.json();
    let items = body["items"].as_array().expect("items").clone();
    let order: Vec<String> = items
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["task"].as_str().unwrap(),
                w.name(e["item"]["item_id"].as_str().unwrap())
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            "feedback:R",
            "callback:P",
            "callback:S",
            "callback:Q",
            "feedback:W"
        ]
    );
    // Thursday 1 January + 10 working days = Thursday 15 January.
    assert_eq!(items[0]["due_at"], T0 + 14 * DAY);
    assert_eq!(items[0]["overdue"], true);
    assert_eq!(items[1]["due_at"], T0 + 20 * DAY);
    assert_eq!(items[1]["overdue"], true);
    assert_eq!(items[3]["overdue"], false);
    assert_eq!(items[3]["assignee"], w.sp_n.id());
    assert_eq!(items[1]["assignee"], Value::Null);
    // The contact with links, only where there is one; the row itself has none.
    let c = &items[1]["contact"];
    assert_eq!(c["name"], "Jan Jansen");
    assert_eq!(c["phone"], "06 1234 5678 (na 17u)");
    // The E.164 form the model derived from what was typed.
    assert_eq!(c["tel"], "tel:+31612345678");
    assert_eq!(c["mailto"], "mailto:jan@example");
    assert!(items[1]["item"].get("resident").is_none());
    assert_eq!(items[1]["item"]["has_resident_contact"], true);
    assert!(items[2].get("contact").is_none());
    assert_eq!(items[4]["kind"], "walk");
    // The call back's task data travels in the row.
    assert_eq!(items[1]["item"]["callback"]["requested"], true);

    let entries = w.app.store().audit_entries(1000).expect("audit");
    let read = entries
        .iter()
        .find(|e| e.entry.action == "callbacks.read_personal")
        .expect("the read of contacts is audited");
    assert_eq!(
        read.entry.actor.as_ref().map(|a| a.as_str().to_owned()),
        Some(w.coord.id())
    );
    assert_eq!(
        read.entry.detail["items"],
        serde_json::json!([format!("{}/{}", w.noord.id(), w.id("P"))])
    );
    let text = serde_json::to_string(&read.entry.detail).unwrap();
    assert!(
        !text.contains("Jansen") && !text.contains("1234"),
        "no personal data in the audit log"
    );

    // Without contacts: none in the answer, nothing audited.
    let before = w.app.store().audit_entries(1000).expect("audit").len();
    let res = get(&w.app, Some(&w.coord), "/api/v1/callbacks?contacts=false").await;
    assert!(!res.text().contains("Jansen"));
    assert_eq!(
        w.app.store().audit_entries(1000).expect("audit").len(),
        before
    );
}

#[actix_web::test]
async fn each_role_sees_its_own_part_and_admins_none() {
    let w = world().await;
    assert_eq!(
        w.list(&w.sp_n, "").await,
        vec!["feedback:R", "callback:P", "callback:Q"]
    );
    assert_eq!(w.list(&w.sp_z, "").await, vec!["callback:S"]);
    assert_eq!(w.list(&w.boa_n, "").await, vec!["feedback:W"]);
    assert_eq!(
        get(&w.app, Some(&w.admin), "/api/v1/callbacks")
            .await
            .status,
        403
    );
    assert_eq!(get(&w.app, None, "/api/v1/callbacks").await.status, 401);
}

#[actix_web::test]
async fn every_filter_selects_exactly_the_matching_tasks() {
    let w = world().await;
    let c = &w.coord;
    assert_eq!(
        w.list(c, "overdue=true").await,
        vec!["feedback:R", "callback:P", "callback:S"]
    );
    assert_eq!(
        w.list(c, "overdue=false").await,
        vec!["callback:Q", "feedback:W"]
    );
    assert_eq!(
        w.list(c, &format!("assignee={}", w.sp_n.id())).await,
        vec!["callback:Q"]
    );
    assert_eq!(
        w.list(c, "assignee=team").await,
        vec!["feedback:R", "callback:P", "callback:S", "feedback:W"]
    );
    assert_eq!(
        w.list(c, "task=callback").await,
        vec!["callback:P", "callback:S", "callback:Q"]
    );
    assert_eq!(
        w.list(c, "task=feedback").await,
        vec!["feedback:R", "feedback:W"]
    );
    assert_eq!(w.list(c, "wijk=centrum").await, vec!["callback:S"]);
    assert_eq!(
        w.list(c, "team=zuid,noord&task=callback&overdue=true")
            .await,
        vec!["callback:P", "callback:S"]
    );
    assert_eq!(w.list(c, "limit=2").await, vec!["feedback:R", "callback:P"]);
    for bad in [
        "overdue=soms",
        "task=bellen",
        "limit=0",
        "assigne=x",
        "contacts=misschien",
    ] {
        let res = get(&w.app, Some(c), &format!("/api/v1/callbacks?{bad}")).await;
        assert_eq!(res.status, 400, "{bad}");
        assert_eq!(res.json()["code"], "invalid_parameter", "{bad}");
    }
}

#[actix_web::test]
async fn an_attempt_keeps_the_task_a_close_removes_it_and_the_counts_follow() {
    let mut w = world().await;
    let stats = get(&w.app, Some(&w.coord), "/api/v1/stats").await.json();
    assert_eq!(
        stats["work_list"],
        serde_json::json!({"callbacks_open": 3, "callbacks_overdue": 2, "feedback_open": 2, "feedback_overdue": 1})
    );
    let p = w.id("P");
    let sp = w.sp_n.uid();
    w.noord
        .doc
        .log_callback_attempt(
            &sp,
            at(w.now),
            &p,
            NewAttempt {
                id: None,
                called_at: None,
                outcome: AttemptOutcome::Voicemail,
                note: Some("Ingesproken".into()),
            },
        )
        .expect("attempt");
    w.noord.commit_as(&w.app, &w.sp_n);
    let res = get(
        &w.app,
        Some(&w.coord),
        "/api/v1/callbacks?task=callback&contacts=false",
    )
    .await;
    let items = res.json()["items"].as_array().expect("items").clone();
    assert_eq!(w.name(items[0]["item"]["item_id"].as_str().unwrap()), "P");
    let attempts = items[0]["item"]["callback"]["attempts"]
        .as_object()
        .expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts.values().next().unwrap()["outcome"], "voicemail");

    w.noord
        .doc
        .close_callback(&sp, at(w.now), &p, Some(CallbackOutcome::Gesproken))
        .expect("close");
    w.noord.commit_as(&w.app, &w.sp_n);
    assert_eq!(
        w.list(&w.coord, "task=callback").await,
        vec!["callback:S", "callback:Q"]
    );
    let stats = get(&w.app, Some(&w.coord), "/api/v1/stats").await.json();
    assert_eq!(stats["work_list"]["callbacks_open"], 2);
    assert_eq!(stats["work_list"]["callbacks_overdue"], 1);
}

#[actix_web::test]
async fn the_reminder_query_lists_a_persons_own_and_team_call_backs_overdue_first() {
    let w = world().await;
    let sp_n = w.sp_n.id();
    let now = w.now;
    let mine = w
        .app
        .state
        .review
        .with_conn(|c| {
            wijklog_server::review::callbacks::for_person(c, &sp_n, Some("noord"), now, 50)
        })
        .expect("query");
    let names: Vec<&str> = mine
        .iter()
        .map(|e| w.name(e.item["item_id"].as_str().unwrap()))
        .collect();
    assert_eq!(names, vec!["P", "Q"]);
    assert!(mine[0].overdue && !mine[1].overdue);
    assert!(mine.iter().all(|e| e.contact.is_none()));
    // Without the team: only what is assigned to the person.
    let own = w
        .app
        .state
        .review
        .with_conn(|c| wijklog_server::review::callbacks::for_person(c, &sp_n, None, now, 50))
        .expect("query");
    assert_eq!(own.len(), 1);
    assert_eq!(w.name(own[0].item["item_id"].as_str().unwrap()), "Q");
}

/// The lines of a CSV download, byte order mark removed.
fn csv_lines(res: &Response) -> Vec<String> {
    let text = res.text();
    let text = text.strip_prefix('\u{feff}').expect("a byte order mark");
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[actix_web::test]
async fn the_call_back_export_has_name_and_phone_only_needs_a_reason_and_is_audited() {
    let w = world().await;
    let path = "/api/v1/export/callbacks.csv";
    let audited = |app: &TestApp| {
        app.store()
            .audit_entries(1000)
            .expect("audit")
            .into_iter()
            .filter(|e| e.entry.action == "export.callbacks")
            .count()
    };

    // Refusals: no reason, a bad dialect, the work list's own task filter, a field worker.
    for (who, query, status, code) in [
        (&w.coord, "?dialect=excel", 400, "invalid_parameter"),
        (&w.coord, "?reason=%20%20", 400, "invalid_parameter"),
        (&w.coord, "?reason=x&dialect=xls", 400, "invalid_parameter"),
        (
            &w.coord,
            "?reason=x&task=feedback",
            400,
            "invalid_parameter",
        ),
        (&w.sp_n, "?reason=x", 403, "forbidden"),
    ] {
        let res = get(&w.app, Some(who), &format!("{path}{query}")).await;
        assert_eq!(res.status, status, "{query}: {}", res.text());
        assert_eq!(res.json()["code"], code, "{query}");
    }
    assert_eq!(audited(&w.app), 0, "a refused export is not an export");

    let res = get(
        &w.app,
        Some(&w.coord),
        &format!("{path}?dialect=excel&reason=Belronde%20maandag"),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        res.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment; filename=\"wijklog-terugbellen-")),
        "{:?}",
        res.header("content-disposition")
    );
    let lines = csv_lines(&res);
    assert_eq!(
        lines[0],
        "Terugbellen vóór;Te laat;Toegewezen aan;Wijk;Team;Spreekuur;Categorie;\
         Naam bewoner;Telefoon bewoner;Pogingen;Document;Item"
    );
    // The call backs only (no feedback tasks), due date first: P, S, Q.
    assert_eq!(lines.len(), 4, "{lines:#?}");
    // 21 January 00:00 UTC is 01:00 in Amsterdam.
    assert_eq!(
        lines[1],
        format!(
            "21-01-2026 01:00;ja;team;Oostermeent;noord;Buurthuis noord;Woonoverlast;\
             Jan Jansen;06 1234 5678 (na 17u);0;{};{}",
            w.noord.id(),
            w.id("P")
        )
    );
    assert!(lines[2].ends_with(&w.id("S").to_string()), "{}", lines[2]);
    assert!(lines[2].contains(";Centrum;zuid;"), "{}", lines[2]);
    assert!(lines[3].contains(";nee;sp-noord (test);"), "{}", lines[3]);
    let all = lines.join("\n");
    for absent in [
        "jan@example",
        "Overlast bovenburen",
        "Hangjongeren",
        "Hard rijden",
    ] {
        assert!(
            !all.contains(absent),
            "{absent} is not in the call-back list"
        );
    }

    let entries = w.app.store().audit_entries(1000).expect("audit");
    let entry = entries
        .iter()
        .find(|e| e.entry.action == "export.callbacks")
        .expect("the export is audited");
    assert_eq!(
        entry.entry.actor.as_ref().map(|a| a.as_str().to_owned()),
        Some(w.coord.id())
    );
    let d = &entry.entry.detail;
    assert_eq!(d["reason"], "Belronde maandag");
    assert_eq!(d["count"], 3);
    assert_eq!(d["format"], "excel");
    assert_eq!(
        d["personal_items"],
        serde_json::json!([format!("{}/{}", w.noord.id(), w.id("P"))])
    );
    let text = serde_json::to_string(d).unwrap();
    assert!(!text.contains("Jansen") && !text.contains("1234"));

    // The work list's filters apply; the machine dialect has codes, ids and UTC.
    let res = get(
        &w.app,
        Some(&w.coord),
        &format!("{path}?reason=x&team=noord&assignee={}", w.sp_n.id()),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let lines = csv_lines(&res);
    assert_eq!(
        lines[0],
        "due_at,overdue,assignee,wijk,team,doc_title,category,resident_name,resident_phone,\
         attempts,doc_id,item_id"
    );
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(
        lines[1],
        format!(
            "{},false,{},oostermeent,noord,Buurthuis noord,woonoverlast,,,0,{},{}",
            wijklog_server::review::iso8601(w.now + 5 * DAY),
            w.sp_n.id(),
            w.noord.id(),
            w.id("Q")
        )
    );
    assert_eq!(audited(&w.app), 2);
}

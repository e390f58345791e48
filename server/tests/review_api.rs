//! Integration tests of the coordinators' review API and the admin API
//! the real server on 127.0.0.1 port 0 with SQLite in a temp
//! directory; documents are built with wijklog-shared's typed edits and
//! stored through `Store::commit` with the sync layer's projection, exactly
//! as a sync commit stores them (each change attributed to its author).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use wijklog_server::domain::{DocKind, Role};
use wijklog_server::testing::{Response, TestApp, spawn_app, spawn_app_with};
use wijklog_shared::{
    Catalog, DocId, Document, FeedbackChannel, FollowUpStatus, ItemId, Location, NewItem,
    NewSpreekuur, NewWalk, ResidentContact, Severity, Timestamp,
};
use wijklog_testing::stored::{Person, StoredDoc, person};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const DAY: i64 = 86_400_000;

// ---------------------------------------------------------------------------
// Fixture: users, tokens, documents committed like the sync layer does.

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn new_walk(catalog: &Catalog, who: &Person, team: &str, wijk: &str, title: &str) -> StoredDoc {
    let mut doc = Document::new_walk(
        DocId::new_v4(),
        catalog,
        &who.uid(),
        at(T0 - 10 * DAY),
        NewWalk {
            title: title.into(),
            wijk: wijk.into(),
            route: "Markt, Kerkstraat, park".into(),
            team: team.into(),
            planned_at: None,
        },
    )
    .expect("walk");
    doc.set_actor(who.actor());
    StoredDoc {
        doc,
        kind: DocKind::Walk,
        team: Some(team.into()),
        stored: Vec::new(),
    }
}

fn new_session(catalog: &Catalog, who: &Person, team: &str, wijk: &str) -> StoredDoc {
    let mut doc = Document::new_spreekuur(
        DocId::new_v4(),
        catalog,
        &who.uid(),
        at(T0 - 10 * DAY),
        NewSpreekuur {
            location: "Buurthuis De Schakel".into(),
            wijk: wijk.into(),
            held_on: at(T0),
            team: team.into(),
        },
    )
    .expect("spreekuur");
    doc.set_actor(who.actor());
    StoredDoc {
        doc,
        kind: DocKind::Spreekuur,
        team: Some(team.into()),
        stored: Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn add(
    d: &mut StoredDoc,
    catalog: &Catalog,
    who: &Person,
    when: i64,
    category: &str,
    severity: Severity,
    text: &str,
    location: Option<(f64, f64)>,
    feedback_needed: bool,
) -> String {
    let init = NewItem {
        id: None,
        category: category.into(),
        severity,
        text: text.into(),
        place: Some("Marktplein".into()),
        location: location.map(|(lat, lon)| Location {
            lat,
            lon,
            accuracy_m: Some(8.0),
        }),
        feedback_needed,
    };
    let uid = who.uid();
    let kind = d.kind;
    let doc = d.as_user(who);
    let id = match kind {
        DocKind::Walk => doc.add_observation(catalog, &uid, at(when), init),
        _ => doc.add_note(catalog, &uid, at(when), init),
    }
    .expect("add item");
    id.to_string()
}

fn item_id(s: &str) -> ItemId {
    ItemId::parse(s).expect("item id")
}

struct World {
    app: TestApp,
    coord: Person,
    boa_n: Person,
    boa_z: Person,
    sp_n: Person,
    admin: Person,
    walk_n: StoredDoc,
    walk_z: StoredDoc,
    session: StoredDoc,
    /// Item ids by letter.
    ids: std::collections::HashMap<&'static str, String>,
}

const PHOTO_1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const PHOTO_2: &str = "sha256:22222222222222222222222222222222222222222222222222222222222222ab";

const B_TEXT: &str = "Fietsen tegen de gevel, \"kapot\"\nen vies; zie foto";

/// Items (coordinator's view, newest first: G F D C B A H; E is deleted):
/// A walk noord  oostermeent jeugdoverlast aandacht   T0+1d loc  politie=in_behandeling
/// B walk noord  oostermeent vervuiling    urgent     T0+2d      gemeente_openbare_ruimte=open, feedback needed
/// C walk noord  oostermeent positief      informatief T0+3d loc
/// D walk zuid   centrum     drugs         zorgelijk  T0+4d loc  feedback needed and given
/// E walk zuid   centrum     verkeer       aandacht   T0+5d      deleted
/// F note noord  oostermeent woonoverlast  zorgelijk  T0+6d      feedback needed, resident contact
/// G note noord  oostermeent openbare_ruimte informatief T0+7d   gemeente_openbare_ruimte=afgerond
/// H walk noord  oostermeent jeugdoverlast aandacht   T0-5d
async fn world() -> World {
    world_with(|_| {}).await
}

async fn world_with(adjust: impl FnOnce(&mut wijklog_server::config::Config)) -> World {
    let app = spawn_app_with(adjust).await;
    let catalog = Catalog::defaults();
    let coord = person(&app, "coord", &[Role::Coordinator], None).await;
    let boa_n = person(&app, "boa-noord", &[Role::Boa], Some("noord")).await;
    let boa_z = person(&app, "boa-zuid", &[Role::Boa], Some("zuid")).await;
    let sp_n = person(&app, "sp-noord", &[Role::Spreekuur], Some("noord")).await;
    let admin = person(&app, "admin", &[Role::Admin], None).await;
    let mut ids = std::collections::HashMap::new();

    let mut walk_n = new_walk(&catalog, &boa_n, "noord", "oostermeent", "Avondronde Noord");
    let a = add(
        &mut walk_n,
        &catalog,
        &boa_n,
        T0 + DAY,
        "jeugdoverlast",
        Severity::Aandacht,
        "Jongeren bij de Roef",
        Some((52.37, 5.21)),
        false,
    );
    let b = add(
        &mut walk_n,
        &catalog,
        &boa_n,
        T0 + 2 * DAY,
        "vervuiling",
        Severity::Urgent,
        B_TEXT,
        None,
        true,
    );
    let c = add(
        &mut walk_n,
        &catalog,
        &boa_n,
        T0 + 3 * DAY,
        "positief_signaal",
        Severity::Informatief,
        "Buurtbewoners ruimen samen op",
        Some((52.38, 5.22)),
        false,
    );
    let h = add(
        &mut walk_n,
        &catalog,
        &boa_n,
        T0 - 5 * DAY,
        "jeugdoverlast",
        Severity::Aandacht,
        "Eerder: groep op het plein",
        None,
        false,
    );
    {
        // Two photos on C (the report lists them in order).
        let uid = boa_n.uid();
        let doc = walk_n.as_user(&boa_n);
        for p in [PHOTO_1, PHOTO_2] {
            doc.add_photo(&uid, at(T0 + 3 * DAY + 1000), &item_id(&c), p)
                .expect("photo");
        }
    }
    walk_n.commit(&app, &boa_n);
    {
        let uid = coord.uid();
        let doc = walk_n.as_user(&coord);
        doc.set_follow_up(
            &catalog,
            &uid,
            at(T0 + 8 * DAY),
            &item_id(&a),
            "politie",
            FollowUpStatus::InBehandeling,
            Some("Wijkagent gaat langs"),
        )
        .expect("follow-up");
        doc.set_follow_up(
            &catalog,
            &uid,
            at(T0 + 8 * DAY),
            &item_id(&b),
            "gemeente_openbare_ruimte",
            FollowUpStatus::Open,
            None,
        )
        .expect("follow-up");
    }
    walk_n.commit(&app, &coord);

    let mut walk_z = new_walk(&catalog, &boa_z, "zuid", "centrum", "Ronde Zuid");
    let d = add(
        &mut walk_z,
        &catalog,
        &boa_z,
        T0 + 4 * DAY,
        "drugs",
        Severity::Zorgelijk,
        "Overlast bij café De Hoek",
        Some((52.36, 5.20)),
        true,
    );
    let e = add(
        &mut walk_z,
        &catalog,
        &boa_z,
        T0 + 5 * DAY,
        "verkeer",
        Severity::Aandacht,
        "Te hard rijden",
        None,
        false,
    );
    {
        let uid = boa_z.uid();
        let doc = walk_z.as_user(&boa_z);
        doc.record_feedback_given(
            &uid,
            at(T0 + 9 * DAY),
            &item_id(&d),
            FeedbackChannel::Telefoon,
            at(T0 + 9 * DAY),
        )
        .expect("feedback");
        doc.delete_item(&uid, at(T0 + 9 * DAY), &item_id(&e))
            .expect("delete");
    }
    walk_z.commit(&app, &boa_z);

    let mut session = new_session(&catalog, &sp_n, "noord", "oostermeent");
    let f = add(
        &mut session,
        &catalog,
        &sp_n,
        T0 + 6 * DAY,
        "woonoverlast",
        Severity::Zorgelijk,
        "Geluidsoverlast van de buren",
        None,
        true,
    );
    let g = add(
        &mut session,
        &catalog,
        &sp_n,
        T0 + 7 * DAY,
        "openbare_ruimte",
        Severity::Informatief,
        "Lantaarnpaal kapot",
        None,
        false,
    );
    {
        let uid = sp_n.uid();
        let doc = session.as_user(&sp_n);
        doc.set_resident_contact(
            &uid,
            at(T0 + 6 * DAY),
            &item_id(&f),
            ResidentContact {
                name: Some("Jan Jansen".into()),
                phone: Some("0612345678".into()),
                email: None,
                consent: true,
            },
        )
        .expect("contact");
    }
    session.commit(&app, &sp_n);
    {
        let uid = coord.uid();
        let doc = session.as_user(&coord);
        doc.set_follow_up(
            &catalog,
            &uid,
            at(T0 + 8 * DAY),
            &item_id(&g),
            "gemeente_openbare_ruimte",
            FollowUpStatus::Afgerond,
            Some("Gemeld"),
        )
        .expect("fu");
    }
    session.commit(&app, &coord);

    for (k, v) in [
        ("A", a),
        ("B", b),
        ("C", c),
        ("D", d),
        ("E", e),
        ("F", f),
        ("G", g),
        ("H", h),
    ] {
        ids.insert(k, v);
    }
    World {
        app,
        coord,
        boa_n,
        boa_z,
        sp_n,
        admin,
        walk_n,
        walk_z,
        session,
        ids,
    }
}

async fn get(app: &TestApp, who: Option<&Person>, path: &str) -> Response {
    let auth = who.map(|p| format!("Bearer {}", p.token));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    app.request("GET", path, &headers, None).await
}

async fn send(
    app: &TestApp,
    who: Option<&Person>,
    method: &str,
    path: &str,
    body: Value,
) -> Response {
    let auth = who.map(|p| format!("Bearer {}", p.token));
    let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    app.request(method, path, &headers, Some(body.to_string().into_bytes()))
        .await
}

impl World {
    fn letters(&self, items: &Value) -> Vec<&'static str> {
        items
            .as_array()
            .expect("items array")
            .iter()
            .map(|i| {
                let id = i["item_id"].as_str().expect("item_id");
                *self
                    .ids
                    .iter()
                    .find(|(_, v)| v.as_str() == id)
                    .expect("known item")
                    .0
            })
            .collect()
    }
    async fn list(&self, who: &Person, query: &str) -> Vec<&'static str> {
        let res = get(&self.app, Some(who), &format!("/api/v1/items?{query}")).await;
        assert_eq!(res.status, 200, "{query}: {}", res.text());
        self.letters(&res.json()["items"])
    }
}

// ---------------------------------------------------------------------------

#[actix_web::test]
async fn every_filter_selects_exactly_the_matching_items() {
    let w = world().await;
    let c = &w.coord;
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("".into(), vec!["G", "F", "D", "C", "B", "A", "H"]),
        (
            "wijk=oostermeent".into(),
            vec!["G", "F", "C", "B", "A", "H"],
        ),
        ("wijk=centrum".into(), vec!["D"]),
        ("category=vervuiling".into(), vec!["B"]),
        ("category=drugs,verkeer".into(), vec!["D"]),
        ("severity=urgent".into(), vec!["B"]),
        ("severity=zorgelijk".into(), vec!["F", "D"]),
        (
            format!("from={}&to={}", T0 + 2 * DAY, T0 + 5 * DAY),
            vec!["D", "C", "B"],
        ),
        ("team=zuid".into(), vec!["D"]),
        (format!("author={}", w.boa_n.id()), vec!["C", "B", "A", "H"]),
        ("status=open".into(), vec!["B"]),
        ("status=in_behandeling".into(), vec!["A"]),
        ("status=afgerond".into(), vec!["G"]),
        ("partner=politie".into(), vec!["A"]),
        ("partner=gemeente_openbare_ruimte".into(), vec!["G", "B"]),
        (
            "partner=gemeente_openbare_ruimte&status=afgerond".into(),
            vec!["G"],
        ),
        ("partner=politie&status=open".into(), vec![]),
        ("feedback_outstanding=true".into(), vec!["F", "B"]),
        (
            "feedback_outstanding=false".into(),
            vec!["G", "D", "C", "A", "H"],
        ),
        ("kind=walk".into(), vec!["D", "C", "B", "A", "H"]),
        ("kind=spreekuur".into(), vec!["G", "F"]),
        (
            "kind=walk&wijk=oostermeent&severity=aandacht".into(),
            vec!["A", "H"],
        ),
        (
            "sort=severity".into(),
            vec!["B", "F", "D", "A", "H", "G", "C"],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(w.list(c, &query).await, expected, "query {query:?}");
    }
}

#[actix_web::test]
async fn each_role_sees_only_its_own_part_of_the_list() {
    let w = world().await;
    assert_eq!(w.list(&w.boa_n, "").await, vec!["C", "B", "A", "H"]);
    assert_eq!(w.list(&w.boa_z, "").await, vec!["D"]);
    assert_eq!(w.list(&w.sp_n, "").await, vec!["G", "F"]);
    // A team filter cannot widen the scope.
    assert_eq!(w.list(&w.boa_n, "team=zuid").await, Vec::<&str>::new());
}

#[actix_web::test]
async fn full_text_search_finds_dutch_words_by_prefix_and_ignores_accents() {
    let w = world().await;
    let c = &w.coord;
    assert_eq!(w.list(c, "q=fiets").await, vec!["B"]);
    assert_eq!(w.list(c, "q=Fietsen").await, vec!["B"]);
    assert_eq!(w.list(c, "q=caf%C3%A9").await, vec!["D"]); // café
    assert_eq!(w.list(c, "q=cafe").await, vec!["D"]);
    assert_eq!(w.list(c, "q=jongeren%20roef").await, vec!["A"]);
    assert_eq!(w.list(c, "q=geluid").await, vec!["F"]);
    assert_eq!(
        w.list(c, "q=marktplein&kind=spreekuur").await,
        vec!["G", "F"]
    );
    assert_eq!(w.list(c, "q=fiets%20caf%C3%A9").await, Vec::<&str>::new());
    // FTS syntax typed by a user is just text, never an error.
    assert_eq!(w.list(c, "q=%22kapot%22%20OR").await, Vec::<&str>::new());
    assert_eq!(w.list(c, "q=NEAR(kapot").await, Vec::<&str>::new());
    assert_eq!(w.list(c, "q=kapot").await, vec!["G", "B"]);
    assert_eq!(w.list(c, "q=%2A%2A").await, Vec::<&str>::new());
    // Deleted items are not found.
    assert_eq!(w.list(c, "q=rijden").await, Vec::<&str>::new());
}

#[actix_web::test]
async fn bad_parameters_get_a_stable_error() {
    let w = world().await;
    for query in [
        "severity=hoog",
        "kind=boot",
        "from=gisteren",
        "limit=0",
        "limit=501",
        "cursor=zzz",
        "sort=random",
        "feedback_outstanding=misschien",
        "wijkk=centrum",
        "status=klaar",
    ] {
        let res = get(&w.app, Some(&w.coord), &format!("/api/v1/items?{query}")).await;
        assert_eq!(res.status, 400, "{query}");
        assert_eq!(res.json()["code"], "invalid_parameter", "{query}");
        assert!(
            res.json()["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

#[actix_web::test]
async fn paging_has_no_duplicates_or_gaps_while_new_items_arrive() {
    let app = spawn_app().await;
    let catalog = Catalog::defaults();
    let boa = person(&app, "boa", &[Role::Boa], Some("noord")).await;
    let mut walk = new_walk(&catalog, &boa, "noord", "centrum", "Lange ronde");
    let mut original = BTreeSet::new();
    for i in 0..23 {
        // Pairs of items share a timestamp: the tie-break must hold.
        let id = add(
            &mut walk,
            &catalog,
            &boa,
            T0 + (i / 2) * 60_000,
            "verkeer",
            Severity::Aandacht,
            &format!("Melding {i}"),
            None,
            false,
        );
        original.insert(id);
    }
    walk.commit(&app, &boa);

    let mut seen: Vec<(i64, String)> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/items?limit=5&cursor={c}"),
            None => "/api/v1/items?limit=5".to_owned(),
        };
        let res = get(&app, Some(&boa), &path).await;
        assert_eq!(res.status, 200, "{}", res.text());
        let body = res.json();
        for item in body["items"].as_array().expect("items") {
            seen.push((
                item["created_at"].as_i64().expect("created_at"),
                item["item_id"].as_str().expect("id").to_owned(),
            ));
        }
        pages += 1;
        // Between pages: newer items arrive and the document is re-projected
        // (all its rows are rewritten).
        add(
            &mut walk,
            &catalog,
            &boa,
            T0 + 10_000_000 + pages * 1000,
            "verkeer",
            Severity::Urgent,
            "Nieuw tijdens het bladeren",
            None,
            false,
        );
        walk.commit(&app, &boa);
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 20, "paging does not end");
    }
    let ids: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
    let unique: BTreeSet<&String> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no item twice");
    assert_eq!(
        ids.len(),
        23,
        "exactly the items that existed when paging began"
    );
    for id in &original {
        assert!(unique.contains(id), "item {id} was skipped");
    }
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "newest first");
    assert_eq!(pages, 5);
}

#[actix_web::test]
async fn a_cursor_of_another_sort_order_is_refused() {
    let w = world().await;
    let res = get(
        &w.app,
        Some(&w.coord),
        "/api/v1/items?limit=2&sort=severity",
    )
    .await;
    let cursor = res.json()["next_cursor"]
        .as_str()
        .expect("more pages")
        .to_owned();
    let res = get(
        &w.app,
        Some(&w.coord),
        &format!("/api/v1/items?limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(res.status, 400);
    let res = get(
        &w.app,
        Some(&w.coord),
        &format!("/api/v1/items?limit=2&sort=severity&cursor={cursor}"),
    )
    .await;
    assert_eq!(w.letters(&res.json()["items"]), vec!["D", "A"]);
}

#[actix_web::test]
async fn lists_never_carry_resident_contact_but_the_item_does_and_that_read_is_audited() {
    let w = world().await;
    let res = get(&w.app, Some(&w.coord), "/api/v1/items?kind=spreekuur").await;
    let text = res.text();
    assert!(!text.contains("Jan Jansen") && !text.contains("0612345678"));
    let items = res.json()["items"].clone();
    assert_eq!(items[1]["has_resident_contact"], true);
    assert_eq!(items[0]["has_resident_contact"], false);

    let before = w.app.store().audit_entries(1000).expect("audit").len();
    let g = format!("/api/v1/items/{}/{}", w.session.id(), w.ids["G"]);
    let res = get(&w.app, Some(&w.coord), &g).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        w.app.store().audit_entries(1000).expect("audit").len(),
        before,
        "no contact: no entry"
    );

    let f = format!("/api/v1/items/{}/{}", w.session.id(), w.ids["F"]);
    let res = get(&w.app, Some(&w.sp_n), &f).await;
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(body["item"]["resident"]["name"], "Jan Jansen");
    assert_eq!(body["context"]["kind"], "spreekuur");
    assert_eq!(body["context"]["location"], "Buurthuis De Schakel");
    let entries = w.app.store().audit_entries(1000).expect("audit");
    let read = entries
        .iter()
        .find(|e| e.entry.action == "item.read_personal")
        .expect("audited");
    assert_eq!(
        read.entry.actor.as_ref().map(|a| a.as_str().to_owned()),
        Some(w.sp_n.id())
    );
    assert_eq!(
        read.entry.subject.as_deref(),
        Some(format!("{}/{}", w.session.id(), w.ids["F"]).as_str())
    );
}

#[actix_web::test]
async fn an_item_comes_with_its_walk_context() {
    let w = world().await;
    let res = get(
        &w.app,
        Some(&w.boa_n),
        &format!("/api/v1/items/{}/{}", w.walk_n.id(), w.ids["A"]),
    )
    .await;
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(body["item"]["text"], "Jongeren bij de Roef");
    assert_eq!(
        body["item"]["follow_up"]["politie"]["status"],
        "in_behandeling"
    );
    assert_eq!(body["context"]["title"], "Avondronde Noord");
    assert_eq!(body["context"]["wijk"], "oostermeent");
    assert_eq!(body["context"]["route"], "Markt, Kerkstraat, park");
    // Unknown item, unknown document, malformed id: all 404.
    for path in [
        format!("/api/v1/items/{}/{}", w.walk_n.id(), uuid::Uuid::new_v4()),
        format!("/api/v1/items/{}/{}", uuid::Uuid::new_v4(), w.ids["A"]),
        "/api/v1/items/not-a-uuid/x".to_owned(),
    ] {
        let res = get(&w.app, Some(&w.coord), &path).await;
        assert_eq!(res.status, 404, "{path}");
        assert_eq!(res.json()["code"], "not_found");
    }
}

#[actix_web::test]
async fn history_names_who_changed_which_fields_and_when() {
    let w = world().await;
    let res = get(
        &w.app,
        Some(&w.coord),
        &format!("/api/v1/items/{}/{}/history", w.walk_n.id(), w.ids["A"]),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let entries = res.json()["entries"].as_array().expect("entries").clone();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let created = &entries[0];
    assert_eq!(created["created"], true);
    assert_eq!(created["user_id"], w.boa_n.id());
    assert_eq!(created["user_name"], "boa-noord (test)");
    assert_eq!(created["message"], "add_observation");
    assert_eq!(created["time"], T0 + DAY);
    assert!(created["received_at"].as_i64().is_some());
    let fields: Vec<&str> = created["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for f in ["category", "severity", "text", "created_by"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let follow_up = &entries[1];
    assert_eq!(follow_up["created"], false);
    assert_eq!(follow_up["user_id"], w.coord.id());
    assert_eq!(follow_up["message"], "set_follow_up");
    let fields: Vec<&str> = follow_up["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(fields.contains(&"follow_up.politie.status"), "{fields:?}");
    assert!(
        !fields.iter().any(|f| f.starts_with("category")),
        "{fields:?}"
    );
    // The follow-up of item B (same change set, other item) is not in A's history.
    let res = get(
        &w.app,
        Some(&w.coord),
        &format!("/api/v1/items/{}/{}/history", w.walk_n.id(), w.ids["H"]),
    )
    .await;
    assert_eq!(res.json()["entries"].as_array().expect("entries").len(), 1);
}

#[actix_web::test]
async fn stats_count_the_period_and_the_previous_one_with_positive_signals_apart() {
    let w = world().await;
    let res = get(
        &w.app,
        Some(&w.coord),
        &format!("/api/v1/stats?from={T0}&to={}", T0 + 10 * DAY),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let s = res.json();
    assert_eq!(s["previous_from"], T0 - 10 * DAY);
    assert_eq!(s["problems"], json!({"current": 5, "previous": 1}));
    assert_eq!(s["positive"], json!({"current": 1, "previous": 0}));
    assert_eq!(
        s["by_wijk"]["oostermeent"],
        json!({"current": 4, "previous": 1})
    );
    assert_eq!(
        s["by_wijk"]["centrum"],
        json!({"current": 1, "previous": 0})
    );
    assert_eq!(
        s["positive_by_wijk"]["oostermeent"],
        json!({"current": 1, "previous": 0})
    );
    assert_eq!(
        s["by_category"]["jeugdoverlast"],
        json!({"current": 1, "previous": 1})
    );
    assert_eq!(
        s["by_category"]["positief_signaal"],
        json!({"current": 1, "previous": 0})
    );
    assert!(
        s["by_category"]["verkeer"].is_null(),
        "deleted items are not counted"
    );
    assert_eq!(
        s["by_severity"]["zorgelijk"],
        json!({"current": 2, "previous": 0})
    );
    assert_eq!(
        s["by_severity"]["aandacht"],
        json!({"current": 1, "previous": 1})
    );
    assert_eq!(
        s["by_severity"]["informatief"],
        json!({"current": 1, "previous": 0})
    );
    // Over time: ten steps of a day, each beside the same day of the
    // previous ten (H, five days before T0, is in step 5 of those).
    assert_eq!(s["step_ms"], DAY);
    let series = s["series"].as_array().expect("series");
    assert_eq!(series.len(), 10);
    assert_eq!(series[0]["start"], T0);
    assert_eq!(series[9]["start"], T0 + 9 * DAY);
    let pairs = |key: &str| -> Vec<(u64, u64)> {
        series
            .iter()
            .map(|x| {
                (
                    x[key]["current"].as_u64().expect("n"),
                    x[key]["previous"].as_u64().expect("n"),
                )
            })
            .collect()
    };
    assert_eq!(
        pairs("problems"),
        [
            (0, 0),
            (1, 0),
            (1, 0),
            (0, 0),
            (1, 0),
            (0, 1),
            (1, 0),
            (1, 0),
            (0, 0),
            (0, 0)
        ]
    );
    let mut positive = vec![(0, 0); 10];
    positive[3] = (1, 0);
    assert_eq!(pairs("positive"), positive);
    // The series of one category, of one wijk; the other counts stay.
    let series_of = |q: String| {
        let app = &w.app;
        let coord = &w.coord;
        async move {
            let res = get(
                app,
                Some(coord),
                &format!("/api/v1/stats?from={T0}&to={}&{q}", T0 + 10 * DAY),
            )
            .await;
            assert_eq!(res.status, 200, "{q}: {}", res.text());
            let s = res.json();
            assert_eq!(s["problems"], json!({"current": 5, "previous": 1}), "{q}");
            s["series"]
                .as_array()
                .expect("series")
                .iter()
                .map(|x| {
                    (
                        x["problems"]["current"].as_u64().expect("n"),
                        x["problems"]["previous"].as_u64().expect("n"),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let mut jeugd = vec![(0, 0); 10];
    jeugd[1] = (1, 0);
    jeugd[5] = (0, 1);
    assert_eq!(
        series_of("series_category=jeugdoverlast".into()).await,
        jeugd
    );
    let mut centrum = vec![(0, 0); 10];
    centrum[4] = (1, 0);
    assert_eq!(series_of("series_wijk=centrum".into()).await, centrum);
    assert_eq!(
        series_of("series_wijk=centrum&series_category=jeugdoverlast".into()).await,
        vec![(0, 0); 10]
    );
    for q in ["series_wijk=atlantis", "series_category=geen"] {
        let res = get(&w.app, Some(&w.coord), &format!("/api/v1/stats?{q}")).await;
        assert_eq!(res.status, 400, "{q}: {}", res.text());
        assert_eq!(res.json()["code"], "invalid_parameter");
    }
    let res = get(
        &w.app,
        Some(&w.coord),
        &format!("/api/v1/stats?from={T0}&to={T0}"),
    )
    .await;
    assert_eq!(res.status, 400);
}

/// Every list that takes a time in its query answers one rule with one
/// sentence: whole ms from 0 to the end of the year 9999. Before, the stats
/// took any `i64`, and `from - (to - from)` overflowed on the extremes
/// (a panic in a debug build, a wrapped period in a release build).
#[actix_web::test]
async fn a_time_in_a_query_is_whole_ms_from_zero_to_the_year_9999_everywhere() {
    let w = world().await;
    const SENTENCE: &str = "A time must be a whole number of milliseconds since 1970-01-01 UTC, from 0 to 253402300799999.";
    let (min, max) = (i64::MIN, i64::MAX);
    let cases: Vec<(&Person, String)> = vec![
        (&w.coord, format!("/api/v1/stats?from={min}&to={max}")),
        (&w.coord, format!("/api/v1/stats?from=0&to={max}")),
        (&w.coord, "/api/v1/stats?to=-1".into()),
        (&w.coord, format!("/api/v1/items?from={min}")),
        (&w.coord, "/api/v1/items?to=253402300800000".into()),
        (&w.coord, "/api/v1/items?from=1.5".into()),
        (&w.coord, format!("/api/v1/documents?from={max}")),
        (&w.admin, format!("/api/v1/admin/audit?from={min}")),
        (&w.admin, "/api/v1/admin/audit?to=gisteren".into()),
    ];
    for (who, path) in cases {
        let res = get(&w.app, Some(who), &path).await;
        assert_eq!(res.status, 400, "{path}: {}", res.text());
        let body = res.json();
        assert_eq!(body["code"], "invalid_parameter", "{path}");
        assert_eq!(body["message"], SENTENCE, "{path}");
    }
    // The widest period the rule allows is answered, not overflowed.
    let res = get(
        &w.app,
        Some(&w.coord),
        "/api/v1/stats?from=0&to=253402300799999",
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
}

#[actix_web::test]
async fn csv_export_quotes_commas_quotes_and_newlines_and_starts_with_a_bom() {
    let w = world().await;
    let res = get(&w.app, Some(&w.coord), "/api/v1/export.csv").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(res.body.starts_with(b"\xEF\xBB\xBF"), "BOM");
    let mut reader = csv::ReaderBuilder::new().from_reader(&res.body[3..]);
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert!(!header.iter().any(|h| h.starts_with("resident")));
    let col = |name: &str| header.iter().position(|h| h == name).expect("column");
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("parses");
    assert_eq!(rows.len(), 7);
    let b = rows
        .iter()
        .find(|r| r[col("item_id")] == w.ids["B"])
        .expect("row B");
    assert_eq!(&b[col("text")], B_TEXT);
    assert_eq!(&b[col("created_at")], "2026-01-03T00:00:00Z");
    assert_eq!(&b[col("follow_up")], "gemeente_openbare_ruimte: open");
    assert_eq!(&b[col("kind")], "walk");
    // The raw bytes use RFC 4180 quoting: doubled quotes, CRLF records.
    let raw = String::from_utf8(res.body[3..].to_vec()).expect("utf-8");
    assert!(raw.contains("\"Fietsen tegen de gevel, \"\"kapot\"\"\nen vies; zie foto\""));
    assert!(raw.ends_with("\r\n"));
    let d = rows
        .iter()
        .find(|r| r[col("item_id")] == w.ids["D"])
        .expect("row D");
    assert_eq!(&d[col("text")], "Overlast bij café De Hoek");
    assert!(!raw.contains("Jan Jansen"));

    let audit = w.app.store().audit_entries(10).expect("audit");
    let e = audit
        .iter()
        .find(|e| e.entry.action == "export.csv")
        .expect("export audited");
    assert_eq!(e.entry.detail["count"], 7);
    assert_eq!(e.entry.detail["include_personal"], false);
}

#[actix_web::test]
async fn personal_columns_need_a_reason_which_is_audited() {
    let w = world().await;
    let res = get(
        &w.app,
        Some(&w.coord),
        "/api/v1/export.csv?include_personal=true",
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "invalid_parameter");
    let res = get(
        &w.app,
        Some(&w.coord),
        "/api/v1/export.csv?include_personal=true&reason=%20%20",
    )
    .await;
    assert_eq!(res.status, 400);
    let res = get(
        &w.app,
        Some(&w.coord),
        "/api/v1/export.csv?include_personal=true&reason=Terugbellen%20wijkoverleg&kind=spreekuur",
    )
    .await;
    assert_eq!(res.status, 200);
    let mut reader = csv::Reader::from_reader(&res.body[3..]);
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let name = header
        .iter()
        .position(|h| h == "resident_name")
        .expect("personal column");
    let phone = header
        .iter()
        .position(|h| h == "resident_phone")
        .expect("personal column");
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("parses");
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .any(|r| &r[name] == "Jan Jansen" && &r[phone] == "0612345678")
    );
    let audit = w.app.store().audit_entries(10).expect("audit");
    let e = audit
        .iter()
        .find(|e| e.entry.action == "export.csv")
        .expect("audited");
    assert_eq!(e.entry.detail["reason"], "Terugbellen wijkoverleg");
    assert_eq!(e.entry.detail["include_personal"], true);
    assert_eq!(e.entry.detail["filters"]["kind"], "spreekuur");
    assert_eq!(
        e.entry.detail["personal_items"],
        json!([format!("{}/{}", w.session.id(), w.ids["F"])])
    );
}

/// `wijklog-meldingen-YYYY-MM-DD.EXT`, with today's date in Amsterdam (the
/// test's clock and the server's are the same machine's).
fn dated_attachment(res: &Response, ext: &str) {
    let cd = res
        .header("content-disposition")
        .expect("content-disposition");
    let name = cd
        .strip_prefix("attachment; filename=\"wijklog-meldingen-")
        .and_then(|s| s.strip_suffix(&format!(".{ext}\"")))
        .unwrap_or_else(|| panic!("not a dated file name: {cd}"));
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").expect("tz"))
        .date()
        .to_string();
    assert_eq!(name, today, "{cd}");
}

#[actix_web::test]
async fn xlsx_export_reads_as_words_with_local_times_and_author_names() {
    use calamine::{Data, Reader, Xlsx};
    let w = world().await;
    let res = get(&w.app, Some(&w.coord), "/api/v1/export.xlsx").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type"),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    dated_attachment(&res, "xlsx");
    let mut book = Xlsx::new(std::io::Cursor::new(res.body.to_vec())).expect("an xlsx file");
    assert_eq!(book.sheet_names(), vec!["Meldingen".to_owned()]);
    let range = book.worksheet_range("Meldingen").expect("the sheet");
    let rows: Vec<&[Data]> = range.rows().collect();
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(header[0], "Soort");
    assert!(!header.iter().any(|h| h.contains("bewoner")), "{header:?}");
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    assert_eq!(rows.len(), 8, "heading + 7 items");
    let b = rows[1..]
        .iter()
        .find(|r| r[col("Item")].to_string() == w.ids["B"])
        .expect("row B");
    assert_eq!(b[col("Soort")].to_string(), "waarneming");
    assert_eq!(b[col("Categorie")].to_string(), "Vervuiling / zwerfafval");
    assert_eq!(b[col("Ernst")].to_string(), "Urgent");
    assert_eq!(b[col("Wijk")].to_string(), "Oostermeent");
    assert_eq!(b[col("Auteur")].to_string(), "boa-noord (test)");
    assert_eq!(b[col("Tekst")].to_string(), B_TEXT);
    assert_eq!(
        b[col("Opvolging")].to_string(),
        "Gemeente openbare ruimte: open"
    );
    assert_eq!(b[col("Terugkoppeling nodig")].to_string(), "ja");
    // 2026-01-03 00:00 UTC is 01:00 in Amsterdam: Excel serial 46025 + 1/24,
    // a real date cell.
    match &b[col("Datum en tijd")] {
        Data::DateTime(d) => assert!((d.as_f64() - 46_025.041_666).abs() < 1e-5, "{d:?}"),
        other => panic!("not a date cell: {other:?}"),
    }
    let a = rows[1..]
        .iter()
        .find(|r| r[col("Item")].to_string() == w.ids["A"])
        .expect("row A");
    assert_eq!(a[col("Breedtegraad")], Data::Float(52.37));
    assert_eq!(
        a[col("Opvolging")].to_string(),
        "Politie (wijkagent): in behandeling"
    );

    let audit = w.app.store().audit_entries(10).expect("audit");
    let e = audit
        .iter()
        .find(|e| e.entry.action == "export.xlsx")
        .expect("export audited");
    assert_eq!(e.entry.detail["count"], 7);
}

#[actix_web::test]
async fn excel_csv_is_semicolon_separated_with_local_times_decimal_commas_and_reasoned_contact() {
    let w = world().await;
    let res = get(&w.app, Some(&w.coord), "/api/v1/export.csv?dialect=excel").await;
    assert_eq!(res.status, 200);
    dated_attachment(&res, "csv");
    assert!(res.body.starts_with(b"\xEF\xBB\xBF"), "BOM");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&res.body[3..]);
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("parses");
    assert_eq!(rows.len(), 7);
    let a = rows
        .iter()
        .find(|r| r[col("Item")] == w.ids["A"])
        .expect("row A");
    assert_eq!(&a[col("Datum en tijd")], "02-01-2026 01:00");
    assert_eq!(&a[col("Breedtegraad")], "52,37");
    assert_eq!(&a[col("Categorie")], "Jeugdoverlast");
    let d = rows
        .iter()
        .find(|r| r[col("Item")] == w.ids["D"])
        .expect("row D");
    assert_eq!(&d[col("Terugkoppeling via")], "telefoon");
    assert_eq!(&d[col("Terugkoppeling gegeven op")], "10-01-2026 01:00");

    for path in [
        "/api/v1/export.csv?dialect=excel&include_personal=true",
        "/api/v1/export.xlsx?include_personal=true",
    ] {
        let res = get(&w.app, Some(&w.coord), path).await;
        assert_eq!(res.status, 400, "{path}");
        assert_eq!(res.json()["code"], "invalid_parameter");
    }
    let res = get(&w.app, Some(&w.coord), "/api/v1/export.csv?dialect=tsv").await;
    assert_eq!(res.status, 400);
    let res = get(
        &w.app,
        Some(&w.coord),
        "/api/v1/export.csv?dialect=excel&include_personal=true&reason=Terugbellen&kind=spreekuur",
    )
    .await;
    assert_eq!(res.status, 200);
    let body = String::from_utf8(res.body[3..].to_vec()).expect("utf-8");
    assert!(body.contains("Jan Jansen"), "contact with a reason");
    assert!(
        body.lines()
            .next()
            .expect("header")
            .contains("Naam bewoner")
    );
    let audit = w.app.store().audit_entries(10).expect("audit");
    let e = audit
        .iter()
        .find(|e| e.entry.action == "export.csv")
        .expect("audited");
    assert_eq!(e.entry.detail["format"], "excel");
    assert_eq!(e.entry.detail["reason"], "Terugbellen");
}

#[actix_web::test]
async fn geojson_export_is_a_valid_feature_collection_of_lon_lat_points() {
    let w = world().await;
    let res = get(&w.app, Some(&w.coord), "/api/v1/export.geojson").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/geo+json"));
    let g = res.json();
    assert_eq!(g["type"], "FeatureCollection");
    let features = g["features"].as_array().expect("features");
    assert_eq!(features.len(), 3, "only items with a location (A, C, D)");
    for f in features {
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["geometry"]["type"], "Point");
        let c = f["geometry"]["coordinates"]
            .as_array()
            .expect("coordinates");
        assert_eq!(c.len(), 2);
        let (lon, lat) = (c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"));
        assert!((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat));
        assert!(f["properties"].is_object());
        assert!(f["properties"].get("resident").is_none());
    }
    let a = features
        .iter()
        .find(|f| f["properties"]["item_id"] == w.ids["A"].as_str())
        .expect("A");
    assert_eq!(
        a["geometry"]["coordinates"],
        json!([5.21, 52.37]),
        "[lon, lat] per RFC 7946"
    );
    let res = get(
        &w.app,
        Some(&w.coord),
        "/api/v1/export.geojson?wijk=centrum",
    )
    .await;
    assert_eq!(
        res.json()["features"].as_array().expect("features").len(),
        1
    );
    let audit = w.app.store().audit_entries(10).expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.entry.action == "export.geojson" && e.entry.detail["count"] == 1)
    );
}

/// The GeoJSON export never carries resident contact details: a note that
/// has both contact details and a location is in the export, and none of its
/// contact values appears anywhere in the bytes.
#[actix_web::test]
async fn geojson_export_never_carries_contact_details_of_a_located_note() {
    let mut w = world().await;
    let catalog = Catalog::defaults();
    let located = add(
        &mut w.session,
        &catalog,
        &w.sp_n,
        T0 + 6 * DAY,
        "woonoverlast",
        Severity::Zorgelijk,
        "Burenruzie aan de Gracht",
        Some((52.371, 5.211)),
        true,
    );
    {
        let uid = w.sp_n.uid();
        let doc = w.session.as_user(&w.sp_n);
        doc.set_resident_contact(
            &uid,
            at(T0 + 6 * DAY),
            &item_id(&located),
            ResidentContact {
                name: Some("Zwaantje Markeerling".into()),
                phone: Some("0687654321".into()),
                email: Some("zwaantje.markeer@example.org".into()),
                consent: true,
            },
        )
        .expect("contact");
    }
    w.session.commit(&w.app, &w.sp_n);
    // The coordinator's item read does show the contact: the markers are real.
    let read = get(
        &w.app,
        Some(&w.coord),
        &format!("/api/v1/items/{}/{located}", w.session.id()),
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.text());
    assert!(read.text().contains("Markeerling"), "{}", read.text());
    // (`include_personal` is not a parameter of this export: 400.)
    for query in ["", "?kind=spreekuur"] {
        let res = get(
            &w.app,
            Some(&w.coord),
            &format!("/api/v1/export.geojson{query}"),
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.text());
        let features = res.json()["features"].as_array().expect("features").clone();
        assert!(
            features
                .iter()
                .any(|f| f["properties"]["item_id"] == located.as_str()),
            "the located note with contact details is exported"
        );
        let body = res.text();
        for marker in [
            "Zwaantje",
            "Markeerling",
            "0687654321",
            "zwaantje.markeer@example.org",
            "markeer@",
        ] {
            assert!(!body.contains(marker), "{marker} in the GeoJSON: {body}");
        }
    }
}

#[actix_web::test]
async fn the_walk_report_groups_observations_and_lists_actions_per_partner() {
    let w = world().await;
    let res = get(
        &w.app,
        Some(&w.boa_n),
        &format!("/api/v1/walks/{}/report", w.walk_n.id()),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let r = res.json();
    assert_eq!(r["title"], "Avondronde Noord");
    assert_eq!(r["wijk_label"], "Oostermeent");
    assert_eq!(r["route"], "Markt, Kerkstraat, park");
    assert_eq!(r["observation_count"], 4);
    // The walker is the boa who logged the observations (the coordinator's
    // follow-ups do not make them a walker); there are no participants.
    assert_eq!(
        r["walkers"],
        json!([{"id": w.boa_n.id(), "name": "boa-noord (test)", "observations": 4}])
    );
    assert_eq!(r["participants"], json!([]));
    let cats: Vec<&str> = r["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        cats,
        vec!["jeugdoverlast", "vervuiling", "positief_signaal"],
        "catalog order"
    );
    assert_eq!(
        r["categories"][0]["items"].as_array().expect("items").len(),
        2
    );
    assert_eq!(
        r["categories"][0]["items"][0]["text"], "Eerder: groep op het plein",
        "oldest first"
    );
    // C's photos, in list order, for thumbnails; items without photos have none.
    let c = &r["categories"][2]["items"][0];
    assert_eq!(c["text"], "Buurtbewoners ruimen samen op");
    assert_eq!(c["photo_count"], 2);
    assert_eq!(c["photos"], json!([PHOTO_1, PHOTO_2]));
    assert_eq!(r["categories"][0]["items"][0]["photos"], json!([]));
    assert_eq!(r["categories"][2]["positive"], true);
    let partners: Vec<&str> = r["partners"]
        .as_array()
        .expect("partners")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(partners, vec!["politie", "gemeente_openbare_ruimte"]);
    assert_eq!(r["partners"][0]["actions"][0]["status"], "in_behandeling");
    assert_eq!(
        r["partners"][0]["actions"][0]["note"],
        "Wijkagent gaat langs"
    );
    assert_eq!(r["partners"][0]["label"], "Politie (wijkagent)");
    // A deleted observation does not count: walk Zuid has D (boa-zuid) and E (deleted).
    let res = get(
        &w.app,
        Some(&w.coord),
        &format!("/api/v1/walks/{}/report", w.walk_z.id()),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json()["walkers"],
        json!([{"id": w.boa_z.id(), "name": "boa-zuid (test)", "observations": 1}])
    );
    // A spreekuur session is not a walk.
    let res = get(
        &w.app,
        Some(&w.coord),
        &format!("/api/v1/walks/{}/report", w.session.id()),
    )
    .await;
    assert_eq!(res.status, 404);
}

#[actix_web::test]
async fn the_feedback_work_list_is_oldest_first_with_the_age_in_days() {
    let w = world().await;
    let res = get(&w.app, Some(&w.coord), "/api/v1/feedback/open").await;
    assert_eq!(res.status, 200);
    let items = res.json()["items"].as_array().expect("items").clone();
    let ids: Vec<&str> = items
        .iter()
        .map(|i| i["item"]["item_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, vec![w.ids["B"].as_str(), w.ids["F"].as_str()]);
    let now = wijklog_server::domain::now_ms();
    assert_eq!(items[0]["age_days"], (now - (T0 + 2 * DAY)) / DAY);
    assert_eq!(items[1]["kind"], "spreekuur");
    assert!(items[1]["item"].get("resident").is_none());
    // Staff see only their own part.
    let res = get(&w.app, Some(&w.boa_n), "/api/v1/feedback/open").await;
    let items = res.json()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
}

/// Every role on every endpoint.
#[actix_web::test]
async fn every_endpoint_checks_the_role() {
    let w = world().await;
    let walk_a = format!("/api/v1/items/{}/{}", w.walk_n.id(), w.ids["A"]);
    let walk_d = format!("/api/v1/items/{}/{}", w.walk_z.id(), w.ids["D"]);
    let note_g = format!("/api/v1/items/{}/{}", w.session.id(), w.ids["G"]);
    let hist_a = format!("{walk_a}/history");
    let hist_g = format!("{note_g}/history");
    let report_n = format!("/api/v1/walks/{}/report", w.walk_n.id());
    let devices = format!("/api/v1/admin/users/{}/devices", w.boa_n.id());
    // Expected status per caller: coordinator, boa noord, boa zuid, spreekuur noord, admin, nobody.
    let table: Vec<(&str, String, [u16; 6])> = vec![
        (
            "GET",
            "/api/v1/items".into(),
            [200, 200, 200, 200, 403, 401],
        ),
        ("GET", walk_a.clone(), [200, 200, 404, 404, 403, 401]),
        ("GET", walk_d.clone(), [200, 404, 200, 404, 403, 401]),
        ("GET", note_g.clone(), [200, 404, 404, 200, 403, 401]),
        ("GET", hist_a.clone(), [200, 200, 404, 404, 403, 401]),
        ("GET", hist_g.clone(), [200, 404, 404, 200, 403, 401]),
        (
            "GET",
            "/api/v1/feedback/open".into(),
            [200, 200, 200, 200, 403, 401],
        ),
        (
            "GET",
            "/api/v1/stats".into(),
            [200, 403, 403, 403, 403, 401],
        ),
        (
            "GET",
            "/api/v1/people".into(),
            [200, 403, 403, 403, 403, 401],
        ),
        (
            "GET",
            "/api/v1/client-config".into(),
            [200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/export.csv".into(),
            [200, 403, 403, 403, 403, 401],
        ),
        (
            "GET",
            "/api/v1/export.xlsx".into(),
            [200, 403, 403, 403, 403, 401],
        ),
        (
            "GET",
            "/api/v1/export.geojson".into(),
            [200, 403, 403, 403, 403, 401],
        ),
        ("GET", report_n.clone(), [200, 200, 404, 404, 403, 401]),
        (
            "GET",
            "/api/v1/admin/users".into(),
            [403, 403, 403, 403, 200, 401],
        ),
        ("GET", devices.clone(), [403, 403, 403, 403, 200, 401]),
        (
            "GET",
            "/api/v1/admin/audit".into(),
            [403, 403, 403, 403, 200, 401],
        ),
        // Mutations with a body that would be invalid: the role is checked first.
        (
            "POST",
            "/api/v1/admin/users".into(),
            [403, 403, 403, 403, 400, 401],
        ),
        (
            "PATCH",
            format!("/api/v1/admin/users/{}", w.boa_z.id()),
            [403, 403, 403, 403, 400, 401],
        ),
        (
            "POST",
            format!("/api/v1/admin/users/{}/password", w.boa_z.id()),
            [403, 403, 403, 403, 400, 401],
        ),
        (
            "POST",
            format!("/api/v1/admin/devices/{}/revoke", uuid::Uuid::new_v4()),
            [403, 403, 403, 403, 404, 401],
        ),
    ];
    let callers = [
        Some(&w.coord),
        Some(&w.boa_n),
        Some(&w.boa_z),
        Some(&w.sp_n),
        Some(&w.admin),
        None,
    ];
    for (method, path, expected) in &table {
        for (who, want) in callers.iter().zip(expected) {
            let res = if *method == "GET" {
                get(&w.app, *who, path).await
            } else {
                send(&w.app, *who, method, path, json!({"bogus": true})).await
            };
            let name = who.map_or("nobody", |p| p.user.username.as_str());
            assert_eq!(
                res.status,
                *want,
                "{method} {path} as {name}: {}",
                res.text()
            );
            if res.status != 200 {
                assert!(
                    res.json()["code"].is_string(),
                    "{method} {path} as {name}: JSON error"
                );
            }
        }
    }
}

#[actix_web::test]
async fn admins_manage_accounts_and_every_action_is_audited() {
    let w = world().await;
    let a = &w.admin;
    // Create.
    let res = send(
        &w.app,
        Some(a),
        "POST",
        "/api/v1/admin/users",
        json!({
        "username": "nieuwe-boa", "name": "Nieuwe Boa", "password": "een-lang-wachtwoord",
        "roles": ["boa"], "team": "noord"}),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let created = res.json();
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["roles"], json!(["boa"]));
    assert!(created.get("password_hash").is_none());
    let login = w
        .app
        .login("nieuwe-boa", "een-lang-wachtwoord")
        .await
        .expect("can log in");
    // Duplicate, bad roles, short password.
    let res = send(&w.app, Some(a), "POST", "/api/v1/admin/users", json!({
        "username": "NIEUWE-boa", "name": "X", "password": "een-lang-wachtwoord", "roles": ["boa"]})).await;
    assert_eq!(
        (res.status, res.json()["code"].clone()),
        (409, json!("username_taken"))
    );
    let res = send(
        &w.app,
        Some(a),
        "POST",
        "/api/v1/admin/users",
        json!({
        "username": "x", "name": "X", "password": "een-lang-wachtwoord", "roles": ["root"]}),
    )
    .await;
    assert_eq!(res.status, 400);
    let res = send(
        &w.app,
        Some(a),
        "POST",
        "/api/v1/admin/users",
        json!({
        "username": "y", "name": "Y", "password": "kort", "roles": ["boa"]}),
    )
    .await;
    assert_eq!(res.status, 400);
    // Change team and roles.
    let res = send(
        &w.app,
        Some(a),
        "PATCH",
        &format!("/api/v1/admin/users/{id}"),
        json!({"team": "zuid", "roles": ["boa", "spreekuur"], "name": "Boa Zuid"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["team"], "zuid");
    assert_eq!(res.json()["roles"], json!(["boa", "spreekuur"]));
    let res = send(
        &w.app,
        Some(a),
        "PATCH",
        &format!("/api/v1/admin/users/{id}"),
        json!({"team": null}),
    )
    .await;
    assert_eq!(res.json()["team"], Value::Null);
    // Devices.
    let res = get(
        &w.app,
        Some(a),
        &format!("/api/v1/admin/users/{id}/devices"),
    )
    .await;
    let devices = res.json()["devices"].as_array().expect("devices").clone();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["id"], login.device_id.as_str());
    // Password reset.
    let res = send(
        &w.app,
        Some(a),
        "POST",
        &format!("/api/v1/admin/users/{id}/password"),
        json!({"password": "nog-een-lang-wachtwoord"}),
    )
    .await;
    assert_eq!(res.status, 204);
    assert!(
        w.app
            .login("nieuwe-boa", "een-lang-wachtwoord")
            .await
            .is_err()
    );
    assert!(
        w.app
            .login("nieuwe-boa", "nog-een-lang-wachtwoord")
            .await
            .is_ok()
    );
    // Revoke the first device: its refresh token and access token die.
    let res = send(
        &w.app,
        Some(a),
        "POST",
        &format!("/api/v1/admin/devices/{}/revoke", login.device_id),
        json!({}),
    )
    .await;
    assert_eq!(res.status, 204);
    assert_eq!(
        w.app
            .refresh(&login.refresh_token)
            .await
            .map(|_| ())
            .unwrap_err()
            .status,
        401
    );
    let res = w
        .app
        .request(
            "GET",
            "/api/v1/items",
            &[("Authorization", &format!("Bearer {}", login.access_token))],
            None,
        )
        .await;
    assert_eq!(
        (res.status, res.json()["code"].clone()),
        (401, json!("revoked"))
    );
    // Disable.
    let res = send(
        &w.app,
        Some(a),
        "PATCH",
        &format!("/api/v1/admin/users/{id}"),
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(res.json()["disabled"], true);
    assert!(
        w.app
            .login("nieuwe-boa", "nog-een-lang-wachtwoord")
            .await
            .is_err()
    );
    // No self-lockout.
    let res = send(
        &w.app,
        Some(a),
        "PATCH",
        &format!("/api/v1/admin/users/{}", a.id()),
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(
        (res.status, res.json()["code"].clone()),
        (409, json!("self_lockout"))
    );
    let res = send(
        &w.app,
        Some(a),
        "PATCH",
        &format!("/api/v1/admin/users/{}", a.id()),
        json!({"roles": ["boa"]}),
    )
    .await;
    assert_eq!(res.status, 409);
    // Unknown user and unknown fields.
    let res = send(
        &w.app,
        Some(a),
        "PATCH",
        "/api/v1/admin/users/unknown",
        json!({"name": "X"}),
    )
    .await;
    assert_eq!(res.status, 404);
    let res = send(
        &w.app,
        Some(a),
        "PATCH",
        &format!("/api/v1/admin/users/{id}"),
        json!({"password_hash": "x"}),
    )
    .await;
    assert_eq!(res.status, 400);

    // The audit log: every action, filterable, newest first.
    let res = get(&w.app, Some(a), "/api/v1/admin/audit?action=admin.").await;
    assert_eq!(res.status, 200);
    let actions: Vec<String> = res.json()["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action"].as_str().expect("action").to_owned())
        .collect();
    assert_eq!(
        actions,
        vec![
            "admin.user.update", // disabled
            "admin.device.revoke",
            "admin.user.password",
            "admin.devices.list",
            "admin.user.update", // team null
            "admin.user.update", // team, roles, name
            "admin.user.create",
        ]
    );
    let res = get(
        &w.app,
        Some(a),
        &format!("/api/v1/admin/audit?subject={id}&limit=2"),
    )
    .await;
    let page = res.json();
    assert_eq!(page["entries"].as_array().expect("entries").len(), 2);
    let before = page["next_before"].as_i64().expect("more");
    let res = get(
        &w.app,
        Some(a),
        &format!("/api/v1/admin/audit?subject={id}&before={before}"),
    )
    .await;
    // create, 2 updates before the page, devices.list, password (the revoke's
    // subject is the device, the disable came after: on the first page).
    assert_eq!(res.json()["entries"].as_array().expect("entries").len(), 4);
    let res = get(
        &w.app,
        Some(a),
        &format!(
            "/api/v1/admin/audit?actor={}&action=admin.user.create",
            a.id()
        ),
    )
    .await;
    let entries = res.json()["entries"].as_array().expect("entries").clone();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["subject"], id.as_str());
    assert_eq!(entries[0]["detail"]["roles"], json!(["boa"]));
    let res = get(
        &w.app,
        Some(a),
        &format!("/api/v1/admin/audit?actor={}", w.coord.id()),
    )
    .await;
    assert!(
        res.json()["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .all(|e| e["actor"] == w.coord.id().as_str()
                && !e["action"].as_str().unwrap_or("").starts_with("admin."))
    );
    // Nobody changes the audit log through the API.
    for method in ["POST", "PATCH", "PUT", "DELETE"] {
        let res = send(&w.app, Some(a), method, "/api/v1/admin/audit", json!({})).await;
        assert!(
            res.status == 404 || res.status == 405,
            "{method}: {}",
            res.status
        );
    }
}

#[actix_web::test]
async fn revoking_a_device_closes_its_sync_connection_within_seconds() {
    use futures_util::{SinkExt, StreamExt};
    let w = world_with(|c| c.auth.session_check_secs = 1).await;
    let (_res, mut ws) = awc::Client::new()
        .ws(w.app.ws_url("/api/v1/sync"))
        .connect()
        .await
        .expect("connect");
    ws.send(awc::ws::Message::Text(
        json!({"type": "auth", "token": w.boa_n.token})
            .to_string()
            .into(),
    ))
    .await
    .expect("auth frame");
    let ready = loop {
        match ws.next().await.expect("frame").expect("ok") {
            awc::ws::Frame::Text(t) => break serde_json::from_slice::<Value>(&t).expect("json"),
            _ => continue,
        }
    };
    assert_eq!(ready["type"], "ready");
    let res = send(
        &w.app,
        Some(&w.admin),
        "POST",
        &format!("/api/v1/admin/devices/{}/revoke", w.boa_n.device),
        json!({}),
    )
    .await;
    assert_eq!(res.status, 204);
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(frame) = ws.next().await {
            if let Ok(awc::ws::Frame::Close(reason)) = frame {
                return reason;
            }
        }
        None
    })
    .await
    .expect("closed within 10 s");
    let reason = closed.expect("close reason");
    assert_eq!(u16::from(reason.code), 4003);
    assert_eq!(reason.description.as_deref(), Some("revoked"));
    let _ = &w.boa_n.refresh;
}

#[actix_web::test]
async fn coordinators_list_people_by_name_without_usernames_or_roles() {
    let w = world().await;
    let res = get(&w.app, Some(&w.coord), "/api/v1/people").await;
    assert_eq!(res.status, 200);
    let people = res.json()["people"].as_array().expect("people").clone();
    let ids: Vec<&str> = people.iter().filter_map(|p| p["id"].as_str()).collect();
    for who in [&w.coord, &w.boa_n, &w.boa_z, &w.sp_n, &w.admin] {
        assert!(
            ids.contains(&who.id().as_str()),
            "{} listed",
            who.user.username
        );
    }
    let boa = people
        .iter()
        .find(|p| p["id"] == w.boa_n.id().as_str())
        .expect("boa-noord");
    assert_eq!(boa["team"], "noord");
    assert_eq!(boa["name"], w.boa_n.user.display_name.as_str());
    let keys: BTreeSet<&str> = boa
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["id", "name", "team"]));
    assert!(
        !res.text().contains("boa-noord\""),
        "no usernames: {}",
        res.text()
    );
}

#[actix_web::test]
async fn client_config_serves_the_configured_map_tiles_without_a_login() {
    let app = spawn_app_with(|c| {
        c.map.tile_url = "https://tiles.example/{z}/{x}/{y}.png".into();
        c.map.attribution = "Test &copy; tegels".into();
        c.map.max_zoom = 17;
    })
    .await;
    let res = app.get("/api/v1/client-config").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"map": {"tile_url": "https://tiles.example/{z}/{x}/{y}.png",
                       "attribution": "Test &copy; tegels", "max_zoom": 17},
               "theme": {"name": "Wijklog", "municipality": "", "color": "#0b3d91",
                         "logo_url": null}})
    );
    let default = spawn_app().await;
    let res = default.get("/api/v1/client-config").await;
    assert_eq!(
        res.json()["map"]["tile_url"],
        "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"
    );
    // Without a logo there is none to fetch.
    let logo = default.get("/api/v1/theme/logo").await;
    assert_eq!(logo.status, 404);
    assert_eq!(logo.json()["code"], "not_found");
}

/// The theme comes from the configuration: name, municipality, colour and
/// the logo file (served as it is on disk, with its type), and the web
/// manifest of the built app carries the name and colour.
#[actix_web::test]
async fn the_theme_and_the_manifest_follow_the_configuration() {
    let dir = tempfile::tempdir().expect("dir");
    let logo = dir.path().join("eemdal.svg");
    let svg = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 4 4'><rect width='4' height='4'/></svg>";
    std::fs::write(&logo, svg).expect("logo");
    let app = spawn_app_with(move |c| {
        c.theme.name = "Buurtlog".into();
        c.theme.municipality = "Gemeente Eemdal".into();
        c.theme.color = "#a61e4d".into();
        c.theme.logo = Some(logo.clone());
        std::fs::create_dir_all(&c.static_dir).expect("static dir");
        std::fs::write(
            c.static_dir.join("manifest.webmanifest"),
            r##"{"name":"Wijklog","short_name":"Wijklog","theme_color":"#0b3d91","id":"/","icons":[{"src":"icon-192.png","sizes":"192x192"}]}"##,
        )
        .expect("manifest");
    })
    .await;
    let res = app.get("/api/v1/client-config").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json()["theme"],
        json!({"name": "Buurtlog", "municipality": "Gemeente Eemdal", "color": "#a61e4d",
               "logo_url": "/api/v1/theme/logo"})
    );
    let res = app.get("/api/v1/theme/logo").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("image/svg+xml"));
    assert_eq!(res.text(), svg);
    let res = app.get("/manifest.webmanifest").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.header("content-type"),
        Some("application/manifest+json")
    );
    let m = res.json();
    assert_eq!(m["name"], "Buurtlog — Gemeente Eemdal");
    assert_eq!(m["short_name"], "Buurtlog");
    assert_eq!(m["theme_color"], "#a61e4d");
    assert_eq!(m["icons"][0]["src"], "icon-192.png");
}

/// Every GET answer of the review, admin and mail API (the routes taken
/// from `server/openapi.json`, so a new route is covered at once) carries
/// `Cache-Control: no-store`: the 200 answer for the role that may read it,
/// and the error answers (no token, the wrong role, an unknown id, an unknown
/// query parameter).
#[actix_web::test]
async fn every_review_and_admin_answer_is_no_store() {
    let w = world().await;
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"))
            .expect("openapi.json"),
    )
    .expect("json");
    let personal_tags = ["review", "admin", "mail", "auth"];
    // A wijkbericht draft, for `/api/v1/wijkberichten/{id}`.
    let draft = send(
        &w.app,
        Some(&w.coord),
        "POST",
        "/api/v1/wijkberichten",
        json!({"wijk": "oostermeent", "from": "2026-01-01", "to": "2026-01-31"}),
    )
    .await;
    assert_eq!(draft.status, 201, "{}", draft.text());
    let draft_id = draft.json()["wijkbericht"]["id"].clone();
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().expect("paths") {
        let Some(op) = ops.get("get") else { continue };
        let tags: Vec<&str> = op["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !tags.iter().any(|t| personal_tags.contains(t)) {
            continue;
        }
        let admin_route = path.starts_with("/api/v1/admin/");
        let (reader, other) = if admin_route {
            (&w.admin, &w.coord)
        } else if path == "/api/v1/auth/me" {
            (&w.coord, &w.coord)
        } else {
            (&w.coord, &w.admin)
        };
        let real = path
            .replace(
                "/items/{doc}/{id}",
                &format!("/items/{}/{}", w.session.id(), w.ids["F"]),
            )
            .replace("/walks/{id}", &format!("/walks/{}", w.walk_n.id()))
            .replace("/users/{id}", &format!("/users/{}", w.boa_n.id()))
            .replace("/wijkberichten/{id}", &format!("/wijkberichten/{draft_id}"));
        assert!(!real.contains('{'), "no fixture value for {path}");
        let unknown = path
            .replace("{doc}", &uuid::Uuid::new_v4().to_string())
            .replace("{id}", &uuid::Uuid::new_v4().to_string());
        // The call-back list always needs a reason.
        let real = if path == "/api/v1/export/callbacks.csv" {
            format!("{real}?reason=audit")
        } else {
            real
        };
        let bogus = if real.contains('?') { '&' } else { '?' };
        let mut cases: Vec<(String, Option<&Person>, Option<u16>)> = vec![
            (real.clone(), Some(reader), Some(200)),
            (real.clone(), None, Some(401)),
            (format!("{real}{bogus}bogus_param=1"), Some(reader), None),
        ];
        if path != "/api/v1/auth/me" {
            // 403 mostly; some routes (mail status) are open to both roles.
            cases.push((real.clone(), Some(other), None));
        }
        if path.contains('{') {
            cases.push((unknown, Some(reader), Some(404)));
        }
        for (url, who, want) in cases {
            let res = get(&w.app, who, &url).await;
            let name = who.map_or("nobody", |p| p.user.username.as_str());
            if let Some(want) = want {
                assert_eq!(res.status, want, "GET {url} as {name}: {}", res.text());
            }
            assert_eq!(
                res.header("cache-control"),
                Some("no-store"),
                "GET {url} as {name} ({})",
                res.status
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} answers checked");
}

/// A world whose export holds 807 rows, about 16 MB of CSV: far more than
/// the kernel's socket buffers and the server's chunks in flight hold, so the
/// server is still writing rows when a client goes. Eight long observations
/// are committed like the sync layer does, then their projection rows are
/// copied 99 times in the database (building 800 such documents would take a
/// minute).
async fn world_with_a_large_export() -> World {
    let mut w = world().await;
    let catalog = Catalog::defaults();
    let long = "Lange beschrijving van de situatie ter plaatse. ".repeat(400);
    for i in 0..8 {
        add(
            &mut w.walk_n,
            &catalog,
            &w.boa_n,
            T0 + DAY + i,
            "vervuiling",
            Severity::Aandacht,
            &long,
            None,
            false,
        );
    }
    w.walk_n.commit(&w.app, &w.boa_n);
    let copied = open_db(&w.app)
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 99)
             INSERT INTO observations
                 (doc_id, item_id, team, wijk, category, severity, created_at, created_by,
                  deleted, text, place, row_json)
             SELECT o.doc_id, o.item_id || '-' || n.i, o.team, o.wijk, o.category, o.severity,
                    o.created_at, o.created_by, o.deleted, o.text, o.place, o.row_json
             FROM observations o, n WHERE length(o.text) > 10000",
            [],
        )
        .expect("copy rows");
    assert_eq!(copied, 8 * 99);
    w
}

fn open_db(app: &TestApp) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(app.data_dir.join("wijklog.db")).expect("db");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("timeout");
    db
}

/// A client that reads the first part of a large export and hangs up leaves
/// an audit entry with `complete: false` (and the rows counted so far).
#[actix_web::test]
async fn an_export_left_mid_download_is_audited_as_incomplete() {
    use std::io::{Read, Write};
    let w = world_with_a_large_export().await;
    let app = w.app.port;
    let token = w.coord.token.clone();
    let head = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", app)).expect("connect");
        write!(
            s,
            "GET /api/v1/export.csv HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut got = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        while got.len() < 100 * 1024 {
            let n = s.read(&mut buf).expect("read");
            assert!(n > 0, "the export ended before 100 KiB");
            got.extend_from_slice(&buf[..n]);
        }
        // Hang up mid-download (unread bytes make the kernel reset the connection).
        drop(s);
        String::from_utf8_lossy(&got[..200]).into_owned()
    })
    .await
    .expect("client");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut entry = None;
    for _ in 0..200 {
        let audit = w.app.store().audit_entries(50).expect("audit");
        if let Some(e) = audit.iter().find(|e| e.entry.action == "export.csv") {
            entry = Some(e.entry.detail.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let detail = entry.expect("the export is audited after the client left");
    assert_eq!(detail["complete"], false, "{detail}");
    let count = detail["count"].as_u64().expect("count");
    assert!(count < 800, "not every row went out: {detail}");
    // A full download of the same export is audited without `complete`.
    let res = get(&w.app, Some(&w.coord), "/api/v1/export.csv").await;
    assert_eq!(res.status, 200);
    let audit = w.app.store().audit_entries(50).expect("audit");
    let full = audit
        .iter()
        .find(|e| e.entry.action == "export.csv" && e.entry.detail["complete"].is_null())
        .expect("the full export is audited");
    assert_eq!(full.entry.detail["count"], 807, "{}", full.entry.detail);
}

/// An export whose audit entry cannot be stored is cut off: the client gets
/// an incomplete chunked body (never its final chunk), at most every 64 KiB
/// chunk but the last, as docs/api.md promises, and never an unaudited
/// complete export.
#[actix_web::test]
async fn an_export_whose_audit_entry_cannot_be_stored_is_cut_off() {
    use std::io::{Read, Write};
    const CHUNK: usize = 64 * 1024;
    let w = world_with_a_large_export().await;
    // The size of the whole export, downloaded while the audit log works.
    let full = get(&w.app, Some(&w.coord), "/api/v1/export.csv").await;
    assert_eq!(full.status, 200);
    let size = full.body.len();
    assert!(size > 10 * CHUNK, "export of {size} bytes");
    open_db(&w.app)
        .execute_batch(
            "CREATE TRIGGER test_audit_fails BEFORE INSERT ON audit_log
             WHEN NEW.action = 'export.csv'
             BEGIN SELECT RAISE(ABORT, 'test: the audit log cannot be written'); END;",
        )
        .expect("trigger");
    let app = w.app.port;
    let token = w.coord.token.clone();
    let raw = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", app)).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .expect("timeout");
        write!(
            s,
            "GET /api/v1/export.csv HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        // Read until the server closes the connection (or resets it).
        let mut got = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        got
    })
    .await
    .expect("client");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let (body, finished) = dechunk(&raw[split + 4..]);
    assert!(
        !finished,
        "the chunked body ended properly: an unaudited export"
    );
    let most = CHUNK * ((size - 1) / CHUNK);
    assert!(
        body.len() <= most,
        "{} bytes of {size} left before the audit entry was stored (at most {most})",
        body.len()
    );
    assert!(body.len() < size);
    let audit = w.app.store().audit_entries(50).expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.entry.action == "export.csv")
            .count(),
        1,
        "only the first, working export is audited"
    );
    // The server carries on: with the audit log working again, the export works.
    open_db(&w.app)
        .execute_batch("DROP TRIGGER test_audit_fails")
        .expect("drop trigger");
    let again = get(&w.app, Some(&w.coord), "/api/v1/export.csv").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body.len(), size);
}

/// A failing query answers 500 `internal` with the fixed sentence, none of
/// the database's own words, and `no-store`; the server carries on and the
/// same request works once the database does.
#[actix_web::test]
async fn a_failing_query_answers_internal_without_its_details_and_the_server_carries_on() {
    let w = world().await;
    let ok = get(&w.app, Some(&w.coord), "/api/v1/items").await;
    assert_eq!(ok.status, 200);
    open_db(&w.app)
        .execute_batch("ALTER TABLE observations RENAME TO observations_away")
        .expect("rename");
    let res = get(&w.app, Some(&w.coord), "/api/v1/items").await;
    assert_eq!(res.status, 500);
    let body = res.json();
    assert_eq!(body["code"], "internal", "{body}");
    assert_eq!(
        body["message"], "Something went wrong on the server.",
        "{body}"
    );
    let text = String::from_utf8_lossy(&res.body).to_lowercase();
    for leak in ["observations", "sqlite", "no such table", "sql"] {
        assert!(!text.contains(leak), "the answer names {leak:?}: {text}");
    }
    assert_eq!(res.header("cache-control"), Some("no-store"));
    open_db(&w.app)
        .execute_batch("ALTER TABLE observations_away RENAME TO observations")
        .expect("rename back");
    let again = get(&w.app, Some(&w.coord), "/api/v1/items").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json(), ok.json());
}

/// The data of a chunked body as far as it arrived, and whether its final
/// (zero-length) chunk came.
fn dechunk(mut rest: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return (body, false);
        };
        let len = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|l| usize::from_str_radix(l.split(';').next().unwrap_or("").trim(), 16).ok())
            .expect("chunk size line");
        rest = &rest[eol + 2..];
        if len == 0 {
            return (body, true);
        }
        if rest.len() < len + 2 {
            body.extend_from_slice(&rest[..rest.len().min(len)]);
            return (body, false);
        }
        body.extend_from_slice(&rest[..len]);
        rest = &rest[len + 2..];
    }
}

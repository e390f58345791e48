//! A server's data directory read and written directly, while no server
//! runs on it: the SQLite file's integrity, the changes it stores, its
//! tables as text, and a spreekuur session committed into it the way a
//! sync commit stores it. For the tests of what a command or a kill did to
//! the data (`wijklog retention run`, crash points, SIGTERM).

use std::collections::HashSet;
use std::path::Path;

use automerge::ChangeHash;
use wijklog_server::domain::DocKind;
use wijklog_server::storage::{DocMeta, DocWrite, SqliteStore, Store};
use wijklog_shared::{
    Catalog, DocId, Document, NewItem, NewSpreekuur, ResidentContact, Severity, Timestamp, UserId,
};

/// The database file in a data directory.
pub const DATABASE: &str = "wijklog.db";

/// Opens `dir`'s database and panics (naming `what`) unless SQLite's
/// `PRAGMA integrity_check` answers `ok`.
pub fn intact(dir: &Path, what: &str) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(dir.join(DATABASE)).expect("open db");
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(integrity, "ok", "{what}");
    db
}

/// The hashes of the change rows stored for document `doc` (covered ones
/// included), after the integrity check passed.
pub fn stored_changes(dir: &Path, doc: uuid::Uuid) -> HashSet<ChangeHash> {
    let db = intact(dir, "the database after the run");
    let mut stmt = db
        .prepare("SELECT hash FROM changes WHERE doc_id = ?1")
        .expect("prepare");
    stmt.query_map([doc.as_bytes().to_vec()], |r| r.get::<_, Vec<u8>>(0))
        .expect("query")
        .map(|r| ChangeHash::try_from(r.expect("row").as_slice()).expect("32 bytes"))
        .collect()
}

/// Every row of `tables`, as text (`table: value value …`), ordered by the
/// first two columns: to compare a data directory before and after.
pub fn dump(dir: &Path, tables: &[&str]) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join(DATABASE)).expect("open db");
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
            .expect("select");
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut s = format!("{table}:");
                for i in 0..n {
                    s.push_str(&format!(" {:?}", r.get_ref(i)?));
                }
                Ok(s)
            })
            .expect("query");
        out.extend(rows.map(|r| r.expect("row")));
    }
    out
}

/// A spreekuur session of team `noord` in wijk `bovenmaten`, held at
/// `held` by the user `staff-1`, with one note per `(written at, resident
/// name)` carrying that resident's contact details (a phone number and
/// consent, set 1 ms after the note), committed to the store in data
/// directory `dir` with its projection, as a sync commit stores it. Returns
/// the document id and the notes' ids.
pub fn store_contact_session(dir: &Path, held: i64, notes: &[(i64, &str)]) -> (DocId, Vec<String>) {
    let store = SqliteStore::open_in_dir(dir).expect("open store");
    let staff = UserId::parse("staff-1").expect("user");
    let cat = Catalog::defaults();
    let mut doc = Document::new_spreekuur(
        DocId::new_v4(),
        &cat,
        &staff,
        Timestamp::from_millis(held),
        NewSpreekuur {
            location: "Buurthuis".into(),
            wijk: "bovenmaten".into(),
            held_on: Timestamp::from_millis(held),
            team: "noord".into(),
        },
    )
    .expect("session");
    let mut ids = Vec::new();
    for (written, name) in notes {
        let id = doc
            .add_note(
                &cat,
                &staff,
                Timestamp::from_millis(*written),
                NewItem {
                    id: None,
                    category: "woonoverlast".into(),
                    severity: Severity::Aandacht,
                    text: "Overlast".into(),
                    place: None,
                    location: None,
                    feedback_needed: false,
                },
            )
            .expect("note");
        doc.set_resident_contact(
            &staff,
            Timestamp::from_millis(written + 1),
            &id,
            ResidentContact {
                name: Some((*name).into()),
                phone: Some("06 9182 7364".into()),
                email: None,
                consent: true,
            },
        )
        .expect("contact");
        ids.push(id.to_string());
    }
    let id = doc.id();
    let am = doc.automerge_mut();
    am.commit();
    let meta = DocMeta {
        id,
        kind: DocKind::Spreekuur,
        owner: staff.clone(),
        team: Some("noord".into()),
        created_at: held,
    };
    let rows = wijklog_server::sync::projection::rows(&meta, am.document(), &mut |_| {
        Some("staff-1".into())
    });
    let write = DocWrite {
        projection: rows,
        ..DocWrite::creating(id, DocKind::Spreekuur, &staff, Some("noord"), am.document())
    };
    let out = store.commit(&[write]).expect("commit");
    out.writes[0].as_ref().expect("accepted");
    (id, ids)
}

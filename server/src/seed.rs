//! Data the server creates itself: the catalog document on first start, and
//! the demo data of `wijklog demo`.
//!
//! Both commit through [`Store::commit`] like a sync would: the changes are
//! stored, their actor bound to the creating user, and the projection rows
//! written.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use wijklog_shared::{
    Catalog, Document, FollowUpStatus, NewItem, NewSpreekuur, NewWalk, Severity, Timestamp,
};

use crate::auth::password::hash_password;
use crate::domain::{DocId, DocKind, Role, UserId, now_ms};
use crate::storage::{AuditEntry, DocMeta, DocWrite, NewUser, ProjectionRow, Store};

/// The owner recorded for documents the server creates itself.
pub const SYSTEM_USER: &str = "system";

/// Commits a whole document (all its changes) as created by `owner`.
fn commit_document(
    store: &dyn Store,
    doc: &mut Document,
    kind: DocKind,
    owner: &UserId,
    team: Option<String>,
) -> anyhow::Result<DocMeta> {
    let am = automerge::Automerge::load(&doc.save()).context("reloading the new document")?;
    let id = DocId::from_bytes(doc.id().as_bytes());
    let meta = DocMeta {
        id,
        kind,
        owner: owner.clone(),
        team: team.clone(),
        created_at: now_ms(),
    };
    let projection = ProjectionRow::all_for(&meta, &am).context("projecting the new document")?;
    let out = store.commit(&[DocWrite {
        projection,
        schedule: crate::sync::scope::schedule_of(kind, &am),
        ..DocWrite::creating(id, kind, owner, team.as_deref(), &am)
    }])?;
    match out.writes.into_iter().next() {
        Some(Ok(applied)) => Ok(applied.meta),
        Some(Err(rejected)) => Err(anyhow::anyhow!(
            "the store refused the document: {rejected}"
        )),
        None => Err(anyhow::anyhow!("the store returned no result")),
    }
}

/// Creates the catalog document with the defaults if the store has none.
/// Returns its id.
pub fn seed_catalog(store: &dyn Store) -> anyhow::Result<DocId> {
    if let Some(existing) = store.docs_of_kind(DocKind::Catalog)?.into_iter().next() {
        return Ok(existing.id);
    }
    let mut doc = Document::new_catalog_with_defaults(wijklog_shared::DocId::new_v4())
        .context("building the default catalog")?;
    let system = UserId::parse(SYSTEM_USER).map_err(|e| anyhow::anyhow!(e))?;
    let meta = commit_document(store, &mut doc, DocKind::Catalog, &system, None)?;
    tracing::info!(doc = %meta.id, "seeded the catalog with the defaults");
    Ok(meta.id)
}

/// The typed catalog currently stored (for edits that validate against it).
pub fn load_catalog(store: &dyn Store) -> anyhow::Result<Catalog> {
    let id = seed_catalog(store)?;
    let stored = store.load_doc(id)?.context("the catalog vanished")?;
    let doc = stored.to_automerge().context("loading the catalog")?;
    Catalog::from_doc(&doc).context("reading the catalog")
}

/// One demo account.
struct DemoUser {
    username: &'static str,
    name: &'static str,
    roles: &'static [Role],
    team: Option<&'static str>,
}

const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        username: "demo-boa-oost",
        name: "Boa Oost",
        roles: &[Role::Boa],
        team: Some("team-oost"),
    },
    DemoUser {
        username: "demo-boa-west",
        name: "Boa West",
        roles: &[Role::Boa],
        team: Some("team-west"),
    },
    DemoUser {
        username: "demo-spreekuur",
        name: "Spreekuur Oost",
        roles: &[Role::Spreekuur],
        team: Some("team-oost"),
    },
    DemoUser {
        username: "demo-boa-spreekuur",
        name: "Boa en spreekuur Oost",
        roles: &[Role::Boa, Role::Spreekuur],
        team: Some("team-oost"),
    },
    DemoUser {
        username: "demo-coordinator",
        name: "Coördinator",
        roles: &[Role::Coordinator],
        team: None,
    },
    DemoUser {
        username: "demo-admin",
        name: "Beheerder",
        roles: &[Role::Admin],
        team: None,
    },
];

/// Demo walks: (fixed id, wijk, team, title, boa username).
const DEMO_WALKS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "de300000-0000-4000-8000-000000000001",
        "stad_en_lande",
        "team-west",
        "Avondronde Stad en Lande",
        "demo-boa-west",
    ),
    (
        "de300000-0000-4000-8000-000000000002",
        "oostermeent",
        "team-oost",
        "Wijkschouw Oostermeent",
        "demo-boa-oost",
    ),
    (
        "de300000-0000-4000-8000-000000000003",
        "bovenmaten",
        "team-oost",
        "Wandeling Bovenmaten",
        "demo-boa-oost",
    ),
    (
        "de300000-0000-4000-8000-000000000004",
        "buitenwijken",
        "team-west",
        "Ronde Buitenwijken",
        "demo-boa-west",
    ),
    (
        "de300000-0000-4000-8000-000000000005",
        "centrum",
        "team-west",
        "Centrum met de burgemeester",
        "demo-boa-west",
    ),
];

const DEMO_SPREEKUUR: &str = "de300000-0000-4000-8000-000000000101";

/// Observations of every demo walk: (category, severity, text, place).
const DEMO_OBSERVATIONS: &[(&str, Severity, &str, Option<&str>)] = &[
    (
        "jeugdoverlast",
        Severity::Aandacht,
        "Groep jongeren bij het bankje, muziek hard",
        Some("winkelcentrum Oostermeent"),
    ),
    (
        "vervuiling",
        Severity::Informatief,
        "Zwerfafval rond de containers",
        None,
    ),
    (
        "openbare_ruimte",
        Severity::Zorgelijk,
        "Twee lantaarnpalen kapot, pad donker",
        Some("de Roef"),
    ),
    (
        "positief_signaal",
        Severity::Informatief,
        "Bewoners willen samen de speeltuin opknappen",
        Some("winkelcentrum Kostmand"),
    ),
];

/// The demo logins file: `<data_dir>/demo-logins.txt`, mode 0600.
pub fn demo_logins_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("demo-logins.txt")
}

fn random_password() -> anyhow::Result<String> {
    let mut raw = [0u8; 9];
    getrandom::fill(&mut raw)
        .map_err(|_| anyhow::anyhow!("the system random number generator failed"))?;
    Ok(format!("demo-{}", hex::encode(raw)))
}

fn read_logins(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(u, p)| (u.to_owned(), p.to_owned()))
        .collect()
}

fn write_logins(path: &Path, logins: &[(String, String)]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    for (u, p) in logins {
        writeln!(f, "{u} {p}")?;
    }
    f.sync_all()?;
    Ok(())
}

/// A demo login to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Team.
    pub team: Option<String>,
}

/// Creates the demo accounts, walks and one spreekuur session. Idempotent:
/// existing accounts keep their password (kept in the data directory's
/// `demo-logins.txt`), existing demo documents are left alone.
pub fn demo(store: &dyn Store, data_dir: &Path) -> anyhow::Result<Vec<DemoLogin>> {
    let catalog = load_catalog(store)?;
    let path = demo_logins_path(data_dir);
    let mut logins = read_logins(&path);
    let mut out = Vec::new();
    for u in DEMO_USERS {
        let known = logins
            .iter()
            .find(|(name, _)| name == u.username)
            .map(|(_, p)| p.clone());
        let existing = store.user_by_username(u.username)?;
        let password = match (existing, known) {
            (Some(_), Some(p)) => p,
            (existing, _) => {
                let p = random_password()?;
                let hash = hash_password(&p)?;
                match existing {
                    Some(_) => store.set_password_hash(u.username, &hash)?,
                    None => {
                        let user = store.create_user(NewUser {
                            username: u.username.into(),
                            display_name: u.name.into(),
                            password_hash: hash,
                            roles: u.roles.to_vec(),
                            team: u.team.map(str::to_owned),
                        })?;
                        store.append_audit(AuditEntry {
                            actor: None,
                            action: "user.add".into(),
                            subject: Some(user.id.to_string()),
                            detail: serde_json::json!({"via": "demo"}),
                        })?;
                    }
                }
                logins.retain(|(name, _)| name != u.username);
                logins.push((u.username.to_owned(), p.clone()));
                p
            }
        };
        out.push(DemoLogin {
            username: u.username.into(),
            password,
            roles: u.roles.to_vec(),
            team: u.team.map(str::to_owned),
        });
    }
    crate::storage::create_private_dir(data_dir)?;
    write_logins(&path, &logins)?;

    let user_id = |username: &str| -> anyhow::Result<UserId> {
        Ok(store
            .user_by_username(username)?
            .with_context(|| format!("demo user {username} missing"))?
            .id)
    };
    let now = now_ms();
    for (i, (id, wijk, team, title, boa)) in DEMO_WALKS.iter().enumerate() {
        let doc_id = DocId::parse(id).map_err(|e| anyhow::anyhow!(e))?;
        if store.doc_meta(doc_id)?.is_some() {
            continue;
        }
        let owner = user_id(boa)?;
        let day = 86_400_000_i64;
        let at = Timestamp::from_millis(now - (i as i64 + 1) * day);
        let mut doc = Document::new_walk(
            doc_id,
            &catalog,
            &owner,
            at,
            NewWalk {
                title: (*title).into(),
                wijk: (*wijk).into(),
                route: String::new(),
                team: (*team).into(),
                planned_at: None,
            },
        )?;
        doc.start_walk(&owner, at)?;
        for (n, (category, severity, text, place)) in DEMO_OBSERVATIONS.iter().enumerate() {
            let item = doc.add_observation(
                &catalog,
                &owner,
                Timestamp::from_millis(at.as_millis() + (n as i64 + 1) * 300_000),
                NewItem {
                    id: None,
                    category: (*category).into(),
                    severity: *severity,
                    text: (*text).into(),
                    place: place.map(str::to_owned),
                    location: None,
                    feedback_needed: n == 2,
                },
            )?;
            if n == 2 {
                doc.set_follow_up(
                    &catalog,
                    &owner,
                    at,
                    &item,
                    "gemeente_openbare_ruimte",
                    FollowUpStatus::Open,
                    None,
                )?;
            }
        }
        doc.end_walk(&owner, Timestamp::from_millis(at.as_millis() + 3_600_000))?;
        commit_document(store, &mut doc, DocKind::Walk, &owner, Some((*team).into()))?;
    }

    let sp_id = DocId::parse(DEMO_SPREEKUUR).map_err(|e| anyhow::anyhow!(e))?;
    if store.doc_meta(sp_id)?.is_none() {
        let owner = user_id("demo-spreekuur")?;
        let at = Timestamp::from_millis(now - 2 * 86_400_000);
        let mut doc = Document::new_spreekuur(
            sp_id,
            &catalog,
            &owner,
            at,
            NewSpreekuur {
                location: "Buurthuis de Roef".into(),
                wijk: "oostermeent".into(),
                held_on: at,
                team: "team-oost".into(),
            },
        )?;
        doc.add_note(
            &catalog,
            &owner,
            at,
            NewItem {
                id: None,
                category: "verkeer".into(),
                severity: Severity::Aandacht,
                text: "Bewoner meldt hard rijden in de woonstraat, vooral 's avonds".into(),
                place: None,
                location: None,
                feedback_needed: true,
            },
        )?;
        commit_document(
            store,
            &mut doc,
            DocKind::Spreekuur,
            &owner,
            Some("team-oost".into()),
        )?;
    }
    Ok(out)
}

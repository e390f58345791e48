//! The photo backend conformance suite: the behaviour [`BlobStore`] must
//! have whichever backend keeps the photos (files and SQLite rows, or
//! PostgreSQL), written once. A backend runs it with
//! `wijklog_server::blob_conformance_tests!(fresh);` in a test module, where
//! `fresh(config)` returns a [`BlobFixture`]: an empty, migrated store and the
//! blob layer on it. One `#[test]` per case; each panics on a violation.
//!
//! Compiled only for tests (`cfg(test)` or the `testing` feature). SQLite
//! runs it in `server/tests/api/blob_backend.rs`, PostgreSQL in
//! `server/tests/postgres/blobs.rs`.

use std::io::Cursor;
use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};

use super::{BlobError, BlobHash, BlobStore, Uploaded};
use crate::config::BlobsConfig;
use crate::domain::{DeviceId, DocId, DocKind, Principal, Role, UserId, now_ms};
use crate::storage::{DocWrite, ProjectionRow, Store};

/// A fresh store and the blob layer of the same installation. `keep`
/// holds whatever must outlive them (a temporary directory).
pub struct BlobFixture {
    /// The document store (for the references the projection makes).
    pub store: Arc<dyn Store>,
    /// The blob layer under test.
    pub blobs: BlobStore,
    /// Dropped after the store and the blobs.
    pub keep: Option<Box<dyn std::any::Any>>,
}

/// A fixture factory: each call returns a fresh installation with `config`.
pub type Factory<'a> = &'a dyn Fn(BlobsConfig) -> BlobFixture;

/// Defines one `#[test]` per conformance case on fresh fixtures from
/// `$factory` (a path to a `fn(BlobsConfig) -> BlobFixture`).
#[macro_export]
macro_rules! blob_conformance_tests {
    ($factory:path) => {
        $crate::__blob_conformance_cases!(
            $factory;
            an_upload_is_stored_once_and_read_back_by_bytes,
            size_hash_and_content_are_checked_before_anything_is_stored,
            the_same_photo_uploaded_at_once_is_stored_once,
            references_follow_the_projection_and_decide_who_may_read,
            thumbnails_are_made_once_scaled_down_and_cached,
            garbage_collection_waits_for_the_grace_period,
            an_erasure_removes_unreferenced_photos_at_once,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __blob_conformance_cases {
    ($factory:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::blobs::conformance::$case(&$factory);
            }
        )*
    };
}

fn uid(s: &str) -> UserId {
    UserId::parse(s).expect("valid user id")
}

/// A PNG of `w` x `h` of noise from `seed` (so each seed is a different
/// photo, and it does not compress much, like a photo).
pub fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(seed);
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let [a, b, c, ..] = (state >> 24).to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

fn person(user: &str, roles: &[Role], team: Option<&str>) -> Principal {
    Principal {
        user_id: uid(user),
        name: user.to_owned(),
        roles: roles.to_vec(),
        team: team.map(str::to_owned),
        device_id: DeviceId::new_random(),
    }
}

fn photo_row(item: &str, photos: &[&BlobHash]) -> ProjectionRow {
    let refs: Vec<String> = photos.iter().map(|h| h.reference()).collect();
    ProjectionRow {
        item_id: item.to_owned(),
        wijk: None,
        category: None,
        severity: None,
        created_at: Some(1),
        created_by: Some("boa-1".into()),
        deleted: false,
        text: String::new(),
        place: None,
        row_json: serde_json::json!({"doc_kind": "walk", "photos": refs}).to_string(),
    }
}

/// Creates walk `id` of `team` whose one item `item` shows `photos`.
fn walk_showing(store: &dyn Store, id: DocId, team: &str, item: &str, photos: &[&BlobHash]) {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "kind", "walk").expect("put");
    doc.commit();
    let mut w = DocWrite::creating(id, DocKind::Walk, &uid("boa-1"), Some(team), doc.document());
    w.projection = Some(vec![photo_row(item, photos)]);
    let out = store.commit(&[w]).expect("commit");
    assert!(out.writes[0].is_ok(), "{:?}", out.writes[0]);
}

/// Replaces the projection of walk `id` (so its references change).
fn reproject(store: &dyn Store, id: DocId, rows: Vec<ProjectionRow>) {
    let w = DocWrite {
        epoch: None,
        doc_id: id,
        user_id: uid("boa-1"),
        device_id: None,
        create: None,
        changes: vec![],
        projection: Some(rows),
        schedule: None,
    };
    let out = store.commit(&[w]).expect("commit");
    assert!(out.writes[0].is_ok(), "{:?}", out.writes[0]);
}

pub fn an_upload_is_stored_once_and_read_back_by_bytes(factory: Factory<'_>) {
    let f = factory(BlobsConfig::default());
    let bytes = png(40, 30, 1);
    let hash = BlobHash::of(&bytes);
    let t = now_ms();
    assert_eq!(
        f.blobs
            .store(&hash, &bytes, &uid("boa-1"), t)
            .expect("store"),
        Uploaded::Created
    );
    // Again, by someone else, later: nothing is written twice and the first
    // upload stays recorded.
    assert_eq!(
        f.blobs
            .store(&hash, &bytes, &uid("boa-2"), t + 5)
            .expect("again"),
        Uploaded::AlreadyStored
    );
    let record = f.blobs.record(&hash).expect("record").expect("recorded");
    assert_eq!(record.sha256, hash.to_string());
    assert_eq!(record.size, bytes.len() as u64);
    assert_eq!(record.mime, "image/png");
    assert_eq!((record.width, record.height), (40, 30));
    assert_eq!(record.uploaded_by, "boa-1");
    assert_eq!(record.uploaded_at, t);
    assert_eq!(record.orphaned_at, None);
    assert_eq!(f.blobs.records().expect("all").len(), 1);

    let walk = DocId::new_v4();
    walk_showing(f.store.as_ref(), walk, "noord", "o1", &[&hash]);
    let boa = person("boa-1", &[Role::Boa], Some("noord"));
    let (read_record, read) = f.blobs.read(&boa, &hash).expect("read");
    assert_eq!(read, bytes, "the same bytes come back");
    assert_eq!(read_record, record);
}

pub fn size_hash_and_content_are_checked_before_anything_is_stored(factory: Factory<'_>) {
    let f = factory(BlobsConfig {
        max_bytes: 2_000,
        ..BlobsConfig::default()
    });
    let by = uid("boa-1");
    let big = png(200, 200, 2);
    assert!(big.len() > 2_000);
    assert!(matches!(
        f.blobs.store(&BlobHash::of(&big), &big, &by, now_ms()),
        Err(BlobError::TooLarge { max: 2_000 })
    ));
    let small = png(4, 4, 3);
    assert!(matches!(
        f.blobs
            .store(&BlobHash::of(b"other"), &small, &by, now_ms()),
        Err(BlobError::HashMismatch)
    ));
    let text = b"not a photo at all, named foto.jpg".to_vec();
    assert!(matches!(
        f.blobs.store(&BlobHash::of(&text), &text, &by, now_ms()),
        Err(BlobError::UnsupportedType(_))
    ));
    let truncated = small[..small.len() / 2].to_vec();
    assert!(matches!(
        f.blobs
            .store(&BlobHash::of(&truncated), &truncated, &by, now_ms()),
        Err(BlobError::UnsupportedType(_))
    ));
    assert!(
        f.blobs.records().expect("all").is_empty(),
        "nothing refused is recorded"
    );
}

pub fn the_same_photo_uploaded_at_once_is_stored_once(factory: Factory<'_>) {
    let f = factory(BlobsConfig::default());
    let blobs = Arc::new(f.blobs);
    let bytes = Arc::new(png(64, 48, 4));
    let hash = BlobHash::of(&bytes);
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (blobs, bytes, barrier) = (blobs.clone(), bytes.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                blobs
                    .store(&hash, &bytes, &uid(&format!("boa-{i}")), now_ms())
                    .expect("store")
            })
        })
        .collect();
    let outcomes: Vec<Uploaded> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == Uploaded::Created).count(),
        1,
        "exactly one upload created it: {outcomes:?}"
    );
    assert_eq!(blobs.records().expect("all").len(), 1);
}

pub fn references_follow_the_projection_and_decide_who_may_read(factory: Factory<'_>) {
    let f = factory(BlobsConfig::default());
    let store = f.store.as_ref();
    let bytes = png(20, 20, 5);
    let hash = BlobHash::of(&bytes);
    let noord = person("boa-1", &[Role::Boa], Some("noord"));
    let zuid = person("boa-9", &[Role::Boa], Some("zuid"));
    let coordinator = person("coord", &[Role::Coordinator], None);
    let admin = person("admin", &[Role::Admin], None);

    // The observation syncs before its photo: the reference is recorded,
    // the photo is not readable until it arrives.
    let walk = DocId::new_v4();
    walk_showing(store, walk, "noord", "o1", &[&hash]);
    assert_eq!(f.blobs.reference_count(&hash).expect("refs"), 1);
    assert!(matches!(
        f.blobs.read(&noord, &hash),
        Err(BlobError::NotFound)
    ));
    f.blobs
        .store(&hash, &bytes, &uid("boa-1"), now_ms())
        .expect("store");
    assert_eq!(
        f.blobs.read(&noord, &hash).expect("boa of the team").1,
        bytes
    );
    assert_eq!(
        f.blobs.read(&coordinator, &hash).expect("coordinator").1,
        bytes
    );
    for (who, what) in [(&zuid, "another team"), (&admin, "an admin")] {
        assert!(
            matches!(f.blobs.read(who, &hash), Err(BlobError::NotFound)),
            "{what} may not read it"
        );
        assert!(matches!(
            f.blobs.thumbnail(who, &hash),
            Err(BlobError::NotFound)
        ));
    }
    // Unknown photos answer the same.
    assert!(matches!(
        f.blobs.read(&coordinator, &BlobHash::of(b"unknown")),
        Err(BlobError::NotFound)
    ));
    assert_eq!(
        f.blobs
            .visible_references(&coordinator, &hash)
            .expect("refs"),
        vec![(walk, "o1".to_owned())]
    );
    assert!(
        f.blobs
            .visible_references(&zuid, &hash)
            .expect("refs")
            .is_empty()
    );

    // Malformed references count for nothing; a second item adds one.
    let mut odd = photo_row("o2", &[&hash]);
    odd.row_json = serde_json::json!({
        "doc_kind": "walk",
        "photos": [hash.reference(), hash.reference().to_uppercase(), hash.to_string(), 42, null]
    })
    .to_string();
    reproject(store, walk, vec![photo_row("o1", &[&hash]), odd]);
    assert_eq!(f.blobs.reference_count(&hash).expect("refs"), 2);
    assert_eq!(
        f.blobs
            .record(&hash)
            .expect("row")
            .expect("row")
            .orphaned_at,
        None
    );

    // The items lose the photo: no reference, the grace period starts.
    reproject(store, walk, vec![photo_row("o1", &[])]);
    assert_eq!(f.blobs.reference_count(&hash).expect("refs"), 0);
    let orphaned = f
        .blobs
        .record(&hash)
        .expect("row")
        .expect("row")
        .orphaned_at
        .expect("orphaned when the last reference went");
    assert!((orphaned - now_ms()).abs() < 60_000, "{orphaned}");
    assert!(matches!(
        f.blobs.read(&coordinator, &hash),
        Err(BlobError::NotFound)
    ));
    // Shown again: readable, no longer an orphan.
    reproject(store, walk, vec![photo_row("o1", &[&hash])]);
    assert_eq!(
        f.blobs
            .record(&hash)
            .expect("row")
            .expect("row")
            .orphaned_at,
        None
    );
    assert!(f.blobs.read(&noord, &hash).is_ok());
}

pub fn thumbnails_are_made_once_scaled_down_and_cached(factory: Factory<'_>) {
    let f = factory(BlobsConfig {
        thumb_px: 50,
        ..BlobsConfig::default()
    });
    let big = png(200, 100, 6);
    let small = png(30, 20, 7);
    let walk = DocId::new_v4();
    let (big_hash, small_hash) = (BlobHash::of(&big), BlobHash::of(&small));
    walk_showing(
        f.store.as_ref(),
        walk,
        "noord",
        "o1",
        &[&big_hash, &small_hash],
    );
    for (hash, bytes) in [(&big_hash, &big), (&small_hash, &small)] {
        f.blobs
            .store(hash, bytes, &uid("boa-1"), now_ms())
            .expect("store");
    }
    let boa = person("boa-1", &[Role::Boa], Some("noord"));
    let thumb = f.blobs.thumbnail(&boa, &big_hash).expect("thumb");
    let info = super::sniff::inspect(&thumb).expect("a JPEG");
    assert_eq!(
        (info.kind, info.width, info.height),
        (super::sniff::ImageType::Jpeg, 50, 25)
    );
    assert_eq!(
        f.blobs.thumbnail(&boa, &big_hash).expect("again"),
        thumb,
        "the cached thumbnail"
    );
    let info = super::sniff::inspect(&f.blobs.thumbnail(&boa, &small_hash).expect("small"))
        .expect("a JPEG");
    assert_eq!((info.width, info.height), (30, 20), "never scaled up");
}

pub fn garbage_collection_waits_for_the_grace_period(factory: Factory<'_>) {
    let hour = 3_600_000;
    let f = factory(BlobsConfig {
        gc_grace_secs: 3600,
        ..BlobsConfig::default()
    });
    let store = f.store.as_ref();
    let boa = person("boa-1", &[Role::Boa], Some("noord"));
    let now = now_ms();
    let (lonely, shown, dropped) = (png(8, 8, 8), png(8, 8, 9), png(8, 8, 10));
    let hashes = [
        BlobHash::of(&lonely),
        BlobHash::of(&shown),
        BlobHash::of(&dropped),
    ];
    let [lonely_hash, shown_hash, dropped_hash] = hashes;
    // Uploaded two hours ago: one never referenced, one shown, one shown
    // and then dropped from its item just now.
    for (hash, bytes) in hashes.iter().zip([&lonely, &shown, &dropped]) {
        f.blobs
            .store(hash, bytes, &uid("boa-1"), now - 2 * hour)
            .expect("store");
    }
    let walk = DocId::new_v4();
    walk_showing(store, walk, "noord", "o1", &[&shown_hash, &dropped_hash]);
    f.blobs
        .thumbnail(&boa, &dropped_hash)
        .expect("thumb cached");
    reproject(store, walk, vec![photo_row("o1", &[&shown_hash])]);

    // An hour and a half ago, nothing was old enough.
    let report = f.blobs.collect_garbage(now - hour - hour / 2).expect("gc");
    assert!(!report.skipped);
    assert!(report.deleted.is_empty(), "{report:?}");
    // Now the unreferenced upload is past its grace period; the one that
    // lost its reference just now is not.
    let report = f.blobs.collect_garbage(now).expect("gc");
    assert_eq!(report.deleted, vec![lonely_hash]);
    assert!(f.blobs.record(&lonely_hash).expect("row").is_none());
    // An hour after it lost its reference, it goes too, with its thumbnail.
    let report = f.blobs.collect_garbage(now_ms() + hour + 1).expect("gc");
    assert_eq!(report.deleted, vec![dropped_hash]);
    assert!(f.blobs.record(&dropped_hash).expect("row").is_none());
    // The referenced one stays whatever its age.
    let report = f.blobs.collect_garbage(now_ms() + 100 * hour).expect("gc");
    assert!(report.deleted.is_empty());
    assert!(f.blobs.read(&boa, &shown_hash).is_ok());
    assert_eq!(f.blobs.records().expect("all").len(), 1);
    // A collected photo uploaded again is stored again.
    assert_eq!(
        f.blobs
            .store(&lonely_hash, &lonely, &uid("boa-1"), now_ms())
            .expect("again"),
        Uploaded::Created
    );
}

pub fn an_erasure_removes_unreferenced_photos_at_once(factory: Factory<'_>) {
    let f = factory(BlobsConfig::default());
    let (kept, erased) = (png(8, 8, 11), png(8, 8, 12));
    let (kept_hash, erased_hash) = (BlobHash::of(&kept), BlobHash::of(&erased));
    let walk = DocId::new_v4();
    walk_showing(f.store.as_ref(), walk, "noord", "o1", &[&kept_hash]);
    for (hash, bytes) in [(&kept_hash, &kept), (&erased_hash, &erased)] {
        f.blobs
            .store(hash, bytes, &uid("boa-1"), now_ms())
            .expect("store");
    }
    assert_eq!(
        f.blobs
            .remove_unreferenced(&[kept_hash, erased_hash])
            .expect("remove"),
        1,
        "only the unreferenced one, without a grace period"
    );
    assert!(f.blobs.record(&erased_hash).expect("row").is_none());
    assert!(f.blobs.record(&kept_hash).expect("row").is_some());
    assert_eq!(f.blobs.remove_unreferenced(&[]).expect("none"), 0);
}

//! Property-based fuzzing of the parsers that take bytes from outside:
//! compressed chunk inflation (`sync::chunks::inspect`), the review API's
//! query parsers (`ListRequest::parse`, `Cursor::decode`, `PageLimit::parse`) and
//! image sniffing (`blobs::sniff::inspect`). Each target gets random input
//! and mutations (bit flips, overwritten bytes, truncation, insertion) of a
//! corpus of valid inputs built here: real automerge changes, compressed and
//! not; real PNG, JPEG and WebP files. Every input must end in a value or
//! the parser's own error, never a panic, and within its bounds.
//!
//! `make test` runs the default number of cases (`PROPTEST_CASES`, 256 per
//! target); `make fuzz` runs many more. Failing inputs are kept by proptest
//! in `fuzz.proptest-regressions` next to this file and replayed first.
//! See docs/architecture.md ("Fuzzing") for why this and not cargo-fuzz.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use proptest::prelude::*;
use wijklog_server::blobs::sniff;
use wijklog_server::edge::PageLimit;
use wijklog_server::review::query::{Cursor, ListRequest};
use wijklog_server::sync::chunks::{self, ChunkError, ChunkLimits};
use wijklog_testing::mutation::{mutate, mutation};

/// Real change chunks: small, and one large enough that automerge
/// compresses it (`Change::bytes` deflates columns above a threshold).
/// Built once per process.
fn change_corpus() -> &'static [Vec<u8>] {
    static CORPUS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(build_change_corpus)
}

fn build_change_corpus() -> Vec<Vec<u8>> {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "kind", "walk").expect("put");
    doc.commit();
    let text = doc
        .put_object(ROOT, "summary", automerge::ObjType::Text)
        .expect("text");
    doc.splice_text(&text, 0, 0, &"straatlantaarn kapot ".repeat(200))
        .expect("splice");
    doc.commit();
    let mut out: Vec<Vec<u8>> = doc
        .get_changes(&[])
        .into_iter()
        .flat_map(|c| {
            let mut c = c.clone();
            [c.raw_bytes().to_vec(), c.bytes().to_vec()]
        })
        .collect();
    out.push(doc.save());
    out
}

const LIMITS: ChunkLimits = ChunkLimits {
    max_inflated_bytes: 64 * 1024,
    max_changes: 64,
    max_ops_per_change: 10_000,
    max_ops: 20_000,
};

fn check_chunks(bytes: &[u8]) {
    match chunks::inspect(&[bytes], LIMITS) {
        Ok(inspection) => {
            assert!(inspection.inflated_bytes <= LIMITS.max_inflated_bytes);
            assert!(inspection.changes.len() <= LIMITS.max_changes);
            assert!(inspection.ops <= LIMITS.max_ops);
        }
        Err(ChunkError::TooLarge(_) | ChunkError::Malformed(_)) => {}
    }
}

/// Small real images of each accepted type, built once per process.
fn image_corpus() -> &'static [Vec<u8>] {
    static CORPUS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(build_image_corpus)
}

fn build_image_corpus() -> Vec<Vec<u8>> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(9, 7, |x, y| {
        image::Rgb([(x * 20) as u8, (y * 30) as u8, 99])
    }));
    [
        image::ImageFormat::Png,
        image::ImageFormat::Jpeg,
        image::ImageFormat::WebP,
    ]
    .into_iter()
    .map(|format| {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("encode");
        out.into_inner()
    })
    .collect()
}

fn check_image(bytes: &[u8]) {
    if let Ok(info) = sniff::inspect(bytes) {
        let limits = sniff::decode_limits();
        assert!(limits.max_image_width.is_none_or(|w| info.width <= w));
        assert!(limits.max_image_height.is_none_or(|h| info.height <= h));
    }
}

fn param() -> impl Strategy<Value = (String, String)> {
    let names = prop::sample::select(vec![
        "kind", "wijk", "category", "severity", "status", "team", "from", "to", "q", "sort",
        "limit", "cursor", "deleted", "feedback", "author", "doc", "x",
    ]);
    (
        prop_oneof![names.prop_map(str::to_owned), ".{0,12}"],
        prop_oneof![
            ".{0,40}",
            "[0-9-]{0,12}",
            "20[0-9]{2}-[0-9]{2}-[0-9]{2}(T[0-9:]{8}Z)?",
            "[a-z_]{1,20}",
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn chunk_inflation_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        check_chunks(&bytes);
    }

    #[test]
    fn chunk_inflation_takes_mutated_changes(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let corpus = change_corpus();
        let seed = corpus[pick.index(corpus.len())].clone();
        check_chunks(&mutate(seed, &mutations));
    }

    #[test]
    fn image_sniffing_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_image(&bytes);
    }

    #[test]
    fn image_sniffing_takes_mutated_images(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let corpus = image_corpus();
        let seed = corpus[pick.index(corpus.len())].clone();
        check_image(&mutate(seed, &mutations));
    }

    #[test]
    fn item_list_parameters_parse_or_name_their_error(params in prop::collection::vec(param(), 0..8)) {
        if let Err(e) = ListRequest::parse(&params) {
            prop_assert!(!e.code().is_empty());
        }
    }

    #[test]
    fn cursors_and_limits_parse_or_name_their_error(text in ".{0,200}", raw in any::<Vec<u8>>()) {
        if let Err(e) = Cursor::decode(&text) {
            prop_assert!(!e.code().is_empty());
        }
        let b64 = base64_url(&raw);
        if let Err(e) = Cursor::decode(&b64) {
            prop_assert!(!e.code().is_empty());
        }
        for (limit, max) in [
            (PageLimit::UP_TO_50, 50),
            (PageLimit::UP_TO_500, 500),
            (PageLimit::UP_TO_1000, 1000),
        ] {
            match limit.parse(&text) {
                Ok(n) => prop_assert!((1..=max).contains(&n)),
                Err(e) => prop_assert_eq!(e.code(), "invalid_parameter"),
            }
        }
    }
}

/// URL-safe base64 without padding (the cursor's outer form), by hand so
/// that the test does not share the parser's encoder.
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

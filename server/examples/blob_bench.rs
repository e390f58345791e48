//! Benchmark of the photo path on the server: the content check (magic bytes
//! and a full decode), the thumbnail (decode, scale to `thumb_px`, JPEG encode)
//! and a whole upload through `BlobStore::store` (hash, check, atomic write
//! with fsync, database row), for a typical phone photo after the PWA's
//! processing (longest side 1600 px, JPEG quality 0.8-ish).
//!
//! Run: `cargo run --release -p wijklog-server --example blob_bench`
//! Prints a table; no assertions (timings are not tests).

use std::io::Cursor;
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, RgbImage};
use wijklog_server::blobs::sniff::{self, ImageType};
use wijklog_server::blobs::{BlobHash, BlobStore, thumb};
use wijklog_server::config::BlobsConfig;
use wijklog_server::domain::{UserId, now_ms};
use wijklog_server::storage::SqliteStore;

/// A photo-like test image: smooth gradients plus deterministic noise, so
/// that JPEG sizes resemble a real street photo more than a flat colour.
fn photo(w: u32, h: u32, seed: u32) -> RgbImage {
    let mut state = 0x2545_F491u32 ^ seed.wrapping_mul(0x9E37_79B9);
    RgbImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state & 0x1f) as i32 - 16;
        let base = |v: u32, scale: u32| ((v * 255 / scale) as i32 + n).clamp(0, 255) as u8;
        image::Rgb([base(x, w), base(y, h), base(x + y, w + h)])
    })
}

fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => {
            JpegEncoder::new_with_quality(&mut out, 80)
                .encode_image(img)
                .expect("jpeg");
        }
        other => img.write_to(&mut out, other).expect("encode"),
    }
    out.into_inner()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(f());
        samples.push(t.elapsed());
    }
    median(samples)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runs = 15;
    println!("wijklog blob benchmark (median of {runs} runs, one core)\n");
    println!(
        "| input                     | bytes   | inspect (ms) | thumb 320 px (ms) | thumb bytes |"
    );
    println!(
        "|---------------------------|---------|--------------|-------------------|-------------|"
    );
    let cases = [
        (
            "JPEG 1600x1200 q80",
            ImageFormat::Jpeg,
            ImageType::Jpeg,
            1600,
            1200,
        ),
        (
            "JPEG 1200x1600 q80",
            ImageFormat::Jpeg,
            ImageType::Jpeg,
            1200,
            1600,
        ),
        (
            "PNG 1600x1200",
            ImageFormat::Png,
            ImageType::Png,
            1600,
            1200,
        ),
        (
            "WebP (lossless) 1600x1200",
            ImageFormat::WebP,
            ImageType::Webp,
            1600,
            1200,
        ),
    ];
    let mut jpeg_1600 = Vec::new();
    for (name, format, kind, w, h) in cases {
        let bytes = encode(&photo(w, h, 0), format);
        let inspect = time(runs, || sniff::inspect(&bytes).expect("valid"));
        let thumb_bytes = thumb::make_thumbnail(kind, &bytes, 320).expect("thumb");
        let thumb = time(runs, || {
            thumb::make_thumbnail(kind, &bytes, 320).expect("thumb")
        });
        println!(
            "| {name:<25} | {:>7} | {:>12} | {:>17} | {:>11} |",
            bytes.len(),
            ms(inspect),
            ms(thumb),
            thumb_bytes.len()
        );
        if jpeg_1600.is_empty() {
            jpeg_1600 = bytes;
        }
    }

    // Whole upload path on disk (fsync included): distinct photos so each is new.
    let dir = tempfile::tempdir().expect("tempdir");
    SqliteStore::open_in_dir(dir.path()).expect("database");
    let store = BlobStore::new(dir.path(), BlobsConfig::default());
    let user = UserId::parse("bench").expect("user");
    let uploads: Vec<Vec<u8>> = (0..runs)
        .map(|i| {
            let img = photo(1600, 1200, i as u32 + 1);
            encode(&img, ImageFormat::Jpeg)
        })
        .collect();
    let distinct: std::collections::HashSet<BlobHash> =
        uploads.iter().map(|b| BlobHash::of(b)).collect();
    assert_eq!(
        distinct.len(),
        uploads.len(),
        "every upload must be a new photo"
    );
    let mut new_samples = Vec::new();
    let mut dup_samples = Vec::new();
    for bytes in &uploads {
        let hash = BlobHash::of(bytes);
        let t = Instant::now();
        store.store(&hash, bytes, &user, now_ms()).expect("store");
        new_samples.push(t.elapsed());
        let t = Instant::now();
        store
            .store(&hash, bytes, &user, now_ms())
            .expect("store again");
        dup_samples.push(t.elapsed());
    }
    let hash_only = time(runs, || BlobHash::of(&jpeg_1600));
    println!();
    println!(
        "| BlobStore::store, JPEG 1600x1200 ({} bytes) | median (ms) |",
        uploads[0].len()
    );
    println!("|----------------------------------------------|-------------|");
    println!(
        "| SHA-256 of the body                          | {:>11} |",
        ms(hash_only)
    );
    println!(
        "| new photo (hash, decode check, fsync, row)   | {:>11} |",
        ms(median(new_samples))
    );
    println!(
        "| duplicate (hash, lookup; no decode, no write)| {:>11} |",
        ms(median(dup_samples))
    );
}

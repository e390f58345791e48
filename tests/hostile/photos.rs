//! Photo uploads under attack: decompression bombs in parallel.

use std::io::Write;
use std::thread;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use sha2::{Digest, Sha256};

use crate::client::{self, lo, normal};
use crate::{assert_survived, login_ok, start, token};

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// An 8-bit RGBA PNG of `w` x `h` whose pixels come from `pixel(x, y)`,
/// written row by row (a bomb of zeros never exists uncompressed here).
fn png(w: u32, h: u32, pixel: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    let mut row = Vec::with_capacity(1 + 4 * w as usize);
    for y in 0..h {
        row.clear();
        row.push(0);
        for x in 0..w {
            row.extend_from_slice(&pixel(x, y));
        }
        z.write_all(&row).expect("deflate");
    }
    chunk(&mut out, b"IDAT", &z.finish().expect("deflate"));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A small real photo (64 x 48).
pub fn tiny_png() -> Vec<u8> {
    png(64, 48, |x, y| [(x * 4) as u8, (y * 5) as u8, 90, 255])
}

fn upload(port: u16, from: std::net::IpAddr, token: &str, bytes: &[u8]) -> client::Reply {
    let hash = hex::encode(Sha256::digest(bytes));
    let auth = format!("Bearer {token}");
    client::request(
        port,
        from,
        "PUT",
        &format!("/api/v1/blobs/{hash}"),
        &[("Authorization", &auth), ("Content-Type", "image/png")],
        bytes,
    )
}

/// Twelve parallel uploads of a ~250 KB PNG that decodes to 256 MB are
/// refused from the image header (413 `image_too_large`) without decoding;
/// a real photo uploaded meanwhile is stored.
#[test]
fn parallel_decompression_bombs_are_refused_before_decoding() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = start(data.path(), &[]);
    let port = server.port;
    let attacker = token(&login_ok(port, lo(0, 10, 1), "anna"));
    let phone = token(&login_ok(port, normal(), "anna"));
    let bomb = std::sync::Arc::new(png(8_000, 8_000, |_, _| [0, 0, 0, 0]));
    assert!(
        bomb.len() < 1_000_000,
        "the bomb is small: {} bytes",
        bomb.len()
    );
    let attacks: Vec<_> = (0..12)
        .map(|_| {
            let (bomb, attacker) = (bomb.clone(), attacker.clone());
            thread::spawn(move || upload(port, lo(0, 10, 1), &attacker, &bomb))
        })
        .collect();
    let photo = tiny_png();
    let stored = upload(port, normal(), &phone, &photo);
    assert_eq!(stored.status, 201, "the real photo: {}", stored.text());
    for h in attacks {
        let r = h.join().expect("thread");
        assert_eq!(
            (r.status, r.code().as_str()),
            (413, "image_too_large"),
            "{}",
            r.text()
        );
    }
    assert_survived(&mut server, "12 parallel image bombs");
}

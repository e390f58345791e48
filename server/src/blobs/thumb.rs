//! Thumbnails for the coordinator list: the image scaled down (never up) so
//! that its longest side is at most `blobs.thumb_px`, re-encoded as JPEG
//! (quality [`JPEG_QUALITY`]) without metadata. Generated on first request
//! and cached under `<data>/thumbs/<px>/` (see [`super::files`]).

use std::io;

use image::codecs::jpeg::JpegEncoder;

use super::files::{self, Layout};
use super::sniff::{self, ImageType};
use super::{BlobError, BlobHash};

/// JPEG quality of thumbnails.
pub const JPEG_QUALITY: u8 = 80;

/// Scales `bytes` (an image of type `kind`) to fit `px` x `px` and encodes
/// it as JPEG. Alpha is dropped (JPEG has none); the colour channels are
/// kept as they are.
pub fn make_thumbnail(kind: ImageType, bytes: &[u8], px: u32) -> Result<Vec<u8>, BlobError> {
    let image = sniff::decode_as(kind, bytes)?;
    let image = if image.width() > px || image.height() > px {
        image.thumbnail(px, px)
    } else {
        image
    };
    let rgb = image.into_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(BlobError::Thumbnail)?;
    Ok(out)
}

/// Removes cached thumbnails whose blob file no longer exists. Returns how
/// many were removed.
pub fn sweep_orphans(layout: &Layout) -> io::Result<usize> {
    let mut removed = 0;
    let sizes = match std::fs::read_dir(layout.thumb_root()) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for size_dir in sizes {
        let size_dir = size_dir?;
        if !size_dir.file_type()?.is_dir() {
            continue;
        }
        for prefix_dir in std::fs::read_dir(size_dir.path())? {
            let prefix_dir = prefix_dir?;
            let prefix = prefix_dir.file_name().to_string_lossy().into_owned();
            if !prefix_dir.file_type()?.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(prefix_dir.path())? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(rest) = name.strip_suffix(".jpg") else {
                    continue;
                };
                let Ok(hash) = BlobHash::parse(&format!("{prefix}{rest}")) else {
                    continue;
                };
                if !layout.blob_path(&hash).exists() {
                    files::remove_if_present(&entry.path())?;
                    removed += 1;
                }
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, RgbaImage};
    use std::io::Cursor;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbaImage::from_fn(w, h, |x, _| image::Rgba([(x % 256) as u8, 40, 200, 128]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).expect("encode");
        out.into_inner()
    }

    #[test]
    fn large_images_are_scaled_to_fit_keeping_the_aspect_ratio() {
        let thumb = make_thumbnail(ImageType::Png, &png(800, 400), 320).expect("thumb");
        let info = sniff::inspect(&thumb).expect("a JPEG");
        assert_eq!(
            (info.kind, info.width, info.height),
            (ImageType::Jpeg, 320, 160)
        );
    }

    #[test]
    fn small_images_are_not_scaled_up() {
        let thumb = make_thumbnail(ImageType::Png, &png(40, 30), 320).expect("thumb");
        let info = sniff::inspect(&thumb).expect("a JPEG");
        assert_eq!((info.width, info.height), (40, 30));
    }

    #[test]
    fn orphaned_thumbnails_are_swept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path());
        let kept = BlobHash::of(b"kept");
        let gone = BlobHash::of(b"gone");
        files::write_atomic(&layout.blob_path(&kept), b"kept").expect("blob");
        files::write_atomic(&layout.thumb_path(&kept, 320), b"t").expect("thumb");
        files::write_atomic(&layout.thumb_path(&gone, 320), b"t").expect("thumb");
        assert_eq!(sweep_orphans(&layout).expect("sweep"), 1);
        assert!(layout.thumb_path(&kept, 320).exists());
        assert!(!layout.thumb_path(&gone, 320).exists());
    }
}

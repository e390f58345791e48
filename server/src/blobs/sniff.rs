//! What kind of image a body is, judged by its content only (never by a
//! file name or a `Content-Type` header).
//!
//! Two steps: the magic bytes must be those of JPEG (`FF D8 FF`), PNG
//! (`89 50 4E 47 0D 0A 1A 0A`) or WebP (`RIFF....WEBP`); then the body must
//! decode completely with the `image` crate under [`decode_limits`]. Before
//! any pixel is decoded, the dimensions are read from the header and an
//! image over [`MAX_SIDE`] pixels on a side or [`MAX_PIXELS`] in total is
//! refused (a 250 KB PNG can claim 265 MB of pixels: a decompression bomb);
//! the decoder itself may allocate at most [`MAX_DECODE_ALLOC`] bytes. The
//! app uploads photos of at most 1600 pixels on the longest side, so the
//! bounds leave ample room for other clients. How many decodes run at once
//! is bounded by the server ([`crate::state::AppState::decode_gate`]).
//!
//! ```
//! use wijklog_server::blobs::sniff::{ImageType, magic};
//! assert_eq!(magic(b"\x89PNG\r\n\x1a\n...."), Some(ImageType::Png));
//! assert_eq!(magic(b"hello, I am text"), None);
//! ```

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// Longest accepted image side (pixels).
pub const MAX_SIDE: u32 = 8_192;
/// Most pixels an accepted image may have (16.8 megapixels, 64 MiB as RGBA).
pub const MAX_PIXELS: u64 = 4_096 * 4_096;
/// Most memory a decoder may allocate (bytes).
pub const MAX_DECODE_ALLOC: u64 = 96 * 1024 * 1024;

/// The accepted image types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// WebP (lossy or lossless).
    Webp,
}

impl ImageType {
    /// The MIME type stored and served.
    pub fn mime(&self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
            ImageType::Webp => "image/webp",
        }
    }

    /// Parses a stored MIME type.
    pub fn from_mime(mime: &str) -> Option<Self> {
        match mime {
            "image/jpeg" => Some(ImageType::Jpeg),
            "image/png" => Some(ImageType::Png),
            "image/webp" => Some(ImageType::Webp),
            _ => None,
        }
    }

    fn format(&self) -> ImageFormat {
        match self {
            ImageType::Jpeg => ImageFormat::Jpeg,
            ImageType::Png => ImageFormat::Png,
            ImageType::Webp => ImageFormat::WebP,
        }
    }
}

/// Why a body is not an accepted image.
#[derive(Debug, thiserror::Error)]
pub enum SniffError {
    /// The first bytes are not those of JPEG, PNG or WebP.
    #[error("the content is not JPEG, PNG or WebP")]
    UnknownType,
    /// The header claims more pixels than [`MAX_SIDE`] / [`MAX_PIXELS`]
    /// allow; nothing was decoded.
    #[error("the image is {width} x {height} pixels, more than accepted")]
    TooManyPixels {
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
    },
    /// The magic bytes are right but the image does not decode (truncated,
    /// corrupt, or over the size limits).
    #[error("the {mime} content does not decode")]
    Undecodable {
        /// The type the magic bytes claimed.
        mime: &'static str,
        /// The decoder's error.
        #[source]
        source: image::ImageError,
    },
}

/// A verified image: its type and dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    /// The type.
    pub kind: ImageType,
    /// Width (pixels).
    pub width: u32,
    /// Height (pixels).
    pub height: u32,
}

/// The type the magic bytes announce, if accepted.
pub fn magic(bytes: &[u8]) -> Option<ImageType> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageType::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageType::Png)
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(ImageType::Webp)
    } else {
        None
    }
}

/// The limits every decode runs under.
pub fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
}

/// The dimensions the header of `bytes` (of type `kind`) claims, read
/// without decoding any pixel, checked against [`MAX_SIDE`] and [`MAX_PIXELS`].
pub fn check_dimensions(kind: ImageType, bytes: &[u8]) -> Result<(u32, u32), SniffError> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(kind.format());
    // Reading the header allocates nothing; the side limits are checked
    // below so that an oversized image gets its own error.
    let (width, height) = reader
        .into_dimensions()
        .map_err(|source| SniffError::Undecodable {
            mime: kind.mime(),
            source,
        })?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(SniffError::TooManyPixels { width, height });
    }
    Ok((width, height))
}

/// Decodes `bytes` as `kind` under [`decode_limits`], after
/// [`check_dimensions`].
pub fn decode_as(kind: ImageType, bytes: &[u8]) -> Result<DynamicImage, SniffError> {
    check_dimensions(kind, bytes)?;
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(kind.format());
    reader.limits(decode_limits());
    reader.decode().map_err(|source| SniffError::Undecodable {
        mime: kind.mime(),
        source,
    })
}

/// Checks that `bytes` is a JPEG, PNG or WebP that decodes completely.
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, SniffError> {
    let kind = magic(bytes).ok_or(SniffError::UnknownType)?;
    let image = decode_as(kind, bytes)?;
    Ok(ImageInfo {
        kind,
        width: image.width(),
        height: image.height(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, RgbImage};

    fn encode(format: ImageFormat, w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, 90]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("encode");
        out.into_inner()
    }

    #[test]
    fn real_jpeg_png_and_webp_are_recognised_with_their_size() {
        for (format, kind) in [
            (ImageFormat::Jpeg, ImageType::Jpeg),
            (ImageFormat::Png, ImageType::Png),
            (ImageFormat::WebP, ImageType::Webp),
        ] {
            let info = inspect(&encode(format, 31, 17)).expect("decodes");
            assert_eq!(
                info,
                ImageInfo {
                    kind,
                    width: 31,
                    height: 17
                }
            );
        }
    }

    #[test]
    fn text_is_refused_even_when_it_claims_to_be_a_jpeg() {
        let err = inspect(b"this is not an image.jpg\n").expect_err("text");
        assert!(matches!(err, SniffError::UnknownType));
    }

    #[test]
    fn magic_bytes_followed_by_garbage_are_refused() {
        let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0];
        fake.extend_from_slice(b"garbage garbage garbage");
        assert!(matches!(
            inspect(&fake),
            Err(SniffError::Undecodable {
                mime: "image/jpeg",
                ..
            })
        ));
    }

    #[test]
    fn truncated_png_is_refused() {
        let png = encode(ImageFormat::Png, 64, 64);
        assert!(inspect(&png[..png.len() / 2]).is_err());
    }

    #[test]
    fn images_over_the_side_limit_are_refused() {
        // A 1-bit grey PNG of MAX_SIDE+1 x 1 is tiny on disk but over the limit.
        let mut out = Vec::new();
        let wide = MAX_SIDE + 1;
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(
                &vec![0u8; wide as usize],
                wide,
                1,
                image::ExtendedColorType::L8,
            )
            .expect("encode");
        assert!(matches!(
            inspect(&out),
            Err(SniffError::TooManyPixels { .. })
        ));
    }

    /// A PNG claiming `w` x `h` pixels, all zero: tiny on disk (deflate
    /// squeezes the zeros), huge once decoded.
    fn zero_png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let encoder = image::codecs::png::PngEncoder::new_with_quality(
            &mut out,
            image::codecs::png::CompressionType::Best,
            image::codecs::png::FilterType::NoFilter,
        );
        encoder
            .write_image(
                &vec![0u8; (w as usize) * (h as usize)],
                w,
                h,
                image::ExtendedColorType::L8,
            )
            .expect("encode");
        out
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header_before_decoding() {
        // 8000 x 8000 is under the side limit but 64 megapixels.
        let bomb = zero_png(8_000, 8_000);
        assert!(bomb.len() < 200_000, "small on disk: {}", bomb.len());
        assert!(matches!(
            check_dimensions(ImageType::Png, &bomb),
            Err(SniffError::TooManyPixels {
                width: 8_000,
                height: 8_000
            })
        ));
        assert!(matches!(
            inspect(&bomb),
            Err(SniffError::TooManyPixels { .. })
        ));
        // At the bound it decodes.
        let ok = zero_png(4_096, 4_096);
        assert_eq!(
            check_dimensions(ImageType::Png, &ok).expect("fits"),
            (4_096, 4_096)
        );
    }

    #[test]
    fn other_image_formats_are_refused() {
        assert!(magic(b"GIF89a\x01\x00\x01\x00").is_none());
        assert!(magic(b"BM\x00\x00\x00\x00").is_none());
        assert!(magic(b"RIFF\x00\x00\x00\x00WAVE").is_none());
    }
}

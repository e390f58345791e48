//! Test photos: images of noise (a small xorshift), so that PNG cannot
//! compress them away and two seeds give two different photos.

use std::io::Cursor;

use image::{ImageFormat, RgbImage};

/// A `width` × `height` image of noise from `seed`, encoded as `format`.
pub fn noise(format: ImageFormat, width: u32, height: u32, seed: u8) -> Vec<u8> {
    let mut state = 0x9E37_79B9u32 ^ u32::from(seed);
    let img = RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

//! Decodes the one QR code in an SVG or PNG file and prints its text: the
//! dashboard's browser test (tests/dashboard/test_dashboard.py) reads the
//! codes it downloaded with it, through the same independent reader the image
//! tests use (`qr_edge_tests::qr_image`: resvg, png, rqrr). A file that is not
//! a code the edge could have served fails with the reader's message.
//!
//!     cargo run -q -p qr-edge-tests --example qr_decode -- FILE.svg|FILE.png

use qr_edge_tests::qr_image::{decode, png_pixels, svg_pixels};
use std::process::ExitCode;

/// Pixels per SVG unit (one module) when rasterising; a border of this many
/// modules of white paper is added around the image, as a camera sees a printed code.
const PPM: u32 = 8;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: qr_decode FILE.svg|FILE.png");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let image = if path.ends_with(".svg") {
        svg_pixels(&bytes, PPM)
    } else {
        png_pixels(&bytes)
    };
    println!("{}", decode(&image, 4 * PPM as usize, [255; 3]).text);
    ExitCode::SUCCESS
}

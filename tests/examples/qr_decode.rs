//! Decodes the one QR code in an SVG or PNG file and prints its text: the
//! dashboard's browser test (tests/dashboard/test_dashboard.py) reads the
//! codes it downloaded with it. Independent of the code that drew them: `resvg`
//! rasterises SVG, the `png` crate reads PNG, `rqrr` decodes.
//!
//!     cargo run -q -p qr-edge-tests --example qr_decode -- FILE.svg|FILE.png

use resvg::{tiny_skia, usvg};
use std::process::ExitCode;

/// Pixels per SVG unit (one module) when rasterising; a border of this many
/// modules of paper is added around the image, as a camera sees a printed code.
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
    let decoded = if path.ends_with(".svg") {
        svg_luma(&bytes)
    } else {
        png_luma(&bytes)
    }
    .and_then(|(w, h, luma)| decode(w, h, &luma));
    match decoded {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::FAILURE
        }
    }
}

type Luma = (usize, usize, Vec<u8>);

fn svg_luma(bytes: &[u8]) -> Result<Luma, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let tree = usvg::Tree::from_str(text, &usvg::Options::default()).map_err(|e| e.to_string())?;
    let width = tree.size().width() as u32 * PPM;
    let height = tree.size().height() as u32 * PPM;
    let mut pixmap = tiny_skia::Pixmap::new(width, height).ok_or("empty SVG")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(PPM as f32, PPM as f32),
        &mut pixmap.as_mut(),
    );
    let luma = pixmap
        .data()
        .chunks(4)
        .map(|p| grey(p[0], p[1], p[2]))
        .collect();
    Ok((width as usize, height as usize, luma))
}

fn png_luma(bytes: &[u8]) -> Result<Luma, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader.output_buffer_size().ok_or("PNG too large")?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    let channels = frame.color_type.samples();
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut luma = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = &buf[y * frame.line_size..];
        for x in 0..w {
            let p = &row[x * channels..];
            luma.push(if channels >= 3 {
                grey(p[0], p[1], p[2])
            } else {
                p[0]
            });
        }
    }
    Ok((w, h, luma))
}

fn grey(r: u8, g: u8, b: u8) -> u8 {
    ((299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000) as u8
}

/// rqrr on the image with a white border of 4 modules' worth of pixels.
fn decode(w: usize, h: usize, luma: &[u8]) -> Result<String, String> {
    let pad = 4 * PPM as usize;
    let (pw, ph) = (w + 2 * pad, h + 2 * pad);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(pw, ph, |x, y| {
        let inside = x >= pad && y >= pad && x < w + pad && y < h + pad;
        if inside {
            luma[(y - pad) * w + (x - pad)]
        } else {
            255
        }
    });
    let grids = prepared.detect_grids();
    if grids.len() != 1 {
        return Err(format!("found {} QR codes, not one", grids.len()));
    }
    grids[0]
        .decode()
        .map(|(_, text)| text)
        .map_err(|e| format!("rqrr: {e:?}"))
}

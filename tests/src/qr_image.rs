//! Reading a served QR code back, independently of the code that drew it:
//! `png` reads a PNG (checking every CRC and the zlib checksum), `resvg`
//! rasterises an SVG, `rqrr` decodes. Strict on purpose: a pixel that is not
//! what the edge promises fails the caller (tests/tests/images.rs; the
//! dashboard's downloads through `examples/qr_decode.rs`).

use resvg::{tiny_skia, usvg};

pub fn luma(c: [u8; 3]) -> u8 {
    ((299 * u32::from(c[0]) + 587 * u32::from(c[1]) + 114 * u32::from(c[2])) / 1000) as u8
}

/// An RGB image, row-major.
pub struct Raster {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<[u8; 3]>,
}

impl Raster {
    /// Nearest-neighbour enlargement by `k`, as any viewer shows a tiny image.
    pub fn enlarged(&self, k: usize) -> Raster {
        let (width, height) = (self.width * k, self.height * k);
        let rgb = (0..width * height)
            .map(|i| self.rgb[(i / width / k) * self.width + (i % width) / k])
            .collect();
        Raster { width, height, rgb }
    }

    /// Checks that the image is `modules` × `modules` solid squares of whole
    /// pixels and returns the pixels per module.
    pub fn pixels_per_module(&self, modules: usize) -> usize {
        assert_eq!(self.width, self.height, "square image");
        assert_eq!(
            self.width % modules,
            0,
            "{} px is not a whole number of {modules} modules",
            self.width
        );
        let ppm = self.width / modules;
        for (i, px) in self.rgb.iter().enumerate() {
            let (x, y) = (i % self.width, i / self.width);
            let corner = self.rgb[(y / ppm * ppm) * self.width + x / ppm * ppm];
            assert_eq!(
                *px, corner,
                "pixel ({x},{y}) differs from its module's other pixels"
            );
        }
        ppm
    }
}

/// Decodes a PNG with the `png` crate (which checks every CRC and the zlib
/// checksum), palette expanded to RGB.
pub fn png_pixels(bytes: &[u8]) -> Raster {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("PNG buffer size")];
    let frame = reader.next_frame(&mut buf).expect("PNG image data");
    assert_eq!(
        (frame.color_type, frame.bit_depth),
        (png::ColorType::Rgb, png::BitDepth::Eight)
    );
    let (width, height) = (frame.width as usize, frame.height as usize);
    let rgb = (0..height)
        .flat_map(|y| {
            let row = &buf[y * frame.line_size..y * frame.line_size + 3 * width];
            row.chunks(3)
                .map(|p| [p[0], p[1], p[2]])
                .collect::<Vec<_>>()
        })
        .collect();
    Raster { width, height, rgb }
}

/// Rasterises an SVG with resvg at `ppm` pixels per `viewBox` unit (one module).
pub fn svg_pixels(bytes: &[u8], ppm: u32) -> Raster {
    let text = std::str::from_utf8(bytes).expect("SVG is UTF-8");
    let tree = usvg::Tree::from_str(text, &usvg::Options::default()).expect("usvg parses the SVG");
    let units = tree.size().width();
    assert_eq!(units, tree.size().height(), "square viewBox");
    let width = units as u32 * ppm;
    let mut pixmap = tiny_skia::Pixmap::new(width, width).expect("pixmap");
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(ppm as f32, ppm as f32),
        &mut pixmap.as_mut(),
    );
    let rgb = pixmap
        .data()
        .chunks(4)
        .map(|p| {
            assert_eq!(p[3], 255, "every pixel is opaque");
            [p[0], p[1], p[2]]
        })
        .collect();
    Raster {
        width: width as usize,
        height: width as usize,
        rgb,
    }
}

/// What rqrr read from an image.
#[derive(Debug)]
pub struct Decoded {
    pub text: String,
    /// L, M, Q or H.
    pub ecc: &'static str,
}

/// Decodes the one QR code in `image` as a camera sees a printed code: with
/// `pad` pixels of `paper` around it.
pub fn decode(image: &Raster, pad: usize, paper: [u8; 3]) -> Decoded {
    let (w, h) = (image.width + 2 * pad, image.height + 2 * pad);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let inside = x >= pad && y >= pad && x < image.width + pad && y < image.height + pad;
        luma(if inside {
            image.rgb[(y - pad) * image.width + (x - pad)]
        } else {
            paper
        })
    });
    let grids = prepared.detect_grids();
    assert_eq!(
        grids.len(),
        1,
        "exactly one QR code in the {}x{} image",
        image.width,
        image.height
    );
    let (meta, text) = grids[0].decode().expect("rqrr decodes the code");
    // rqrr numbers levels by their format bits: M 0, L 1, H 2, Q 3.
    let ecc = ["M", "L", "H", "Q"][usize::from(meta.ecc_level)];
    Decoded { text, ecc }
}

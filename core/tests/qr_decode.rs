//! Owns the image-level checks of `qr_edge_core::qr`: every rendered PNG and
//! SVG is decoded by independent code (the `png` crate, `resvg` and the
//! `rqrr` QR decoder) back to exactly the upper-case short URL, and the files
//! have the promised structure (exact scaling, 1-bit palette, integer path).

use qr_edge_core::qr::{render, short_url_text, symbol_version, Ecc, ImageFormat, QrOptions};
use resvg::{tiny_skia, usvg};

const ECCS: [Ecc; 4] = [Ecc::L, Ecc::M, Ecc::Q, Ecc::H];
const SIZES: [u32; 4] = [64, 100, 512, 4096];
const MARGINS: [u8; 4] = [0, 1, 4, 16];
/// (fg, bg): black on white, navy on white, dark green on light yellow, dark red on pale grey.
const COLOURS: [([u8; 3], [u8; 3]); 4] = [
    ([0, 0, 0], [255, 255, 255]),
    ([0, 0, 0x80], [255, 255, 255]),
    ([0, 0x64, 0], [255, 255, 0xe0]),
    ([0x8b, 0, 0], [0xee, 0xee, 0xee]),
];
const SLUGS: [&str; 4] = ["spring26", "a", "summer-sale-2026-berlin", "x7k2mq9p"];

/// rqrr's format-bits numbering of ECC levels.
fn rqrr_level(ecc: Ecc) -> u16 {
    match ecc {
        Ecc::M => 0,
        Ecc::L => 1,
        Ecc::H => 2,
        Ecc::Q => 3,
    }
}

fn luma(c: [u8; 3]) -> u8 {
    ((299 * u32::from(c[0]) + 587 * u32::from(c[1]) + 114 * u32::from(c[2])) / 1000) as u8
}

/// Decodes a greyscale image with rqrr. Like a phone camera, the decoder sees
/// some surface around the code: a `pad`-pixel border of `surround` grey.
fn rqrr_decode(
    w: usize,
    h: usize,
    px: &[u8],
    pad: usize,
    surround: u8,
) -> (String, rqrr::MetaData) {
    let (pw, ph) = (w + 2 * pad, h + 2 * pad);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(pw, ph, |x, y| {
        if x < pad || y < pad || x >= w + pad || y >= h + pad {
            surround
        } else {
            px[(y - pad) * w + (x - pad)]
        }
    });
    let grids = img.detect_grids();
    assert_eq!(
        grids.len(),
        1,
        "expected exactly one QR code in {w}x{h} image"
    );
    let (meta, text) = grids[0].decode().expect("rqrr decodes the code");
    (text, meta)
}

struct Png {
    width: u32,
    height: u32,
    palette: Vec<u8>,
    /// One palette index per pixel, row-major.
    index: Vec<u8>,
}

/// Decodes with the `png` crate (which also checks every chunk CRC and the
/// zlib Adler-32), keeping the raw 1-bit indices.
fn decode_png(bytes: &[u8]) -> Png {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let frame = reader.next_frame(&mut buf).expect("png frame");
    let info = reader.info();
    assert_eq!(info.color_type, png::ColorType::Indexed);
    assert_eq!(info.bit_depth, png::BitDepth::One);
    assert!(!info.interlaced);
    let palette = info.palette.as_ref().expect("PLTE chunk").to_vec();
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut index = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = &buf[y * frame.line_size..(y + 1) * frame.line_size];
        for x in 0..w {
            index.push((row[x / 8] >> (7 - x % 8)) & 1);
        }
    }
    Png {
        width: frame.width,
        height: frame.height,
        palette,
        index,
    }
}

fn opts(ecc: Ecc, margin: u8, size: u32, (fg, bg): ([u8; 3], [u8; 3])) -> QrOptions {
    QrOptions {
        ecc,
        margin,
        size,
        fg,
        bg,
    }
}

/// Checks that the PNG is an exact integer upscale of a module grid and returns
/// (pixels per module, module grid).
fn modules_of(png: &Png, total: u32) -> (u32, Vec<u8>) {
    assert_eq!(png.width, png.height);
    assert_eq!(png.width % total, 0, "image is a whole number of modules");
    let scale = png.width / total;
    let w = png.width as usize;
    let mut grid = Vec::with_capacity((total * total) as usize);
    for my in 0..total as usize {
        for mx in 0..total as usize {
            let s = scale as usize;
            let v = png.index[my * s * w + mx * s];
            for y in my * s..(my + 1) * s {
                assert!(
                    png.index[y * w + mx * s..y * w + (mx + 1) * s]
                        .iter()
                        .all(|&p| p == v),
                    "module ({mx},{my}) is not one solid square"
                );
            }
            grid.push(v);
        }
    }
    (scale, grid)
}

#[test]
fn png_decodes_to_the_short_url_for_every_ecc_margin_size_and_colour() {
    for (i, &ecc) in ECCS.iter().enumerate() {
        for (j, &margin) in MARGINS.iter().enumerate() {
            let size = SIZES[(i + j) % 4];
            let colours = COLOURS[(i + 2 * j) % 4];
            let o = opts(ecc, margin, size, colours);
            let text = short_url_text("go.example.com", SLUGS[(i + 3 * j) % 4]);
            let bytes = render(&text, ImageFormat::Png, &o).expect("render");
            let png = decode_png(&bytes);

            // Palette is [bg, fg]; geometry is the documented exact scaling.
            assert_eq!(png.palette, [o.bg, o.fg].concat());
            let version = symbol_version(&text, ecc).expect("version");
            let total = 17 + 4 * u32::from(version) + 2 * u32::from(margin);
            let expected_scale = (size / total).max(1);
            assert_eq!(png.width, expected_scale * total, "{o:?}");
            assert!(png.width <= size || expected_scale == 1);
            let (scale, grid) = modules_of(&png, total);
            assert_eq!(scale, expected_scale);

            // `modules_of` proved the image is exactly the module grid scaled
            // up, so decode that grid at 4-8 px/module: tiny 1-2 px/module
            // images are shown scaled up by any viewer, and rqrr overflows
            // i32 geometry on multi-megapixel images.
            let shades = [luma(o.bg), luma(o.fg)];
            let (t, ppm) = (total as usize, scale.clamp(4, 8) as usize);
            let w = t * ppm;
            let mut px = Vec::with_capacity(w * w);
            for y in 0..w {
                for x in 0..w {
                    px.push(shades[grid[(y / ppm) * t + x / ppm] as usize]);
                }
            }
            let pad = 4 * ppm;
            let (decoded, meta) = rqrr_decode(w, w, &px, pad, shades[0]);
            assert_eq!(decoded, text, "{o:?}");
            assert_eq!(meta.version.0, usize::from(version));
            assert_eq!(meta.ecc_level, rqrr_level(ecc), "{o:?}");
        }
    }
}

/// Rasterises the SVG with resvg at `ppm` pixels per module and returns (width, RGBA).
fn rasterise_svg(svg: &str, ppm: u32) -> (u32, Vec<u8>) {
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default()).expect("usvg parses the SVG");
    let view = tree.size();
    assert_eq!(view.width(), view.height());
    let modules = view.width() as u32;
    let w = modules * ppm;
    let mut pixmap = tiny_skia::Pixmap::new(w, w).expect("pixmap");
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(ppm as f32, ppm as f32),
        &mut pixmap.as_mut(),
    );
    (w, pixmap.data().to_vec())
}

#[test]
fn svg_decodes_to_the_short_url_for_every_ecc_margin_and_colour() {
    for (i, &ecc) in ECCS.iter().enumerate() {
        for (j, &margin) in MARGINS.iter().enumerate() {
            let colours = COLOURS[(i + j) % 4];
            let o = opts(ecc, margin, SIZES[j], colours);
            let text = short_url_text("qr.example.org", SLUGS[(2 * i + j) % 4]);
            let svg = String::from_utf8(render(&text, ImageFormat::Svg, &o).expect("render"))
                .expect("utf-8");
            let (w, rgba) = rasterise_svg(&svg, 4);
            // crispEdges + integer coordinates: every pixel is exactly fg or bg.
            let px: Vec<u8> = rgba
                .chunks(4)
                .map(|p| {
                    let c = [p[0], p[1], p[2]];
                    assert_eq!(p[3], 255, "opaque");
                    assert!(c == o.fg || c == o.bg, "pixel {c:?} is neither fg nor bg");
                    luma(c)
                })
                .collect();
            let (decoded, meta) = rqrr_decode(w as usize, w as usize, &px, 16, luma(o.bg));
            assert_eq!(decoded, text, "{o:?}");
            assert_eq!(
                meta.version.0,
                usize::from(symbol_version(&text, ecc).expect("v"))
            );
            assert_eq!(meta.ecc_level, rqrr_level(ecc));
        }
    }
}

#[test]
fn svg_is_a_single_integer_path_on_one_rect_in_module_units() {
    let o = QrOptions {
        fg: [0x12, 0x34, 0x56],
        bg: [0xfe, 0xdc, 0xba],
        margin: 3,
        ..QrOptions::default()
    };
    let text = short_url_text("go.example.com", "spring26");
    let svg =
        String::from_utf8(render(&text, ImageFormat::Svg, &o).expect("render")).expect("utf-8");
    let doc = usvg::roxmltree::Document::parse(&svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let total = 17 + 4 * u32::from(symbol_version(&text, o.ecc).expect("v")) + 6;
    assert_eq!(
        root.attribute("viewBox"),
        Some(format!("0 0 {total} {total}").as_str())
    );
    assert_eq!(root.attribute("shape-rendering"), Some("crispEdges"));
    assert_eq!(root.attribute("width"), None);
    assert_eq!(root.attribute("height"), None);

    let children: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert_eq!(children.len(), 2, "one rect and one path");
    let (rect, path) = (children[0], children[1]);
    assert_eq!(rect.tag_name().name(), "rect");
    assert_eq!(rect.attribute("fill"), Some("#fedcba"));
    assert_eq!(rect.attribute("width"), Some(total.to_string().as_str()));
    assert_eq!(rect.attribute("height"), Some(total.to_string().as_str()));
    assert_eq!(path.tag_name().name(), "path");
    assert_eq!(path.attribute("fill"), Some("#123456"));
    let d = path.attribute("d").expect("d");
    assert!(
        d.chars().all(|c| "Mhvz- 0123456789".contains(c)),
        "path uses only integer coordinates"
    );
    assert!(!svg.contains("<image"), "no raster inside");
}

#[test]
fn png_size_rounds_down_to_whole_modules_and_never_below_one_px_per_module() {
    let text = short_url_text("go.example.com", "spring26"); // 31 chars: version 2 at M
    assert_eq!(symbol_version(&text, Ecc::M), Ok(2));
    let total = 25 + 8;
    for (size, want) in [(512, 495), (64, 33), (100, 99), (4096, 4092), (65, 33)] {
        let o = QrOptions {
            size,
            ..QrOptions::default()
        };
        let png = decode_png(&render(&text, ImageFormat::Png, &o).expect("render"));
        assert_eq!(png.width, want, "size {size}");
        assert_eq!(png.width % total, 0);
    }
    // A version-40 code with a 16-module margin is 209 modules: at size 64 it
    // is drawn at 1 px per module, i.e. larger than asked.
    let long = "A".repeat(4200);
    let o = QrOptions {
        ecc: Ecc::L,
        margin: 16,
        size: 64,
        ..QrOptions::default()
    };
    assert_eq!(symbol_version(&long, Ecc::L), Ok(40));
    let png = decode_png(&render(&long, ImageFormat::Png, &o).expect("render"));
    assert_eq!((png.width, png.height), (209, 209));
    let (scale, _) = modules_of(&png, 209);
    assert_eq!(scale, 1);
}

#[test]
fn large_symbols_decode_too() {
    // Version 40-L holds 4296 alphanumeric characters.
    for (ecc, len) in [(Ecc::L, 4296), (Ecc::H, 600)] {
        let text = format!("HTTPS://GO.EXAMPLE.COM/{}", "Z9".repeat((len - 23) / 2));
        let o = QrOptions {
            ecc,
            size: 1024,
            ..QrOptions::default()
        };
        let png = decode_png(&render(&text, ImageFormat::Png, &o).expect("render"));
        let px: Vec<u8> = png.index.iter().map(|&p| [255, 0][p as usize]).collect();
        let (decoded, _) = rqrr_decode(png.width as usize, png.height as usize, &px, 0, 255);
        assert_eq!(decoded, text);
    }
}

#[test]
fn default_png_for_a_typical_short_url_is_small() {
    let text = short_url_text("go.example.com", "spring26");
    let png = render(&text, ImageFormat::Png, &QrOptions::default()).expect("render");
    let svg = render(&text, ImageFormat::Svg, &QrOptions::default()).expect("render");
    println!(
        "typical URL, default options: PNG {} bytes, SVG {} bytes",
        png.len(),
        svg.len()
    );
    assert!(png.len() < 1024, "PNG is {} bytes", png.len());
    assert!(svg.len() < 4096, "SVG is {} bytes", svg.len());
    // The real pixels, as served, decode with no help.
    let png = decode_png(&png);
    let px: Vec<u8> = png.index.iter().map(|&p| [255, 0][p as usize]).collect();
    let (decoded, _) = rqrr_decode(png.width as usize, png.height as usize, &px, 0, 255);
    assert_eq!(decoded, "HTTPS://GO.EXAMPLE.COM/SPRING26");
}

/// ISO 18004 table 10: whether data mask `pattern` flips module (row, col).
fn mask(pattern: u16, i: usize, j: usize) -> bool {
    match pattern {
        0 => (i + j).is_multiple_of(2),
        1 => i.is_multiple_of(2),
        2 => j.is_multiple_of(3),
        3 => (i + j).is_multiple_of(3),
        4 => (i / 2 + j / 3).is_multiple_of(2),
        5 => (i * j) % 2 + (i * j) % 3 == 0,
        6 => ((i * j) % 2 + (i * j) % 3).is_multiple_of(2),
        _ => ((i + j) % 2 + (i * j) % 3).is_multiple_of(2),
    }
}

/// Moved from the black-box image tests: the short URL is encoded as one
/// alphanumeric segment (mode indicator 0b0010), read from the decoded
/// symbol's first four data bits, for URLs of 24 to 87 characters at every
/// level. Byte mode would often fit the same version, so the version alone
/// does not show the mode.
#[test]
fn the_short_url_is_one_alphanumeric_segment() {
    let longest: String = "x1y2z3-".repeat(10).chars().take(64).collect();
    for slug in ["a", "spring26", "summer-sale-2026x", longest.as_str()] {
        let text = short_url_text("go.example.com", slug);
        for ecc in ECCS {
            let o = QrOptions {
                ecc,
                size: 64,
                ..QrOptions::default()
            };
            let png = decode_png(&render(&text, ImageFormat::Png, &o).expect("render"));
            // The default margin is 4 modules a side.
            let total = 17 + 4 * u32::from(symbol_version(&text, ecc).expect("version")) + 8;
            let (_, grid) = modules_of(&png, total);
            // Re-draw the module grid at 4 px per module, as a viewer shows it.
            let (t, ppm) = (total as usize, 4);
            let w = t * ppm;
            let px: Vec<u8> = (0..w * w)
                .map(|i| [255, 0][grid[(i / w / ppm) * t + (i % w) / ppm] as usize])
                .collect();
            let (pw, pad) = (w + 8 * ppm, 4 * ppm);
            let mut img = rqrr::PreparedImage::prepare_from_greyscale(pw, pw, |x, y| {
                if x < pad || y < pad || x >= w + pad || y >= w + pad {
                    255
                } else {
                    px[(y - pad) * w + (x - pad)]
                }
            });
            let grids = img.detect_grids();
            assert_eq!(grids.len(), 1, "{text} at {ecc:?}");
            let (meta, decoded) = grids[0].decode().expect("rqrr decodes the code");
            assert_eq!(decoded, text);
            let (_, raw) = grids[0].get_raw_data().expect("rqrr reads the raw bits");
            // The first four data bits sit in the bottom-right 2x2 modules, read
            // right-to-left then upwards (ISO 18004 §7.7.3); rqrr's raw bits are
            // still masked, so unmask them with the symbol's mask pattern.
            let n = meta.version.0 * 4 + 17;
            let cells = [
                (n - 1, n - 1),
                (n - 1, n - 2),
                (n - 2, n - 1),
                (n - 2, n - 2),
            ];
            let mode = cells
                .iter()
                .enumerate()
                .fold(0u8, |mode, (k, &(row, col))| {
                    let bit = (raw.data[0] >> (7 - k)) & 1;
                    (mode << 1) | (bit ^ u8::from(mask(meta.mask, row, col)))
                });
            assert_eq!(mode, 0b0010, "{text} at {ecc:?}: one alphanumeric segment");
        }
    }
}

//! QR code images (docs/qr-images.md): query options, the encoded short-URL text, the
//! matrix (via `qrcodegen`), SVG and PNG rendering, `ETag` and content type.
//!
//! - The symbol is the smallest version (1–40) holding the text at exactly the
//!   requested ECC level; upper-case URLs are one alphanumeric-mode segment.
//! - SVG (print): `viewBox` in module units (symbol + 2 × margin), no pixel size,
//!   `crispEdges`, one background `<rect>` and one `<path>` of integer runs.
//! - PNG (screens): 1-bit indexed, palette `[bg, fg]`, each module an exact
//!   square of pixels; `size` is rounded down to a whole number of modules
//!   (never below 1 px per module).
//!
//! Pure and panic-free: every input yields an image or a typed error.

use std::fmt;

use qrcodegen::{QrCode, QrCodeEcc, QrSegment, Version};
use sha2::{Digest, Sha256};

/// Bumped whenever rendered bytes change for the same inputs, so `ETag`s change too.
const RENDERER_VERSION: &str = "qr-edge-render/1";

/// The most characters any QR symbol holds (version 40-L, numeric mode);
/// longer text is refused before encoding.
const MAX_TEXT_LEN: usize = 7089;

/// Error-correction level: roughly 7 %, 15 %, 25 %, 30 % of the symbol may be damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ecc {
    L,
    M,
    Q,
    H,
}

/// Image format of a rendered code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Svg,
    Png,
}

/// Rendering options, as given in the image URL's query (docs/qr-images.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QrOptions {
    /// Error-correction level (`ecc`).
    pub ecc: Ecc,
    /// Quiet zone in modules (`margin`, 0–16).
    pub margin: u8,
    /// Requested PNG edge in pixels (`size`, 64–4096); SVG ignores it.
    pub size: u32,
    /// Dark-module colour (`fg`).
    pub fg: [u8; 3],
    /// Background and quiet-zone colour (`bg`).
    pub bg: [u8; 3],
}

impl Default for QrOptions {
    fn default() -> Self {
        QrOptions {
            ecc: Ecc::M,
            margin: 4,
            size: 512,
            fg: [0, 0, 0],
            bg: [0xff, 0xff, 0xff],
        }
    }
}

/// A rejected query parameter: `param` is the parameter name (e.g. "size"),
/// `problem` says what is wrong, human readable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError {
    pub param: &'static str,
    pub problem: String,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.param, self.problem)
    }
}

impl std::error::Error for ParamError {}

/// Why a code could not be rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QrError {
    /// The text does not fit in a version-40 symbol at the requested ECC level.
    TooLong { len: usize, ecc: Ecc },
}

impl fmt::Display for QrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QrError::TooLong { len, ecc } => write!(
                f,
                "{len} characters do not fit in any QR version at error-correction level {ecc:?}"
            ),
        }
    }
}

impl std::error::Error for QrError {}

/// Minimum WCAG 2 contrast ratio between `fg` and `bg`.
const MIN_CONTRAST: f64 = 3.0;

impl QrOptions {
    /// Parse from the raw query string (may be empty, a leading `?` is skipped;
    /// `a=1&b=2` form, percent-decoded).
    ///
    /// `ecc` L|M|Q|H (any case), `margin` 0..=16, `size` 64..=4096, `fg`/`bg`
    /// exactly six hex digits (no `#`). Unknown parameters are ignored; a known
    /// one given twice or with an empty value is an error naming it. `fg` must be
    /// darker than `bg` with a WCAG 2 contrast ratio of at least 3:1 (reported as `fg`).
    pub fn from_query(query: &str) -> Result<QrOptions, ParamError> {
        let mut opts = QrOptions::default();
        let mut seen = [false; 5];
        let query = query.strip_prefix('?').unwrap_or(query);
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let (slot, param): (usize, &'static str) = match name.as_ref() {
                "ecc" => (0, "ecc"),
                "margin" => (1, "margin"),
                "size" => (2, "size"),
                "fg" => (3, "fg"),
                "bg" => (4, "bg"),
                _ => continue,
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Err(err(param, "given more than once".into()));
            }
            if value.is_empty() {
                return Err(err(param, "is empty".into()));
            }
            match slot {
                0 => opts.ecc = parse_ecc(&value)?,
                1 => opts.margin = parse_int(param, &value, 0, 16)? as u8,
                2 => opts.size = parse_int(param, &value, 64, 4096)?,
                3 => opts.fg = parse_colour(param, &value)?,
                _ => opts.bg = parse_colour(param, &value)?,
            }
        }
        check_contrast(opts.fg, opts.bg)?;
        Ok(opts)
    }
}

fn err(param: &'static str, problem: String) -> ParamError {
    ParamError { param, problem }
}

/// Shortens a hostile value for an error message.
fn shown(value: &str) -> String {
    let short: String = value.chars().take(16).collect();
    if short.len() < value.len() {
        format!("{short:?}…")
    } else {
        format!("{short:?}")
    }
}

fn parse_ecc(value: &str) -> Result<Ecc, ParamError> {
    match value.to_ascii_uppercase().as_str() {
        "L" => Ok(Ecc::L),
        "M" => Ok(Ecc::M),
        "Q" => Ok(Ecc::Q),
        "H" => Ok(Ecc::H),
        _ => Err(err(
            "ecc",
            format!("{} is not one of L, M, Q, H", shown(value)),
        )),
    }
}

fn parse_int(param: &'static str, value: &str, min: u32, max: u32) -> Result<u32, ParamError> {
    let out_of_range = || {
        err(
            param,
            format!("{} is not a whole number from {min} to {max}", shown(value)),
        )
    };
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(out_of_range());
    }
    match value.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(out_of_range()),
    }
}

fn parse_colour(param: &'static str, value: &str) -> Result<[u8; 3], ParamError> {
    let b = value.as_bytes();
    let bad = || {
        err(
            param,
            format!(
                "{} is not six hex digits like 1a2b3c (no '#')",
                shown(value)
            ),
        )
    };
    if b.len() != 6 || !b.iter().all(u8::is_ascii_hexdigit) {
        return Err(bad());
    }
    let byte = |i: usize| u8::from_str_radix(value.get(i..i + 2).unwrap_or(""), 16);
    match (byte(0), byte(2), byte(4)) {
        (Ok(r), Ok(g), Ok(b)) => Ok([r, g, b]),
        _ => Err(bad()),
    }
}

/// WCAG 2 relative luminance of an sRGB colour.
fn luminance(c: [u8; 3]) -> f64 {
    let lin = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.04045 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
}

fn check_contrast(fg: [u8; 3], bg: [u8; 3]) -> Result<(), ParamError> {
    let (lf, lb) = (luminance(fg), luminance(bg));
    if lf >= lb {
        return Err(err(
            "fg",
            "must be darker than bg: light-on-dark codes fail on many phone scanners".into(),
        ));
    }
    let ratio = (lb + 0.05) / (lf + 0.05);
    if ratio < MIN_CONTRAST {
        return Err(err(
            "fg",
            format!("WCAG 2 contrast ratio against bg is {ratio:.2}:1, below the 3:1 minimum for reliable scanning"),
        ));
    }
    Ok(())
}

/// The text a code encodes for a link: `https://{DOMAIN}/{SLUG}` upper-cased so
/// the whole URL fits QR alphanumeric mode (slugs and hosts are case-insensitive).
pub fn short_url_text(domain: &str, slug: &str) -> String {
    crate::path::short_url(domain, slug).to_ascii_uppercase()
}

/// The `Content-Type` of an image format.
pub fn content_type(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Svg => "image/svg+xml",
        ImageFormat::Png => "image/png",
    }
}

fn qrcodegen_ecc(ecc: Ecc) -> QrCodeEcc {
    match ecc {
        Ecc::L => QrCodeEcc::Low,
        Ecc::M => QrCodeEcc::Medium,
        Ecc::Q => QrCodeEcc::Quartile,
        Ecc::H => QrCodeEcc::High,
    }
}

/// The smallest symbol for `text` at exactly `ecc` (never boosted), in one
/// segment: numeric, alphanumeric (upper-case URLs) or byte mode, whichever fits all of it.
fn encode(text: &str, ecc: Ecc) -> Result<QrCode, QrError> {
    let too_long = || QrError::TooLong {
        len: text.chars().count(),
        ecc,
    };
    if text.len() > MAX_TEXT_LEN {
        return Err(too_long());
    }
    let segs = QrSegment::make_segments(text);
    QrCode::encode_segments_advanced(
        &segs,
        qrcodegen_ecc(ecc),
        Version::MIN,
        Version::MAX,
        None,
        false,
    )
    .map_err(|_| too_long())
}

/// The QR version (1–40) `render` uses for `text` at `ecc`: the smallest that holds it.
pub fn symbol_version(text: &str, ecc: Ecc) -> Result<u8, QrError> {
    encode(text, ecc).map(|qr| qr.version().value())
}

/// The rendered image bytes for `text`: print SVG or exactly-scaled 1-bit PNG (see module docs).
pub fn render(text: &str, format: ImageFormat, opts: &QrOptions) -> Result<Vec<u8>, QrError> {
    let qr = encode(text, opts.ecc)?;
    let margin = opts.margin.min(16);
    Ok(match format {
        ImageFormat::Svg => render_svg(&qr, margin, opts.fg, opts.bg).into_bytes(),
        ImageFormat::Png => render_png(&qr, margin, opts.size, opts.fg, opts.bg),
    })
}

fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// Print SVG: a `viewBox` in module units (modules + 2 × margin), no pixel
/// size, `crispEdges`, one background `<rect>` and one `<path>` of integer
/// horizontal runs (`M x y h n v1 h-n z`), one per dark run per row.
fn render_svg(qr: &QrCode, margin: u8, fg: [u8; 3], bg: [u8; 3]) -> String {
    use fmt::Write;
    let n = qr.size();
    let m = i32::from(margin);
    let total = n + 2 * m;
    let mut d = String::new();
    for y in 0..n {
        let mut x = 0;
        while x < n {
            if !qr.get_module(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < n && qr.get_module(x, y) {
                x += 1;
            }
            let run = x - start;
            let _ = write!(d, "M{} {}h{run}v1h-{run}z", start + m, y + m);
        }
    }
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {t} {t}" shape-rendering="crispEdges">"#,
            r#"<rect width="{t}" height="{t}" fill="{bg}"/><path fill="{fg}" d="{d}"/></svg>"#,
            "\n"
        ),
        t = total,
        bg = hex(bg),
        fg = hex(fg),
        d = d
    )
}

/// Pixels per module for a PNG: `size` is rounded DOWN to a whole multiple of
/// the module count (symbol + 2 × margin) so every module is an exact square
/// of pixels with no resampling blur; if `size` is below the module count the
/// image uses 1 px per module and is therefore larger than `size`.
fn png_scale(size: u32, total_modules: u32) -> u32 {
    (size.min(4096) / total_modules.max(1)).max(1)
}

/// Screen PNG: 1-bit indexed colour, palette `[bg, fg]`, exact integer scale
/// (see [`png_scale`]), zlib-compressed with `miniz_oxide` (level 9); chunk
/// framing is hand-written (the `png` crate measured ~30 KB more wasm).
fn render_png(qr: &QrCode, margin: u8, size: u32, fg: [u8; 3], bg: [u8; 3]) -> Vec<u8> {
    let n = qr.size();
    let m = i32::from(margin);
    let total = (n + 2 * m).max(1) as u32; // 21..=209
    let scale = png_scale(size, total);
    let px = total * scale; // <= 4096, or 209 at 1 px/module
    let row_bytes = px.div_ceil(8) as usize;

    // Raw scanlines, packed MSB first, 1 = fg. The first pixel row of each
    // module row is stored unfiltered; its repeats use filter Up (2) and so are
    // all zeros, which deflates smaller and faster than repeating the row.
    let mut raw = Vec::with_capacity((row_bytes + 1) * px as usize);
    let mut line = vec![0u8; row_bytes];
    for my in 0..total as i32 {
        line.iter_mut().for_each(|b| *b = 0);
        for mx in 0..total as i32 {
            if qr.get_module(mx - m, my - m) {
                let x0 = mx as u32 * scale;
                for x in x0..x0 + scale {
                    if let Some(b) = line.get_mut((x / 8) as usize) {
                        *b |= 0x80 >> (x % 8);
                    }
                }
            }
        }
        raw.push(0);
        raw.extend_from_slice(&line);
        for _ in 1..scale {
            raw.push(2);
            raw.resize(raw.len() + row_bytes, 0);
        }
    }
    let idat = miniz_oxide::deflate::compress_to_vec_zlib(&raw, deflate_level(raw.len()));

    let mut out = Vec::with_capacity(idat.len() + 80);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = [0u8; 13];
    ihdr[0..4].copy_from_slice(&px.to_be_bytes());
    ihdr[4..8].copy_from_slice(&px.to_be_bytes());
    ihdr[8..13].copy_from_slice(&[1, 3, 0, 0, 0]); // bit depth 1, indexed, deflate, no filter set, no interlace
    png_chunk(&mut out, b"IHDR", &ihdr);
    let plte = [bg[0], bg[1], bg[2], fg[0], fg[1], fg[2]];
    png_chunk(&mut out, b"PLTE", &plte);
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// Scanlines above this many bytes are deflated at level 1, smaller ones at 9.
const FAST_DEFLATE_ABOVE: usize = 256 * 1024;

/// The deflate level for `raw_len` bytes of scanlines. Level 9 buys a few
/// percent on the largest images for 20 times the CPU: 4096 px at version 40
/// (2 MB of scanlines) measured 74 ms at level 9 and 3.3 ms at level 1 (natively,
/// 16 % larger output), and Fastly stops a request after 50 ms of CPU.
fn deflate_level(raw_len: usize) -> u8 {
    if raw_len > FAST_DEFLATE_ABOVE {
        1
    } else {
        9
    }
}

/// Appends one PNG chunk: length, type, data, CRC-32 of type + data.
fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = !crc32(crc32(!0, kind), data);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (ISO 3309, PNG spec annex D) table. Hand-written rather than the
/// `crc32fast` crate: its 16 KiB slice-by-16 tables cost ~16 KB of wasm for
/// a few hundred checksummed bytes per image.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

fn crc32_byte(c: u32, b: u8) -> u32 {
    CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
}

fn crc32(c: u32, bytes: &[u8]) -> u32 {
    bytes.iter().fold(c, |c, &b| crc32_byte(c, b))
}

/// A strong `ETag` (quoted) for these inputs: SHA-256 over the renderer version,
/// format, the options that affect the bytes (not `size` for SVG) and the text;
/// hex of the first 16 bytes.
pub fn etag(text: &str, format: ImageFormat, opts: &QrOptions) -> String {
    let mut h = Sha256::new();
    h.update(RENDERER_VERSION.as_bytes());
    let (fmt_tag, size) = match format {
        ImageFormat::Svg => (b's', 0),
        ImageFormat::Png => (b'p', opts.size.min(4096)),
    };
    let ecc = match opts.ecc {
        Ecc::L => b'L',
        Ecc::M => b'M',
        Ecc::Q => b'Q',
        Ecc::H => b'H',
    };
    h.update([0, fmt_tag, ecc, opts.margin.min(16)]);
    h.update(size.to_be_bytes());
    h.update(opts.fg);
    h.update(opts.bg);
    h.update(text.as_bytes());
    let digest = h.finalize();
    format!("\"{}\"", crate::lower_hex(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_png_spec() {
        // Every PNG ends with IEND and this CRC.
        assert_eq!(!crc32(!0, b"IEND"), 0xae42_6082);
        assert_eq!(!crc32(!0, b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn png_scale_rounds_down_and_never_below_one() {
        assert_eq!(png_scale(512, 33), 15);
        assert_eq!(png_scale(64, 209), 1);
        assert_eq!(png_scale(u32::MAX, 21), 195);
        assert_eq!(png_scale(100, 0), 100);
    }
}

//! `qrctl qr` and `qrctl pieces`: QR images rendered on the operator's
//! machine by core's renderer, the one the edge's image route uses
//! (`/{slug}.svg`, `/{slug}.png`), with the same options and the same
//! validation (`QrOptions::from_query`), so a code made here is byte for byte
//! the code the edge serves.
//!
//! Piece codes (print runs): one record serves `/{slug}-{piece}` for every
//! piece it allows; `qrctl pieces` writes N pieces' codes plus a CSV manifest
//! (piece, short URL, file) for a print shop's mail merge. Pieces are 1–32
//! characters of a-z0-9: by default a zero-padded sequence (`--start`,
//! `--length`), with `--random` random a-z0-9 of `--length` characters (from
//! the operating system's random source), which nobody can guess from
//! another piece's code.

use clap::{Args, ValueEnum};
use qr_edge_core::admin::parse_domain;
use qr_edge_core::path::is_valid_slug;
use qr_edge_core::qr::{render, short_url_text, ImageFormat, QrOptions};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The longest piece a record can allow.
pub const MAX_PIECE_LEN: usize = 32;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    fn image(self) -> ImageFormat {
        match self {
            Format::Svg => ImageFormat::Svg,
            Format::Png => ImageFormat::Png,
        }
    }
    fn extension(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Png => "png",
        }
    }
}

/// The image route's options, spelled as its query parameters (docs/qr-images.md).
#[derive(Args)]
pub struct Render {
    /// Error correction: L, M, Q or H (default M).
    #[arg(long)]
    ecc: Option<String>,
    /// Quiet zone in modules, 0–16 (default 4).
    #[arg(long)]
    margin: Option<String>,
    /// PNG edge in pixels, 64–4096 (default 512).
    #[arg(long)]
    size: Option<String>,
    /// Dark colour, six hex digits (default 000000).
    #[arg(long)]
    fg: Option<String>,
    /// Light colour, six hex digits (default ffffff).
    #[arg(long)]
    bg: Option<String>,
    /// Image format.
    #[arg(long, value_enum)]
    format: Format,
}

impl Render {
    /// The options as the edge would accept them from the same query, or its error.
    fn options(&self) -> Result<QrOptions, String> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("ecc", &self.ecc),
            ("margin", &self.margin),
            ("size", &self.size),
            ("fg", &self.fg),
            ("bg", &self.bg),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        QrOptions::from_query(&query.finish()).map_err(|e| format!("--{e}"))
    }
}

#[derive(Args)]
pub struct QrArgs {
    /// Short-link domain.
    #[arg(long)]
    domain: String,
    /// Slug.
    #[arg(long)]
    slug: String,
    #[command(flatten)]
    render: Render,
    /// The image file to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct PiecesArgs {
    /// Short-link domain.
    #[arg(long)]
    domain: String,
    /// The record's slug.
    #[arg(long)]
    slug: String,
    /// How many pieces.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    count: u64,
    /// Characters per piece (default: the digits of the last sequence number; 12 with --random).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=32))]
    length: Option<u8>,
    /// First sequence number.
    #[arg(long, default_value_t = 1, conflicts_with = "random")]
    start: u64,
    /// Random a-z0-9 pieces instead of a sequence.
    #[arg(long)]
    random: bool,
    #[command(flatten)]
    render: Render,
    /// The directory for the images and manifest.csv.
    #[arg(long)]
    out: PathBuf,
}

/// Domain and slug as the edge accepts them (lower case).
fn link(domain: &str, slug: &str) -> Result<(String, String), String> {
    let domain = parse_domain(domain).map_err(|e| format!("--domain {domain:?}: {e}"))?;
    let lower = slug.to_ascii_lowercase();
    if !is_valid_slug(&lower) {
        return Err(format!(
            "--slug {slug:?}: want 1-64 of a-z 0-9 - (not starting or ending with -)"
        ));
    }
    Ok((domain, lower))
}

fn draw(text: &str, render: &Render, out: &Path) -> Result<(), String> {
    let options = render.options()?;
    let bytes = render_text(text, render.format, &options)?;
    std::fs::write(out, bytes).map_err(|e| format!("{}: {e}", out.display()))
}

fn render_text(text: &str, format: Format, options: &QrOptions) -> Result<Vec<u8>, String> {
    render(text, format.image(), options).map_err(|e| format!("{text}: {e}"))
}

pub fn qr(args: QrArgs) -> ExitCode {
    let result = link(&args.domain, &args.slug)
        .and_then(|(domain, slug)| draw(&short_url_text(&domain, &slug), &args.render, &args.out));
    match result {
        Ok(()) => {
            println!("{}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// The pieces to print: a zero-padded sequence, or distinct random a-z0-9.
pub fn piece_names(
    count: u64,
    length: Option<u8>,
    start: u64,
    random: bool,
) -> Result<Vec<String>, String> {
    if random {
        let length = usize::from(length.unwrap_or(12));
        // 36^length pieces exist; ask for at most a thousandth of them so repeats stay rare.
        let space = 36f64.powi(length as i32);
        if (count as f64) > space / 1000.0 {
            return Err(format!(
                "--count {count} random pieces of {length} characters would collide: use a longer --length"
            ));
        }
        let mut seen = HashSet::new();
        let mut pieces = Vec::new();
        let mut random =
            std::fs::File::open("/dev/urandom").map_err(|e| format!("/dev/urandom: {e}"))?;
        while (pieces.len() as u64) < count {
            let mut bytes = vec![0u8; length * 2];
            random
                .read_exact(&mut bytes)
                .map_err(|e| format!("/dev/urandom: {e}"))?;
            // Bytes below 252 (7 × 36) map evenly onto the 36 characters; the rest are dropped.
            let piece: String = bytes
                .iter()
                .filter(|b| **b < 252)
                .take(length)
                .map(|b| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[usize::from(b % 36)]))
                .collect();
            if piece.len() == length && seen.insert(piece.clone()) {
                pieces.push(piece);
            }
        }
        return Ok(pieces);
    }
    let last = start
        .checked_add(count - 1)
        .ok_or("--start + --count overflows")?;
    let digits = last.to_string().len();
    let width = usize::from(length.unwrap_or(digits as u8));
    if digits > width || width > MAX_PIECE_LEN {
        return Err(format!(
            "--length {width}: the last piece, {last}, has {digits} digits"
        ));
    }
    Ok((start..=last).map(|n| format!("{n:0width$}")).collect())
}

pub fn pieces(args: PiecesArgs) -> ExitCode {
    match write_pieces(&args) {
        Ok(n) => {
            println!(
                "{n} piece codes and manifest.csv written to {}",
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn write_pieces(args: &PiecesArgs) -> Result<usize, String> {
    let (domain, slug) = link(&args.domain, &args.slug)?;
    let options = args.render.options()?;
    let names = piece_names(args.count, args.length, args.start, args.random)?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    // Pieces and URLs are a-z0-9 and an upper-case URL: no CSV field needs quoting.
    let mut manifest = String::from("piece,short_url,file\n");
    for piece in &names {
        let text = short_url_text(&domain, &format!("{slug}-{piece}"));
        let file = format!("{slug}-{piece}.{}", args.render.format.extension());
        let bytes = render_text(&text, args.render.format, &options)?;
        let path = args.out.join(&file);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        manifest += &format!("{piece},{text},{file}\n");
    }
    let path = args.out.join("manifest.csv");
    std::fs::write(&path, manifest).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(names.len())
}

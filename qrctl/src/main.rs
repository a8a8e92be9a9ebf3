//! `qrctl`, qr-edge's link tool on the operator's machine (docs/qrctl.md). It
//! is built on `qr-edge-core`, so it judges links, settings and QR images
//! exactly as the edge does. Each subcommand lives in its own module; this
//! file only parses the command line (clap) and hands over.
//!
//! The admin token comes from the environment variable `QR_EDGE_ADMIN_TOKEN`,
//! never from an argument, where other users could read it in the process list.

mod exit_kit;
mod export;
mod images;
mod import;
mod links;
mod settings;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// The environment variable that holds the admin token.
pub const TOKEN_ENV: &str = "QR_EDGE_ADMIN_TOKEN";

#[derive(Parser)]
#[command(
    name = "qrctl",
    version,
    about = "qr-edge's link tool: import, export, exit kit, piece codes, QR images, settings check",
    after_help = "The admin token is read from QR_EDGE_ADMIN_TOKEN, never from an argument. docs/qrctl.md has the details."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load links (admin import NDJSON) into a running service, in chunks of its
    /// per-request cap, or into a local KV store file for ./scripts/serve.
    Import(import::ImportArgs),
    /// Write every link of a running service (or of one domain) as import NDJSON.
    Export(export::ExportArgs),
    /// Write nginx, Caddy, _redirects and static-page configurations that keep
    /// every printed code working without Fastly.
    ExitKit(exit_kit::ExitKitArgs),
    /// Render N piece codes of one record as image files plus a CSV manifest.
    Pieces(images::PiecesArgs),
    /// Render the QR code of one short link, as the edge's image route does.
    Qr(images::QrArgs),
    /// Settings documents.
    Settings(SettingsArgs),
}

#[derive(Args)]
struct SettingsArgs {
    #[command(subcommand)]
    command: SettingsCommand,
}

#[derive(Subcommand)]
enum SettingsCommand {
    /// Validate settings documents (defaults.json, {domain}.json) before upload.
    Check {
        /// The documents, named after their config-store keys.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Import(args) => import::run(args),
        Command::Export(args) => export::run(args),
        Command::ExitKit(args) => exit_kit::run(args),
        Command::Pieces(args) => images::pieces(args),
        Command::Qr(args) => images::qr(args),
        Command::Settings(SettingsArgs {
            command: SettingsCommand::Check { files },
        }) => settings::check(&files),
    }
}

//! stub
use clap::Args;
use std::process::ExitCode;
#[derive(Args)]
pub struct ExitKitArgs {}
pub fn run(_: ExitKitArgs) -> ExitCode {
    ExitCode::SUCCESS
}

//! The service's own diagnostics — store errors, settings problems, refused
//! records, refresh and purge failures — through the `log` facade to the
//! `diagnostics` log endpoint (log-fastly), each line also echoed to stderr
//! for `fastly log-tail` and Viceroy's console.
//!
//! The endpoint is opened on the first diagnostic of a request, not at start:
//! a scan that has nothing to report makes no logging hostcall.

use crate::resources::DIAGNOSTICS_LOG_ENDPOINT;
use log::{LevelFilter, Log, Metadata, Record};
use std::sync::OnceLock;

/// The most verbose level written: problems, not the happy path.
const MAX_LEVEL: LevelFilter = LevelFilter::Info;

struct Diagnostics {
    logger: OnceLock<Option<log_fastly::Logger>>,
}

static DIAGNOSTICS: Diagnostics = Diagnostics {
    logger: OnceLock::new(),
};

/// Installs the logger; costs no hostcall until something is logged.
pub fn init() {
    if log::set_logger(&DIAGNOSTICS).is_ok() {
        log::set_max_level(MAX_LEVEL);
    }
}

impl Log for Diagnostics {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= MAX_LEVEL
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let logger = self.logger.get_or_init(|| {
            log_fastly::Logger::builder()
                .max_level(MAX_LEVEL)
                .default_endpoint(DIAGNOSTICS_LOG_ENDPOINT)
                .echo_stderr(true)
                .build()
                .ok()
        });
        // One line: level, module, message (log-fastly writes the message only).
        let (level, target) = (record.level(), record.target());
        let args = format_args!("{level} {target}: {}", record.args());
        match logger {
            Some(logger) => logger.log(
                &Record::builder()
                    .args(args)
                    .metadata(record.metadata().clone())
                    .module_path(record.module_path())
                    .build(),
            ),
            // No endpoint to write to: stderr still reaches `fastly log-tail`.
            None => eprintln!("{args}"),
        }
    }

    fn flush(&self) {}
}

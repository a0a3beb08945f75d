//! The client's log on stderr: warnings by default (a heartbeat or a poll that fails while
//! `register --keep-alive` or `watch` runs), more with `-v`, none with `-q`.

use std::io::Write as _;

use log::{LevelFilter, Log, Metadata, Record};

struct StderrLogger;

static LOGGER: StderrLogger = StderrLogger;

impl Log for StderrLogger {
    /// The client's own records only: its dependencies log whole request URLs at debug level,
    /// and those carry the access token.
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level() && is_client(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = record.level().as_str().to_ascii_lowercase();
            let text = crate::exit::one_line(&record.args().to_string());
            // One write per line, and none that can fail the caller: `eprintln!` panics
            // when stderr is closed, and these records come from the client's own threads.
            let line = format!("nacosctl: {level}: {text}\n");
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

fn is_client(target: &str) -> bool {
    target == "nacos_naming" || target.starts_with("nacos_naming::")
}

/// Logs to stderr from now on: errors only when `quiet`, else warnings, and one level more per
/// `verbose`.
pub(crate) fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => LevelFilter::Error,
        (false, 0) => LevelFilter::Warn,
        (false, 1) => LevelFilter::Info,
        (false, 2) => LevelFilter::Debug,
        (false, _) => LevelFilter::Trace,
    };
    // Only fails when a logger is already set, which cannot happen in this binary.
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_client_is_heard() {
        assert!(is_client("nacos_naming"));
        assert!(is_client("nacos_naming::heartbeat"));
        assert!(!is_client("ureq::unversioned::transport"));
        assert!(!is_client("nacos_naming_other"));
    }
}

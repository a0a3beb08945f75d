//! The client's `log` records, sent to Python's `logging` logger `nacos`.
//!
//! A record below the level Python asked for is dropped in Rust, without taking the GIL: the
//! level is read from the logger when a client is created (and when its `log_level` is set),
//! so heartbeat threads logging at debug level cost nothing when Python does not listen.

use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::lifecycle::python_usable;

/// Python's `logging` levels.
const DEBUG: usize = 10;
const INFO: usize = 20;
const WARNING: usize = 30;
const ERROR: usize = 40;

/// The lowest Python level that is logged; starts at WARNING, Python's default.
static THRESHOLD: AtomicUsize = AtomicUsize::new(WARNING);

struct PythonLogger;

impl log::Log for PythonLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        python_level(metadata.level()) >= THRESHOLD.load(Ordering::Relaxed)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) || !python_usable() {
            return;
        }
        let level = python_level(record.level());
        let message = record.args().to_string();
        Python::attach(|py| {
            if let Ok(logger) = logger(py) {
                // A failing handler is logging's own business (it reports to stderr).
                let _ = logger.call_method1(py, "log", (level, "%s", message));
            }
        });
    }

    fn flush(&self) {}
}

fn python_level(level: log::Level) -> usize {
    match level {
        log::Level::Error => ERROR,
        log::Level::Warn => WARNING,
        log::Level::Info => INFO,
        log::Level::Debug | log::Level::Trace => DEBUG,
    }
}

fn logger(py: Python<'_>) -> PyResult<&Py<PyAny>> {
    static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    LOGGER.get_or_try_init(py, || {
        Ok(py
            .import("logging")?
            .call_method1("getLogger", ("nacos",))?
            .unbind())
    })
}

/// Installs the bridge as the process's `log` logger (once; another logger installed first
/// by some other extension stays).
pub(crate) fn install(py: Python<'_>) -> PyResult<()> {
    if log::set_logger(&PythonLogger).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
    refresh(py)
}

fn refresh(py: Python<'_>) -> PyResult<()> {
    let level: usize = logger(py)?
        .call_method0(py, "getEffectiveLevel")?
        .extract(py)?;
    THRESHOLD.store(level.max(1), Ordering::Relaxed);
    Ok(())
}

/// Re-reads the effective level of the logger `nacos`.
#[pyfunction]
pub(crate) fn set_log_level(py: Python<'_>) -> PyResult<()> {
    refresh(py)
}

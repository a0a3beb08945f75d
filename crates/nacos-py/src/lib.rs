//! `nacos._native`: the Rust half of the Python package `nacos`.
//!
//! The Python files of the package (`python/nacos/`) keep nacos-sdk-python's API surface:
//! signatures, defaults, docstrings and exception classes. They normalise arguments and call
//! into [`Core`], one `nacos_naming::NamingClient` per `NacosClient`, which does every request,
//! heartbeat and subscription. Here:
//!
//! - every blocking call runs with the GIL released ([`Python::detach`]);
//! - a Rust error becomes the package's `NacosException` or `NacosRequestException`, and a
//!   panic becomes a `NacosException` too, never a `PanicException` (`errors.rs`);
//! - listeners run on the client's notifier threads and hold the GIL only while they run
//!   (`listener.rs`);
//! - the client's `log` records go to Python's `logging` logger `nacos` (`logging.rs`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod convert;
mod core;
mod errors;
mod lifecycle;
mod listener;
mod logging;

use pyo3::prelude::*;

pub use crate::core::Core;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Core>()?;
    m.add_class::<crate::core::ListenerToken>()?;
    m.add_function(wrap_pyfunction!(logging::set_log_level, m)?)?;
    m.add_function(wrap_pyfunction!(listener::report_unraisable, m)?)?;
    m.add_function(wrap_pyfunction!(lifecycle::interpreter_exiting, m)?)?;
    logging::install(m.py())?;
    lifecycle::interpreter_started();
    Ok(())
}

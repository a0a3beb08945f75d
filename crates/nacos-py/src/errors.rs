//! Rust errors and panics as the package's exceptions, which are defined in Python
//! (`nacos/exception.py`) so that they read, pickle and subclass like the old client's.

use std::panic::{catch_unwind, AssertUnwindSafe};

use nacos_naming::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::lifecycle;

/// Runs `call` with the GIL released, catching a panic: a call never holds up other Python
/// threads, and a bug never reaches Python as a `PanicException`. (A daemon thread whose call
/// ends while the interpreter exits never returns: see `lifecycle`.)
pub(crate) fn blocking<T, F>(py: Python<'_>, call: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> Result<T, Error> + Send,
{
    let outcome = py.detach(|| {
        let outcome = catch_unwind(AssertUnwindSafe(call));
        lifecycle::before_reattach();
        outcome
    });
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(to_py(py, &error)),
        Err(panic) => Err(internal(py, &panic_message(&*panic))),
    }
}

/// The exception for `error`: `NacosRequestException` when no server answered, else
/// `NacosException`; a server's refusal carries its `status` (and `server`) as attributes.
pub(crate) fn to_py(py: Python<'_>, error: &Error) -> PyErr {
    let class = match error {
        Error::Request(_) => request_exception(py),
        _ => nacos_exception(py),
    };
    let exception = match class.and_then(|class| class.call1((error.to_string(),))) {
        Ok(exception) => exception,
        Err(e) => return e,
    };
    if let Error::Server { status, server, .. } = error {
        // Plain attribute writes on a fresh exception object cannot fail.
        let _ = exception.setattr("status", *status);
        let _ = exception.setattr("server", server.as_str());
    }
    PyErr::from_value(exception)
}

/// A `NacosException` for what should never happen (a bug, not the caller's or the server's).
pub(crate) fn internal(py: Python<'_>, what: &str) -> PyErr {
    let message = format!("internal error in nacos: {what}");
    match nacos_exception(py) {
        Ok(class) => PyErr::from_type(class, message),
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// A `NacosException` with `message`, for arguments the Rust side refuses.
pub(crate) fn invalid(py: Python<'_>, message: String) -> PyErr {
    match nacos_exception(py) {
        Ok(class) => PyErr::from_type(class, message),
        Err(e) => e,
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

fn nacos_exception(py: Python<'_>) -> PyResult<Bound<'_, PyType>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    CLASS
        .import(py, "nacos.exception", "NacosException")
        .cloned()
}

fn request_exception(py: Python<'_>) -> PyResult<Bound<'_, PyType>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    CLASS
        .import(py, "nacos.exception", "NacosRequestException")
        .cloned()
}

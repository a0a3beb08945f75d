//! Python callables as nacos-naming listeners.
//!
//! The listener runs on the client's `nacos-notify` threads: it takes the GIL, builds the
//! event dict, calls the Python callable and lets go of the GIL again. An exception it raises
//! goes to `sys.unraisablehook`, as for any callback Python cannot return an error from, and
//! the subscription goes on.

use nacos_naming::ServiceEvent;
use pyo3::prelude::*;

use crate::convert;
use crate::lifecycle::python_usable;

/// The nacos-naming listener that calls `callback(event_dict)`.
pub(crate) fn listener(callback: Py<PyAny>) -> impl Fn(&ServiceEvent) + Send + Sync + 'static {
    move |event: &ServiceEvent| {
        if !python_usable() {
            return;
        }
        Python::attach(|py| {
            let called = convert::event(py, event).and_then(|event| callback.call1(py, (event,)));
            if let Err(error) = called {
                error.write_unraisable(py, Some(callback.bind(py)));
            }
        });
    }
}

/// Reports `error`, raised by `callback`, to `sys.unraisablehook`: the Python half of the
/// package calls several callables per event and reports each one's exception this way.
#[pyfunction]
pub(crate) fn report_unraisable(error: Bound<'_, PyAny>, callback: Bound<'_, PyAny>) {
    let py = callback.py();
    PyErr::from_value(error).write_unraisable(py, Some(&callback));
}

//! Rust values as the dicts the old client returned: their serde form is the JSON form a
//! Nacos server sends (`instanceId`, `clusterName`, `cacheMillis`, grouped `name`...).

use nacos_naming::{BeatInfo, Instance, ServiceEvent, ServiceInfo};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde::Serialize;

use crate::errors;

fn to_py<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, value).map_err(|e| errors::internal(py, &e.to_string()))
}

/// The instance dict of `get_naming_instance`.
pub(crate) fn instance<'py>(py: Python<'py>, instance: &Instance) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, instance)
}

/// The service dict of `list_naming_instance` (before the Python side wraps it).
pub(crate) fn service<'py>(py: Python<'py>, service: &ServiceInfo) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, service)
}

/// The beat dict of `send_heartbeat`: `clientBeatInterval`, `code`, `lightBeatEnabled`.
pub(crate) fn beat<'py>(py: Python<'py>, beat: &BeatInfo) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, beat)
}

/// A subscriber's event: the service dict (the seed's event) plus `added`, `removed` and
/// `modified`, lists of instance dicts.
pub(crate) fn event<'py>(py: Python<'py>, event: &ServiceEvent) -> PyResult<Bound<'py, PyAny>> {
    let dict = service(py, &event.service)?.cast_into::<PyDict>()?;
    for (key, instances) in [
        ("added", &event.added),
        ("removed", &event.removed),
        ("modified", &event.modified),
    ] {
        let list = PyList::empty(py);
        for one in instances {
            list.append(instance(py, one)?)?;
        }
        dict.set_item(key, list)?;
    }
    Ok(dict.into_any())
}

//! [`Core`]: one `NamingClient` behind one Python `NacosClient`.

// Each method takes the keyword arguments of the Python call it serves, one Rust argument each.
#![allow(clippy::too_many_arguments)]

use std::collections::BTreeMap;
use std::time::Duration;

use nacos_naming::{ListenerId, NamingClient};
use pyo3::prelude::*;

use crate::errors::{self, blocking};
use crate::{convert, listener};

/// The Rust client of one `NacosClient`. Its methods take arguments the Python side already
/// brought to one form (metadata as a dict of strings, clusters as a list) and block with the
/// GIL released.
#[pyclass(module = "nacos._native", frozen)]
pub struct Core {
    /// Always `Some` but in `drop`, which moves it to a thread of its own.
    client: Option<NamingClient>,
}

/// Identifies one listener of [`Core::subscribe`], to unsubscribe it alone.
#[pyclass(module = "nacos._native", frozen)]
pub struct ListenerToken(ListenerId);

fn seconds(py: Python<'_>, name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            errors::invalid(
                py,
                format!("invalid {name}: must be a number of seconds above zero"),
            )
        })
}

impl Core {
    fn client(&self) -> PyResult<&NamingClient> {
        self.client
            .as_ref()
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("client dropped"))
    }
}

#[pymethods]
impl Core {
    /// Builds the client; logs in at once when given a username and password (the only case
    /// in which it sends anything).
    #[new]
    #[pyo3(signature = (server_addresses, namespace, access_key, secret_key, username, password, timeout, poll_interval))]
    fn new(
        py: Python<'_>,
        server_addresses: String,
        namespace: Option<String>,
        access_key: Option<String>,
        secret_key: Option<String>,
        username: Option<String>,
        password: Option<String>,
        timeout: f64,
        poll_interval: Option<f64>,
    ) -> PyResult<Core> {
        let mut builder = NamingClient::builder()
            .server_addresses(server_addresses)
            .set_namespace(namespace)
            .set_access_key(access_key)
            .set_secret_key(secret_key)
            .set_username(username)
            .set_password(password)
            .timeout(seconds(py, "timeout", timeout)?);
        if let Some(interval) = poll_interval {
            builder = builder.poll_interval(seconds(py, "poll_interval", interval)?);
        }
        let client = blocking(py, move || builder.build())?;
        Ok(Core {
            client: Some(client),
        })
    }

    #[pyo3(signature = (service_name, ip, port, cluster_name, weight, metadata, enabled, healthy, ephemeral, group_name, heartbeat_interval))]
    fn register(
        &self,
        py: Python<'_>,
        service_name: String,
        ip: String,
        port: u16,
        cluster_name: Option<String>,
        weight: f64,
        metadata: Option<BTreeMap<String, String>>,
        enabled: bool,
        healthy: bool,
        ephemeral: bool,
        group_name: Option<String>,
        heartbeat_interval: Option<f64>,
    ) -> PyResult<()> {
        let interval = heartbeat_interval
            .map(|s| seconds(py, "heartbeat_interval", s))
            .transpose()?;
        let client = self.client()?;
        blocking(py, || {
            client
                .add_naming_instance(service_name, ip, port)
                .set_cluster_name(cluster_name)
                .weight(weight)
                .set_metadata(metadata)
                .enabled(enabled)
                .healthy(healthy)
                .ephemeral(ephemeral)
                .set_group_name(group_name)
                .heartbeat(interval.is_some())
                .set_heartbeat_interval(interval)
                .send()
        })
    }

    #[pyo3(signature = (service_name, ip, port, cluster_name, ephemeral, group_name))]
    fn deregister(
        &self,
        py: Python<'_>,
        service_name: String,
        ip: String,
        port: u16,
        cluster_name: Option<String>,
        ephemeral: bool,
        group_name: Option<String>,
    ) -> PyResult<()> {
        let client = self.client()?;
        blocking(py, || {
            client
                .remove_naming_instance(service_name, ip, port)
                .set_cluster_name(cluster_name)
                .ephemeral(ephemeral)
                .set_group_name(group_name)
                .send()
        })
    }

    #[pyo3(signature = (service_name, ip, port, cluster_name, weight, metadata, enabled, ephemeral, group_name))]
    fn modify(
        &self,
        py: Python<'_>,
        service_name: String,
        ip: String,
        port: u16,
        cluster_name: Option<String>,
        weight: Option<f64>,
        metadata: Option<BTreeMap<String, String>>,
        enabled: Option<bool>,
        ephemeral: bool,
        group_name: Option<String>,
    ) -> PyResult<()> {
        let client = self.client()?;
        blocking(py, || {
            client
                .modify_naming_instance(service_name, ip, port)
                .set_cluster_name(cluster_name)
                .set_weight(weight)
                .set_metadata(metadata)
                .set_enabled(enabled)
                .ephemeral(ephemeral)
                .set_group_name(group_name)
                .send()
        })
    }

    #[pyo3(signature = (service_name, clusters, namespace_id, group_name, healthy_only))]
    fn list<'py>(
        &self,
        py: Python<'py>,
        service_name: String,
        clusters: Vec<String>,
        namespace_id: Option<String>,
        group_name: Option<String>,
        healthy_only: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client()?;
        let service = blocking(py, || {
            client
                .list_naming_instance(service_name)
                .clusters(clusters)
                .set_namespace_id(namespace_id)
                .set_group_name(group_name)
                .healthy_only(healthy_only)
                .send()
        })?;
        convert::service(py, &service)
    }

    #[pyo3(signature = (service_name, ip, port, cluster_name, group_name))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        service_name: String,
        ip: String,
        port: u16,
        cluster_name: Option<String>,
        group_name: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client()?;
        let instance = blocking(py, || {
            client
                .get_naming_instance(service_name, ip, port)
                .set_cluster_name(cluster_name)
                .set_group_name(group_name)
                .send()
        })?;
        convert::instance(py, &instance)
    }

    #[pyo3(signature = (service_name, ip, port, cluster_name, weight, metadata, ephemeral, group_name))]
    fn beat<'py>(
        &self,
        py: Python<'py>,
        service_name: String,
        ip: String,
        port: u16,
        cluster_name: Option<String>,
        weight: f64,
        metadata: Option<BTreeMap<String, String>>,
        ephemeral: bool,
        group_name: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client()?;
        let beat = blocking(py, || {
            client
                .send_heartbeat(service_name, ip, port)
                .set_cluster_name(cluster_name)
                .weight(weight)
                .set_metadata(metadata)
                .ephemeral(ephemeral)
                .set_group_name(group_name)
                .send()
        })?;
        convert::beat(py, &beat)
    }

    /// Calls `callback(event_dict)` on the notifier threads with each change of the service.
    #[pyo3(signature = (service_name, callback, clusters, namespace_id, group_name))]
    fn subscribe(
        &self,
        py: Python<'_>,
        service_name: String,
        callback: Py<PyAny>,
        clusters: Vec<String>,
        namespace_id: Option<String>,
        group_name: Option<String>,
    ) -> PyResult<ListenerToken> {
        let listener = listener::listener(callback);
        let client = self.client()?;
        let id = blocking(py, || {
            client
                .subscribe(service_name, listener)
                .clusters(clusters)
                .set_namespace_id(namespace_id)
                .set_group_name(group_name)
                .send()
        })?;
        Ok(ListenerToken(id))
    }

    /// Removes one listener (`token`), or every listener of the service.
    #[pyo3(signature = (service_name, token, namespace_id, group_name))]
    fn unsubscribe(
        &self,
        py: Python<'_>,
        service_name: String,
        token: Option<&ListenerToken>,
        namespace_id: Option<String>,
        group_name: Option<String>,
    ) -> PyResult<()> {
        let id = token.map(|t| t.0);
        let client = self.client()?;
        blocking(py, || {
            let mut unsubscribe = client
                .unsubscribe(service_name)
                .set_namespace_id(namespace_id)
                .set_group_name(group_name);
            if let Some(id) = id {
                unsubscribe = unsubscribe.listener(id);
            }
            unsubscribe.send()
        })
    }

    /// Ends every subscription and joins the threads that served them.
    fn stop_subscribe(&self, py: Python<'_>) -> PyResult<()> {
        let client = self.client()?;
        blocking(py, || {
            client.stop_subscribe();
            Ok(())
        })
    }

    /// Stops heartbeats and subscriptions and joins every thread of the client.
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        let client = self.client()?.clone();
        blocking(py, move || client.shutdown())
    }

    /// In the child of `os.fork()`: the client's threads do not exist there and its locks may
    /// be held by threads that do not exist either, so the client must never be used, stopped
    /// or dropped again. A clone that is never dropped keeps the last drop (which would join
    /// those threads) from ever happening.
    fn abandon_after_fork(&self) -> PyResult<()> {
        std::mem::forget(self.client()?.clone());
        Ok(())
    }
}

impl Drop for Core {
    /// Dropped with the GIL held: a listener waiting for the GIL would never let the client's
    /// threads be joined here, so the last clone is dropped on a thread of its own.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let spawned = std::thread::Builder::new()
                .name("nacos-py-close".into())
                .spawn(move || drop(client));
            if spawned.is_err() {
                log::warn!("no thread to stop a dropped client: it was stopped in place");
            }
        }
    }
}

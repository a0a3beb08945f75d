//! The client handle and the core every call goes through.
//!
//! How the parts fit (for work on background heartbeats, subscriptions and push):
//!
//! - [`NamingClient`] is a cheap `Clone` over `Arc<ClientInner>`; clones share one connection
//!   pool, one server preference and one login.
//! - Each seed call has a public builder (`register.rs`, `deregister.rs`, `modify.rs`,
//!   `list.rs`, `get.rs`, `heartbeat_request.rs`) that only collects and validates arguments
//!   into a plain data struct, then calls one `pub(crate)` method of [`ClientInner`]:
//!   `register(&Registration)`, `deregister(&InstanceKey, ephemeral)`,
//!   `modify(&Modification)`, `list(&ListQuery)` (with optional `udp_port`/`client_ip` for
//!   push subscribers), `get(&InstanceKey)` and `beat(&BeatRequest) -> BeatInfo`. Background
//!   work holds a `Weak<ClientInner>` (or the data structs) and calls those same methods, so it
//!   shares the validation-free core, failover and auth with the public calls.
//! - [`ClientInner::server_addresses`] lists the configured servers (to accept push packets only
//!   from them).
//! - Heartbeat and subscription state belongs in [`ClientInner`], next to the transport.

use std::fmt;
use std::sync::Arc;

use crate::calls::deregister::DeregisterInstance;
use crate::calls::get::GetInstance;
use crate::calls::heartbeat_request::SendHeartbeat;
use crate::calls::list::ListInstances;
use crate::calls::modify::ModifyInstance;
use crate::calls::params::{InstanceKey, ServiceKey};
use crate::calls::register::RegisterInstance;
use crate::client_builder::NamingClientBuilder;
use crate::error::Error;
use crate::live::background::Background;
use crate::wire::probe::ServerReport;
use crate::wire::server_list::ServerAddr;
use crate::wire::transport::Transport;

/// A blocking Nacos naming client: register, deregister, modify, list and get instances, and
/// send heartbeats.
///
/// Each call returns a builder: required arguments are positional, optional ones are setters
/// named after the Python client's keyword arguments, and `send()` performs the call.
///
/// `NamingClient` is cheap to clone, and `Send + Sync`: clones share one keep-alive connection
/// pool and one login, so clone it into every thread rather than building a client per thread.
///
/// ```no_run
/// use nacos_naming::NamingClient;
///
/// let client = NamingClient::new("127.0.0.1:8848")?;
/// client.add_naming_instance("user-service", "192.168.1.100", 8080).send()?;
/// let service = client.list_naming_instance("user-service").healthy_only(true).send()?;
/// println!("{} instances", service.hosts.len());
/// # Ok::<(), nacos_naming::Error>(())
/// ```
#[derive(Clone)]
pub struct NamingClient {
    pub(crate) inner: Arc<ClientInner>,
    /// Held by the clones and nothing else: dropping the last one stops the background
    /// threads at once, even while one of them briefly holds `inner`.
    pub(crate) _clones: Arc<crate::live::background::Clones>,
}

/// The state all clones of a client share.
pub(crate) struct ClientInner {
    transport: Transport,
    /// The namespace calls use unless they name one; `None` is the server's default.
    namespace: Option<String>,
    /// Heartbeats and subscriptions; its threads hold a `Weak` of this.
    background: Background,
}

impl ClientInner {
    pub(crate) fn new(
        transport: Transport,
        namespace: Option<String>,
        background: Background,
    ) -> ClientInner {
        ClientInner {
            transport,
            namespace,
            background,
        }
    }

    pub(crate) fn background(&self) -> &Background {
        &self.background
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The namespace calls use unless they name one.
    pub(crate) fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The configured servers, in the order given.
    pub(crate) fn server_addresses(&self) -> &[ServerAddr] {
        self.transport.servers()
    }
}

impl fmt::Debug for NamingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers: Vec<String> = self
            .inner
            .server_addresses()
            .iter()
            .map(ServerAddr::base_url)
            .collect();
        let auth = self.inner.transport.auth();
        f.debug_struct("NamingClient")
            .field("servers", &servers)
            .field("namespace", &self.inner.namespace)
            .field("login", &auth.login)
            .field("access_key", &auth.access_key)
            .finish()
    }
}

impl NamingClient {
    /// A client for the comma-separated `server_addresses` (see
    /// [`NamingClientBuilder::server_addresses`]) with every other setting at its default.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when the addresses cannot be parsed. Nothing is sent.
    pub fn new(server_addresses: impl Into<String>) -> Result<NamingClient, Error> {
        NamingClient::builder()
            .server_addresses(server_addresses)
            .build()
    }

    /// A builder for a client with credentials, a namespace, timeouts or TLS settings.
    pub fn builder() -> NamingClientBuilder {
        NamingClientBuilder::default()
    }

    /// Asks each configured server, one after the other, which naming API it serves (V1, the
    /// v3 client API or both), which version it runs where it says, and how long a list
    /// request takes there and back. A server that does not answer is reported, not an error.
    /// What is learnt is remembered for later calls.
    pub fn probe_servers(&self) -> Vec<ServerReport> {
        self.inner.transport().probe_servers()
    }

    pub(crate) fn service(&self, service_name: impl Into<String>) -> ServiceKey {
        ServiceKey::new(
            self.inner.namespace().map(str::to_owned),
            service_name.into(),
        )
    }

    fn instance(
        &self,
        service_name: impl Into<String>,
        ip: impl Into<String>,
        port: u16,
    ) -> InstanceKey {
        InstanceKey::new(self.service(service_name), ip.into(), port)
    }

    /// Registers an instance of `service_name` at `ip:port` (`POST /nacos/v1/ns/instance`).
    ///
    /// Healthy, enabled, ephemeral and of weight 1 in the `DEFAULT` cluster of `DEFAULT_GROUP`
    /// unless the builder says otherwise. An ephemeral instance needs heartbeats to stay
    /// registered.
    ///
    /// ```no_run
    /// # let client = nacos_naming::NamingClient::new("127.0.0.1:8848")?;
    /// client
    ///     .add_naming_instance("user-service", "192.168.1.100", 8080)
    ///     .cluster_name("production")
    ///     .weight(1.5)
    ///     .metadata([("version", "1.0.0")])
    ///     .send()?;
    /// # Ok::<(), nacos_naming::Error>(())
    /// ```
    pub fn add_naming_instance(
        &self,
        service_name: impl Into<String>,
        ip: impl Into<String>,
        port: u16,
    ) -> RegisterInstance<'_> {
        RegisterInstance::new(self, self.instance(service_name, ip, port))
    }

    /// Deregisters the instance of `service_name` at `ip:port` (`DELETE /nacos/v1/ns/instance`).
    /// Servers answer success for an instance they do not know too.
    ///
    /// ```no_run
    /// # let client = nacos_naming::NamingClient::new("127.0.0.1:8848")?;
    /// client
    ///     .remove_naming_instance("user-service", "192.168.1.100", 8080)
    ///     .cluster_name("production")
    ///     .send()?;
    /// # Ok::<(), nacos_naming::Error>(())
    /// ```
    pub fn remove_naming_instance(
        &self,
        service_name: impl Into<String>,
        ip: impl Into<String>,
        port: u16,
    ) -> DeregisterInstance<'_> {
        DeregisterInstance::new(self, self.instance(service_name, ip, port))
    }

    /// Changes the weight, enabled flag or metadata of a registered instance
    /// (`PUT /nacos/v1/ns/instance`), leaving what the builder does not name as it is.
    ///
    /// See [`ModifyInstance`] for how (servers replace every field on update, so the client
    /// reads the instance first unless all three are named).
    ///
    /// ```no_run
    /// # let client = nacos_naming::NamingClient::new("127.0.0.1:8848")?;
    /// client.modify_naming_instance("user-service", "192.168.1.100", 8080).weight(2.0).send()?;
    /// client.modify_naming_instance("user-service", "192.168.1.100", 8080).enabled(false).send()?;
    /// # Ok::<(), nacos_naming::Error>(())
    /// ```
    pub fn modify_naming_instance(
        &self,
        service_name: impl Into<String>,
        ip: impl Into<String>,
        port: u16,
    ) -> ModifyInstance<'_> {
        ModifyInstance::new(self, self.instance(service_name, ip, port))
    }

    /// Lists the instances of `service_name` (`GET /nacos/v1/ns/instance/list`).
    ///
    /// ```no_run
    /// # let client = nacos_naming::NamingClient::new("127.0.0.1:8848")?;
    /// let service = client
    ///     .list_naming_instance("user-service")
    ///     .clusters(["production", "staging"])
    ///     .healthy_only(true)
    ///     .send()?;
    /// for instance in &service.hosts {
    ///     println!("{} weight {}", instance.address(), instance.weight);
    /// }
    /// # Ok::<(), nacos_naming::Error>(())
    /// ```
    pub fn list_naming_instance(&self, service_name: impl Into<String>) -> ListInstances<'_> {
        ListInstances::new(self, self.service(service_name))
    }

    /// Reads one instance of `service_name` at `ip:port` (`GET /nacos/v1/ns/instance`).
    ///
    /// ```no_run
    /// # let client = nacos_naming::NamingClient::new("127.0.0.1:8848")?;
    /// let instance = client.get_naming_instance("user-service", "192.168.1.100", 8080).send()?;
    /// println!("healthy: {}, metadata: {:?}", instance.healthy, instance.metadata);
    /// # Ok::<(), nacos_naming::Error>(())
    /// ```
    pub fn get_naming_instance(
        &self,
        service_name: impl Into<String>,
        ip: impl Into<String>,
        port: u16,
    ) -> GetInstance<'_> {
        GetInstance::new(self, self.instance(service_name, ip, port))
    }

    /// Sends one heartbeat for the ephemeral instance of `service_name` at `ip:port`
    /// (`PUT /nacos/v1/ns/instance/beat`), keeping it healthy and registered.
    ///
    /// ```no_run
    /// # let client = nacos_naming::NamingClient::new("127.0.0.1:8848")?;
    /// let beat = client.send_heartbeat("user-service", "192.168.1.100", 8080).send()?;
    /// println!("beat again in {} ms", beat.client_beat_interval);
    /// # Ok::<(), nacos_naming::Error>(())
    /// ```
    pub fn send_heartbeat(
        &self,
        service_name: impl Into<String>,
        ip: impl Into<String>,
        port: u16,
    ) -> SendHeartbeat<'_> {
        SendHeartbeat::new(self, self.instance(service_name, ip, port))
    }
}

/// Every public type can be shared across threads.
#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<NamingClient>();
    is::<NamingClientBuilder>();
    is::<Error>();
    is::<crate::Instance>();
    is::<crate::ServiceInfo>();
    is::<crate::BeatInfo>();
    is::<RegisterInstance<'static>>();
    is::<DeregisterInstance<'static>>();
    is::<ModifyInstance<'static>>();
    is::<ListInstances<'static>>();
    is::<GetInstance<'static>>();
    is::<SendHeartbeat<'static>>();
    is::<crate::Subscribe<'static>>();
    is::<crate::Unsubscribe<'static>>();
    is::<crate::SelectInstance<'static>>();
    is::<crate::ServiceEvent>();
    is::<crate::ListenerId>();
}

//! Configuring and building a [`NamingClient`].

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{parse_pem, Certificate, PemItem};

use crate::calls::validate;
use crate::client::{ClientInner, NamingClient};
use crate::error::Error;
use crate::live::background::{self, BackgroundConfig};
use crate::wire::api::ServerApi;
use crate::wire::auth::{AccessKey, Auth, Login};
use crate::wire::server_list::{parse_server_addresses, ServerAddr};
use crate::wire::transport::{Transport, TransportConfig};

/// The `User-Agent` sent unless [`NamingClientBuilder::user_agent`] says otherwise.
pub(crate) const DEFAULT_USER_AGENT: &str =
    concat!("nacos-naming-rust/", env!("CARGO_PKG_VERSION"));

/// Builds a [`NamingClient`]: servers, namespace, credentials, timeouts and TLS.
///
/// Nothing is checked or sent until [`build`](NamingClientBuilder::build).
///
/// ```no_run
/// use std::time::Duration;
/// use nacos_naming::NamingClient;
///
/// let client = NamingClient::builder()
///     .server_addresses("10.0.0.1:8848,10.0.0.2:8848")
///     .namespace("production")
///     .username("nacos")
///     .password("secret")
///     .timeout(Duration::from_secs(3))
///     .build()?;
/// # Ok::<(), nacos_naming::Error>(())
/// ```
#[must_use = "a builder does nothing until build() is called"]
#[derive(Clone, Default)]
pub struct NamingClientBuilder {
    config: Config,
}

#[derive(Clone)]
struct Config {
    server_addresses: String,
    namespace: Option<String>,
    username: Option<String>,
    password: Option<String>,
    access_key: Option<String>,
    secret_key: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    ca_file: Option<PathBuf>,
    max_response_size: u64,
    user_agent: String,
    max_idle_connections: usize,
    api: ServerApi,
    background: BackgroundConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            server_addresses: "127.0.0.1:8848".to_owned(),
            namespace: None,
            username: None,
            password: None,
            access_key: None,
            secret_key: None,
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            ca_file: None,
            max_response_size: 16 * 1024 * 1024,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            max_idle_connections: 8,
            api: ServerApi::Auto,
            background: BackgroundConfig::default(),
        }
    }
}

/// Shows every setting but the password and the secret key.
impl fmt::Debug for NamingClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        f.debug_struct("NamingClientBuilder")
            .field("server_addresses", &c.server_addresses)
            .field("namespace", &c.namespace)
            .field("username", &c.username)
            .field("password", &c.password.as_ref().map(|_| "<redacted>"))
            .field("access_key", &c.access_key)
            .field("secret_key", &c.secret_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &c.timeout)
            .field("connect_timeout", &c.connect_timeout)
            .field("ca_file", &c.ca_file)
            .field("max_response_size", &c.max_response_size)
            .field("user_agent", &c.user_agent)
            .field("max_idle_connections", &c.max_idle_connections)
            .field("api", &c.api)
            .field("background", &c.background)
            .finish()
    }
}

impl NamingClientBuilder {
    /// The servers, comma-separated: `host[:port]` (port 8848 when left out) or
    /// `http://host[:port]` / `https://host[:port]` (ports 80 and 443 when left out, as in any
    /// URL); IPv6 addresses in brackets (`[::1]:8848`). Calls start at a random server and fail
    /// over to the others.
    ///
    /// Defaults to `127.0.0.1:8848`.
    pub fn server_addresses(mut self, addresses: impl Into<String>) -> Self {
        self.config.server_addresses = addresses.into();
        self
    }

    /// The namespace (its id) every call works in, unless the call names another with
    /// `namespace_id`.
    ///
    /// Defaults to the server's default namespace, `public` (no `namespaceId` is sent).
    pub fn namespace(self, namespace: impl Into<String>) -> Self {
        self.set_namespace(Some(namespace))
    }

    /// Sets or clears [`namespace`](Self::namespace).
    ///
    /// Defaults to `None`.
    pub fn set_namespace(mut self, namespace: Option<impl Into<String>>) -> Self {
        self.config.namespace = namespace.map(Into::into);
        self
    }

    /// The user to log in as (`/nacos/v1/auth/login`), with [`password`](Self::password).
    /// The client logs in when built, sends the token with every call, renews it before it
    /// runs out and logs in again when a server refuses it.
    ///
    /// Defaults to `None` (no login).
    pub fn username(self, username: impl Into<String>) -> Self {
        self.set_username(Some(username))
    }

    /// Sets or clears [`username`](Self::username).
    ///
    /// Defaults to `None`.
    pub fn set_username(mut self, username: Option<impl Into<String>>) -> Self {
        self.config.username = username.map(Into::into);
        self
    }

    /// The password of [`username`](Self::username). It is sent in the login's form body, never
    /// in a URL, and never logged or shown by `Debug`.
    ///
    /// Defaults to `None`.
    pub fn password(self, password: impl Into<String>) -> Self {
        self.set_password(Some(password))
    }

    /// Sets or clears [`password`](Self::password).
    ///
    /// Defaults to `None`.
    pub fn set_password(mut self, password: Option<impl Into<String>>) -> Self {
        self.config.password = password.map(Into::into);
        self
    }

    /// The access key for AK/SK signing, with [`secret_key`](Self::secret_key): every call then
    /// carries `ak`, `data` and `signature`.
    ///
    /// Defaults to `None` (no signing).
    pub fn access_key(self, access_key: impl Into<String>) -> Self {
        self.set_access_key(Some(access_key))
    }

    /// Sets or clears [`access_key`](Self::access_key).
    ///
    /// Defaults to `None`.
    pub fn set_access_key(mut self, access_key: Option<impl Into<String>>) -> Self {
        self.config.access_key = access_key.map(Into::into);
        self
    }

    /// The secret key that signs calls for [`access_key`](Self::access_key); never sent,
    /// logged or shown by `Debug`.
    ///
    /// Defaults to `None`.
    pub fn secret_key(self, secret_key: impl Into<String>) -> Self {
        self.set_secret_key(Some(secret_key))
    }

    /// Sets or clears [`secret_key`](Self::secret_key).
    ///
    /// Defaults to `None`.
    pub fn set_secret_key(mut self, secret_key: Option<impl Into<String>>) -> Self {
        self.config.secret_key = secret_key.map(Into::into);
        self
    }

    /// How long to wait for a server once connected: for sending the request, for the answer
    /// to begin and for its body. A server that takes longer counts as failed and the call
    /// moves on to the next server.
    ///
    /// Defaults to 5 seconds.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// How long to wait for name resolution and for a connection (TLS handshake included)
    /// before moving on to the next server. Keep it short: an unreachable server costs this
    /// much on the calls that try it.
    ///
    /// Defaults to 2 seconds.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// A PEM file of extra certificate authorities to trust for `https` servers, in addition to
    /// the system's (which `SSL_CERT_FILE` and `SSL_CERT_DIR` can point elsewhere). Certificates
    /// are always verified: there is no way to turn that off.
    ///
    /// Defaults to `None` (the system's roots only).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.ca_file = Some(path.into());
        self
    }

    /// The largest answer read from a server, in bytes; a larger one fails that server (a
    /// misbehaving server cannot make the client allocate without bound).
    ///
    /// Defaults to 16 MiB (a list of some 40,000 instances).
    pub fn max_response_size(mut self, bytes: u64) -> Self {
        self.config.max_response_size = bytes;
        self
    }

    /// The `User-Agent` header. Official Nacos servers push changes over UDP only to clients
    /// whose agent starts with a known client name and version, such as
    /// `Nacos-Java-Client:v2.1.0`; set one of those to receive their pushes.
    ///
    /// Defaults to `nacos-naming-rust/<version>`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.config.user_agent = user_agent.into();
        self
    }

    /// How many idle keep-alive connections to keep per server for later calls; more threads
    /// calling at once than this open (and then close) extra connections.
    ///
    /// Defaults to 8.
    pub fn max_idle_connections(mut self, per_server: usize) -> Self {
        self.config.max_idle_connections = per_server;
        self
    }

    /// The server API to speak: learnt per server from its answers ([`ServerApi::Auto`]), or
    /// pinned to the V1 open API or the v3 API for every server.
    ///
    /// Defaults to [`ServerApi::Auto`], which works unchanged against Nacos 1.x, 2.x, 3.0–3.1,
    /// 3.2+ and rnacos, and through a rolling upgrade between them.
    pub fn api(mut self, api: ServerApi) -> Self {
        self.config.api = api;
        self
    }

    /// The interval of every instance's heartbeats, instead of the `clientBeatInterval` the
    /// server asks for (an instance's own
    /// [`heartbeat_interval`](crate::RegisterInstance::heartbeat_interval) still wins).
    ///
    /// Defaults to the server's interval (5 s until it first answers).
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.config.background.heartbeat_interval = Some(interval);
        self
    }

    /// The most threads sending heartbeats (`nacos-beat-N`); they start when the first
    /// instance is kept alive and end when none is. Four serve tens of thousands of instances.
    ///
    /// Defaults to 4.
    pub fn heartbeat_threads(mut self, threads: usize) -> Self {
        self.config.background.heartbeat_threads = threads;
        self
    }

    /// How often every subscribed service is polled, instead of the `cacheMillis` each answer
    /// carries. Polling is what keeps subscribers right when a server does not push.
    ///
    /// Defaults to the server's `cacheMillis` (10 s on rnacos and on pushing servers).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.config.background.poll_interval = Some(interval);
        self
    }

    /// The longest wait between two polls of a service while its polls fail: the wait
    /// doubles from the poll interval up to this, and polling never gives up.
    ///
    /// Defaults to 60 seconds.
    pub fn poll_max_backoff(mut self, backoff: Duration) -> Self {
        self.config.background.poll_max_backoff = backoff;
        self
    }

    /// Whether an empty list from a server reaches subscribers. `false` keeps the last
    /// non-empty list instead (protection against a server that lost its data), at the cost of
    /// never learning that every instance is gone; a subscription to an empty service then has
    /// its first event when the first instance appears.
    ///
    /// Defaults to `true`.
    pub fn deliver_empty_lists(mut self, deliver: bool) -> Self {
        self.config.background.deliver_empty_lists = deliver;
        self
    }

    /// The most threads calling listeners (`nacos-notify`), started only when every one is
    /// busy: fewer listeners than this can block at once without holding up the others.
    ///
    /// Defaults to 4.
    pub fn notify_threads(mut self, threads: usize) -> Self {
        self.config.background.notify_threads = threads;
        self
    }

    /// A directory where the last list of each subscribed service is kept (one file per
    /// subscription, replaced atomically), for [`load_cache_at_start`](Self::load_cache_at_start).
    ///
    /// Defaults to `None` (no disk cache).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.background.cache_dir = Some(dir.into());
        self
    }

    /// Whether, while no server answers, subscriptions start from the lists in
    /// [`cache_dir`](Self::cache_dir) (their first event) and `list_naming_instance` of a
    /// subscribed service answers from them.
    ///
    /// Defaults to `false`.
    pub fn load_cache_at_start(mut self, load: bool) -> Self {
        self.config.background.load_cache_at_start = load;
        self
    }

    /// Whether subscriptions ask servers to push changes over UDP (a socket is bound when the
    /// client is built). Servers that do not push are polled either way. Official Nacos servers
    /// push only to clients whose [`user_agent`](Self::user_agent) they recognise.
    ///
    /// Defaults to `true`.
    pub fn udp_push(mut self, push: bool) -> Self {
        self.config.background.udp_push = push;
        self
    }

    /// The UDP port servers push to (`udpPort`).
    ///
    /// Defaults to 0: any free port.
    pub fn udp_port(mut self, port: u16) -> Self {
        self.config.background.udp_port = port;
        self
    }

    /// The address servers push to (`clientIP`): this host as the servers reach it.
    ///
    /// Defaults to the address of the interface that routes to the first server.
    pub fn client_ip(mut self, ip: std::net::IpAddr) -> Self {
        self.config.background.client_ip = Some(ip);
        self
    }

    /// How long stopping ([`stop_subscribe`](NamingClient::stop_subscribe),
    /// [`shutdown`](NamingClient::shutdown), dropping the last clone) waits for a listener
    /// or a request still running before leaving its thread to end on its own.
    ///
    /// Defaults to 5 seconds.
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.config.background.stop_timeout = timeout;
        self
    }

    /// Whether [`shutdown`](NamingClient::shutdown) deregisters the instances the client keeps
    /// alive with heartbeats. Dropping the client never does. A beat still in flight when the
    /// deregistrations go out deregisters its instance once more when it ends, so that it
    /// cannot leave the instance registered.
    ///
    /// Defaults to `false`.
    pub fn deregister_on_shutdown(mut self, deregister: bool) -> Self {
        self.config.background.deregister_on_shutdown = deregister;
        self
    }

    /// Checks the settings, prepares the connection pool and, with a username, logs in.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidParam`] for an unparsable server list (`server_addresses`), a blank
    ///   namespace, a username without password (or the reverse), an access key without
    ///   secret key (or the reverse), a zero timeout or response size, a user agent that is
    ///   not a valid header, or a CA file that cannot be read or holds no certificate.
    ///   Also zero thread counts or intervals of heartbeats and subscriptions.
    /// - [`Error::Server`] when the login is refused (a wrong password: status 403).
    /// - [`Error::Io`] when the UDP socket for pushes cannot be bound (the
    ///   [`udp_port`](Self::udp_port) is in use).
    ///
    /// When no server answers the login, the client is still built and logs in on its first
    /// call, as a client without credentials would only find out then.
    pub fn build(self) -> Result<NamingClient, Error> {
        let c = self.config;
        let servers = parse_server_addresses(&c.server_addresses)?;
        if let Some(ns) = &c.namespace {
            validate::namespace_id(ns).map_err(|e| rename(e, "namespace"))?;
        }
        let login = match (c.username, c.password) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(Error::invalid("password", "a username needs a password"))
            }
            (None, Some(_)) => {
                return Err(Error::invalid("username", "a password needs a username"))
            }
            (Some(u), Some(_)) if u.trim().is_empty() => {
                return Err(Error::invalid("username", "must not be blank"))
            }
            (Some(u), Some(p)) => Some(Login::new(u, p)),
        };
        let access_key = match (c.access_key, c.secret_key) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(Error::invalid(
                    "secret_key",
                    "an access key needs a secret key",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::invalid(
                    "access_key",
                    "a secret key needs an access key",
                ))
            }
            (Some(a), Some(_)) if a.trim().is_empty() => {
                return Err(Error::invalid("access_key", "must not be blank"))
            }
            (Some(access_key), Some(secret_key)) => Some(AccessKey {
                access_key,
                secret_key,
            }),
        };
        for (param, d) in [
            ("timeout", c.timeout),
            ("connect_timeout", c.connect_timeout),
        ] {
            if d.is_zero() {
                return Err(Error::invalid(param, "must be above zero"));
            }
        }
        if c.max_response_size == 0 {
            return Err(Error::invalid("max_response_size", "must be above zero"));
        }
        if c.user_agent.is_empty()
            || c.user_agent
                .chars()
                .any(|ch| ch.is_control() || !ch.is_ascii())
        {
            return Err(Error::invalid(
                "user_agent",
                "must be printable ASCII and not empty",
            ));
        }
        let root_certs = root_certs(&servers, c.ca_file.as_ref())?;
        let transport = Transport::new(TransportConfig {
            servers,
            auth: Auth { login, access_key },
            timeout: c.timeout,
            connect_timeout: c.connect_timeout,
            max_response_size: c.max_response_size,
            user_agent: c.user_agent,
            max_idle_connections: c.max_idle_connections,
            api: c.api,
            root_certs,
        });
        let background = background::prepare(c.background, transport.servers())?;
        transport.log_in_early()?;
        let inner = Arc::new_cyclic(|client| {
            ClientInner::new(transport, c.namespace, background.start(client.clone()))
        });
        Ok(NamingClient {
            _clones: Arc::new(background::Clones(inner.clone())),
            inner,
        })
    }
}

fn rename(e: Error, param: &'static str) -> Error {
    match e {
        Error::InvalidParam { reason, .. } => Error::InvalidParam { param, reason },
        other => other,
    }
}

/// The roots `https` servers are verified against: the system's plus the CA file's. `None`
/// when there is no `https` server and no CA file (nothing to load).
fn root_certs(
    servers: &[ServerAddr],
    ca_file: Option<&PathBuf>,
) -> Result<Option<Vec<Certificate<'static>>>, Error> {
    let mut roots = match ca_file {
        Some(path) => read_ca_file(path)?,
        None => Vec::new(),
    };
    if !servers.iter().any(ServerAddr::is_https) {
        return Ok(ca_file.map(|_| roots));
    }
    let system = rustls_native_certs::load_native_certs();
    for e in &system.errors {
        log::warn!("skipping unreadable system certificates: {e}");
    }
    roots.extend(
        system
            .certs
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned()),
    );
    if roots.is_empty() {
        log::warn!("no trusted root certificates found: https servers will fail verification (see ca_file)");
    }
    Ok(Some(roots))
}

fn read_ca_file(path: &PathBuf) -> Result<Vec<Certificate<'static>>, Error> {
    let pem = std::fs::read(path)
        .map_err(|e| Error::invalid("ca_file", format!("cannot read {}: {e}", path.display())))?;
    let mut certs = Vec::new();
    for item in parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => {
                return Err(Error::invalid(
                    "ca_file",
                    format!("{} is not valid PEM: {e}", path.display()),
                ))
            }
        }
    }
    if certs.is_empty() {
        return Err(Error::invalid(
            "ca_file",
            format!("{} holds no PEM certificate", path.display()),
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(builder: NamingClientBuilder) -> &'static str {
        match builder.build() {
            Err(Error::InvalidParam { param, .. }) => param,
            other => panic!("expected InvalidParam, got {other:?}"),
        }
    }

    #[test]
    fn refuses_incomplete_or_invalid_settings() {
        let b = NamingClient::builder;
        assert_eq!(refused(b().server_addresses("h:0")), "server_addresses");
        assert_eq!(refused(b().server_addresses("")), "server_addresses");
        assert_eq!(refused(b().namespace(" ")), "namespace");
        assert_eq!(refused(b().username("u")), "password");
        assert_eq!(refused(b().password("p")), "username");
        assert_eq!(refused(b().username(" ").password("p")), "username");
        assert_eq!(refused(b().access_key("a")), "secret_key");
        assert_eq!(refused(b().secret_key("s")), "access_key");
        assert_eq!(refused(b().timeout(Duration::ZERO)), "timeout");
        assert_eq!(
            refused(b().connect_timeout(Duration::ZERO)),
            "connect_timeout"
        );
        assert_eq!(refused(b().max_response_size(0)), "max_response_size");
        assert_eq!(refused(b().user_agent("a\nb")), "user_agent");
        assert_eq!(refused(b().ca_file("/nonexistent/ca.pem")), "ca_file");
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = std::env::temp_dir().join(format!("nacos-naming-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let b = NamingClient::builder().server_addresses("https://127.0.0.1:1");
        assert_eq!(refused(b.ca_file(&path)), "ca_file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn builds_without_contacting_a_server() {
        // Nothing listens on port 1; without credentials nothing is sent.
        let client = NamingClient::builder()
            .server_addresses("127.0.0.1:1,https://[::1]:2")
            .namespace("ns")
            .access_key("ak")
            .secret_key("sk")
            .build()
            .unwrap();
        assert_eq!(client.inner.server_addresses().len(), 2);
    }

    #[test]
    fn debug_hides_secrets() {
        let b = NamingClient::builder()
            .username("user")
            .password("hunter2")
            .access_key("ak")
            .secret_key("sk-secret");
        let shown = format!("{b:?}");
        assert!(shown.contains("user") && shown.contains("<redacted>"));
        assert!(!shown.contains("hunter2") && !shown.contains("sk-secret"));
    }
}

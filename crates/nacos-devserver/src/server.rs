//! The server handle: a builder for its settings, `start`, its address, and a stop that joins
//! every thread it started.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use crate::auth::Auth;
use crate::handlers::Context;
use crate::http::{self, Shared};
use crate::push::{self, Retry};
use crate::registry::{Registry, Timings};
use crate::store::Journal;
use crate::version::NacosVersion;

/// How long a stop waits for requests being answered (a disk write) before it gives up.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// A running naming server.
///
/// Start one with [`DevServer::builder`]. Dropping the handle stops the server and joins its
/// threads; [`shutdown`](DevServer::shutdown) does the same explicitly. Persistent state is
/// written before each write call is answered, so nothing is lost however the process ends.
///
/// ```
/// let server = nacos_devserver::DevServer::builder().start()?;
/// println!("listening on {}", server.addr());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct DevServer {
    addr: SocketAddr,
    push_addr: Option<SocketAddr>,
    runtime: Option<Runtime>,
    /// The data directory's writer, stopped after the runtime (every answered write is on disk).
    journal: Option<Arc<Journal>>,
}

impl DevServer {
    /// A builder with the default settings (`127.0.0.1:0`, official timeouts, push on, no
    /// data directory, no auth).
    pub fn builder() -> DevServerBuilder {
        DevServerBuilder::default()
    }

    /// Starts a server with the default settings on a free port of 127.0.0.1.
    pub fn start() -> io::Result<DevServer> {
        DevServer::builder().start()
    }

    /// The address the server listens on (the real port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The UDP address pushes are sent from, when push is on.
    pub fn push_addr(&self) -> Option<SocketAddr> {
        self.push_addr
    }

    /// Stops the server: closes the listener and every connection, waits for requests being
    /// answered, and joins the server's threads.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop();
        Ok(())
    }

    fn stop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            // A runtime cannot be shut down from inside another one's context (a caller's async
            // test): do it from a plain thread, still joined before returning.
            let stopper = std::thread::Builder::new()
                .name("nacos-devserver-stop".into())
                .spawn(move || runtime.shutdown_timeout(STOP_GRACE));
            if let Ok(stopper) = stopper {
                let _ = stopper.join();
            }
        } else {
            runtime.shutdown_timeout(STOP_GRACE);
        }
        if let Some(journal) = self.journal.take() {
            journal.stop();
        }
        log::info!("nacos-devserver on {} stopped", self.addr);
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for DevServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevServer")
            .field("addr", &self.addr)
            .field("push_addr", &self.push_addr)
            .field("running", &self.runtime.is_some())
            .finish()
    }
}

/// Settings of a [`DevServer`]; [`start`](DevServerBuilder::start) runs it.
#[must_use = "a builder does nothing until start() is called"]
pub struct DevServerBuilder {
    /// The addresses to try, or why they could not be resolved (reported by `start`).
    bind: io::Result<Vec<SocketAddr>>,
    listener: Option<TcpListener>,
    health_timeout: Duration,
    expire_timeout: Duration,
    beat_interval: Duration,
    data_dir: Option<PathBuf>,
    auth: Option<(String, String)>,
    token_ttl: Duration,
    push: bool,
    push_ack_timeout: Duration,
    push_max_resends: u32,
    push_to_client_ip: bool,
    subscriptions_per_ip: usize,
    subscriber_ttl: Duration,
    empty_service_ttl: Duration,
    worker_threads: usize,
    version: NacosVersion,
    max_connections: usize,
    request_timeout: Duration,
    max_body_memory: usize,
    list_cache_memory: usize,
}

impl Default for DevServerBuilder {
    fn default() -> DevServerBuilder {
        DevServerBuilder {
            bind: Ok(vec![SocketAddr::from(([127, 0, 0, 1], 0))]),
            listener: None,
            health_timeout: Duration::from_secs(15),
            expire_timeout: Duration::from_secs(30),
            beat_interval: Duration::from_secs(5),
            data_dir: None,
            auth: None,
            token_ttl: Duration::from_secs(18_000),
            push: true,
            push_ack_timeout: Duration::from_secs(1),
            push_max_resends: 3,
            push_to_client_ip: false,
            subscriptions_per_ip: crate::subscribers::SUBSCRIPTIONS_PER_IP,
            subscriber_ttl: Duration::from_secs(30),
            empty_service_ttl: Duration::from_secs(60),
            worker_threads: std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .min(4),
            version: NacosVersion::default(),
            max_connections: 512,
            request_timeout: Duration::from_secs(30),
            max_body_memory: crate::body::DEFAULT_BUDGET,
            list_cache_memory: crate::list_cache::DEFAULT_LIST_CACHE_MEMORY,
        }
    }
}

impl fmt::Debug for DevServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevServerBuilder")
            .field("bind", &self.bind)
            .field("listener", &self.listener)
            .field("health_timeout", &self.health_timeout)
            .field("expire_timeout", &self.expire_timeout)
            .field("beat_interval", &self.beat_interval)
            .field("data_dir", &self.data_dir)
            .field("auth", &self.auth.as_ref().map(|(user, _)| (user, "***")))
            .field("token_ttl", &self.token_ttl)
            .field("push", &self.push)
            .field("push_ack_timeout", &self.push_ack_timeout)
            .field("push_max_resends", &self.push_max_resends)
            .field("push_to_client_ip", &self.push_to_client_ip)
            .field("subscriptions_per_ip", &self.subscriptions_per_ip)
            .field("subscriber_ttl", &self.subscriber_ttl)
            .field("empty_service_ttl", &self.empty_service_ttl)
            .field("worker_threads", &self.worker_threads)
            .field("version", &self.version)
            .field("max_connections", &self.max_connections)
            .field("request_timeout", &self.request_timeout)
            .field("max_body_memory", &self.max_body_memory)
            .field("list_cache_memory", &self.list_cache_memory)
            .finish()
    }
}

impl DevServerBuilder {
    /// The address to listen on: `"host:port"` or a `SocketAddr` (port 0 picks a free one).
    /// An address that does not resolve is reported by [`start`](Self::start).
    ///
    /// Defaults to `127.0.0.1:0`.
    pub fn bind(mut self, addr: impl ToSocketAddrs) -> Self {
        self.bind = addr.to_socket_addrs().map(Iterator::collect);
        self
    }

    /// Serves on a listener the caller bound (overrides [`bind`](Self::bind)).
    ///
    /// Defaults to none: the server binds its own.
    pub fn listener(mut self, listener: TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// How long an ephemeral instance may go without a beat before it is marked unhealthy.
    ///
    /// Defaults to 15 s, as official servers.
    pub fn health_timeout(mut self, timeout: Duration) -> Self {
        self.health_timeout = timeout;
        self
    }

    /// How long an ephemeral instance may go without a beat before it is removed.
    ///
    /// Defaults to 30 s, as official servers.
    pub fn expire_timeout(mut self, timeout: Duration) -> Self {
        self.expire_timeout = timeout;
        self
    }

    /// The beat interval asked of clients (`clientBeatInterval` in beat answers).
    ///
    /// Defaults to 5 s, as official servers.
    pub fn beat_interval(mut self, interval: Duration) -> Self {
        self.beat_interval = interval;
        self
    }

    /// A directory where persistent instances and service definitions are kept across
    /// restarts (created if missing). Without one, everything lives in memory.
    ///
    /// Defaults to none.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Auth mode: `/nacos/v1/auth/login` with these credentials issues tokens, and every other
    /// call without a valid `accessToken` gets 403.
    ///
    /// Defaults to off.
    pub fn auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some((username.into(), password.into()));
        self
    }

    /// How long an issued token stays valid (`tokenTtl`, announced in whole seconds). Longer
    /// than 100 years (`Duration::MAX` as "forever") is clamped to 100 years.
    ///
    /// Defaults to 18000 s (5 h), as official servers.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Whether clients that list with `udpPort` get changes pushed over UDP.
    ///
    /// Defaults to true. Never on the 3.2 line, which has no UDP push (nor the V1 list that
    /// subscribes to it).
    pub fn push(mut self, enabled: bool) -> Self {
        self.push = enabled;
        self
    }

    /// How long a push waits for its ack before it is sent again.
    ///
    /// Defaults to 1 s.
    pub fn push_ack_timeout(mut self, timeout: Duration) -> Self {
        self.push_ack_timeout = timeout;
        self
    }

    /// How many times an unacked push is sent again.
    ///
    /// Defaults to 3.
    pub fn push_max_resends(mut self, resends: u32) -> Self {
        self.push_max_resends = resends;
        self
    }

    /// Whether pushes go to the `clientIP` a list call names rather than to the address the
    /// call came from. Without auth anyone can name any address, so a list call could aim
    /// pushes at a third party; turn this on only where every client is trusted and reaches the
    /// server through a proxy or NAT that hides its address.
    ///
    /// Defaults to false: pushes go to the IP address the list call came from (with the
    /// `udpPort` it names).
    pub fn push_to_client_ip(mut self, enabled: bool) -> Self {
        self.push_to_client_ip = enabled;
        self
    }

    /// How many push subscriptions (one per service a client lists with `udpPort`) one IP
    /// address may hold across all services; list calls beyond it are answered, not pushed to.
    ///
    /// Defaults to 4096.
    pub fn subscriptions_per_ip(mut self, max: usize) -> Self {
        self.subscriptions_per_ip = max;
        self
    }

    /// How long a push subscriber is remembered after its last list call (clients with push
    /// list again every `cacheMillis`, 10 s).
    ///
    /// Defaults to 30 s.
    pub fn subscriber_ttl(mut self, ttl: Duration) -> Self {
        self.subscriber_ttl = ttl;
        self
    }

    /// How long a service without instances is kept, when nobody subscribes to it: then it is
    /// dropped with its definition (protection threshold, metadata), whether it was created by
    /// a registration or through the service API, as official servers clean empty services
    /// (2.x and 3.x 60 s after the service's last change, `nacos.naming.clean.empty-service.
    /// expired-time`; 1.4 after three empty scans 30 s apart).
    ///
    /// Defaults to 60 s.
    pub fn empty_service_ttl(mut self, ttl: Duration) -> Self {
        self.empty_service_ttl = ttl;
        self
    }

    /// Threads answering requests.
    ///
    /// Defaults to the number of CPUs, at most 4.
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads.max(1);
        self
    }

    /// The official server line to behave as: its instance identity rules, the APIs it
    /// answers and how (see [`NacosVersion`]).
    ///
    /// Defaults to [`NacosVersion::V2`].
    pub fn nacos_version(mut self, version: NacosVersion) -> Self {
        self.version = version;
        self
    }

    /// How many connections are served at once. At the cap, a new connection is still taken:
    /// the connection that has waited longest for a request (idle, or sending its request
    /// slowly) is closed to make room, so a flood of slow or idle connections cannot lock other
    /// clients out. Only when every connection is busy answering does a newcomer get 503.
    ///
    /// Defaults to 512.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long a request may take to arrive: its head within this time of the connection's
    /// last answer (or of its start: an idle connection is closed after it), then its body
    /// within this time of its head (else 408, and the connection is closed).
    ///
    /// Defaults to 30 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How many bytes request bodies may hold at once, all connections together, beyond the
    /// first 64 KiB of each (which every connection may hold). A body that would need more is
    /// answered 503 at once and its connection closed; smaller requests go on being served. So
    /// a flood of large bodies sent slowly cannot make the server hold more than this plus
    /// 64 KiB per connection (see [`max_connections`](Self::max_connections)).
    ///
    /// Defaults to 64 MiB.
    pub fn max_body_memory(mut self, bytes: usize) -> Self {
        self.max_body_memory = bytes;
        self
    }

    /// How many bytes of rendered list answers the server keeps, all services together. A list
    /// answer is rendered once per change and filter and then served from memory; past this
    /// budget the least recently used answers are dropped and rendered again when next asked
    /// for. So many services, each listed with many cluster filters, cannot grow memory past
    /// it. An answer larger than a quarter of the budget is rendered for each call.
    ///
    /// Defaults to 128 MiB.
    pub fn max_list_cache_memory(mut self, bytes: usize) -> Self {
        self.list_cache_memory = bytes;
        self
    }

    /// Binds, loads the data directory, and starts serving; returns once the server accepts
    /// connections.
    ///
    /// # Errors
    ///
    /// The address cannot be bound (or resolved), the data directory cannot be read or holds
    /// a file that is not the server's, or the threads cannot be started.
    pub fn start(self) -> io::Result<DevServer> {
        let listener = match self.listener {
            Some(listener) => listener,
            None => {
                let addrs = self.bind.map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot resolve the bind address: {e}"))
                })?;
                TcpListener::bind(&addrs[..]).map_err(|e| {
                    let addrs: Vec<String> = addrs.iter().map(ToString::to_string).collect();
                    io::Error::new(e.kind(), format!("cannot bind {}: {e}", addrs.join(", ")))
                })?
            }
        };
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;

        let (journal, records) = match &self.data_dir {
            Some(dir) => {
                let (journal, records) = Journal::open(dir)?;
                (Some(Arc::new(journal)), records)
            }
            None => (None, Vec::new()),
        };
        let timings = Timings {
            health_timeout: millis(self.health_timeout),
            expire_timeout: millis(self.expire_timeout),
            subscriber_ttl: millis(self.subscriber_ttl),
            empty_service_ttl: millis(self.empty_service_ttl),
        };
        let push = self.push && self.version.pushes_over_udp();
        let (changes_tx, changes_rx) = tokio::sync::mpsc::unbounded_channel();
        let on_change = if push {
            push::listener(changes_tx)
        } else {
            Box::new(|_: &Arc<crate::service::Service>| {})
        };
        let registry = Arc::new(
            Registry::new(timings, self.version.identity(), on_change)
                .subscriptions_per_ip(self.subscriptions_per_ip)
                .list_cache_memory(self.list_cache_memory),
        );
        let loaded = records.len();
        registry.load(records);
        if let Some(journal) = &journal {
            registry.keep_in(journal.clone());
        }

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.worker_threads)
            .thread_name("nacos-devserver")
            .enable_io()
            .enable_time()
            .build()?;
        let push_addr = {
            let _context = runtime.enter();
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let push_addr = if push {
                let socket = std::net::UdpSocket::bind(SocketAddr::new(addr.ip(), 0))?;
                socket.set_nonblocking(true)?;
                let socket = tokio::net::UdpSocket::from_std(socket)?;
                let push_addr = socket.local_addr()?;
                let retry = Retry {
                    ack_timeout: self.push_ack_timeout,
                    max_resends: self.push_max_resends,
                };
                runtime.spawn(push::run(socket, registry.clone(), changes_rx, retry));
                Some(push_addr)
            } else {
                None
            };
            runtime.spawn(crate::health::run(registry.clone()));
            let shared = Arc::new(Shared {
                cx: Context {
                    registry,
                    client_auth: self.auth.is_some(),
                    auth: match self.auth {
                        Some((user, password)) => Some(Auth::new(user, password, self.token_ttl)),
                        // 3.x guards its admin API with tokens even without auth mode.
                        None if self.version.has_v3() => Some(Auth::any_user(self.token_ttl)),
                        None => None,
                    },
                    beat_interval: millis(self.beat_interval),
                    push,
                    version: self.version,
                    push_to_client_ip: self.push_to_client_ip,
                },
                connections: Arc::new(crate::connections::Connections::new(self.max_connections)),
                request_timeout: self.request_timeout,
                body_budget: crate::body::BodyBudget::new(self.max_body_memory),
            });
            runtime.spawn(http::serve(listener, shared));
            push_addr
        };
        log::info!(
            "nacos-devserver listening on http://{addr}{}",
            match &self.data_dir {
                Some(dir) => format!(", data in {} ({loaded} services loaded)", dir.display()),
                None => String::new(),
            }
        );
        Ok(DevServer {
            addr,
            push_addr,
            runtime: Some(runtime),
            journal,
        })
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

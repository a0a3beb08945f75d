//! rnacos 0.8.8 as a real server on loopback: started on free ports from a fresh working and
//! data directory, stopped (and waited for) when dropped.

use std::fs::OpenOptions;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use tempfile::TempDir;

use crate::{free_port, http, rnacos_path, wait_until};

/// Held while a server starts; see `Rnacos::spawn_ready`.
static START_LOCK: Mutex<()> = Mutex::new(());

/// The admin account rnacos creates in auth mode.
const ADMIN: (&str, &str) = ("admin", "admin");

/// How a server or cluster is started.
///
/// ```no_run
/// let server = nacos_test_support::Rnacos::builder()
///     .auth(true)                 // open-API auth on, admin/admin
///     .health_timeout_secs(1)     // unhealthy one second (plus rnacos's 2-3 s) after the last beat
///     .instance_timeout_secs(3)
///     .start()
///     .unwrap();
/// println!("rnacos at {}", server.address());
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RnacosBuilder {
    binary: Option<PathBuf>,
    auth: bool,
    health_timeout_secs: Option<u64>,
    instance_timeout_secs: Option<u64>,
    env: Vec<(String, String)>,
    ready_timeout: Duration,
}

impl Default for RnacosBuilder {
    fn default() -> RnacosBuilder {
        RnacosBuilder {
            binary: None,
            auth: false,
            health_timeout_secs: None,
            instance_timeout_secs: None,
            env: Vec::new(),
            ready_timeout: Duration::from_secs(20),
        }
    }
}

impl RnacosBuilder {
    /// The binary to run. Defaults to [`rnacos_path`](crate::rnacos_path).
    pub fn binary(mut self, path: impl Into<PathBuf>) -> RnacosBuilder {
        self.binary = Some(path.into());
        self
    }

    /// Open-API auth (`RNACOS_ENABLE_OPEN_API_AUTH`), with the admin account
    /// [`Rnacos::USERNAME`]/[`Rnacos::PASSWORD`]. Defaults to off.
    pub fn auth(mut self, on: bool) -> RnacosBuilder {
        self.auth = on;
        self
    }

    /// Seconds without a beat before an ephemeral instance is marked unhealthy
    /// (`RNACOS_NAMING_HEALTH_TIMEOUT_SECOND`; rnacos adds about 3 s and checks every 2 s).
    /// Defaults to rnacos's own 15.
    pub fn health_timeout_secs(mut self, secs: u64) -> RnacosBuilder {
        self.health_timeout_secs = Some(secs);
        self
    }

    /// Seconds without a beat before an ephemeral instance is removed
    /// (`RNACOS_NAMING_INSTANCE_TIMEOUT_SECOND`; rnacos raises it to the health timeout + 15
    /// when it is not above it). Defaults to rnacos's own 30.
    pub fn instance_timeout_secs(mut self, secs: u64) -> RnacosBuilder {
        self.instance_timeout_secs = Some(secs);
        self
    }

    /// Any other environment variable for the server. Defaults to none.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> RnacosBuilder {
        self.env.push((key.into(), value.into()));
        self
    }

    /// How long a start may take before it is an error. Defaults to 20 s.
    pub fn ready_timeout(mut self, timeout: Duration) -> RnacosBuilder {
        self.ready_timeout = timeout;
        self
    }

    /// Starts one server and waits until it answers.
    pub fn start(self) -> io::Result<Rnacos> {
        Rnacos::spawn_ready(self, Role::Single)
    }

    /// Starts a raft cluster of `nodes` servers (node 1 initialises it, the others join it)
    /// and waits until every node accepts a write.
    pub fn start_cluster(self, nodes: usize) -> io::Result<RnacosCluster> {
        RnacosCluster::start(self, nodes)
    }

    fn binary_path(&self) -> io::Result<PathBuf> {
        self.binary.clone().or_else(rnacos_path).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "rnacos not found (set RNACOS_BIN or run scripts/ci)",
            )
        })
    }
}

/// A node's place in a cluster.
#[derive(Debug, Clone)]
enum Role {
    Single,
    Founder { node_id: u32 },
    Joiner { node_id: u32, founder_grpc: u16 },
}

/// A running rnacos; killed and waited for on drop.
///
/// Its working and data directories are fresh temporary directories, removed on drop; they are
/// kept across [`kill`](Rnacos::kill) and [`restart`](Rnacos::restart), which starts it again on
/// the same ports. (rnacos 0.8.8 keeps its raft log there; whether a persistent instance comes
/// back after a kill depends on timing, and ephemeral ones never do.)
#[derive(Debug)]
pub struct Rnacos {
    builder: RnacosBuilder,
    binary: PathBuf,
    role: Role,
    http_port: u16,
    grpc_port: u16,
    child: Option<Child>,
    // Dropped last, after the process is gone.
    dir: TempDir,
}

impl Rnacos {
    /// The admin user in auth mode.
    pub const USERNAME: &'static str = ADMIN.0;
    /// The admin password in auth mode.
    pub const PASSWORD: &'static str = ADMIN.1;

    /// Starts a server with rnacos's defaults (no auth, 15/30 s timeouts).
    pub fn start() -> io::Result<Rnacos> {
        RnacosBuilder::default().start()
    }

    /// A builder for a server with options.
    pub fn builder() -> RnacosBuilder {
        RnacosBuilder::default()
    }

    /// The HTTP address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.http_port))
    }

    /// The HTTP address as `127.0.0.1:port`, the form the client takes.
    pub fn address(&self) -> String {
        self.addr().to_string()
    }

    /// The gRPC (and raft) port.
    pub fn grpc_port(&self) -> u16 {
        self.grpc_port
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Kills the process (SIGKILL) and waits for it; the data directory stays. Does nothing if
    /// it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the process if it runs, then starts it again on the same ports with the same data
    /// directory, and waits until it answers.
    pub fn restart(&mut self) -> io::Result<()> {
        let _one_at_a_time = START_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut tries = 0;
        loop {
            self.kill();
            self.spawn()?;
            match self.wait_ready() {
                // A start-up panic (see `spawn_ready`): the same again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted && tries < 9 => tries += 1,
                other => return other,
            }
        }
    }

    /// What the server printed so far (its stdout and stderr), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn spawn_ready(builder: RnacosBuilder, role: Role) -> io::Result<Rnacos> {
        // Another process may take a free port before rnacos binds it, and rnacos 0.8.8
        // sometimes panics in its raft start-up when the machine is busy (an actor used before
        // it is wired): try again, on new ports, in a new directory. Starts are taken one at a
        // time in this process, which makes that panic much rarer when tests run in parallel.
        let _one_at_a_time = START_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut last_error = None;
        for _ in 0..10 {
            let mut server = Rnacos::spawn_new(builder.clone(), role.clone())?;
            match server.wait_ready() {
                Ok(()) => return Ok(server),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.expect("at least one try"))
    }

    fn spawn_new(builder: RnacosBuilder, role: Role) -> io::Result<Rnacos> {
        let binary = builder.binary_path()?;
        let dir = tempfile::Builder::new().prefix("rnacos-").tempdir()?;
        std::fs::create_dir(dir.path().join("work"))?;
        let mut server = Rnacos {
            builder,
            binary,
            role,
            http_port: free_port(),
            grpc_port: free_port(),
            child: None,
            dir,
        };
        server.spawn()?;
        Ok(server)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("rnacos.log")
    }

    fn spawn(&mut self) -> io::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let mut command = Command::new(&self.binary);
        // rnacos reads a `.env` from its working directory and RNACOS_* from the environment:
        // start from an empty directory and none of the caller's RNACOS_* settings.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("RNACOS_") {
                command.env_remove(key);
            }
        }
        command
            .current_dir(self.dir.path().join("work"))
            .env("RNACOS_HTTP_PORT", self.http_port.to_string())
            .env("RNACOS_GRPC_PORT", self.grpc_port.to_string())
            .env("RNACOS_HTTP_CONSOLE_PORT", "0")
            .env("RNACOS_SDK_HOST", "127.0.0.1")
            .env("RNACOS_CONSOLE_HOST", "127.0.0.1")
            .env("RNACOS_DATA_DIR", self.dir.path().join("data"))
            .env("RNACOS_ENABLE_METRICS", "false")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if self.builder.auth {
            command
                .env("RNACOS_ENABLE_OPEN_API_AUTH", "true")
                .env("RNACOS_INIT_ADMIN_USERNAME", ADMIN.0)
                .env("RNACOS_INIT_ADMIN_PASSWORD", ADMIN.1);
        }
        if let Some(secs) = self.builder.health_timeout_secs {
            command.env("RNACOS_NAMING_HEALTH_TIMEOUT_SECOND", secs.to_string());
        }
        if let Some(secs) = self.builder.instance_timeout_secs {
            command.env("RNACOS_NAMING_INSTANCE_TIMEOUT_SECOND", secs.to_string());
        }
        let raft_addr = format!("127.0.0.1:{}", self.grpc_port);
        match self.role {
            Role::Single => {}
            Role::Founder { node_id } => {
                command
                    .env("RNACOS_RAFT_NODE_ID", node_id.to_string())
                    .env("RNACOS_RAFT_NODE_ADDR", &raft_addr)
                    .env("RNACOS_RAFT_AUTO_INIT", "true");
            }
            Role::Joiner {
                node_id,
                founder_grpc,
            } => {
                command
                    .env("RNACOS_RAFT_NODE_ID", node_id.to_string())
                    .env("RNACOS_RAFT_NODE_ADDR", &raft_addr)
                    .env("RNACOS_RAFT_AUTO_INIT", "false")
                    .env("RNACOS_RAFT_JOIN_ADDR", format!("127.0.0.1:{founder_grpc}"));
            }
        }
        for (key, value) in &self.builder.env {
            command.env(key, value);
        }
        self.child = Some(command.spawn().map_err(|e| {
            io::Error::new(e.kind(), format!("starting {}: {e}", self.binary.display()))
        })?);
        Ok(())
    }

    /// Waits until the server answers the service list with 200 (in auth mode: until the
    /// admin can log in), or fails with the server's log: `Interrupted` when the process
    /// exited or panicked (worth another try), `TimedOut` when it runs but does not answer.
    fn wait_ready(&mut self) -> io::Result<()> {
        let address = self.address();
        let probe = if self.builder.auth {
            format!(
                "/nacos/v1/auth/login?username={}&password={}",
                ADMIN.0, ADMIN.1
            )
        } else {
            "/nacos/v1/ns/service/list?pageNo=1&pageSize=1".to_owned()
        };
        let method = if self.builder.auth { "POST" } else { "GET" };
        let mut exited = false;
        let ready = wait_until(self.builder.ready_timeout, || {
            if !self.is_running() || self.log().contains("panicked at") {
                exited = true;
                return true;
            }
            http(&address, method, &probe).is_ok_and(|a| a.status == 200)
        });
        if ready && !exited {
            return Ok(());
        }
        let why = if exited {
            "exited or panicked"
        } else {
            "did not answer in time"
        };
        let log = self.log();
        self.kill();
        // An exit or a panic is worth another try; a server that runs and does not answer is not.
        let kind = if exited {
            io::ErrorKind::Interrupted
        } else {
            io::ErrorKind::TimedOut
        };
        Err(io::Error::new(
            kind,
            format!("rnacos on {address} {why}; its output:\n{}", tail(&log, 40)),
        ))
    }

    fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Rnacos {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A raft cluster of rnacos nodes on loopback, each with its own ports and data directory.
#[derive(Debug)]
pub struct RnacosCluster {
    nodes: Vec<Rnacos>,
}

impl RnacosCluster {
    fn start(builder: RnacosBuilder, nodes: usize) -> io::Result<RnacosCluster> {
        assert!(nodes >= 1, "a cluster needs at least one node");
        let founder = Rnacos::spawn_ready(builder.clone(), Role::Founder { node_id: 1 })?;
        let founder_grpc = founder.grpc_port;
        let mut cluster = RnacosCluster {
            nodes: vec![founder],
        };
        for node_id in 2..=nodes as u32 {
            let node = Rnacos::spawn_ready(
                builder.clone(),
                Role::Joiner {
                    node_id,
                    founder_grpc,
                },
            )?;
            cluster.nodes.push(node);
        }
        cluster.wait_writable(builder.ready_timeout)?;
        Ok(cluster)
    }

    /// The nodes, node 1 first.
    pub fn nodes(&self) -> &[Rnacos] {
        &self.nodes
    }

    /// One node, by index (0 is node 1, the founder).
    pub fn node(&mut self, index: usize) -> &mut Rnacos {
        &mut self.nodes[index]
    }

    /// Every node's HTTP address, comma-separated: a client's server list.
    pub fn addresses(&self) -> String {
        self.nodes
            .iter()
            .map(Rnacos::address)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Waits until a write through every running node succeeds: the raft group has a leader
    /// and every node has joined it. The probe instance lives in its own namespace.
    pub fn wait_writable(&mut self, timeout: Duration) -> io::Result<()> {
        let token = if self.nodes[0].builder.auth {
            let address = self.nodes[0].address();
            login_token(&address).unwrap_or_default()
        } else {
            String::new()
        };
        let mut addresses = Vec::new();
        for node in &mut self.nodes {
            if node.is_running() {
                addresses.push(node.address());
            }
        }
        for (i, address) in addresses.iter().enumerate() {
            let path = format!(
                "/nacos/v1/ns/instance?namespaceId=cluster-probe&serviceName=probe&ip=127.0.0.1\
                 &port={}&ephemeral=false&accessToken={token}",
                i + 1
            );
            if !wait_until(timeout, || {
                http(address, "POST", &path).is_ok_and(|a| a.status == 200 && a.body == "ok")
            }) {
                return Err(io::Error::other(format!(
                    "rnacos cluster node {address} accepted no write within {timeout:?}"
                )));
            }
        }
        Ok(())
    }

    /// Each node's directory (its working directory, data directory and log), for diagnostics.
    pub fn data_dirs(&self) -> Vec<&Path> {
        self.nodes.iter().map(Rnacos::data_dir).collect()
    }
}

/// Logs in as the admin and returns the access token.
fn login_token(address: &str) -> Option<String> {
    let answer = http(
        address,
        "POST",
        &format!(
            "/nacos/v1/auth/login?username={}&password={}",
            ADMIN.0, ADMIN.1
        ),
    )
    .ok()?;
    let start = answer.body.find("\"accessToken\":\"")? + "\"accessToken\":\"".len();
    let end = answer.body[start..].find('"')? + start;
    Some(answer.body[start..end].to_owned())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

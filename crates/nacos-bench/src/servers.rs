//! The servers under test, each a separate process (so its memory and CPU can be read apart
//! from the load generator's), stopped when dropped, also when a benchmark panics.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nacos_test_support::Rnacos;

use crate::procfs::{self, ProcStats};
use crate::Result;

/// A server process the benchmark reads figures from.
pub trait Server {
    /// What the tables call it.
    fn name(&self) -> &'static str;
    /// Its HTTP address on loopback.
    fn addr(&self) -> SocketAddr;
    /// Its process id.
    fn pid(&self) -> u32;

    /// Its memory, threads and CPU time now.
    fn stats(&self) -> Result<ProcStats> {
        Ok(procfs::stats(self.pid())?)
    }
}

/// A child process killed and waited for on drop.
#[derive(Debug)]
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Settings of a devserver process; its command-line flags.
#[derive(Debug, Clone, Default)]
pub struct DevServerOptions {
    /// `--no-push`.
    pub no_push: bool,
    /// `--beat-interval`.
    pub beat_interval: Option<Duration>,
    /// `--health-timeout`.
    pub health_timeout: Option<Duration>,
    /// `--expire-timeout`.
    pub expire_timeout: Option<Duration>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
}

/// The `nacos-devserver` release binary, run on a free port of 127.0.0.1.
#[derive(Debug)]
pub struct DevServerProcess {
    child: ChildGuard,
    addr: SocketAddr,
    /// Its log (stderr), a file as a deployment keeps it: a pipe would have this process wake
    /// for every line (one per registration), CPU taken from the load generator beside it.
    _log: tempfile::NamedTempFile,
}

impl DevServerProcess {
    /// Starts the binary and waits until it says where it listens.
    pub fn start(binary: &Path, options: &DevServerOptions) -> Result<DevServerProcess> {
        let log = tempfile::NamedTempFile::new()?;
        let mut command = Command::new(binary);
        command
            .args(["--bind", "127.0.0.1:0", "--log-level", "info"])
            .env_remove("NACOS_DEVSERVER_BIND")
            .env_remove("NACOS_DEVSERVER_DATA_DIR")
            .env_remove("NACOS_DEVSERVER_AUTH")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.reopen()?);
        if options.no_push {
            command.arg("--no-push");
        }
        if let Some(dir) = &options.data_dir {
            command.arg("--data-dir").arg(dir);
        }
        for (flag, value) in [
            ("--beat-interval", options.beat_interval),
            ("--health-timeout", options.health_timeout),
            ("--expire-timeout", options.expire_timeout),
        ] {
            if let Some(d) = value {
                command.arg(flag).arg(format!("{}ms", d.as_millis()));
            }
        }
        let mut child = ChildGuard(
            command
                .spawn()
                .map_err(|e| format!("starting {}: {e}", binary.display()))?,
        );
        let addr = wait_for_address(&mut child, log.path())?;
        Ok(DevServerProcess {
            child,
            addr,
            _log: log,
        })
    }
}

/// Reads the devserver's log file until its "listening on http://ADDR" line.
fn wait_for_address(child: &mut ChildGuard, log: &Path) -> Result<SocketAddr> {
    let listening = |text: &str| {
        text.lines().find_map(|line| {
            line.split("listening on http://")
                .nth(1)
                .and_then(|rest| rest.split([',', ' ']).next())
                .and_then(|a| a.parse::<SocketAddr>().ok())
        })
    };
    // The address, or the log of a server that exited first.
    let outcome = nacos_test_support::wait_for(Duration::from_secs(20), || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        match listening(&text) {
            Some(addr) => Some(Ok(addr)),
            None if child.0.try_wait().is_ok_and(|s| s.is_some()) => Some(Err(text)),
            None => None,
        }
    });
    match outcome {
        Some(Ok(addr)) => Ok(addr),
        Some(Err(log)) => Err(format!("nacos-devserver exited before listening:\n{log}").into()),
        None => Err("nacos-devserver did not say where it listens within 20 s".into()),
    }
}

impl Server for DevServerProcess {
    fn name(&self) -> &'static str {
        "nacos-devserver"
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn pid(&self) -> u32 {
        self.child.0.id()
    }
}

/// rnacos 0.8.8 through the test fixture (fresh data directory, free ports).
#[derive(Debug)]
pub struct RnacosProcess {
    server: Rnacos,
    pid: u32,
}

impl RnacosProcess {
    /// Starts rnacos with its defaults (15 s health, 30 s expiry).
    pub fn start() -> Result<RnacosProcess> {
        Self::from(Rnacos::start().map_err(|e| format!("starting rnacos: {e}"))?)
    }

    /// Wraps a started fixture, finding its process id.
    pub fn from(server: Rnacos) -> Result<RnacosProcess> {
        let pid = find_rnacos_pid(server.addr().port())
            .ok_or("cannot find the rnacos process among this process's children")?;
        Ok(RnacosProcess { server, pid })
    }
}

impl Server for RnacosProcess {
    fn name(&self) -> &'static str {
        "rnacos 0.8.8"
    }

    fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    fn pid(&self) -> u32 {
        self.pid
    }
}

/// The child of this process named `rnacos` whose environment gives it `http_port`: the
/// fixture keeps its `Child` to itself.
fn find_rnacos_pid(http_port: u16) -> Option<u32> {
    let me = std::process::id();
    let wanted = format!("RNACOS_HTTP_PORT={http_port}");
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|&pid| {
            procfs::parent_and_name(pid).is_some_and(|(ppid, name)| ppid == me && name == "rnacos")
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == wanted.as_bytes()))
        })
}

/// The devserver release binary: `--devserver-bin`/`NACOS_DEVSERVER_BIN` when given, else
/// built now with `cargo build --release -p nacos-devserver` (a no-op when it is up to date)
/// next to this binary.
pub fn devserver_binary(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_owned());
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!(
        "building the nacos-devserver release binary (cargo build --release -p nacos-devserver)"
    );
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "nacos-devserver",
            "--bin",
            "nacos-devserver",
        ])
        .current_dir(&workspace)
        .status()
        .map_err(|e| format!("running cargo: {e} (or give --devserver-bin)"))?;
    if !status.success() {
        return Err(format!("cargo build of nacos-devserver failed: {status}").into());
    }
    // This binary lives in <target>/<profile>/; the release one in <target>/release/.
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot tell the target directory from this binary's path")?;
    let binary = target.join("release").join("nacos-devserver");
    if !binary.is_file() {
        return Err(format!("{} not found after the build", binary.display()).into());
    }
    Ok(binary)
}

/// Waits until `addr` answers HTTP at all.
pub fn wait_until_answering(addr: SocketAddr) -> io::Result<()> {
    let mut connection = crate::raw_http::Connection::new(addr);
    let probe =
        crate::raw_http::request("GET", "/nacos/v1/ns/service/list?pageNo=1&pageSize=1", addr);
    if nacos_test_support::wait_until(Duration::from_secs(10), || {
        connection
            .send(&probe)
            .is_ok_and(|(status, _)| status == 200)
    }) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{addr} does not answer"),
        ))
    }
}

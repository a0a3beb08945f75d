//! `python-package`: this repository's Python package (nacos-naming-py, `crates/nacos-py`)
//! against nacos-sdk-python 1.0.0, both driving one nacos-devserver: list calls per second
//! from one thread, heartbeats for thousands of instances in one process, and the time from a
//! change to the listener.
//!
//! Both sides are Python, so the measuring is done by `python/package_bench.py`, run by the
//! interpreter that has the package; it runs this crate's other scripts (`list_loop.py`,
//! `heartbeats.py`, `subscribe_events.py`) under each interpreter. This command starts the
//! server and the driver and stops both.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::servers::{self, DevServerOptions, DevServerProcess, Server};
use crate::{python, Result};

/// Options of `python-package`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Python that has nacos-naming-py installed.
    #[arg(long, env = "NACOS_PY_PACKAGE_PYTHON")]
    package_python: Option<PathBuf>,
    /// Seconds of list calls per client.
    #[arg(long, default_value_t = 5.0)]
    list_seconds: f64,
    /// Instances kept alive by nacos-naming-py.
    #[arg(long, default_value_t = 5000)]
    instances: u32,
    /// Instances kept alive by nacos-sdk-python 1.0.0 (a thread each: 5,000 take it many
    /// minutes to register on a busy 2-core machine).
    #[arg(long, default_value_t = 500)]
    old_instances: u32,
    /// Seconds between two beats of an instance.
    #[arg(long, default_value_t = 1.0)]
    beat_interval: f64,
    /// Seconds after registration at which threads, memory and health are read.
    #[arg(long, default_value_t = 8.0)]
    health_wait: f64,
    /// Changes timed for nacos-naming-py (nacos-sdk-python polls every 7 s: it gets fewer).
    #[arg(long, default_value_t = 50)]
    changes: u32,
    /// Changes timed for nacos-sdk-python 1.0.0.
    #[arg(long, default_value_t = 5)]
    old_changes: u32,
    /// The nacos-devserver binary (default: built in release mode now).
    #[arg(long, env = "NACOS_DEVSERVER_BIN")]
    devserver_bin: Option<PathBuf>,
}

/// Runs the comparison and prints its table.
pub fn run(args: Args) -> Result<()> {
    let old_python = python::interpreter()?;
    let package_python = match args.package_python {
        Some(path) => path,
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/py-nacos/bin/python"),
    };
    if !package_python.is_file() {
        return Err(format!(
            "no Python with nacos-naming-py at {}: build and install the wheel (scripts/ci \
             python_package does) or pass --package-python",
            package_python.display()
        )
        .into());
    }
    let binary = servers::devserver_binary(args.devserver_bin.as_deref())?;
    // Health marked after three missed beats, as Nacos does at its default 5 s interval.
    let beat = Duration::from_secs_f64(args.beat_interval);
    let server = DevServerProcess::start(
        &binary,
        &DevServerOptions {
            beat_interval: Some(beat),
            health_timeout: Some(beat * 3),
            expire_timeout: Some(beat * 6),
            ..DevServerOptions::default()
        },
    )?;
    let log_dir = tempfile::Builder::new()
        .prefix("nacos-bench-py-")
        .tempdir()?;
    println!(
        "python-package: nacos-naming-py ({}) vs nacos-sdk-python 1.0.0 ({}) against {} at {}\n",
        package_python.display(),
        old_python.display(),
        server.name(),
        server.addr()
    );
    let status = Command::new(&package_python)
        .arg(python::script("package_bench.py"))
        .args(["--server", &server.addr().to_string()])
        .arg("--old-python")
        .arg(&old_python)
        .args(["--list-seconds", &args.list_seconds.to_string()])
        .args(["--instances", &args.instances.to_string()])
        .args(["--old-instances", &args.old_instances.to_string()])
        .args(["--beat-interval", &args.beat_interval.to_string()])
        .args(["--health-wait", &args.health_wait.to_string()])
        .args(["--changes", &args.changes.to_string()])
        .args(["--old-changes", &args.old_changes.to_string()])
        .arg("--log-dir")
        .arg(log_dir.path())
        .status()?;
    if !status.success() {
        return Err(format!("package_bench.py failed: {status}").into());
    }
    Ok(())
}

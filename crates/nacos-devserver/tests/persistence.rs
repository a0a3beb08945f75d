//! Persistent instances and service definitions survive a restart, a dropped handle that never
//! shut down, and a `kill -9` of the standalone binary; ephemeral instances do not.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::{agent, request, Api};
use nacos_devserver::DevServer;

fn on(dir: &std::path::Path) -> Api {
    Api::with(DevServer::builder().data_dir(dir))
}

fn write_state(api: &Api) {
    api.register(
        "svc",
        "10.0.0.1",
        80,
        &[("ephemeral", "false"), ("metadata", "k=v"), ("weight", "3")],
    );
    api.register(
        "svc",
        "10.0.0.2",
        80,
        &[("ephemeral", "false"), ("clusterName", "c1")],
    );
    // Ephemeral: in a service of its own, as 2.x holds one kind of instance per service.
    api.register("passing", "10.0.0.3", 80, &[]);
    api.register(
        "other",
        "10.0.0.4",
        80,
        &[
            ("ephemeral", "false"),
            ("namespaceId", "dev"),
            ("groupName", "G"),
        ],
    );
    api.ok(
        "POST",
        "/nacos/v1/ns/service",
        &[
            ("serviceName", "defined"),
            ("protectThreshold", "0.4"),
            ("metadata", "owner=me"),
        ],
    );
    // Changed, then removed: what is on disk must follow.
    api.register("svc", "10.0.0.5", 80, &[("ephemeral", "false")]);
    api.ok(
        "DELETE",
        "/nacos/v1/ns/instance",
        &[
            ("serviceName", "svc"),
            ("ip", "10.0.0.5"),
            ("port", "80"),
            ("ephemeral", "false"),
        ],
    );
    api.ok(
        "PUT",
        "/nacos/v1/ns/instance",
        &[
            ("serviceName", "svc"),
            ("ip", "10.0.0.2"),
            ("port", "80"),
            ("clusterName", "c1"),
            ("weight", "7"),
        ],
    );
}

fn check_state(api: &Api) {
    let svc = api.list("svc", &[]);
    let found: Vec<_> = svc
        .hosts
        .iter()
        .map(|h| {
            (
                h.ip.as_str(),
                h.cluster_name.as_str(),
                h.weight,
                h.ephemeral,
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("10.0.0.1", "DEFAULT", 3.0, false),
            ("10.0.0.2", "c1", 7.0, false)
        ],
        "persistent instances are back"
    );
    assert!(
        api.list("passing", &[]).hosts.is_empty(),
        "the ephemeral instance is not back"
    );
    assert_eq!(svc.hosts[0].metadata["k"], "v");
    let other = api.list("other", &[("namespaceId", "dev"), ("groupName", "G")]);
    assert_eq!(other.hosts.len(), 1);
    let defined = api.json("GET", "/nacos/v1/ns/service", &[("serviceName", "defined")]);
    assert!((defined["protectThreshold"].as_f64().unwrap() - 0.4).abs() < 1e-6);
    assert_eq!(defined["metadata"]["owner"], "me");
}

/// State written by one server is there after a clean restart on the same directory.
#[test]
fn survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let api = on(dir.path());
    write_state(&api);
    api.server.shutdown().ok();
    check_state(&on(dir.path()));
}

/// A handle that is never dropped (no shutdown code runs) loses nothing either.
#[test]
fn survives_a_handle_that_never_shut_down() {
    let dir = tempfile::tempdir().unwrap();
    let api = on(dir.path());
    write_state(&api);
    // Simulates a crash: the old server's shutdown never runs.
    std::mem::forget(api);
    check_state(&on(dir.path()));
}

/// Without a data directory nothing is written and a new server starts empty.
#[test]
fn without_a_data_dir_everything_is_in_memory() {
    let api = Api::start();
    write_state(&api);
    drop(api);
    assert!(Api::start().list("svc", &[]).hosts.is_empty());
}

struct Process {
    child: Child,
    base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary on a free port and waits for its "listening on" line.
fn spawn(dir: &std::path::Path) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nacos-devserver"))
        .args(["--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines.next().expect("a listening line").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split([',', ' ']).next().unwrap().to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Process { child, base }
}

/// `kill -9` of the standalone binary right after its answers loses nothing it acknowledged.
#[test]
fn survives_kill_9_of_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let mut process = spawn(dir.path());
    let agent = agent();
    for i in 0..20 {
        let ip = format!("10.1.0.{i}");
        let (status, body) = request(
            &agent,
            &process.base,
            "POST",
            "/nacos/v1/ns/instance",
            &[
                ("serviceName", "svc"),
                ("ip", &ip),
                ("port", "80"),
                ("ephemeral", "false"),
            ],
            false,
        );
        assert_eq!((status, body.as_str()), (200, "ok"));
    }
    process.child.kill().unwrap(); // SIGKILL on Unix
    process.child.wait().unwrap();
    let process = spawn(dir.path());
    let (status, body) = request(
        &agent,
        &process.base,
        "GET",
        "/nacos/v1/ns/instance/list",
        &[("serviceName", "svc")],
        false,
    );
    assert_eq!(status, 200);
    let info: nacos_naming::ServiceInfo = serde_json::from_str(&body).unwrap();
    assert_eq!(info.hosts.len(), 20);
}

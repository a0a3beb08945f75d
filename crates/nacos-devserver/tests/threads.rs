//! Stopping a server joins every thread it started.
//!
//! Only the server's own threads are counted, found by name: the test's HTTP client starts
//! threads of its own (ureq resolves each new connection on a detached thread when a timeout is
//! set), and one of those may still be running, or exiting, when the count is taken.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{wait_until, Api};
use nacos_devserver::DevServer;

/// The name every thread of the server carries (a thread name is at most 15 bytes on Linux).
const SERVER_THREAD: &str = "nacos-devserver";

/// Threads of this process named like the server's that still run user code.
#[cfg(target_os = "linux")]
fn server_threads() -> usize {
    nacos_test_support::running_threads(SERVER_THREAD)
        .expect("Linux tells a process's threads")
        .len()
}

/// Dropping the handle, or shutting it down, leaves no thread of the server behind, and the
/// same port can be bound again at once (a restart on the same address).
#[cfg(target_os = "linux")]
#[test]
fn stopping_joins_every_thread_and_frees_the_port() {
    // A thread the server does not own, alive through every count below, as the client's
    // resolver threads may be: it must not be counted.
    let (release, parked) = mpsc::channel::<()>();
    let bystander = std::thread::spawn(move || parked.recv());
    assert_eq!(server_threads(), 0);

    let api = Api::with(DevServer::builder().worker_threads(3));
    api.register("svc", "10.0.0.1", 80, &[]);
    api.list("svc", &[("udpPort", "9"), ("clientIP", "127.0.0.1")]);
    // A new thread takes its name when it first runs, which on a loaded machine may be later.
    wait_until("the workers run", Duration::from_secs(10), || {
        server_threads() >= 3
    });
    let addr = api.server.addr();
    drop(api);
    assert_eq!(server_threads(), 0, "joined by the time drop returns");

    let again = Api::with(DevServer::builder().bind(addr));
    assert_eq!(again.server.addr(), addr);
    assert!(
        again.list("svc", &[]).hosts.is_empty(),
        "ephemeral state is gone"
    );
    let Api { server, .. } = again;
    server.shutdown().unwrap();
    assert_eq!(server_threads(), 0, "joined by the time shutdown returns");

    drop(release);
    bystander.join().unwrap().unwrap_err();
}

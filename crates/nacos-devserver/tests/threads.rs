//! Stopping a server joins every thread it started (its own test binary, so no other test's
//! threads are counted).

mod common;

use common::Api;
use nacos_devserver::DevServer;

#[cfg(target_os = "linux")]
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

/// Dropping the handle, or shutting it down, leaves no thread of the server behind, and the
/// same port can be bound again at once (a restart on the same address).
#[cfg(target_os = "linux")]
#[test]
fn stopping_joins_every_thread_and_frees_the_port() {
    let before = threads();
    let api = Api::with(DevServer::builder().worker_threads(3));
    api.register("svc", "10.0.0.1", 80, &[]);
    api.list("svc", &[("udpPort", "9"), ("clientIP", "127.0.0.1")]);
    assert!(threads() > before);
    let addr = api.server.addr();
    drop(api);
    assert_eq!(threads(), before, "joined by the time drop returns");

    let again = Api::with(DevServer::builder().bind(addr));
    assert_eq!(again.server.addr(), addr);
    assert!(
        again.list("svc", &[]).hosts.is_empty(),
        "ephemeral state is gone"
    );
    let Api { server, .. } = again;
    server.shutdown().unwrap();
    assert_eq!(threads(), before, "joined by the time shutdown returns");
}

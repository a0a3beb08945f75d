//! The client's threads: few, named, and all gone after `stop_subscribe`, `shutdown` or the
//! last clone dropped. Tests here count every client thread of the process, so they take
//! turns.
//!
//! Threads are counted by name, and the HTTP library's name lookups run on short-lived
//! threads that inherit the name of the thread connecting (a beat or poll thread): so "gone"
//! is awaited for a moment rather than asserted at once. The client's own threads are joined
//! before the calls return.

mod live_support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use live_support::{assert_no_client_threads, client_threads, fast_client, Events};
use nacos_devserver::DevServer;
use nacos_naming::{Error, NamingClient, ServiceEvent};
use nacos_test_support::unique;

/// One test at a time: they count the threads of the whole process.
fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// A client with a subscription (poll, push and notify threads) and kept-alive instances
/// (beat threads).
fn busy_client(
    server: &DevServer,
    builder: impl FnOnce(nacos_naming::NamingClientBuilder) -> nacos_naming::NamingClientBuilder,
) -> (NamingClient, String) {
    let client = builder(fast_client(&server.addr().to_string()))
        .build()
        .unwrap();
    let service = unique("threads");
    let events = Events::subscribe(&client, &service, None);
    for port in 1..=5 {
        client
            .add_naming_instance(&service, "10.3.0.1", port)
            .send()
            .unwrap();
    }
    events.wait("every instance", |e| {
        e.last().is_some_and(|e| e.service.hosts.len() == 5)
    });
    let threads = client_threads();
    for name in ["nacos-poll", "nacos-push", "nacos-notify", "nacos-beat-0"] {
        assert!(threads.iter().any(|t| t == name), "{name} in {threads:?}");
    }
    (client, service)
}

/// No client thread before the first subscription or kept-alive instance; `stop_subscribe`
/// joins the subscription threads before it returns, and a new subscription starts them again.
#[test]
fn stop_subscribe_leaves_no_thread() {
    let _turn = turn();
    let server = DevServer::builder().start().unwrap();
    let client = fast_client(&server.addr().to_string()).build().unwrap();
    client.list_naming_instance("x").send().unwrap();
    assert_no_client_threads();
    for _ in 0..2 {
        let events = Events::new();
        client
            .subscribe(unique("stop"), events.listener())
            .send()
            .unwrap();
        events.nth(1);
        assert!(!client_threads().is_empty());
        client.stop_subscribe();
        assert_no_client_threads();
    }
}

/// `shutdown` joins every thread, deregisters what it kept alive when configured to, and
/// refuses new background work afterwards.
#[test]
fn shutdown_leaves_no_thread_and_can_deregister() {
    let _turn = turn();
    let server = DevServer::builder().start().unwrap();
    for deregister in [false, true] {
        let (client, service) = busy_client(&server, |b| b.deregister_on_shutdown(deregister));
        let other = client.clone();
        client.shutdown().unwrap();
        assert_no_client_threads();
        let left = other
            .list_naming_instance(&service)
            .send()
            .unwrap()
            .hosts
            .len();
        assert_eq!(left, if deregister { 0 } else { 5 });
        let refused = other.subscribe(&service, |_: &ServiceEvent| {}).send();
        assert!(matches!(refused, Err(Error::Shutdown)), "{refused:?}");
        let refused = other.add_naming_instance(&service, "10.3.0.1", 9).send();
        assert!(matches!(refused, Err(Error::Shutdown)), "{refused:?}");
    }
}

/// Dropping the last clone stops and joins every thread, also when the last clone is dropped
/// by a listener, on the notify thread itself.
#[test]
fn the_last_drop_leaves_no_thread() {
    let _turn = turn();
    let server = DevServer::builder().start().unwrap();
    let (client, _) = busy_client(&server, |b| b);
    let clone = client.clone();
    drop(client);
    assert!(!client_threads().is_empty(), "a clone keeps the client");
    drop(clone);
    assert_no_client_threads();

    let (client, service) = busy_client(&server, |b| b);
    let holder: Arc<Mutex<Option<NamingClient>>> = Arc::new(Mutex::new(None));
    let in_listener = holder.clone();
    client
        .subscribe(&service, move |event: &ServiceEvent| {
            if event.added.iter().any(|i| i.port == 99) {
                // The listener lets go of the only handle left.
                drop(in_listener.lock().unwrap().take());
            }
        })
        .send()
        .unwrap();
    *holder.lock().unwrap() = Some(client);
    drop(holder);
    // Another client makes the change that the listener reacts to.
    let writer = fast_client(&server.addr().to_string())
        .udp_push(false)
        .build()
        .unwrap();
    writer
        .add_naming_instance(&service, "10.3.0.1", 99)
        .heartbeat(false)
        .send()
        .unwrap();
    // The notify thread that dropped it ends on its own, just after.
    assert_no_client_threads();
}

/// Many instances, few threads: 300 kept-alive instances of one client need no more than the
/// 4 beat threads, and none of them lapses over three expire periods.
#[test]
fn many_instances_need_few_threads() {
    let _turn = turn();
    let server = DevServer::builder()
        // 300 beats a second, with a health timeout of four missed beats: a loaded machine
        // may delay a beat, but an instance only turns unhealthy if its beats stop.
        .beat_interval(Duration::from_millis(1000))
        .health_timeout(Duration::from_millis(4000))
        .expire_timeout(Duration::from_millis(6000))
        .start()
        .unwrap();
    let client = NamingClient::builder()
        .server_addresses(server.addr().to_string())
        .udp_push(false)
        .build()
        .unwrap();
    let service = unique("many");
    for port in 1..=300 {
        client
            .add_naming_instance(&service, "10.3.0.2", port)
            .send()
            .unwrap();
    }
    // Longer than the health timeout: an instance whose beats stopped would show.
    let end = Instant::now() + Duration::from_millis(5000);
    let mut names = BTreeSet::new();
    while Instant::now() < end {
        let hosts = client.list_naming_instance(&service).send().unwrap().hosts;
        let healthy = hosts.iter().filter(|h| h.healthy).count();
        assert_eq!((hosts.len(), healthy), (300, 300));
        // By name: the HTTP library's short-lived name-lookup threads take their parent's.
        names.extend(client_threads());
        std::thread::sleep(Duration::from_millis(50));
    }
    let most: BTreeSet<String> = (0..4).map(|i| format!("nacos-beat-{i}")).collect();
    assert!(!names.is_empty() && names.is_subset(&most), "{names:?}");
    drop(client);
    assert_no_client_threads();
}

//! Automatic heartbeats against real servers: nacos-devserver with millisecond timeouts, and
//! rnacos with its shortest.

mod live_support;

use std::time::{Duration, Instant};

use live_support::{addresses, WAIT};
use nacos_devserver::DevServer;
use nacos_naming::{Instance, NamingClient};
use nacos_test_support::{skip_unless_rnacos, unique, wait_until, Rnacos};

fn devserver(beat_interval: Duration, health: Duration, expire: Duration) -> DevServer {
    DevServer::builder()
        .beat_interval(beat_interval)
        .health_timeout(health)
        .expire_timeout(expire)
        .start()
        .unwrap()
}

/// A client that takes its beat interval from the server.
fn client(servers: &str) -> NamingClient {
    NamingClient::builder()
        .server_addresses(servers)
        .timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_millis(500))
        .udp_push(false)
        .build()
        .unwrap()
}

fn listed(client: &NamingClient, service: &str) -> Vec<Instance> {
    client
        .list_naming_instance(service)
        .send()
        .map(|s| s.hosts)
        .unwrap_or_default()
}

/// Watches `service` for `period` and returns the instances seen unhealthy or missing.
fn lapses(
    client: &NamingClient,
    service: &str,
    expected: &[&str],
    period: Duration,
) -> Vec<String> {
    let mut lapses = Vec::new();
    let end = Instant::now() + period;
    while Instant::now() < end {
        let hosts = listed(client, service);
        for address in expected {
            match hosts.iter().find(|h| h.address() == *address) {
                Some(h) if h.healthy => {}
                Some(_) => lapses.push(format!("{address} unhealthy")),
                None => lapses.push(format!("{address} missing")),
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    lapses
}

/// An added ephemeral instance stays registered and healthy over many expire periods, beaten
/// at the interval the server asks for (the default before its first answer would be 5 s,
/// ten times the expire timeout); one added with `.heartbeat(false)` expires.
#[test]
fn keeps_ephemeral_instances_alive_at_the_servers_interval() {
    let server = devserver(
        Duration::from_millis(100),
        Duration::from_millis(600),
        Duration::from_millis(900),
    );
    let client = client(&server.addr().to_string());
    let service = unique("alive");
    client
        .add_naming_instance(&service, "10.2.0.1", 1)
        .send()
        .unwrap();
    client
        .add_naming_instance(&service, "10.2.0.1", 2)
        .heartbeat(false)
        .send()
        .unwrap();
    assert!(
        wait_until(WAIT, || listed(&client, &service).len() == 1),
        "the unbeaten instance expires"
    );
    let lapses = lapses(
        &client,
        &service,
        &["10.2.0.1:1"],
        Duration::from_millis(1500),
    );
    assert!(lapses.is_empty(), "{lapses:?}");
}

/// `.heartbeat_interval(d)` overrides the server's interval: with the server asking for 5 s
/// beats and an 800 ms health timeout, only the instance beating every 100 ms stays healthy
/// (so the other is beaten at the 5 s the server asked for, not faster).
#[test]
fn an_instance_interval_overrides_the_servers() {
    let server = devserver(
        Duration::from_secs(5),
        Duration::from_millis(800),
        Duration::from_secs(60),
    );
    let client = client(&server.addr().to_string());
    let service = unique("override");
    client
        .add_naming_instance(&service, "10.2.0.2", 1)
        .heartbeat_interval(Duration::from_millis(100))
        .send()
        .unwrap();
    client
        .add_naming_instance(&service, "10.2.0.2", 2)
        .send()
        .unwrap();
    assert!(wait_until(WAIT, || {
        let hosts = listed(&client, &service);
        hosts.iter().any(|h| h.port == 2 && !h.healthy)
    }));
    let lapses = lapses(
        &client,
        &service,
        &["10.2.0.2:1"],
        Duration::from_millis(1000),
    );
    assert!(lapses.is_empty(), "{lapses:?}");
}

/// `remove_naming_instance` stops the beats for good: on a server that registers instances
/// again from beats, a late beat would bring it back.
#[test]
fn remove_stops_the_beats() {
    let server = devserver(
        Duration::from_millis(50),
        Duration::from_millis(300),
        Duration::from_millis(600),
    );
    let client = client(&server.addr().to_string());
    let service = unique("removed");
    for port in 1..=20 {
        client
            .add_naming_instance(&service, "10.2.0.3", port)
            .send()
            .unwrap();
    }
    assert_eq!(listed(&client, &service).len(), 20);
    for port in 1..=20 {
        client
            .remove_naming_instance(&service, "10.2.0.3", port)
            .send()
            .unwrap();
    }
    let end = Instant::now() + Duration::from_millis(500);
    while Instant::now() < end {
        assert_eq!(addresses(&listed(&client, &service)), Vec::<String>::new());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A restarted server (ephemeral data lost) has every instance the client registered back
/// within two beat intervals, with its metadata, weight and cluster, including a change
/// `modify_naming_instance` made after the registration.
#[test]
fn a_restarted_server_gets_every_instance_back_within_two_beat_intervals() {
    let interval = Duration::from_millis(500);
    let server = devserver(interval, Duration::from_secs(15), Duration::from_secs(30));
    let addr = server.addr();
    let client = client(&addr.to_string());
    let service = unique("restart");
    for port in 1..=20u16 {
        client
            .add_naming_instance(&service, "10.2.0.4", port)
            .cluster_name("c1")
            .weight(1.5)
            .metadata([("port", port.to_string())])
            .send()
            .unwrap();
    }
    client
        .modify_naming_instance(&service, "10.2.0.4", 7)
        .cluster_name("c1")
        .metadata([("port", "7"), ("changed", "yes")])
        .send()
        .unwrap();
    // The first beats (sent at once) learn the server's interval before it goes.
    std::thread::sleep(interval);

    server.shutdown().unwrap();
    let _server = DevServer::builder()
        .bind(addr.to_string())
        .beat_interval(interval)
        .start()
        .unwrap();
    let restarted = Instant::now();
    assert!(wait_until(WAIT, || listed(&client, &service).len() == 20));
    let took = restarted.elapsed();
    // Two intervals, and a little for a busy machine to schedule threads.
    assert!(
        took <= 2 * interval + Duration::from_millis(300),
        "{took:?}"
    );
    for instance in listed(&client, &service) {
        assert_eq!(instance.cluster_name, "c1");
        assert_eq!(instance.weight, 1.5);
        assert_eq!(instance.metadata["port"], instance.port.to_string());
        let changed = instance.metadata.get("changed").map(String::as_str);
        assert_eq!(
            changed,
            (instance.port == 7).then_some("yes"),
            "{instance:?}"
        );
    }
}

/// rnacos: a beaten instance stays healthy past its health timeout while an unbeaten one
/// turns unhealthy, and after a restart (rnacos keeps no ephemeral instance) it is back.
#[test]
fn keeps_instances_alive_on_rnacos_across_a_restart() {
    skip_unless_rnacos!();
    let mut server = Rnacos::builder()
        .health_timeout_secs(1)
        .instance_timeout_secs(30)
        .start()
        .unwrap();
    let client = NamingClient::builder()
        .server_addresses(server.address())
        .heartbeat_interval(Duration::from_millis(300))
        .udp_push(false)
        .build()
        .unwrap();
    let service = unique("rnacos-alive");
    client
        .add_naming_instance(&service, "10.2.0.5", 1)
        .metadata([("k", "v")])
        .send()
        .unwrap();
    client
        .add_naming_instance(&service, "10.2.0.5", 2)
        .heartbeat(false)
        .send()
        .unwrap();
    assert!(wait_until(WAIT, || {
        listed(&client, &service)
            .iter()
            .any(|h| h.port == 2 && !h.healthy)
    }));
    let lapses = lapses(&client, &service, &["10.2.0.5:1"], Duration::from_secs(1));
    assert!(lapses.is_empty(), "{lapses:?}");

    server.restart().unwrap();
    assert!(wait_until(WAIT, || {
        listed(&client, &service)
            .iter()
            .any(|h| h.port == 1 && h.metadata.get("k").map(String::as_str) == Some("v"))
    }));
}

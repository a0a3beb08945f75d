//! Failover that loses nothing: one client over three devservers with one stopped in the middle
//! of a stream of calls, and over a three-node rnacos cluster with one node killed.

mod live_support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use live_support::Events;
use nacos_devserver::DevServer;
use nacos_naming::{Error, NamingClient};
use nacos_test_support::{skip_unless_rnacos, unique, wait_until, Rnacos};

/// The instances a server lists for `service`, as `port`s (`None` when it does not answer).
fn ports_on(server: &str, service: &str) -> Option<BTreeSet<u16>> {
    let client = NamingClient::builder()
        .server_addresses(server)
        .udp_push(false)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let hosts = client.list_naming_instance(service).send().ok()?.hosts;
    Some(hosts.iter().map(|h| h.port).collect())
}

/// 5,000 calls from four threads (registrations kept alive by heartbeats, explicit beats,
/// lists, deregistrations) over three independent devservers, one of them stopped half-way:
/// no call fails, and every instance still registered ends up listed by the surviving
/// servers (the beats bring back what the stopped one held).
#[test]
fn one_of_three_devservers_stops_mid_stream_and_no_call_fails() {
    let mut servers: Vec<Option<DevServer>> =
        (0..3).map(|_| Some(DevServer::start().unwrap())).collect();
    let addresses: Vec<String> = servers
        .iter()
        .map(|s| s.as_ref().unwrap().addr().to_string())
        .collect();
    let client = NamingClient::builder()
        .server_addresses(addresses.join(","))
        .timeout(Duration::from_secs(3))
        .connect_timeout(Duration::from_millis(500))
        .heartbeat_interval(Duration::from_millis(500))
        .udp_push(false)
        .build()
        .unwrap();
    let service = unique("stream");
    let calls = Arc::new(AtomicUsize::new(0));
    let registered = Arc::new(Mutex::new(BTreeSet::<u16>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    const TOTAL: usize = 5000;

    let workers: Vec<_> = (0..4u16)
        .map(|worker| {
            let (client, service) = (client.clone(), service.clone());
            let (calls, registered, failures) =
                (calls.clone(), registered.clone(), failures.clone());
            std::thread::spawn(move || {
                let mut mine: Vec<u16> = Vec::new();
                let mut next_port = 1000 * (worker + 1);
                loop {
                    let n = calls.fetch_add(1, Ordering::SeqCst);
                    if n >= TOTAL {
                        return;
                    }
                    let outcome = match n % 10 {
                        0 | 1 => {
                            next_port += 1;
                            let port = next_port;
                            let r = client
                                .add_naming_instance(&service, "10.5.0.1", port)
                                .metadata([("worker", worker.to_string())])
                                .send();
                            if r.is_ok() {
                                mine.push(port);
                                registered.lock().unwrap().insert(port);
                            }
                            r.map(|_| ())
                        }
                        2 if mine.len() > 5 => {
                            let port = mine.remove(0);
                            registered.lock().unwrap().remove(&port);
                            client
                                .remove_naming_instance(&service, "10.5.0.1", port)
                                .send()
                        }
                        3..=5 => client
                            .send_heartbeat(&service, "10.5.0.1", 9)
                            .send()
                            .map(|_| ()),
                        _ => client.list_naming_instance(&service).send().map(|_| ()),
                    };
                    if let Err(e) = outcome {
                        failures.lock().unwrap().push(format!("call {n}: {e}"));
                    }
                }
            })
        })
        .collect();

    assert!(wait_until(Duration::from_secs(60), || {
        calls.load(Ordering::SeqCst) >= TOTAL / 2
    }));
    servers[0].take().unwrap().shutdown().unwrap();
    for worker in workers {
        worker.join().unwrap();
    }
    let failures = failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:#?}",
        failures.len()
    );

    let expected = registered.lock().unwrap().clone();
    assert!(expected.len() > 500, "{}", expected.len());
    let survivors = &addresses[1..];
    let mut missing = BTreeSet::new();
    let all_back = wait_until(Duration::from_secs(20), || {
        let mut listed = BTreeSet::new();
        for server in survivors {
            listed.extend(ports_on(server, &service).unwrap_or_default());
        }
        missing = expected.difference(&listed).copied().collect();
        missing.is_empty()
    });
    assert!(all_back, "not listed by the surviving servers: {missing:?}");
}

/// A three-node rnacos cluster with one node killed: lists never fail, every registered
/// instance stays registered through the cluster's recovery (beats go on), writes succeed
/// again once it has recovered, and the writes refused in between carry the server's reason.
#[test]
fn a_three_node_rnacos_cluster_loses_a_node() {
    skip_unless_rnacos!();
    let mut cluster = Rnacos::builder().start_cluster(3).unwrap();
    let client = NamingClient::builder()
        .server_addresses(cluster.addresses())
        .timeout(Duration::from_secs(3))
        .connect_timeout(Duration::from_millis(500))
        .heartbeat_interval(Duration::from_millis(500))
        .poll_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    // Several services, so that some are likely owned by the node that is killed.
    let services: Vec<String> = (0..6).map(|_| unique("cluster")).collect();
    let ports: BTreeSet<u16> = (1..=5).collect();
    for service in &services {
        for port in &ports {
            client
                .add_naming_instance(service, "10.5.0.2", *port)
                .send()
                .unwrap();
        }
    }
    let service = &services[0];
    let events = Events::subscribe(&client, service, None);
    events.wait("every instance", |e| {
        e.last()
            .is_some_and(|e| e.service.hosts.len() == ports.len())
    });

    // Ephemeral instances reach the other nodes a moment after the write.
    for node in cluster.nodes() {
        let address = node.address();
        for service in &services {
            assert!(
                wait_until(Duration::from_secs(20), || {
                    ports_on(&address, service).is_some_and(|listed| ports.is_subset(&listed))
                }),
                "node {address} never listed every instance of {service}"
            );
        }
    }

    cluster.node(1).kill();
    let killed = Instant::now();
    let mut refusals = Vec::new();
    // Writes count as recovered after 5 s without a refusal, watched past the 10 to 18 s the
    // cluster takes to recover.
    let mut streak_since: Option<Instant> = None;
    let recovered = |streak_since: Option<Instant>| {
        streak_since.is_some_and(|t| t.elapsed() >= Duration::from_secs(5))
            && killed.elapsed() >= Duration::from_secs(25)
    };
    let mut probe = 100u16;
    while !recovered(streak_since) {
        assert!(
            killed.elapsed() < Duration::from_secs(90),
            "writes never recovered: {refusals:#?}"
        );
        probe += 1;
        let mut refused = false;
        for service in &services {
            let listed: BTreeSet<u16> = client
                .list_naming_instance(service)
                .send()
                .unwrap_or_else(|e| {
                    panic!("a list failed {:?} after the kill: {e}", killed.elapsed())
                })
                .hosts
                .iter()
                .map(|h| h.port)
                .collect();
            assert!(
                ports.is_subset(&listed),
                "instances of {service} lost {:?} after the kill: {:?}",
                killed.elapsed(),
                ports.difference(&listed).collect::<Vec<_>>()
            );
            let write = client
                .add_naming_instance(service, "10.5.0.3", probe)
                .heartbeat(false)
                .send();
            if let Err(e) = write {
                match &e {
                    Error::Server { message, .. } if !message.trim().is_empty() => {}
                    other => panic!("a refusal without the server's reason: {other}"),
                }
                refused = true;
                refusals.push(format!("{:?}: {e}", killed.elapsed()));
            }
        }
        if refused {
            streak_since = None;
        } else {
            streak_since.get_or_insert_with(Instant::now);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "{} writes refused after the kill, the last {:?}",
        refusals.len(),
        refusals.last()
    );
    // The subscription went on too: the probes written after the recovery reach it.
    events.wait("a probe instance", |e| {
        e.last()
            .is_some_and(|e| e.service.hosts.iter().any(|h| h.ip == "10.5.0.3"))
    });
}

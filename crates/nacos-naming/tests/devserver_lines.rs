//! Every seed call and `list_services` against the devserver in each of its server-line modes
//! (1.4, 2, 3.1, 3.2), with no setting: the client finds each line's API by itself; and a
//! rolling upgrade of three devservers from 2.x to 3.2.

#[path = "common/ips_seen.rs"]
mod ips_seen;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use ips_seen::IpsSeen;
use nacos_devserver::{DevServer, NacosVersion};
use nacos_naming::NamingClient;
use nacos_test_support::expect_within;

/// Register, list, get, modify, beat and deregister work on every line; `list_services` works
/// wherever a V1 service list is left and names the line where it is not (3.2, no admin).
#[test]
fn every_call_works_on_every_line() {
    for version in [
        NacosVersion::V1_4,
        NacosVersion::V2,
        NacosVersion::V3_1,
        NacosVersion::V3_2,
    ] {
        let server = DevServer::builder().nacos_version(version).start().unwrap();
        let c = NamingClient::new(server.addr().to_string()).unwrap();
        let add = c
            .add_naming_instance("svc", "10.0.0.1", 80)
            .cluster_name("c1");
        add.metadata([("k", "v")]).heartbeat(false).send().unwrap();
        let listed = c.list_naming_instance("svc").send().unwrap();
        assert_eq!(listed.hosts.len(), 1, "{version:?}");
        c.modify_naming_instance("svc", "10.0.0.1", 80)
            .cluster_name("c1")
            .weight(2.0)
            .send()
            .unwrap();
        let got = c
            .get_naming_instance("svc", "10.0.0.1", 80)
            .cluster_name("c1")
            .send()
            .unwrap();
        assert_eq!(
            (got.weight, got.metadata["k"].as_str()),
            (2.0, "v"),
            "{version:?}"
        );
        let beat = c
            .send_heartbeat("svc", "10.0.0.1", 80)
            .cluster_name("c1")
            .send();
        assert!(!beat.unwrap().instance_not_found(), "{version:?}");
        match (version, c.list_services().send()) {
            (NacosVersion::V3_2, Err(e)) => assert!(e.to_string().contains("Nacos 3.2+"), "{e}"),
            (_, services) => assert_eq!(services.unwrap().services, ["svc"], "{version:?}"),
        }
        c.remove_naming_instance("svc", "10.0.0.1", 80)
            .cluster_name("c1")
            .send()
            .unwrap();
        assert!(c
            .list_naming_instance("svc")
            .send()
            .unwrap()
            .hosts
            .is_empty());
    }
}

/// One node of a rolling upgrade: a devserver on a port of its own, with a data directory that
/// outlives its restarts.
struct Node {
    port: u16,
    data: tempfile::TempDir,
    server: Option<DevServer>,
}

impl Node {
    fn start(version: NacosVersion) -> Node {
        let data = tempfile::tempdir().unwrap();
        let server = Node::builder(&data, version)
            .bind("127.0.0.1:0")
            .start()
            .unwrap();
        Node {
            port: server.addr().port(),
            data,
            server: Some(server),
        }
    }

    /// Long health timeouts: the copies made by `replicate` get no beats, as a peer's copy
    /// gets none in a real cluster, and must stay healthy for the test's few seconds.
    fn builder(
        data: &tempfile::TempDir,
        version: NacosVersion,
    ) -> nacos_devserver::DevServerBuilder {
        DevServer::builder()
            .nacos_version(version)
            .data_dir(data.path())
            .health_timeout(Duration::from_secs(60))
            .expire_timeout(Duration::from_secs(120))
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the server and starts it again on the same port and data, as `version`.
    fn stop(&mut self) {
        self.server.take().unwrap().shutdown().unwrap();
    }

    fn start_again_as(&mut self, version: NacosVersion) {
        let server = Node::builder(&self.data, version)
            .bind(self.address().as_str())
            .start()
            .unwrap();
        self.server = Some(server);
    }

    /// A client of this node alone, that sends no beats.
    fn direct(&self) -> NamingClient {
        NamingClient::new(self.address()).unwrap()
    }

    /// The ips this node lists for `service`, sorted.
    fn ips(&self, service: &str) -> Vec<String> {
        let listed = self.direct().list_naming_instance(service).send().unwrap();
        let mut ips: Vec<String> = listed.hosts.iter().map(|h| h.ip.clone()).collect();
        ips.sort();
        ips
    }
}

/// What a Nacos cluster's replication does and the devserver, one node, does not: the test
/// copies each registration to every node, and a restarted node gets the ephemeral instances
/// from its peers (persistent ones it reads from its own data directory).
fn replicate(nodes: &[Node], service: &str, ip: &str, ephemeral: bool) {
    for node in nodes.iter().filter(|n| n.server.is_some()) {
        node.direct()
            .add_naming_instance(service, ip, 1)
            .ephemeral(ephemeral)
            .heartbeat(false)
            .send()
            .unwrap();
    }
}

fn unreplicate(nodes: &[Node], service: &str, ip: &str) {
    for node in nodes.iter().filter(|n| n.server.is_some()) {
        node.direct()
            .remove_naming_instance(service, ip, 1)
            .send()
            .unwrap();
    }
}

/// Three devservers on 2.x under calls, beats and a subscription, each stopped and started
/// again on its port as 3.2, one at a time: no call fails, no registered instance is lost
/// (the persistent one survives each restart in the node's data directory), and the
/// subscriber sees exactly the changes made, in order.
#[test]
fn a_rolling_upgrade_of_devservers_loses_nothing() {
    let service = "rolling";
    const KEPT: &str = "rolling-kept";
    let mut nodes: Vec<Node> = (0..3).map(|_| Node::start(NacosVersion::V2)).collect();
    let addresses: Vec<String> = nodes.iter().map(Node::address).collect();
    let c = NamingClient::builder()
        .server_addresses(addresses.join(","))
        .heartbeat_interval(Duration::from_millis(50))
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();

    // A persistent instance and an ephemeral one the client beats, before subscribing.
    // A persistent instance (in a service of its own: one kind per service from 2.x on) and an
    // ephemeral one the client beats, before subscribing.
    c.add_naming_instance(KEPT, "10.0.0.1", 1)
        .ephemeral(false)
        .send()
        .unwrap();
    replicate(&nodes, KEPT, "10.0.0.1", false);
    c.add_naming_instance(service, "10.0.0.2", 1)
        .send()
        .unwrap();
    replicate(&nodes, service, "10.0.0.2", true);

    let events = IpsSeen::subscribe(&c, service);
    let seen = |want: &[&str]| events.wait_for(want);
    seen(&["10.0.0.2"]);

    // The stream of calls, from another thread, for the whole upgrade.
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU32::new(0));
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let caller = {
        let (c, stop, calls, failures) = (c.clone(), stop.clone(), calls.clone(), failures.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let results = [
                    c.list_naming_instance(service).send().map(drop),
                    c.get_naming_instance(service, "10.0.0.2", 1)
                        .send()
                        .map(drop),
                    c.send_heartbeat(service, "10.0.0.2", 1).send().map(drop),
                ];
                for e in results.into_iter().filter_map(Result::err) {
                    failures.lock().unwrap().push(e.to_string());
                }
                calls.fetch_add(1, Ordering::SeqCst);
            }
        })
    };

    let mut registered = vec!["10.0.0.2"];
    for (i, ip) in ["10.0.0.3", "10.0.0.4", "10.0.0.5"].into_iter().enumerate() {
        nodes[i].stop();
        // Calls made while it is down move the client to a peer that holds everything (the
        // client stays with the server that answered last).
        let before = calls.load(Ordering::SeqCst);
        expect_within(
            "calls while a node is down",
            Duration::from_secs(10),
            || calls.load(Ordering::SeqCst) >= before + 2,
        );
        nodes[i].start_again_as(NacosVersion::V3_2);
        assert_eq!(
            (nodes[i].ips(KEPT), nodes[i].ips(service)),
            (vec!["10.0.0.1".to_string()], vec![]),
            "the persistent instance is read back from the data directory"
        );
        // The peers hand the ephemeral instances over, as a cluster's replication does.
        for ip in &registered {
            replicate(&nodes[i..=i], service, ip, true);
        }
        c.add_naming_instance(service, ip, 1).send().unwrap();
        replicate(&nodes, service, ip, true);
        registered.push(ip);
        seen(&registered);
        for node in &nodes {
            assert_eq!(node.ips(service), registered, "{}", node.address());
        }
    }
    c.remove_naming_instance(service, "10.0.0.3", 1)
        .send()
        .unwrap();
    unreplicate(&nodes, service, "10.0.0.3");
    seen(&["10.0.0.2", "10.0.0.4", "10.0.0.5"]);

    stop.store(true, Ordering::SeqCst);
    caller.join().unwrap();
    assert_eq!(
        *failures.lock().unwrap(),
        Vec::<String>::new(),
        "no call fails"
    );
    let got = events.all();
    let want: Vec<Vec<&str>> = vec![
        vec!["10.0.0.2"],
        vec!["10.0.0.2", "10.0.0.3"],
        vec!["10.0.0.2", "10.0.0.3", "10.0.0.4"],
        vec!["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"],
        vec!["10.0.0.2", "10.0.0.4", "10.0.0.5"],
    ];
    assert_eq!(got, want, "exactly the changes made, in order");
    for node in &nodes {
        let server = node.server.as_ref().unwrap();
        let state =
            nacos_test_support::http(&node.address(), "GET", "/nacos/v3/admin/core/state").unwrap();
        assert!(
            state.body.contains("3.2"),
            "{}: {}",
            server.addr(),
            state.body
        );
    }
}

/// With admin credentials and auth on, 3.1 and 3.2 serve get, modify and `list_services`
/// through the v3 admin API: a disabled instance is found, a modify lays its metadata over the
/// registration's as 2.x does, and 3.2 lists services. Without credentials the same server
/// refuses every call.
#[test]
fn the_admin_api_with_auth_on() {
    for version in [NacosVersion::V3_1, NacosVersion::V3_2] {
        let server = DevServer::builder()
            .nacos_version(version)
            .auth("admin", "secret")
            .start()
            .unwrap();
        let c = NamingClient::builder()
            .server_addresses(server.addr().to_string())
            .username("admin")
            .password("secret")
            .build()
            .unwrap();
        c.add_naming_instance("svc", "10.0.0.1", 80)
            .cluster_name("c1")
            .metadata([("version", "1")])
            .heartbeat(false)
            .send()
            .unwrap();
        c.modify_naming_instance("svc", "10.0.0.1", 80)
            .cluster_name("c1")
            .enabled(false)
            .metadata([("status", "updated")])
            .send()
            .unwrap();
        let got = c
            .get_naming_instance("svc", "10.0.0.1", 80)
            .cluster_name("c1")
            .send()
            .unwrap();
        assert!(!got.enabled, "{version:?}: a disabled instance is found");
        assert_eq!(
            (got.metadata.get("version"), got.metadata.get("status")),
            (Some(&"1".to_string()), Some(&"updated".to_string())),
            "{version:?}"
        );
        assert_eq!(
            c.list_services().send().unwrap().services,
            ["svc"],
            "{version:?}"
        );

        let anonymous = NamingClient::new(server.addr().to_string()).unwrap();
        let refused = anonymous.list_naming_instance("svc").send().unwrap_err();
        assert_eq!(refused.status(), Some(403), "{version:?}: {refused}");
        // A wrong password is refused at the first login, when the client is built.
        let wrong = NamingClient::builder()
            .server_addresses(server.addr().to_string())
            .username("admin")
            .password("wrong")
            .build()
            .unwrap_err();
        assert_eq!(wrong.status(), Some(403), "{version:?}: {wrong}");
    }
}

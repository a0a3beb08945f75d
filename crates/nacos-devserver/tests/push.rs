//! UDP push to a test socket: packet format, gzip from 1024 bytes, acks, bounded resends,
//! cluster filters and forgotten subscribers.

mod common;

use std::io::Read;
use std::net::UdpSocket;
use std::time::Duration;

use common::Api;
use nacos_devserver::DevServer;
use nacos_naming::ServiceInfo;
use serde_json::Value;

/// A subscriber: a UDP socket that has listed `service` with its port.
struct Subscriber {
    socket: UdpSocket,
}

impl Subscriber {
    fn new(api: &Api, service: &str, clusters: &str) -> Subscriber {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port().to_string();
        api.list(
            service,
            &[
                ("udpPort", &port),
                ("clientIP", "127.0.0.1"),
                ("clusters", clusters),
            ],
        );
        Subscriber { socket }
    }

    /// The next datagram within `within`, decoded: (packet JSON, raw bytes, sender).
    fn next(&self, within: Duration) -> Option<(Value, Vec<u8>, std::net::SocketAddr)> {
        self.socket.set_read_timeout(Some(within)).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let (n, from) = self.socket.recv_from(&mut buf).ok()?;
        let raw = buf[..n].to_vec();
        let text = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut text = String::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_string(&mut text)
                .unwrap();
            text
        } else {
            String::from_utf8(raw.clone()).unwrap()
        };
        Some((serde_json::from_str(&text).unwrap(), raw, from))
    }

    fn expect(&self) -> (Value, Vec<u8>, std::net::SocketAddr) {
        self.next(Duration::from_secs(5)).expect("a push")
    }

    fn ack(&self, packet: &Value, to: std::net::SocketAddr) {
        let ack = serde_json::json!({
            "type": "push-ack",
            "lastRefTime": packet["lastRefTime"].to_string(),
            "data": "",
        });
        self.socket.send_to(ack.to_string().as_bytes(), to).unwrap();
    }
}

fn service_info(packet: &Value) -> ServiceInfo {
    assert_eq!(packet["type"], "dom");
    serde_json::from_str(packet["data"].as_str().unwrap()).unwrap()
}

/// A change is pushed as a `dom` packet carrying the list answer; an ack stops resends.
#[test]
fn changes_are_pushed_and_acks_stop_resends() {
    let api = Api::with(DevServer::builder().push_ack_timeout(Duration::from_millis(500)));
    let subscriber = Subscriber::new(&api, "svc", "");
    api.register("svc", "10.0.0.1", 80, &[("metadata", "k=v")]);
    let (packet, raw, from) = subscriber.expect();
    assert!(
        !raw.starts_with(&[0x1f, 0x8b]),
        "small packets are plain JSON"
    );
    assert_eq!(Some(from), api.server.push_addr());
    let info = service_info(&packet);
    assert_eq!(info.name, "svc");
    assert_eq!(info.cache_millis, 10_000);
    assert_eq!(info.hosts.len(), 1);
    assert_eq!(info.hosts[0].metadata["k"], "v");
    assert_eq!(packet["lastRefTime"].as_i64(), Some(info.last_ref_time));
    let listed = api.list("svc", &[("udpPort", "1")]);
    assert_eq!(
        (&info.hosts, &info.checksum),
        (&listed.hosts, &listed.checksum),
        "the push carries the list answer"
    );
    assert!(listed.last_ref_time >= info.last_ref_time);
    subscriber.ack(&packet, from);
    assert!(
        subscriber.next(Duration::from_millis(1200)).is_none(),
        "no resend after an ack"
    );

    api.ok(
        "DELETE",
        "/nacos/v1/ns/instance",
        &[("serviceName", "svc"), ("ip", "10.0.0.1"), ("port", "80")],
    );
    let (packet, _, from) = subscriber.expect();
    assert!(service_info(&packet).hosts.is_empty());
    subscriber.ack(&packet, from);
}

/// Without an ack a push is sent again a bounded number of times, then given up.
#[test]
fn unacked_pushes_are_resent_a_bounded_number_of_times() {
    let api = Api::with(
        DevServer::builder()
            .push_ack_timeout(Duration::from_millis(50))
            .push_max_resends(2),
    );
    let subscriber = Subscriber::new(&api, "svc", "");
    api.register("svc", "10.0.0.1", 80, &[]);
    let (first, _, _) = subscriber.expect();
    for _ in 0..2 {
        let (again, _, _) = subscriber.expect();
        assert_eq!(again, first);
    }
    assert!(
        subscriber.next(Duration::from_millis(500)).is_none(),
        "gave up after two resends"
    );
}

/// Answers of 1024 bytes and more are gzipped.
#[test]
fn large_pushes_are_gzipped() {
    let api = Api::start();
    let subscriber = Subscriber::new(&api, "svc", "");
    let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(1500));
    api.register("svc", "10.0.0.1", 80, &[("metadata", &big)]);
    let (packet, raw, from) = subscriber.expect();
    assert_eq!(&raw[..2], &[0x1f, 0x8b]);
    let info = service_info(&packet);
    assert_eq!(info.hosts[0].metadata["blob"].len(), 1500);
    subscriber.ack(&packet, from);
}

/// A subscriber gets only the clusters it listed.
#[test]
fn pushes_follow_the_cluster_filter() {
    let api = Api::start();
    let subscriber = Subscriber::new(&api, "svc", "A");
    api.register("svc", "10.0.0.1", 80, &[("clusterName", "A")]);
    let (packet, _, from) = subscriber.expect();
    subscriber.ack(&packet, from);
    api.register("svc", "10.0.0.2", 80, &[("clusterName", "B")]);
    let (packet, _, from) = subscriber.expect();
    subscriber.ack(&packet, from);
    let info = service_info(&packet);
    assert_eq!(info.clusters, "A");
    let ips: Vec<_> = info.hosts.iter().map(|h| h.ip.as_str()).collect();
    assert_eq!(ips, ["10.0.0.1"]);
}

/// A subscriber that stops listing is forgotten after the subscriber TTL.
#[test]
fn silent_subscribers_are_forgotten() {
    let api = Api::with(DevServer::builder().subscriber_ttl(Duration::from_millis(500)));
    let subscriber = Subscriber::new(&api, "svc", "");
    api.register("svc", "10.0.0.1", 80, &[]);
    let (packet, _, from) = subscriber.expect();
    subscriber.ack(&packet, from);
    // Let the TTL pass without listing again.
    std::thread::sleep(Duration::from_millis(700));
    api.register("svc", "10.0.0.2", 80, &[]);
    assert!(subscriber.next(Duration::from_millis(300)).is_none());
}

/// With push off, listing with udpPort subscribes nobody and answers the polling cache time.
#[test]
fn push_can_be_turned_off() {
    let api = Api::with(DevServer::builder().push(false));
    let subscriber = Subscriber::new(&api, "svc", "");
    assert_eq!(api.list("svc", &[("udpPort", "9")]).cache_millis, 3000);
    api.register("svc", "10.0.0.1", 80, &[]);
    assert!(subscriber.next(Duration::from_millis(300)).is_none());
}

/// Every datagram that reaches `subscriber` until it has been quiet for `quiet` (at most 10 s).
fn drain(subscriber: &Subscriber, quiet: Duration) -> Vec<Value> {
    let started = std::time::Instant::now();
    let mut packets = Vec::new();
    while let Some((packet, _, _)) = subscriber.next(quiet) {
        packets.push(packet);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no end of pushes"
        );
    }
    packets
}

/// A list call cannot aim pushes elsewhere: they go to the address it came from, whatever its
/// `clientIP` says (unless the server is told to trust it).
#[test]
fn pushes_go_to_the_address_the_list_call_came_from() {
    let api = Api::with(DevServer::builder().push_ack_timeout(Duration::from_secs(5)));
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port().to_string();
    api.list("svc", &[("udpPort", &port), ("clientIP", "127.0.0.2")]);
    let subscriber = Subscriber { socket };
    api.register("svc", "10.0.0.1", 80, &[]);
    let (packet, _, _) = subscriber.expect();
    assert_eq!(service_info(&packet).hosts.len(), 1);
}

/// However many cluster strings one address lists a service with, a change sends it a bounded
/// number of datagrams: one subscriber per (service, address), its last 4 filters, each push
/// resent a bounded number of times.
#[test]
fn cluster_strings_do_not_multiply_pushes() {
    let api = Api::with(
        DevServer::builder()
            .push_ack_timeout(Duration::from_millis(50))
            .push_max_resends(2),
    );
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port().to_string();
    for i in 0..64 {
        let clusters = format!("C{i}");
        api.list("svc", &[("udpPort", &port), ("clusters", &clusters)]);
    }
    let subscriber = Subscriber { socket };
    api.register("svc", "10.0.0.1", 80, &[("clusterName", "C63")]);
    let packets = drain(&subscriber, Duration::from_millis(500));
    assert!(!packets.is_empty());
    assert!(
        packets.len() <= 4 * 3,
        "{} datagrams for one change",
        packets.len()
    );
}

/// One IP address holds at most its cap of subscriptions: services listed beyond it are
/// answered but not pushed.
#[test]
fn an_address_holds_a_bounded_number_of_subscriptions() {
    let api = Api::with(DevServer::builder().subscriptions_per_ip(2));
    let subscribers: Vec<Subscriber> = ["a", "b", "c"]
        .iter()
        .map(|service| Subscriber::new(&api, service, ""))
        .collect();
    for service in ["a", "b", "c"] {
        api.register(service, "10.0.0.1", 80, &[]);
    }
    for (subscriber, service) in subscribers.iter().zip(["a", "b"]) {
        let (packet, _, from) = subscriber.expect();
        assert_eq!(service_info(&packet).name, service);
        subscriber.ack(&packet, from);
    }
    assert!(
        subscribers[2].next(Duration::from_millis(300)).is_none(),
        "the third subscription was refused"
    );
}

//! Push packets the client must not believe: from strangers, malformed, gzip bombs and stale
//! lists change nothing, and the receiver keeps working for the real server's pushes.

mod live_support;

use std::io::Write;
use std::net::UdpSocket;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;
use live_support::{addresses, fast_client, Events};
use nacos_devserver::DevServer;
use nacos_naming::NamingClient;
use nacos_test_support::{free_port, unique};
use serde_json::{json, Value};

/// A push of `service` listing one instance at `port`, made at `last_ref_time`.
fn push(service: &str, port: u16, last_ref_time: i64) -> Vec<u8> {
    let data = json!({
        "name": format!("DEFAULT_GROUP@@{service}"),
        "groupName": "DEFAULT_GROUP",
        "clusters": "",
        "cacheMillis": 10000,
        "hosts": [{"ip": "10.4.0.66", "port": port, "weight": 1.0, "healthy": true,
                   "enabled": true, "ephemeral": true, "clusterName": "DEFAULT",
                   "serviceName": format!("DEFAULT_GROUP@@{service}"), "metadata": {}}],
        "lastRefTime": last_ref_time,
        "checksum": "x",
    });
    serde_json::to_vec(&json!({"type": "dom", "data": data.to_string(), "lastRefTime": 42}))
        .unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The ack the client sends back, if any arrives within `wait`.
fn ack(socket: &UdpSocket, wait: Duration) -> Option<Value> {
    socket.set_read_timeout(Some(wait)).unwrap();
    let mut buffer = [0u8; 2048];
    let (len, _) = socket.recv_from(&mut buffer).ok()?;
    serde_json::from_slice(&buffer[..len]).ok()
}

/// A client that learns of changes only by push (it polls once an hour), and its UDP port.
fn push_only_client(server: &DevServer) -> (NamingClient, u16) {
    let udp_port = free_port();
    let client = fast_client(&server.addr().to_string())
        .poll_interval(Duration::from_secs(3600))
        .udp_port(udp_port)
        .build()
        .unwrap();
    (client, udp_port)
}

#[test]
fn stray_malformed_bombed_and_stale_packets_change_nothing() {
    let server = DevServer::builder().start().unwrap();
    let (client, udp_port) = push_only_client(&server);
    let service = unique("packets");
    client
        .add_naming_instance(&service, "10.4.0.1", 1)
        .send()
        .unwrap();
    let events = Events::subscribe(&client, &service, None);
    let first = events.nth(1);
    let held = first.service.last_ref_time;
    let to = ("127.0.0.1", udp_port);

    // From an address that is not a configured server: dropped, not even acked.
    let stranger = UdpSocket::bind("127.0.0.2:0").unwrap();
    stranger
        .send_to(&push(&service, 2, held + 1_000_000), to)
        .unwrap();
    assert_eq!(ack(&stranger, Duration::from_millis(300)), None);

    // From the server's address (loopback): malformed packets and a gzip bomb are dropped.
    let local = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut bomb = GzEncoder::new(Vec::new(), Compression::best());
    // 16 MiB of zeros in some 16 KiB: twice what the client inflates.
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..16 {
        bomb.write_all(&zeros).unwrap();
    }
    let bomb = bomb.finish().unwrap();
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    let mut truncated = gzip(&push(&service, 3, held + 1_000_000));
    truncated.truncate(truncated.len() / 2);
    let malformed: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        b"{\"type\":\"dom\",\"data\":\"{broken\",\"lastRefTime\":1}".to_vec(),
        vec![0x1f, 0x8b, 0xff, 0x00],
        truncated,
        bomb,
        Vec::new(),
    ];
    for packet in &malformed {
        local.send_to(packet, to).unwrap();
        assert_eq!(ack(&local, Duration::from_millis(200)), None);
    }

    // A list older than the one held: acked, so the server stops resending, not applied.
    local
        .send_to(&gzip(&push(&service, 4, held - 1)), to)
        .unwrap();
    let acked = ack(&local, Duration::from_secs(5)).expect("an ack for a stale push");
    assert_eq!(acked["type"], "push-ack");
    assert_eq!(acked["lastRefTime"], "42");

    events.assert_quiet_for(Duration::from_millis(300));
    assert_eq!(events.len(), 1);

    // The receiver still works: the real server's next push is delivered, and what it adds is
    // the only change (nothing above slipped into the held list).
    client
        .add_naming_instance(&service, "10.4.0.1", 5)
        .send()
        .unwrap();
    let next = events.nth(2);
    assert_eq!(addresses(&next.added), ["10.4.0.1:5"]);
    assert!(next.removed.is_empty() && next.modified.is_empty());
    assert_eq!(addresses(&next.service.hosts), ["10.4.0.1:1", "10.4.0.1:5"]);
}

/// A push for a service nobody subscribed is acked and ignored; a newer push from the server's
/// address is applied (what the devserver's own pushes rely on).
#[test]
fn a_newer_push_from_a_server_address_is_applied() {
    let server = DevServer::builder().start().unwrap();
    let (client, udp_port) = push_only_client(&server);
    let service = unique("newer");
    let events = Events::subscribe(&client, &service, None);
    let held = events.nth(1).service.last_ref_time;
    let local = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = ("127.0.0.1", udp_port);
    local
        .send_to(&push("not-subscribed", 1, held + 1), to)
        .unwrap();
    assert_eq!(
        ack(&local, Duration::from_secs(5)).unwrap()["type"],
        "push-ack"
    );
    local
        .send_to(&gzip(&push(&service, 7, held + 1)), to)
        .unwrap();
    assert_eq!(
        ack(&local, Duration::from_secs(5)).unwrap()["type"],
        "push-ack"
    );
    assert_eq!(addresses(&events.nth(2).added), ["10.4.0.66:7"]);
}

/// A port already in use is an error of `build()`, not a log line.
#[test]
fn a_push_port_in_use_fails_the_build() {
    let taken = UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let built = fast_client("127.0.0.1:8848").udp_port(port).build();
    assert!(
        matches!(built, Err(nacos_naming::Error::Io(_))),
        "{built:?}"
    );
}

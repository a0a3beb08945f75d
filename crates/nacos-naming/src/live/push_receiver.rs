//! The `nacos-push` thread: receives servers' UDP pushes (protocol.md §5) and acks them.
//!
//! A push is a hint from the network, so it is checked before it is believed: packets from
//! addresses that are not configured servers are dropped unanswered, gzip is inflated only up
//! to a cap (a 64 KiB datagram must not become gigabytes), anything that does not parse is
//! dropped, and a list older than the one held is acked but not applied (the registry decides
//! that, as for every list). An accepted list takes the same path as a poll's answer.
//!
//! What is checked: the source address is a configured server's (not its port: official
//! servers push from an ephemeral one), the list is of a subscribed service and clusters, and
//! its `lastRefTime` is not from the future (see the registry). What cannot be checked: a push
//! carries no signature, so any process on a server's host, or anyone who can forge a UDP
//! source address on the path, can send a list that passes. Such a list lasts until the next
//! poll of the service (its `cacheMillis`, or the configured poll interval), whose answer always
//! replaces it; turn pushes off (`udp_push(false)`) where that window matters.

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use flate2::read::GzDecoder;
use serde_json::Value;

use crate::live::subscription::{canonical_clusters, Registry};
use crate::live::worker::Worker;
use crate::service_info::ServiceInfo;

/// The largest datagram a server sends.
const RECEIVE_BUFFER: usize = 64 * 1024;

/// The largest inflated packet accepted: far above any list a 64 KiB gzip datagram carries in
/// practice (JSON compresses some 10 to 20 times), far below what a gzip bomb expands to.
pub(crate) const MAX_INFLATED: usize = 8 * 1024 * 1024;

/// How often the thread looks at its stop flag when no packet (and no wake-up) arrives.
const STOP_CHECK: Duration = Duration::from_secs(1);

/// The receiving socket, bound when the client is built so a bind error reaches the caller.
#[derive(Debug)]
pub(crate) struct PushSocket {
    socket: UdpSocket,
    /// The address the server is told to push to.
    client_ip: IpAddr,
}

impl PushSocket {
    /// Binds `port` (0: any free port) on every interface of `client_ip`'s family.
    pub(crate) fn bind(port: u16, client_ip: IpAddr) -> io::Result<PushSocket> {
        let any: IpAddr = match client_ip {
            IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        let socket = UdpSocket::bind((any, port))?;
        socket.set_read_timeout(Some(STOP_CHECK))?;
        Ok(PushSocket { socket, client_ip })
    }

    /// The port servers push to.
    pub(crate) fn port(&self) -> u16 {
        self.socket.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The ip servers push to.
    pub(crate) fn client_ip(&self) -> IpAddr {
        self.client_ip
    }

    /// Unblocks the receiving thread at once, so it sees its stop flag.
    fn wake(&self) {
        let Ok(local) = self.socket.local_addr() else {
            return;
        };
        let to: IpAddr = match local.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => Ipv4Addr::LOCALHOST.into(),
            IpAddr::V6(ip) if ip.is_unspecified() => Ipv6Addr::LOCALHOST.into(),
            ip => ip,
        };
        // If this is lost, the read timeout ends the wait within STOP_CHECK.
        let _ = self.socket.send_to(&[], (to, local.port()));
    }
}

/// The ip of the interface that routes to the first server that resolves: what a server sees
/// as this client's address. Nothing is sent: connecting a UDP socket only picks the route.
pub(crate) fn guess_client_ip<'a>(servers: impl IntoIterator<Item = (&'a str, u16)>) -> IpAddr {
    for (host, port) in servers {
        let Ok(addrs) = (host, port).to_socket_addrs() else {
            continue;
        };
        for addr in addrs {
            let any: IpAddr = match addr {
                SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
                SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
            };
            let local = UdpSocket::bind((any, 0))
                .and_then(|s| s.connect(addr).map(|()| s))
                .and_then(|s| s.local_addr());
            if let Ok(local) = local {
                return local.ip();
            }
        }
    }
    log::warn!("cannot tell this host's address from the server list; using 127.0.0.1");
    Ipv4Addr::LOCALHOST.into()
}

/// The addresses of `servers`, resolved now: pushes are accepted from these only.
pub(crate) fn resolve_servers<'a>(
    servers: impl IntoIterator<Item = (&'a str, u16)>,
) -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = servers
        .into_iter()
        .filter_map(|(host, port)| (host, port).to_socket_addrs().ok())
        .flatten()
        .map(|a| a.ip().to_canonical())
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

/// A running receiver: stopped by [`PushReceiver::stop`].
pub(crate) struct PushReceiver {
    socket: Arc<PushSocket>,
    stop: Arc<AtomicBool>,
}

impl PushReceiver {
    /// Starts the receiving thread on `socket`, accepting pushes from `servers` only.
    pub(crate) fn spawn(
        socket: Arc<PushSocket>,
        registry: Arc<Registry>,
        servers: Vec<IpAddr>,
    ) -> io::Result<(PushReceiver, Worker)> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_socket = socket.clone();
        let thread_stop = stop.clone();
        let worker = Worker::spawn("nacos-push".into(), move || {
            receive(&thread_socket.socket, &registry, &servers, &thread_stop)
        })?;
        Ok((PushReceiver { socket, stop }, worker))
    }

    /// Tells the thread to end, and wakes it.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.socket.wake();
    }
}

fn receive(socket: &UdpSocket, registry: &Registry, servers: &[IpAddr], stop: &AtomicBool) {
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    while !stop.load(Ordering::SeqCst) {
        let (len, from) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            // ICMP errors from earlier acks surface here on some systems; the socket is fine.
            // A pause keeps a socket that fails at once, again and again, from spinning.
            Err(e) => {
                log::debug!("push socket: {e}");
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        if stop.load(Ordering::SeqCst) {
            return;
        }
        if !servers.contains(&from.ip().to_canonical()) {
            log::debug!("dropped a packet from {from}, not a configured server");
            continue;
        }
        // A packet that makes the handling panic is dropped; the next one is read as usual.
        let what = || format!("a push packet from {from}");
        let ack = crate::live::worker::contain(what, || handle(&buffer[..len], registry));
        if let Ok(Some(ack)) = ack {
            if let Err(e) = socket.send_to(&ack, from) {
                log::debug!("cannot ack a push to {from}: {e}");
            }
        }
    }
}

/// Takes in one packet from a server; the ack to send back, if the packet deserves one.
pub(crate) fn handle(packet: &[u8], registry: &Registry) -> Option<Vec<u8>> {
    let packet = match decode(packet) {
        Ok(packet) => packet,
        Err(why) => {
            log::debug!("dropped a push packet: {why}");
            return None;
        }
    };
    let kind = packet.get("type").and_then(Value::as_str).unwrap_or("");
    let last_ref_time = match packet.get("lastRefTime") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let (ack, data) = match kind {
        "dom" | "service" => {
            match packet.get("data").map(service_info) {
                Some(Ok(service)) => apply(registry, service),
                Some(Err(e)) => {
                    log::debug!("dropped a push with an unreadable list: {e}");
                    return None;
                }
                None => return None,
            }
            ("push-ack", String::new())
        }
        "dump" => ("dump-ack", dump(registry)),
        _ => ("unknown-ack", String::new()),
    };
    let ack = serde_json::json!({"type": ack, "lastRefTime": last_ref_time, "data": data});
    serde_json::to_vec(&ack).ok()
}

/// The packet's JSON, inflated first when it is gzip.
fn decode(packet: &[u8]) -> Result<Value, String> {
    let inflated;
    let json = if packet.starts_with(&[0x1f, 0x8b]) {
        inflated = inflate(packet)?;
        &inflated[..]
    } else {
        packet
    };
    match serde_json::from_slice(json) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

/// Inflates gzip, refusing more than [`MAX_INFLATED`] bytes.
fn inflate(packet: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    GzDecoder::new(packet)
        .take(MAX_INFLATED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("bad gzip: {e}"))?;
    if out.len() > MAX_INFLATED {
        return Err(format!("inflates beyond {MAX_INFLATED} bytes"));
    }
    Ok(out)
}

/// `data` holds the list as a JSON string (as servers send it) or, tolerated, as an object.
fn service_info(data: &Value) -> Result<ServiceInfo, serde_json::Error> {
    match data {
        Value::String(s) => serde_json::from_str(s),
        other => serde_json::from_value(other.clone()),
    }
}

/// Applies a pushed list to the subscription it is for. A push names no namespace: when the
/// same service is subscribed in several namespaces it cannot tell which, so those are polled
/// at once instead of guessed.
fn apply(registry: &Registry, service: ServiceInfo) {
    let grouped = service.grouped_name();
    let clusters = canonical_clusters([service.clusters.as_str()]);
    let matches = |k: &crate::live::subscription::SubscriptionKey| {
        k.grouped_name() == grouped && k.clusters == clusters
    };
    match registry.keys(matches).as_slice() {
        [] => log::debug!("push for {grouped}, not subscribed"),
        [key] => {
            registry.apply(key, service, crate::live::subscription::Origin::Push);
        }
        _ => registry.poll_soon(matches),
    }
}

/// The `dump-ack` data: every held list, by `group@@service@@clusters`; empty when it would
/// not fit a datagram.
fn dump(registry: &Registry) -> String {
    let map: serde_json::Map<String, Value> = registry
        .snapshot()
        .into_iter()
        .filter_map(|(key, held)| {
            let name = format!("{}@@{}", key.grouped_name(), key.clusters);
            Some((name, serde_json::to_value(held?).ok()?))
        })
        .collect();
    let json = Value::Object(map).to_string();
    if json.len() > RECEIVE_BUFFER - 1024 {
        String::new()
    } else {
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::Instance;
    use crate::live::notifier::Listener;
    use crate::live::subscription::{ListenerId, Policy, SubscriptionKey};
    use crate::service_event::ServiceEvent;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;
    use std::sync::{mpsc, Mutex};

    const WAIT: Duration = Duration::from_secs(5);

    fn registry() -> (Arc<Registry>, mpsc::Receiver<Vec<u16>>) {
        let r = Arc::new(Registry::new(
            Policy {
                deliver_empty: true,
                poll_interval: Some(Duration::from_secs(3600)),
                max_backoff: Duration::from_secs(3600),
            },
            1,
            None,
        ));
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let listener: Arc<Listener> = Arc::new(move |e: &ServiceEvent| {
            let ports = e.service.hosts.iter().map(|h| h.port).collect();
            let _ = tx.lock().unwrap().send(ports);
        });
        r.subscribe(key(), ListenerId(1), listener, || None);
        (r, rx)
    }

    fn key() -> SubscriptionKey {
        SubscriptionKey::new(None, "G", "svc", ["b", "a"])
    }

    fn packet(ports: &[u16], at: i64) -> Vec<u8> {
        let mut s = ServiceInfo::new("svc", "G");
        s.clusters = "a,b".into();
        s.last_ref_time = at;
        s.hosts = ports
            .iter()
            .map(|p| Instance::new("10.0.0.1", *p))
            .collect();
        let data = serde_json::to_string(&s).unwrap();
        serde_json::to_vec(
            &serde_json::json!({"type": "dom", "data": data, "lastRefTime": 123456789012345_i64}),
        )
        .unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn ack(bytes: Option<Vec<u8>>) -> Value {
        serde_json::from_slice(&bytes.expect("an ack")).unwrap()
    }

    #[test]
    fn applies_plain_and_gzip_pushes_and_acks_them() {
        let (r, rx) = registry();
        let a = ack(handle(&packet(&[1], 10), &r));
        assert_eq!(
            a,
            serde_json::json!({"type": "push-ack", "lastRefTime": "123456789012345", "data": ""})
        );
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), vec![1]);
        ack(handle(&gzip(&packet(&[1, 2], 20)), &r));
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), vec![1, 2]);
        r.stop(WAIT);
    }

    #[test]
    fn stale_malformed_and_bombed_packets_change_nothing() {
        let (r, rx) = registry();
        handle(&packet(&[1], 10), &r);
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), vec![1]);
        // Older than held: acked (so the server stops resending), not applied.
        assert_eq!(ack(handle(&packet(&[9], 5), &r))["type"], "push-ack");
        let garbage: [&[u8]; 6] = [
            b"",
            b"not json",
            b"[1,2]",
            br#"{"type":"dom","data":"{broken","lastRefTime":1}"#,
            &[0x1f, 0x8b, 0, 1, 2],
            br#"{"type":"dom","lastRefTime":1}"#,
        ];
        for bytes in garbage {
            assert!(handle(bytes, &r).is_none(), "{bytes:?}");
        }
        // A gzip bomb: 64 MiB of zeros in a small packet.
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..64 {
            e.write_all(&zeros).unwrap();
        }
        let bomb = e.finish().unwrap();
        assert!(bomb.len() < RECEIVE_BUFFER);
        assert!(handle(&bomb, &r).is_none());
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        assert_eq!(r.held(&key()).unwrap().hosts[0].port, 1);
        r.stop(WAIT);
    }

    #[test]
    fn answers_dump_and_unknown_packets() {
        let (r, _rx) = registry();
        handle(&packet(&[1], 10), &r);
        let a = ack(handle(br#"{"type":"dump","lastRefTime":7}"#, &r));
        assert_eq!(a["type"], "dump-ack");
        assert_eq!(a["lastRefTime"], "7");
        let data: Value = serde_json::from_str(a["data"].as_str().unwrap()).unwrap();
        assert!(data.get("G@@svc@@a,b").is_some(), "{data}");
        let a = ack(handle(br#"{"type":"what","lastRefTime":"8"}"#, &r));
        assert_eq!(
            (a["type"].as_str(), a["lastRefTime"].as_str()),
            (Some("unknown-ack"), Some("8"))
        );
        r.stop(WAIT);
    }

    #[test]
    fn pushes_for_other_services_or_clusters_are_not_applied() {
        let (r, rx) = registry();
        let mut s = ServiceInfo::new("svc", "G");
        s.clusters = "a".into();
        s.hosts.push(Instance::new("10.0.0.1", 1));
        let p = serde_json::json!({"type": "dom", "data": serde_json::to_string(&s).unwrap(), "lastRefTime": 1});
        assert!(handle(p.to_string().as_bytes(), &r).is_some());
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        r.stop(WAIT);
    }

    #[test]
    fn receives_only_from_configured_servers_and_stops_promptly() {
        let (r, rx) = registry();
        let socket = Arc::new(PushSocket::bind(0, Ipv4Addr::LOCALHOST.into()).unwrap());
        let port = socket.port();
        // Configured servers: an address that is not loopback, so loopback is a stranger.
        let (receiver, worker) = PushReceiver::spawn(
            socket.clone(),
            r.clone(),
            vec!["192.0.2.1".parse().unwrap()],
        )
        .unwrap();
        let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
        stranger
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        stranger
            .send_to(&packet(&[5], 10), ("127.0.0.1", port))
            .unwrap();
        assert!(
            stranger.recv_from(&mut [0u8; 1024]).is_err(),
            "no ack for strangers"
        );
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        receiver.stop();
        assert!(crate::live::worker::join_all(vec![worker], Duration::from_millis(500)).is_empty());

        // The same packet from a configured server is applied and acked to its source.
        let (receiver, worker) =
            PushReceiver::spawn(socket, r.clone(), resolve_servers([("127.0.0.1", 8848)])).unwrap();
        stranger.set_read_timeout(Some(WAIT)).unwrap();
        stranger
            .send_to(&packet(&[5], 10), ("127.0.0.1", port))
            .unwrap();
        let mut buf = [0u8; 1024];
        let (len, _) = stranger.recv_from(&mut buf).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&buf[..len]).unwrap()["type"],
            "push-ack"
        );
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), vec![5]);
        receiver.stop();
        assert!(crate::live::worker::join_all(vec![worker], Duration::from_millis(500)).is_empty());
        r.stop(WAIT);
    }

    #[test]
    fn guesses_the_loopback_address_for_a_loopback_server() {
        assert_eq!(
            guess_client_ip([("127.0.0.1", 8848)]),
            IpAddr::from(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            resolve_servers([("127.0.0.1", 1), ("127.0.0.1", 2)]).len(),
            1
        );
    }
}

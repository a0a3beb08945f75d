//! UDP push: every change of a service goes to the clients that listed it with `udpPort`.
//!
//! A datagram is `{"type":"dom","data":"<ServiceInfo JSON>","lastRefTime":<ms>}`, gzipped from
//! 1024 bytes on. The client acks with `{"type":"push-ack","lastRefTime":"<echo>"}` from the
//! receiving socket; a push not acked within the ack timeout is sent again, a bounded number
//! of times. A newer push to the same subscriber replaces an unacked older one.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::Value;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use crate::handlers::PUSH_CACHE_MILLIS;
use crate::registry::{ChangeListener, Registry};
use crate::service::{ListQuery, Service};

/// Payloads from this size on are gzipped (as official servers do).
const GZIP_FROM: usize = 1024;
/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_507;

/// How pushes are retried.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    /// How long to wait for an ack before sending again.
    pub(crate) ack_timeout: Duration,
    /// How many times an unacked push is sent again.
    pub(crate) max_resends: u32,
}

/// The registry's change listener: hands changed services to the push task.
pub(crate) fn listener(changes: UnboundedSender<Arc<Service>>) -> ChangeListener {
    Box::new(move |service| {
        // The task is gone only when the server is shutting down.
        let _ = changes.send(service.clone());
    })
}

/// A push waiting for its ack.
struct Pending {
    last_ref_time: i64,
    packet: Bytes,
    resends_left: u32,
    due: Instant,
}

/// One subscriber of one service with one cluster filter.
type Key = (SocketAddr, Box<str>, Box<str>, Box<str>);

/// Runs until the runtime is shut down.
pub(crate) async fn run(
    socket: UdpSocket,
    registry: Arc<Registry>,
    mut changes: UnboundedReceiver<Arc<Service>>,
    retry: Retry,
) {
    let mut pending: HashMap<Key, Pending> = HashMap::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let next_due = pending.values().map(|p| p.due).min();
        tokio::select! {
            changed = changes.recv() => {
                let Some(first) = changed else { return };
                // Changes that queued up meanwhile go out in the same round, once per service.
                let mut services = vec![first];
                while let Ok(more) = changes.try_recv() {
                    if !services.iter().any(|s| Arc::ptr_eq(s, &more)) {
                        services.push(more);
                    }
                }
                for service in services {
                    push_service(&socket, &registry, &service, retry, &mut pending).await;
                }
            }
            received = socket.recv_from(&mut buf) => {
                if let Ok((len, from)) = received {
                    if let Some(acked) = ack_of(&buf[..len]) {
                        // One ack settles one push (two services may share a lastRefTime).
                        let key = pending
                            .iter()
                            .find(|(k, p)| k.0 == from && p.last_ref_time == acked)
                            .map(|(k, _)| k.clone());
                        if let Some(key) = key {
                            pending.remove(&key);
                        }
                    }
                }
            }
            () = sleep_until(next_due), if next_due.is_some() => {
                let now = Instant::now();
                let mut exhausted = Vec::new();
                for (key, p) in pending.iter_mut().filter(|(_, p)| p.due <= now) {
                    if p.resends_left == 0 {
                        exhausted.push(key.clone());
                        continue;
                    }
                    p.resends_left -= 1;
                    p.due = now + retry.ack_timeout;
                    send(&socket, &registry, &p.packet, key.0).await;
                }
                for key in exhausted {
                    log::debug!("push to {} for {}: no ack", key.0, key.2);
                    registry.metrics().push_failed();
                    pending.remove(&key);
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

async fn push_service(
    socket: &UdpSocket,
    registry: &Registry,
    service: &Service,
    retry: Retry,
    pending: &mut HashMap<Key, Pending>,
) {
    for (addr, clusters) in registry.subscribers(service) {
        let (data, last_ref_time) = {
            let state = service.lock();
            if state.removed {
                return;
            }
            let query = ListQuery {
                clusters: &clusters,
                healthy_only: false,
                cache_millis: PUSH_CACHE_MILLIS,
            };
            service.render(state, query, registry.list_cache())
        };
        let Some(packet) = packet(&data, last_ref_time) else {
            log::warn!(
                "push to {addr} for {}: the answer does not fit in a datagram",
                service.grouped
            );
            continue;
        };
        send(socket, registry, &packet, addr).await;
        let key = (
            addr,
            service.namespace.clone(),
            service.grouped.clone(),
            clusters,
        );
        pending.insert(
            key,
            Pending {
                last_ref_time,
                packet,
                resends_left: retry.max_resends,
                due: Instant::now() + retry.ack_timeout,
            },
        );
    }
}

async fn send(socket: &UdpSocket, registry: &Registry, packet: &[u8], to: SocketAddr) {
    registry.metrics().pushed();
    if let Err(e) = socket.send_to(packet, to).await {
        registry.metrics().push_failed();
        log::debug!("push to {to}: {e}");
    }
}

/// The datagram for a rendered list answer; `None` when it cannot fit in one.
fn packet(data: &[u8], last_ref_time: i64) -> Option<Bytes> {
    let data = std::str::from_utf8(data).ok()?;
    let json = serde_json::json!({"type": "dom", "data": data, "lastRefTime": last_ref_time});
    let plain = serde_json::to_vec(&json).ok()?;
    let bytes = if plain.len() >= GZIP_FROM {
        let mut gz = GzEncoder::new(Vec::with_capacity(plain.len() / 4), Compression::fast());
        gz.write_all(&plain).ok()?;
        gz.finish().ok()?
    } else {
        plain
    };
    (bytes.len() <= MAX_DATAGRAM).then(|| Bytes::from(bytes))
}

/// The `lastRefTime` a push-ack echoes (a string or a number).
fn ack_of(datagram: &[u8]) -> Option<i64> {
    let value: Value = serde_json::from_slice(datagram).ok()?;
    if value.get("type")?.as_str()? != "push-ack" {
        return None;
    }
    match value.get("lastRefTime")? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn small_packets_are_plain_and_large_ones_gzipped() {
        let small = packet(br#"{"hosts":[]}"#, 7).unwrap();
        let v: Value = serde_json::from_slice(&small).unwrap();
        assert_eq!(v["type"], "dom");
        assert_eq!(v["data"], r#"{"hosts":[]}"#);
        assert_eq!(v["lastRefTime"], 7);

        let data = format!(r#"{{"hosts":"{}"}}"#, "x".repeat(2000));
        let large = packet(data.as_bytes(), 8).unwrap();
        assert_eq!(&large[..2], &[0x1f, 0x8b]);
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&large[..])
            .read_to_string(&mut plain)
            .unwrap();
        let v: Value = serde_json::from_str(&plain).unwrap();
        assert_eq!(v["data"], data);
    }

    #[test]
    fn acks_are_recognised() {
        assert_eq!(
            ack_of(br#"{"type":"push-ack","lastRefTime":"12","data":""}"#),
            Some(12)
        );
        assert_eq!(ack_of(br#"{"type":"push-ack","lastRefTime":13}"#), Some(13));
        assert_eq!(ack_of(br#"{"type":"dump-ack","lastRefTime":"12"}"#), None);
        assert_eq!(ack_of(b"\x1f\x8bgarbage"), None);
    }
}

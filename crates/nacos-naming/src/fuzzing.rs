//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer): one per decoder of
//! what a server or the network sends. Each takes any bytes and must return without panicking,
//! whatever they are; the saved corpus is replayed by this module's test on every
//! `cargo test`, so an input that once found a panic stays a test.
//!
//! Built only with the `fuzzing` feature (and for tests): not part of the API.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::calls::list::ListQuery;
use crate::calls::params::ServiceKey;
use crate::error::Error;
use crate::live::push_receiver;
use crate::live::subscription::{ListenerId, Policy, Registry, SubscriptionKey};
use crate::service_event::ServiceEvent;
use crate::service_info::ServiceInfo;
use crate::wire::auth::{parse_login_answer, Login};

/// Answers arrive as text; bytes that are not UTF-8 become U+FFFD, as the transport reads them.
fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A list answer (`/nacos/v1/ns/instance/list`), and the change it makes to a known list.
pub fn list_answer(data: &[u8]) {
    let query = ListQuery::new(ServiceKey::new(None, "svc".into()));
    if let Ok(new) = query.decode(&text(data)) {
        let mut old = ServiceInfo::new("svc", "DEFAULT_GROUP");
        old.hosts = new.hosts.iter().skip(1).cloned().collect();
        let _ = ServiceEvent::between(&old, new);
    }
}

/// An instance answer (`GET /nacos/v1/ns/instance`).
pub fn instance_answer(data: &[u8]) {
    let _ = crate::calls::get::decode_instance(&text(data));
}

/// A beat answer (`PUT /nacos/v1/ns/instance/beat`).
pub fn beat_answer(data: &[u8]) {
    let _ = crate::calls::heartbeat_request::decode_beat_info(&text(data));
}

/// A login answer, then the token's use: its lifetime decides every later call's deadlines.
pub fn login_answer(data: &[u8]) {
    let body = text(data);
    let login = Login::new("u".into(), "p".into());
    if login
        .token(|_| parse_login_answer(&body, Instant::now()))
        .is_ok()
    {
        let _ = login.token(|_| Err(Error::Shutdown));
    }
}

/// The service the push target's registry subscribes to, so pushed lists for it are applied.
pub const PUSHED_SERVICE: (&str, &str, &str) = ("G", "svc", "a,b");

/// A UDP push packet (gzip or plain JSON), applied to a registry that subscribes to
/// [`PUSHED_SERVICE`], with its ack.
pub fn push_packet(data: &[u8]) {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    let registry = REGISTRY.get_or_init(|| {
        let registry = Registry::new(
            Policy {
                deliver_empty: true,
                poll_interval: Some(Duration::MAX),
                max_backoff: Duration::MAX,
            },
            1,
            None,
        );
        let (group, service, clusters) = PUSHED_SERVICE;
        let key = SubscriptionKey::new(None, group, service, [clusters]);
        registry.subscribe(key, ListenerId(1), Arc::new(|_: &ServiceEvent| {}), || None);
        registry
    });
    let _ = push_receiver::handle(data, registry);
}

/// A fuzz target: any bytes in, nothing out, no panic.
pub type Target = fn(&[u8]);

/// The targets by name, as the fuzz crate and the corpus folders name them.
pub const TARGETS: [(&str, Target); 5] = [
    ("list_answer", list_answer),
    ("instance_answer", instance_answer),
    ("beat_answer", beat_answer),
    ("login_answer", login_answer),
    ("push_packet", push_packet),
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Every saved input of every target, replayed: none may panic.
    #[test]
    fn the_saved_corpus_replays_without_a_panic() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        for (name, target) in TARGETS {
            let dir = root.join(name);
            let entries = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("the corpus of {name} at {}: {e}", dir.display()));
            let mut inputs = 0;
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                let run = std::panic::catch_unwind(|| target(&data));
                assert!(run.is_ok(), "{name} panicked on {}", path.display());
                inputs += 1;
            }
            assert!(inputs > 0, "the corpus of {name} is empty");
        }
    }
}

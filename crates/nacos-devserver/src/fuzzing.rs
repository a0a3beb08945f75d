//! The entry point of the fuzz target in `fuzz/` (cargo-fuzz, libFuzzer): request parsing, from
//! the raw bytes a client sends to the answer. Any bytes must be answered or refused without a
//! panic; the saved corpus is replayed by this module's test on every `cargo test`, so an input
//! that once found a panic stays a test.
//!
//! Built only with the `fuzzing` feature (and for tests): not part of the API.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

use crate::body::BodyBudget;
use crate::connections::Connections;
use crate::handlers::Context;
use crate::http::{self, Shared};
use crate::registry::{Registry, Timings};

/// One server for every input, as a long-lived server sees request after request: state one
/// input leaves (a registration, a subscription) is what the next one meets.
struct Fixture {
    runtime: Runtime,
    shared: Arc<Shared>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let timings = Timings {
            health_timeout: 15_000,
            expire_timeout: 30_000,
            subscriber_ttl: 30_000,
        };
        // The default line (2.x identity); the v3 doors are unit-tested in `doors`.
        let version = crate::version::NacosVersion::default();
        let registry = Arc::new(Registry::new(timings, version.identity(), Box::new(|_| {})));
        let shared = Arc::new(Shared {
            cx: Context {
                registry,
                auth: None,
                client_auth: false,
                beat_interval: 5_000,
                push: true,
                push_to_client_ip: false,
                version,
            },
            connections: Arc::new(Connections::new(16)),
            request_timeout: Duration::from_millis(200),
            body_budget: BodyBudget::new(1 << 20),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime for the fuzz target");
        Fixture { runtime, shared }
    })
}

/// `data` as everything a client sends on one connection before shutting its writing side;
/// the server's answers are read and dropped.
pub fn request(data: &[u8]) {
    let fixture = fixture();
    let Some(connection) = fixture.shared.connections.admit() else {
        return;
    };
    let peer = SocketAddr::from(([127, 0, 0, 1], 40_000));
    fixture.runtime.block_on(async {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let serving =
            http::serve_connection(server, peer, Arc::new(connection), fixture.shared.clone());
        let talking = async {
            let _ = client.write_all(data).await;
            let _ = client.shutdown().await;
            let mut answers = Vec::new();
            let _ = client.read_to_end(&mut answers).await;
        };
        // Every request ends within its timeouts; this only stops a hang from stalling the run.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            tokio::join!(serving, talking)
        })
        .await;
    });
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Every saved input, replayed: none may panic.
    #[test]
    fn the_saved_corpus_replays_without_a_panic() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/request");
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the corpus at {}: {e}", dir.display()));
        let mut inputs = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let run = std::panic::catch_unwind(|| request(&data));
            assert!(run.is_ok(), "a panic on {}", path.display());
            inputs += 1;
        }
        assert!(inputs > 0, "the corpus is empty");
    }
}

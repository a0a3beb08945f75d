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

use crate::auth::Auth;
use crate::body::BodyBudget;
use crate::connections::Connections;
use crate::handlers::Context;
use crate::http::{self, Shared};
use crate::registry::{Registry, Timings};
use crate::version::NacosVersion;

/// One server for every input, as a long-lived server sees request after request: state one
/// input leaves (a registration, a subscription) is what the next one meets.
struct Fixture {
    runtime: Runtime,
    shared: Arc<Shared>,
}

/// The token the 3.2 fixture accepts without a login: inputs carry it to reach the admin calls.
pub const V3_TOKEN: &str = "fuzz";

impl Fixture {
    fn new(version: NacosVersion) -> Fixture {
        let timings = Timings {
            health_timeout: 15_000,
            expire_timeout: 30_000,
            subscriber_ttl: 30_000,
            empty_service_ttl: 60_000,
        };
        let registry = Arc::new(Registry::new(timings, version.identity(), Box::new(|_| {})));
        // 3.x lines need a token for admin calls even without auth mode, as the server sets up.
        let auth = version.has_v3().then(|| {
            let auth = Auth::any_user(Duration::from_secs(3600));
            auth.accept(V3_TOKEN);
            auth
        });
        let shared = Arc::new(Shared {
            cx: Context {
                registry,
                auth,
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
    }

    /// `data` as everything a client sends on one connection before shutting its writing side;
    /// returns what the server answered.
    fn serve(&self, data: &[u8]) -> Vec<u8> {
        let mut answers = Vec::new();
        let Some(connection) = self.shared.connections.admit() else {
            return answers;
        };
        let peer = SocketAddr::from(([127, 0, 0, 1], 40_000));
        self.runtime.block_on(async {
            let (mut client, server) = tokio::io::duplex(64 * 1024);
            let serving =
                http::serve_connection(server, peer, Arc::new(connection), self.shared.clone());
            let talking = async {
                let _ = client.write_all(data).await;
                let _ = client.shutdown().await;
                let _ = client.read_to_end(&mut answers).await;
            };
            // Every request ends within its timeouts; this only stops a hang from stalling the
            // run.
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                tokio::join!(serving, talking)
            })
            .await;
        });
        answers
    }
}

/// `data` as one connection to a server of the default line (2.x: the V1 API).
pub fn request(data: &[u8]) {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    let _ = FIXTURE
        .get_or_init(|| Fixture::new(NacosVersion::default()))
        .serve(data);
}

/// `data` as one connection to a server of the 3.2 line (the v3 client and admin APIs), which
/// accepts the token [`V3_TOKEN`].
pub fn request_v3(data: &[u8]) {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    let _ = FIXTURE
        .get_or_init(|| Fixture::new(NacosVersion::V3_2))
        .serve(data);
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Every saved input of `target`, replayed through `entry`: none may panic.
    fn replay(target: &str, entry: fn(&[u8])) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the corpus at {}: {e}", dir.display()));
        let mut inputs = 0;
        for entry_path in entries {
            let path = entry_path.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let run = std::panic::catch_unwind(|| entry(&data));
            assert!(run.is_ok(), "a panic on {}", path.display());
            inputs += 1;
        }
        assert!(inputs > 0, "the corpus of {target} is empty");
    }

    #[test]
    fn the_saved_corpus_replays_without_a_panic() {
        replay("request", request);
    }

    /// The 3.2 fixture's admin calls answer with the fixed token and refuse without it: the
    /// fuzzer reaches the handlers, not only the door.
    #[test]
    fn the_v3_fixture_accepts_its_token() {
        let fixture = Fixture::new(NacosVersion::V3_2);
        let call = |token: &str| {
            let request = format!(
                "GET /nacos/v3/admin/ns/service/list?pageNo=1&pageSize=10 HTTP/1.1\r\n\
                 Host: 127.0.0.1\r\n{token}\r\n"
            );
            String::from_utf8_lossy(&fixture.serve(request.as_bytes())).into_owned()
        };
        let with = call(&format!("accessToken: {V3_TOKEN}\r\n"));
        assert!(with.starts_with("HTTP/1.1 200"), "{with}");
        let without = call("");
        assert!(without.starts_with("HTTP/1.1 403"), "{without}");
    }

    #[test]
    fn the_saved_v3_corpus_replays_without_a_panic() {
        replay("request_v3", request_v3);
    }
}

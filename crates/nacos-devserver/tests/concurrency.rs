//! 32 clients × 1000 mixed register/modify/deregister calls on their own and on shared
//! instances; no call fails and the final state is exactly the expected one.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{agent, request, Api};
use nacos_devserver::{DevServer, NacosVersion};

const CLIENTS: usize = 32;
const CALLS: usize = 1000;
/// Instances each client owns; even ones in its own service, odd ones in the shared service.
const OWN: u32 = 16;
/// Instances every client registers and modifies, always with the same content.
const SHARED: u32 = 4;
const INSTANCE: &str = "/nacos/v1/ns/instance";

/// What an instance must look like at the end.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    weight: f64,
    enabled: bool,
    metadata: BTreeMap<String, String>,
}

/// A small deterministic generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn own(client: usize, k: u32) -> (String, String, String) {
    let service = if k % 2 == 0 {
        format!("own-{client}")
    } else {
        "shared".to_owned()
    };
    let cluster = if k % 3 == 0 { "A" } else { "B" };
    (service, format!("10.{client}.0.{k}"), cluster.to_owned())
}

fn shared(k: u32) -> (String, String, String) {
    ("shared".to_owned(), format!("10.255.0.{k}"), "A".to_owned())
}

/// The content every client gives the shared instances.
fn shared_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("weight", "5"),
        ("metadata", r#"{"shared":"yes"}"#),
        ("enabled", "true"),
    ]
}

fn run_client(base: &str, client: usize, barrier: &Barrier) -> BTreeMap<u32, Expected> {
    let agent = agent();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (client as u64 + 1));
    let mut model: BTreeMap<u32, Expected> = BTreeMap::new();
    let call = |method: &str, params: &[(&str, &str)]| {
        let (status, body) = request(&agent, base, method, INSTANCE, params, false);
        assert_eq!(
            (status, body.as_str()),
            (200, "ok"),
            "client {client}: {method} {params:?}"
        );
    };
    barrier.wait();
    for i in 0..CALLS {
        // Every shared instance is registered once up front, then touched now and then.
        if i < SHARED as usize || rng.below(10) == 0 {
            let k = if i < SHARED as usize {
                i as u32
            } else {
                rng.below(u64::from(SHARED)) as u32
            };
            let (service, ip, cluster) = shared(k);
            let mut params = vec![
                ("serviceName", service.as_str()),
                ("ip", ip.as_str()),
                ("port", "80"),
                ("clusterName", cluster.as_str()),
            ];
            params.extend(shared_params());
            let method = if i < SHARED as usize || rng.below(2) == 0 {
                "POST"
            } else {
                "PUT"
            };
            call(method, &params);
            continue;
        }
        let k = rng.below(u64::from(OWN)) as u32;
        let (service, ip, cluster) = own(client, k);
        let key = [
            ("serviceName", service.as_str()),
            ("ip", ip.as_str()),
            ("port", "80"),
            ("clusterName", cluster.as_str()),
        ];
        let weight = (1 + rng.below(100)).to_string();
        let metadata = format!(r#"{{"client":"{client}","call":"{i}"}}"#);
        let expected = |enabled: bool| Expected {
            weight: weight.parse().unwrap(),
            enabled,
            metadata: [
                ("client".to_owned(), client.to_string()),
                ("call".to_owned(), i.to_string()),
            ]
            .into(),
        };
        match rng.below(3) {
            0 => {
                let mut params = key.to_vec();
                params.extend([("weight", weight.as_str()), ("metadata", metadata.as_str())]);
                call("POST", &params);
                model.insert(k, expected(true));
            }
            1 if model.contains_key(&k) => {
                let enabled = rng.below(2) == 0;
                let mut params = key.to_vec();
                params.extend([
                    ("weight", weight.as_str()),
                    ("metadata", metadata.as_str()),
                    ("enabled", if enabled { "true" } else { "false" }),
                ]);
                call("PUT", &params);
                model.insert(k, expected(enabled));
            }
            _ => {
                call("DELETE", &key);
                model.remove(&k);
            }
        }
    }
    model
}

/// The instance as the server has it, if it has it.
fn fetch(api: &Api, (service, ip, cluster): &(String, String, String)) -> Option<Expected> {
    let (status, body) = api.call(
        "GET",
        INSTANCE,
        &[
            ("serviceName", service),
            ("ip", ip),
            ("port", "80"),
            ("clusterName", cluster),
        ],
    );
    match status {
        404 => None,
        200 => {
            let i: nacos_naming::Instance = serde_json::from_str(&body).unwrap();
            Some(Expected {
                weight: i.weight,
                enabled: i.enabled,
                metadata: i.metadata,
            })
        }
        other => panic!("GET {ip}: {other} {body}"),
    }
}

/// Concurrent clients on distinct and shared instances: exact final state, no failed call.
#[test]
fn concurrent_clients_leave_exactly_the_expected_state() {
    // 1.4 rules: the model expects a registration to replace what an earlier modify set (on
    // 2.x a modify outlives a re-registration).
    let api = Api::with(
        DevServer::builder()
            .nacos_version(NacosVersion::V1_4)
            .health_timeout(Duration::from_secs(300))
            .expire_timeout(Duration::from_secs(600)),
    );
    let base = format!("http://{}", api.server.addr());
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let started = std::time::Instant::now();
    let models: Vec<BTreeMap<u32, Expected>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (base, barrier) = (&base, &barrier);
                scope.spawn(move || run_client(base, client, barrier))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    eprintln!("{} calls in {:?}", CLIENTS * CALLS, started.elapsed());

    let mut listed_enabled = 0;
    for (client, model) in models.iter().enumerate() {
        for k in 0..OWN {
            let id = own(client, k);
            assert_eq!(
                fetch(&api, &id),
                model.get(&k).cloned(),
                "client {client} instance {k}"
            );
        }
        listed_enabled += model
            .iter()
            .filter(|(k, e)| *k % 2 == 1 && e.enabled)
            .count();
        let own_service = api.list(&format!("own-{client}"), &[]);
        let expected: usize = model
            .iter()
            .filter(|(k, e)| *k % 2 == 0 && e.enabled)
            .count();
        assert_eq!(own_service.hosts.len(), expected, "own-{client}");
    }
    let shared_expected = Expected {
        weight: 5.0,
        enabled: true,
        metadata: [("shared".to_owned(), "yes".to_owned())].into(),
    };
    for k in 0..SHARED {
        assert_eq!(fetch(&api, &shared(k)), Some(shared_expected.clone()));
    }
    let shared_service = api.list("shared", &[]);
    assert_eq!(shared_service.hosts.len(), listed_enabled + SHARED as usize);
}

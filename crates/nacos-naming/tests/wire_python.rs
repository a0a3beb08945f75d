//! The wire comparison: the seed's calls made through nacos-sdk-python 1.0.0 (the seed's own
//! client) and through this client send the same requests (method, path, parameter names and
//! values), except for the deliberate fixes listed in [`FIXES`], each with its reason.
//!
//! Both clients talk to a recording server that answers like a Nacos server would. The Python
//! side is `compat/python/record_seed_calls.py`, run with `$NACOS_PYTHON` (scripts/ci makes a
//! virtual environment with nacos-sdk-python==1.0.0); its steps and this file's [`steps`] are
//! the same list, one for one.
//!
//! What is compared after normalising spelling that servers read alike (booleans `True` and
//! `true`, weights `1.0` and `1`, JSON `metadata`/`beat` compared as JSON values): every
//! request of every step, in order.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use nacos_naming::{Error, NamingClient};
use nacos_test_support::skip_unless_python;

use common::recorder::{params, Recorded, Recorder, TOKEN};

const SERVICE: &str = "user-service";
// The seed's own example address. Nothing connects to it: the recorder only stores it.
const IP: &str = "192.168.1.100";
const PORT: u16 = 8080;

/// Which client a step uses: the Python script builds the same three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientKind {
    Plain,
    Namespaced,
    /// Built inside its step, since building it logs in.
    Login,
}

type Call = fn(&NamingClient) -> Result<(), Error>;

/// The seed's calls with every parameter the seed names; the same list as the Python script's.
///
/// This client keeps an ephemeral instance alive with background beats from its registration
/// on; nacos-sdk-python 1.0.0 beats only when given `heartbeat_interval`, which the seed's calls
/// do not pass. So the registrations here opt out (`.heartbeat(false)`): the comparison is of
/// the calls themselves.
fn steps() -> Vec<(&'static str, ClientKind, Call)> {
    use ClientKind::*;
    vec![
        ("add_minimal", Plain, |c| {
            c.add_naming_instance(SERVICE, IP, PORT)
                .heartbeat(false)
                .send()
        }),
        ("add_every_parameter", Plain, |c| {
            c.add_naming_instance(SERVICE, IP, PORT)
                .cluster_name("production")
                .weight(1.5)
                .metadata([("version", "1.0.0"), ("region", "us-west-1")])
                .ephemeral(true)
                .enabled(true)
                .healthy(true)
                .group_name("microservices")
                .heartbeat(false)
                .send()
        }),
        ("add_with_group", Plain, |c| {
            c.add_naming_instance(SERVICE, IP, PORT)
                .group_name("microservices")
                .heartbeat(false)
                .send()
        }),
        ("add_persistent_disabled_unhealthy", Plain, |c| {
            c.add_naming_instance(SERVICE, IP, PORT)
                .weight(0.5)
                .ephemeral(false)
                .enabled(false)
                .healthy(false)
                .send()
        }),
        ("remove_minimal", Plain, |c| {
            c.remove_naming_instance(SERVICE, IP, PORT).send()
        }),
        ("remove_every_parameter", Plain, |c| {
            c.remove_naming_instance(SERVICE, IP, PORT)
                .cluster_name("production")
                .ephemeral(true)
                .group_name("microservices")
                .send()
        }),
        ("remove_persistent", Plain, |c| {
            c.remove_naming_instance(SERVICE, IP, PORT)
                .ephemeral(false)
                .send()
        }),
        ("modify_weight", Plain, |c| {
            c.modify_naming_instance(SERVICE, IP, PORT)
                .weight(2.0)
                .send()
        }),
        ("modify_every_parameter", Plain, |c| {
            c.modify_naming_instance(SERVICE, IP, PORT)
                .weight(2.0)
                .metadata([("status", "updated")])
                .enabled(false)
                .cluster_name("production")
                .group_name("microservices")
                .send()
        }),
        ("list_minimal", Plain, |c| {
            c.list_naming_instance(SERVICE).send().map(drop)
        }),
        ("list_healthy_only", Plain, |c| {
            c.list_naming_instance(SERVICE)
                .healthy_only(true)
                .send()
                .map(drop)
        }),
        ("list_every_parameter", Plain, |c| {
            c.list_naming_instance(SERVICE)
                .clusters(["production", "staging"])
                .namespace_id("production")
                .group_name("microservices")
                .healthy_only(true)
                .send()
                .map(drop)
        }),
        ("get_minimal", Plain, |c| {
            c.get_naming_instance(SERVICE, IP, PORT).send().map(drop)
        }),
        ("get_with_cluster", Plain, |c| {
            c.get_naming_instance(SERVICE, IP, PORT)
                .cluster_name("production")
                .send()
                .map(drop)
        }),
        ("beat_minimal", Plain, |c| {
            c.send_heartbeat(SERVICE, IP, PORT).send().map(drop)
        }),
        ("beat_every_parameter", Plain, |c| {
            c.send_heartbeat(SERVICE, IP, PORT)
                .weight(1.5)
                .metadata([("status", "running")])
                .ephemeral(true)
                .cluster_name("production")
                .group_name("microservices")
                .send()
                .map(drop)
        }),
        ("namespace_add", Namespaced, |c| {
            c.add_naming_instance(SERVICE, IP, PORT)
                .heartbeat(false)
                .send()
        }),
        ("namespace_list", Namespaced, |c| {
            c.list_naming_instance(SERVICE).send().map(drop)
        }),
        ("namespace_get", Namespaced, |c| {
            c.get_naming_instance(SERVICE, IP, PORT).send().map(drop)
        }),
        ("namespace_beat", Namespaced, |c| {
            c.send_heartbeat(SERVICE, IP, PORT).send().map(drop)
        }),
        ("namespace_remove", Namespaced, |c| {
            c.remove_naming_instance(SERVICE, IP, PORT).send()
        }),
        ("login_then_list", Login, |c| {
            c.list_naming_instance(SERVICE).send().map(drop)
        }),
    ]
}

/// A request with its parameters normalised, as compared.
#[derive(Debug, Clone, PartialEq)]
struct Request {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    body: BTreeMap<String, String>,
}

impl Request {
    fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }
}

/// The requests of one step, Python's and ours.
struct Step<'a> {
    name: &'a str,
    python: &'a mut Vec<Request>,
    rust: &'a mut Vec<Request>,
}

/// A deliberate difference from nacos-sdk-python 1.0.0. `apply` checks that this client does
/// the right thing in its place, then removes the difference from both sides; it returns
/// whether the step had the difference.
struct Fix {
    name: &'static str,
    reason: &'static str,
    /// Whether some step must show it (a fix that never applies is out of date).
    always_seen: bool,
    apply: fn(&mut Step) -> bool,
}

const WRITE: &str = "/nacos/v1/ns/instance";
const LIST: &str = "/nacos/v1/ns/instance/list";
const BEAT: &str = "/nacos/v1/ns/instance/beat";

/// The deliberate differences, each with its reason.
const FIXES: &[Fix] = &[
    Fix {
        name: "read before modify",
        reason: "official Nacos 2.x replaces enabled, weight and metadata on a modify that leaves \
                 them out; so that a modify changes only what is named, this client reads the \
                 instance first and sends the fields it keeps",
        always_seen: false,
        apply: |step| {
            if !step.name.starts_with("modify") {
                return false;
            }
            let Some(read) = step.rust.iter().position(|r| r.is("GET", WRITE)) else {
                return false;
            };
            let read = step.rust.remove(read);
            let put = step
                .rust
                .iter_mut()
                .find(|r| r.is("PUT", WRITE))
                .expect("the modify itself");
            for key in [
                "serviceName",
                "ip",
                "port",
                "groupName",
                "clusterName",
                "namespaceId",
            ] {
                assert_eq!(
                    read.query.get(key),
                    put.query.get(key),
                    "{}: the read asks for the instance modified ({key})",
                    step.name
                );
            }
            let python_put = step
                .python
                .iter()
                .find(|r| r.is("PUT", WRITE))
                .expect("python's modify");
            // Fields the caller did not name are sent back as read (the recorder's instance).
            let kept = [
                ("weight", "1".to_owned()),
                ("enable", "true".to_owned()),
                ("enabled", "true".to_owned()),
                ("healthy", "true".to_owned()),
                ("metadata", r#"{"version":"1.0.0"}"#.to_owned()),
            ];
            for (key, value) in kept {
                if !python_put.query.contains_key(key) {
                    if let Some(ours) = put.query.remove(key) {
                        assert_eq!(ours, value, "{}: {key} kept as read", step.name);
                    }
                }
            }
            true
        },
    },
    Fix {
        name: "no cluster named None",
        reason: "nacos-sdk-python sends clusterName=None on add when no cluster is given, so the \
                 instance lands in a cluster literally named `None` (its issues #31 and #43); \
                 this client sends DEFAULT or nothing",
        always_seen: true,
        apply: |step| {
            let name = step.name;
            let mut seen = false;
            for (p, r) in pairs(step, "POST", WRITE) {
                if p.query.get("clusterName").map(String::as_str) == Some("None") {
                    let ours = r.query.remove("clusterName");
                    assert!(
                        matches!(ours.as_deref(), None | Some("DEFAULT")),
                        "{name}: clusterName {ours:?}"
                    );
                    p.query.remove("clusterName");
                    seen = true;
                }
            }
            seen
        },
    },
    Fix {
        name: "clusters comma-separated",
        reason: "nacos-sdk-python url-encodes the Python list itself \
                 (`clusters=['production', 'staging']`), which no server can read; this \
                 client sends `production,staging`",
        always_seen: true,
        apply: |step| {
            let name = step.name;
            let mut seen = false;
            for (p, r) in pairs(step, "GET", LIST) {
                if let Some(theirs) = p.query.remove("clusters") {
                    assert_eq!(theirs, "['production', 'staging']");
                    let ours = r.query.remove("clusters");
                    assert_eq!(ours.as_deref(), Some("production,staging"), "{name}");
                    seen = true;
                }
            }
            seen
        },
    },
    Fix {
        name: "get sends the group",
        reason: "nacos-sdk-python 1.0.0's get sends no groupName, so only DEFAULT_GROUP can be \
                 read; this client sends the group asked for (left out for the default group, \
                 which the server assumes; `get_and_beat_carry_the_group` checks another group)",
        always_seen: false,
        apply: |step| {
            let name = step.name;
            let mut seen = false;
            for (p, r) in pairs(step, "GET", WRITE) {
                if !p.query.contains_key("groupName") {
                    if let Some(ours) = r.query.remove("groupName") {
                        assert_eq!(ours, "DEFAULT_GROUP", "{name}");
                        seen = true;
                    }
                }
            }
            seen
        },
    },
    Fix {
        name: "enabled sent beside enable",
        reason: "official Nacos 1.x reads `enable`, 2.x reads `enabled` first; this client sends \
                 both, with the same value, where nacos-sdk-python sends `enable` only",
        always_seen: true,
        apply: |step| {
            let name = step.name;
            let mut seen = false;
            for method in ["POST", "PUT"] {
                for (p, r) in pairs(step, method, WRITE) {
                    if !p.query.contains_key("enabled") {
                        if let Some(enabled) = r.query.remove("enabled") {
                            assert_eq!(Some(&enabled), r.query.get("enable"), "{name}");
                            seen = true;
                        }
                    }
                }
            }
            seen
        },
    },
    Fix {
        name: "server defaults sent explicitly",
        reason: "this client sends clusterName=DEFAULT, metadata={} and, in the beat body, \
                 cluster DEFAULT and empty metadata, where nacos-sdk-python leaves them out and \
                 the server assumes the same values",
        always_seen: true,
        apply: |step| {
            let mut seen = false;
            let defaults = [("clusterName", "DEFAULT"), ("metadata", "{}")];
            for (method, path) in [
                ("POST", WRITE),
                ("PUT", WRITE),
                ("DELETE", WRITE),
                ("GET", WRITE),
                ("GET", LIST),
                ("PUT", BEAT),
            ] {
                for (p, r) in pairs(step, method, path) {
                    for (key, value) in defaults {
                        if !p.query.contains_key(key)
                            && r.query.get(key).map(String::as_str) == Some(value)
                        {
                            r.query.remove(key);
                            seen = true;
                        }
                    }
                    if let (Some(theirs), Some(ours)) =
                        (p.query.get("beat"), r.query.get_mut("beat"))
                    {
                        let theirs: serde_json::Value = serde_json::from_str(theirs).unwrap();
                        let mut body: serde_json::Value = serde_json::from_str(ours).unwrap();
                        let body_defaults = [
                            ("cluster", serde_json::json!("DEFAULT")),
                            ("metadata", serde_json::json!({})),
                        ];
                        for (key, value) in body_defaults {
                            if theirs.get(key).is_none() && body.get(key) == Some(&value) {
                                body.as_object_mut().unwrap().remove(key);
                                seen = true;
                            }
                        }
                        *ours = body.to_string();
                    }
                }
            }
            seen
        },
    },
    Fix {
        name: "token in a header",
        reason: "nacos-sdk-python puts the access token in the query, where server access logs \
                 keep it; this client sends it as `Authorization: Bearer`, which every server \
                 line reads (checked in login_once_then_the_token_on_every_call)",
        always_seen: true,
        apply: |step| {
            assert!(
                step.rust
                    .iter()
                    .all(|r| !r.query.contains_key("accessToken")),
                "{}: a token in the URL",
                step.name
            );
            let mut seen = false;
            for request in step.python.iter_mut() {
                seen |= request.query.remove("accessToken").is_some();
            }
            seen
        },
    },
    Fix {
        name: "v3 login first",
        reason: "Nacos 3.x logs in at /nacos/v3/auth/user/login; like the official Java client, \
                 this client tries it first and falls back to the V1 login on a 404, so one \
                 login costs one more request on 1.x and 2.x",
        always_seen: true,
        apply: |step| {
            let Some(at) = step
                .rust
                .iter()
                .position(|r| r.is("POST", "/nacos/v3/auth/user/login"))
            else {
                return false;
            };
            let v3 = step.rust.remove(at);
            // The V1 login comes right after, in the v3 one's place.
            let v1 = step
                .rust
                .get(at)
                .expect("the V1 login after the v3 one's 404");
            assert!(
                v1.is("POST", "/nacos/v1/auth/login"),
                "{}: {v1:?}",
                step.name
            );
            assert_eq!(v3.query.get("username"), v1.query.get("username"));
            true
        },
    },
    Fix {
        name: "password in the body",
        reason: "nacos-sdk-python puts the password in the login URL, where proxies and access \
                 logs keep it; this client sends it in the form body, which servers read alike",
        always_seen: true,
        apply: |step| {
            let name = step.name;
            let mut seen = false;
            for (p, r) in pairs(step, "POST", "/nacos/v1/auth/login") {
                if let Some(password) = p.query.remove("password") {
                    assert_eq!(r.query.get("password"), None, "{name}: not in the URL");
                    assert_eq!(r.body.remove("password"), Some(password), "{name}");
                    seen = true;
                }
            }
            seen
        },
    },
    Fix {
        name: "get sends clusterName only",
        reason: "nacos-sdk-python's get sends the cluster twice, as `cluster` (read by 0.x \
                 servers only) and `clusterName`; this client sends `clusterName`",
        always_seen: false,
        apply: |step| {
            let name = step.name;
            let mut seen = false;
            for (p, r) in pairs(step, "GET", WRITE) {
                if let Some(cluster) = p.query.get("cluster").cloned() {
                    if !r.query.contains_key("cluster") {
                        assert_eq!(r.query.get("clusterName"), Some(&cluster), "{name}");
                        p.query.remove("cluster");
                        seen = true;
                    }
                }
            }
            seen
        },
    },
    Fix {
        name: "beat names the instance in the query too",
        reason: "as the Java client does, the beat may carry clusterName, ip and port as query \
                 parameters besides the beat body; rnacos takes the cluster from clusterName and \
                 moves an instance beaten without it to DEFAULT",
        always_seen: false,
        apply: |step| {
            let name = step.name;
            let mut seen = false;
            for (p, r) in pairs(step, "PUT", BEAT) {
                let body: serde_json::Value =
                    serde_json::from_str(r.query.get("beat").expect("a full beat")).unwrap();
                for (key, field) in [("clusterName", "cluster"), ("ip", "ip"), ("port", "port")] {
                    if p.query.contains_key(key) {
                        continue;
                    }
                    if let Some(value) = r.query.remove(key) {
                        let expected = match &body[field] {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Number(n) => n.as_f64().unwrap().to_string(),
                            serde_json::Value::Null => "DEFAULT".to_owned(),
                            other => other.to_string(),
                        };
                        assert_eq!(number_or(&value), expected, "{name}: {key}");
                        seen = true;
                    }
                }
            }
            seen
        },
    },
];

/// Python's and our requests of one kind in a step, in order, paired.
fn pairs<'s>(
    step: &'s mut Step<'_>,
    method: &str,
    path: &str,
) -> impl Iterator<Item = (&'s mut Request, &'s mut Request)> {
    let python = step.python.iter_mut().filter(|r| r.is(method, path));
    let rust = step.rust.iter_mut().filter(|r| r.is(method, path));
    let (python, rust): (Vec<_>, Vec<_>) = (python.collect(), rust.collect());
    python.into_iter().zip(rust)
}

fn normalise(recorded: &Recorded) -> Request {
    let fix = |pairs: &[(String, String)]| {
        params(pairs)
            .into_iter()
            .map(|(k, v)| {
                let v = match k.as_str() {
                    "enable" | "enabled" | "healthy" | "ephemeral" | "healthyOnly" => {
                        v.to_ascii_lowercase()
                    }
                    "weight" => number(&v),
                    "metadata" | "beat" => json(&v),
                    _ => v,
                };
                (k, v)
            })
            .collect()
    };
    Request {
        method: recorded.method.clone(),
        path: recorded.path.clone(),
        query: fix(&recorded.query),
        body: fix(&recorded.body),
    }
}

/// A port or weight as the JSON normalisation writes it; other text as it is.
fn number_or(text: &str) -> String {
    match text.parse::<f64>() {
        Ok(f) if text.chars().all(|c| c.is_ascii_digit() || c == '.') => f.to_string(),
        _ => text.to_owned(),
    }
}

fn number(text: &str) -> String {
    text.parse::<f64>()
        .map(|f| f.to_string())
        .unwrap_or_else(|_| text.to_owned())
}

/// JSON as a canonical string: keys sorted, numbers as f64 (so `1` and `1.0` agree).
fn json(text: &str) -> String {
    fn canon(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Number(n) => n
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            serde_json::Value::Object(map) => {
                serde_json::Value::Object(map.into_iter().map(|(k, v)| (k, canon(v))).collect())
            }
            other => other,
        }
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => canon(v).to_string(),
        Err(_) => text.to_owned(),
    }
}

/// The requests of each step, normalised, keyed by step name.
fn by_step(recorded: Vec<Recorded>) -> BTreeMap<String, Vec<Request>> {
    let mut steps: BTreeMap<String, Vec<Request>> = BTreeMap::new();
    for r in &recorded {
        steps.entry(r.step.clone()).or_default().push(normalise(r));
    }
    steps
}

fn run_rust(recorder: &Recorder) {
    let plain = NamingClient::new(recorder.address().as_str()).unwrap();
    let namespaced = NamingClient::builder()
        .server_addresses(recorder.address())
        .namespace("production")
        .build()
        .unwrap();
    for (name, kind, call) in steps() {
        recorder.mark(name);
        let result = match kind {
            ClientKind::Plain => call(&plain),
            ClientKind::Namespaced => call(&namespaced),
            ClientKind::Login => {
                let client = NamingClient::builder()
                    .server_addresses(recorder.address())
                    .username("nacos")
                    .password("secret")
                    .build()
                    .unwrap();
                call(&client)
            }
        };
        result.unwrap_or_else(|e| panic!("step {name}: {e}"));
    }
}

fn run_python(python: &Path, recorder: &Recorder) {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../compat/python/record_seed_calls.py");
    let output = Command::new(python)
        .arg(&script)
        .arg(recorder.address())
        .output()
        .expect("run the python script");
    assert!(
        output.status.success(),
        "{} failed:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// nacos-sdk-python 1.0.0 and this client send the same requests but for the listed fixes.
#[test]
fn seed_calls_match_nacos_sdk_python_on_the_wire() {
    let python = skip_unless_python!();
    let theirs = Recorder::start();
    run_python(&python, &theirs);
    let ours = Recorder::start();
    run_rust(&ours);

    let mut python = by_step(theirs.requests());
    let mut rust = by_step(ours.requests());
    let names: Vec<&str> = steps().iter().map(|(name, _, _)| *name).collect();
    assert_eq!(
        python.keys().map(String::as_str).collect::<Vec<_>>(),
        {
            let mut sorted = names.clone();
            sorted.sort();
            sorted
        },
        "the Python script ran the same steps"
    );

    let mut seen = vec![false; FIXES.len()];
    let mut mismatches = Vec::new();
    for name in &names {
        let mut step = Step {
            name,
            python: python.get_mut(*name).expect("python step"),
            rust: rust.entry(name.to_string()).or_default(),
        };
        for (i, fix) in FIXES.iter().enumerate() {
            seen[i] |= (fix.apply)(&mut step);
        }
        if step.python != step.rust {
            mismatches.push(format!(
                "step {name}:\n  nacos-sdk-python: {:?}\n  this client:      {:?}",
                step.python, step.rust
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "requests differ:\n{}",
        mismatches.join("\n")
    );
    for (fix, seen) in FIXES.iter().zip(seen) {
        assert!(
            seen || !fix.always_seen,
            "fix '{}' no longer shows on the wire: update FIXES ({})",
            fix.name,
            fix.reason
        );
    }
}

// Where Python cannot be compared: 1.0.0's get takes no group. The beat's inner service name
// must be grouped too (alibaba/nacos#6693).
/// The get and the beat carry the group asked for, inside the beat body too.
#[test]
fn get_and_beat_carry_the_group() {
    let recorder = Recorder::start();
    let client = NamingClient::new(recorder.address().as_str()).unwrap();
    client
        .get_naming_instance(SERVICE, IP, PORT)
        .group_name("microservices")
        .cluster_name("production")
        .send()
        .unwrap();
    client
        .send_heartbeat(SERVICE, IP, PORT)
        .group_name("microservices")
        .send()
        .unwrap();
    let requests = recorder.requests();
    let get = requests
        .iter()
        .find(|r| r.method == "GET")
        .expect("the get");
    assert_eq!(get.param("groupName"), Some("microservices"));
    assert_eq!(get.param("clusterName"), Some("production"));
    let beat = requests.iter().find(|r| r.path == BEAT).expect("the beat");
    assert_eq!(
        beat.param("serviceName"),
        Some("microservices@@user-service")
    );
    assert_eq!(beat.param("groupName"), Some("microservices"));
    let body: serde_json::Value = serde_json::from_str(beat.param("beat").expect("a beat body"))
        .expect("the beat body is JSON");
    assert_eq!(body["serviceName"], "microservices@@user-service");
    assert_eq!(body["ip"], IP);
    assert_eq!(body["port"], PORT);
}

/// Username/password: one login with the credentials, then the token on every call.
#[test]
fn login_once_then_the_token_on_every_call() {
    let recorder = Recorder::start();
    let client = NamingClient::builder()
        .server_addresses(recorder.address())
        .username("nacos")
        .password("secret")
        .build()
        .unwrap();
    client
        .add_naming_instance(SERVICE, IP, PORT)
        .send()
        .unwrap();
    client
        .modify_naming_instance(SERVICE, IP, PORT)
        .weight(2.0)
        .send()
        .unwrap();
    client.list_naming_instance(SERVICE).send().unwrap();
    client
        .get_naming_instance(SERVICE, IP, PORT)
        .send()
        .unwrap();
    client.send_heartbeat(SERVICE, IP, PORT).send().unwrap();
    client
        .remove_naming_instance(SERVICE, IP, PORT)
        .send()
        .unwrap();

    let requests = recorder.requests();
    let logins: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.path.contains("/auth/"))
        .collect();
    // The v3 login first (404 here, as on 1.x and 2.x), then the V1 login, once.
    assert_eq!(logins.len(), 2, "{logins:?}");
    assert_eq!(logins[0].path, "/nacos/v3/auth/user/login");
    let logins = &logins[1..];
    let login = logins[0];
    assert_eq!(login.method, "POST");
    let credentials = params(&login.query)
        .into_iter()
        .chain(params(&login.body))
        .collect::<BTreeMap<_, _>>();
    assert_eq!(
        credentials.get("username").map(String::as_str),
        Some("nacos")
    );
    assert_eq!(
        credentials.get("password").map(String::as_str),
        Some("secret")
    );
    let calls: Vec<&Recorded> = requests
        .iter()
        .filter(|r| !r.path.contains("/auth/"))
        .collect();
    assert!(calls.len() >= 6, "{calls:?}");
    for call in calls {
        // In a header, not the URL, where access logs would keep it.
        assert_eq!(call.param("accessToken"), None, "{call:?}");
        let bearer = format!("Bearer {TOKEN}");
        assert_eq!(
            call.authorization.as_deref(),
            Some(bearer.as_str()),
            "{call:?}"
        );
    }
}

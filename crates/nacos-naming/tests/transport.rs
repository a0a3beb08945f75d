//! The transport against tiny scripted HTTP servers on loopback: failover, what ends a call at
//! once, retries on a lone server, login and re-login, keep-alive, timeouts and size limits.
//!
//! These servers answer whatever the test scripts, which is the point: they produce the
//! failures (closed ports, 5xx, stalls, refused tokens) that a real server will not on cue.
//! What a real server answers is covered by the conformance suite.

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nacos_naming::{Error, NamingClient};
use nacos_test_support::{write_response, ReceivedRequest};

/// One request as the scripted server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: HashMap<String, String>,
    body: String,
    user_agent: String,
    authorization: String,
}

/// What the script answers: a status and a body.
type Script = dyn Fn(&Seen) -> (u16, String) + Send + Sync;

/// An HTTP/1.1 server on `127.0.0.1:0` that answers by script, keeps connections alive and
/// records every request.
struct Scripted {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Scripted {
    fn start(script: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Scripted {
        Scripted::start_with(None, script)
    }

    /// The same over https, with the test certificate of `tests/fixtures/tls`.
    fn start_tls(script: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Scripted {
        Scripted::start_with(Some(tls_config()), script)
    }

    fn start_with(
        tls: Option<Arc<rustls::ServerConfig>>,
        script: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static,
    ) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let acceptor = {
            let (seen, connections, stop) = (seen.clone(), connections.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let (seen, script, tls) = (seen.clone(), script.clone(), tls.clone());
                    thread::spawn(move || match tls {
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(conn, stream), &seen, &*script)
                        }
                        None => serve(stream, &seen, &*script),
                    });
                }
            })
        };
        Scripted {
            addr,
            seen,
            connections,
            stop,
            acceptor: Some(acceptor),
        }
    }

    fn address(&self) -> String {
        self.addr.to_string()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the acceptor so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

/// Answers requests on one connection until the client closes it.
fn serve(stream: impl Read + Write, seen: &Mutex<Vec<Seen>>, script: &Script) {
    let mut reader = BufReader::new(stream);
    while let Some(received) = ReceivedRequest::read(&mut reader) {
        let request = Seen {
            user_agent: received.header("user-agent").unwrap_or_default().to_owned(),
            authorization: received
                .header("authorization")
                .unwrap_or_default()
                .to_owned(),
            body: String::from_utf8_lossy(&received.body).into_owned(),
            method: received.method,
            path: received.path,
            query: received.query.into_iter().collect(),
        };
        seen.lock().unwrap().push(request.clone());
        let (status, answer) = script(&request);
        if write_response(reader.get_mut(), status, "text/plain", &answer, false).is_err() {
            return;
        }
    }
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(&std::fs::read(fixture("server.pem")).unwrap())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key =
        PrivateKeyDer::from_pem_slice(&std::fs::read(fixture("server.key")).unwrap()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    Arc::new(config)
}

/// A loopback port with nothing listening on it.
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

const SERVICE: &str = r#"{"name":"DEFAULT_GROUP@@svc","cacheMillis":10000,"hosts":[]}"#;

fn list(client: &NamingClient) -> Result<nacos_naming::ServiceInfo, Error> {
    client.list_naming_instance("svc").send()
}

/// A closed first server: every call still succeeds, and after the first the client starts at
/// the live server.
#[test]
fn fails_over_past_a_closed_port() {
    let live = Scripted::start(|_| (200, SERVICE.into()));
    let client = NamingClient::new(format!("{},{}", closed_port(), live.address())).unwrap();
    for _ in 0..10 {
        list(&client).unwrap();
    }
    assert_eq!(live.count(), 10);
}

/// A 4xx ends the call at once with the server's text: no other server is asked.
#[test]
fn a_4xx_is_returned_at_once() {
    let a = Scripted::start(|_| (400, "caused: Param 'ip' is required.".into()));
    let b = Scripted::start(|_| (400, "caused: Param 'ip' is required.".into()));
    let client = NamingClient::new(format!("{},{}", a.address(), b.address())).unwrap();
    match list(&client) {
        Err(Error::Server {
            status: 400,
            message,
            ..
        }) => {
            assert_eq!(message, "caused: Param 'ip' is required.")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(a.count() + b.count(), 1);
}

/// A 500 on every server comes back as `Error::Server` with the server's reason, not as
/// "no server available"; each server is asked once.
#[test]
fn keeps_the_text_of_a_500() {
    let a = Scripted::start(|_| (500, "serviceName is invalid!".into()));
    let b = Scripted::start(|_| (500, "serviceName is invalid!".into()));
    let client = NamingClient::new(format!("{},{}", a.address(), b.address())).unwrap();
    let e = list(&client).unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert!(e.to_string().contains("serviceName is invalid!"), "{e}");
    assert_eq!((a.count(), b.count()), (1, 1));
}

/// A 500 on one server and an answer on the other: the call succeeds.
#[test]
fn gets_past_a_failing_server() {
    let failing = Scripted::start(|_| (503, "busy".into()));
    let live = Scripted::start(|_| (200, SERVICE.into()));
    let client = NamingClient::new(format!("{},{}", failing.address(), live.address())).unwrap();
    for _ in 0..5 {
        list(&client).unwrap();
    }
    assert_eq!(live.count(), 5);
    assert!(failing.count() <= 1, "{}", failing.count());
}

/// A lone server is tried three times, for a 5xx and for a closed port alike.
#[test]
fn a_lone_server_is_tried_three_times() {
    let busy = Scripted::start(|_| (503, "try later".into()));
    let client = NamingClient::new(busy.address()).unwrap();
    assert_eq!(list(&client).unwrap_err().status(), Some(503));
    assert_eq!(busy.count(), 3);

    let closed = closed_port();
    let client = NamingClient::new(closed.clone()).unwrap();
    match list(&client) {
        Err(Error::Request(failure)) => {
            assert_eq!(failure.attempts.len(), 3);
            assert!(failure.attempts.iter().all(|a| a.server == closed));
            assert_eq!(failure.request, "GET /nacos/v1/ns/instance/list");
        }
        other => panic!("{other:?}"),
    }
}

/// No server answering gives `Error::Request` naming every server and its cause.
#[test]
fn unreachable_servers_give_every_cause() {
    let (a, b) = (closed_port(), closed_port());
    let client = NamingClient::new(format!("{a},{b}")).unwrap();
    match list(&client) {
        Err(e @ Error::Request(_)) => {
            let shown = e.to_string();
            assert!(shown.contains(&a) && shown.contains(&b), "{shown}");
            assert!(std::error::Error::source(&e).is_some());
        }
        other => panic!("{other:?}"),
    }
}

/// A server that accepts but never answers costs one timeout, then the next server answers.
#[test]
fn a_stalled_server_times_out_and_fails_over() {
    let stalled = TcpListener::bind("127.0.0.1:0").unwrap();
    let live = Scripted::start(|_| (200, SERVICE.into()));
    let client = NamingClient::builder()
        .server_addresses(format!(
            "{},{}",
            stalled.local_addr().unwrap(),
            live.address()
        ))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    for _ in 0..3 {
        list(&client).unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(live.count(), 3);
}

/// Calls reuse one kept-alive connection.
#[test]
fn reuses_connections() {
    let live = Scripted::start(|_| (200, SERVICE.into()));
    let client = NamingClient::new(live.address()).unwrap();
    let clone = client.clone();
    for _ in 0..5 {
        list(&client).unwrap();
        list(&clone).unwrap();
    }
    assert_eq!(live.connections.load(Ordering::SeqCst), 1);
}

/// An answer larger than the limit is not read whole; the call fails.
#[test]
fn refuses_oversized_answers() {
    let big = Scripted::start(|_| {
        (
            200,
            format!("{{\"hosts\":[],\"pad\":\"{}\"}}", "x".repeat(64 * 1024)),
        )
    });
    let client = NamingClient::builder()
        .server_addresses(big.address())
        .max_response_size(16 * 1024)
        .build()
        .unwrap();
    assert!(matches!(list(&client), Err(Error::Request(_))));
}

/// Undecodable answers are `Error::Decode`, not a panic.
#[test]
fn undecodable_answers_are_decode_errors() {
    let odd = Scripted::start(|_| (200, "<html>proxy page</html>".into()));
    let client = NamingClient::new(odd.address()).unwrap();
    assert!(matches!(list(&client), Err(Error::Decode { .. })));
    // A write answered 2xx with an unexpected body still took effect.
    client
        .add_naming_instance("svc", "10.0.0.1", 80)
        .send()
        .unwrap();
}

/// Invalid arguments are refused before anything is sent.
#[test]
fn invalid_input_sends_nothing() {
    let live = Scripted::start(|_| (200, "ok".into()));
    let client = NamingClient::new(live.address()).unwrap();
    let r = client.add_naming_instance("svc", "10.0.0.1", 0).send();
    assert!(matches!(r, Err(Error::InvalidParam { param: "port", .. })));
    let r = client.list_naming_instance("svc").group_name("a@@b").send();
    assert!(matches!(
        r,
        Err(Error::InvalidParam {
            param: "group_name",
            ..
        })
    ));
    let r = client.send_heartbeat("", "10.0.0.1", 1).send();
    assert!(matches!(
        r,
        Err(Error::InvalidParam {
            param: "service_name",
            ..
        })
    ));
    assert_eq!(live.count(), 0);
}

/// A login server: hands out `T1`, `T2`… and accepts only the newest token.
fn auth_server(refuse_all: bool) -> (Scripted, Arc<AtomicUsize>) {
    let logins = Arc::new(AtomicUsize::new(0));
    let counter = logins.clone();
    let server = Scripted::start(move |r| {
        // A 1.x/2.x server: no v3 login, so the client falls back to the V1 one.
        if r.path == "/nacos/v3/auth/user/login" {
            return (404, "No endpoint".into());
        }
        if r.path == "/nacos/v1/auth/login" {
            if r.body != "password=s%40cret%26" {
                return (403, "unknown user!".into());
            }
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            return (200, format!(r#"{{"accessToken":"T{n}","tokenTtl":18000}}"#));
        }
        let newest = format!("T{}", counter.load(Ordering::SeqCst));
        if refuse_all || r.authorization != format!("Bearer {newest}") {
            return (403, "token expired!".into());
        }
        (200, SERVICE.into())
    });
    (server, logins)
}

fn auth_client(server: &Scripted, password: &str) -> Result<NamingClient, Error> {
    NamingClient::builder()
        .server_addresses(server.address())
        .username("nacos")
        .password(password)
        .build()
}

/// The client logs in when built (the v3 login first, then V1 on its 404) and sends the
/// token; the password stays out of the URL.
#[test]
fn logs_in_and_sends_the_token() {
    let (server, logins) = auth_server(false);
    let client = auth_client(&server, "s@cret&").unwrap();
    assert_eq!(logins.load(Ordering::SeqCst), 1);
    list(&client).unwrap();
    list(&client).unwrap();
    assert_eq!(logins.load(Ordering::SeqCst), 1);
    let seen = server.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/nacos/v3/auth/user/login")
    );
    let seen = &seen[1..];
    let login = &seen[0];
    assert_eq!(
        (login.method.as_str(), login.path.as_str()),
        ("POST", "/nacos/v1/auth/login")
    );
    assert_eq!(
        login.query.get("username").map(String::as_str),
        Some("nacos")
    );
    assert!(!login.query.contains_key("password"));
    // The token rides in a header, never in the URL (which lands in access logs).
    assert!(seen[1..].iter().all(|r| r.authorization == "Bearer T1"));
    assert!(seen.iter().all(|r| !r.query.contains_key("accessToken")));
    assert!(!format!("{client:?}").contains("s@cret"));
}

/// A 403 makes the client log in again once and repeat the call.
#[test]
fn logs_in_again_once_on_403() {
    let (server, logins) = auth_server(false);
    let client = auth_client(&server, "s@cret&").unwrap();
    // The server forgets the token (a restart): the next login gives T2.
    logins.fetch_add(1, Ordering::SeqCst);
    list(&client).unwrap();
    assert_eq!(logins.load(Ordering::SeqCst), 3);
    let calls: Vec<_> = server
        .seen()
        .into_iter()
        .filter(|r| r.path.ends_with("/list"))
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].authorization, "Bearer T3");

    // A server that refuses every token: one more login, then its 403.
    let (server, logins) = auth_server(true);
    let client = auth_client(&server, "s@cret&").unwrap();
    let e = list(&client).unwrap_err();
    assert_eq!(e.status(), Some(403));
    assert!(e.to_string().contains("token expired!"), "{e}");
    assert_eq!(logins.load(Ordering::SeqCst), 2);
}

/// A wrong password fails `build()` with the server's 403.
#[test]
fn a_wrong_password_fails_build() {
    let (server, _) = auth_server(false);
    match auth_client(&server, "wrong") {
        Err(Error::Server {
            status: 403,
            message,
            ..
        }) => assert_eq!(message, "unknown user!"),
        other => panic!("{other:?}"),
    }
}

/// With an access key every call is signed; the user agent names this client.
#[test]
fn signs_calls_and_names_itself() {
    let live = Scripted::start(|_| (200, SERVICE.into()));
    let client = NamingClient::builder()
        .server_addresses(live.address())
        .access_key("AK1")
        .secret_key("SK1")
        .build()
        .unwrap();
    client
        .list_naming_instance("svc")
        .group_name("G1")
        .send()
        .unwrap();
    let r = &live.seen()[0];
    assert_eq!(r.query["ak"], "AK1");
    let data = &r.query["data"];
    let (ts, rest) = data.split_once("@@").unwrap();
    assert!(ts.parse::<u64>().is_ok(), "{data}");
    assert_eq!(rest, "G1@@svc");
    assert_eq!(r.query["signature"].len(), 28);
    assert!(
        r.user_agent.starts_with("nacos-naming-rust/"),
        "{}",
        r.user_agent
    );
    assert!(!r.query.contains_key("accessToken") && r.authorization.is_empty());
}

/// Modify reads the instance first and writes back what it did not change; with weight,
/// enabled and metadata all named it writes without reading.
#[test]
fn modify_reads_then_writes_the_full_set() {
    let server = Scripted::start(|r| match r.method.as_str() {
        "GET" => (
            200,
            r#"{"ip":"10.0.0.1","port":80,"weight":3.0,"enabled":false,"ephemeral":true,
                "clusterName":"c1","metadata":{"keep":"me"}}"#
                .into(),
        ),
        _ => (200, "ok".into()),
    });
    let client = NamingClient::new(server.address()).unwrap();
    client
        .modify_naming_instance("svc", "10.0.0.1", 80)
        .cluster_name("c1")
        .group_name("G")
        .weight(2.0)
        .send()
        .unwrap();
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let (get, put) = (&seen[0], &seen[1]);
    assert_eq!((get.method.as_str(), put.method.as_str()), ("GET", "PUT"));
    for r in [get, put] {
        assert_eq!(r.query["clusterName"], "c1");
        assert_eq!(r.query["groupName"], "G");
    }
    assert_eq!(put.query["weight"], "2.0");
    assert_eq!(put.query["enabled"], "false");
    assert_eq!(put.query["enable"], "false");
    assert_eq!(put.query["metadata"], r#"{"keep":"me"}"#);

    client
        .modify_naming_instance("svc", "10.0.0.1", 80)
        .weight(1.0)
        .enabled(true)
        .metadata([("a", "b")])
        .send()
        .unwrap();
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[2].method, "PUT");
    assert_eq!(seen[2].query["metadata"], r#"{"a":"b"}"#);
}

/// https servers are verified: trusted through `ca_file`, refused without it (no request
/// reaches the server, and there is no way to skip verification).
#[test]
fn verifies_https_servers() {
    let server = Scripted::start_tls(|_| (200, SERVICE.into()));
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    let trusted = NamingClient::builder()
        .server_addresses(&url)
        .ca_file(fixture("ca.pem"))
        .build()
        .unwrap();
    list(&trusted).unwrap();
    list(&trusted).unwrap();
    assert_eq!(server.count(), 2);

    let untrusted = NamingClient::new(&url).unwrap();
    match list(&untrusted) {
        Err(Error::Request(failure)) => {
            let shown = failure.to_string().to_lowercase();
            assert!(
                shown.contains("certificate") || shown.contains("issuer"),
                "{shown}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count(), 2);
}

//! A recording HTTP server: answers naming calls with plausible canned answers, so a client
//! goes on as with a real server, and keeps every request it received, grouped by step.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use nacos_test_support::{write_response, ReceivedRequest};

/// The token the recorder hands out on login.
pub const TOKEN: &str = "wire-token";

/// One request as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The step marked last before it arrived (empty before any mark).
    pub step: String,
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// Query parameters, decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// Form body parameters, decoded, in the order sent.
    pub body: Vec<(String, String)>,
    /// The `Authorization` header, if sent.
    pub authorization: Option<String>,
}

impl Recorded {
    /// A query parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Log {
    step: String,
    requests: Vec<Recorded>,
}

/// The running recorder; stops accepting on drop.
pub struct Recorder {
    address: String,
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Starts on a free port of 127.0.0.1.
    pub fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the recorder");
        let address = listener.local_addr().unwrap().to_string();
        let log = Arc::new(Mutex::new(Log::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        let log = log.clone();
                        std::thread::spawn(move || serve(stream, &log));
                    }
                }
            })
        };
        Recorder {
            address,
            log,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// `127.0.0.1:port`.
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// Names the step the next requests belong to.
    pub fn mark(&self, step: &str) {
        self.log.lock().unwrap().step = step.to_owned();
    }

    /// Every request received so far (marks excluded).
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().requests.clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(&self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Serves one connection, request after request (keep-alive), until it closes or idles.
fn serve(stream: TcpStream, log: &Mutex<Log>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    while let Some(received) = ReceivedRequest::read(&mut reader) {
        let close = received.wants_close();
        let request = Recorded {
            step: String::new(),
            authorization: received.header("authorization").map(str::to_owned),
            body: received.form(),
            method: received.method,
            path: received.path,
            query: received.query,
        };
        let (status, answer) = answer(&request);
        {
            let mut log = log.lock().unwrap();
            if request.path == "/__mark__" {
                log.step = request.param("step").unwrap_or_default().to_owned();
            } else {
                let step = log.step.clone();
                log.requests.push(Recorded { step, ..request });
            }
        }
        let content_type = if answer.starts_with('{') {
            "application/json"
        } else {
            "text/plain"
        };
        if write_response(&mut writer, status, content_type, &answer, close).is_err() || close {
            return;
        }
    }
}

/// Plausible answers, shaped by the request, so every client proceeds as with a server.
fn answer(request: &Recorded) -> (u16, String) {
    let param = |name: &str, default: &str| request.param(name).unwrap_or(default).to_owned();
    let service = param("serviceName", "user-service");
    let group = param("groupName", "DEFAULT_GROUP");
    let grouped = if service.contains("@@") {
        service.clone()
    } else {
        format!("{group}@@{service}")
    };
    let instance = || {
        serde_json::json!({
            "instanceId": format!("{}#{}#{}#{grouped}", param("ip", "192.168.1.100"),
                param("port", "8080"), param("clusterName", "DEFAULT")),
            "ip": param("ip", "192.168.1.100"),
            "port": param("port", "8080").parse::<u16>().unwrap_or(8080),
            "weight": 1.0,
            "healthy": true,
            "enabled": true,
            "ephemeral": true,
            "clusterName": param("clusterName", "DEFAULT"),
            "serviceName": grouped,
            "metadata": {"version": "1.0.0"},
        })
    };
    match (request.method.as_str(), request.path.as_str()) {
        (_, "/__mark__") => (200, "ok".into()),
        ("POST" | "PUT" | "DELETE", "/nacos/v1/ns/instance") => (200, "ok".into()),
        ("GET", "/nacos/v1/ns/instance") => (200, instance().to_string()),
        ("GET", "/nacos/v1/ns/instance/list") => {
            let info = serde_json::json!({
                "name": grouped, "groupName": group, "clusters": param("clusters", ""),
                "cacheMillis": 10000, "hosts": [instance()], "lastRefTime": 1_700_000_000_000u64,
                "checksum": "wire", "allIPs": false, "reachProtectionThreshold": false,
            });
            (200, info.to_string())
        }
        ("PUT", "/nacos/v1/ns/instance/beat") => (
            200,
            r#"{"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":false}"#.into(),
        ),
        ("POST", "/nacos/v1/auth/login" | "/nacos/v1/auth/users/login") => (
            200,
            format!(
                r#"{{"accessToken":"{TOKEN}","tokenTtl":18000,"globalAdmin":true,"username":"nacos"}}"#
            ),
        ),
        _ => (404, "no such resource".into()),
    }
}

/// Query parameters as a map; panics on a parameter sent twice (neither client should).
pub fn params(pairs: &[(String, String)]) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (k, v) in pairs {
        assert!(
            map.insert(k.clone(), v.clone()).is_none(),
            "parameter {k} sent twice in {pairs:?}"
        );
    }
    map
}

//! Test fixture: a server on 127.0.0.1:0 and a plain HTTP client for it.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use nacos_devserver::{DevServer, DevServerBuilder};
use nacos_naming::ServiceInfo;
use serde_json::Value;

/// A running server and a keep-alive HTTP agent pointed at it.
pub struct Api {
    pub server: DevServer,
    agent: ureq::Agent,
    base: String,
}

impl Api {
    /// A server with the default settings.
    pub fn start() -> Api {
        Api::with(DevServer::builder())
    }

    /// A server from `builder` (which binds 127.0.0.1:0 unless told otherwise).
    pub fn with(builder: DevServerBuilder) -> Api {
        let server = builder.start().expect("server starts");
        Api::on(server)
    }

    /// A client for a running server.
    pub fn on(server: DevServer) -> Api {
        let base = format!("http://{}", server.addr());
        Api {
            server,
            agent: agent(),
            base,
        }
    }

    /// `method path?params` (empty body): status and body text.
    pub fn call(&self, method: &str, path: &str, params: &[(&str, &str)]) -> (u16, String) {
        request(&self.agent, &self.base, method, path, params, false)
    }

    /// `method path` with `params` as a form body: status and body text.
    pub fn form(&self, method: &str, path: &str, params: &[(&str, &str)]) -> (u16, String) {
        request(&self.agent, &self.base, method, path, params, true)
    }

    /// A call that must answer 200 `ok`.
    pub fn ok(&self, method: &str, path: &str, params: &[(&str, &str)]) {
        let (status, body) = self.call(method, path, params);
        assert_eq!(
            (status, body.as_str()),
            (200, "ok"),
            "{method} {path} {params:?}"
        );
    }

    /// A call that must answer 200 with JSON.
    pub fn json(&self, method: &str, path: &str, params: &[(&str, &str)]) -> Value {
        let (status, body) = self.call(method, path, params);
        assert_eq!(status, 200, "{method} {path} {params:?}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    /// Registers `ip:port` in `service` with extra parameters.
    pub fn register(&self, service: &str, ip: &str, port: u16, extra: &[(&str, &str)]) {
        let port = port.to_string();
        let mut params = vec![("serviceName", service), ("ip", ip), ("port", &port)];
        params.extend_from_slice(extra);
        self.ok("POST", "/nacos/v1/ns/instance", &params);
    }

    /// The list answer of `service` with extra parameters.
    pub fn list(&self, service: &str, extra: &[(&str, &str)]) -> ServiceInfo {
        let mut params = vec![("serviceName", service)];
        params.extend_from_slice(extra);
        serde_json::from_value(self.json("GET", "/nacos/v1/ns/instance/list", &params)).unwrap()
    }

    /// A light beat; the answer's `code`.
    pub fn beat(&self, service: &str, ip: &str, port: u16) -> i64 {
        let port = port.to_string();
        let answer = self.json(
            "PUT",
            "/nacos/v1/ns/instance/beat",
            &[("serviceName", service), ("ip", ip), ("port", &port)],
        );
        answer["code"].as_i64().unwrap()
    }
}

/// A keep-alive agent that returns 4xx/5xx answers instead of errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// One request; panics only if no answer comes.
pub fn request(
    agent: &ureq::Agent,
    base: &str,
    method: &str,
    path: &str,
    params: &[(&str, &str)],
    as_form: bool,
) -> (u16, String) {
    let url = format!("{base}{path}");
    let query: &[(&str, &str)] = if as_form { &[] } else { params };
    let answer = match method {
        "GET" => agent.get(&url).query_pairs(query.iter().copied()).call(),
        "DELETE" => agent.delete(&url).query_pairs(query.iter().copied()).call(),
        "POST" | "PUT" => {
            let builder = if method == "POST" {
                agent.post(&url)
            } else {
                agent.put(&url)
            };
            let builder = builder.query_pairs(query.iter().copied());
            if as_form {
                builder.send_form(params.iter().copied())
            } else {
                builder.send_empty()
            }
        }
        other => panic!("unsupported method {other}"),
    };
    let mut response = answer.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, body)
}

/// Polls `condition` every few milliseconds until it holds; panics after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

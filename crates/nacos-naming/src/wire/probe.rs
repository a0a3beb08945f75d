//! What each configured server answers, speaks and runs, for `nacosctl servers` and for
//! anyone checking a cluster before or during an upgrade.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::wire::line::Line;
use crate::wire::server_list::ServerAddr;
use crate::wire::transport::{Call, Method, Transport};
use crate::wire::{lenient, v1, v3};

/// What one server answered to [`NamingClient::probe_servers`](crate::NamingClient::probe_servers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerReport {
    /// The server (`host:port`).
    pub server: String,
    /// Whether it answered at all.
    pub answered: bool,
    /// The naming APIs it serves: `V1`, `V1 + v3 client`, `v3 client`, or `none`.
    pub api: String,
    /// The server line this points to (`Nacos 3.2+, v3 client API`…).
    pub line: String,
    /// The version the server reports (`/nacos/v3/admin/core/state`,
    /// `/nacos/v1/console/server/state`), when it does.
    pub version: Option<String>,
    /// The time of one list request, there and back.
    pub round_trip: Option<Duration>,
    /// Why it did not answer, or what it answered instead of a list.
    pub error: Option<String>,
}

/// A service name no one registers: the list answer says whether the path exists.
const PROBE_SERVICE: &str = "nacos.client.api.probe";

impl Transport {
    /// Asks every server, one after the other, whether it serves the V1 and the v3 client list
    /// and which version it runs; remembers what it learns, as calls would.
    pub(crate) fn probe_servers(&self) -> Vec<ServerReport> {
        let token = self.current_token();
        let token = token.as_deref();
        self.servers()
            .iter()
            .enumerate()
            .map(|(index, server)| {
                let v1_list = Call::new(Method::Get, v1::LIST_PATH)
                    .param("serviceName", PROBE_SERVICE)
                    .param("healthyOnly", "false");
                let started = Instant::now();
                let v1_status = match self.attempt(server, &v1_list, token) {
                    Ok((status, _)) => status,
                    Err(e) => {
                        return ServerReport {
                            server: server.to_string(),
                            answered: false,
                            api: "none".into(),
                            line: "not answering".into(),
                            version: None,
                            round_trip: None,
                            error: Some(e.to_string()),
                        }
                    }
                };
                let round_trip = started.elapsed();
                let v3_list =
                    Call::new(Method::Get, v3::LIST_PATH).param("serviceName", PROBE_SERVICE);
                let v3_status = self
                    .attempt(server, &v3_list, token)
                    .map_or(0, |(status, _)| status);
                let ok = |s: u16| (200..300).contains(&s);
                let (api, line) = match (ok(v1_status), ok(v3_status)) {
                    (true, true) => ("V1 + v3 client", Line::V1OpenOnly),
                    (true, false) => ("V1", Line::V1),
                    (false, true) => ("v3 client", Line::V3),
                    (false, false) => ("none", Line::Unknown),
                };
                if line != Line::Unknown {
                    self.learn(index, line);
                }
                let error = (line == Line::Unknown)
                    .then(|| format!("the V1 list answered {v1_status}, the v3 list {v3_status}"));
                ServerReport {
                    server: server.to_string(),
                    answered: true,
                    api: api.into(),
                    line: line.to_string(),
                    version: self.version(server, token),
                    round_trip: Some(round_trip),
                    error,
                }
            })
            .collect()
    }

    /// `data.version` of the v3 state, else `version` of the V1 console state.
    fn version(&self, server: &ServerAddr, token: Option<&str>) -> Option<String> {
        #[derive(Deserialize)]
        struct State {
            #[serde(default, deserialize_with = "lenient::opt_string")]
            version: Option<String>,
        }
        let v3_state = Call::new(Method::Get, v3::STATE_PATH);
        if let Ok((200, body)) = self.attempt(server, &v3_state, token) {
            if let Some(version) = v3::read_version(&body) {
                return Some(version);
            }
        }
        let v1_state = Call::new(Method::Get, v1::STATE_PATH);
        match self.attempt(server, &v1_state, token) {
            Ok((200, body)) => serde_json::from_str::<State>(&body).ok()?.version,
            _ => None,
        }
    }
}

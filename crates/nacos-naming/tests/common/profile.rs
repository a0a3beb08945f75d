//! The servers the conformance suite runs against, and what each one is allowed to do
//! differently.
//!
//! The suite is written once; every test takes a [`Profile`]. The devserver is the reference:
//! it is held to the official server's behaviour in every detail, as each official server line
//! ([`NacosVersion`]). rnacos 0.8.8 is a real server with known differences from official
//! Nacos. Each difference, of rnacos or of a line from 2.x, is a method here, and a test that
//! meets one asks the profile instead of weakening its assertion for every server.

use std::time::Duration;

use nacos_devserver::NacosVersion;
use nacos_naming::{Instance, NamingClient, ServiceInfo};
use nacos_test_support::{http, Rnacos};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// nacos-devserver, in-process, behaving as one official server line.
    DevServer(NacosVersion),
    /// rnacos 0.8.8, a child process.
    Rnacos,
}

/// A server the suite runs against.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub kind: Kind,
}

/// How fast ephemeral instances lose their health: the shortest each server allows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Short health timeouts, for the tests that wait for an instance to turn unhealthy.
    pub short_health_timeout: bool,
}

enum Handle {
    Dev(Option<nacos_devserver::DevServer>),
    Rnacos(Rnacos),
}

/// A running server; stopped on drop.
pub struct Server {
    handle: Handle,
    address: String,
    /// Whether the V1 naming paths answer (not on 3.2+), for the calls made without the
    /// client under test.
    v1: bool,
}

impl Profile {
    /// The devserver as the line `version`, or `None` never: it is always there.
    pub fn devserver(version: NacosVersion) -> Option<Profile> {
        Some(Profile {
            kind: Kind::DevServer(version),
        })
    }

    /// rnacos, or `None` after printing that the test is skipped (a failure under CI).
    pub fn rnacos() -> Option<Profile> {
        nacos_test_support::rnacos_or_skip().map(|_| Profile { kind: Kind::Rnacos })
    }

    /// Starts a server with default timeouts.
    pub fn start(&self) -> Server {
        self.start_with(Options::default())
    }

    /// Starts a server.
    pub fn start_with(&self, options: Options) -> Server {
        match self.kind {
            Kind::DevServer(version) => {
                let mut builder = nacos_devserver::DevServer::builder()
                    .bind("127.0.0.1:0")
                    .nacos_version(version);
                if options.short_health_timeout {
                    builder = builder
                        .health_timeout(Duration::from_millis(500))
                        .expire_timeout(Duration::from_secs(60));
                }
                let server = builder.start().expect("start the devserver");
                let address = server.addr().to_string();
                Server {
                    handle: Handle::Dev(Some(server)),
                    address,
                    v1: version != NacosVersion::V3_2,
                }
            }
            Kind::Rnacos => {
                let mut builder = Rnacos::builder();
                if options.short_health_timeout {
                    // rnacos counts in seconds, adds about 3 s and checks every 2 s.
                    builder = builder.health_timeout_secs(1).instance_timeout_secs(120);
                }
                let server = builder.start().expect("start rnacos");
                let address = server.address();
                Server {
                    handle: Handle::Rnacos(server),
                    address,
                    v1: true,
                }
            }
        }
    }

    /// How long an instance without beats may take to turn unhealthy, with short timeouts.
    pub fn unhealthy_within(&self) -> Duration {
        match self.kind {
            Kind::DevServer(_) => Duration::from_secs(5),
            // 1 s + rnacos's 3 s margin + its 2 s check period, and some slack.
            Kind::Rnacos => Duration::from_secs(15),
        }
    }

    fn is_devserver(&self) -> bool {
        matches!(self.kind, Kind::DevServer(_))
    }

    /// The devserver's line; rnacos speaks the V1 API as 2.x does.
    fn line(&self) -> NacosVersion {
        match self.kind {
            Kind::DevServer(version) => version,
            Kind::Rnacos => NacosVersion::V2,
        }
    }

    // The tolerances. Each names one documented difference of rnacos from official Nacos, or
    // one of a server line from the 2.x the cases were written for.

    /// Whether `clusters=` filters the list. rnacos ignores the filter.
    pub fn filters_clusters(&self) -> bool {
        self.is_devserver()
    }

    /// Whether registering an ip:port in another cluster moves the instance there (official
    /// 2.x and 3.x, and the devserver's default line). rnacos keeps one instance per ip:port
    /// too, but its get ignores the cluster, so this cannot be seen there.
    /// On 1.4 the instance is kept per cluster, so the same ip:port sits in both clusters.
    pub fn moves_between_clusters(&self) -> bool {
        self.is_devserver() && self.line() != NacosVersion::V1_4
    }

    /// Whether a modify lays its metadata over the registration's (official 2.x and 3.x, the
    /// devserver's default line). rnacos replaces the metadata with what is sent.
    /// 1.4 replaces it; on 3.x the client without admin credentials modifies by registering
    /// again (the V1 modify answers 410 on 3.0–3.1 and 404 on 3.2+), which replaces it too.
    pub fn modify_merges_metadata(&self) -> bool {
        self.is_devserver() && self.line() == NacosVersion::V2
    }

    /// Whether get finds a disabled instance. On 3.x the client without admin credentials
    /// reads through the v3 client list, which leaves disabled instances out.
    pub fn gets_disabled_instances(&self) -> bool {
        !matches!(self.line(), NacosVersion::V3_1 | NacosVersion::V3_2)
    }

    /// Whether the client's full beat re-creates an unknown instance (the V1 beat carries the
    /// instance). The v3 renew does not: it answers 21003, which the client reports as 20404
    /// (its heartbeat scheduler then registers the instance again).
    pub fn beat_recreates_unknown_instance(&self) -> bool {
        self.line() != NacosVersion::V3_2
    }

    /// Whether `@@name` reaches the server as a grouped name it refuses. On 3.2+ the client
    /// sends group and name apart (the v3 API has a `groupName`), so an empty group is the
    /// default group there.
    pub fn refuses_grouped_name_without_group(&self) -> bool {
        self.line() != NacosVersion::V3_2
    }

    /// Whether `GET /instance` honours `clusterName`. rnacos ignores it.
    pub fn get_honours_cluster(&self) -> bool {
        self.is_devserver()
    }

    /// Whether a modify that sends `weight=1.0` applies it. rnacos ignores that value
    /// (it leaves the weight as it was).
    pub fn applies_weight_one_on_modify(&self) -> bool {
        self.is_devserver()
    }

    /// The status of an answer about an instance that does not exist: 404 officially; rnacos
    /// answers 500 with a text for nearly every error.
    pub fn not_found_status(&self) -> u16 {
        match self.kind {
            Kind::DevServer(_) => 404,
            Kind::Rnacos => 500,
        }
    }

    /// The status of a refused parameter the client cannot check itself: 400 officially;
    /// rnacos answers 500 with a text.
    pub fn bad_request_status(&self) -> u16 {
        match self.kind {
            Kind::DevServer(_) => 400,
            Kind::Rnacos => 500,
        }
    }

    /// Whether `healthy=false` on registration is kept. rnacos 0.8.8 registers every instance
    /// healthy whatever the flag says (the client does send `healthy=false`: see the wire
    /// comparison).
    pub fn keeps_registered_unhealthy_flag(&self) -> bool {
        self.is_devserver()
    }

    /// The code of a beat without a body for an unknown instance: 20404 officially; 21003 for
    /// the v3 renew on 3.2+ (no V1 beat there); rnacos answers 10200 and re-creates the
    /// instance.
    pub fn light_beat_for_unknown_code(&self) -> i64 {
        match self.kind {
            Kind::Rnacos => 10200,
            Kind::DevServer(NacosVersion::V3_2) => 21003,
            Kind::DevServer(_) => 20404,
        }
    }
}

impl Server {
    /// `127.0.0.1:port`.
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// A client of this server alone.
    pub fn client(&self) -> NamingClient {
        self.client_builder().build().expect("build a client")
    }

    /// A client builder already pointed at this server, with a short timeout.
    pub fn client_builder(&self) -> nacos_naming::NamingClientBuilder {
        NamingClient::builder()
            .server_addresses(self.address.as_str())
            .timeout(Duration::from_secs(5))
    }

    /// The service's instances as the server holds them, asked without the client under test
    /// (disabled and unhealthy ones included where the server lists them).
    pub fn hosts(&self, service: &str, group: &str, namespace: Option<&str>) -> Vec<Instance> {
        if !self.v1 {
            return self.hosts_v3(service, group, namespace);
        }
        let mut path = format!(
            "/nacos/v1/ns/instance/list?serviceName={service}&groupName={group}&healthyOnly=false"
        );
        if let Some(namespace) = namespace {
            path.push_str(&format!("&namespaceId={namespace}"));
        }
        let answer = http(&self.address, "GET", &path).expect("list through raw http");
        assert_eq!(answer.status, 200, "raw list: {}", answer.body);
        serde_json::from_str::<ServiceInfo>(&answer.body)
            .expect("a service info")
            .hosts
    }

    /// [`hosts`](Self::hosts) on 3.2+: the v3 client list names no cluster, so it lists
    /// every cluster's enabled instances, healthy or not, as the V1 list does.
    fn hosts_v3(&self, service: &str, group: &str, namespace: Option<&str>) -> Vec<Instance> {
        let mut path =
            format!("/nacos/v3/client/ns/instance/list?serviceName={service}&groupName={group}");
        if let Some(namespace) = namespace {
            path.push_str(&format!("&namespaceId={namespace}"));
        }
        let answer = http(&self.address, "GET", &path).expect("list through raw http");
        assert_eq!(answer.status, 200, "raw v3 list: {}", answer.body);
        let envelope: serde_json::Value = serde_json::from_str(&answer.body).expect("JSON");
        serde_json::from_value(envelope["data"].clone()).expect("an instance array")
    }

    /// Registers an ephemeral instance without the client under test, so no client beats it.
    pub fn register_raw(&self, service: &str, ip: &str, port: u16) {
        let version = if self.v1 { "v1" } else { "v3/client" };
        let path = format!(
            "/nacos/{version}/ns/instance?serviceName={service}&ip={ip}&port={port}&ephemeral=true"
        );
        let answer = http(&self.address, "POST", &path).expect("register through raw http");
        assert_eq!(answer.status, 200, "raw register: {}", answer.body);
        if self.v1 {
            assert_eq!(answer.body, "ok", "raw register");
        }
    }

    /// Sends a beat without a body (a "light" beat; on 3.2+ the v3 renew), without the client
    /// under test, and gives back the beat answer's code.
    pub fn light_beat_raw(&self, service: &str, ip: &str, port: u16) -> i64 {
        let (method, path) = if self.v1 {
            ("PUT", "/nacos/v1/ns/instance/beat?")
        } else {
            ("POST", "/nacos/v3/client/ns/instance?heartBeat=true&")
        };
        let path = format!("{path}serviceName={service}&ip={ip}&port={port}");
        let body = http(&self.address, method, &path).expect("light beat").body;
        let answer: serde_json::Value = serde_json::from_str(&body).expect("a JSON beat answer");
        answer["code"].as_i64().expect("a code")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.handle {
            Handle::Dev(server) => {
                if let Some(server) = server.take() {
                    let stopped = server.shutdown();
                    // Not while unwinding: a second panic would abort the test run.
                    if !std::thread::panicking() {
                        stopped.expect("the devserver shuts down cleanly");
                    }
                }
            }
            Handle::Rnacos(server) => server.kill(),
        }
    }
}

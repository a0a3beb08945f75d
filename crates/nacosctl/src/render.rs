//! What each result looks like on stdout: an aligned table for people (`wide` adds every
//! field), one JSON object per line or one YAML document per result for programs.
//!
//! The structured shapes are this tool's own and the same across commands: an instance is
//! always `{serviceName, groupName, clusterName, ip, port, weight, healthy, enabled,
//! ephemeral, instanceId, metadata}` with the plain service name (never `group@@service`),
//! whether it comes from `list`, `get`, `select` or `watch`. Instances are sorted by address
//! (10.0.0.9 before 10.0.0.10), then port.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::IpAddr;

use nacos_naming::{BeatInfo, Instance, ServerReport};
use serde::Serialize;

use crate::cli::Output;
use crate::metadata;
use crate::table::{printable, Table};

/// Prints results in one format. Each result is written with one `write_all` of whole lines,
/// so lines from different threads (watch events) never interleave.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    format: Output,
}

/// Which service a result is about: the plain name and its group.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServiceId<'a> {
    pub(crate) service_name: &'a str,
    pub(crate) group_name: &'a str,
}

/// An instance a write call named, as the write results show it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Target<'a> {
    pub(crate) service_name: &'a str,
    pub(crate) group_name: &'a str,
    pub(crate) cluster_name: &'a str,
    pub(crate) ip: &'a str,
    pub(crate) port: u16,
}

/// `{"result":"registered",…}`: what a write call did, and to which instance.
#[derive(Serialize)]
struct WriteResult<'a> {
    result: &'a str,
    #[serde(flatten)]
    target: &'a Target<'a>,
}

/// One instance, the same in every command's structured output.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InstanceJson<'a> {
    #[serde(flatten)]
    service: ServiceId<'a>,
    cluster_name: &'a str,
    ip: &'a str,
    port: u16,
    weight: f64,
    healthy: bool,
    enabled: bool,
    ephemeral: bool,
    instance_id: Option<&'a str>,
    metadata: &'a BTreeMap<String, String>,
}

/// A service's instances (`list`, and the first result of `list --watch`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListJson<'a> {
    #[serde(flatten)]
    service: ServiceId<'a>,
    clusters: &'a str,
    hosts: Vec<InstanceJson<'a>>,
}

/// One watch event: what changed, then the whole current list; or a change of state.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventJson<'a> {
    event: &'a str,
    #[serde(flatten)]
    service: ServiceId<'a>,
    #[serde(flatten)]
    detail: EventDetail<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum EventDetail<'a> {
    Change {
        clusters: &'a str,
        added: Vec<InstanceJson<'a>>,
        removed: Vec<InstanceJson<'a>>,
        modified: Vec<InstanceJson<'a>>,
        hosts: Vec<InstanceJson<'a>>,
    },
    Status {
        message: &'a str,
    },
}

/// What a watch reports besides changes; `event` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WatchStatus {
    /// No server could be reached.
    Unreachable,
    /// A server answered with a refusal (403 and the like).
    Refused,
    /// Answers came again after a failure.
    Recovered,
    /// The service has no instances (yet).
    Empty,
}

impl WatchStatus {
    fn name(self) -> &'static str {
        match self {
            WatchStatus::Unreachable => "unreachable",
            WatchStatus::Refused => "refused",
            WatchStatus::Recovered => "recovered",
            WatchStatus::Empty => "empty",
        }
    }
}

/// One service of a `services` page with its counts.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServiceCount {
    pub(crate) service_name: String,
    /// Instances the service lists (enabled ones, as servers list them).
    pub(crate) instances: usize,
    /// Of those, the healthy ones.
    pub(crate) healthy: usize,
}

/// One page of services.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServicePage<'a> {
    /// Services in the group in all, across pages.
    pub(crate) count: u64,
    pub(crate) page: u32,
    pub(crate) page_size: u32,
    pub(crate) group_name: &'a str,
    pub(crate) services: &'a [ServiceCount],
}

impl Printer {
    pub(crate) fn new(format: Output) -> Printer {
        Printer { format }
    }

    /// What a write call did: `registered user-service 10.0.0.1:8080 (cluster DEFAULT, group
    /// DEFAULT_GROUP)`.
    pub(crate) fn done(&self, result: &str, target: &Target<'_>) -> io::Result<()> {
        match self.format {
            Output::Table | Output::Wide => write_out(&format!(
                "{result} {} {} (cluster {}, group {})\n",
                printable(target.service_name),
                address(target.ip, target.port),
                printable(target.cluster_name),
                printable(target.group_name),
            )),
            _ => self.structured(&WriteResult { result, target }),
        }
    }

    /// A service's instances, sorted by address.
    pub(crate) fn service(
        &self,
        service: ServiceId<'_>,
        clusters: &str,
        hosts: &[Instance],
    ) -> io::Result<()> {
        let hosts = sorted(hosts);
        match self.format {
            Output::Table | Output::Wide => write_out(&self.instance_table(service, &hosts)),
            _ => self.structured(&ListJson {
                service,
                clusters,
                hosts: instances_json(service, &hosts),
            }),
        }
    }

    /// One instance.
    pub(crate) fn instance(&self, service: ServiceId<'_>, instance: &Instance) -> io::Result<()> {
        match self.format {
            Output::Table | Output::Wide => write_out(&self.instance_table(service, &[instance])),
            _ => self.structured(&instance_json(service, instance)),
        }
    }

    /// A heartbeat's answer.
    pub(crate) fn beat(&self, beat: &BeatInfo) -> io::Result<()> {
        match self.format {
            Output::Table | Output::Wide => {
                let mut t = Table::new(&["CLIENT_BEAT_INTERVAL", "CODE", "LIGHT_BEAT_ENABLED"]);
                t.row([
                    format!("{}ms", beat.client_beat_interval),
                    beat.code.to_string(),
                    beat.light_beat_enabled.to_string(),
                ]);
                write_out(&t.render())
            }
            _ => self.structured(beat),
        }
    }

    /// One watch event: a line per added, removed and modified instance, or one object.
    pub(crate) fn event<'a>(
        &self,
        service: ServiceId<'a>,
        event: &'a nacos_naming::ServiceEvent,
    ) -> io::Result<()> {
        let added = sorted(&event.added);
        let removed = sorted(&event.removed);
        let modified = sorted(&event.modified);
        match self.format {
            Output::Table | Output::Wide => {
                let mut out = String::new();
                for (change, instances) in [
                    ("added", &added),
                    ("removed", &removed),
                    ("modified", &modified),
                ] {
                    for i in instances {
                        out.push_str(&event_line(change, i));
                    }
                }
                write_out(&out)
            }
            _ => {
                let all = |list: &[&'a Instance]| instances_json(service, list);
                let hosts = sorted(&event.service.hosts);
                self.structured(&EventJson {
                    event: "changed",
                    service,
                    detail: EventDetail::Change {
                        clusters: &event.service.clusters,
                        added: all(&added),
                        removed: all(&removed),
                        modified: all(&modified),
                        hosts: all(&hosts),
                    },
                })
            }
        }
    }

    /// What each server answered to a probe: one row (or JSON object) per server.
    pub(crate) fn servers(&self, reports: &[ServerReport]) -> io::Result<()> {
        match self.format {
            Output::Json | Output::Yaml => reports.iter().try_for_each(|r| {
                self.structured(&ServerLine {
                    server: &r.server,
                    answered: r.answered,
                    api: &r.api,
                    line: &r.line,
                    version: r.version.as_deref(),
                    round_trip_ms: r.round_trip.map(|d| d.as_secs_f64() * 1000.0),
                    error: r.error.as_deref(),
                })
            }),
            Output::Table | Output::Wide => {
                let mut t = Table::new(&["SERVER", "ANSWERS", "API", "VERSION", "RTT", "LINE"]);
                for r in reports {
                    t.row([
                        r.server.clone(),
                        if r.answered { "yes" } else { "no" }.to_owned(),
                        r.api.clone(),
                        r.version.clone().unwrap_or_else(|| "-".to_owned()),
                        r.round_trip.map_or_else(
                            || "-".to_owned(),
                            |d| format!("{:.1}ms", d.as_secs_f64() * 1000.0),
                        ),
                        r.error.clone().unwrap_or_else(|| r.line.clone()),
                    ]);
                }
                write_out(&t.render())
            }
        }
    }

    /// A change of a watch's state: `unreachable`, `refused`, `recovered`, `empty`.
    pub(crate) fn status(
        &self,
        service: ServiceId<'_>,
        status: WatchStatus,
        message: &str,
    ) -> io::Result<()> {
        match self.format {
            Output::Table | Output::Wide => {
                write_out(&format!("{:<8}  {}\n", status.name(), printable(message)))
            }
            _ => self.structured(&EventJson {
                event: status.name(),
                service,
                detail: EventDetail::Status { message },
            }),
        }
    }

    /// A page of services with their counts.
    pub(crate) fn services(&self, page: &ServicePage<'_>) -> io::Result<()> {
        match self.format {
            Output::Table | Output::Wide => {
                let mut t = Table::new(&["SERVICE", "INSTANCES", "HEALTHY"]);
                for s in page.services {
                    t.row([
                        s.service_name.clone(),
                        s.instances.to_string(),
                        s.healthy.to_string(),
                    ]);
                }
                write_out(&t.render())
            }
            _ => self.structured(page),
        }
    }

    /// Instances as a table; `wide` adds the service, group and instance id.
    fn instance_table(&self, service: ServiceId<'_>, instances: &[&Instance]) -> String {
        let wide = self.format == Output::Wide;
        let mut header = Vec::new();
        if wide {
            header.extend(["SERVICE", "GROUP"]);
        }
        header.extend(INSTANCE_COLUMNS);
        if wide {
            header.push("INSTANCE_ID");
        }
        header.push("METADATA");
        let mut t = Table::new(&header);
        for i in instances {
            let mut row = Vec::new();
            if wide {
                row.extend([
                    service.service_name.to_owned(),
                    service.group_name.to_owned(),
                ]);
            }
            row.extend([
                i.ip.clone(),
                i.port.to_string(),
                i.cluster_name.clone(),
                i.weight.to_string(),
                i.healthy.to_string(),
                i.enabled.to_string(),
                i.ephemeral.to_string(),
            ]);
            if wide {
                row.push(i.instance_id.clone().unwrap_or_else(|| "-".to_owned()));
            }
            row.push(metadata::render(&i.metadata));
            t.row(row);
        }
        t.render()
    }

    /// One JSON line, or one YAML document.
    fn structured<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        if self.format == Output::Yaml {
            let doc = serde_norway::to_string(value).map_err(io::Error::other)?;
            return write_out(&format!("---\n{doc}"));
        }
        let mut line = serde_json::to_string(value).map_err(io::Error::other)?;
        line.push('\n');
        write_out(&line)
    }
}

/// One server of `nacosctl servers -o json`, the round trip in milliseconds.
#[derive(Serialize)]
struct ServerLine<'a> {
    server: &'a str,
    answered: bool,
    api: &'a str,
    line: &'a str,
    version: Option<&'a str>,
    round_trip_ms: Option<f64>,
    error: Option<&'a str>,
}

const INSTANCE_COLUMNS: [&str; 7] = [
    "IP",
    "PORT",
    "CLUSTER",
    "WEIGHT",
    "HEALTHY",
    "ENABLED",
    "EPHEMERAL",
];

fn instances_json<'a>(service: ServiceId<'a>, list: &[&'a Instance]) -> Vec<InstanceJson<'a>> {
    list.iter().map(|i| instance_json(service, i)).collect()
}

fn instance_json<'a>(service: ServiceId<'a>, i: &'a Instance) -> InstanceJson<'a> {
    InstanceJson {
        service,
        cluster_name: &i.cluster_name,
        ip: &i.ip,
        port: i.port,
        weight: i.weight,
        healthy: i.healthy,
        enabled: i.enabled,
        ephemeral: i.ephemeral,
        instance_id: i.instance_id.as_deref(),
        metadata: &i.metadata,
    }
}

/// Instances by address as addresses compare (IPv4 before IPv6, 10.0.0.9 before 10.0.0.10),
/// host names after them as text, then by port and cluster.
fn sorted(instances: &[Instance]) -> Vec<&Instance> {
    let mut sorted: Vec<&Instance> = instances.iter().collect();
    sorted.sort_by(|a, b| {
        compare_hosts(&a.ip, &b.ip)
            .then(a.port.cmp(&b.port))
            .then_with(|| a.cluster_name.cmp(&b.cluster_name))
    });
    sorted
}

fn compare_hosts(a: &str, b: &str) -> Ordering {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// `added     10.0.0.1:8080  cluster=DEFAULT  weight=1  healthy=true  …`: one line that
/// stands alone, as events arrive one at a time.
fn event_line(change: &str, i: &Instance) -> String {
    format!(
        "{change:<8}  {}  cluster={}  weight={}  healthy={}  enabled={}  ephemeral={}  metadata={}\n",
        address(&i.ip, i.port),
        printable(&i.cluster_name),
        i.weight,
        i.healthy,
        i.enabled,
        i.ephemeral,
        printable(&metadata::render(&i.metadata)),
    )
}

/// `ip:port`, with brackets around an IPv6 address.
fn address(ip: &str, port: u16) -> String {
    let ip = printable(ip);
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn write_out(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVC: ServiceId<'static> = ServiceId {
        service_name: "svc",
        group_name: "DEFAULT_GROUP",
    };

    fn host(port: u16) -> Instance {
        let mut i = Instance::new("10.0.0.1", port);
        i.metadata.insert("version".into(), "1.0".into());
        i.metadata.insert("zone".into(), "a".into());
        i
    }

    #[test]
    fn instances_are_a_table() {
        let mut slow = host(8081);
        slow.weight = 0.5;
        slow.healthy = false;
        slow.metadata.clear();
        let fast = host(8080);
        assert_eq!(
            Printer::new(Output::Table).instance_table(SVC, &[&fast, &slow]),
            "IP        PORT  CLUSTER  WEIGHT  HEALTHY  ENABLED  EPHEMERAL  METADATA\n\
             10.0.0.1  8080  DEFAULT  1       true     true     true       {\"version\":\"1.0\",\"zone\":\"a\"}\n\
             10.0.0.1  8081  DEFAULT  0.5     false    true     true       -\n"
        );
        let wide = Printer::new(Output::Wide).instance_table(SVC, &[&slow]);
        assert!(wide.starts_with("SERVICE  GROUP          IP"), "{wide}");
        assert!(wide.contains("INSTANCE_ID"), "{wide}");
    }

    #[test]
    fn addresses_sort_as_addresses() {
        let hosts: Vec<Instance> = ["10.0.0.10", "b.example", "::1", "10.0.0.9", "9.0.0.1"]
            .iter()
            .map(|ip| Instance::new(*ip, 80))
            .collect();
        let order: Vec<&str> = sorted(&hosts).iter().map(|i| i.ip.as_str()).collect();
        assert_eq!(
            order,
            ["9.0.0.1", "10.0.0.9", "10.0.0.10", "::1", "b.example"]
        );
    }

    #[test]
    fn an_event_line_stands_alone() {
        assert_eq!(
            event_line("removed", &host(8080)),
            "removed   10.0.0.1:8080  cluster=DEFAULT  weight=1  healthy=true  enabled=true  \
             ephemeral=true  metadata={\"version\":\"1.0\",\"zone\":\"a\"}\n"
        );
        let v6 = Instance::new("::1", 80);
        assert!(event_line("added", &v6).starts_with("added     [::1]:80  "));
    }

    #[test]
    fn an_instance_has_one_shape() {
        let mut i = host(8080);
        i.service_name = "DEFAULT_GROUP@@svc".into();
        let json = serde_json::to_value(instance_json(SVC, &i)).unwrap();
        assert_eq!(json["serviceName"], "svc");
        assert_eq!(json["groupName"], "DEFAULT_GROUP");
        assert_eq!(json["clusterName"], "DEFAULT");
        assert_eq!(json["metadata"]["zone"], "a");
    }

    #[test]
    fn write_results_are_flat_json() {
        let target = Target {
            service_name: "svc",
            group_name: "G",
            cluster_name: "DEFAULT",
            ip: "10.0.0.1",
            port: 80,
        };
        let json = serde_json::to_string(&WriteResult {
            result: "registered",
            target: &target,
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"result":"registered","serviceName":"svc","groupName":"G","clusterName":"DEFAULT","ip":"10.0.0.1","port":80}"#
        );
    }
}

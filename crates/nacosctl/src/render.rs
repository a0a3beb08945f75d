//! What each result looks like on stdout: an aligned table for people, or one JSON object per
//! line for programs.
//!
//! The JSON shapes are stable: instances, lists and beat answers are the Nacos 2.x wire forms
//! the library serializes (`ip`, `port`, `weight`, `healthy`, `enabled`, `ephemeral`,
//! `clusterName`, `serviceName`, `metadata`…); the shapes of this tool (write results,
//! events, service pages) are fixed structs below, in camelCase like the rest.

use std::io::{self, Write};

use nacos_naming::{BeatInfo, Instance, ServerReport, ServiceEvent, ServiceInfo};
use serde::Serialize;

use crate::cli::Output;
use crate::table::{printable, Table};

/// Prints results in one format. Each result is written with one `write_all` of whole lines,
/// so lines from different threads (watch events) never interleave.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    format: Output,
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

/// One watch event: what changed, then the whole current list.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventJson<'a> {
    service_name: &'a str,
    group_name: &'a str,
    clusters: &'a str,
    added: &'a [Instance],
    removed: &'a [Instance],
    modified: &'a [Instance],
    hosts: &'a [Instance],
}

/// One page of service names.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServicePage<'a> {
    /// Services in the group in all, across pages.
    pub(crate) count: u64,
    pub(crate) page: u32,
    pub(crate) page_size: u32,
    pub(crate) group_name: &'a str,
    pub(crate) services: &'a [String],
}

impl Printer {
    pub(crate) fn new(format: Output) -> Printer {
        Printer { format }
    }

    /// What a write call did: `registered user-service 10.0.0.1:8080 (cluster DEFAULT, group
    /// DEFAULT_GROUP)`.
    pub(crate) fn done(&self, result: &str, target: &Target<'_>) -> io::Result<()> {
        match self.format {
            Output::Json => json_line(&WriteResult { result, target }),
            Output::Table => write_out(&format!(
                "{result} {} {} (cluster {}, group {})\n",
                printable(target.service_name),
                address(target.ip, target.port),
                printable(target.cluster_name),
                printable(target.group_name),
            )),
        }
    }

    /// A service's instances: the list answer as JSON, or a table of its hosts.
    pub(crate) fn service(&self, service: &ServiceInfo) -> io::Result<()> {
        match self.format {
            Output::Json => json_line(service),
            Output::Table => write_out(&instance_table(&service.hosts)),
        }
    }

    /// One instance.
    pub(crate) fn instance(&self, instance: &Instance) -> io::Result<()> {
        match self.format {
            Output::Json => json_line(instance),
            Output::Table => write_out(&instance_table(std::slice::from_ref(instance))),
        }
    }

    /// A heartbeat's answer.
    pub(crate) fn beat(&self, beat: &BeatInfo) -> io::Result<()> {
        match self.format {
            Output::Json => json_line(beat),
            Output::Table => {
                let mut t = Table::new(&["CLIENT_BEAT_INTERVAL", "CODE", "LIGHT_BEAT_ENABLED"]);
                t.row([
                    format!("{}ms", beat.client_beat_interval),
                    beat.code.to_string(),
                    beat.light_beat_enabled.to_string(),
                ]);
                write_out(&t.render())
            }
        }
    }

    /// One watch event: a line per added, removed and modified instance, or one JSON object.
    pub(crate) fn event(&self, event: &ServiceEvent) -> io::Result<()> {
        match self.format {
            Output::Json => json_line(&EventJson {
                service_name: &event.service.name,
                group_name: &event.service.group_name,
                clusters: &event.service.clusters,
                added: &event.added,
                removed: &event.removed,
                modified: &event.modified,
                hosts: &event.service.hosts,
            }),
            Output::Table => {
                let mut out = String::new();
                for (change, instances) in [
                    ("added", &event.added),
                    ("removed", &event.removed),
                    ("modified", &event.modified),
                ] {
                    for i in instances {
                        out.push_str(&event_line(change, i));
                    }
                }
                write_out(&out)
            }
        }
    }

    /// What each server answered to a probe: one row (or JSON object) per server.
    pub(crate) fn servers(&self, reports: &[ServerReport]) -> io::Result<()> {
        match self.format {
            Output::Json => reports.iter().try_for_each(|r| {
                json_line(&ServerLine {
                    server: &r.server,
                    answered: r.answered,
                    api: &r.api,
                    line: &r.line,
                    version: r.version.as_deref(),
                    round_trip_ms: r.round_trip.map(|d| d.as_secs_f64() * 1000.0),
                    error: r.error.as_deref(),
                })
            }),
            Output::Table => {
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

    /// A page of service names.
    pub(crate) fn services(&self, page: &ServicePage<'_>) -> io::Result<()> {
        match self.format {
            Output::Json => json_line(page),
            Output::Table => {
                let mut t = Table::new(&["SERVICE"]);
                for name in page.services {
                    t.row([name.clone()]);
                }
                write_out(&t.render())
            }
        }
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

const INSTANCE_COLUMNS: [&str; 8] = [
    "IP",
    "PORT",
    "CLUSTER",
    "WEIGHT",
    "HEALTHY",
    "ENABLED",
    "EPHEMERAL",
    "METADATA",
];

fn instance_table(instances: &[Instance]) -> String {
    let mut t = Table::new(&INSTANCE_COLUMNS);
    for i in instances {
        t.row([
            i.ip.clone(),
            i.port.to_string(),
            i.cluster_name.clone(),
            i.weight.to_string(),
            i.healthy.to_string(),
            i.enabled.to_string(),
            i.ephemeral.to_string(),
            metadata(i),
        ]);
    }
    t.render()
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
        printable(&metadata(i)),
    )
}

/// `k=v,k2=v2`, or `-` for none.
fn metadata(i: &Instance) -> String {
    if i.metadata.is_empty() {
        return "-".to_owned();
    }
    i.metadata
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
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

fn json_line<T: Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let mut line = serde_json::to_string(value).map_err(io::Error::other)?;
    line.push('\n');
    write_out(&line)
}

fn write_out(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            instance_table(&[host(8080), slow]),
            "IP        PORT  CLUSTER  WEIGHT  HEALTHY  ENABLED  EPHEMERAL  METADATA\n\
             10.0.0.1  8080  DEFAULT  1       true     true     true       version=1.0,zone=a\n\
             10.0.0.1  8081  DEFAULT  0.5     false    true     true       -\n"
        );
    }

    #[test]
    fn an_event_line_stands_alone() {
        assert_eq!(
            event_line("removed", &host(8080)),
            "removed   10.0.0.1:8080  cluster=DEFAULT  weight=1  healthy=true  enabled=true  \
             ephemeral=true  metadata=version=1.0,zone=a\n"
        );
        let v6 = Instance::new("::1", 80);
        assert!(event_line("added", &v6).starts_with("added     [::1]:80  "));
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

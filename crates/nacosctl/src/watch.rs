//! `watch` and `list --watch`: the changes of a service as they happen, and lines for what
//! stands in their way (a server that cannot be reached or refuses, and its recovery; a
//! service with no instances yet).
//!
//! The client's subscription delivers changes; it retries failures quietly (and answers lists
//! from memory meanwhile), so a probe thread beside it asks the server at the poll interval
//! and reports when the answers change kind.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use nacos_naming::{Error, Instance, NamingClient, ServiceEvent};

use crate::cli::ServiceArgs;
use crate::commands::{hint, service_id, service_of};
use crate::exit::{Failure, Status};
use crate::render::{Printer, ServiceId, WatchStatus};
use crate::stop::{Stop, StopSignal};

/// How often the probe asks when no `--poll-interval` is given: often enough that an outage
/// shows within seconds, rarely enough to cost the server nothing.
const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// What to watch and how.
pub(crate) struct Watch<'a> {
    pub(crate) service: &'a ServiceArgs,
    pub(crate) poll_interval: Option<Duration>,
    pub(crate) out: Printer,
    /// The list was printed already (`list --watch`): print only what changes from it.
    pub(crate) listed: Option<Vec<Instance>>,
}

/// Watches until Ctrl-C, SIGTERM or output that cannot be written.
pub(crate) fn run(client: &NamingClient, watch: Watch<'_>) -> Result<Status, Failure> {
    let s = watch.service;
    let out = watch.out;
    let stop = StopSignal::install()?;
    let name = s.service.clone();
    let group = service_id(s).group_name.to_owned();

    let on_output_error = stop.sender();
    let listed = Mutex::new(watch.listed);
    let (event_name, event_group) = (name.clone(), group.clone());
    let listener = move |event: &ServiceEvent| {
        let id = ServiceId {
            service_name: &event_name,
            group_name: &event_group,
        };
        // After a printed list, the first event is told as its difference from that list.
        let printed = match listed.lock().map(|mut l| l.take()) {
            Ok(Some(before)) => out.event(id, &since(&before, event)),
            _ => out.event(id, event),
        };
        if let Err(e) = printed {
            let _ = on_output_error.send(Stop::Output(e));
        }
    };
    client
        .subscribe(&s.service, listener)
        .clusters(s.clusters.iter().cloned())
        .set_group_name(s.group.clone())
        .send()
        .map_err(|e| Failure::nacos(format!("cannot watch {}", service_of(s)), e))?;
    hint(&format!("watching {} (Ctrl-C to stop)", service_of(s)));

    let (stop_probe, probe_stopped) = mpsc::channel::<()>();
    let mut probe = Probe {
        client: client.clone(),
        name,
        group,
        clusters: s.clusters.clone(),
        out,
        stop: stop.sender(),
        last: None,
    };
    let interval = watch.poll_interval.unwrap_or(DEFAULT_PROBE_INTERVAL);
    let probe_thread = thread::Builder::new()
        .name("nacosctl-watch-probe".into())
        .spawn(move || loop {
            probe.check();
            match probe_stopped.recv_timeout(interval) {
                Err(RecvTimeoutError::Timeout) => continue,
                _ => break,
            }
        })
        .map_err(|e| Failure::other("cannot start the watch", e))?;

    let why = stop.wait();
    drop(stop_probe);
    // A probe in the middle of a call finishes it first: at most one call's timeout.
    let _ = probe_thread.join();
    client.stop_subscribe();
    why.into_result()
}

/// The kind of the last answer, so that only changes of kind are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Answering,
    Failing(WatchStatus),
}

struct Probe {
    client: NamingClient,
    name: String,
    group: String,
    clusters: Vec<String>,
    out: Printer,
    stop: mpsc::Sender<Stop>,
    last: Option<Seen>,
}

impl Probe {
    /// Asks the server once and prints a line when the kind of answer changed. The first
    /// time it lists the service; later it asks for one service name of the group, since a
    /// list of a subscribed service is answered from memory when no server answers.
    fn check(&mut self) {
        let answer = match self.last {
            None => self
                .client
                .list_naming_instance(&self.name)
                .group_name(&self.group)
                .clusters(self.clusters.iter().cloned())
                .send()
                .map(|service| service.hosts.is_empty()),
            Some(_) => self
                .client
                .list_services()
                .group_name(&self.group)
                .page_size(1)
                .send()
                .map(|_| false),
        };
        let (now, line) = match answer {
            Ok(empty) => {
                let line = match self.last {
                    None if empty => Some((
                        WatchStatus::Empty,
                        format!("no instances of {} yet", self.label()),
                    )),
                    Some(Seen::Failing(_)) => Some((
                        WatchStatus::Recovered,
                        "the server answers again".to_owned(),
                    )),
                    _ => None,
                };
                (Seen::Answering, line)
            }
            Err(e) => {
                let status = match &e {
                    Error::Request(_) => WatchStatus::Unreachable,
                    _ => WatchStatus::Refused,
                };
                let failure = Failure::nacos(format!("cannot watch {}", self.label()), e);
                (Seen::Failing(status), Some((status, failure.to_string())))
            }
        };
        let changed = self.last != Some(now);
        self.last = Some(now);
        if let (true, Some((status, message))) = (changed, line) {
            let id = ServiceId {
                service_name: &self.name,
                group_name: &self.group,
            };
            if let Err(e) = self.out.status(id, status, &message) {
                let _ = self.stop.send(Stop::Output(e));
            }
        }
    }

    fn label(&self) -> String {
        if self.group == nacos_naming::DEFAULT_GROUP {
            self.name.clone()
        } else {
            nacos_naming::grouped_name(&self.group, &self.name)
        }
    }
}

/// `event` told as a change from `before` rather than from nothing: the instances it adds
/// that `before` lacked, those of `before` it no longer has, those it changed.
fn since(before: &[Instance], event: &ServiceEvent) -> ServiceEvent {
    let key = |i: &Instance| (i.ip.clone(), i.port, i.cluster_name.clone());
    let find = |list: &[Instance], i: &Instance| list.iter().find(|o| key(o) == key(i)).cloned();
    let now = &event.service.hosts;
    let mut change = event.clone();
    change.added = now
        .iter()
        .filter(|i| find(before, i).is_none())
        .cloned()
        .collect();
    change.removed = before
        .iter()
        .filter(|i| find(now, i).is_none())
        .cloned()
        .collect();
    change.modified = now
        .iter()
        .filter(|i| find(before, i).is_some_and(|old| old != **i))
        .cloned()
        .collect();
    change
}

//! The subcommands: each is one call of the client, then printing.

use std::io::IsTerminal;
use std::time::Duration;

use nacos_naming::{NamingClient, DEFAULT_CLUSTER, DEFAULT_GROUP};

use crate::cli::{
    AttributeArgs, BeatArgs, Command, CompletionsArgs, DeregisterArgs, GetArgs, GlobalArgs,
    InstanceArgs, ListArgs, ModifyArgs, RegisterArgs, SelectArgs, ServiceArgs, ServicesArgs,
    WatchArgs,
};
use crate::exit::{Failure, Status};
use crate::metadata::Metadata;
use crate::render::{Printer, ServiceCount, ServiceId, ServicePage, Target};
use crate::stop::{Stop, StopSignal};
use crate::watch::{self, Watch};
use crate::whereabouts;

/// The longest a connection attempt waits, however long `--timeout` is: an unreachable server
/// should cost seconds, not the time a slow answer is given.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs one subcommand.
pub(crate) fn run(global: &GlobalArgs, command: Command) -> Result<Status, Failure> {
    let out = Printer::new(global.output);
    if let Command::Completions(args) = command {
        return completions(args);
    }
    // Only `watch` and `list --watch` subscribe, so only they need the UDP socket servers
    // push changes to.
    let subscription = match &command {
        Command::Watch(args) => Some(args.poll_interval),
        Command::List(args) if args.watch => Some(args.poll_interval),
        _ => None,
    };
    let client = connect(global, subscription)?;
    match command {
        Command::Register(args) => register(&client, args, out),
        Command::Deregister(args) => deregister(&client, args, out),
        Command::Modify(args) => modify(&client, args, out),
        Command::List(args) => list(&client, args, out),
        Command::Get(args) => get(&client, args, out),
        Command::Beat(args) => beat(&client, args, out),
        Command::Watch(args) => watch(&client, args, out),
        Command::Services(args) => services(&client, args, out),
        Command::Select(args) => select(&client, args, out),
        Command::Servers => servers(&client, out),
        Command::Completions(_) => unreachable!("handled before connecting"),
    }
}

/// `nacosctl completions SHELL`: clap's generator, over the same definition as the parser.
fn completions(args: CompletionsArgs) -> Result<Status, Failure> {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "nacosctl", &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script).map_err(Failure::output)?;
    Ok(Status::Success)
}

/// The metadata the flags give; a key given twice is a usage error.
fn metadata_of(attributes: &AttributeArgs) -> Result<Metadata, Failure> {
    attributes
        .metadata()
        .map_err(|why| Failure::usage("invalid --metadata", why))
}

/// The client the global flags describe; with a username it has logged in. `subscription` is
/// the poll interval of a client that subscribes (`None` inside: the server's).
fn connect(
    global: &GlobalArgs,
    subscription: Option<Option<Duration>>,
) -> Result<NamingClient, Failure> {
    let mut builder = NamingClient::builder()
        .server_addresses(global.server.clone())
        .set_namespace(global.namespace.clone())
        .set_username(global.username.clone())
        .set_password(global.password.as_ref().map(|p| p.expose().to_owned()))
        .set_access_key(global.access_key.clone())
        .set_secret_key(global.secret_key.as_ref().map(|s| s.expose().to_owned()))
        .api(global.api.into())
        .timeout(global.timeout)
        .connect_timeout(global.timeout.min(MAX_CONNECT_TIMEOUT))
        .udp_push(subscription.is_some());
    if let Some(Some(interval)) = subscription {
        builder = builder.poll_interval(interval);
    }
    builder
        .build()
        .map_err(|e| Failure::nacos(format!("cannot connect to {}", global.server), e))
}

/// A line for a person at a terminal, on stderr: never in a pipe's way, never in a log.
pub(crate) fn hint(text: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("{text}");
    }
}

/// `user-service` in the default group, `G@@user-service` in another: how messages name a
/// service.
fn service_label(service: &str, group: Option<&str>) -> String {
    match group {
        Some(group) => nacos_naming::grouped_name(group, service),
        None => service.to_owned(),
    }
}

pub(crate) fn instance_label(i: &InstanceArgs) -> String {
    let service = service_label(&i.service, i.group.as_deref());
    if i.ip.contains(':') {
        format!("{service} [{}]:{}", i.ip, i.port)
    } else {
        format!("{service} {}:{}", i.ip, i.port)
    }
}

fn target(i: &InstanceArgs) -> Target<'_> {
    Target {
        service_name: &i.service,
        group_name: i.group.as_deref().unwrap_or(DEFAULT_GROUP),
        cluster_name: i.cluster.as_deref().unwrap_or(DEFAULT_CLUSTER),
        ip: &i.ip,
        port: i.port,
    }
}

fn register(client: &NamingClient, args: RegisterArgs, out: Printer) -> Result<Status, Failure> {
    let i = &args.instance;
    // Installed before registering, so a Ctrl-C during the registration still deregisters.
    let metadata = metadata_of(&args.attributes)?;
    let stop = if args.keep_alive {
        Some(StopSignal::install()?)
    } else {
        None
    };
    client
        .add_naming_instance(&i.service, &i.ip, i.port)
        .set_cluster_name(i.cluster.clone())
        .set_group_name(i.group.clone())
        .metadata(metadata)
        // Without --keep-alive this process ends at once: beating would only start a thread.
        .heartbeat(args.keep_alive)
        .set_weight(args.attributes.weight)
        .set_ephemeral(args.ephemeral.value())
        .set_enabled(args.enabled.value())
        .set_healthy(args.healthy.value())
        .set_heartbeat_interval(args.beat_interval)
        .send()
        .map_err(|e| Failure::nacos(format!("cannot register {}", instance_label(i)), e))?;
    let printed = out.done("registered", &target(i));
    let Some(stop) = stop else {
        printed.map_err(Failure::output)?;
        if args.ephemeral.value() != Some(false) {
            hint(
                "note: an ephemeral instance: the server removes it after its timeout (30 s by \
                 default) unless something sends heartbeats for it; --keep-alive does, \
                 --persistent registers one that stays",
            );
        }
        return Ok(Status::Success);
    };
    // A reader gone already is a reason to stop, but the instance is deregistered all the same.
    let why = match printed {
        Ok(()) => {
            hint("keeping it alive with heartbeats; Ctrl-C deregisters it");
            stop.wait()
        }
        Err(e) => Stop::Output(e),
    };
    remove(client, i, args.ephemeral.value())?;
    let printed = out.done("deregistered", &target(i));
    let status = why.into_result()?;
    printed.map_err(Failure::output)?;
    Ok(status)
}

fn deregister(
    client: &NamingClient,
    args: DeregisterArgs,
    out: Printer,
) -> Result<Status, Failure> {
    let i = &args.instance;
    // Servers answer "ok" to the deregistration of an instance they do not have: look first.
    whereabouts::must_exist(client, i, "deregister")?;
    remove(client, i, args.ephemeral.value())?;
    out.done("deregistered", &target(i))
        .map_err(Failure::output)?;
    Ok(Status::Success)
}

/// Deregisters `i`: `deregister`, and `register --keep-alive` when it stops.
fn remove(client: &NamingClient, i: &InstanceArgs, ephemeral: Option<bool>) -> Result<(), Failure> {
    client
        .remove_naming_instance(&i.service, &i.ip, i.port)
        .set_cluster_name(i.cluster.clone())
        .set_group_name(i.group.clone())
        .set_ephemeral(ephemeral)
        .send()
        .map_err(|e| Failure::nacos(format!("cannot deregister {}", instance_label(i)), e))
}

fn modify(client: &NamingClient, args: ModifyArgs, out: Printer) -> Result<Status, Failure> {
    let i = &args.instance;
    let metadata = metadata_of(&args.attributes)?;
    client
        .modify_naming_instance(&i.service, &i.ip, i.port)
        .set_cluster_name(i.cluster.clone())
        .set_group_name(i.group.clone())
        .set_weight(args.attributes.weight)
        .set_enabled(args.enabled.value())
        // No metadata flag means "leave the metadata as it is", not "clear it".
        .set_metadata((!metadata.is_empty()).then_some(metadata))
        .set_ephemeral(args.ephemeral.value())
        .send()
        // The client reads the instance first: a 404 names where it is instead.
        .map_err(|e| Failure::nacos(format!("cannot modify {}", instance_label(i)), e))
        .map_err(|failure| whereabouts::explain(client, i, failure))?;
    out.done("modified", &target(i)).map_err(Failure::output)?;
    Ok(Status::Success)
}

fn list(client: &NamingClient, args: ListArgs, out: Printer) -> Result<Status, Failure> {
    let s = &args.service;
    let service = client
        .list_naming_instance(&s.service)
        .set_group_name(s.group.clone())
        .clusters(s.clusters.iter().cloned())
        .healthy_only(args.healthy_only)
        .send()
        .map_err(|e| Failure::nacos(format!("cannot list {}", service_of(s)), e))?;
    out.service(service_id(s), &s.clusters.join(","), &service.hosts)
        .map_err(Failure::output)?;
    if args.watch {
        let listed = Some(service.hosts);
        // As `kubectl get -w`: the table, then each change as a line.
        return watch::run(
            client,
            Watch {
                service: s,
                poll_interval: args.poll_interval,
                out,
                listed,
            },
        );
    }
    Ok(Status::Success)
}

pub(crate) fn service_id(s: &ServiceArgs) -> ServiceId<'_> {
    ServiceId {
        service_name: &s.service,
        group_name: s.group.as_deref().unwrap_or(DEFAULT_GROUP),
    }
}

pub(crate) fn service_of(s: &ServiceArgs) -> String {
    service_label(&s.service, s.group.as_deref())
}

fn get(client: &NamingClient, args: GetArgs, out: Printer) -> Result<Status, Failure> {
    let i = &args.instance;
    let instance = client
        .get_naming_instance(&i.service, &i.ip, i.port)
        .set_cluster_name(i.cluster.clone())
        .set_group_name(i.group.clone())
        .send()
        .map_err(|e| Failure::nacos(format!("cannot get {}", instance_label(i)), e))
        .map_err(|failure| whereabouts::explain(client, i, failure))?;
    let service = ServiceId {
        service_name: &i.service,
        group_name: i.group.as_deref().unwrap_or(DEFAULT_GROUP),
    };
    out.instance(service, &instance).map_err(Failure::output)?;
    Ok(Status::Success)
}

fn beat(client: &NamingClient, args: BeatArgs, out: Printer) -> Result<Status, Failure> {
    let i = &args.instance;
    let answer = client
        .send_heartbeat(&i.service, &i.ip, i.port)
        .set_cluster_name(i.cluster.clone())
        .set_group_name(i.group.clone())
        .metadata(metadata_of(&args.attributes)?)
        .set_weight(args.attributes.weight)
        .set_ephemeral(args.ephemeral.value())
        .send()
        .map_err(|e| {
            Failure::nacos(
                format!("cannot send a heartbeat for {}", instance_label(i)),
                e,
            )
        })?;
    if answer.instance_not_found() {
        log::warn!(
            "the server does not know {} (code {}): register it",
            instance_label(i),
            answer.code
        );
    }
    out.beat(&answer).map_err(Failure::output)?;
    Ok(Status::Success)
}

fn watch(client: &NamingClient, args: WatchArgs, out: Printer) -> Result<Status, Failure> {
    watch::run(
        client,
        Watch {
            service: &args.service,
            poll_interval: args.poll_interval,
            out,
            listed: None,
        },
    )
}

fn services(client: &NamingClient, args: ServicesArgs, out: Printer) -> Result<Status, Failure> {
    let list = client
        .list_services()
        .set_group_name(args.group.clone())
        .page_no(args.page)
        .page_size(args.page_size)
        .send()
        .map_err(|e| Failure::nacos("cannot list services", e))?;
    // One list call per service for its counts: a page is at most a few hundred names.
    let mut counted = Vec::with_capacity(list.services.len());
    for name in &list.services {
        let service = client
            .list_naming_instance(name)
            .set_group_name(args.group.clone())
            .send()
            .map_err(|e| Failure::nacos(format!("cannot count the instances of {name}"), e))?;
        counted.push(ServiceCount {
            service_name: name.clone(),
            instances: service.hosts.len(),
            healthy: service.hosts.iter().filter(|h| h.healthy).count(),
        });
    }
    let page = ServicePage {
        count: list.count,
        page: args.page,
        page_size: args.page_size,
        group_name: args.group.as_deref().unwrap_or(DEFAULT_GROUP),
        services: &counted,
    };
    out.services(&page).map_err(Failure::output)?;
    let shown = u64::from(args.page) * u64::from(args.page_size);
    if list.count > shown {
        hint(&format!(
            "{} services in all: --page {} for more",
            list.count,
            args.page.saturating_add(1)
        ));
    }
    Ok(Status::Success)
}

fn select(client: &NamingClient, args: SelectArgs, out: Printer) -> Result<Status, Failure> {
    let s = &args.service;
    let instance = client
        .select_one_healthy_instance(&s.service)
        .clusters(s.clusters.iter().cloned())
        .set_group_name(s.group.clone())
        .send()
        .map_err(|e| {
            Failure::nacos(format!("cannot select an instance of {}", service_of(s)), e)
        })?;
    out.instance(service_id(s), &instance)
        .map_err(Failure::output)?;
    Ok(Status::Success)
}

/// Succeeds when every server answers with a naming API; a server that does not is shown,
/// and makes the exit status a failure.
fn servers(client: &NamingClient, out: Printer) -> Result<Status, Failure> {
    let reports = client.probe_servers();
    out.servers(&reports).map_err(Failure::output)?;
    let silent: Vec<&str> = reports
        .iter()
        .filter(|r| !r.answered || r.api == "none")
        .map(|r| r.server.as_str())
        .collect();
    if silent.is_empty() {
        Ok(Status::Success)
    } else {
        Err(Failure::other(
            "not every server answers",
            format!("no naming API answered on {}", silent.join(", ")),
        ))
    }
}

//! `server-throughput`: the same load generator against nacos-devserver and rnacos, one server
//! at a time: registrations per second, list queries per second (a service of 100 instances),
//! and resident memory with 100,000 ephemeral instances kept alive by beats.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use crate::load::{self, Limit, LoadResult};
use crate::procfs::{self, ProcStats};
use crate::raw_http::{self, Connection};
use crate::report::{self, Goal, Table};
use crate::servers::{self, DevServerOptions, DevServerProcess, RnacosProcess, Server};
use crate::Result;

/// Flags of `server-throughput`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Concurrent keep-alive clients (one thread and one connection each).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds each throughput phase is measured per round (after a half-second warm-up).
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Rounds of each throughput phase; the servers take turns.
    #[arg(long, default_value_t = 2)]
    rounds: u32,
    /// Instances of the service the list phase queries.
    #[arg(long, default_value_t = 100)]
    list_instances: u64,
    /// Services the registration phase spreads its (distinct) instances over.
    #[arg(long, default_value_t = 100)]
    services: u64,
    /// Ephemeral instances registered for the memory figure.
    #[arg(long, default_value_t = 100_000)]
    memory_instances: u64,
    /// Instances per service in the memory phase.
    #[arg(long, default_value_t = 100)]
    per_service: u64,
    /// Rounds of beats over every instance, at the server's beat interval, before memory is
    /// read.
    #[arg(long, default_value_t = 2)]
    beat_rounds: u32,
    /// The devserver's expire timeout in seconds (its health timeout is half of it): long
    /// enough that no instance expires while a million are being registered and beaten
    /// (rnacos's own timeouts, 15 s and 30 s, cannot be set).
    #[arg(long, default_value_t = 600)]
    devserver_expire_secs: u64,
    /// Leave out the memory phase.
    #[arg(long)]
    skip_memory: bool,
    /// The nacos-devserver binary; built with cargo when not given.
    #[arg(long, env = "NACOS_DEVSERVER_BIN")]
    devserver_bin: Option<PathBuf>,
}

/// One throughput phase: the load's result and what it cost each side.
#[derive(Debug, Clone, Default)]
struct Phase {
    load: LoadResult,
    server_cpu: Duration,
    generator_cpu: Duration,
}

impl Phase {
    fn add(&mut self, other: Phase) {
        self.load.add(other.load);
        self.server_cpu += other.server_cpu;
        self.generator_cpu += other.generator_cpu;
    }

    fn server_cpu_per_request(&self) -> String {
        per_request(self.server_cpu, self.load.ok)
    }
}

fn per_request(cpu: Duration, requests: u64) -> String {
    if requests == 0 {
        return "-".into();
    }
    format!("{:.0} µs", cpu.as_secs_f64() * 1e6 / requests as f64)
}

/// What the memory phase found.
#[derive(Debug, Clone, Default)]
struct Memory {
    idle: ProcStats,
    loaded: ProcStats,
    registration: LoadResult,
    beat_rounds: Vec<(LoadResult, Duration)>,
    beat_interval: Duration,
    present: u64,
    healthy: u64,
}

struct Results {
    name: &'static str,
    list: Phase,
    register: Phase,
    memory: Option<Memory>,
}

/// Runs the benchmark and prints its tables.
pub fn run(args: Args) -> Result<()> {
    let binary = servers::devserver_binary(args.devserver_bin.as_deref())?;
    println!(
        "load generator: {} keep-alive clients (threads), raw HTTP/1.1; {} rounds of {:.1} s per \
         phase and server, the servers taking turns\n",
        args.clients, args.rounds, args.seconds
    );
    let start_devserver = || -> Result<Box<dyn Server>> {
        let expire = Duration::from_secs(args.devserver_expire_secs);
        let options = DevServerOptions {
            health_timeout: Some(expire / 2),
            expire_timeout: Some(expire),
            ..DevServerOptions::default()
        };
        Ok(Box::new(DevServerProcess::start(&binary, &options)?))
    };
    let start_rnacos = || -> Result<Box<dyn Server>> { Ok(Box::new(RnacosProcess::start()?)) };
    let starters: [&dyn Fn() -> Result<Box<dyn Server>>; 2] = [&start_devserver, &start_rnacos];

    // Both servers run during the throughput phases and take turns, so a burst of other work
    // on the machine hits both alike; the idle one costs nothing.
    let servers = starters
        .iter()
        .map(|start| start())
        .collect::<Result<Vec<_>>>()?;
    let mut results: Vec<Results> = servers
        .iter()
        .map(|server| Results {
            name: server.name(),
            list: Phase::default(),
            register: Phase::default(),
            memory: None,
        })
        .collect();
    let mut queries = Vec::new();
    for server in &servers {
        servers::wait_until_answering(server.addr())?;
        queries.push(prepare_list(&**server, &args)?);
    }
    for round in 1..=args.rounds.max(1) {
        for ((server, query), result) in servers.iter().zip(&queries).zip(&mut results) {
            eprintln!("{}: list queries, round {round}", server.name());
            result.list.add(list_phase(&**server, query, &args)?);
        }
    }
    let counters: Vec<AtomicU64> = servers.iter().map(|_| AtomicU64::new(0)).collect();
    for round in 1..=args.rounds.max(1) {
        for ((server, next), result) in servers.iter().zip(&counters).zip(&mut results) {
            eprintln!("{}: registrations, round {round}", server.name());
            result.register.add(register_phase(&**server, next, &args)?);
        }
    }
    for (server, query) in servers.iter().zip(&queries) {
        check_list(&**server, query, &args)?;
    }
    drop(servers);

    if !args.skip_memory {
        for (start, result) in starters.iter().zip(&mut results) {
            // A fresh server, alone, so the figure is the instances' and nothing else's.
            let server = start()?;
            servers::wait_until_answering(server.addr())?;
            eprintln!("{}: memory phase", server.name());
            result.memory = Some(memory_phase(&*server, &args)?);
        }
    }
    print_results(&results, &args);
    Ok(())
}

fn measure(server: &dyn Server, run: impl FnOnce() -> LoadResult) -> Result<Phase> {
    let server_before = server.stats()?.cpu;
    let generator_before = procfs::cpu_time(std::process::id())?;
    let load = run();
    Ok(Phase {
        server_cpu: server.stats()?.cpu.saturating_sub(server_before),
        generator_cpu: procfs::cpu_time(std::process::id())?.saturating_sub(generator_before),
        load,
    })
}

const LIST_SERVICE: &str = "bench-list-100";

/// Registers the listed service's instances (persistent, so that none expires during the
/// run) and returns the query the client sends for it.
fn prepare_list(server: &dyn Server, args: &Args) -> Result<Vec<u8>> {
    let addr = server.addr();
    let mut connection = Connection::new(addr);
    for i in 0..args.list_instances {
        let request = register_request(addr, LIST_SERVICE, i, false);
        expect_ok(connection.send(&request)?, "register")?;
    }
    let query = raw_http::request(
        "GET",
        &format!(
            "/nacos/v1/ns/instance/list?serviceName={LIST_SERVICE}&groupName=DEFAULT_GROUP\
             &healthyOnly=false"
        ),
        addr,
    );
    check_list(server, &query, args)?;
    Ok(query)
}

/// The list answer holds every instance of the listed service.
fn check_list(server: &dyn Server, query: &[u8], args: &Args) -> Result<()> {
    let mut connection = Connection::new(server.addr());
    let (status, body) = connection.send(query)?;
    let answer: serde_json::Value = serde_json::from_slice(body)?;
    let hosts = answer["hosts"].as_array().map_or(0, Vec::len) as u64;
    if status != 200 || hosts != args.list_instances {
        return Err(format!(
            "{}: the list answer holds {hosts} instances (status {status}), expected {}",
            server.name(),
            args.list_instances
        )
        .into());
    }
    Ok(())
}

/// N clients query one service of `list_instances` instances, with the client's request.
fn list_phase(server: &dyn Server, query: &[u8], args: &Args) -> Result<Phase> {
    let addr = server.addr();
    let next = AtomicU64::new(0);
    let make = |_: u64| query.to_vec();
    let check = |status: u16, body: &[u8]| status == 200 && body.len() > 2;
    load::run(addr, args.clients, WARM_UP, &next, &make, &check);
    measure(server, || {
        load::run(
            addr,
            args.clients,
            Limit::Time(Duration::from_secs_f64(args.seconds)),
            &next,
            &make,
            &check,
        )
    })
}

/// N clients register distinct ephemeral instances, spread over `services` services; `next`
/// numbers them across rounds.
fn register_phase(server: &dyn Server, next: &AtomicU64, args: &Args) -> Result<Phase> {
    let addr = server.addr();
    let services = args.services.max(1);
    let make = |i: u64| register_request(addr, &format!("bench-reg-{}", i % services), i, true);
    let check = |status: u16, body: &[u8]| status == 200 && body == b"ok";
    load::run(addr, args.clients, WARM_UP, next, &make, &check);
    measure(server, || {
        load::run(
            addr,
            args.clients,
            Limit::Time(Duration::from_secs_f64(args.seconds)),
            next,
            &make,
            &check,
        )
    })
}

/// Before each measured phase: connections open, the server's first allocations made.
const WARM_UP: Limit = Limit::Time(Duration::from_millis(500));

/// Registers `memory_instances` ephemeral instances, beats each of them `beat_rounds` times
/// at the server's interval, then reads the server's memory and checks that they are all there.
fn memory_phase(server: &dyn Server, args: &Args) -> Result<Memory> {
    let addr = server.addr();
    let per_service = args.per_service.max(1);
    let idle = server.stats()?;
    let service_of = |i: u64| format!("bench-mem-{}", i / per_service);

    let next = AtomicU64::new(0);
    let register = |i: u64| register_request(addr, &service_of(i), i, true);
    let registered = |status: u16, body: &[u8]| status == 200 && body == b"ok";
    let registration = load::run(
        addr,
        args.clients,
        Limit::Count(args.memory_instances),
        &next,
        &register,
        &registered,
    );

    // The first answer says how often the server wants beats.
    let mut connection = Connection::new(addr);
    let (status, body) = connection.send(&beat_request(addr, &service_of(0), 0))?;
    let answer: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("{}: beat answer {status}: {e}", server.name()))?;
    let beat_interval =
        Duration::from_millis(answer["clientBeatInterval"].as_u64().unwrap_or(5000));

    let beat = |i: u64| beat_request(addr, &service_of(i), i);
    let beaten = |status: u16, body: &[u8]| {
        status == 200 && body.windows(12).any(|w| w == b"\"code\":10200")
    };
    let mut beat_rounds = Vec::new();
    for round in 0..args.beat_rounds {
        let started = Instant::now();
        let next = AtomicU64::new(0);
        let result = load::run(
            addr,
            args.clients,
            Limit::Count(args.memory_instances),
            &next,
            &beat,
            &beaten,
        );
        let took = started.elapsed();
        beat_rounds.push((result, took));
        if round + 1 < args.beat_rounds {
            std::thread::sleep(beat_interval.saturating_sub(took));
        }
    }
    let loaded = server.stats()?;
    let services = args.memory_instances.div_ceil(per_service);
    let (present, healthy) = count_instances(addr, services)?;
    Ok(Memory {
        idle,
        loaded,
        registration,
        beat_rounds,
        beat_interval,
        present,
        healthy,
    })
}

/// Instances listed, and how many of them healthy, over the services `bench-mem-0..services`.
fn count_instances(addr: SocketAddr, services: u64) -> Result<(u64, u64)> {
    let mut connection = Connection::new(addr);
    let (mut present, mut healthy) = (0, 0);
    for s in 0..services {
        let query = raw_http::request(
            "GET",
            &format!(
                "/nacos/v1/ns/instance/list?serviceName=bench-mem-{s}&groupName=DEFAULT_GROUP\
                 &healthyOnly=false"
            ),
            addr,
        );
        let (_, body) = connection.send(&query)?;
        let answer: serde_json::Value = serde_json::from_slice(body)?;
        for host in answer["hosts"].as_array().into_iter().flatten() {
            present += 1;
            if host["healthy"].as_bool() == Some(true) {
                healthy += 1;
            }
        }
    }
    Ok((present, healthy))
}

/// The registration the client sends (`POST /nacos/v1/ns/instance`) for instance `i`.
pub(crate) fn register_request(
    addr: SocketAddr,
    service: &str,
    i: u64,
    ephemeral: bool,
) -> Vec<u8> {
    let (ip, port) = instance_address(i);
    raw_http::request(
        "POST",
        &format!(
            "/nacos/v1/ns/instance?serviceName={service}&groupName=DEFAULT_GROUP&ip={ip}&port={port}\
             &clusterName=DEFAULT&weight=1.0&enable=true&enabled=true&ephemeral={ephemeral}&healthy=true"
        ),
        addr,
    )
}

/// A light beat (`PUT /nacos/v1/ns/instance/beat` without a `beat` body) for instance `i`,
/// as the client sends once the server allows light beats.
fn beat_request(addr: SocketAddr, service: &str, i: u64) -> Vec<u8> {
    let (ip, port) = instance_address(i);
    raw_http::request(
        "PUT",
        &format!(
            "/nacos/v1/ns/instance/beat?serviceName=DEFAULT_GROUP%40%40{service}\
             &groupName=DEFAULT_GROUP&ip={ip}&port={port}&clusterName=DEFAULT"
        ),
        addr,
    )
}

/// A distinct address for every index: 10.x.y.z, port 1024 upwards every 16 million.
fn instance_address(i: u64) -> (String, u64) {
    let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    (ip, 1024 + (i >> 24))
}

fn expect_ok((status, body): (u16, &[u8]), what: &str) -> Result<()> {
    if status == 200 && body == b"ok" {
        Ok(())
    } else {
        Err(format!("{what}: status {status}: {}", String::from_utf8_lossy(body)).into())
    }
}

fn failures(load: &LoadResult) -> String {
    match &load.first_failure {
        None => "0".into(),
        Some(why) => format!("{} (first: {why})", load.failed),
    }
}

fn print_results(results: &[Results], args: &Args) {
    let mut table = Table::new([
        "server",
        "registrations/s",
        "server CPU/reg",
        "generator CPU/reg",
        "list queries/s",
        "server CPU/list",
        "generator CPU/list",
    ]);
    for r in results {
        table.row(vec![
            r.name.into(),
            format!("{:.0}", r.register.load.per_second()),
            r.register.server_cpu_per_request(),
            per_request(r.register.generator_cpu, r.register.load.ok),
            format!("{:.0}", r.list.load.per_second()),
            r.list.server_cpu_per_request(),
            per_request(r.list.generator_cpu, r.list.load.ok),
        ]);
    }
    println!(
        "throughput ({} clients; registrations: distinct ephemeral instances over {} services; \
         lists: one service of {} instances)",
        args.clients, args.services, args.list_instances
    );
    table.print();
    for r in results {
        for (what, phase) in [("registrations", &r.register), ("lists", &r.list)] {
            if phase.load.failed > 0 {
                println!("{} {what}: {} failed", r.name, failures(&phase.load));
            }
        }
    }

    if results.iter().all(|r| r.memory.is_some()) {
        let mut table = Table::new([
            "server",
            "VmRSS idle",
            "VmRSS loaded",
            "RssAnon loaded",
            "VmHWM",
            "threads",
            "registered/s",
            "beat rounds (s each)",
            "listed",
            "healthy",
        ]);
        for r in results {
            let m = r.memory.as_ref().expect("checked above");
            table.row(vec![
                r.name.into(),
                procfs::mib(m.idle.rss_kib),
                procfs::mib(m.loaded.rss_kib),
                procfs::mib(m.loaded.anon_kib),
                procfs::mib(m.loaded.hwm_kib),
                m.loaded.threads.to_string(),
                format!("{:.0}", m.registration.per_second()),
                m.beat_rounds
                    .iter()
                    .map(|(_, took)| format!("{:.1}", took.as_secs_f64()))
                    .collect::<Vec<_>>()
                    .join(", "),
                m.present.to_string(),
                m.healthy.to_string(),
            ]);
        }
        println!(
            "memory with {} ephemeral instances ({} per service), light beats at the server's \
             interval",
            args.memory_instances, args.per_service
        );
        table.print();
        for r in results {
            let m = r.memory.as_ref().expect("checked above");
            if m.registration.failed > 0 {
                println!(
                    "{} registrations: {} failed",
                    r.name,
                    failures(&m.registration)
                );
            }
            for (i, (beats, took)) in m.beat_rounds.iter().enumerate() {
                if beats.failed > 0 {
                    println!(
                        "{} beat round {}: {} failed",
                        r.name,
                        i + 1,
                        failures(beats)
                    );
                }
                if *took > m.beat_interval {
                    println!(
                        "{} beat round {} took {:.1} s, longer than the beat interval ({} s)",
                        r.name,
                        i + 1,
                        took.as_secs_f64(),
                        m.beat_interval.as_secs_f64()
                    );
                }
            }
        }
    }

    let [dev, rnacos] = results else { return };
    report::goal(
        "registrations/s devserver/rnacos",
        dev.register.load.per_second() / rnacos.register.load.per_second(),
        Goal::AtLeast(1.5),
    );
    report::goal(
        "list queries/s devserver/rnacos",
        dev.list.load.per_second() / rnacos.list.load.per_second(),
        Goal::AtLeast(1.5),
    );
    if let (Some(dm), Some(rm)) = (&dev.memory, &rnacos.memory) {
        report::goal(
            "VmRSS with instances devserver/rnacos",
            dm.loaded.rss_kib as f64 / rm.loaded.rss_kib as f64,
            Goal::AtMost(1.0),
        );
    }
}

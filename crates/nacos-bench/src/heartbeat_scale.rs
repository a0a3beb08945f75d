//! `heartbeat-scale`: one client process keeps 10,000 ephemeral instances alive against a
//! devserver with short timeouts, for three expire periods, while the benchmark checks every
//! instance's health at the server and reads the client's threads, CPU time and memory. Then
//! nacos-sdk-python 1.0.0 (one heartbeat thread per instance) at growing counts, until it
//! fails or registration gets too slow.
//!
//! A control instance registered without beats, among the client's, must turn unhealthy and
//! go: proof that the health check would see an instance that is not kept alive.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::beat_client::{service_of, PORT};
use crate::procfs::{self, ProcStats};
use crate::raw_http::{self, Connection};
use crate::report::{self, Goal, Table};
use crate::servers::{self, ChildGuard, DevServerOptions, DevServerProcess, Server};
use crate::{python, Result};

/// Flags of `heartbeat-scale`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Instances the client registers and keeps alive.
    #[arg(long, default_value_t = 10_000)]
    instances: u32,
    /// Services they are spread over.
    #[arg(long, default_value_t = 100)]
    services: u32,
    /// The beat interval the server asks for (`clientBeatInterval`), in milliseconds.
    #[arg(long, default_value_t = 2000)]
    beat_interval_ms: u64,
    /// The server's health timeout, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    health_timeout_ms: u64,
    /// The server's expire timeout, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    expire_timeout_ms: u64,
    /// How many expire periods the instances are watched for.
    #[arg(long, default_value_t = 3)]
    periods: u32,
    /// How often every instance's health is checked, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    check_interval_ms: u64,
    /// Instance counts tried with nacos-sdk-python, in order, until one fails.
    #[arg(long, value_delimiter = ',', default_value = "500,1000,2000")]
    python_counts: Vec<u32>,
    /// The longest the Python client may take to register its instances.
    #[arg(long, default_value_t = 60)]
    python_register_limit_secs: u64,
    /// Leave out nacos-sdk-python.
    #[arg(long)]
    skip_python: bool,
    /// The nacos-devserver binary; built with cargo when not given.
    #[arg(long, env = "NACOS_DEVSERVER_BIN")]
    devserver_bin: Option<PathBuf>,
}

/// What watching one client found.
#[derive(Debug, Default)]
struct Watch {
    client: String,
    instances: u32,
    registered_in: Option<Duration>,
    /// Why the run ended early, if it did.
    failure: Option<String>,
    /// The fewest of the client's instances listed at a check.
    min_present: u64,
    /// The most of the client's instances unhealthy at a check.
    max_unhealthy: u64,
    checks: u32,
    max_threads: u64,
    max_rss_kib: u64,
    hwm_kib: u64,
    /// CPU time over the watch (after registration).
    cpu_watching: Duration,
    watched: Duration,
    /// When the control instance turned unhealthy and when it was gone, after registration.
    control_unhealthy: Option<Duration>,
    control_gone: Option<Duration>,
}

impl Watch {
    fn kept_alive(&self) -> bool {
        self.failure.is_none()
            && self.checks > 0
            && self.min_present == u64::from(self.instances)
            && self.max_unhealthy == 0
    }
}

/// Runs the benchmark and prints its table.
pub fn run(args: Args) -> Result<()> {
    let binary = servers::devserver_binary(args.devserver_bin.as_deref())?;
    let options = DevServerOptions {
        beat_interval: Some(Duration::from_millis(args.beat_interval_ms)),
        health_timeout: Some(Duration::from_millis(args.health_timeout_ms)),
        expire_timeout: Some(Duration::from_millis(args.expire_timeout_ms)),
        ..DevServerOptions::default()
    };
    let watch_for = Duration::from_millis(args.expire_timeout_ms) * args.periods;
    println!(
        "nacos-devserver: beat interval {} ms, health timeout {} ms, expire timeout {} ms; \
         each client watched for {} expire periods ({:.0} s), every instance checked every {} ms\n",
        args.beat_interval_ms,
        args.health_timeout_ms,
        args.expire_timeout_ms,
        args.periods,
        watch_for.as_secs_f64(),
        args.check_interval_ms
    );

    let mut watches = Vec::new();
    {
        let server = DevServerProcess::start(&binary, &options)?;
        eprintln!("nacos-naming: {} instances", args.instances);
        let exe = std::env::current_exe()?;
        let mut command = Command::new(exe);
        command
            .arg("beat-client")
            .args(["--server", &server.addr().to_string()])
            .args(["--instances", &args.instances.to_string()])
            .args(["--services", &args.services.to_string()]);
        let mut watch = watch_client(
            &server,
            command,
            args.instances,
            args.services,
            &args,
            Duration::from_secs(120),
        )?;
        watch.client = "nacos-naming (this client)".into();
        watches.push(watch);
    }
    if !args.skip_python {
        let python = python::interpreter()?;
        for &count in &args.python_counts {
            let server = DevServerProcess::start(&binary, &options)?;
            eprintln!("nacos-sdk-python: {count} instances");
            let services = count.div_ceil(100).max(1);
            let logs = tempfile::tempdir()?;
            let mut command = Command::new(&python);
            command
                .arg(python::script("heartbeats.py"))
                .args(["--server", &server.addr().to_string()])
                .args(["--instances", &count.to_string()])
                .args(["--services", &services.to_string()])
                .args([
                    "--interval",
                    &(args.beat_interval_ms as f64 / 1000.0).to_string(),
                ])
                .arg("--log-dir")
                .arg(logs.path());
            let mut watch = watch_client(
                &server,
                command,
                count,
                services,
                &args,
                Duration::from_secs(args.python_register_limit_secs),
            )?;
            watch.client = "nacos-sdk-python 1.0.0".into();
            let kept = watch.kept_alive();
            watches.push(watch);
            if !kept {
                break;
            }
        }
    }
    print_results(&watches, &args);
    Ok(())
}

/// Starts the client process, waits for its registrations, then watches the instances and the
/// process for the configured periods.
fn watch_client(
    server: &DevServerProcess,
    mut command: Command,
    instances: u32,
    services: u32,
    args: &Args,
    register_limit: Duration,
) -> Result<Watch> {
    let addr = server.addr();
    let mut watch = Watch {
        instances,
        min_present: u64::MAX,
        ..Watch::default()
    };
    let mut child = ChildGuard(
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?,
    );
    let pid = child.0.id();
    let stdout = child.0.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("REGISTERED") {
                let _ = tx.send(line);
            }
        }
    });
    let started = Instant::now();
    if rx.recv_timeout(register_limit).is_err() {
        watch.failure = Some(format!(
            "did not register {instances} instances within {} s",
            register_limit.as_secs()
        ));
        record(&mut watch, procfs::stats(pid).ok());
        return Ok(watch);
    }
    watch.registered_in = Some(started.elapsed());

    // The control instance, among the client's, never beaten.
    let control_ip = "10.255.255.254";
    let mut connection = Connection::new(addr);
    let (status, body) = connection.send(&raw_http::request(
        "POST",
        &format!(
            "/nacos/v1/ns/instance?serviceName={}&groupName=DEFAULT_GROUP&ip={control_ip}\
             &port={PORT}&clusterName=DEFAULT&ephemeral=true",
            service_of(0, services)
        ),
        addr,
    ))?;
    if status != 200 || body != b"ok" {
        return Err(format!("registering the control instance: status {status}").into());
    }

    let cpu_before = procfs::cpu_time(pid)?;
    let watch_start = Instant::now();
    let watch_for = Duration::from_millis(args.expire_timeout_ms) * args.periods;
    let interval = Duration::from_millis(args.check_interval_ms);
    while watch_start.elapsed() < watch_for {
        std::thread::sleep(interval.min(watch_for.saturating_sub(watch_start.elapsed())));
        let health = check(&mut connection, addr, services, control_ip)?;
        watch.checks += 1;
        watch.min_present = watch.min_present.min(health.present);
        watch.max_unhealthy = watch.max_unhealthy.max(health.unhealthy);
        if !health.control_healthy && watch.control_unhealthy.is_none() {
            watch.control_unhealthy = Some(watch_start.elapsed());
        }
        if !health.control_present && watch.control_gone.is_none() {
            watch.control_gone = Some(watch_start.elapsed());
        }
        match procfs::stats(pid) {
            Ok(stats) => record(&mut watch, Some(stats)),
            Err(_) => {
                watch.failure = Some("the client process ended".into());
                break;
            }
        }
    }
    watch.watched = watch_start.elapsed();
    watch.cpu_watching = procfs::cpu_time(pid)?.saturating_sub(cpu_before);
    Ok(watch)
}

fn record(watch: &mut Watch, stats: Option<ProcStats>) {
    if let Some(s) = stats {
        watch.max_threads = watch.max_threads.max(s.threads);
        watch.max_rss_kib = watch.max_rss_kib.max(s.rss_kib);
        watch.hwm_kib = watch.hwm_kib.max(s.hwm_kib);
    }
}

/// One check of every instance at the server.
struct Health {
    /// The client's instances listed.
    present: u64,
    /// The client's instances listed as unhealthy.
    unhealthy: u64,
    control_present: bool,
    control_healthy: bool,
}

fn check(
    connection: &mut Connection,
    addr: SocketAddr,
    services: u32,
    control_ip: &str,
) -> Result<Health> {
    let mut health = Health {
        present: 0,
        unhealthy: 0,
        control_present: false,
        control_healthy: false,
    };
    for s in 0..services {
        let query = raw_http::request(
            "GET",
            &format!(
                "/nacos/v1/ns/instance/list?serviceName={}&groupName=DEFAULT_GROUP\
                 &healthyOnly=false",
                service_of(s, services)
            ),
            addr,
        );
        let (status, body) = connection.send(&query)?;
        if status != 200 {
            continue;
        }
        let answer: serde_json::Value = serde_json::from_slice(body)?;
        for host in answer["hosts"].as_array().into_iter().flatten() {
            let healthy = host["healthy"].as_bool() == Some(true);
            if host["ip"].as_str() == Some(control_ip) {
                health.control_present = true;
                health.control_healthy = healthy;
            } else {
                health.present += 1;
                if !healthy {
                    health.unhealthy += 1;
                }
            }
        }
    }
    Ok(health)
}

fn print_results(watches: &[Watch], args: &Args) {
    let mut table = Table::new([
        "client",
        "instances",
        "registered in",
        "kept alive",
        "min listed",
        "max unhealthy",
        "threads",
        "VmRSS max",
        "CPU while beating",
    ]);
    for w in watches {
        let cpu = if w.watched.is_zero() {
            "-".to_owned()
        } else {
            format!(
                "{:.2} s / {:.0} s ({:.1}% of a core)",
                w.cpu_watching.as_secs_f64(),
                w.watched.as_secs_f64(),
                100.0 * w.cpu_watching.as_secs_f64() / w.watched.as_secs_f64()
            )
        };
        table.row(vec![
            w.client.clone(),
            w.instances.to_string(),
            w.registered_in
                .map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64())),
            if w.kept_alive() { "yes" } else { "NO" }.into(),
            if w.checks == 0 {
                "-".into()
            } else {
                w.min_present.to_string()
            },
            w.max_unhealthy.to_string(),
            w.max_threads.to_string(),
            procfs::mib(w.max_rss_kib),
            cpu,
        ]);
    }
    table.print();
    for w in watches {
        if let Some(why) = &w.failure {
            println!("{} with {} instances: {why}", w.client, w.instances);
        }
        match (w.control_unhealthy, w.control_gone) {
            (Some(unhealthy), Some(gone)) => println!(
                "{} run: the control instance (no beats) turned unhealthy after {:.1} s and was \
                 removed after {:.1} s",
                w.client,
                unhealthy.as_secs_f64(),
                gone.as_secs_f64()
            ),
            _ if w.checks > 0 => println!(
                "{} run: the control instance (no beats) did NOT expire as expected: the health \
                 check is not to be trusted",
                w.client
            ),
            _ => {}
        }
    }
    let Some(rust) = watches.first() else { return };
    println!(
        "nacos-naming keeps {} instances alive at {} ms intervals: {}",
        rust.instances,
        args.beat_interval_ms,
        if rust.kept_alive() { "yes" } else { "NO" }
    );
    report::goal(
        "nacos-naming threads",
        rust.max_threads as f64,
        Goal::AtMost(16.0),
    );
    report::goal(
        "nacos-naming VmRSS (MiB)",
        rust.max_rss_kib as f64 / 1024.0,
        Goal::AtMost(64.0),
    );
}

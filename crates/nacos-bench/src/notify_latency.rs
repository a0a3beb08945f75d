//! `notify-latency`: the time from one client's `add_naming_instance`/`remove_naming_instance`
//! returning to a listener in another client being called, with UDP push (nacos-devserver),
//! with polling only (nacos-devserver with push off, or rnacos), and for nacos-sdk-python
//! 1.0.0's subscribe (which polls every 7 s).
//!
//! Each run adds `changes / 2` instances, one every `gap`, waits until the listener has seen
//! them all, then removes them the same way. Every change is on its own instance, so a change
//! is matched to the listener call that reports it (an instance in `added` or `removed`) even
//! when a poll reports several changes at once.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nacos_naming::{NamingClient, ServiceEvent};

use crate::report::{self, Goal, Table};
use crate::servers::{self, ChildGuard, DevServerOptions, DevServerProcess, RnacosProcess, Server};
use crate::{python, Result};

const SERVICE: &str = "bench-notify";
/// The address of every instance the publisher changes; each has its own port.
const IP: &str = "10.9.0.1";
/// Ports of changed instances start here; the anchor instance takes `FIRST_PORT - 1`.
const FIRST_PORT: u16 = 20_000;

/// Flags of `notify-latency`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Changes per run of this client (half additions, half removals).
    #[arg(long, default_value_t = 200)]
    changes: u16,
    /// Pause between two changes, in milliseconds.
    #[arg(long, default_value_t = 20)]
    gap_ms: u64,
    /// The server of the polling run: `devserver` (push off) or `rnacos`.
    #[arg(long, default_value = "devserver")]
    polling_server: PollingServer,
    /// Changes of the Python run (it polls every 7 s, so fewer).
    #[arg(long, default_value_t = 20)]
    python_changes: u16,
    /// Pause between two changes of the Python run, in milliseconds.
    #[arg(long, default_value_t = 200)]
    python_gap_ms: u64,
    /// Leave out the polling run.
    #[arg(long)]
    skip_polling: bool,
    /// Leave out nacos-sdk-python.
    #[arg(long)]
    skip_python: bool,
    /// The nacos-devserver binary; built with cargo when not given.
    #[arg(long, env = "NACOS_DEVSERVER_BIN")]
    devserver_bin: Option<PathBuf>,
}

/// Which server the polling run uses.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PollingServer {
    /// nacos-devserver started with `--no-push`.
    Devserver,
    /// rnacos 0.8.8, which never pushes.
    Rnacos,
}

/// Added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Change {
    Added,
    Removed,
}

/// What one run measured, in milliseconds.
#[derive(Debug, Default)]
struct Latencies {
    /// From the call returning to the listener; negative when the event came first.
    from_return: Vec<f64>,
    /// From the call starting to the listener.
    from_call: Vec<f64>,
    /// Changes made.
    made: usize,
}

/// One run's description and result.
struct Run {
    mode: String,
    server: String,
    latencies: Latencies,
}

/// Runs the benchmark and prints its table.
pub fn run(args: Args) -> Result<()> {
    let binary = servers::devserver_binary(args.devserver_bin.as_deref())?;
    let gap = Duration::from_millis(args.gap_ms);
    let mut runs = Vec::new();

    {
        let server = DevServerProcess::start(&binary, &DevServerOptions::default())?;
        eprintln!("push run ({} changes)", args.changes);
        let latencies = rust_run(server.addr(), true, args.changes, gap)?;
        runs.push(Run {
            mode: "UDP push (client defaults)".into(),
            server: server.name().into(),
            latencies,
        });
    }
    if !args.skip_polling {
        let server: Box<dyn Server> = match args.polling_server {
            PollingServer::Devserver => Box::new(DevServerProcess::start(
                &binary,
                &DevServerOptions {
                    no_push: true,
                    ..DevServerOptions::default()
                },
            )?),
            PollingServer::Rnacos => Box::new(RnacosProcess::start()?),
        };
        let interval = poll_interval(server.addr())?;
        eprintln!("polling run ({} changes)", args.changes);
        let latencies = rust_run(server.addr(), false, args.changes, gap)?;
        let push_off = match args.polling_server {
            PollingServer::Devserver => ", --no-push",
            PollingServer::Rnacos => "",
        };
        runs.push(Run {
            mode: format!(
                "polling only (every cacheMillis = {} ms)",
                interval.as_millis()
            ),
            server: format!("{}{push_off}", server.name()),
            latencies,
        });
    }
    if !args.skip_python {
        let server = DevServerProcess::start(&binary, &DevServerOptions::default())?;
        eprintln!("python run ({} changes)", args.python_changes);
        let latencies = python_run(
            server.addr(),
            args.python_changes,
            Duration::from_millis(args.python_gap_ms),
        )?;
        runs.push(Run {
            mode: "nacos-sdk-python 1.0.0 subscribe (polls every 7 s)".into(),
            server: server.name().into(),
            latencies,
        });
    }

    let mut table = Table::new([
        "mode",
        "server",
        "changes seen",
        "p50",
        "p99",
        "max",
        "min",
        "p50 from call",
        "p99 from call",
    ]);
    for run in &mut runs {
        let l = &mut run.latencies;
        l.from_return.sort_by(f64::total_cmp);
        l.from_call.sort_by(f64::total_cmp);
        let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2} ms"));
        table.row(vec![
            run.mode.clone(),
            run.server.clone(),
            format!("{}/{}", l.from_return.len(), l.made),
            ms(report::percentile(&l.from_return, 50.0)),
            ms(report::percentile(&l.from_return, 99.0)),
            ms(l.from_return.last().copied()),
            ms(l.from_return.first().copied()),
            ms(report::percentile(&l.from_call, 50.0)),
            ms(report::percentile(&l.from_call, 99.0)),
        ]);
    }
    println!(
        "latency from add/remove returning in one client to the listener of another being \
         called (\"from call\": from the call starting); {} ms between changes \
         ({} ms for Python)",
        args.gap_ms, args.python_gap_ms
    );
    table.print();
    let push = &runs[0].latencies;
    if push.from_return.len() < push.made {
        println!(
            "push: {} of {} changes never reached the listener",
            push.made - push.from_return.len(),
            push.made
        );
    }
    let p99 = report::percentile(&push.from_return, 99.0).unwrap_or(f64::INFINITY);
    report::goal("push p99 (ms)", p99, Goal::AtMost(20.0));
    Ok(())
}

/// The `cacheMillis` a lister without push gets: the polling client's interval.
fn poll_interval(addr: SocketAddr) -> Result<Duration> {
    let client = NamingClient::builder()
        .server_addresses(addr.to_string())
        .udp_push(false)
        .build()?;
    let service = client.list_naming_instance(SERVICE).send()?;
    Ok(Duration::from_millis(service.cache_millis))
}

/// One run of this client: a publisher and a subscriber, each its own `NamingClient`.
fn rust_run(addr: SocketAddr, push: bool, changes: u16, gap: Duration) -> Result<Latencies> {
    let publisher = NamingClient::new(addr.to_string())?;
    // An instance present from the start: the subscriber's first event proves it is live.
    publisher
        .add_naming_instance(SERVICE, IP, FIRST_PORT - 1)
        .send()?;
    let subscriber = NamingClient::builder()
        .server_addresses(addr.to_string())
        .udp_push(push)
        .build()?;
    let (tx, rx) = mpsc::channel::<(Change, u16, Instant)>();
    subscriber
        .subscribe(SERVICE, move |event: &ServiceEvent| {
            let now = Instant::now();
            for (change, instances) in [
                (Change::Added, &event.added),
                (Change::Removed, &event.removed),
            ] {
                for instance in instances {
                    let _ = tx.send((change, instance.port, now));
                }
            }
        })
        .send()?;
    let mut seen = HashMap::new();
    let timeout = Duration::from_secs(if push { 10 } else { 40 });
    wait_for(&rx, &mut seen, &[(Change::Added, FIRST_PORT - 1)], timeout)?;

    publish_and_time(
        &publisher,
        Reports { rx, seen },
        changes,
        gap,
        timeout,
        Instant::now,
        signed_millis,
    )
}

/// A subscriber's reports of changes, each with the time it saw it, and those taken so far.
struct Reports<T> {
    rx: Receiver<(Change, u16, T)>,
    seen: HashMap<(Change, u16), T>,
}

/// Adds `changes / 2` instances and then removes them, `gap` apart, waiting up to `timeout`
/// after each half for the subscriber to report them; returns how long after each call (and
/// after its return) the report came. `now` is the clock of the reports, `since(a, b)` is
/// `a - b` in milliseconds.
fn publish_and_time<T: Copy>(
    publisher: &NamingClient,
    mut reports: Reports<T>,
    changes: u16,
    gap: Duration,
    timeout: Duration,
    now: impl Fn() -> T,
    since: impl Fn(T, T) -> f64,
) -> Result<Latencies> {
    let ports: Vec<u16> = (0..changes / 2).map(|k| FIRST_PORT + k).collect();
    let mut returned: HashMap<(Change, u16), (T, T)> = HashMap::new();
    for change in [Change::Added, Change::Removed] {
        for &port in &ports {
            let called = now();
            match change {
                Change::Added => publisher.add_naming_instance(SERVICE, IP, port).send()?,
                Change::Removed => publisher.remove_naming_instance(SERVICE, IP, port).send()?,
            }
            returned.insert((change, port), (called, now()));
            std::thread::sleep(gap);
        }
        let keys: Vec<(Change, u16)> = ports.iter().map(|&p| (change, p)).collect();
        // A change that never arrives is reported as missing, not an error.
        let _ = wait_for(&reports.rx, &mut reports.seen, &keys, timeout);
    }

    let mut latencies = Latencies {
        made: returned.len(),
        ..Latencies::default()
    };
    for (key, (called, returned)) in &returned {
        if let Some(&at) = reports.seen.get(key) {
            latencies.from_return.push(since(at, *returned));
            latencies.from_call.push(since(at, *called));
        }
    }
    Ok(latencies)
}

/// `a - b` in milliseconds, negative when `a` came first.
fn signed_millis(a: Instant, b: Instant) -> f64 {
    match a.checked_duration_since(b) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(b.duration_since(a).as_secs_f64() * 1000.0),
    }
}

/// Collects listener calls until every key has been seen, or the timeout.
fn wait_for<T: Copy>(
    rx: &Receiver<(Change, u16, T)>,
    seen: &mut HashMap<(Change, u16), T>,
    keys: &[(Change, u16)],
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !keys.iter().all(|k| seen.contains_key(k)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            // The first report of a change is the one that counts.
            Ok((change, port, at)) => {
                seen.entry((change, port)).or_insert(at);
            }
            Err(_) => {
                let missing = keys.iter().filter(|k| !seen.contains_key(k)).count();
                return Err(format!("{missing} changes not reported within {timeout:?}").into());
            }
        }
    }
    Ok(())
}

/// One run with nacos-sdk-python 1.0.0 subscribing (a child process printing each listener call
/// with its wall-clock time) and this client publishing.
fn python_run(addr: SocketAddr, changes: u16, gap: Duration) -> Result<Latencies> {
    let publisher = NamingClient::new(addr.to_string())?;
    publisher
        .add_naming_instance(SERVICE, IP, FIRST_PORT - 1)
        .send()?;
    let logs = tempfile::tempdir()?;
    let mut child = ChildGuard(
        Command::new(python::interpreter()?)
            .arg(python::script("subscribe_events.py"))
            .args(["--server", &addr.to_string(), "--service", SERVICE])
            .arg("--log-dir")
            .arg(logs.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?,
    );
    let stdout = child.0.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel::<(Change, u16, SystemTime)>();
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["READY"] => {
                    let _ = ready_tx.send(());
                }
                ["EVENT", kind, port, at] => {
                    let change = match *kind {
                        "ADDED" => Change::Added,
                        "DELETED" => Change::Removed,
                        _ => continue,
                    };
                    let (Ok(port), Ok(at)) = (port.parse::<u16>(), at.parse::<f64>()) else {
                        continue;
                    };
                    let at = UNIX_EPOCH + Duration::from_secs_f64(at);
                    if tx.send((change, port, at)).is_err() {
                        break;
                    }
                }
                _ => {}
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| "the Python subscriber did not start within 30 s")?;

    // Three of its 7 s polls, and some.
    let timeout = Duration::from_secs(25);
    publish_and_time(
        &publisher,
        Reports {
            rx,
            seen: HashMap::new(),
        },
        changes,
        gap,
        timeout,
        SystemTime::now,
        signed_wall_millis,
    )
}

/// `a - b` in milliseconds of wall-clock time, negative when `a` came first.
fn signed_wall_millis(a: SystemTime, b: SystemTime) -> f64 {
    match a.duration_since(b) {
        Ok(d) => d.as_secs_f64() * 1000.0,
        Err(e) => -(e.duration().as_secs_f64() * 1000.0),
    }
}

//! `client-list`: sequential `list_naming_instance` calls against one rnacos, by this client, by
//! a raw keep-alive loop sending the client's exact request (the ceiling for that server) and
//! by nacos-sdk-python 1.0.0; plus the size of the client's dependency tree.
//!
//! Two more sides split the client's cost in two: the raw loop decoding each answer into a
//! `ServiceInfo` (the ceiling for any client that returns typed instances), and ureq, the
//! client's HTTP library, configured as the client and reading each body without decoding it.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nacos_naming::{NamingClient, ServiceInfo};

use crate::raw_http::Connection;
use crate::report::{self, Goal, Table};
use crate::servers::{RnacosProcess, Server};
use crate::{capture, procfs, python, Result};

const SERVICE: &str = "bench-list";

/// Flags of `client-list`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Seconds of calls for each Rust side, in turns of `--turn` calls.
    #[arg(long, default_value_t = 8.0)]
    seconds: f64,
    /// Calls per turn. The sides take turns this often, so that a burst of other work on the
    /// machine hits all of them alike.
    #[arg(long, default_value_t = 100)]
    turn: u32,
    /// Seconds the Python client runs.
    #[arg(long, default_value_t = 5.0)]
    python_seconds: f64,
    /// Instances in the listed service.
    #[arg(long, default_value_t = 10)]
    instances: u8,
    /// Leave out nacos-sdk-python.
    #[arg(long)]
    skip_python: bool,
    /// Leave out the dependency count (it runs `cargo tree`).
    #[arg(long)]
    skip_tree: bool,
}

/// Calls made by one side and how long each took.
#[derive(Debug, Default)]
struct Sample {
    calls: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// CPU time of the calling process (user and system, the kernel's TCP work included).
    client_cpu: Duration,
    /// CPU time of the server meanwhile.
    server_cpu: Duration,
}

impl Sample {
    fn add(&mut self, other: Sample) {
        self.calls += other.calls;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.client_cpu += other.client_cpu;
        self.server_cpu += other.server_cpu;
    }

    fn per_second(&self) -> f64 {
        report::rate(self.calls, self.elapsed)
    }

    fn row(&mut self, side: &str) -> Vec<String> {
        self.latencies.sort_unstable();
        let p = |q| report::percentile(&self.latencies, q).map_or("-".into(), micros);
        vec![
            side.to_owned(),
            self.calls.to_string(),
            format!("{:.1}", self.elapsed.as_secs_f64()),
            format!("{:.0}", self.per_second()),
            p(50.0),
            p(99.0),
            per_call(self.client_cpu, self.calls),
            per_call(self.server_cpu, self.calls),
        ]
    }
}

fn micros(d: Duration) -> String {
    format!("{} µs", d.as_micros())
}

fn per_call(cpu: Duration, calls: u64) -> String {
    if calls == 0 {
        return "-".into();
    }
    format!("{:.0} µs", cpu.as_secs_f64() * 1e6 / calls as f64)
}

/// Runs one side's loop and adds what it cost this process and the server in CPU time.
fn timed(server: &dyn Server, side: impl FnOnce() -> Result<Sample>) -> Result<Sample> {
    let me = std::process::id();
    let (client_before, server_before) = (procfs::cpu_time(me)?, server.stats()?.cpu);
    let mut sample = side()?;
    sample.client_cpu = procfs::cpu_time(me)?.saturating_sub(client_before);
    sample.server_cpu = server.stats()?.cpu.saturating_sub(server_before);
    Ok(sample)
}

/// Runs the benchmark and prints its tables.
pub fn run(args: Args) -> Result<()> {
    let server = RnacosProcess::start()?;
    let addr = server.addr();
    println!(
        "server: {} on {addr}; service {SERVICE:?} with {} instances (kept alive by beats)\n",
        server.name(),
        args.instances
    );

    // Registered by another client, whose heartbeats keep them alive for the whole run.
    let registrar = NamingClient::new(addr.to_string())?;
    for i in 0..args.instances {
        registrar
            .add_naming_instance(SERVICE, format!("10.0.0.{}", u32::from(i) + 1), 8080)
            .metadata([("version", "1.0.0")])
            .send()?;
    }

    let client = NamingClient::new(addr.to_string())?;
    let head = capture::request_head(
        r#"{"name":"DEFAULT_GROUP@@bench-list","hosts":[],"cacheMillis":10000}"#,
        |address| {
            if let Ok(c) = NamingClient::new(address) {
                let _ = c.list_naming_instance(SERVICE).send();
            }
        },
    )?;
    let request = capture::retarget(&head, addr).into_bytes();
    println!(
        "request (the client's, sent as is by the raw loop):\n  {}\n",
        capture::request_line(&head)
    );

    check_answers(&client, &request, addr, usize::from(args.instances))?;

    let path = request_path(&head)?;
    let http = ureq_agent();
    let url = format!("http://{addr}{path}");
    let mut raw = Connection::new(addr);
    let mut raw_decoding = Connection::new(addr);
    let mut sides: Vec<Side<'_>> = vec![
        Side::new(
            "nacos-naming (this client)",
            Box::new(|| {
                let service = client.list_naming_instance(SERVICE).send()?;
                std::hint::black_box(service);
                Ok(())
            }),
        ),
        Side::new(
            "ureq alone, no decoding",
            Box::new(|| {
                let mut answer = http.get(&url).call()?;
                let body = answer.body_mut().read_to_string()?;
                ok_answer(answer.status().as_u16(), body.as_bytes())
            }),
        ),
        Side::new(
            "raw loop + decoding",
            Box::new(|| {
                let (status, body) = raw_decoding.send(&request)?;
                ok_answer(status, body)?;
                let service: ServiceInfo = serde_json::from_slice(body)?;
                std::hint::black_box(service);
                Ok(())
            }),
        ),
        Side::new(
            "raw keep-alive loop (ceiling)",
            Box::new(|| {
                let (status, body) = raw.send(&request)?;
                ok_answer(status, body)
            }),
        ),
    ];
    // Warm up every side: connections, caches, the server's first allocations.
    for side in &mut sides {
        side.turn(200)?;
    }
    let per_side = Duration::from_secs_f64(args.seconds);
    while sides.iter().any(|s| s.sample.elapsed < per_side) {
        for side in sides.iter_mut().filter(|s| s.sample.elapsed < per_side) {
            let turn = timed(&server, || side.turn(args.turn.max(1)))?;
            side.sample.add(turn);
        }
    }
    let by_python = if args.skip_python {
        None
    } else {
        Some(python_loop(&server, args.python_seconds)?)
    };

    let mut table = Table::new([
        "side",
        "calls",
        "seconds",
        "calls/s",
        "p50",
        "p99",
        "client CPU/call",
        "server CPU/call",
    ]);
    for side in &mut sides {
        table.row(side.sample.row(side.name));
    }
    if let Some(py) = &by_python {
        table.row(vec![
            "nacos-sdk-python 1.0.0".into(),
            py.calls.to_string(),
            format!("{:.1}", py.seconds),
            format!("{:.0}", py.per_second()),
            format!("{:.0} µs", py.p50_us),
            format!("{:.0} µs", py.p99_us),
            format!("{:.0} µs", py.cpu_s * 1e6 / py.calls.max(1) as f64),
            per_call(py.server_cpu, py.calls),
        ]);
    }
    table.print();
    let rate = |i: usize| sides[i].sample.per_second();
    let (client, ureq_alone, decoding, raw) = (rate(0), rate(1), rate(2), rate(3));
    println!(
        "what the client's time goes to, each as a share of the raw loop's rate:\n  \
         ureq alone/raw = {} (the HTTP library)\n  \
         (raw + decoding)/raw = {} (decoding ten instances into a ServiceInfo)",
        report::number(ureq_alone / raw),
        report::number(decoding / raw),
    );
    report::goal("client/raw", client / raw, Goal::AtLeast(0.8));
    if let Some(py) = &by_python {
        report::goal(
            "client/python",
            client / py.per_second(),
            Goal::AtLeast(10.0),
        );
    }
    if !args.skip_tree {
        let (crates, root) = dependency_count()?;
        report::goal(
            &format!(
                "crates in `cargo tree -p nacos-naming -e normal`, deduplicated ({root} and {} dependencies)",
                crates - 1
            ),
            crates as f64,
            Goal::AtMost(40.0),
        );
    }
    Ok(())
}

/// Both sides get the same, complete answer before anything is timed.
fn check_answers(
    client: &NamingClient,
    request: &[u8],
    addr: SocketAddr,
    instances: usize,
) -> Result<()> {
    let listed = client.list_naming_instance(SERVICE).send()?;
    if listed.hosts.len() != instances {
        return Err(format!(
            "the client lists {} instances, expected {instances}",
            listed.hosts.len()
        )
        .into());
    }
    let mut connection = Connection::new(addr);
    let (status, body) = connection.send(request)?;
    let answer: serde_json::Value = serde_json::from_slice(body)?;
    let hosts = answer["hosts"].as_array().map_or(0, Vec::len);
    if status != 200 || hosts != instances {
        return Err(format!("the raw request got status {status} with {hosts} hosts").into());
    }
    Ok(())
}

/// One way of making the list call, and what its calls measured.
struct Side<'a> {
    name: &'static str,
    call: Box<dyn FnMut() -> Result<()> + 'a>,
    sample: Sample,
}

impl<'a> Side<'a> {
    fn new(name: &'static str, call: Box<dyn FnMut() -> Result<()> + 'a>) -> Side<'a> {
        Side {
            name,
            call,
            sample: Sample::default(),
        }
    }

    /// `calls` calls in a row, each timed.
    fn turn(&mut self, calls: u32) -> Result<Sample> {
        let mut sample = Sample {
            latencies: Vec::with_capacity(calls as usize),
            ..Sample::default()
        };
        let start = Instant::now();
        for _ in 0..calls {
            let t = Instant::now();
            (self.call)()?;
            sample.latencies.push(t.elapsed());
            sample.calls += 1;
        }
        sample.elapsed = start.elapsed();
        Ok(sample)
    }
}

fn ok_answer(status: u16, body: &[u8]) -> Result<()> {
    if status != 200 || body.is_empty() {
        return Err(format!("answered {status} with {} bytes", body.len()).into());
    }
    Ok(())
}

/// The path and query of a request head's request line.
fn request_path(head: &str) -> Result<&str> {
    capture::request_line(head)
        .split(' ')
        .nth(1)
        .ok_or_else(|| format!("no path in {:?}", capture::request_line(head)).into())
}

/// ureq configured as the client configures it by default: keep-alive and the same timeouts.
fn ureq_agent() -> ureq::Agent {
    let timeout = Some(Duration::from_secs(5));
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(2)))
        .timeout_send_request(timeout)
        .timeout_send_body(timeout)
        .timeout_recv_response(timeout)
        .timeout_recv_body(timeout)
        .max_redirects(0)
        .proxy(None)
        .build()
        .into()
}

/// What `python/list_loop.py` reports.
#[derive(Debug)]
struct PythonSample {
    calls: u64,
    seconds: f64,
    p50_us: f64,
    p99_us: f64,
    /// The interpreter's own CPU time over the timed calls.
    cpu_s: f64,
    /// The server's CPU time over the whole script (its 21 untimed calls included).
    server_cpu: Duration,
}

impl PythonSample {
    fn per_second(&self) -> f64 {
        self.calls as f64 / self.seconds.max(1e-9)
    }
}

fn python_loop(server: &dyn Server, seconds: f64) -> Result<PythonSample> {
    let addr = server.addr();
    let python = python::interpreter()?;
    let server_before = server.stats()?.cpu;
    let logs = tempfile::tempdir()?;
    let output = Command::new(python)
        .arg(python::script("list_loop.py"))
        .args(["--server", &addr.to_string(), "--service", SERVICE])
        .args(["--seconds", &seconds.to_string()])
        .arg("--log-dir")
        .arg(logs.path())
        .output()?;
    let server_cpu = server.stats()?.cpu.saturating_sub(server_before);
    if !output.status.success() {
        return Err(format!(
            "list_loop.py failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let last = text.lines().last().unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(last).map_err(|e| format!("list_loop.py said {last:?}: {e}"))?;
    let number = |k: &str| {
        v[k].as_f64()
            .ok_or(format!("list_loop.py: no {k} in {last}"))
    };
    Ok(PythonSample {
        calls: number("calls")? as u64,
        seconds: number("seconds")?,
        p50_us: number("p50_us")?,
        p99_us: number("p99_us")?,
        cpu_s: number("cpu_s")?,
        server_cpu,
    })
}

/// The deduplicated lines of `cargo tree -p nacos-naming -e normal --prefix none`, and the root.
fn dependency_count() -> Result<(usize, String)> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "nacos-naming",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(workspace)
        .output()
        .map_err(|e| format!("running cargo tree: {e} (or pass --skip-tree)"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let root = text
        .lines()
        .next()
        .and_then(|l| l.split(" (").next())
        .unwrap_or("nacos-naming")
        .to_owned();
    let crates: BTreeSet<&str> = text
        .lines()
        .map(|l| l.trim_end_matches(" (*)").trim())
        .filter(|l| !l.is_empty())
        .collect();
    Ok((crates.len(), root))
}

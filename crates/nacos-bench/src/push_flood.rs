//! `push-flood` (issue 9): the client's memory under a flood of pushes while its listeners
//! sleep. A child process (`push-flood-client`, hidden) subscribes to 100 services with a
//! listener that sleeps in every call; this process sends it gzip push packets, each a new
//! list of one of those services, as fast as it can for a while, and reads the child's
//! resident memory from `/proc` meanwhile. Memory must stay bounded by the subscriptions (one
//! held list, one pending and one last-delivered list each), not grow with the pushes.
//!
//! The child's server address is a closed port on 127.0.0.1: its polls fail and back off,
//! while pushes from 127.0.0.1 pass the address check, as a spoofing local process's would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flate2::write::GzEncoder;
use flate2::Compression;
use nacos_naming::{NamingClient, ServiceEvent};

use crate::procfs::{self, mib};
use crate::report::{goal, Goal, Table};
use crate::Result;

/// Flags of `push-flood`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Subscribed services.
    #[arg(long, default_value_t = 100)]
    subscriptions: u32,
    /// Instances in each pushed list.
    #[arg(long, default_value_t = 200)]
    instances: u32,
    /// How long to flood.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// How long each listener call sleeps, in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    listener_sleep_ms: u64,
}

/// Flags of `push-flood-client`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    #[arg(long)]
    server: String,
    #[arg(long)]
    udp_port: u16,
    #[arg(long)]
    subscriptions: u32,
    #[arg(long)]
    listener_sleep_ms: u64,
}

fn service(i: u32) -> String {
    format!("bench-flood-{i}")
}

/// The child: subscribes, prints `SUBSCRIBED`, lives until stdin closes.
pub fn run_client(args: ClientArgs) -> Result<()> {
    let client = NamingClient::builder()
        .server_addresses(&args.server)
        .udp_port(args.udp_port)
        .client_ip("127.0.0.1".parse()?)
        .connect_timeout(Duration::from_millis(200))
        .build()?;
    let sleep = Duration::from_millis(args.listener_sleep_ms);
    for i in 0..args.subscriptions {
        client
            .subscribe(service(i), move |_: &ServiceEvent| {
                std::thread::sleep(sleep)
            })
            .send()?;
    }
    println!("SUBSCRIBED");
    std::io::stdout().flush()?;
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}

/// Kills the child when the benchmark ends, also on a panic.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A gzip push packet of `service` listing `instances` instances from port `first`.
fn packet(service: &str, instances: u32, first: u32) -> Result<Vec<u8>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let hosts: Vec<serde_json::Value> = (0..instances)
        .map(|k| {
            let n = first + k;
            serde_json::json!({
                "ip": format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255),
                "port": 8080, "weight": 1.0, "healthy": true, "enabled": true,
                "ephemeral": true, "clusterName": "DEFAULT",
                "serviceName": format!("DEFAULT_GROUP@@{service}"),
                "metadata": {"version": "1.0", "zone": "a"},
            })
        })
        .collect();
    let data = serde_json::json!({
        "name": format!("DEFAULT_GROUP@@{service}"), "groupName": "DEFAULT_GROUP",
        "clusters": "", "cacheMillis": 10000, "hosts": hosts, "lastRefTime": now as i64,
        "checksum": "",
    });
    let push =
        serde_json::json!({"type": "dom", "data": data.to_string(), "lastRefTime": now as i64});
    let mut gzip = GzEncoder::new(Vec::new(), Compression::fast());
    gzip.write_all(push.to_string().as_bytes())?;
    Ok(gzip.finish()?)
}

/// Runs the flood and prints the child's memory.
pub fn run(args: Args) -> Result<()> {
    println!(
        "push-flood: {} subscriptions, listeners sleeping {} ms per call, gzip pushes of {} \
         instances each, {} s",
        args.subscriptions, args.listener_sleep_ms, args.instances, args.seconds
    );
    // A port nothing listens on: bound, then closed.
    let closed = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let udp_port = UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut child = ChildGuard(
        Command::new(std::env::current_exe()?)
            .arg("push-flood-client")
            .args(["--server", &closed.to_string()])
            .args(["--udp-port", &udp_port.to_string()])
            .args(["--subscriptions", &args.subscriptions.to_string()])
            .args(["--listener-sleep-ms", &args.listener_sleep_ms.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?,
    );
    let pid = child.0.id();
    let stdout = child.0.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            let _ = tx.send(line);
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) if line == "SUBSCRIBED" => {}
        other => return Err(format!("the client did not subscribe: {other:?}").into()),
    }
    let before = procfs::stats(pid)?;

    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let (mut sent, mut bytes, mut largest) = (0u64, 0u64, 0usize);
    let mut peak_rss = before.rss_kib;
    let started = Instant::now();
    let mut next_reading = started;
    while started.elapsed() < Duration::from_secs(args.seconds) {
        let i = (sent % u64::from(args.subscriptions)) as u32;
        // Each list of a service differs from its last: every push is a change.
        let first = (sent / u64::from(args.subscriptions)) as u32 % 1000;
        let p = packet(&service(i), args.instances, first)?;
        largest = largest.max(p.len());
        if socket.send_to(&p, ("127.0.0.1", udp_port)).is_ok() {
            sent += 1;
            bytes += p.len() as u64;
        }
        if Instant::now() >= next_reading {
            peak_rss = peak_rss.max(procfs::stats(pid)?.rss_kib);
            next_reading += Duration::from_millis(200);
        }
    }
    let elapsed = started.elapsed();
    let after = procfs::stats(pid)?;
    peak_rss = peak_rss.max(after.rss_kib);

    let mut table = Table::new(["figure", "value"]);
    table.row(vec!["pushes sent".into(), sent.to_string()]);
    table.row(vec![
        "push rate".into(),
        format!("{:.0}/s", sent as f64 / elapsed.as_secs_f64()),
    ]);
    table.row(vec![
        "bytes sent (gzip)".into(),
        format!("{} (largest packet {largest} B)", mib(bytes / 1024)),
    ]);
    table.row(vec!["client RSS before".into(), mib(before.rss_kib)]);
    table.row(vec!["client RSS peak (sampled)".into(), mib(peak_rss)]);
    table.row(vec!["client VmHWM".into(), mib(after.hwm_kib)]);
    table.row(vec!["client threads".into(), after.threads.to_string()]);
    table.print();
    goal(
        "largest resident memory of the client, MiB",
        after.hwm_kib.max(peak_rss) as f64 / 1024.0,
        Goal::AtMost(64.0),
    );
    drop(child.0.stdin.take());
    Ok(())
}

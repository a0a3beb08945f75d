//! `hostile-peers`: what a hostile peer on loopback can make the devserver do, bounded in count
//! and time.
//!
//! - Slow bodies: connections that send a request head announcing a body, then trickle it (a
//!   small one, as in the report that found the lock-out, and a large one, the most memory a
//!   connection can make the server hold), while a normal client keeps listing: its answers,
//!   its slowest answer, and the server's largest resident memory.
//! - Subscribers: one address lists one service with thousands of cluster strings, and many
//!   services besides, then a registration changes the service and nothing is acked: the
//!   datagrams and bytes pushed to that address per byte received from it (the amplification),
//!   and the largest resident memory.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::procfs;
use crate::raw_http::{self, Connection};
use crate::report::{self, Goal, Table};
use crate::servers::{self, DevServerOptions, DevServerProcess, Server};
use crate::Result;

/// Flags of `hostile-peers`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Slow-body connections per flood (the server's cap is 512).
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Seconds each slow-body flood lasts.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Cluster strings the subscriber flood lists its service with.
    #[arg(long, default_value_t = 4096)]
    cluster_strings: usize,
    /// Other services the subscriber flood lists with `udpPort` (the cap per address is 4096).
    #[arg(long, default_value_t = 10_000)]
    services: usize,
    /// The nacos-devserver binary; built with cargo when not given.
    #[arg(long, env = "NACOS_DEVSERVER_BIN")]
    devserver_bin: Option<PathBuf>,
}

/// What the normal client saw during a flood.
struct Flood {
    answered: u64,
    failed: u64,
    slowest: Duration,
    hwm_kib: u64,
}

/// Runs both floods, each against a fresh server, and prints the figures.
pub fn run(args: Args) -> Result<()> {
    let binary = servers::devserver_binary(args.devserver_bin.as_deref())?;
    let seconds = Duration::from_secs_f64(args.seconds);
    let mut table = Table::new([
        "flood",
        "connections",
        "normal answers",
        "failed",
        "slowest answer",
        "max RSS",
    ]);
    let mut worst_kib = 0;
    for (name, announced, sent) in [
        ("slow small bodies", 100, 3),
        ("slow large bodies", 1 << 20, 512 * 1024),
    ] {
        let server = DevServerProcess::start(&binary, &DevServerOptions::default())?;
        servers::wait_until_answering(server.addr())?;
        let flood = slow_bodies(&server, args.connections, announced, sent, seconds)?;
        worst_kib = worst_kib.max(flood.hwm_kib);
        table.row(vec![
            format!("{name} ({announced} B announced, {sent} B sent)"),
            args.connections.to_string(),
            flood.answered.to_string(),
            flood.failed.to_string(),
            format!("{} ms", flood.slowest.as_millis()),
            procfs::mib(flood.hwm_kib),
        ]);
    }
    table.print();

    let server = DevServerProcess::start(&binary, &DevServerOptions::default())?;
    servers::wait_until_answering(server.addr())?;
    let pushed = subscribers(&server, &args)?;
    worst_kib = worst_kib.max(pushed.hwm_kib);
    let mut table = Table::new([
        "subscriber flood",
        "bytes received from the address",
        "datagrams pushed",
        "bytes pushed",
        "max RSS",
    ]);
    table.row(vec![
        format!(
            "{} cluster strings + {} services, 1 registration, no acks",
            args.cluster_strings, args.services
        ),
        pushed.received.to_string(),
        pushed.datagrams.to_string(),
        pushed.pushed.to_string(),
        procfs::mib(pushed.hwm_kib),
    ]);
    table.print();
    let ratio = pushed.pushed as f64 / pushed.received.max(1) as f64;
    report::goal(
        "bytes pushed per byte received from the address",
        ratio,
        Goal::AtMost(1.0),
    );
    report::goal(
        "largest resident memory under the floods (MiB)",
        worst_kib as f64 / 1024.0,
        Goal::AtMost(256.0),
    );
    Ok(())
}

/// `count` connections announce `announced` body bytes, send `sent` of them, then one more
/// byte a second; a normal client lists all along. Ends after `seconds`.
fn slow_bodies(
    server: &DevServerProcess,
    count: usize,
    announced: usize,
    sent: usize,
    seconds: Duration,
) -> Result<Flood> {
    let addr = server.addr();
    let head = format!(
        "POST /nacos/v1/ns/instance HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {announced}\r\n\r\n"
    );
    let first = [head.as_bytes(), &vec![b'x'; sent][..]].concat();
    let started = Instant::now();
    let mut flood: Vec<Option<TcpStream>> = Vec::with_capacity(count);
    for _ in 0..count {
        let stream = TcpStream::connect(addr).ok().and_then(|mut s| {
            s.set_write_timeout(Some(Duration::from_millis(200))).ok()?;
            s.write_all(&first).ok()?;
            Some(s)
        });
        flood.push(stream);
    }
    let list = raw_http::request("GET", "/nacos/v1/ns/instance/list?serviceName=normal", addr);
    let mut normal = Connection::new(addr);
    let (mut answered, mut failed, mut slowest) = (0, 0, Duration::ZERO);
    let mut last_trickle = Instant::now();
    let mut hwm_kib = 0;
    while started.elapsed() < seconds {
        let asked = Instant::now();
        match normal.send(&list) {
            Ok((200, _)) => answered += 1,
            _ => failed += 1,
        }
        slowest = slowest.max(asked.elapsed());
        if last_trickle.elapsed() >= Duration::from_secs(1) {
            last_trickle = Instant::now();
            for stream in &mut flood {
                // A connection the server closed stays closed: the flood shrinks as it is shed.
                if stream.as_mut().is_some_and(|s| s.write_all(b"x").is_err()) {
                    *stream = None;
                }
            }
        }
        hwm_kib = hwm_kib.max(server.stats()?.hwm_kib);
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(Flood {
        answered,
        failed,
        slowest,
        hwm_kib,
    })
}

/// What the subscriber flood cost.
struct Pushed {
    received: u64,
    datagrams: u64,
    pushed: u64,
    hwm_kib: u64,
}

fn subscribers(server: &DevServerProcess, args: &Args) -> Result<Pushed> {
    let addr = server.addr();
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let port = socket.local_addr()?.port();
    let mut http = Connection::new(addr);
    let mut received = 0u64;
    let mut send = |path: String| -> Result<()> {
        let request = raw_http::request(
            if path.contains("/list") {
                "GET"
            } else {
                "POST"
            },
            &path,
            addr,
        );
        received += request.len() as u64;
        http.send(&request)?;
        Ok(())
    };
    for i in 0..args.cluster_strings {
        send(format!(
            "/nacos/v1/ns/instance/list?serviceName=victim&udpPort={port}&clusters=C{i}"
        ))?;
    }
    for i in 0..args.services {
        send(format!(
            "/nacos/v1/ns/instance/list?serviceName=other-{i}&udpPort={port}"
        ))?;
    }
    send("/nacos/v1/ns/instance?serviceName=victim&ip=10.0.0.1&port=80&clusterName=C0".into())?;
    // Everything the server pushes for that change, unacked: it ends when the resends do.
    let (mut datagrams, mut pushed) = (0u64, 0u64);
    let mut buf = vec![0u8; 64 * 1024];
    socket.set_read_timeout(Some(Duration::from_secs(3)))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Ok((n, _)) = socket.recv_from(&mut buf) else {
            break;
        };
        datagrams += 1;
        pushed += n as u64;
    }
    Ok(Pushed {
        received,
        datagrams,
        pushed,
        hwm_kib: server.stats()?.hwm_kib,
    })
}

//! `api-generations`: what a call costs the client on the v3 client API of Nacos 3.2+ against
//! the V1 API, for `list_naming_instance` and `add_naming_instance`.
//!
//! Both sides call the same loopback server, which answers from prepared bytes (the same
//! instances, in the V1 shape or in the v3 envelope), so the server's cost is equal and small
//! and the difference is the client's: building the request, reading the envelope, applying
//! health and clusters on this side. Sides take turns of `--turn` calls so that a burst of
//! other work on the machine hits both alike.

use std::io::BufReader;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nacos_naming::{NamingClient, ServerApi};
use nacos_test_support::{write_response, ReceivedRequest};

use crate::report::{self, Table};
use crate::Result;

/// Flags of `api-generations`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Calls per side and per operation.
    #[arg(long, default_value_t = 20_000)]
    calls: u32,
    /// Calls per turn.
    #[arg(long, default_value_t = 200)]
    turn: u32,
    /// Instances in the listed service.
    #[arg(long, default_value_t = 10)]
    instances: u16,
}

/// A keep-alive server answering V1 and v3 list and register calls from prepared bodies.
struct CannedServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl CannedServer {
    fn start(instances: u16) -> Result<CannedServer> {
        let hosts: Vec<serde_json::Value> = (0..instances)
            .map(|i| {
                serde_json::json!({
                    "ip": format!("10.0.{}.{}", i / 250, i % 250 + 1), "port": 8080,
                    "weight": 1.0, "healthy": true, "enabled": true, "ephemeral": true,
                    "clusterName": "DEFAULT", "serviceName": "DEFAULT_GROUP@@bench",
                    "metadata": {"version": "1.0.0"},
                })
            })
            .collect();
        let v1_list = serde_json::json!({
            "name": "DEFAULT_GROUP@@bench", "clusters": "", "cacheMillis": 10000,
            "hosts": hosts, "lastRefTime": 1, "checksum": "", "allIPs": false,
        })
        .to_string();
        let v3_list =
            serde_json::json!({"code": 0, "message": "success", "data": hosts}).to_string();
        let answers = Arc::new((v1_list, v3_list));
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let stop = stop.clone();
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let answers = answers.clone();
                    thread::spawn(move || serve(stream, &answers));
                }
            })
        };
        Ok(CannedServer {
            addr,
            stop,
            acceptor: Some(acceptor),
        })
    }
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, answers: &(String, String)) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    while let Some(request) = ReceivedRequest::read(&mut reader) {
        let body = match request.path.as_str() {
            "/nacos/v1/ns/instance/list" => answers.0.as_str(),
            "/nacos/v3/client/ns/instance/list" => answers.1.as_str(),
            "/nacos/v1/ns/instance" => "ok",
            "/nacos/v3/client/ns/instance" => r#"{"code":0,"message":"success","data":"ok"}"#,
            _ => "",
        };
        let status = if body.is_empty() { 404 } else { 200 };
        if write_response(reader.get_mut(), status, "application/json", body, false).is_err() {
            return;
        }
    }
}

/// Time spent by one side on one operation.
#[derive(Default)]
struct Side {
    calls: u64,
    elapsed: Duration,
}

/// Runs the benchmark and prints its figures.
pub fn run(args: Args) -> Result<()> {
    let server = CannedServer::start(args.instances)?;
    let client = |api| {
        NamingClient::builder()
            .server_addresses(server.addr.to_string())
            .api(api)
            .build()
    };
    let (v1, v3) = (client(ServerApi::V1)?, client(ServerApi::V3)?);
    let list = |c: &NamingClient| c.list_naming_instance("bench").send().map(|_| ());
    let register = |c: &NamingClient| {
        c.add_naming_instance("bench", "10.9.0.1", 8080)
            .heartbeat(false)
            .send()
    };
    // Warm both: connections, and the first answers' allocations.
    for c in [&v1, &v3] {
        list(c)?;
        register(c)?;
    }
    let mut sides = [
        [Side::default(), Side::default()],
        [Side::default(), Side::default()],
    ];
    let mut done = 0;
    while done < args.calls {
        let turn = args.turn.min(args.calls - done);
        for (generation, c) in [&v1, &v3].into_iter().enumerate() {
            let started = Instant::now();
            for _ in 0..turn {
                list(c)?;
            }
            sides[0][generation].elapsed += started.elapsed();
            sides[0][generation].calls += u64::from(turn);
            let started = Instant::now();
            for _ in 0..turn {
                register(c)?;
            }
            sides[1][generation].elapsed += started.elapsed();
            sides[1][generation].calls += u64::from(turn);
        }
        done += turn;
    }
    let mut table = Table::new(["call", "V1 µs/call", "v3 µs/call", "v3 / V1"]);
    let names = [
        format!("list ({} instances)", args.instances),
        "register".to_owned(),
    ];
    for (name, [v1, v3]) in names.into_iter().zip(&sides) {
        let per_call = |s: &Side| s.elapsed.as_secs_f64() * 1e6 / s.calls.max(1) as f64;
        let (a, b) = (per_call(v1), per_call(v3));
        table.row(vec![
            name,
            report::number(a),
            report::number(b),
            format!("{:.2}", b / a),
        ]);
    }
    println!(
        "{} calls per side and call, in turns of {}, on one loopback server answering from \
         prepared bytes:",
        args.calls, args.turn
    );
    table.print();
    Ok(())
}

//! `nacos-bench`: the benchmarks behind the figures in the README.
//!
//! Each subcommand starts its own servers on 127.0.0.1 (stopped when it ends, also on a
//! panic), runs a bounded load, and prints the machine, a table of figures and the ratios
//! against the project's goals. Run them in release mode:
//!
//! ```text
//! cargo run --release -p nacos-bench -- client-list
//! cargo run --release -p nacos-bench -- server-throughput
//! cargo run --release -p nacos-bench -- notify-latency
//! cargo run --release -p nacos-bench -- heartbeat-scale
//! cargo run --release -p nacos-bench -- api-generations
//! cargo run --release -p nacos-bench -- hostile-peers
//! cargo run --release -p nacos-bench -- select
//! cargo run --release -p nacos-bench -- persistent-writes
//! cargo run --release -p nacos-bench -- python-package
//! cargo run --release -p nacos-bench -- push-flood
//! ```

#![forbid(unsafe_code)]

mod api_generations;
mod beat_client;
mod capture;
mod client_list;
mod heartbeat_scale;
mod hostile_peers;
mod load;
mod machine;
mod notify_latency;
mod persistent_writes;
mod procfs;
mod push_flood;
mod python;
mod python_package;
mod raw_http;
mod report;
mod select;
mod server_throughput;
mod servers;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What a benchmark returns when it cannot go on.
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Benchmarks of nacos-naming and nacos-devserver, against rnacos and nacos-sdk-python, on
/// loopback.
#[derive(Debug, Parser)]
#[command(about)]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Sequential list calls against rnacos: this client, a raw keep-alive loop, Python.
    ClientList(client_list::Args),
    /// Registrations/s, list queries/s and memory: nacos-devserver against rnacos.
    ServerThroughput(server_throughput::Args),
    /// Time from a change in one client to a listener in another: push, polling, Python.
    NotifyLatency(notify_latency::Args),
    /// 10,000 instances kept alive by one client: health, threads, CPU, memory; and Python.
    HeartbeatScale(heartbeat_scale::Args),
    /// Persistent registrations into one service: devserver with and without a data dir, rnacos.
    PersistentWrites(persistent_writes::Args),
    /// The client's cost per list and register call on the v3 client API against V1.
    ApiGenerations(api_generations::Args),
    /// Slow-body and subscriber floods against the devserver: memory, amplification.
    HostilePeers(hostile_peers::Args),
    /// select_one_healthy_instance from a subscription, one thread and every core; and Node.js.
    Select(select::Args),
    /// The Python package (nacos-naming-py) against nacos-sdk-python 1.0.0: list calls/s,
    /// heartbeats for 5,000 instances, change-to-listener latency.
    PythonPackage(python_package::Args),
    /// The client process of heartbeat-scale.
    #[command(hide = true)]
    BeatClient(beat_client::Args),
    /// The client's memory under a push flood with 100 sleeping listeners.
    PushFlood(push_flood::Args),
    /// The client process of push-flood.
    #[command(hide = true)]
    PushFloodClient(push_flood::ClientArgs),
}

fn main() -> ExitCode {
    let bench = match Cli::parse().command {
        // A child of heartbeat-scale: no report of its own.
        Bench::BeatClient(args) => return exit(beat_client::run(args)),
        Bench::PushFloodClient(args) => return exit(push_flood::run_client(args)),
        bench => bench,
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run the benchmarks with --release");
    }
    println!("{}\n", machine::Machine::read());
    let result = match bench {
        Bench::ClientList(args) => client_list::run(args),
        Bench::ServerThroughput(args) => server_throughput::run(args),
        Bench::NotifyLatency(args) => notify_latency::run(args),
        Bench::HeartbeatScale(args) => heartbeat_scale::run(args),
        Bench::ApiGenerations(args) => api_generations::run(args),
        Bench::HostilePeers(args) => hostile_peers::run(args),
        Bench::Select(args) => select::run(args),
        Bench::PersistentWrites(args) => persistent_writes::run(args),
        Bench::PythonPackage(args) => python_package::run(args),
        Bench::PushFlood(args) => push_flood::run(args),
        Bench::BeatClient(_) | Bench::PushFloodClient(_) => unreachable!("handled above"),
    };
    println!("load average at end: {}", machine::load_average());
    exit(result)
}

fn exit(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nacos-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

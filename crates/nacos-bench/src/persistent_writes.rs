//! `persistent-writes`: registrations of distinct persistent instances into one service, by
//! the same load generator, against nacos-devserver without and with a data directory and
//! against rnacos: registrations per second under concurrent load, and the cost of one write
//! (one connection, sequential) once the service holds 100, 10,000 and 100,000 instances.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use crate::load::{self, Limit};
use crate::report::{self, Goal, Table};
use crate::server_throughput::register_request;
use crate::servers::{self, DevServerOptions, DevServerProcess, RnacosProcess, Server};
use crate::Result;

const SERVICE: &str = "bench-persistent";

/// Flags of `persistent-writes`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Concurrent keep-alive clients of the throughput phase.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds the throughput phase is measured.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Sizes of the service at which one write's cost is measured.
    #[arg(long, value_delimiter = ',', default_value = "100,10000,100000")]
    sizes: Vec<u64>,
    /// Sequential writes timed at each size.
    #[arg(long, default_value_t = 300)]
    writes: u64,
    /// The nacos-devserver binary; built with cargo when not given.
    #[arg(long, env = "NACOS_DEVSERVER_BIN")]
    devserver_bin: Option<PathBuf>,
}

/// What one server did.
struct Results {
    name: String,
    per_second: f64,
    /// Mean microseconds of one write, per size.
    write_micros: Vec<f64>,
}

/// Runs the benchmark and prints its table.
pub fn run(args: Args) -> Result<()> {
    let binary = servers::devserver_binary(args.devserver_bin.as_deref())?;
    let data = tempfile::tempdir()?;
    let mut results = Vec::new();
    {
        let server = DevServerProcess::start(&binary, &DevServerOptions::default())?;
        results.push(measure(&server, "nacos-devserver", &args)?);
    }
    {
        let options = DevServerOptions {
            data_dir: Some(data.path().to_owned()),
            ..DevServerOptions::default()
        };
        let server = DevServerProcess::start(&binary, &options)?;
        results.push(measure(&server, "nacos-devserver --data-dir", &args)?);
    }
    match RnacosProcess::start() {
        Ok(server) => results.push(measure(&server, "rnacos 0.8.8", &args)?),
        Err(e) => println!("rnacos skipped: {e}\n"),
    }

    let mut header = vec![
        "server".to_owned(),
        format!("registrations/s ({} clients)", args.clients),
    ];
    header.extend(args.sizes.iter().map(|s| format!("µs/write at {s}")));
    let mut table = Table::with_header(header);
    for r in &results {
        let mut row = vec![r.name.clone(), format!("{:.0}", r.per_second)];
        row.extend(r.write_micros.iter().map(|m| format!("{m:.0}")));
        table.row(row);
    }
    table.print();

    if let Some(rnacos) = results.iter().find(|r| r.name.starts_with("rnacos")) {
        for ours in results
            .iter()
            .filter(|r| r.name.starts_with("nacos-devserver"))
        {
            report::goal(
                &format!("{} / rnacos, registrations/s", ours.name),
                ours.per_second / rnacos.per_second,
                Goal::AtLeast(1.5),
            );
        }
    }
    for ours in results
        .iter()
        .filter(|r| r.name.starts_with("nacos-devserver"))
    {
        if let (Some(first), Some(last)) = (ours.write_micros.first(), ours.write_micros.last()) {
            report::goal(
                &format!(
                    "{}: µs/write at the largest size / at the smallest",
                    ours.name
                ),
                last / first,
                Goal::AtMost(2.0),
            );
        }
    }
    Ok(())
}

fn measure(server: &dyn Server, name: &str, args: &Args) -> Result<Results> {
    let addr = server.addr();
    let next = AtomicU64::new(0);
    let make = |i: u64| register_request(addr, SERVICE, i, false);
    let check = |status: u16, body: &[u8]| status == 200 && body == b"ok";
    let fail = |load: &load::LoadResult| -> Result<()> {
        match &load.first_failure {
            Some(why) => Err(format!("{name}: a registration failed: {why}").into()),
            None => Ok(()),
        }
    };
    let mut write_micros = Vec::new();
    for &size in &args.sizes {
        let have = next.load(std::sync::atomic::Ordering::Relaxed);
        if size > have {
            let fill = load::run(addr, 16, Limit::Count(size - have), &next, &make, &check);
            fail(&fill)?;
        }
        let timed = load::run(addr, 1, Limit::Count(args.writes), &next, &make, &check);
        fail(&timed)?;
        write_micros.push(timed.elapsed.as_secs_f64() * 1e6 / timed.ok.max(1) as f64);
        eprintln!(
            "{name}: {size} instances, {:.0} µs/write",
            write_micros.last().unwrap_or(&0.0)
        );
    }
    let load = load::run(
        addr,
        args.clients,
        Limit::Time(Duration::from_secs_f64(args.seconds)),
        &next,
        &make,
        &check,
    );
    fail(&load)?;
    Ok(Results {
        name: name.to_owned(),
        per_second: load.per_second(),
        write_micros,
    })
}

//! `beat-client` (hidden): the client process of `heartbeat-scale`. It registers the instances
//! with one `NamingClient`, whose heartbeats keep them alive, says so on stdout, and lives until
//! its stdin closes, so the benchmark reads this process's threads, CPU and memory alone.

use std::io::Read;
use std::time::Instant;

use nacos_naming::NamingClient;

use crate::Result;

/// Flags of `beat-client`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The server, `host:port`.
    #[arg(long)]
    server: String,
    /// Instances to register.
    #[arg(long)]
    instances: u32,
    /// Services they are spread over.
    #[arg(long)]
    services: u32,
}

/// The service of instance `i`; the Python script names them the same way.
pub fn service_of(i: u32, services: u32) -> String {
    format!("bench-beat-{}", i % services.max(1))
}

/// The address of instance `i`; the Python script uses the same.
pub fn ip_of(i: u32) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

/// The port of every instance.
pub const PORT: u16 = 8080;

/// Registers, prints `REGISTERED <count> <seconds>`, waits for stdin to close.
pub fn run(args: Args) -> Result<()> {
    let client = NamingClient::new(args.server)?;
    let start = Instant::now();
    for i in 0..args.instances {
        client
            .add_naming_instance(service_of(i, args.services), ip_of(i), PORT)
            .send()?;
    }
    println!(
        "REGISTERED {} {:.3}",
        args.instances,
        start.elapsed().as_secs_f64()
    );
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest)?;
    drop(client);
    Ok(())
}

//! `nacos-devserver`: the naming server as a standalone process.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use nacos_devserver::{DevServer, NacosVersion};

/// A Nacos-compatible V1 naming server.
///
/// Serves the Nacos V1 naming open API (register, list, beat, services, login) until Ctrl-C or
/// SIGTERM. Logs go to stderr.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on (`host:port`; port 0 picks a free one).
    #[arg(long, env = "NACOS_DEVSERVER_BIND", default_value = "127.0.0.1:8848")]
    bind: String,
    /// Keep persistent instances and service definitions in this directory.
    #[arg(long, env = "NACOS_DEVSERVER_DATA_DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Auth mode, `user:password`: calls need a token from /nacos/v1/auth/login.
    #[arg(long, env = "NACOS_DEVSERVER_AUTH", value_parser = parse_auth, hide_env_values = true)]
    auth: Option<(String, String)>,
    /// Mark an ephemeral instance unhealthy after this long without a beat (`15s`, `500ms`).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    health_timeout: Duration,
    /// Remove an ephemeral instance after this long without a beat.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    expire_timeout: Duration,
    /// Drop a service (its definition too) after this long without instances or subscribers,
    /// as official servers clean empty services.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    empty_service_ttl: Duration,
    /// Beat interval asked of clients.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    beat_interval: Duration,
    /// Lifetime of login tokens.
    #[arg(long, default_value = "5h", value_parser = parse_duration)]
    token_ttl: Duration,
    /// Connections served at once; at the cap the one waiting longest for a request is closed
    /// to make room.
    #[arg(long, default_value_t = 512)]
    max_connections: usize,
    /// Time a request's head, then its body, may take to arrive.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Bytes request bodies may hold at once beyond the first 64 KiB of each, all connections
    /// together; a body that would need more is answered 503.
    #[arg(long, default_value_t = 64 << 20)]
    max_body_memory: usize,
    /// Bytes of rendered list answers kept, all services together; past it the least recently
    /// used are dropped and rendered again when asked for.
    #[arg(long, default_value_t = 128 << 20)]
    max_list_cache_memory: usize,
    /// Do not push changes over UDP to clients that list with `udpPort`.
    #[arg(long)]
    no_push: bool,
    /// Push to the `clientIP` a list call names, not to the address the call came from (only
    /// where every client is trusted: anyone could aim pushes at a third party).
    #[arg(long)]
    push_to_client_ip: bool,
    /// The official server line to behave as: 1.4, 2, 3.1 or 3.2 (identity rules, the APIs
    /// answered and how).
    #[arg(long, env = "NACOS_DEVSERVER_VERSION", default_value = "2")]
    nacos_version: NacosVersion,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "NACOS_DEVSERVER_LOG", default_value = "info", value_parser = parse_level)]
    log_level: log::LevelFilter,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nacos-devserver: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> std::io::Result<()> {
    log::set_max_level(cli.log_level);
    // Only fails if a logger is set already, which nothing else here does.
    let _ = log::set_logger(&StderrLogger);
    let mut builder = DevServer::builder()
        .bind(cli.bind)
        .health_timeout(cli.health_timeout)
        .expire_timeout(cli.expire_timeout)
        .empty_service_ttl(cli.empty_service_ttl)
        .beat_interval(cli.beat_interval)
        .token_ttl(cli.token_ttl)
        .max_connections(cli.max_connections)
        .request_timeout(cli.request_timeout)
        .max_body_memory(cli.max_body_memory)
        .max_list_cache_memory(cli.max_list_cache_memory)
        .push(!cli.no_push)
        .push_to_client_ip(cli.push_to_client_ip)
        .nacos_version(cli.nacos_version);
    let data_dir = cli.data_dir.clone();
    let auth_user = cli.auth.as_ref().map(|(user, _)| user.clone());
    if let Some(dir) = cli.data_dir {
        builder = builder.data_dir(dir);
    }
    if let Some((user, password)) = cli.auth {
        builder = builder.auth(user, password);
    }
    // Signals are caught from before the server announces itself, so a supervisor that stops
    // it as soon as it is up still gets a clean stop.
    let stop = Stop::listen()?;
    let server = builder.start()?;
    banner(&server, auth_user.as_deref(), data_dir.as_deref());
    stop.wait()?;
    log::info!("stopping");
    server.shutdown()
}

/// What a person starting the server wants to know, one line each: the version, where it
/// listens and pushes from, the API it serves, auth, where data goes, where metrics and the
/// web console are.
fn banner(server: &DevServer, auth_user: Option<&str>, data_dir: Option<&std::path::Path>) {
    let addr = server.addr();
    log::info!("nacos-devserver {}", env!("CARGO_PKG_VERSION"));
    log::info!("  api:     http://{addr}/nacos (Nacos V1 naming open API, as 1.x/2.x servers)");
    match server.push_addr() {
        Some(push) => log::info!("  push:    udp {push}"),
        None => log::info!("  push:    off"),
    }
    match auth_user {
        Some(user) => log::info!("  auth:    on, user {user}"),
        None => log::info!("  auth:    off"),
    }
    match data_dir {
        Some(dir) => log::info!("  data:    {}", dir.display()),
        None => log::info!("  data:    memory only (no --data-dir)"),
    }
    log::info!("  metrics: http://{addr}/nacos/actuator/prometheus");
    log::info!("  console: http://{addr}/nacos/");
}

/// Ctrl-C (SIGINT) and SIGTERM, caught from creation on.
struct Stop {
    runtime: tokio::runtime::Runtime,
    #[cfg(unix)]
    signals: (tokio::signal::unix::Signal, tokio::signal::unix::Signal),
}

impl Stop {
    fn listen() -> std::io::Result<Stop> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        #[cfg(unix)]
        let signals = {
            use tokio::signal::unix::{signal, SignalKind};
            let _context = runtime.enter();
            (
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            )
        };
        Ok(Stop {
            runtime,
            #[cfg(unix)]
            signals,
        })
    }

    /// Blocks until one of the signals arrives.
    fn wait(self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            let (mut interrupt, mut terminate) = self.signals;
            self.runtime.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            });
            Ok(())
        }
        #[cfg(not(unix))]
        {
            self.runtime.block_on(tokio::signal::ctrl_c())
        }
    }
}

fn parse_level(text: &str) -> Result<log::LevelFilter, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not one of off, error, warn, info, debug, trace"))
}

fn parse_auth(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => {
            Ok((user.to_owned(), password.to_owned()))
        }
        _ => Err("expected user:password".to_owned()),
    }
}

/// `15s`, `500ms`, `1.5s`, `2m`, `1h`: jiff's friendly duration syntax, as nacosctl takes it.
/// A number too large for any clock means "as long as possible" (the server clamps what it
/// cannot honour).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(signed) = text.parse::<jiff::SignedDuration>() {
        return Duration::try_from(signed)
            .map_err(|_| format!("a duration cannot be negative: {text:?}"));
    }
    // jiff refuses what is beyond its range; digits and a unit are still a duration.
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
    if digits > 0 && matches!(&text[digits..], "ms" | "s" | "m" | "h") {
        return Ok(Duration::from_secs(u64::MAX));
    }
    Err(format!(
        "{text:?} is not a duration like 500ms, 1.5s, 2m or 1h"
    ))
}

/// Writes log records to stderr, one line each, in one write.
///
/// `eprintln!` would write a line in pieces (five system calls for a registration's line,
/// each under the lock every worker thread shares) and panic when stderr is closed; a whole
/// line is formatted first, and a failed write is dropped: a log line never stops a request.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{:<5} {}\n", record.level(), record.args());
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_and_credentials() {
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("x").is_err());
        assert!(parse_duration("7").is_err());
        assert!(parse_duration("-5s").is_err());
        assert_eq!(
            parse_duration("18446744073709551615s"),
            Ok(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_duration("99999999999999999999999h"),
            Ok(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_auth("nacos:se:cret"),
            Ok(("nacos".into(), "se:cret".into()))
        );
        assert!(parse_auth("nacos").is_err());
    }
}

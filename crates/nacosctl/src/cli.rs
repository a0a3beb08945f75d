//! The arguments: every subcommand and flag, its environment variable, its help and examples.
//!
//! Required arguments are positional, in the order of the Python client's calls
//! (`SERVICE IP PORT`); every keyword argument of those calls is a flag.

use std::fmt;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit::exit_status_help;
use crate::metadata::{self, Metadata};

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "nacosctl",
    version,
    about = "Register, discover and watch service instances in Nacos.",
    long_about = "Register, discover and watch service instances in a Nacos naming server \
                  (Nacos V1 open API: Nacos 1.x/2.x, rnacos, nacos-devserver).",
    after_help = TOP_HELP,
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub(crate) struct Cli {
    /// Settings every subcommand shares.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where the servers are, who we are and how to print; accepted before or after the subcommand.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// Nacos servers, comma-separated, each HOST, HOST:PORT (port 8848 by default) or
    /// http(s)://HOST:PORT, optionally followed by the server's context path
    /// (http://HOST:8848/nacos-server; /nacos by default)
    #[arg(
        long,
        short = 's',
        global = true,
        env = "NACOS_SERVER_ADDR",
        default_value = "127.0.0.1:8848",
        value_name = "ADDRS"
    )]
    pub(crate) server: String,

    /// Namespace id to work in [default: public]
    #[arg(
        long,
        short = 'n',
        global = true,
        env = "NACOS_NAMESPACE",
        value_name = "ID"
    )]
    pub(crate) namespace: Option<String>,

    /// User to log in as (with --password)
    #[arg(long, global = true, env = "NACOS_USERNAME", value_name = "USER")]
    pub(crate) username: Option<String>,

    /// Password of --username; never printed
    #[arg(
        long,
        global = true,
        env = "NACOS_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub(crate) password: Option<Secret>,

    /// Access key for AK/SK request signing (with --secret-key)
    #[arg(long, global = true, env = "NACOS_ACCESS_KEY", value_name = "AK")]
    pub(crate) access_key: Option<String>,

    /// Secret key for AK/SK request signing; never printed
    #[arg(
        long,
        global = true,
        env = "NACOS_SECRET_KEY",
        hide_env_values = true,
        value_name = "SK"
    )]
    pub(crate) secret_key: Option<Secret>,

    /// How long one try waits for a server's answer (500ms, 1.5s, 2m). Each server of the
    /// list is tried once per call; a lone server is tried three times
    #[arg(
        long,
        global = true,
        default_value = "5s",
        value_parser = parse_duration,
        value_name = "DURATION"
    )]
    pub(crate) timeout: Duration,

    /// Server API to speak: learnt per server (auto), or pinned to the V1 open API or the v3
    /// API of Nacos 3.x
    #[arg(
        long,
        global = true,
        env = "NACOS_API",
        value_enum,
        default_value_t = Api::Auto,
        value_name = "API"
    )]
    pub(crate) api: Api,

    /// Output format: aligned tables for people, one JSON object per line for programs
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        default_value_t = Output::Table,
        value_name = "FORMAT"
    )]
    pub(crate) output: Output,

    /// Print more of what the client does on stderr (-v: info, -vv: debug, -vvv: every call)
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    /// Print no warnings on stderr, only errors
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
}

/// Which server API the client speaks (`nacos_naming::ServerApi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Api {
    // Not doc comments: clap would list them under the flag, one per line.
    Auto,
    V1,
    V3,
}

impl From<Api> for nacos_naming::ServerApi {
    fn from(api: Api) -> nacos_naming::ServerApi {
        match api {
            Api::Auto => nacos_naming::ServerApi::Auto,
            Api::V1 => nacos_naming::ServerApi::V1,
            Api::V3 => nacos_naming::ServerApi::V3,
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    // Not doc comments: clap would list them under the flag, one per line.
    // Aligned columns with a header row.
    Table,
    // The table with every field: service, group, instance id.
    Wide,
    // One JSON object per line.
    Json,
    // One YAML document per result, the JSON fields.
    Yaml,
}

/// A password or secret key: kept out of `Debug`, so it never reaches a log or a panic message.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The subcommands, one per call of the Python client and a few more.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Register an instance (add_naming_instance); --keep-alive keeps it registered until
    /// stopped
    #[command(after_help = REGISTER_HELP)]
    Register(RegisterArgs),

    /// Deregister an instance (remove_naming_instance)
    #[command(after_help = DEREGISTER_HELP)]
    Deregister(DeregisterArgs),

    /// Change an instance's weight, metadata or enabled flag, keeping the rest
    /// (modify_naming_instance)
    #[command(after_help = MODIFY_HELP)]
    Modify(ModifyArgs),

    /// List the instances of a service (list_naming_instance)
    #[command(after_help = LIST_HELP)]
    List(ListArgs),

    /// Show one instance (get_naming_instance)
    #[command(after_help = GET_HELP)]
    Get(GetArgs),

    /// Send one heartbeat for an ephemeral instance (send_heartbeat)
    #[command(after_help = BEAT_HELP)]
    Beat(BeatArgs),

    /// Print the changes of a service as they happen, until Ctrl-C (subscribe)
    #[command(after_help = WATCH_HELP)]
    Watch(WatchArgs),

    /// List the services of a namespace and group, a page at a time
    #[command(after_help = SERVICES_HELP)]
    Services(ServicesArgs),

    /// Pick one healthy instance, weighted at random (select_one_healthy_instance)
    #[command(after_help = SELECT_HELP)]
    Select(SelectArgs),

    /// Show each server: whether it answers, which naming API it serves (V1, v3), its
    /// version and the round-trip time of one list request
    #[command(after_help = SERVERS_HELP)]
    Servers,

    /// Print a completion script for a shell: bash, zsh, fish, elvish or powershell
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
}

/// `nacosctl completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum, value_name = "SHELL")]
    pub(crate) shell: clap_complete::Shell,
}

/// `SERVICE IP PORT`: which instance.
#[derive(Debug, Args)]
pub(crate) struct InstanceArgs {
    /// Service name
    #[arg(value_name = "SERVICE")]
    pub(crate) service: String,
    /// IP address or host name of the instance
    #[arg(value_name = "IP")]
    pub(crate) ip: String,
    /// Port of the instance
    #[arg(value_name = "PORT")]
    pub(crate) port: u16,
    /// Cluster of the instance [default: DEFAULT]
    #[arg(long, short = 'c', value_name = "CLUSTER")]
    pub(crate) cluster: Option<String>,
    /// Group of the service [default: DEFAULT_GROUP]
    #[arg(long, short = 'g', value_name = "GROUP")]
    pub(crate) group: Option<String>,
}

/// `SERVICE` and its group.
#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    /// Service name
    #[arg(value_name = "SERVICE")]
    pub(crate) service: String,
    /// Group of the service [default: DEFAULT_GROUP]
    #[arg(long, short = 'g', value_name = "GROUP")]
    pub(crate) group: Option<String>,
    /// Only these clusters, comma-separated [default: all]
    #[arg(long, short = 'c', value_delimiter = ',', value_name = "CLUSTERS")]
    pub(crate) clusters: Vec<String>,
}

/// `--weight` and `--metadata`, as registrations, modifications and beats take them.
#[derive(Debug, Args)]
pub(crate) struct AttributeArgs {
    /// Load-balancing weight, 0 to 10000 (0 takes no traffic); register and beat send 1
    /// when it is not given, modify keeps the current weight
    #[arg(
        long,
        short = 'w',
        value_name = "WEIGHT",
        allow_negative_numbers = true
    )]
    pub(crate) weight: Option<f64>,
    /// One metadata entry; repeat the flag for more. The value runs to the end of the
    /// argument, commas included; an argument that looks like several entries (a=1,b=2) is
    /// refused. Replaces the whole metadata on modify
    #[arg(long, short = 'm', value_name = "KEY=VALUE", value_parser = metadata::parse_entry)]
    pub(crate) metadata: Vec<(String, String)>,
    /// The whole metadata as one JSON object of strings, as tables show it:
    /// '{"version":"1.0","zones":"a,b"}'
    #[arg(long, value_name = "JSON", conflicts_with = "metadata", value_parser = metadata::parse_json)]
    pub(crate) metadata_json: Option<Metadata>,
}

impl AttributeArgs {
    /// The metadata the flags give, from --metadata or --metadata-json; empty when neither.
    pub(crate) fn metadata(&self) -> Result<Metadata, String> {
        match &self.metadata_json {
            Some(json) => Ok(json.clone()),
            None => metadata::from_entries(&self.metadata),
        }
    }
}

/// `--ephemeral` / `--persistent`: both at once is a usage error.
#[derive(Debug, Args)]
pub(crate) struct EphemeralFlag {
    /// Ephemeral instance: kept by heartbeats, removed by the server when they stop (the
    /// default)
    #[arg(long, conflicts_with = "persistent")]
    ephemeral: bool,
    /// Persistent instance: kept until deregistered, health-checked by the server
    #[arg(long)]
    persistent: bool,
}

impl EphemeralFlag {
    /// `Some(true)` for `--ephemeral`, `Some(false)` for `--persistent`, `None` for neither.
    pub(crate) fn value(&self) -> Option<bool> {
        toggle(self.ephemeral, self.persistent)
    }
}

/// `--enabled` / `--disabled`: both at once is a usage error.
#[derive(Debug, Args)]
pub(crate) struct EnabledFlag {
    /// Take traffic (the default on register)
    #[arg(long, conflicts_with = "disabled")]
    enabled: bool,
    /// Take no traffic: disabled instances are left out of lists
    #[arg(long)]
    disabled: bool,
}

impl EnabledFlag {
    /// `Some(true)` for `--enabled`, `Some(false)` for `--disabled`, `None` for neither.
    pub(crate) fn value(&self) -> Option<bool> {
        toggle(self.enabled, self.disabled)
    }
}

/// `--healthy` / `--unhealthy`: both at once is a usage error.
#[derive(Debug, Args)]
pub(crate) struct HealthyFlag {
    /// Register as healthy (the default)
    #[arg(long, conflicts_with = "unhealthy")]
    healthy: bool,
    /// Register as unhealthy (servers may ignore it for ephemeral instances)
    #[arg(long)]
    unhealthy: bool,
}

impl HealthyFlag {
    /// `Some(true)` for `--healthy`, `Some(false)` for `--unhealthy`, `None` for neither.
    pub(crate) fn value(&self) -> Option<bool> {
        toggle(self.healthy, self.unhealthy)
    }
}

fn toggle(on: bool, off: bool) -> Option<bool> {
    match (on, off) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

/// `nacosctl register`.
#[derive(Debug, Args)]
pub(crate) struct RegisterArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) attributes: AttributeArgs,
    #[command(flatten)]
    pub(crate) ephemeral: EphemeralFlag,
    #[command(flatten)]
    pub(crate) enabled: EnabledFlag,
    #[command(flatten)]
    pub(crate) healthy: HealthyFlag,
    /// Stay running, sending heartbeats, until Ctrl-C or SIGTERM; then deregister
    #[arg(long, short = 'k')]
    pub(crate) keep_alive: bool,
    /// With --keep-alive: beat this often instead of the server's interval (500ms, 5s)
    #[arg(long, requires = "keep_alive", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) beat_interval: Option<Duration>,
}

/// `nacosctl deregister`.
#[derive(Debug, Args)]
pub(crate) struct DeregisterArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) ephemeral: EphemeralFlag,
}

/// `nacosctl modify`.
#[derive(Debug, Args)]
pub(crate) struct ModifyArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) attributes: AttributeArgs,
    #[command(flatten)]
    pub(crate) enabled: EnabledFlag,
    #[command(flatten)]
    pub(crate) ephemeral: EphemeralFlag,
}

/// `nacosctl list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) service: ServiceArgs,
    /// Only healthy instances
    #[arg(long, short = 'H')]
    pub(crate) healthy_only: bool,
    /// Print the list, then each change as it happens, until Ctrl-C
    #[arg(long, short = 'W')]
    pub(crate) watch: bool,
    /// With --watch: ask the server this often, besides its pushes [default: the server's
    /// cacheMillis]
    #[arg(long, requires = "watch", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) poll_interval: Option<Duration>,
}

/// `nacosctl get`.
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
}

/// `nacosctl beat`.
#[derive(Debug, Args)]
pub(crate) struct BeatArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) attributes: AttributeArgs,
    #[command(flatten)]
    pub(crate) ephemeral: EphemeralFlag,
}

/// `nacosctl watch`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    pub(crate) service: ServiceArgs,
    /// Ask the server this often, besides its pushes (for servers that do not push, such as
    /// rnacos) [default: the server's cacheMillis]
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) poll_interval: Option<Duration>,
}

/// `nacosctl services`.
#[derive(Debug, Args)]
pub(crate) struct ServicesArgs {
    /// Group to list [default: DEFAULT_GROUP]
    #[arg(long, short = 'g', value_name = "GROUP")]
    pub(crate) group: Option<String>,
    /// Page number, from 1
    #[arg(long, short = 'p', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) page: u32,
    /// Services per page
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) page_size: u32,
}

/// `nacosctl select`.
#[derive(Debug, Args)]
pub(crate) struct SelectArgs {
    #[command(flatten)]
    pub(crate) service: ServiceArgs,
}

/// `500ms`, `1.5s`, `2m`, `1h`, `1m 30s`: jiff's friendly duration syntax, which the
/// devserver's flags take too.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let signed: jiff::SignedDuration = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a duration such as 500ms, 1.5s, 2m or 1h, got {s:?}"))?;
    Duration::try_from(signed).map_err(|_| format!("a duration cannot be negative: {s:?}"))
}

const TOP_HELP: &str = concat!(
    "Examples:
  nacosctl register user-service 192.168.1.100 8080 --cluster production --metadata version=1.0.0
  nacosctl list user-service --healthy-only
  nacosctl watch user-service -o json
  NACOS_SERVER_ADDR=10.0.0.1:8848,10.0.0.2:8848 nacosctl services

Run `nacosctl <COMMAND> --help` for each command's flags and examples.

",
    exit_status_help!()
);

/// Every subcommand's help ends with its examples and the exit statuses.
macro_rules! examples {
    ($($line:literal),+ $(,)?) => {
        concat!("Examples:\n", $("  ", $line, "\n",)+ "\n", exit_status_help!())
    };
}

const REGISTER_HELP: &str = examples!(
    "nacosctl register user-service 192.168.1.100 8080",
    "nacosctl register user-service 192.168.1.100 8080 --cluster production --weight 1.5 \\",
    "    --metadata version=1.0.0 --metadata zone=us-west-1a --group microservices",
    "nacosctl register user-service 192.168.1.100 8080 --keep-alive   # until Ctrl-C",
    "nacosctl register user-service 192.168.1.100 8080 --metadata-json '{\"zones\":\"a,b\"}'",
);
const DEREGISTER_HELP: &str = examples!(
    "nacosctl deregister user-service 192.168.1.100 8080",
    "nacosctl deregister user-service 192.168.1.100 8080 --cluster production --group microservices",
);
const MODIFY_HELP: &str = examples!(
    "nacosctl modify user-service 192.168.1.100 8080 --weight 2",
    "nacosctl modify user-service 192.168.1.100 8080 --disabled",
    "nacosctl modify user-service 192.168.1.100 8080 --metadata version=1.1.0 --metadata status=updated",
);
const LIST_HELP: &str = examples!(
    "nacosctl list user-service",
    "nacosctl list user-service --healthy-only --clusters production,staging",
    "nacosctl list user-service --namespace production --group microservices -o json",
    "nacosctl list user-service --watch            # the table, then each change",
);
const GET_HELP: &str = examples!(
    "nacosctl get user-service 192.168.1.100 8080",
    "nacosctl get user-service 192.168.1.100 8080 --cluster production -o json",
);
const BEAT_HELP: &str = examples!(
    "nacosctl beat user-service 192.168.1.100 8080",
    "nacosctl beat user-service 192.168.1.100 8080 --weight 1.5 --metadata status=running",
);
const WATCH_HELP: &str = examples!(
    "nacosctl watch user-service",
    "nacosctl watch user-service --clusters production --group microservices -o json",
);
const SERVICES_HELP: &str = examples!(
    "nacosctl services",
    "nacosctl services --group microservices --page 2 --page-size 50 -o json",
);
const COMPLETIONS_HELP: &str = examples!(
    "nacosctl completions bash > ~/.local/share/bash-completion/completions/nacosctl",
    "nacosctl completions zsh > \"${fpath[1]}/_nacosctl\"",
    "nacosctl completions fish > ~/.config/fish/completions/nacosctl.fish",
);
const SERVERS_HELP: &str = examples!(
    "nacosctl servers --server 10.0.0.1:8848,10.0.0.2:8848",
    "nacosctl servers -o json",
);
const SELECT_HELP: &str = examples!(
    "nacosctl select user-service",
    "curl \"http://$(nacosctl select user-service -o json | jq -r '\"\\(.ip):\\(.port)\"')/health\"",
);

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "s", "3", "-1s", "x", "3 parsecs"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_flag_of_a_pair_is_taken() {
        let cli = Cli::try_parse_from([
            "nacosctl",
            "register",
            "s",
            "1.2.3.4",
            "80",
            "--persistent",
            "--disabled",
        ])
        .unwrap();
        let Command::Register(r) = cli.command else {
            panic!("not register")
        };
        assert_eq!(r.ephemeral.value(), Some(false));
        assert_eq!(r.enabled.value(), Some(false));
        assert_eq!(r.healthy.value(), None);
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let cli = Cli::try_parse_from([
            "nacosctl",
            "--username",
            "nacos",
            "--password",
            "hunter2",
            "--access-key",
            "ak",
            "--secret-key",
            "sk-secret",
            "list",
            "svc",
        ])
        .unwrap();
        let shown = format!("{cli:?}");
        assert!(shown.contains("nacos") && shown.contains("<redacted>"));
        assert!(!shown.contains("hunter2") && !shown.contains("sk-secret"));
    }
}

//! `nacosctl`: register, discover and watch service instances in Nacos from a terminal.
//!
//! A thin command line over the `nacos-naming` client: each subcommand is one call of the
//! client, then printing. Required arguments are positional, in the order of the Python
//! client's calls; each of their keyword arguments is a flag.
//!
//! ```text
//! nacosctl register user-service 192.168.1.100 8080 --cluster production --metadata version=1.0.0
//! nacosctl register user-service 192.168.1.100 8080 --keep-alive      # beats until Ctrl-C/SIGTERM, then deregisters
//! nacosctl deregister user-service 192.168.1.100 8080 --cluster production
//! nacosctl modify user-service 192.168.1.100 8080 --weight 2 --disabled
//! nacosctl list user-service --healthy-only --clusters production,staging
//! nacosctl get user-service 192.168.1.100 8080
//! nacosctl beat user-service 192.168.1.100 8080 --metadata status=running
//! nacosctl watch user-service                                          # added/removed/modified lines until Ctrl-C
//! nacosctl services --group microservices --page 2
//! nacosctl select user-service                                         # one healthy instance, weighted
//! nacosctl list user-service --watch                                   # the table, then each change
//! nacosctl completions bash                                            # clap's completion script
//! ```
//!
//! # Global flags
//!
//! | flag | environment | default |
//! |---|---|---|
//! | `--server`, `-s` | `NACOS_SERVER_ADDR` | `127.0.0.1:8848` (comma-separated list, `http(s)://` allowed) |
//! | `--namespace`, `-n` | `NACOS_NAMESPACE` | the server's default, `public` |
//! | `--username` | `NACOS_USERNAME` | none |
//! | `--password` | `NACOS_PASSWORD` | none; never printed, not even by `--help` |
//! | `--access-key`, `--secret-key` | `NACOS_ACCESS_KEY`, `NACOS_SECRET_KEY` | none (AK/SK signing) |
//! | `--timeout` | | `5s`, per try (`500ms`, `1.5s`, `2m`, `1h`) |
//! | `--output`, `-o` | | `table`; `wide` adds every field; `json` prints one object per line (per event for `watch`); `yaml` one document per result |
//! | `-v`, `-q` | | the client's warnings on stderr; `-v` more, `-q` none |
//!
//! # Output
//!
//! Tables are aligned columns with a header row, metadata shown as a JSON object. JSON is one
//! object per line, with the same fields wherever an instance appears: `{"serviceName",
//! "groupName","clusterName","ip","port","weight","healthy","enabled","ephemeral",
//! "instanceId","metadata"}`; lists as `{"serviceName","groupName","clusters","hosts"}`;
//! write results as `{"result":"registered","serviceName",…,"port"}`; watch events as
//! `{"event":"changed","serviceName","groupName","clusters","added","removed","modified",
//! "hosts"}` or `{"event":"empty"|"unreachable"|"refused"|"recovered",…,"message"}`; service
//! pages as `{"count","page","pageSize","groupName","services":[{"serviceName","instances",
//! "healthy"}]}`; beat answers in the Nacos wire form. YAML has the JSON's fields.
//!
//! # Errors and exit status
//!
//! A failure prints one line on stderr, `error: <what failed>: <why>`, with the server's own
//! reason when a server refused. The exit status tells failures apart:
//!
//! | status | meaning |
//! |---|---|
//! | 0 | success (also after Ctrl-C or SIGTERM ends `watch` or `register --keep-alive`) |
//! | 1 | other failure: an answer that cannot be read, output that cannot be written |
//! | 2 | usage error: unknown flag, missing or malformed argument |
//! | 3 | invalid parameter, refused before anything was sent (port 0, a bad cluster name) |
//! | 4 | refused by the server (4xx, or a 5xx no other server got past) |
//! | 5 | no server reachable (connection refused, timeouts) |
//! | 6 | `select`: no healthy, enabled instance of weight above 0 |
//!
//! A second Ctrl-C while `register --keep-alive` deregisters ends the process at once with
//! status 130.

#![forbid(unsafe_code)]

mod cli;
mod commands;
mod exit;
mod logger;
mod metadata;
mod render;
mod stop;
mod table;
mod watch;
mod whereabouts;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::exit::Status;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` come this way too, to stdout and with status 0.
            let _ = e.print();
            return if e.use_stderr() {
                Status::Usage.into()
            } else {
                Status::Success.into()
            };
        }
    };
    logger::init(cli.global.verbose, cli.global.quiet);
    match run(cli) {
        Ok(status) => status.into(),
        Err(failure) if failure.is_broken_pipe() => Status::Success.into(),
        Err(failure) => {
            let _ = writeln!(std::io::stderr(), "error: {failure}");
            failure.status().into()
        }
    }
}

/// Runs the subcommand the command line names.
fn run(cli: Cli) -> Result<Status, exit::Failure> {
    commands::run(&cli.global, cli.command)
}

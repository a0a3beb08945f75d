//! How a run ends: the exit statuses, and the one line printed when it fails.

use std::fmt;
use std::io;
use std::process::ExitCode;

use nacos_naming::Error;

/// The exit statuses, each telling a different kind of failure apart for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// It worked.
    Success = 0,
    /// Anything else: an answer that could not be read, output that could not be written.
    Failure = 1,
    /// The command line itself is wrong (clap's status for usage errors).
    Usage = 2,
    /// A parameter was refused before anything was sent (port 0, a bad cluster name…).
    InvalidParam = 3,
    /// A server answered and refused (4xx, or a 5xx no other server got past).
    Refused = 4,
    /// No server could be reached (connection refused, timeouts, name resolution).
    Unreachable = 5,
    /// `select` found no healthy, enabled instance of weight above 0.
    NoInstance = 6,
}

/// The exit statuses as `--help` shows them; a macro so that `concat!` can build help texts.
macro_rules! exit_status_help {
    () => {
        "Exit status:
  0  success
  1  other failure (an answer that cannot be read, output that cannot be written)
  2  usage error (unknown flag, missing or malformed argument)
  3  invalid parameter, refused before anything was sent (port 0, a bad cluster name)
  4  refused by the server (its reason is printed)
  5  no server reachable
  6  select: no healthy, enabled instance of weight above 0"
    };
}
pub(crate) use exit_status_help;

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status as u8)
    }
}

/// A failed run: what was being done and why it failed.
#[derive(Debug)]
pub(crate) struct Failure {
    /// What failed, as the start of a sentence: `cannot register user-service 10.0.0.1:8080`.
    what: String,
    cause: Cause,
}

#[derive(Debug)]
enum Cause {
    /// The client refused or a server did.
    Nacos(Error),
    /// Writing to stdout failed.
    Output(io::Error),
    /// Anything else, said in words.
    Other(String),
}

impl Failure {
    /// A failed call of the client.
    pub(crate) fn nacos(what: impl Into<String>, error: Error) -> Failure {
        Failure {
            what: what.into(),
            cause: Cause::Nacos(error),
        }
    }

    /// Output that could not be written.
    pub(crate) fn output(error: io::Error) -> Failure {
        Failure {
            what: "cannot write the output".to_owned(),
            cause: Cause::Output(error),
        }
    }

    /// Any other failure.
    pub(crate) fn other(what: impl Into<String>, why: impl fmt::Display) -> Failure {
        Failure {
            what: what.into(),
            cause: Cause::Other(why.to_string()),
        }
    }

    /// The exit status that tells this kind of failure apart.
    pub(crate) fn status(&self) -> Status {
        match &self.cause {
            Cause::Nacos(Error::InvalidParam { .. }) => Status::InvalidParam,
            Cause::Nacos(Error::Server { .. }) => Status::Refused,
            Cause::Nacos(Error::Request(_)) => Status::Unreachable,
            Cause::Nacos(Error::NoInstanceAvailable { .. }) => Status::NoInstance,
            Cause::Nacos(_) | Cause::Output(_) | Cause::Other(_) => Status::Failure,
        }
    }

    /// Whether the reader of our output went away (`nacosctl list s | head -1`): not worth
    /// a message, as for any Unix tool.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        matches!(&self.cause, Cause::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// One line, whatever the server's text holds: line breaks and runs of blanks become one
/// space, other control characters are escaped so they cannot drive the terminal.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cause = match &self.cause {
            Cause::Nacos(e) => e.to_string(),
            Cause::Output(e) => e.to_string(),
            Cause::Other(s) => s.clone(),
        };
        write!(f, "{}: {}", one_line(&self.what), one_line(&cause))
    }
}

/// `s` on one line, blanks collapsed, control characters escaped.
pub(crate) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_names_every_status() {
        let help = exit_status_help!();
        for (status, word) in [
            (Status::Success, "success"),
            (Status::Failure, "other failure"),
            (Status::Usage, "usage error"),
            (Status::InvalidParam, "invalid parameter"),
            (Status::Refused, "refused by the server"),
            (Status::Unreachable, "no server reachable"),
            (Status::NoInstance, "select: no healthy"),
        ] {
            let line = format!("  {}  {word}", status as u8);
            assert!(help.contains(&line), "{line:?} missing from {help}");
        }
    }

    #[test]
    fn clap_usage_errors_have_the_documented_status() {
        use clap::Parser;
        let e = crate::cli::Cli::try_parse_from(["nacosctl", "get", "svc", "ip", "not-a-port"])
            .unwrap_err();
        assert_eq!(e.exit_code(), Status::Usage as i32);
    }

    #[test]
    fn a_server_text_is_kept_on_one_line() {
        let failure = Failure::nacos(
            "cannot list svc",
            Error::Server {
                status: 500,
                message: "line one\r\n  line two\t\x1b[31mred\n".into(),
                server: "127.0.0.1:8848".into(),
            },
        );
        let shown = failure.to_string();
        assert_eq!(
            shown,
            "cannot list svc: server 127.0.0.1:8848 refused with 500: line one line two \\u{1b}[31mred"
        );
        assert_eq!(failure.status(), Status::Refused);
    }

    #[test]
    fn statuses_follow_the_error() {
        let invalid = Error::InvalidParam {
            param: "port",
            reason: "must be above 0".into(),
        };
        assert_eq!(Failure::nacos("x", invalid).status(), Status::InvalidParam);
        let request = Error::Request(nacos_naming::RequestFailure {
            request: "GET /".into(),
            attempts: Vec::new(),
        });
        assert_eq!(Failure::nacos("x", request).status(), Status::Unreachable);
        let none = Error::NoInstanceAvailable {
            service: "G@@s".into(),
        };
        assert_eq!(Failure::nacos("x", none).status(), Status::NoInstance);
        let pipe = Failure::output(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(pipe.is_broken_pipe());
        assert_eq!(pipe.status(), Status::Failure);
    }
}

//! How a run ends: the exit statuses, and the one line printed when it fails.

use std::fmt;
use std::io;
use std::process::ExitCode;

use nacos_naming::{Error, RequestFailure};

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
    /// What to do about it, when something is known: `pass --username and --password`.
    hint: Option<String>,
}

#[derive(Debug)]
enum Cause {
    /// The client refused or a server did.
    Nacos(Error),
    /// Writing to stdout failed.
    Output(io::Error),
    /// What a command names is not there (the server would have answered "ok" regardless).
    Missing(String),
    /// A command line clap accepts but that says something contradictory or ambiguous.
    Usage(String),
    /// Anything else, said in words.
    Other(String),
}

impl Failure {
    /// A failed call of the client.
    pub(crate) fn nacos(what: impl Into<String>, error: Error) -> Failure {
        let hint = hint_for(&error);
        Failure {
            what: what.into(),
            cause: Cause::Nacos(error),
            hint,
        }
    }

    /// Output that could not be written.
    pub(crate) fn output(error: io::Error) -> Failure {
        Failure {
            what: "cannot write the output".to_owned(),
            cause: Cause::Output(error),
            hint: None,
        }
    }

    /// Any other failure.
    pub(crate) fn other(what: impl Into<String>, why: impl fmt::Display) -> Failure {
        Failure {
            what: what.into(),
            cause: Cause::Other(why.to_string()),
            hint: None,
        }
    }

    /// A command line that cannot be carried out as written: status 2, as clap's errors.
    pub(crate) fn usage(what: impl Into<String>, why: impl fmt::Display) -> Failure {
        Failure {
            what: what.into(),
            cause: Cause::Usage(why.to_string()),
            hint: None,
        }
    }

    /// The instance (or service) a command names does not exist: status 4, as a refusal.
    pub(crate) fn missing(what: impl Into<String>, why: impl Into<String>) -> Failure {
        Failure {
            what: what.into(),
            cause: Cause::Missing(why.into()),
            hint: None,
        }
    }

    /// The same failure with `hint` in place of any general one.
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }

    /// Whether a server answered that what was named does not exist (404).
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(&self.cause, Cause::Nacos(Error::Server { status: 404, .. }))
    }

    /// The exit status that tells this kind of failure apart.
    pub(crate) fn status(&self) -> Status {
        match &self.cause {
            Cause::Nacos(Error::InvalidParam { .. }) => Status::InvalidParam,
            Cause::Nacos(Error::Server { .. }) => Status::Refused,
            Cause::Nacos(Error::Request(_)) => Status::Unreachable,
            Cause::Nacos(Error::NoInstanceAvailable { .. }) => Status::NoInstance,
            Cause::Usage(_) => Status::Usage,
            Cause::Missing(_) => Status::Refused,
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
            Cause::Nacos(Error::Request(failure)) => per_server(failure),
            Cause::Nacos(e) => e.to_string(),
            Cause::Output(e) => e.to_string(),
            Cause::Usage(s) | Cause::Missing(s) | Cause::Other(s) => s.clone(),
        };
        write!(f, "{}: {}", one_line(&self.what), one_line(&cause))?;
        if let Some(hint) = &self.hint {
            write!(f, " ({})", one_line(hint))?;
        }
        Ok(())
    }
}

/// `no server answered GET /nacos/v1/ns/instance/list: 127.0.0.1:8848 (3 tries): connection
/// refused`: each server once, with how often it was tried and its last cause.
fn per_server(failure: &RequestFailure) -> String {
    let mut servers: Vec<(&str, usize, String)> = Vec::new();
    for attempt in &failure.attempts {
        let cause = attempt.cause.to_string();
        match servers.iter_mut().find(|(s, _, _)| *s == attempt.server) {
            Some(entry) => {
                entry.1 += 1;
                entry.2 = cause;
            }
            None => servers.push((&attempt.server, 1, cause)),
        }
    }
    let mut out = format!("no server answered {}", failure.request);
    for (i, (server, tries, cause)) in servers.iter().enumerate() {
        let sep = if i == 0 { ": " } else { "; " };
        let tries = if *tries == 1 {
            "1 try".to_owned()
        } else {
            format!("{tries} tries")
        };
        out.push_str(&format!("{sep}{server} ({tries}): {cause}"));
    }
    out
}

/// What a person can do about `error`, where the error says enough.
fn hint_for(error: &Error) -> Option<String> {
    match error {
        Error::Server {
            status: 401 | 403, ..
        } => Some(
            "the server wants credentials: pass --username and --password \
             (or NACOS_USERNAME and NACOS_PASSWORD)"
                .to_owned(),
        ),
        Error::Request(failure) => {
            let plain_http = failure
                .attempts
                .iter()
                .any(|a| speaks_plain_http(&error_chain(&*a.cause)));
            plain_http.then(|| "the server does not speak TLS: use http:// for it".to_owned())
        }
        _ => None,
    }
}

/// An error and its sources, as one text.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Whether a TLS failure reads as an answer in plain HTTP (rustls sees no TLS record).
fn speaks_plain_http(cause: &str) -> bool {
    let cause = cause.to_ascii_lowercase();
    [
        "invalidcontenttype",
        "corrupt message",
        "invalid content type",
        "not a tls",
        "http/1.",
    ]
    .iter()
    .any(|sign| cause.contains(sign))
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

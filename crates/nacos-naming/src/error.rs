//! The one error type of the crate.

use std::fmt;

/// Everything that can go wrong in a call.
///
/// Match on the variant to tell a caller's mistake ([`Error::InvalidParam`]) from a server's
/// refusal ([`Error::Server`]) and from no server answering at all ([`Error::Request`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A parameter is invalid; nothing was sent. The seed's `NacosException`.
    InvalidParam {
        /// The parameter, named as in the seed (`service_name`, `weight`, …).
        param: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A server answered and refused the request: a 4xx (403 included), or a 5xx that failover
    /// could not get past.
    Server {
        /// The HTTP status.
        status: u16,
        /// The server's own text, as sent.
        message: String,
        /// The server that answered (`host:port`).
        server: String,
    },
    /// No server could answer: connect errors or timeouts on every server tried. The seed's
    /// `NacosRequestException`.
    Request(RequestFailure),
    /// A server answered with something that could not be understood.
    Decode {
        /// What was being decoded (`instance list`, `beat answer`, …).
        what: &'static str,
        /// The decoder's complaint.
        source: serde_json::Error,
    },
    /// A local I/O operation failed (binding the push socket, writing the cache).
    Io(std::io::Error),
    /// The client was shut down; nothing was sent.
    Shutdown,
    /// No instance qualified for selection (none healthy, enabled and of weight above 0).
    NoInstanceAvailable {
        /// The grouped service name (`group@@service`).
        service: String,
    },
}

/// The causes of an [`Error::Request`]: one per server tried, in order.
#[derive(Debug)]
pub struct RequestFailure {
    /// What the call was (`POST /nacos/v1/ns/instance`).
    pub request: String,
    /// Each server tried and why it failed.
    pub attempts: Vec<Attempt>,
}

/// One failed try of one server.
#[derive(Debug)]
pub struct Attempt {
    /// The server (`host:port`).
    pub server: String,
    /// Why it failed.
    pub cause: Box<dyn std::error::Error + Send + Sync>,
}

impl Error {
    pub(crate) fn invalid(param: &'static str, reason: impl Into<String>) -> Error {
        Error::InvalidParam {
            param,
            reason: reason.into(),
        }
    }

    /// The HTTP status of a server refusal, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Server { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidParam { param, reason } => write!(f, "invalid {param}: {reason}"),
            Error::Server {
                status,
                message,
                server,
            } => {
                let message = message.trim();
                let message = if message.is_empty() {
                    "(no message)"
                } else {
                    message
                };
                write!(f, "server {server} refused with {status}: {message}")
            }
            Error::Request(failure) => failure.fmt(f),
            Error::Decode { what, source } => write!(f, "unreadable {what} from server: {source}"),
            Error::Io(e) => write!(f, "i/o: {e}"),
            Error::Shutdown => f.write_str("client is shut down"),
            Error::NoInstanceAvailable { service } => {
                write!(
                    f,
                    "no healthy, enabled instance of {service} with weight above 0"
                )
            }
        }
    }
}

impl fmt::Display for RequestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no server answered {}", self.request)?;
        for (i, attempt) in self.attempts.iter().enumerate() {
            let sep = if i == 0 { ": " } else { "; " };
            write!(f, "{sep}{}: {}", attempt.server, attempt.cause)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Request(failure) => failure
                .attempts
                .last()
                .map(|a| &*a.cause as &(dyn std::error::Error + 'static)),
            Error::Decode { source, .. } => Some(source),
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_small() {
        assert!(
            std::mem::size_of::<Error>() <= 80,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn displays_one_line_with_every_cause() {
        let e = Error::Request(RequestFailure {
            request: "GET /nacos/v1/ns/instance/list".into(),
            attempts: vec![
                Attempt {
                    server: "a:1".into(),
                    cause: "connection refused".into(),
                },
                Attempt {
                    server: "b:2".into(),
                    cause: "timed out".into(),
                },
            ],
        });
        assert_eq!(
            e.to_string(),
            "no server answered GET /nacos/v1/ns/instance/list: a:1: connection refused; b:2: timed out"
        );
        assert!(std::error::Error::source(&e).is_some());
        let e = Error::Server {
            status: 400,
            message: "caused: Param 'ip' is required.\n".into(),
            server: "h:8848".into(),
        };
        assert_eq!(
            e.to_string(),
            "server h:8848 refused with 400: caused: Param 'ip' is required."
        );
        assert_eq!(e.status(), Some(400));
    }
}

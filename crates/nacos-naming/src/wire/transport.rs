//! Sending one call to the servers: failover, authentication, timeouts and a bounded read.

use std::fmt;
use std::io::Read as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
use ureq::Agent;

use crate::error::{Attempt, Error, RequestFailure};
use crate::wire::auth::{parse_login_answer, Auth, Login, Token};
use crate::wire::server_list::{ServerAddr, ServerList};
use crate::wire::signature;

/// Everything but RFC 3986's unreserved characters is percent-encoded, so `@@`, JSON and
/// base64's `+` reach the server as sent.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest server text kept in an error; the rest of a huge error page adds nothing.
const MAX_ERROR_TEXT: usize = 4096;

/// An HTTP method of the naming API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// One request of the naming API, before a server is chosen: parameters go in the query string
/// (as every released client sends them), the body stays empty except for the login's form.
pub(crate) struct Call {
    method: Method,
    path: &'static str,
    query: Vec<(&'static str, String)>,
    form: Vec<(&'static str, String)>,
    authenticated: bool,
}

/// Shows the method, path and parameter names only: values may be tokens or passwords.
impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.query.iter().map(|(k, _)| *k).collect();
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &names)
            .finish_non_exhaustive()
    }
}

impl Call {
    pub(crate) fn new(method: Method, path: &'static str) -> Call {
        Call {
            method,
            path,
            query: Vec::new(),
            form: Vec::new(),
            authenticated: true,
        }
    }

    /// Adds a query parameter.
    pub(crate) fn param(mut self, name: &'static str, value: impl Into<String>) -> Call {
        self.query.push((name, value.into()));
        self
    }

    /// Adds a form body field.
    pub(crate) fn form(mut self, name: &'static str, value: impl Into<String>) -> Call {
        self.form.push((name, value.into()));
        self
    }

    /// Sends neither the token nor the signature (the login itself).
    pub(crate) fn unauthenticated(mut self) -> Call {
        self.authenticated = false;
        self
    }

    pub(crate) fn method(&self) -> Method {
        self.method
    }

    pub(crate) fn path(&self) -> &'static str {
        self.path
    }

    /// The value of a query parameter, for tests and signing.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `GET /nacos/v1/ns/instance/list`, how errors name the call.
    fn describe(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }
}

/// `k=v&k2=v2`, percent-encoded.
fn encode_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(k, QUERY_VALUE));
        out.push('=');
        out.extend(utf8_percent_encode(v, QUERY_VALUE));
    }
    out
}

/// What the transport is built from; see the builder setters for each value's meaning.
pub(crate) struct TransportConfig {
    pub(crate) servers: Vec<ServerAddr>,
    pub(crate) auth: Auth,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_response_size: u64,
    pub(crate) user_agent: String,
    pub(crate) max_idle_connections: usize,
    /// Trusted roots for https; `None` when no server speaks https.
    pub(crate) root_certs: Option<Vec<Certificate<'static>>>,
}

/// The servers, one keep-alive connection pool for all of them, and the credentials.
pub(crate) struct Transport {
    agent: Agent,
    servers: ServerList,
    auth: Auth,
    max_response_size: u64,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("servers", &self.servers.servers())
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// What to do with a server's answer.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// 2xx: the call is done.
    Success,
    /// The server is unavailable or failing (500, 502, 503, 504): try the next one.
    Failover,
    /// Anything else (4xx, 403 included, other 5xx, 3xx): the caller's answer, at once.
    Refused,
}

fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Success,
        500 | 502 | 503 | 504 => Verdict::Failover,
        _ => Verdict::Refused,
    }
}

impl Transport {
    pub(crate) fn new(config: TransportConfig) -> Transport {
        let mut tls = TlsConfig::builder().provider(TlsProvider::Rustls);
        if let Some(roots) = config.root_certs {
            tls = tls.root_certs(RootCerts::Specific(Arc::new(roots)));
        }
        // With a resolve timeout, ureq resolves on a thread of its own before every call, even
        // on a kept-alive connection; an IP address needs no lookup, so only host names pay.
        let resolve_timeout = config
            .servers
            .iter()
            .any(|s| s.host().parse::<std::net::IpAddr>().is_err())
            .then_some(config.connect_timeout)
            .and_then(bounded);
        let (timeout, connect_timeout) = (bounded(config.timeout), bounded(config.connect_timeout));
        let agent_config = Agent::config_builder()
            // Statuses are answers to classify, not errors.
            .http_status_as_error(false)
            .timeout_resolve(resolve_timeout)
            .timeout_connect(connect_timeout)
            .timeout_send_request(timeout)
            .timeout_send_body(timeout)
            .timeout_recv_response(timeout)
            .timeout_recv_body(timeout)
            .user_agent(config.user_agent)
            // Nacos does not redirect; following one would carry the token to another host.
            .max_redirects(0)
            .max_redirects_will_error(false)
            // Naming servers are inside the network: a proxy meant for the internet must not
            // capture service discovery.
            .proxy(None)
            .max_idle_connections(config.max_idle_connections * config.servers.len())
            .max_idle_connections_per_host(config.max_idle_connections)
            .tls_config(tls.build())
            .build();
        Transport {
            agent: Agent::new_with_config(agent_config),
            servers: ServerList::new(config.servers),
            auth: config.auth,
            max_response_size: config.max_response_size,
        }
    }

    pub(crate) fn servers(&self) -> &[ServerAddr] {
        self.servers.servers()
    }

    pub(crate) fn auth(&self) -> &Auth {
        &self.auth
    }

    /// Logs in now if a username is configured. A refusal (wrong password) is returned; when no
    /// server answers, the login is left to the first call, so a client can be built while its
    /// servers are down, as it can without credentials.
    pub(crate) fn log_in_early(&self) -> Result<(), Error> {
        let Some(login) = &self.auth.login else {
            return Ok(());
        };
        match login.token(|l| self.log_in(l)) {
            Ok(_) => Ok(()),
            Err(Error::Request(failure)) => {
                log::warn!("login deferred to the first call: {failure}");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn log_in(&self, login: &Login) -> Result<Token, Error> {
        let body = self.execute(&login.call())?;
        parse_login_answer(&body, Instant::now())
    }

    /// Sends `call`, failing over between servers, and returns the body of the 2xx answer.
    ///
    /// Servers are tried from the one that answered last, each once (a lone server three
    /// times), past connect errors, timeouts and 500/502/503/504. Any other status is returned
    /// at once as [`Error::Server`]; a 403 first makes a login configured client log in again and
    /// repeat the call once. When no server got past a 5xx, the last 5xx is returned with the
    /// server's text; when none answered at all, [`Error::Request`] lists every cause.
    pub(crate) fn execute(&self, call: &Call) -> Result<String, Error> {
        let login = self.auth.login.as_ref().filter(|_| call.authenticated);
        let mut token = match login {
            Some(login) => Some(login.token(|l| self.log_in(l))?),
            None => None,
        };
        let mut may_log_in_again = login.is_some();
        let mut attempts = Vec::new();
        let mut last_failing_answer = None;
        for index in self.servers.try_order() {
            let server = self.servers.get(index);
            let mut outcome = self.attempt(server, call, token.as_deref());
            if let (Some(login), Ok((403, _))) = (login, &outcome) {
                if may_log_in_again {
                    may_log_in_again = false;
                    log::debug!("{server} refused the token; logging in again");
                    token = Some(login.renew_after_refusal(token.as_deref(), |l| self.log_in(l))?);
                    outcome = self.attempt(server, call, token.as_deref());
                }
            }
            match outcome {
                Ok((status, body)) => match verdict(status) {
                    Verdict::Success => {
                        self.servers.answered(index);
                        if !attempts.is_empty() {
                            // The caller sees success; this is where a failing server shows.
                            log::warn!(
                                "{} succeeded on {server} after failing: {}",
                                call.describe(),
                                describe_attempts(&attempts)
                            );
                        }
                        return Ok(body);
                    }
                    Verdict::Refused => {
                        self.servers.answered(index);
                        return Err(server_error(status, body, server));
                    }
                    Verdict::Failover => {
                        let cause = format!("answered {status}: {}", excerpt(&body, 200));
                        log::debug!("{} on {server} {cause}", call.describe());
                        attempts.push(Attempt {
                            server: server.to_string(),
                            cause: cause.into(),
                        });
                        last_failing_answer = Some(server_error(status, body, server));
                    }
                },
                Err(e) => {
                    log::debug!("{} on {server} failed: {e}", call.describe());
                    attempts.push(Attempt {
                        server: server.to_string(),
                        cause: Box::new(e),
                    });
                }
            }
        }
        Err(last_failing_answer.unwrap_or_else(|| {
            Error::Request(RequestFailure {
                request: call.describe(),
                attempts,
            })
        }))
    }

    /// One try on one server: the status and body of its answer.
    fn attempt(
        &self,
        server: &ServerAddr,
        call: &Call,
        token: Option<&str>,
    ) -> Result<(u16, String), ureq::Error> {
        let mut query: Vec<(&str, &str)> =
            call.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let signed;
        if let (true, Some(key)) = (call.authenticated, &self.auth.access_key) {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            let data =
                signature::string_to_sign(now, call.get("groupName"), call.get("serviceName"));
            let sig = signature::sign(&key.secret_key, &data);
            signed = [
                ("ak", key.access_key.clone()),
                ("data", data),
                ("signature", sig),
            ];
            query.extend(signed.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut url = server.base_url() + call.path;
        if !query.is_empty() {
            url.push('?');
            url.push_str(&encode_pairs(query.into_iter()));
        }
        let mut request = ureq::http::Request::builder()
            .method(call.method.as_str())
            .uri(url);
        if let Some(token) = token {
            // In a header, never the URL: URLs land in servers' access logs and in error
            // texts. Every server line reads `Authorization: Bearer` before the `accessToken`
            // parameter (official 1.4, 2.x and 3.x, rnacos), and ureq logs no header value.
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        log::trace!("{} on {server}", call.describe());
        let mut response = if !call.form.is_empty() {
            let form = encode_pairs(call.form.iter().map(|(k, v)| (*k, v.as_str())));
            let request = request
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form)?;
            self.agent.run(request)?
        } else if matches!(call.method, Method::Post | Method::Put) {
            // An explicit empty body (Content-Length: 0), as servers expect on POST and PUT.
            self.agent.run(request.body("")?)?
        } else {
            self.agent.run(request.body(())?)?
        };
        let status = response.status().as_u16();
        let body = read_body(response.body_mut(), self.max_response_size)?;
        Ok((status, body))
    }
}

/// A timeout for ureq: none at all for one of a century or more (`Duration::MAX` means
/// forever), which ureq would add to an instant and overflow.
fn bounded(timeout: Duration) -> Option<Duration> {
    (timeout < crate::deadline::NEVER).then_some(timeout)
}

/// The whole body as text, at most `limit` bytes; bytes that are not UTF-8 become U+FFFD.
///
/// The buffer is sized from `Content-Length` up front: growing it from nothing took several
/// reads and copies per answer, on every call and every poll.
fn read_body(body: &mut ureq::Body, limit: u64) -> Result<String, ureq::Error> {
    let expected = body.content_length().unwrap_or(0).min(limit);
    // One byte more than announced, so that the read which finds the end needs no new room.
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0) + 1);
    body.with_config()
        .limit(limit)
        .reader()
        .read_to_end(&mut bytes)?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

fn server_error(status: u16, message: String, server: &ServerAddr) -> Error {
    let message = if message.len() > MAX_ERROR_TEXT {
        excerpt(&message, MAX_ERROR_TEXT)
    } else {
        message
    };
    Error::Server {
        status,
        message,
        server: server.to_string(),
    }
}

/// At most `max` bytes of `text`, cut at a character boundary and marked when cut.
fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// `a:1: cause; b:2: cause`, for a log line.
fn describe_attempts(attempts: &[Attempt]) -> String {
    let parts: Vec<String> = attempts
        .iter()
        .map(|a| format!("{}: {}", a.server, a.cause))
        .collect();
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_over_only_on_unavailable_answers() {
        for s in [200, 204, 299] {
            assert_eq!(verdict(s), Verdict::Success, "{s}");
        }
        for s in [500, 502, 503, 504] {
            assert_eq!(verdict(s), Verdict::Failover, "{s}");
        }
        for s in [301, 400, 403, 404, 429, 501, 505] {
            assert_eq!(verdict(s), Verdict::Refused, "{s}");
        }
    }

    #[test]
    fn encodes_every_reserved_character() {
        let q = encode_pairs(
            [
                ("serviceName", "G@@svc"),
                ("metadata", r#"{"a":"b c&d=e"}"#),
                ("signature", "OC5o+U/x="),
                ("ip", "::1"),
                ("name", "é-._~"),
            ]
            .into_iter(),
        );
        assert_eq!(
            q,
            "serviceName=G%40%40svc&metadata=%7B%22a%22%3A%22b%20c%26d%3De%22%7D\
             &signature=OC5o%2BU%2Fx%3D&ip=%3A%3A1&name=%C3%A9-._~"
        );
    }

    #[test]
    fn keeps_a_long_server_text_short() {
        let server = crate::wire::server_list::parse_server_addresses("h:1").unwrap();
        let e = server_error(500, "é".repeat(5000), &server[0]);
        let Error::Server { message, .. } = e else {
            panic!()
        };
        assert!(message.len() <= MAX_ERROR_TEXT + '…'.len_utf8());
        assert!(message.ends_with('…'));
    }

    #[test]
    fn reads_bodies_whole_within_the_limit_and_as_text() {
        let mut body = ureq::Body::builder().data(b"caf\xe9 ok".to_vec());
        assert_eq!(read_body(&mut body, 1024).unwrap(), "caf\u{fffd} ok");
        let mut body = ureq::Body::builder().data(vec![b'x'; 5000]);
        assert_eq!(read_body(&mut body, 5000).unwrap().len(), 5000);
        let mut body = ureq::Body::builder().data(vec![b'x'; 5001]);
        assert!(read_body(&mut body, 5000).is_err());
    }

    #[test]
    fn call_debug_hides_values() {
        let call = Call::new(Method::Post, "/p")
            .param("accessToken", "secret-token")
            .form("password", "secret-password");
        let shown = format!("{call:?}");
        assert!(shown.contains("accessToken") && !shown.contains("secret"));
        assert_eq!(call.describe(), "POST /p");
        assert_eq!(call.get("accessToken"), Some("secret-token"));
    }
}

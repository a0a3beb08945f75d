//! Sending one call to the servers: failover, authentication, timeouts and a bounded read.

use std::fmt;
use std::io::Read as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
use ureq::Agent;

use crate::error::{Attempt, Error, RequestFailure};
use crate::wire::api::ServerApi;
use crate::wire::auth::{parse_login_answer, Auth, Login, Token};
use crate::wire::generation::{self, Generation, Prepared, Reply};
use crate::wire::line::{Line, Lines};
use crate::wire::operation::Operation;
use crate::wire::server_list::{ServerAddr, ServerList};
use crate::wire::{signature, v1, v3};

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

    /// Adds `namespaceId` unless it is the server's default (`None`).
    pub(crate) fn namespace(self, namespace_id: Option<&String>) -> Call {
        match namespace_id {
            Some(ns) => self.param("namespaceId", ns),
            None => self,
        }
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

    #[cfg(test)]
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
    pub(crate) api: ServerApi,
}

/// The servers, one keep-alive connection pool for all of them, and the credentials.
pub(crate) struct Transport {
    agent: Agent,
    servers: ServerList,
    auth: Auth,
    max_response_size: u64,
    api: ServerApi,
    /// What each server was found to speak (with `ServerApi::Auto`).
    lines: Lines,
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
            lines: Lines::new(config.servers.len()),
            servers: ServerList::new(config.servers),
            auth: config.auth,
            max_response_size: config.max_response_size,
            api: config.api,
        }
    }

    /// Remembers what server `index` was found to speak (by a probe).
    pub(crate) fn learn(&self, index: usize, line: Line) {
        if self.api == ServerApi::Auto {
            self.lines.set(index, line);
        }
    }

    /// A token for a call now, if a login is configured and a server gives one.
    pub(crate) fn current_token(&self) -> Option<String> {
        let login = self.auth.login.as_ref()?;
        login.token(|l| self.log_in(l)).ok()
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

    /// The v3 login first, then the V1 login where the server has no v3 one (404, 501), as
    /// the official Java client does; a client pinned to V1 uses the V1 login alone.
    fn log_in(&self, login: &Login) -> Result<Token, Error> {
        let body = match self.api {
            ServerApi::V1 => self.execute(&login.call(v1::LOGIN_PATH))?,
            ServerApi::Auto | ServerApi::V3 => match self.execute(&login.call(v3::LOGIN_PATH)) {
                Err(Error::Server {
                    status: 404 | 405 | 501,
                    ..
                }) => self.execute(&login.call(v1::LOGIN_PATH))?,
                other => other?,
            },
        };
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
        self.run(
            || call.describe(),
            call.authenticated,
            |_, server, token| {
                let (status, body) = self.attempt(server, call, token)?;
                Ok(Ok((status, body, ())))
            },
        )
        .map(|(body, (), _)| body)
    }

    /// Performs `op` in the generation each server tried speaks (see [`ServerApi`]), failing
    /// over as [`execute`](Self::execute) does, and returns the answer for the generation that
    /// sent it to read.
    ///
    /// With [`ServerApi::Auto`], a server's 404 or 410 to a call of the generation it was
    /// thought to speak makes the client try the other generation on that server once: when
    /// that answers, the server's line is remembered and the caller sees the answer; when it
    /// does not, the first answer stands and nothing is remembered.
    pub(crate) fn perform(&self, op: &Operation<'_>) -> Result<Reply, Error> {
        let describe = || {
            let index = self.servers.try_order().first().copied().unwrap_or(0);
            match self.prepare(index, self.lines.get(index), op) {
                Ok(prepared) => prepared.call.describe(),
                Err(_) => op.name().to_owned(),
            }
        };
        let (body, prepared, index) = self.run(describe, true, |index, server, token| {
            self.attempt_operation(index, server, op, token)
        })?;
        Ok(Reply {
            body,
            generation: prepared.generation,
            admin: prepared.admin,
            line: self.lines.get(index),
            server: self.servers.get(index).to_string(),
        })
    }

    /// The request of `op` for server `index`, as its line is known now.
    fn prepare(&self, index: usize, line: Line, op: &Operation<'_>) -> Result<Prepared, Error> {
        let generation = generation::choose(self.api, line, op);
        let admin = self.auth.login.is_some() && !self.lines.admin_refused(index);
        let server = self.servers.get(index).to_string();
        Prepared::new(op, generation, line, admin, &server)
    }

    /// One try of `op` on one server, with what a 404, 410 or admin refusal teaches about it.
    fn attempt_operation(
        &self,
        index: usize,
        server: &ServerAddr,
        op: &Operation<'_>,
        token: Option<&str>,
    ) -> Result<Result<(u16, String, Prepared), Error>, ureq::Error> {
        let mut line = self.lines.get(index);
        if line == Line::Unknown && self.api == ServerApi::V3 && op.lists_every_cluster() {
            // Pinned to v3, a list of every cluster is complete only past 3.1: the server's
            // version tells, once.
            line = self.line_from_version(server, token)?;
            self.lines.set(index, line);
        }
        let prepared = match self.prepare(index, line, op) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let (status, body) = self.attempt(server, &prepared.call, token)?;
        if prepared.admin && matches!(status, 401 | 403) {
            // The login is no admin's: the client API stands in, on this server from now on.
            log::info!("{server} refused the login on its admin API; using its client API");
            self.lines.refuse_admin(index);
            return self.repeat(index, server, line, op, token);
        }
        if self.api != ServerApi::Auto {
            return Ok(Ok((status, body, prepared)));
        }
        let Some(learned) = self.relearn(server, line, &prepared, op, status, token)? else {
            if line == Line::Unknown && (200..300).contains(&status) {
                let line = match prepared.generation {
                    Generation::V1 => Line::V1,
                    Generation::V3 => Line::V3,
                };
                self.lines.set(index, line);
            }
            return Ok(Ok((status, body, prepared)));
        };
        log::info!(
            "{server} answered {status} to {} ({}): trying it as {learned}",
            op.name(),
            prepared.call.path()
        );
        self.lines.set(index, learned);
        match self.repeat(index, server, learned, op, token)? {
            Ok((404 | 410, ..)) | Err(_) => {
                // Neither generation serves it: the first answer stands, nothing is learned.
                self.lines.set(index, line);
                Ok(Ok((status, body, prepared)))
            }
            answered => Ok(answered),
        }
    }

    /// A v3 server's line from the version its state reports: 3.0 and 3.1 list DEFAULT alone
    /// when no cluster is named; later versions, or a server that does not say, every cluster.
    fn line_from_version(
        &self,
        server: &ServerAddr,
        token: Option<&str>,
    ) -> Result<Line, ureq::Error> {
        let (status, body) =
            self.attempt(server, &Call::new(Method::Get, v3::STATE_PATH), token)?;
        let version = (status == 200)
            .then(|| v3::read_version(&body))
            .flatten()
            .unwrap_or_default();
        Ok(
            if version.starts_with("3.0") || version.starts_with("3.1") {
                Line::V1OpenOnly
            } else {
                Line::V3
            },
        )
    }

    /// `op` again on the same server, as its line is now known.
    fn repeat(
        &self,
        index: usize,
        server: &ServerAddr,
        line: Line,
        op: &Operation<'_>,
        token: Option<&str>,
    ) -> Result<Result<(u16, String, Prepared), Error>, ureq::Error> {
        let prepared = match self.prepare(index, line, op) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let (status, body) = self.attempt(server, &prepared.call, token)?;
        Ok(Ok((status, body, prepared)))
    }

    /// The line a server's answer shows it is on, when that differs from what was thought:
    /// 410 to a V1 call is Nacos 3.0–3.1; 404 to a V1 call that never answers 404 is a server
    /// without V1 naming (3.2+), and so is a 404 to a V1 `get` or `modify` when the V1 list
    /// answers 404 too (one request); 404 to a v3 client call is a server back on V1.
    fn relearn(
        &self,
        server: &ServerAddr,
        line: Line,
        prepared: &Prepared,
        op: &Operation<'_>,
        status: u16,
        token: Option<&str>,
    ) -> Result<Option<Line>, ureq::Error> {
        Ok(match (prepared.generation, status) {
            (Generation::V1, 410) => Some(Line::V1OpenOnly),
            (Generation::V1, 404) if op.v1_404_means_no_path() => Some(Line::V3),
            (Generation::V1, 404) => {
                let probe = Call::new(Method::Get, v1::LIST_PATH)
                    .param("serviceName", "nacos.client.api.probe")
                    .param("healthyOnly", "false");
                let (probe_status, _) = self.attempt(server, &probe, token)?;
                (probe_status == 404).then_some(Line::V3)
            }
            (Generation::V3, 404) if !prepared.admin && op.v1_404_means_no_path() => {
                (line == Line::V3).then_some(Line::V1)
            }
            _ => None,
        })
    }

    /// The failover loop of every call; `attempt` sends the call to one server (`Err`: the
    /// server could not be reached; `Ok(Err)`: an error to return at once).
    fn run<G>(
        &self,
        what: impl Fn() -> String,
        authenticated: bool,
        mut attempt: impl FnMut(
            usize,
            &ServerAddr,
            Option<&str>,
        ) -> Result<Result<(u16, String, G), Error>, ureq::Error>,
    ) -> Result<(String, G, usize), Error> {
        let login = self.auth.login.as_ref().filter(|_| authenticated);
        let mut token = match login {
            Some(login) => Some(login.token(|l| self.log_in(l))?),
            None => None,
        };
        let mut may_log_in_again = login.is_some();
        let mut attempts = Vec::new();
        let mut last_failing_answer = None;
        for index in self.servers.try_order() {
            let server = self.servers.get(index);
            let mut outcome = attempt(index, server, token.as_deref());
            if let (Some(login), Ok(Ok((403, _, _)))) = (login, &outcome) {
                if may_log_in_again {
                    may_log_in_again = false;
                    log::debug!("{server} refused the token; logging in again");
                    token = Some(login.renew_after_refusal(token.as_deref(), |l| self.log_in(l))?);
                    outcome = attempt(index, server, token.as_deref());
                }
            }
            match outcome {
                Ok(Err(e)) => return Err(e),
                Ok(Ok((status, body, sent))) => match verdict(status) {
                    Verdict::Success => {
                        self.servers.answered(index);
                        if !attempts.is_empty() {
                            // The caller sees success; this is where a failing server shows.
                            log::warn!(
                                "{} succeeded on {server} after failing: {}",
                                what(),
                                describe_attempts(&attempts)
                            );
                        }
                        return Ok((body, sent, index));
                    }
                    Verdict::Refused => {
                        self.servers.answered(index);
                        return Err(server_error(status, body, server));
                    }
                    Verdict::Failover => {
                        let cause = format!("answered {status}: {}", excerpt(&body, 200));
                        log::debug!("{} on {server} {cause}", what());
                        attempts.push(Attempt {
                            server: server.to_string(),
                            cause: cause.into(),
                        });
                        last_failing_answer = Some(server_error(status, body, server));
                    }
                },
                Err(e) => {
                    log::debug!("{} on {server} failed: {e}", what());
                    attempts.push(Attempt {
                        server: server.to_string(),
                        cause: Box::new(e),
                    });
                }
            }
        }
        Err(last_failing_answer.unwrap_or_else(|| {
            Error::Request(RequestFailure {
                request: what(),
                attempts,
            })
        }))
    }

    /// One try on one server: the status and body of its answer.
    pub(crate) fn attempt(
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
        let mut url = server.url(call.path);
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

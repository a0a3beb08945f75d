//! The configured servers and the order a call tries them in.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::calls::validate;
use crate::error::Error;
use crate::random;

/// The port of a server given as `host` alone.
pub(crate) const DEFAULT_PORT: u16 = 8848;

/// Where official servers serve their API: `server.servlet.contextPath`'s default.
const DEFAULT_CONTEXT_PATH: &str = "/nacos";

/// How often a call tries its only server before giving up (connect errors, timeouts, 5xx).
const SINGLE_SERVER_TRIES: usize = 3;

/// One Nacos server: where to connect and how.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ServerAddr {
    tls: bool,
    host: String,
    port: u16,
    /// The server's context path, `/nacos` unless the address names another
    /// (`http://host:8848/nacos-server`).
    context_path: String,
}

impl ServerAddr {
    /// The host name or IP address, without brackets.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn is_https(&self) -> bool {
        self.tls
    }

    /// `http(s)://host:port`, the scheme and authority of every request URL.
    pub(crate) fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{self}")
    }

    /// The URL of `path`, an API path under the default context path (`/nacos/v1/ns/…`),
    /// on this server and under its context path.
    pub(crate) fn url(&self, path: &str) -> String {
        match path.strip_prefix(DEFAULT_CONTEXT_PATH) {
            Some(api) if api.starts_with('/') => {
                format!("{}{}{api}", self.base_url(), self.context_path)
            }
            _ => self.base_url() + path,
        }
    }
}

/// `host:port`, with an IPv6 address in brackets: how errors name the server.
impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Parses a comma-separated list of `host[:port]` (port 8848 by default) and
/// `http(s)://host[:port]` (ports 80 and 443 by default, as in any URL), each optionally
/// followed by the server's context path (`/nacos`, the default, or another such as
/// `/nacos-server`), as official clients take `contextPath`. IPv6 addresses go in
/// brackets. Blank entries are skipped and duplicates dropped; an empty list is refused.
pub(crate) fn parse_server_addresses(list: &str) -> Result<Vec<ServerAddr>, Error> {
    let mut servers: Vec<ServerAddr> = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let server = parse_one(entry).map_err(|reason| {
            let entry = without_credentials(entry);
            Error::invalid("server_addresses", format!("{entry:?}: {reason}"))
        })?;
        if !servers.contains(&server) {
            servers.push(server);
        }
    }
    if servers.is_empty() {
        return Err(Error::invalid(
            "server_addresses",
            format!("{list:?} names no server"),
        ));
    }
    Ok(servers)
}

/// `entry` with the user name and password of a URL (`http://user:password@host`) masked: an
/// error is logged and shown, and must not carry a password along.
fn without_credentials(entry: &str) -> String {
    let start = entry.find("://").map_or(0, |i| i + 3);
    let end = entry[start..]
        .find(['/', '?', '#'])
        .map_or(entry.len(), |i| start + i);
    match entry[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &entry[..start], &entry[start + at..]),
        None => entry.to_owned(),
    }
}

fn parse_one(entry: &str) -> Result<ServerAddr, String> {
    let (tls, rest, default_port) = match entry.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest, 80),
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest, 443),
        Some((scheme, _)) => return Err(format!("scheme {scheme:?} is not http or https")),
        None => (false, entry, DEFAULT_PORT),
    };
    if rest.contains(['?', '#']) {
        return Err("a server address has no query or fragment".into());
    }
    // What follows the authority is the context path; `/` alone, or nothing, is the default.
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let context_path = match path.trim_end_matches('/') {
        "" => DEFAULT_CONTEXT_PATH.to_owned(),
        p if p.contains("//") || p.contains(char::is_whitespace) => {
            return Err(format!("{p:?} is not a context path such as /nacos"))
        }
        p => p.to_owned(),
    };
    if authority.contains('@') {
        return Err("user names go in username(), not in the address".into());
    }
    let (host, port) = split_host_port(authority)?;
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err(format!("port {p:?} is not a number between 1 and 65535")),
        },
    };
    Ok(ServerAddr {
        tls,
        host: host.to_owned(),
        port,
        context_path,
    })
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port`, checking the host.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("an opening '[' has no closing ']'")?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!("{host:?} in brackets is not an IPv6 address"));
        }
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err("expected ':port' after ']'".into()),
            },
        };
    }
    if authority.parse::<Ipv6Addr>().is_ok() || authority.matches(':').count() > 1 {
        return Err("an IPv6 address goes in brackets: [::1]:8848".into());
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.parse::<IpAddr>().is_err() && !validate::is_host_name(host) {
        return Err(format!("{host:?} is neither an IP address nor a host name"));
    }
    Ok((host, port))
}

/// The servers and the one to try first: the last that answered, at first a random one, so
/// that clients started together spread over the cluster.
#[derive(Debug)]
pub(crate) struct ServerList {
    servers: Vec<ServerAddr>,
    preferred: AtomicUsize,
}

impl ServerList {
    /// `servers` must not be empty (see [`parse_server_addresses`]).
    pub(crate) fn new(servers: Vec<ServerAddr>) -> ServerList {
        let start = random::below(servers.len());
        ServerList {
            servers,
            preferred: AtomicUsize::new(start),
        }
    }

    pub(crate) fn servers(&self) -> &[ServerAddr] {
        &self.servers
    }

    pub(crate) fn get(&self, index: usize) -> &ServerAddr {
        &self.servers[index]
    }

    /// The indexes one call tries, in order.
    pub(crate) fn try_order(&self) -> Vec<usize> {
        try_order(self.servers.len(), self.preferred.load(Ordering::Relaxed))
    }

    /// Remembers the server that answered, so the next call starts there.
    pub(crate) fn answered(&self, index: usize) {
        self.preferred.store(index, Ordering::Relaxed);
    }
}

/// Each server once, starting at `start` and wrapping around; a lone server three times.
fn try_order(len: usize, start: usize) -> Vec<usize> {
    match len {
        0 => Vec::new(),
        1 => vec![0; SINGLE_SERVER_TRIES],
        _ => (0..len).map(|i| (start + i) % len).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &str) -> Vec<String> {
        parse_server_addresses(list)
            .unwrap()
            .iter()
            .map(ServerAddr::base_url)
            .collect()
    }

    fn refused(list: &str) -> String {
        match parse_server_addresses(list) {
            Err(Error::InvalidParam { param, reason }) => {
                assert_eq!(param, "server_addresses");
                reason
            }
            other => panic!("{list:?} gave {other:?}"),
        }
    }

    #[test]
    fn parses_every_documented_form() {
        assert_eq!(
            parse("127.0.0.1:8848, nacos.local ,10.0.0.2:9000"),
            [
                "http://127.0.0.1:8848",
                "http://nacos.local:8848",
                "http://10.0.0.2:9000"
            ]
        );
        assert_eq!(
            parse("http://h:1,HTTPS://secure.example.com,https://s:8443/"),
            [
                "http://h:1",
                "https://secure.example.com:443",
                "https://s:8443"
            ]
        );
        assert_eq!(
            parse("[::1]:9,[fe80::1],http://[::1]"),
            ["http://[::1]:9", "http://[fe80::1]:8848", "http://[::1]:80"]
        );
        let servers = parse_server_addresses("https://[::1]:9").unwrap();
        assert_eq!(servers[0].host(), "::1");
        assert_eq!(servers[0].port(), 9);
        assert!(servers[0].is_https());
        assert_eq!(servers[0].to_string(), "[::1]:9");
    }

    #[test]
    fn takes_a_context_path() {
        let servers =
            parse_server_addresses("http://h:1/nacos,h:2/nacos-server/,https://h:3/,h:4").unwrap();
        let urls: Vec<String> = servers
            .iter()
            .map(|s| s.url("/nacos/v1/ns/instance/list"))
            .collect();
        assert_eq!(
            urls,
            [
                "http://h:1/nacos/v1/ns/instance/list",
                "http://h:2/nacos-server/v1/ns/instance/list",
                "https://h:3/nacos/v1/ns/instance/list",
                "http://h:4/nacos/v1/ns/instance/list",
            ]
        );
        assert_eq!(servers[1].to_string(), "h:2", "errors name host and port");
    }

    #[test]
    fn skips_blanks_and_duplicates() {
        assert_eq!(parse("a:1,,a:1, ,b"), ["http://a:1", "http://b:8848"]);
    }

    #[test]
    fn refuses_what_cannot_be_a_server() {
        for (list, why) in [
            ("", "names no server"),
            (" , ", "names no server"),
            ("h:0", "port"),
            ("h:99999", "port"),
            ("h:x", "port"),
            ("h:", "port"),
            ("ftp://h", "scheme"),
            ("http://h/nacos?x=1", "query"),
            ("http://h/a//b", "context path"),
            ("http://u:p@h", "username"),
            ("::1", "brackets"),
            ("fe80::1:8848", "brackets"),
            ("[::1", "closing"),
            ("[nothost]:1", "IPv6"),
            ("[::1]x", "':port'"),
            ("a b:1", "neither"),
            ("http://", "neither"),
            ("1.2.3:80", "neither"),
        ] {
            let reason = refused(list);
            assert!(reason.contains(why), "{list:?}: {reason}");
        }
    }

    #[test]
    fn tries_each_server_once_from_the_preferred_one() {
        assert_eq!(try_order(3, 0), [0, 1, 2]);
        assert_eq!(try_order(3, 2), [2, 0, 1]);
        assert_eq!(try_order(1, 0), [0, 0, 0]);
        assert!(try_order(0, 0).is_empty());
    }

    #[test]
    fn starts_at_the_server_that_answered_last() {
        let list = ServerList::new(parse_server_addresses("a,b,c").unwrap());
        list.answered(1);
        assert_eq!(list.try_order(), [1, 2, 0]);
        assert_eq!(list.get(1).host(), "b");
    }

    #[test]
    fn first_server_is_random() {
        let starts: std::collections::HashSet<usize> = (0..200)
            .map(|_| ServerList::new(parse_server_addresses("a,b,c").unwrap()).try_order()[0])
            .collect();
        assert_eq!(starts.len(), 3);
    }

    #[test]
    fn errors_never_echo_credentials() {
        for entry in [
            "http://user:PASSWORD@h:8848",
            "user:PASSWORD@h",
            "https://a:b:PASSWORD@@h/x?y",
        ] {
            let e = parse_server_addresses(entry).unwrap_err().to_string();
            assert!(!e.contains("PASSWORD") && e.contains("***@"), "{e}");
        }
        assert_eq!(without_credentials("h:1"), "h:1");
        assert_eq!(without_credentials("http://h/p@x"), "http://h/p@x");
    }
}

//! The server side of the scripted HTTP/1.1 servers that tests run on loopback: reading one
//! request off a kept-alive connection and writing one answer.

use std::io::{self, BufRead, Write};

/// One request as a test server received it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query parameters, decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// The headers, names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body, as many bytes as `Content-Length` said.
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    /// Reads the next request; `None` when the connection ends (or breaks) first.
    pub fn read(reader: &mut impl BufRead) -> Option<ReceivedRequest> {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next()?.to_owned(), parts.next()?);
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut request = ReceivedRequest {
            method,
            path: path.to_owned(),
            query: decode_form(query.as_bytes()),
            headers: Vec::new(),
            body: Vec::new(),
        };
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).ok()? == 0 {
                return None;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                request.headers.push((name, value.trim().to_owned()));
            }
        }
        let length = request
            .header("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        request.body = vec![0; length];
        reader.read_exact(&mut request.body).ok()?;
        Some(request)
    }

    /// A header's value (`name` in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body decoded as `application/x-www-form-urlencoded`, in the order sent.
    pub fn form(&self) -> Vec<(String, String)> {
        decode_form(&self.body)
    }

    /// Whether the client asked to close the connection after the answer.
    pub fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
    }
}

fn decode_form(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Writes one answer with a `Content-Length`, and `Connection: close` when `close`.
pub fn write_response(
    writer: &mut impl Write,
    status: u16,
    content_type: &str,
    body: &str,
    close: bool,
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{}\r\n",
        body.len(),
        if close { "Connection: close\r\n" } else { "" }
    );
    writer.write_all(head.as_bytes())?;
    writer.write_all(body.as_bytes())?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requests_one_after_another_and_decodes_them() {
        let wire = "POST /p?a=1%202&b=%40 HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\
                    Connection: close\r\n\r\nk=v+w&zGET /q HTTP/1.1\r\n\r\n";
        let mut reader = io::BufReader::new(wire.as_bytes());
        let first = ReceivedRequest::read(&mut reader).unwrap();
        assert_eq!((first.method.as_str(), first.path.as_str()), ("POST", "/p"));
        assert_eq!(first.param("a"), Some("1 2"));
        assert_eq!(first.param("b"), Some("@"));
        assert_eq!(first.header("host"), Some("x"));
        assert!(first.wants_close());
        assert_eq!(
            first.form(),
            vec![("k".into(), "v w".into()), ("z".into(), String::new())]
        );
        let second = ReceivedRequest::read(&mut reader).unwrap();
        assert_eq!(
            (second.method.as_str(), second.path.as_str()),
            ("GET", "/q")
        );
        assert!(second.body.is_empty() && !second.wants_close());
        assert!(ReceivedRequest::read(&mut reader).is_none());
    }

    #[test]
    fn writes_a_framed_answer() {
        let mut out = Vec::new();
        write_response(&mut out, 503, "text/plain", "down", true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
             Content-Length: 4\r\nConnection: close\r\n\r\ndown"
        );
    }
}

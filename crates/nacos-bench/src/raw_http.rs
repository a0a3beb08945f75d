//! A minimal keep-alive HTTP/1.1 connection over `std::net::TcpStream`: the load generator and
//! the "raw loop" ceiling.
//!
//! It does as little as a client can: write a prepared request, read the status line and
//! headers, read the body by `Content-Length` (or chunks), keep the connection for the next
//! request. No parsing of the body, no allocation per request once the buffers have grown, so
//! what it measures is the server (and the loopback), not the client.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a request may take before the connection counts as failed.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the bytes of a request with an empty body.
pub fn request(method: &str, path_and_query: &str, host: SocketAddr) -> Vec<u8> {
    let length = if method == "GET" {
        ""
    } else {
        "Content-Length: 0\r\n"
    };
    format!(
        "{method} {path_and_query} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: nacos-bench\r\n\
         Accept: */*\r\n{length}\r\n"
    )
    .into_bytes()
}

/// One keep-alive connection to one server; reconnects when the server closes it.
pub struct Connection {
    addr: SocketAddr,
    stream: Option<BufReader<TcpStream>>,
    line: Vec<u8>,
    body: Vec<u8>,
}

impl Connection {
    /// A connection to `addr`, opened on the first request.
    pub fn new(addr: SocketAddr) -> Connection {
        Connection {
            addr,
            stream: None,
            line: Vec::with_capacity(256),
            body: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends `request` and returns the status and the body. A kept-alive connection the server
    /// closed in the meantime is reopened once and the request sent again.
    pub fn send(&mut self, request: &[u8]) -> io::Result<(u16, &[u8])> {
        let reused = self.stream.is_some();
        match self.exchange(request) {
            Ok(status) => Ok((status, &self.body)),
            Err(e) if reused && is_closed(&e) => {
                self.stream = None;
                let status = self.exchange(request)?;
                Ok((status, &self.body))
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }

    fn exchange(&mut self, request: &[u8]) -> io::Result<u16> {
        if self.stream.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(IO_TIMEOUT))?;
            stream.set_write_timeout(Some(IO_TIMEOUT))?;
            self.stream = Some(BufReader::with_capacity(64 * 1024, stream));
        }
        let reader = self.stream.as_mut().expect("connected above");
        reader.get_mut().write_all(request)?;

        self.line.clear();
        if reader.read_until(b'\n', &mut self.line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let status = parse_status(&self.line)?;
        let mut length = None;
        let mut chunked = false;
        let mut close = false;
        loop {
            self.line.clear();
            if reader.read_until(b'\n', &mut self.line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed in the headers",
                ));
            }
            let line = trim(&self.line);
            if line.is_empty() {
                break;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
            if name.eq_ignore_ascii_case(b"content-length") {
                length = Some(parse_number(value, 10)?);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = value.eq_ignore_ascii_case(b"chunked");
            } else if name.eq_ignore_ascii_case(b"connection") {
                close = value.eq_ignore_ascii_case(b"close");
            }
        }
        self.body.clear();
        if chunked {
            read_chunks(reader, &mut self.line, &mut self.body)?;
        } else if let Some(length) = length {
            self.body.resize(length, 0);
            reader.read_exact(&mut self.body)?;
        } else {
            // Neither length nor chunks: the body ends with the connection.
            reader.read_to_end(&mut self.body)?;
            close = true;
        }
        if close {
            self.stream = None;
        }
        Ok(status)
    }
}

fn read_chunks(
    reader: &mut BufReader<TcpStream>,
    line: &mut Vec<u8>,
    body: &mut Vec<u8>,
) -> io::Result<()> {
    loop {
        line.clear();
        reader.read_until(b'\n', line)?;
        let size_text = trim(line);
        let size_text = match size_text.iter().position(|&b| b == b';') {
            Some(end) => &size_text[..end],
            None => size_text,
        };
        let size = parse_number(size_text, 16)?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                line.clear();
                if reader.read_until(b'\n', line)? == 0 || trim(line).is_empty() {
                    return Ok(());
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_until(b'\n', line)?;
    }
}

fn parse_status(line: &[u8]) -> io::Result<u16> {
    // "HTTP/1.1 200 OK"
    let text = std::str::from_utf8(line).map_err(|_| invalid("status line is not UTF-8"))?;
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid(&format!("bad status line {text:?}")))
}

fn parse_number(text: &[u8], radix: u32) -> io::Result<usize> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| usize::from_str_radix(t, radix).ok())
        .ok_or_else(|| invalid("bad length"))
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server that answers each request on one connection with the next canned answer.
    fn serve(answers: Vec<&'static str>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            for answer in answers {
                let mut line = String::new();
                loop {
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                    if line == "\r\n" {
                        break;
                    }
                }
                writer.write_all(answer.as_bytes()).unwrap();
            }
        });
        addr
    }

    #[test]
    fn reads_lengths_and_chunks_on_one_connection() {
        let addr = serve(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.1 500 Internal\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
        ]);
        let mut connection = Connection::new(addr);
        let get = request("GET", "/x", addr);
        assert_eq!(connection.send(&get).unwrap(), (200, &b"ok"[..]));
        assert_eq!(connection.send(&get).unwrap(), (500, &b"abcde"[..]));
        assert_eq!(connection.send(&get).unwrap(), (404, &b""[..]));
    }

    #[test]
    fn builds_requests_with_a_length_for_writes() {
        let addr: SocketAddr = "127.0.0.1:8848".parse().unwrap();
        let post = String::from_utf8(request("POST", "/p?a=1", addr)).unwrap();
        assert!(post.starts_with("POST /p?a=1 HTTP/1.1\r\nHost: 127.0.0.1:8848\r\n"));
        assert!(post.contains("Content-Length: 0\r\n") && post.ends_with("\r\n\r\n"));
        let get = String::from_utf8(request("GET", "/g", addr)).unwrap();
        assert!(!get.contains("Content-Length"));
    }
}

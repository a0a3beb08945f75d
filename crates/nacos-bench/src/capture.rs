//! What the client sends: one call made against a listener that records the request and answers
//! like a server, so the raw loop can send exactly the same bytes.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};

use crate::Result;

/// Runs `call` against a one-shot recording server (its address as the argument) that answers
/// `answer` as JSON, and returns the head of the request the call sent.
pub fn request_head(answer: &str, call: impl FnOnce(&str)) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let answer = answer.to_owned();
    let recorder = std::thread::spawn(move || -> std::io::Result<String> {
        let (stream, _) = listener.accept()?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                break;
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut writer = stream;
        write!(
            writer,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{answer}",
            answer.len()
        )?;
        Ok(head)
    });
    call(&addr.to_string());
    let head = recorder
        .join()
        .map_err(|_| "the recording server panicked")??;
    if head.is_empty() {
        return Err("the client sent nothing to the recording server".into());
    }
    Ok(head)
}

/// The same request head addressed to `addr` (its `Host` header replaced).
pub fn retarget(head: &str, addr: SocketAddr) -> String {
    head.split_inclusive("\r\n")
        .map(|line| {
            if line.to_ascii_lowercase().starts_with("host:") {
                format!("host: {addr}\r\n")
            } else {
                line.to_owned()
            }
        })
        .collect()
}

/// The request line (`GET /path?query HTTP/1.1`) of a head.
pub fn request_line(head: &str) -> &str {
    head.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_what_a_client_sends_and_retargets_it() {
        let head = request_head("{}", |address| {
            let mut c = crate::raw_http::Connection::new(address.parse().unwrap());
            let req = crate::raw_http::request("GET", "/a?b=1", address.parse().unwrap());
            assert_eq!(c.send(&req).unwrap(), (200, &b"{}"[..]));
        })
        .unwrap();
        assert_eq!(request_line(&head), "GET /a?b=1 HTTP/1.1");
        let moved = retarget(&head, "127.0.0.1:9".parse().unwrap());
        assert!(moved.contains("host: 127.0.0.1:9\r\n") && moved.ends_with("\r\n\r\n"));
    }
}

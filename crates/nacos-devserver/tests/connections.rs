//! Connection handling under hostile or unusual clients: half-closed requests, slow bodies,
//! more connections than the server takes.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::Api;
use nacos_devserver::DevServer;

const LIVENESS: &str = "/nacos/v1/console/health/liveness";

/// A request written whole, then the write side shut (`SHUT_WR`): the answer still comes.
#[test]
fn a_half_closed_request_gets_its_answer() {
    let api = Api::start();
    for round in 0..20 {
        let mut stream = TcpStream::connect(api.server.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET {LIVENESS} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "round {round}: {answer:?}"
        );
    }
}

/// A connection that sends a request head announcing a body, then trickles it (or nothing).
fn slow_body(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /nacos/v1/ns/instance HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nip="
    )
    .unwrap();
    stream
}

/// Many slow-body connections, more than the server takes at once: a client that connects
/// meanwhile still gets its answers promptly, however many keep coming.
#[test]
fn slow_bodies_do_not_lock_other_clients_out() {
    let api = Api::with(
        DevServer::builder()
            .max_connections(16)
            .request_timeout(Duration::from_secs(60)),
    );
    // A new connection per call: an idle kept-alive one may be shed for a newcomer, as it
    // should be, and a POST on a connection closed under it would not be retried.
    let fresh: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .max_idle_connections(0)
        .build()
        .into();
    let base = format!("http://{}", api.server.addr());
    let call = |method, path, params: &[(&str, &str)]| {
        common::request(&fresh, &base, method, path, params, true)
    };
    let mut flood = Vec::new();
    for _ in 0..48 {
        flood.push(slow_body(api.server.addr()));
        if flood.len() % 8 == 0 {
            let started = Instant::now();
            assert_eq!(call("GET", LIVENESS, &[]).0, 200);
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "answered promptly"
            );
        }
    }
    let registration = [("serviceName", "svc"), ("ip", "10.0.0.1"), ("port", "80")];
    assert_eq!(
        call("POST", "/nacos/v1/ns/instance", &registration),
        (200, "ok".to_owned())
    );
    // The oldest slow connections were closed to make room: the server holds no more than
    // its cap, however many arrive.
    for (i, stream) in flood.iter_mut().take(16).enumerate() {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut rest = Vec::new();
        match stream.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest)),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("slow connection {i} still open: {e}"),
        }
    }
}

/// A body that does not arrive within the request timeout is answered 408 and the connection
/// closed, however slowly it trickles.
#[test]
fn a_body_too_slow_is_cut_off() {
    let api = Api::with(DevServer::builder().request_timeout(Duration::from_millis(300)));
    let mut stream = slow_body(api.server.addr());
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    // One byte of body every 50 ms: always moving, never done in time.
    loop {
        let _ = stream.write_all(b"x");
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still open after 10 s"
        );
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
}

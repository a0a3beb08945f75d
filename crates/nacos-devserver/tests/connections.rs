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

/// A registration form padded to `len` bytes.
fn padded_registration(service: &str, len: usize) -> Vec<u8> {
    let mut form = format!("serviceName={service}&ip=10.0.0.9&port=80&pad=").into_bytes();
    form.resize(len, b'x');
    form
}

/// What a stream answers within `timeout`, if anything.
fn answer_within(stream: &mut TcpStream, timeout: Duration) -> Option<String> {
    stream.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = [0u8; 4096];
    match stream.read(&mut buf) {
        Ok(n) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        _ => None,
    }
}

/// Large bodies draw what they hold beyond a small allowance from one budget for all
/// connections: a body that would overdraw it is refused at once (503), small requests are
/// served meanwhile, and what a body held comes back when it is done.
#[test]
fn large_bodies_share_one_memory_budget() {
    // Each body below holds 128 KiB once past 64 KiB: 64 KiB of the budget, so only one fits.
    let api = Api::with(
        DevServer::builder()
            .max_body_memory(100 * 1024)
            .request_timeout(Duration::from_secs(60)),
    );
    let addr = api.server.addr();
    let form = padded_registration("big", 66 * 1024);
    let mut senders: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            write!(
                stream,
                "POST /nacos/v1/ns/instance HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
                form.len()
            )
            .unwrap();
            stream.write_all(&form[..64 * 1024]).unwrap();
            stream
        })
        .collect();
    // The last kilobyte but one, in one write: whichever body is read past 64 KiB second
    // cannot be held, and nothing it sent is left unread when it is refused.
    for stream in &mut senders {
        stream.write_all(&form[64 * 1024..65 * 1024]).unwrap();
    }
    let started = Instant::now();
    let (refused, answer) = loop {
        let answered = (0..2).find_map(|i| {
            answer_within(&mut senders[i], Duration::from_millis(20)).map(|answer| (i, answer))
        });
        if let Some(answered) = answered {
            break answered;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "neither large body was refused"
        );
    };
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(
        answer.contains("too many large request bodies"),
        "{answer:?}"
    );

    // At the budget, small requests are served.
    let registration = [("serviceName", "small"), ("ip", "10.0.0.1"), ("port", "80")];
    assert_eq!(
        api.form("POST", "/nacos/v1/ns/instance", &registration),
        (200, "ok".to_owned())
    );

    // The body that fits completes and is answered; what it held comes back to the budget.
    let mut held = senders.swap_remove(1 - refused);
    held.write_all(&form[65 * 1024..]).unwrap();
    let answer = answer_within(&mut held, Duration::from_secs(10)).unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    let pad = "x".repeat(66 * 1024);
    let large = [
        ("serviceName", "big-again"),
        ("ip", "10.0.0.2"),
        ("port", "80"),
        ("pad", pad.as_str()),
    ];
    assert_eq!(
        api.form("POST", "/nacos/v1/ns/instance", &large),
        (200, "ok".to_owned())
    );
}

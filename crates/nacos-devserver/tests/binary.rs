//! The standalone binary: arguments, start on a free port, a clean stop on SIGTERM.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStderr, Command, Stdio};

/// Bad arguments exit with an error naming the problem, before anything is bound.
#[test]
fn bad_arguments_are_refused() {
    for args in [
        &["--health-timeout", "soon"][..],
        &["--auth", "nopassword"],
        &["--bind", "not-an-address"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_nacos-devserver"))
            .args(args)
            .env_clear()
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?}");
    }
}

/// Starts the server `command` runs, with a clean environment, and reads the line announcing
/// its address: the child, the rest of its log lines, and its base URL.
#[cfg(unix)]
fn start(command: &mut Command) -> (Child, Lines<BufReader<ChildStderr>>, String) {
    let mut child = command
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = lines.next().unwrap().unwrap();
    let base = listening
        .split_once("listening on ")
        .map(|(_, url)| url.split([',', ' ']).next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{listening}"));
    assert!(base.starts_with("http://127.0.0.1:"), "{listening}");
    (child, lines, base)
}

/// SIGTERM stops the server cleanly: it logs the stop and exits 0.
#[cfg(unix)]
#[test]
fn sigterm_stops_cleanly() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nacos-devserver"));
    command.args(["--bind", "127.0.0.1:0"]);
    command.args(["--health-timeout", "500ms", "--expire-timeout", "1s"]);
    let (mut child, lines, _) = start(&mut command);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?} {rest:?}");
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
}

/// A server process, killed when dropped (a failing test leaves nothing behind).
#[cfg(unix)]
struct Running(Child);

#[cfg(unix)]
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// With few file descriptors (`ulimit -n 64`), a flood of slow bodies far larger than that does
/// not lock other clients out: the connection cap sheds the slowest before descriptors run out.
#[cfg(unix)]
#[test]
fn a_slow_body_flood_under_a_small_descriptor_limit_keeps_serving() {
    use std::io::Write;
    use std::net::TcpStream;
    use std::time::Duration;

    let mut command = Command::new("sh");
    command
        .args(["-c", r#"ulimit -n 64 && exec "$0" "$@""#])
        .arg(env!("CARGO_BIN_EXE_nacos-devserver"))
        .args(["--bind", "127.0.0.1:0", "--max-connections", "32"])
        .args(["--request-timeout", "60s", "--no-push"]);
    let (child, lines, base) = start(&mut command);
    let server = Running(child);
    // Whatever it logs meanwhile, it must never block on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let addr = base.trim_start_matches("http://");

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .max_idle_connections(0)
        .build()
        .into();
    let liveness = format!("{base}/nacos/v1/console/health/liveness");
    let mut flood = Vec::new();
    for round in 0..4 {
        for _ in 0..40 {
            let mut stream = TcpStream::connect(addr).unwrap();
            let _ = stream.write_all(
                b"POST /nacos/v1/ns/instance HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                  Content-Length: 100\r\n\r\nip=",
            );
            flood.push(stream);
        }
        let answer = agent.get(&liveness).call();
        assert!(
            answer.is_ok_and(|a| a.status() == 200),
            "round {round}: locked out"
        );
    }
    drop(server);
}

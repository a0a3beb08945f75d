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

/// When whoever reads the log goes away (`nacos-devserver 2>&1 | head`, a supervisor that
/// died), writing a log line fails: the request that logs it is still served.
#[cfg(unix)]
#[test]
fn a_closed_log_does_not_stop_requests() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nacos-devserver"));
    command.args(["--bind", "127.0.0.1:0", "--no-push"]);
    let (child, lines, base) = start(&mut command);
    let _server = Running(child);
    drop(lines);
    let agent = ureq::Agent::new_with_defaults();
    for port in 1..=3 {
        let instance =
            format!("{base}/nacos/v1/ns/instance?serviceName=svc&ip=10.0.0.1&port={port}");
        let answer = agent.post(&instance).send_empty();
        assert!(
            answer.is_ok_and(|a| a.status() == 200),
            "registration {port}"
        );
    }
    let list = agent
        .get(format!("{base}/nacos/v1/ns/instance/list?serviceName=svc"))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert_eq!(list.matches("\"ip\":\"10.0.0.1\"").count(), 3, "{list}");
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

/// The start banner names the version, the addresses, auth, the data directory and the
/// metrics URL; each change is logged on one line; the metrics count instances, services,
/// subscribers and requests by endpoint and status.
#[cfg(unix)]
#[test]
fn the_banner_the_change_log_and_the_metrics() {
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_nacos-devserver"));
    command.args(["--bind", "127.0.0.1:0", "--data-dir"]);
    command.arg(data.path());
    let (mut child, mut lines, base) = start(&mut command);
    let mut next = || lines.next().unwrap().unwrap();
    let banner: Vec<String> = (0..7).map(|_| next()).collect();
    let banner = banner.join("\n");
    for part in [
        format!("nacos-devserver {}", env!("CARGO_PKG_VERSION")),
        format!("api:     {base}/nacos"),
        format!("console: {base}/nacos/"),
        "push:    udp 127.0.0.1:".to_owned(),
        "auth:    off".to_owned(),
        format!("data:    {}", data.path().display()),
        format!("metrics: {base}/nacos/actuator/prometheus"),
    ] {
        assert!(banner.contains(&part), "{part:?} not in\n{banner}");
    }

    let agent = ureq::Agent::new_with_defaults();
    let instance = format!("{base}/nacos/v1/ns/instance?serviceName=svc&ip=10.0.0.1&port=80");
    agent.post(&instance).send_empty().unwrap();
    let registered = next();
    assert!(
        registered.contains("registered DEFAULT_GROUP@@svc 10.0.0.1:80 cluster=DEFAULT"),
        "{registered}"
    );
    let bad = agent
        .get(format!("{base}/nacos/v1/ns/instance/list"))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(bad.status(), 400);

    let metrics = agent
        .get(format!("{base}/nacos/actuator/prometheus"))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    for line in [
        "nacos_devserver_instances 1",
        "nacos_devserver_healthy_instances 1",
        "nacos_devserver_services 1",
        "nacos_devserver_subscribers 0",
        "nacos_devserver_requests_total{endpoint=\"register\",status=\"200\"} 1",
        "nacos_devserver_requests_total{endpoint=\"list\",status=\"400\"} 1",
        "nacos_devserver_pushes_total 0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line:?} not in\n{metrics}"
        );
    }

    agent.delete(&instance).call().unwrap();
    let deregistered = next();
    assert!(
        deregistered.contains("deregistered DEFAULT_GROUP@@svc 10.0.0.1:80"),
        "{deregistered}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// The health rules' changes are logged at info level, one line each: an instance marked
/// unhealthy without beats, healthy again on a beat, and removed at its expiry.
#[cfg(unix)]
#[test]
fn health_changes_and_expiry_are_logged() {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let mut command = Command::new(env!("CARGO_BIN_EXE_nacos-devserver"));
    command.args(["--bind", "127.0.0.1:0", "--health-timeout", "200ms"]);
    // Long enough after the first lapse for the beat that heals it to arrive first.
    command.args(["--expire-timeout", "3s"]);
    let (child, lines, base) = start(&mut command);
    let _server = Running(child);
    // Lines are read on a thread, so a line that never comes fails the test instead of hanging.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let expect = |wanted: &str| -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(wanted) => return line,
                Ok(_) => {}
                Err(e) => panic!("no log line with {wanted:?}: {e}"),
            }
        }
    };

    let agent = ureq::Agent::new_with_defaults();
    let query = "serviceName=svc&ip=10.0.0.1&port=80";
    agent
        .post(format!("{base}/nacos/v1/ns/instance?{query}"))
        .send_empty()
        .unwrap();
    let instance = "DEFAULT_GROUP@@svc 10.0.0.1:80 cluster=DEFAULT namespace=public";
    let unhealthy = expect("unhealthy ");
    assert!(
        unhealthy.contains(&format!("INFO  unhealthy {instance}: no beat for ")),
        "{unhealthy}"
    );
    agent
        .put(format!("{base}/nacos/v1/ns/instance/beat?{query}"))
        .send_empty()
        .unwrap();
    let healed = expect("healthy again");
    assert!(
        healed.contains(&format!("INFO  healthy again {instance}: a beat after ")),
        "{healed}"
    );
    expect("unhealthy ");
    let expired = expect("expired ");
    assert!(
        expired.contains(&format!("INFO  expired {instance}: no beat for ")),
        "{expired}"
    );
}

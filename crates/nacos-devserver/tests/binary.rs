//! The standalone binary: arguments, start on a free port, a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

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

/// SIGTERM stops the server cleanly: it logs the stop and exits 0.
#[cfg(unix)]
#[test]
fn sigterm_stops_cleanly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nacos-devserver"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--health-timeout",
            "500ms",
            "--expire-timeout",
            "1s",
        ])
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = lines.next().unwrap().unwrap();
    assert!(
        listening.contains("listening on http://127.0.0.1:"),
        "{listening}"
    );
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

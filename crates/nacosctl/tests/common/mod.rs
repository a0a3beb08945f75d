//! Running the real `nacosctl` binary, with its environment cleared, against servers on
//! loopback.

#![allow(dead_code)] // Each test file uses its own part of these fixtures.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use nacos_devserver::{DevServer, DevServerBuilder};

/// How long any awaited condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A devserver on a free port of 127.0.0.1, with the defaults the tests need.
pub fn devserver() -> DevServer {
    devserver_with(DevServer::builder())
}

/// A devserver from `builder`, bound to a free port of 127.0.0.1.
pub fn devserver_with(builder: DevServerBuilder) -> DevServer {
    builder
        .bind("127.0.0.1:0")
        .start()
        .expect("start nacos-devserver")
}

/// `nacosctl` with an empty environment but `NACOS_SERVER_ADDR=server`.
pub fn nacosctl(server: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nacosctl"));
    cmd.env_clear().env("NACOS_SERVER_ADDR", server);
    cmd
}

/// What a finished run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The exit code (a run ended by a signal has none: the test fails).
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("ended by a signal: {self:?}"))
    }

    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code(), 0, "{self:#?}");
        assert_eq!(self.stderr, "", "nothing on stderr on success: {self:#?}");
        &self.stdout
    }

    /// Asserts a failure with `code`, nothing on stdout and exactly one line on stderr;
    /// returns that line.
    pub fn fails(&self, code: i32) -> &str {
        assert_eq!(self.code(), code, "{self:#?}");
        assert_eq!(self.stdout, "", "nothing on stdout on failure: {self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:#?}");
        assert!(lines[0].starts_with("error: "), "{self:#?}");
        lines[0]
    }

    /// Stdout's lines, each parsed as one JSON object.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        json_lines(self.ok())
    }

    /// Stdout as exactly one JSON object.
    pub fn json(&self) -> serde_json::Value {
        let mut lines = self.json_lines();
        assert_eq!(lines.len(), 1, "one JSON object: {self:#?}");
        lines.remove(0)
    }
}

/// Each line of `text` parsed as a JSON object.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
            assert!(v.is_object(), "{line}");
            v
        })
        .collect()
}

/// Runs `nacosctl args…` against `server` and waits for it.
pub fn run(server: &str, args: &[&str]) -> Run {
    let out = nacosctl(server)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run nacosctl");
    Run {
        status: out.status,
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// A `nacosctl` left running (watch, register --keep-alive), its stdout read line by line.
/// Killed when dropped, so a failing test leaves no process behind.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// Starts `nacosctl args…` against `server`.
    pub fn start(server: &str, args: &[&str]) -> Running {
        let mut child = nacosctl(server)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nacosctl");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line of stdout that satisfies `wanted`, waiting at most [`DEADLINE`]; panics
    /// with every line seen when none comes.
    pub fn line_where(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no such line within {DEADLINE:?}; saw {:#?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    let mut stderr = String::new();
                    if let Some(mut e) = self.child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
                    }
                    panic!(
                        "stdout closed ({status:?}); saw {:#?}; stderr {stderr:?}",
                        self.seen
                    )
                }
            }
        }
    }

    /// Sends `signal` (`TERM`, `INT`) with `kill`, and waits for the process to end within
    /// [`DEADLINE`]; returns its status, the rest of its stdout and its stderr.
    pub fn signal_and_wait(mut self, signal: &str) -> Run {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} failed");
        let end = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for nacosctl") {
                break status;
            }
            assert!(
                Instant::now() < end,
                "nacosctl still running {DEADLINE:?} after SIG{signal}"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stdout = String::new();
        while let Ok(line) = self.lines.recv_timeout(DEADLINE) {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            std::io::Read::read_to_string(&mut e, &mut stderr).expect("read stderr");
        }
        Run {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! The real binary where a user could be surprised: what it warns about, where it says an
//! instance is, the hints on its errors, the states a watch goes through, and the formats and
//! syntaxes that must read back the same.

mod common;

use std::net::TcpListener;
use std::process::{Command, Stdio};

use common::{devserver, devserver_with, json_lines, run, Running};
use nacos_devserver::DevServer;

fn addr(server: &DevServer) -> String {
    server.addr().to_string()
}

/// `register` of an ephemeral instance without --keep-alive warns on a terminal that the
/// server will drop it, and stays quiet in a pipe and for --keep-alive's cousin --persistent.
#[test]
fn an_ephemeral_registration_warns_on_a_terminal() {
    let server = devserver();
    let s = addr(&server);
    let piped = run(&s, &["register", "svc", "10.0.0.1", "80"]);
    assert_eq!(piped.ok().lines().count(), 1, "no note in a pipe");

    // `script` gives the command a terminal; its output is the terminal's.
    let binary = env!("CARGO_BIN_EXE_nacosctl");
    let line = |args: &str| {
        let out = Command::new("script")
            .args([
                "-qec",
                &format!("{binary} -s {s} register {args}"),
                "/dev/null",
            ])
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(out) if out.status.success() => {
                Some(String::from_utf8_lossy(&out.stdout).into_owned())
            }
            _ => None,
        }
    };
    let Some(ephemeral) = line("svc 10.0.0.2 80") else {
        eprintln!("skipped: `script` (util-linux) cannot give the command a terminal here");
        return;
    };
    assert!(
        ephemeral.contains("removes it after its timeout") && ephemeral.contains("--keep-alive"),
        "{ephemeral}"
    );
    // Another service: from 2.x on a service holds one kind of instance.
    let persistent = line("kept 10.0.0.3 80 --persistent").expect("script ran before");
    assert!(!persistent.contains("removes it"), "{persistent}");
}

/// `deregister` of an instance that is not there fails (servers would answer "ok"), naming
/// the cluster or group it is in; `modify` and `get` name it too.
#[test]
fn a_missing_instance_is_named_where_it_is() {
    let server = devserver();
    let s = &addr(&server);
    run(s, &["register", "svc", "10.0.0.1", "80", "-c", "blue"]).ok();
    run(s, &["register", "svc", "10.0.0.2", "80", "-g", "shop"]).ok();

    let line = run(s, &["deregister", "svc", "10.0.0.1", "80"])
        .fails(4)
        .to_owned();
    assert_eq!(
        line,
        "error: cannot deregister svc 10.0.0.1:80: no such instance in cluster DEFAULT of \
         group DEFAULT_GROUP; it is in cluster blue"
    );
    let line = run(s, &["modify", "svc", "10.0.0.1", "80", "-w", "2"])
        .fails(4)
        .to_owned();
    assert!(line.contains("it is in cluster blue"), "{line}");
    let line = run(s, &["get", "svc", "10.0.0.1", "80"])
        .fails(4)
        .to_owned();
    assert!(
        line.contains("404") && line.contains("it is in cluster blue"),
        "{line}"
    );

    let line = run(s, &["deregister", "svc", "10.0.0.2", "80", "-g", "other"])
        .fails(4)
        .to_owned();
    assert!(
        line.contains("no such instance in any cluster of group other"),
        "{line}"
    );
    let line = run(s, &["deregister", "svc", "10.9.9.9", "80"])
        .fails(4)
        .to_owned();
    assert!(
        line.ends_with("no such instance in any cluster of group DEFAULT_GROUP"),
        "{line}"
    );

    // Where it is, it goes.
    run(s, &["deregister", "svc", "10.0.0.1", "80", "-c", "blue"]).ok();
}

/// Errors carry what to do: credentials for a 403, http:// for a server without TLS; an
/// unreachable server is named once with its number of tries.
#[test]
fn errors_say_what_to_do() {
    let server = devserver_with(DevServer::builder().auth("nacos", "pw"));
    let s = &addr(&server);
    let line = run(s, &["list", "svc"]).fails(4).to_owned();
    assert!(
        line.contains("403") && line.contains("pass --username and --password"),
        "{line}"
    );

    let plain = devserver();
    let https = format!("https://{}", addr(&plain));
    let line = run(&https, &["list", "svc"]).fails(5).to_owned();
    assert!(
        line.contains("the server does not speak TLS: use http://"),
        "{line}"
    );

    let closed = free_port();
    let line = run(&format!("127.0.0.1:{closed}"), &["list", "svc"])
        .fails(5)
        .to_owned();
    assert_eq!(
        line.matches(&format!("127.0.0.1:{closed}")).count(),
        1,
        "the server once: {line}"
    );
    assert!(line.contains("(3 tries)"), "{line}");

    let help = run(s, &["--help"]);
    assert!(help.ok().contains("a lone server is tried three times"));
}

/// Metadata from repeated --metadata (commas kept in values) or --metadata-json is shown as
/// JSON that --metadata-json reads back to the same instance.
#[test]
fn metadata_reads_back_the_same() {
    let server = devserver();
    let s = &addr(&server);
    run(
        s,
        &[
            "register",
            "svc",
            "10.0.0.1",
            "80",
            "-m",
            "zones=a,b",
            "-m",
            "expr=x=1",
        ],
    )
    .ok();
    let table = run(s, &["list", "svc"]);
    let shown = table
        .ok()
        .lines()
        .nth(1)
        .unwrap()
        .rsplit("  ")
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(shown, r#"{"expr":"x=1","zones":"a,b"}"#);

    run(
        s,
        &[
            "register",
            "svc",
            "10.0.0.2",
            "80",
            "--metadata-json",
            &shown,
        ],
    )
    .ok();
    let listed = run(s, &["list", "svc", "-o", "json"]).json();
    let hosts = listed["hosts"].as_array().unwrap();
    assert_eq!(hosts[0]["metadata"], hosts[1]["metadata"], "{listed}");
}

/// IPs sort as addresses; `-o wide` adds the service, group and instance id; `-o yaml` has
/// the JSON's fields.
#[test]
fn lists_sort_by_address_in_every_format() {
    let server = devserver();
    let s = &addr(&server);
    for ip in ["10.0.0.10", "10.0.0.9", "9.0.0.1"] {
        run(s, &["register", "svc", ip, "80"]).ok();
    }
    let table = run(s, &["list", "svc"]);
    let ips: Vec<&str> = table
        .ok()
        .lines()
        .skip(1)
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(ips, ["9.0.0.1", "10.0.0.9", "10.0.0.10"]);

    let wide = run(s, &["list", "svc", "-o", "wide"]);
    let header = wide.ok().lines().next().unwrap().to_owned();
    assert!(
        header.starts_with("SERVICE  GROUP") && header.contains("INSTANCE_ID"),
        "{header}"
    );
    assert!(wide
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("svc      DEFAULT_GROUP  9.0.0.1"));

    let yaml = run(s, &["list", "svc", "-o", "yaml"]);
    let text = yaml.ok();
    assert!(
        text.starts_with("---\nserviceName: svc\ngroupName: DEFAULT_GROUP\n"),
        "{text}"
    );
    let first = text.find("ip: 9.0.0.1").unwrap();
    assert!(first < text.find("ip: 10.0.0.9").unwrap() && text.contains("clusterName: DEFAULT"));
}

/// `services` shows each service's instance and healthy counts.
#[test]
fn services_have_counts() {
    let server = devserver();
    let s = &addr(&server);
    // Both persistent: from 2.x on a service holds one kind of instance.
    run(s, &["register", "a", "10.0.0.1", "80", "--persistent"]).ok();
    run(
        s,
        &[
            "register",
            "a",
            "10.0.0.2",
            "80",
            "--persistent",
            "--unhealthy",
        ],
    )
    .ok();
    run(s, &["register", "b", "10.0.0.1", "80"]).ok();
    let page = run(s, &["services", "-o", "json"]).json();
    let mut services = page["services"].as_array().unwrap().clone();
    services.sort_by_key(|v| v["serviceName"].as_str().unwrap().to_owned());
    assert_eq!(
        services,
        [
            serde_json::json!({"serviceName": "a", "instances": 2, "healthy": 1}),
            serde_json::json!({"serviceName": "b", "instances": 1, "healthy": 1}),
        ]
    );
}

/// `completions` prints clap's script for each shell, naming the subcommands.
#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run("127.0.0.1:1", &["completions", shell]);
        let script = out.ok();
        assert!(
            script.contains("deregister") && script.contains("metadata-json"),
            "{shell}"
        );
    }
}

/// `watch` says when a service has no instances yet, when the server goes away, and when
/// it answers again; with -o json as events of their own kind.
#[test]
fn watch_reports_what_stands_in_its_way() {
    let server = devserver();
    let bound = server.addr();
    let s = bound.to_string();
    let mut watch = Running::start(
        &s,
        &[
            "watch",
            "fresh",
            "-o",
            "json",
            "--poll-interval",
            "100ms",
            "--timeout",
            "200ms",
        ],
    );
    let empty = &json_lines(&watch.line_where(|l| l.contains("\"event\":\"empty\"")))[0];
    assert_eq!(empty["serviceName"], "fresh");
    assert_eq!(empty["message"], "no instances of fresh yet");

    server.shutdown().unwrap();
    let down = &json_lines(&watch.line_where(|l| l.contains("\"event\":\"unreachable\"")))[0];
    assert!(
        down["message"]
            .as_str()
            .unwrap()
            .contains("no server answered"),
        "{down}"
    );

    // The same port again: the watch recovers by itself.
    let _again = DevServer::builder()
        .bind(bound)
        .start()
        .expect("the same port again");
    let up = &json_lines(&watch.line_where(|l| l.contains("\"event\":\"recovered\"")))[0];
    assert_eq!(up["groupName"], "DEFAULT_GROUP");
    assert_eq!(watch.signal_and_wait("TERM").code(), 0);

    // A server that wants credentials: a line that says so, in the table format.
    let guarded = devserver_with(DevServer::builder().auth("nacos", "pw"));
    let mut watch = Running::start(
        &addr(&guarded),
        &["watch", "svc", "--poll-interval", "100ms"],
    );
    let refused = watch.line_where(|l| l.starts_with("refused"));
    assert!(
        refused.contains("pass --username and --password"),
        "{refused}"
    );
}

/// `list --watch` prints the table, then each change as a line, as `kubectl get -w` does.
#[test]
fn list_watch_prints_the_table_then_changes() {
    let server = devserver();
    let s = addr(&server);
    run(&s, &["register", "svc", "10.0.0.1", "80", "--persistent"]).ok();
    let mut watch = Running::start(&s, &["list", "svc", "--watch", "--poll-interval", "100ms"]);
    assert!(watch.line_where(|_| true).starts_with("IP "));
    assert!(watch.line_where(|_| true).starts_with("10.0.0.1 "));
    run(&s, &["register", "svc", "10.0.0.2", "80", "--persistent"]).ok();
    let added = watch.line_where(|l| !l.is_empty());
    assert!(
        added.starts_with("added     10.0.0.2:80"),
        "only the change: {added}"
    );
    let end = watch.signal_and_wait("TERM");
    assert_eq!(end.code(), 0, "{end:?}");
    assert!(
        !end.stdout.contains("10.0.0.1:80"),
        "the listed instance is not added again"
    );
}

fn free_port() -> u16 {
    // Bound and released: nothing listens there while the test runs.
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server address may carry the server's context path: `/nacos` works as no path does, and
/// another path is where the requests go.
#[test]
fn server_addresses_take_a_context_path() {
    let server = devserver();
    let with_default = format!("http://{}/nacos", addr(&server));
    run(&with_default, &["register", "svc", "10.0.0.1", "80"]).ok();
    let listed = run(&with_default, &["list", "svc", "-o", "json"]).json();
    assert_eq!(listed["hosts"][0]["ip"], "10.0.0.1");

    // The devserver serves /nacos only: its 404 shows where the request went.
    let elsewhere = format!("http://{}/nacos-server/", addr(&server));
    let line = run(&elsewhere, &["list", "svc"]).fails(4).to_owned();
    assert!(line.contains("/nacos-server/v1/ns/instance/list"), "{line}");
}

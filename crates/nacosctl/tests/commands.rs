//! Every one-shot subcommand of the real binary against an in-process nacos-devserver, in both
//! output formats, and every kind of failure with its exit status.

mod common;

use common::{devserver, devserver_with, json_lines, nacosctl, run};
use nacos_devserver::DevServer;
use serde_json::Value;

/// The lines of a table: its header, then each row split into cells.
fn table(stdout: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = stdout.lines().map(|l| {
        l.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    let header = lines.next().expect("a header row");
    (header, lines.collect())
}

/// Columns line up: each header title starts where its cells start.
fn assert_aligned(stdout: &str) {
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines[0];
    let starts: Vec<usize> = header
        .split_whitespace()
        .map(|title| header.find(title).unwrap())
        .collect();
    for line in &lines[1..] {
        for &start in &starts[1..] {
            assert!(
                line.len() > start
                    && &line[start - 2..start] == "  "
                    && &line[start..=start] != " ",
                "column at {start} not aligned in {line:?}\n{stdout}"
            );
        }
    }
}

fn addr(server: &DevServer) -> String {
    server.addr().to_string()
}

/// register, list, get, modify and deregister, as tables, with every flag of the seed.
#[test]
fn the_instance_lifecycle_in_tables() {
    let server = devserver();
    let s = &addr(&server);
    let out = run(
        s,
        &[
            "register",
            "user-service",
            "192.168.1.100",
            "8080",
            "--cluster",
            "production",
            "--group",
            "microservices",
            "--weight",
            "1.5",
            "--metadata",
            "version=1.0.0",
            "--metadata",
            "zone=us-west-1a",
            "--persistent",
        ],
    );
    assert_eq!(
        out.ok(),
        "registered user-service 192.168.1.100:8080 (cluster production, group microservices)\n"
    );
    run(
        s,
        &[
            "register",
            "user-service",
            "192.168.1.101",
            "8080",
            "-g",
            "microservices",
            "--persistent",
        ],
    )
    .ok();

    let listed = run(s, &["list", "user-service", "--group", "microservices"]);
    let (header, rows) = table(listed.ok());
    assert_eq!(
        header,
        [
            "IP",
            "PORT",
            "CLUSTER",
            "WEIGHT",
            "HEALTHY",
            "ENABLED",
            "EPHEMERAL",
            "METADATA"
        ]
    );
    assert_eq!(rows.len(), 2, "{}", listed.stdout);
    let row = rows
        .iter()
        .find(|r| r[0] == "192.168.1.100")
        .expect("registered row");
    assert_eq!(
        row,
        &[
            "192.168.1.100",
            "8080",
            "production",
            "1.5",
            "true",
            "true",
            "false",
            r#"{"version":"1.0.0","zone":"us-west-1a"}"#
        ]
    );
    assert_aligned(&listed.stdout);

    // The cluster filter of the seed's `clusters` keyword.
    let filtered = run(
        s,
        &[
            "list",
            "user-service",
            "-g",
            "microservices",
            "--clusters",
            "production,staging",
        ],
    );
    assert_eq!(table(filtered.ok()).1.len(), 1, "{}", filtered.stdout);

    let got = run(
        s,
        &[
            "get",
            "user-service",
            "192.168.1.100",
            "8080",
            "--cluster",
            "production",
            "--group",
            "microservices",
        ],
    );
    let (_, rows) = table(got.ok());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][3], "1.5");

    let modified = run(
        s,
        &[
            "modify",
            "user-service",
            "192.168.1.100",
            "8080",
            "-c",
            "production",
            "-g",
            "microservices",
            "--weight",
            "2",
            "--metadata",
            "status=updated",
        ],
    );
    assert_eq!(
        modified.ok(),
        "modified user-service 192.168.1.100:8080 (cluster production, group microservices)\n"
    );
    let got = run(
        s,
        &[
            "get",
            "user-service",
            "192.168.1.100",
            "8080",
            "-c",
            "production",
            "-g",
            "microservices",
        ],
    );
    let (_, rows) = table(got.ok());
    assert_eq!(rows[0][3], "2");
    // The devserver's default line is 2.x: the modify's metadata is laid over the
    // registration's.
    assert_eq!(
        rows[0][7],
        r#"{"status":"updated","version":"1.0.0","zone":"us-west-1a"}"#
    );
    assert_eq!(rows[0][5], "true", "enabled is kept when not named");

    // Disabled instances leave the list; the other flags are kept.
    run(
        s,
        &[
            "modify",
            "user-service",
            "192.168.1.100",
            "8080",
            "-c",
            "production",
            "-g",
            "microservices",
            "--disabled",
        ],
    )
    .ok();
    let listed = run(s, &["list", "user-service", "-g", "microservices"]);
    let (_, rows) = table(listed.ok());
    assert!(
        rows.iter().all(|r| r[0] != "192.168.1.100"),
        "{}",
        listed.stdout
    );

    let removed = run(
        s,
        &[
            "deregister",
            "user-service",
            "192.168.1.100",
            "8080",
            "-c",
            "production",
            "-g",
            "microservices",
            "--persistent",
        ],
    );
    assert_eq!(
        removed.ok(),
        "deregistered user-service 192.168.1.100:8080 (cluster production, group microservices)\n"
    );
    run(
        s,
        &[
            "deregister",
            "user-service",
            "192.168.1.101",
            "8080",
            "-g",
            "microservices",
            "--persistent",
        ],
    )
    .ok();
    let listed = run(s, &["list", "user-service", "-g", "microservices"]);
    assert_eq!(
        listed.ok(),
        "IP  PORT  CLUSTER  WEIGHT  HEALTHY  ENABLED  EPHEMERAL  METADATA\n",
        "an empty list is a header alone"
    );
}

/// The same calls with `--output json`: one stable object per line, in the Nacos wire form.
#[test]
fn the_instance_lifecycle_in_json() {
    let server = devserver();
    let s = &addr(&server);
    let registered = run(
        s,
        &[
            "-o",
            "json",
            "register",
            "svc",
            "10.0.0.1",
            "80",
            "-m",
            "k=v",
            "-w",
            "3",
            "--namespace",
            "dev",
        ],
    )
    .json();
    assert_eq!(
        registered,
        serde_json::json!({
            "result": "registered", "serviceName": "svc", "groupName": "DEFAULT_GROUP",
            "clusterName": "DEFAULT", "ip": "10.0.0.1", "port": 80
        })
    );

    // The namespace is honoured: the instance is in `dev`, not in `public`.
    let public = run(s, &["list", "svc", "--output", "json"]).json();
    assert_eq!(public["hosts"], serde_json::json!([]));
    let listed = run(s, &["list", "svc", "--output", "json", "-n", "dev"]).json();
    let hosts = listed["hosts"].as_array().expect("hosts");
    assert_eq!(hosts.len(), 1, "{listed}");
    assert_eq!(hosts[0]["ip"], "10.0.0.1");
    assert_eq!(hosts[0]["port"], 80);
    assert_eq!(hosts[0]["weight"], 3.0);
    assert_eq!(hosts[0]["metadata"], serde_json::json!({"k": "v"}));
    assert_eq!(hosts[0]["ephemeral"], true);
    // The same names as `get` and `watch`: the plain service name and its group.
    assert_eq!(listed["serviceName"], "svc", "{listed}");
    assert_eq!(listed["groupName"], "DEFAULT_GROUP", "{listed}");
    assert_eq!(hosts[0]["serviceName"], "svc", "{listed}");

    let got = run(
        s,
        &["get", "svc", "10.0.0.1", "80", "-o", "json", "-n", "dev"],
    )
    .json();
    assert_eq!(got["clusterName"], "DEFAULT");
    assert_eq!(got["healthy"], true);
    assert_eq!(got, hosts[0], "get and list show an instance alike");

    let modified = run(
        s,
        &[
            "modify",
            "svc",
            "10.0.0.1",
            "80",
            "-o",
            "json",
            "-n",
            "dev",
            "--disabled",
        ],
    )
    .json();
    assert_eq!(modified["result"], "modified");
    let listed = run(s, &["list", "svc", "-o", "json", "-n", "dev"]).json();
    assert_eq!(
        listed["hosts"],
        serde_json::json!([]),
        "disabled: not listed"
    );

    let removed = run(
        s,
        &[
            "deregister",
            "svc",
            "10.0.0.1",
            "80",
            "-o",
            "json",
            "-n",
            "dev",
        ],
    )
    .json();
    assert_eq!(removed["result"], "deregistered");
    assert_eq!(removed["port"], 80);
}

/// `beat` prints the server's answer: its interval, code and light-beat flag.
#[test]
fn beat_prints_the_server_answer() {
    let server =
        devserver_with(DevServer::builder().beat_interval(std::time::Duration::from_millis(1234)));
    let s = &addr(&server);
    run(s, &["register", "svc", "10.0.0.2", "81"]).ok();
    let beat = run(
        s,
        &[
            "beat",
            "svc",
            "10.0.0.2",
            "81",
            "-o",
            "json",
            "-m",
            "status=running",
            "-w",
            "1.5",
        ],
    )
    .json();
    assert_eq!(beat["clientBeatInterval"], 1234);
    assert_eq!(beat["code"], 10200);
    assert!(beat["lightBeatEnabled"].is_boolean());

    let beat = run(s, &["beat", "svc", "10.0.0.2", "81"]);
    let (header, rows) = table(beat.ok());
    assert_eq!(
        header,
        ["CLIENT_BEAT_INTERVAL", "CODE", "LIGHT_BEAT_ENABLED"]
    );
    assert_eq!(rows[0][..2], ["1234ms".to_owned(), "10200".to_owned()]);
}

/// `services` pages through the service names of a group.
#[test]
fn services_are_listed_a_page_at_a_time() {
    let server = devserver();
    let s = &addr(&server);
    for name in ["alpha", "beta", "gamma"] {
        run(s, &["register", name, "10.0.0.3", "82", "-g", "shop"]).ok();
    }
    run(s, &["register", "other", "10.0.0.3", "82"]).ok();

    let first = run(
        s,
        &["services", "-g", "shop", "--page-size", "2", "-o", "json"],
    )
    .json();
    assert_eq!(first["count"], 3);
    assert_eq!(first["page"], 1);
    assert_eq!(first["pageSize"], 2);
    assert_eq!(first["groupName"], "shop");
    let second = run(
        s,
        &[
            "services",
            "-g",
            "shop",
            "--page-size",
            "2",
            "--page",
            "2",
            "-o",
            "json",
        ],
    )
    .json();
    let mut names: Vec<Value> = first["services"].as_array().unwrap().clone();
    names.extend(second["services"].as_array().unwrap().iter().cloned());
    let mut names: Vec<String> = names
        .iter()
        .map(|v| v["serviceName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["alpha", "beta", "gamma"]);

    let all = run(s, &["services", "-g", "shop"]);
    let (header, rows) = table(all.ok());
    assert_eq!(header, ["SERVICE", "INSTANCES", "HEALTHY"]);
    assert_eq!(rows.len(), 3);
    let default_group = run(s, &["services"]);
    assert_eq!(table(default_group.ok()).1[0][0], "other");
}

/// `servers` tells, per server, whether it answers, its API and version; a silent one fails
/// the run. `--api` pins the API: v1 works on the devserver's V1 API, v3 does not.
#[test]
fn servers_shows_each_servers_api_and_api_pins_it() {
    let server = devserver();
    let silent = format!("127.0.0.1:{}", nacos_test_support::free_port());
    let s = &addr(&server);
    let reports = run(s, &["servers", "-o", "json"]).json();
    assert_eq!(reports["server"], s.as_str());
    assert_eq!(reports["answered"], true);
    assert_eq!(reports["api"], "V1");
    assert!(reports["round_trip_ms"].as_f64().is_some(), "{reports}");
    let (header, rows) = table(run(s, &["servers"]).ok());
    assert_eq!(&header[..3], ["SERVER", "ANSWERS", "API"]);
    assert_eq!(
        (rows[0][0].as_str(), rows[0][1].as_str()),
        (s.as_str(), "yes")
    );
    let both = run(&format!("{s},{silent}"), &["servers", "-o", "json"]);
    assert!(!both.status.success());
    let lines = json_lines(&both.stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["answered"], false);
    assert!(both.stderr.contains(&silent), "{}", both.stderr);

    run(s, &["register", "svc", "10.0.0.9", "80", "--api", "v1"]).ok();
    assert_eq!(
        run(s, &["list", "svc", "--api", "v1", "-o", "json"]).json()["hosts"][0]["ip"],
        "10.0.0.9"
    );
    let pinned = run(s, &["list", "svc", "--api", "v3"]);
    assert!(
        !pinned.status.success(),
        "the devserver's V1 mode has no v3 list"
    );
    let bad = run(s, &["list", "svc", "--api", "v2"]);
    assert_eq!(bad.status.code(), Some(2), "{}", bad.stderr);
}

/// `select` picks a healthy, enabled instance of weight above 0, and tells when none is.
#[test]
fn select_picks_a_qualifying_instance() {
    let server = devserver();
    let s = &addr(&server);
    run(s, &["register", "svc", "10.0.0.4", "83", "--weight", "0"]).ok();
    let none = run(s, &["select", "svc"]);
    let line = none.fails(6);
    assert!(line.contains("cannot select an instance of svc"), "{line}");

    run(
        s,
        &["register", "svc", "10.0.0.5", "84", "--cluster", "blue"],
    )
    .ok();
    for _ in 0..5 {
        let picked = run(s, &["select", "svc", "-o", "json"]).json();
        assert_eq!(
            (picked["ip"].as_str(), picked["port"].as_u64()),
            (Some("10.0.0.5"), Some(84))
        );
    }
    let picked = run(s, &["select", "svc", "--clusters", "blue"]);
    let (_, rows) = table(picked.ok());
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0][..3],
        ["10.0.0.5".to_owned(), "84".to_owned(), "blue".to_owned()]
    );
}

/// A server that is not there: status 5, one line naming the call and the server.
#[test]
fn an_unreachable_server_exits_5() {
    let port = nacos_test_support::free_port();
    let s = format!("127.0.0.1:{port}");
    for args in [
        &["list", "svc"][..],
        &["register", "svc", "10.0.0.1", "80"],
        &["get", "svc", "10.0.0.1", "80", "-o", "json"],
        &["services"],
        &["select", "svc"],
    ] {
        let out = run(&s, args);
        let line = out.fails(5);
        assert!(line.contains(&s), "{line}");
        assert!(line.contains("cannot "), "{line}");
    }
}

/// A server's refusal: status 4 and the server's own reason, on one line.
#[test]
fn a_server_refusal_exits_4_with_the_server_reason() {
    let server = devserver();
    let s = &addr(&server);
    let out = run(s, &["get", "svc", "10.9.9.9", "99"]);
    let line = out.fails(4);
    assert!(
        line.starts_with("error: cannot get svc 10.9.9.9:99: server "),
        "{line}"
    );
    assert!(line.contains("404"), "{line}");
    // Modify reads the instance first: the same refusal, named as a modification.
    let line = run(s, &["modify", "svc", "10.9.9.9", "99", "-w", "2"])
        .fails(4)
        .to_owned();
    assert!(
        line.starts_with("error: cannot modify svc 10.9.9.9:99: "),
        "{line}"
    );
}

/// Bad values the client refuses before sending: status 3, naming the parameter.
#[test]
fn invalid_parameters_exit_3() {
    let server = devserver();
    let s = &addr(&server);
    for (args, param) in [
        (&["register", "svc", "10.0.0.1", "0"][..], "port"),
        (
            &[
                "register",
                "svc",
                "10.0.0.1",
                "80",
                "--cluster",
                "bad_cluster",
            ],
            "cluster_name",
        ),
        (
            &["register", "svc", "10.0.0.1", "80", "--weight", "10001"],
            "weight",
        ),
        (&["modify", "svc", "10.0.0.1", "80", "-w", "-1"], "weight"),
        (
            &[
                "register",
                "svc",
                "10.0.0.1",
                "80",
                "--metadata-json",
                r#"{"":"v"}"#,
            ],
            "metadata",
        ),
        (&["register", "svc", "not an ip", "80"], "ip"),
        (&["list", " "], "service_name"),
        (&["list", "svc", "--group", "a@@b"], "group_name"),
        (
            &["get", "svc", "10.0.0.1", "80", "--namespace", " "],
            "namespace",
        ),
    ] {
        let out = run(s, args);
        let line = out.fails(3);
        assert!(
            line.contains(&format!("invalid {param}")),
            "{args:?}: {line}"
        );
    }
    let out = run("127.0.0.1:0", &["list", "svc"]);
    assert!(out.fails(3).contains("server_addresses"), "{out:?}");
}

/// Malformed command lines: clap's status 2, before anything is sent.
#[test]
fn usage_errors_exit_2() {
    let s = "127.0.0.1:1";
    for args in [
        &["register", "svc", "10.0.0.1"][..],
        &["register", "svc", "10.0.0.1", "port"],
        &["register", "svc", "10.0.0.1", "70000"],
        &["register", "svc", "10.0.0.1", "80", "--metadata", "novalue"],
        &["register", "svc", "10.0.0.1", "80", "--metadata", "=v"],
        &["register", "svc", "10.0.0.1", "80", "--beat-interval", "1s"],
        &["list", "svc", "--output", "xml"],
        &["list", "svc", "--timeout", "3 parsecs"],
        &["list", "svc", "--timeout", "3"],
        &[
            "register",
            "svc",
            "10.0.0.1",
            "80",
            "--enabled",
            "--disabled",
        ],
        &[
            "register",
            "svc",
            "10.0.0.1",
            "80",
            "--ephemeral",
            "--persistent",
        ],
        &[
            "register",
            "svc",
            "10.0.0.1",
            "80",
            "--healthy",
            "--unhealthy",
        ],
        &["modify", "svc", "10.0.0.1", "80", "--metadata", "a=1,b=2"],
        &[
            "modify",
            "svc",
            "10.0.0.1",
            "80",
            "--metadata",
            "a=1",
            "--metadata",
            "a=2",
        ],
        &[
            "register",
            "svc",
            "10.0.0.1",
            "80",
            "--metadata-json",
            "[1]",
        ],
        &[
            "register",
            "svc",
            "10.0.0.1",
            "80",
            "-m",
            "a=1",
            "--metadata-json",
            "{}",
        ],
        &["list", "svc", "--poll-interval", "1s"],
        &["completions", "tcsh"],
        &["services", "--page", "0"],
        &["frobnicate"],
        &[],
    ] {
        let out = run(s, args);
        assert_eq!(out.code(), 2, "{args:?}: {out:?}");
        assert_eq!(out.stdout, "", "{args:?}");
        if args.is_empty() {
            assert!(out.stderr.contains("Usage:"), "help: {}", out.stderr);
        } else {
            assert!(
                out.stderr.starts_with("error: "),
                "{args:?}: {}",
                out.stderr
            );
        }
    }
}

/// Every subcommand's `--help` shows an example and the exit statuses.
#[test]
fn every_subcommand_has_help_with_an_example() {
    for command in [
        "register",
        "deregister",
        "modify",
        "list",
        "get",
        "beat",
        "watch",
        "services",
        "select",
    ] {
        let help = run("127.0.0.1:1", &[command, "--help"]);
        let text = help.ok();
        assert!(
            text.contains(&format!("nacosctl {command} ")),
            "{command}: {text}"
        );
        assert!(text.contains("Examples:"), "{command}");
        assert!(text.contains("4  refused by the server"), "{command}");
        assert!(text.contains("NACOS_SERVER_ADDR"), "{command}");
    }
    let top = run("127.0.0.1:1", &["--help"]);
    assert!(top.ok().contains("Exit status:"));
}

/// Logging in: the right password works, a wrong one is the server's 403, and the password
/// is printed nowhere, not in errors and not by `--help` when it comes from the environment.
#[test]
fn the_password_is_never_printed() {
    let server = devserver_with(DevServer::builder().auth("nacos", "s3cret-pw"));
    let s = &addr(&server);
    let ok = nacosctl(s)
        .args(["register", "svc", "10.0.0.6", "86", "--username", "nacos"])
        .env("NACOS_PASSWORD", "s3cret-pw")
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let listed = nacosctl(s)
        .args(["list", "svc", "-o", "json"])
        .env("NACOS_USERNAME", "nacos")
        .env("NACOS_PASSWORD", "s3cret-pw")
        .output()
        .unwrap();
    assert!(listed.status.success(), "{listed:?}");
    let listed = json_lines(std::str::from_utf8(&listed.stdout).unwrap());
    assert_eq!(listed[0]["hosts"][0]["port"], 86);

    let refused = run(
        s,
        &[
            "list",
            "svc",
            "--username",
            "nacos",
            "--password",
            "wrong-pw",
        ],
    );
    let line = refused.fails(4);
    assert!(line.contains("403"), "{line}");
    assert!(!line.contains("wrong-pw"), "{line}");

    let anonymous = run(s, &["list", "svc"]);
    assert!(anonymous.fails(4).contains("403"));

    // The most verbose log names the calls, never the password or the token.
    let traced = run(
        s,
        &[
            "-vvv",
            "list",
            "svc",
            "--username",
            "nacos",
            "--password",
            "s3cret-pw",
        ],
    );
    assert!(traced.status.success(), "{traced:?}");
    assert!(traced.stderr.contains("/nacos/v1/auth/login"), "{traced:?}");
    assert!(!traced.stderr.contains("s3cret-pw"), "{}", traced.stderr);
    assert!(!traced.stderr.contains("accessToken"), "{}", traced.stderr);

    let help = nacosctl(s)
        .args(["list", "--help"])
        .env("NACOS_PASSWORD", "s3cret-pw")
        .env("NACOS_SECRET_KEY", "sk-s3cret")
        .output()
        .unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("NACOS_PASSWORD"), "{text}");
    assert!(
        !text.contains("s3cret-pw") && !text.contains("sk-s3cret"),
        "{text}"
    );
}

/// With stderr a pipe nobody reads any more, a failure still ends with its exit code, not a
/// panic over the message it could not print.
#[cfg(target_os = "linux")]
#[test]
fn a_closed_stderr_does_not_turn_a_failure_into_a_panic() {
    // A FIFO opened for reading and writing, then its reading end closed: a write fails with
    // EPIPE every time, with no race against a reader exiting.
    let script = r#"f=$(mktemp -u) && mkfifo "$f" && exec 3<>"$f" 4>"$f" && rm "$f" && exec 3<&- && exec "$0" "$@" 2>&4 >/dev/null"#;
    let status = std::process::Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_nacosctl")])
        .args(["--server", "127.0.0.1:1", "list", "svc"])
        .env_clear()
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(5), "{status:?}");
}

//! The web console's page and calls over HTTP, on every server line and in auth mode (the
//! browser test, `console.rs`, drives the page itself).

mod common;

use common::Api;
use nacos_devserver::{DevServer, NacosVersion};
use serde_json::Value;

const INSTANCE: &str = "/nacos/console-api/instance";

fn instances(api: &Api, service: &str) -> Vec<Value> {
    let view = api.json(
        "GET",
        "/nacos/console-api/instances",
        &[("serviceName", service)],
    );
    view["instances"].as_array().unwrap().clone()
}

/// On each line the page is served, `/nacos` leads to it, and the console registers, modifies
/// and deregisters through its own calls, though 3.2 serves no V1 naming path and 3.1 refuses
/// the V1 modify.
#[test]
fn the_console_works_on_every_line() {
    for version in [
        NacosVersion::V1_4,
        NacosVersion::V2,
        NacosVersion::V3_1,
        NacosVersion::V3_2,
    ] {
        let api = Api::with(DevServer::builder().nacos_version(version));
        let base = format!("http://{}", api.server.addr());
        let no_redirects: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let redirect = no_redirects.get(format!("{base}/nacos")).call().unwrap();
        assert_eq!(redirect.status(), 301, "{version}");
        assert_eq!(redirect.headers()["location"], "/nacos/", "{version}");
        for (path, media, holds) in [
            ("/nacos/", "text/html", "console/console.js"),
            (
                "/nacos/console/console.js",
                "text/javascript",
                "console-api/overview",
            ),
            ("/nacos/console/console.css", "text/css", "font"),
        ] {
            let mut page = no_redirects.get(format!("{base}{path}")).call().unwrap();
            assert_eq!(page.status(), 200, "{version} {path}");
            let kind = page.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(kind.starts_with(media), "{version} {path}: {kind}");
            let text = page.body_mut().read_to_string().unwrap();
            assert!(text.contains(holds), "{version} {path}");
        }

        let ident = [
            ("serviceName", "orders"),
            ("groupName", "shop"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
            ("clusterName", "eu"),
        ];
        let mut register = ident.to_vec();
        register.extend([("metadata", r#"{"version":"1.0"}"#), ("weight", "2")]);
        assert_eq!(api.form("POST", INSTANCE, &register), (200, "ok".into()));
        let overview = api.json("GET", "/nacos/console-api/overview", &[]);
        assert_eq!(overview["serverLine"], version.to_string());
        assert_eq!(overview["auth"], false);
        let public = &overview["namespaces"][0];
        assert_eq!(public["id"], "public");
        let service = &public["services"][0];
        assert_eq!(
            (&service["group"], &service["name"]),
            (&Value::from("shop"), &Value::from("orders"))
        );
        assert_eq!(
            (&service["instances"], &service["healthy"]),
            (&1.into(), &1.into())
        );

        let mut disable = ident.to_vec();
        disable.extend([("serviceName", "shop@@orders"), ("enabled", "false")]);
        disable.extend([("weight", "2"), ("metadata", r#"{"version":"1.0"}"#)]);
        assert_eq!(
            api.form("PUT", INSTANCE, &disable),
            (200, "ok".into()),
            "{version}"
        );
        // Shown though disabled (a list would leave it out).
        let held = instances(&api, "shop@@orders");
        assert_eq!(held.len(), 1, "{version}: {held:?}");
        assert_eq!(held[0]["enabled"], false, "{version}");
        assert_eq!(held[0]["clusterName"], "eu");
        assert_eq!(held[0]["metadata"]["version"], "1.0");

        assert_eq!(api.call("DELETE", INSTANCE, &ident), (200, "ok".into()));
        assert!(instances(&api, "shop@@orders").is_empty(), "{version}");
    }
}

/// The instances view carries the service's definition: its protection threshold and
/// metadata, or 0 and none for a service no service call defined.
#[test]
fn the_instances_view_shows_the_definition() {
    let api = Api::start();
    let view = |service: &str| {
        api.json(
            "GET",
            "/nacos/console-api/instances",
            &[("serviceName", service)],
        )
    };
    api.register("plain", "10.0.0.1", 80, &[]);
    let plain = view("DEFAULT_GROUP@@plain");
    assert_eq!(plain["protectThreshold"], 0.0);
    assert_eq!(plain["metadata"], serde_json::json!({}));

    let create = [
        ("serviceName", "defined"),
        ("protectThreshold", "0.5"),
        ("metadata", r#"{"owner":"team-a"}"#),
    ];
    api.ok("POST", "/nacos/v1/ns/service", &create);
    let defined = view("DEFAULT_GROUP@@defined");
    assert_eq!(defined["protectThreshold"], 0.5);
    assert_eq!(defined["metadata"], serde_json::json!({"owner": "team-a"}));
    assert_eq!(defined["instances"], serde_json::json!([]));
}

/// In auth mode the page is served without a token (it asks for a login), its calls are
/// refused without one and answer with the token of a login.
#[test]
fn in_auth_mode_the_calls_need_a_token() {
    let api = Api::with(DevServer::builder().auth("nacos", "secret"));
    assert_eq!(api.call("GET", "/nacos/", &[]).0, 200);
    assert_eq!(api.call("GET", "/nacos/console/console.js", &[]).0, 200);
    assert_eq!(api.call("GET", "/nacos/console-api/overview", &[]).0, 403);
    let register = [("serviceName", "svc"), ("ip", "10.0.0.1"), ("port", "80")];
    assert_eq!(api.form("POST", INSTANCE, &register).0, 403);

    let login = api.json(
        "POST",
        "/nacos/v1/auth/login",
        &[("username", "nacos"), ("password", "secret")],
    );
    let token = login["accessToken"].as_str().unwrap();
    let overview = api.json(
        "GET",
        "/nacos/console-api/overview",
        &[("accessToken", token)],
    );
    assert_eq!(overview["auth"], true);
}

/// Unknown console paths and methods are refused as any other.
#[test]
fn wrong_methods_are_refused() {
    let api = Api::start();
    assert_eq!(api.call("POST", "/nacos/console-api/overview", &[]).0, 405);
    assert_eq!(api.call("GET", INSTANCE, &[]).0, 405);
    assert_eq!(api.call("GET", "/nacos/console-api/instances", &[]).0, 400);
    assert_eq!(
        instances(&api, "nothing"),
        Vec::<Value>::new(),
        "an unknown service has no instances"
    );
}

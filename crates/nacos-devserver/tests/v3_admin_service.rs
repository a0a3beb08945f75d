//! The v3 admin service calls (`/nacos/v3/admin/ns/service`: create, detail, update, delete)
//! with auth on, as official `ServiceControllerV3` answers them: the envelope, the codes of
//! each refusal, the detail's shape, and what the definition changes in the lists.

mod common;

use common::Api;
use nacos_devserver::{DevServer, DevServerBuilder, NacosVersion};
use serde_json::{json, Value};

const SERVICE: &str = "/nacos/v3/admin/ns/service";
const CLIENT_INSTANCE: &str = "/nacos/v3/client/ns/instance";
const CLIENT_LIST: &str = "/nacos/v3/client/ns/instance/list";
const LOGIN: &str = "/nacos/v3/auth/user/login";

/// A 3.x server with auth on, and a token of its user.
fn server(version: NacosVersion) -> (Api, String) {
    started(DevServer::builder().nacos_version(version))
}

/// The server `builder` makes, with auth on, and a token of its user.
fn started(builder: DevServerBuilder) -> (Api, String) {
    let api = Api::with(builder.auth("admin", "secret"));
    let login = api.json(
        "POST",
        LOGIN,
        &[("username", "admin"), ("password", "secret")],
    );
    let token = login["accessToken"].as_str().unwrap().to_owned();
    (api, token)
}

/// A call with the token; status and parsed body.
fn call(api: &Api, token: &str, method: &str, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let mut params = params.to_vec();
    params.push(("accessToken", token));
    let (status, body) = api.call(method, path, &params);
    let body = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
    (status, body)
}

fn ok() -> (u16, Value) {
    (200, json!({"code": 0, "message": "success", "data": "ok"}))
}

fn refused(code: u32, message: &str, data: &str) -> (u16, Value) {
    (400, json!({"code": code, "message": message, "data": data}))
}

const ORDERS: [(&str, &str); 2] = [("serviceName", "orders"), ("groupName", "G")];

fn orders(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut params = ORDERS.to_vec();
    params.extend_from_slice(extra);
    params
}

/// Every call needs a token; then create, detail, update and delete, each refusal with its
/// code and text.
#[test]
fn service_round_trip_on_3_x() {
    for version in [NacosVersion::V3_1, NacosVersion::V3_2] {
        let (api, token) = server(version);
        for method in ["POST", "GET", "PUT", "DELETE"] {
            let (status, body) = api.call(method, SERVICE, &ORDERS);
            assert_eq!(status, 403, "{version} {method}: {body}");
        }

        let create = orders(&[
            ("protectThreshold", "0.25"),
            ("metadata", r#"{"owner":"team-a"}"#),
        ]);
        assert_eq!(call(&api, &token, "POST", SERVICE, &create), ok());
        assert_eq!(
            call(&api, &token, "POST", SERVICE, &create),
            refused(
                21007,
                "service already exist",
                "specified service G@@orders already exists!"
            )
        );
        let detail = |api: &Api| {
            let (status, body) = call(api, &token, "GET", SERVICE, &ORDERS);
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                (&body["code"], &body["message"]),
                (&json!(0), &json!("success"))
            );
            body["data"].clone()
        };
        assert_eq!(
            detail(&api),
            json!({
                "namespaceId": "public",
                "serviceName": "orders",
                "groupName": "G",
                "clusterMap": {},
                "metadata": {"owner": "team-a"},
                "protectThreshold": 0.25,
                "selector": {"type": "none", "contextType": "NONE"},
                "ephemeral": false,
            })
        );

        // Created persistent: an ephemeral instance is refused, a persistent one joins.
        let instance = |ip: &'static str, extra: &[(&'static str, &'static str)]| {
            orders(&[("ip", ip), ("port", "80"), ("clusterName", "c1")])
                .into_iter()
                .chain(extra.iter().copied())
                .collect::<Vec<_>>()
        };
        let (status, body) = call(
            &api,
            &token,
            "POST",
            CLIENT_INSTANCE,
            &instance("10.0.0.1", &[]),
        );
        assert_eq!((status, &body["code"]), (400, &json!(30000)), "{body}");
        let persistent = [("ephemeral", "false")];
        assert_eq!(
            call(
                &api,
                &token,
                "POST",
                CLIENT_INSTANCE,
                &instance("10.0.0.1", &persistent)
            ),
            ok()
        );
        assert_eq!(
            detail(&api)["clusterMap"],
            json!({"c1": {
                "clusterName": "c1",
                "healthChecker": {"type": "TCP"},
                "healthyCheckPort": 80,
                "useInstancePortForCheck": true,
                "metadata": {},
                "hosts": null,
            }})
        );

        // The update replaces threshold and metadata; the threshold rules the lists: with
        // half the instances unhealthy and a threshold of 0.5, lists show all as healthy.
        let unhealthy = [("ephemeral", "false"), ("healthy", "false")];
        assert_eq!(
            call(
                &api,
                &token,
                "POST",
                CLIENT_INSTANCE,
                &instance("10.0.0.2", &unhealthy)
            ),
            ok()
        );
        let healthy_listed = || {
            let (_, body) = call(
                &api,
                &token,
                "GET",
                CLIENT_LIST,
                &orders(&[("clusterName", "c1")]),
            );
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["healthy"] == json!(true))
                .count()
        };
        assert_eq!(healthy_listed(), 1);
        let update = orders(&[("protectThreshold", "0.5"), ("metadata", "tier=gold")]);
        assert_eq!(call(&api, &token, "PUT", SERVICE, &update), ok());
        let got = detail(&api);
        assert_eq!(got["protectThreshold"], 0.5);
        assert_eq!(got["metadata"], json!({"tier": "gold"}));
        assert_eq!(healthy_listed(), 2, "the protection threshold is reached");

        // Delete: refused while instances remain, then done; unknown afterwards.
        assert_eq!(
            call(&api, &token, "DELETE", SERVICE, &ORDERS),
            refused(
                21009,
                "service delete failure",
                "Service G@@orders is not empty, can't be delete. Please unregister instance first"
            )
        );
        for ip in ["10.0.0.1", "10.0.0.2"] {
            let gone = instance(ip, &persistent);
            assert_eq!(call(&api, &token, "DELETE", CLIENT_INSTANCE, &gone), ok());
        }
        assert_eq!(call(&api, &token, "DELETE", SERVICE, &ORDERS), ok());
        assert_eq!(
            call(&api, &token, "GET", SERVICE, &ORDERS),
            refused(
                21008,
                "service not exist",
                "service not found, namespace: public, serviceName: G@@orders"
            )
        );
        let unknown = refused(21008, "service not exist", "service G@@orders not found!");
        assert_eq!(call(&api, &token, "PUT", SERVICE, &update), unknown);
        assert_eq!(call(&api, &token, "DELETE", SERVICE, &ORDERS), unknown);
    }
}

/// `ephemeral=true` creates a service for ephemeral instances.
#[test]
fn an_ephemeral_service_takes_ephemeral_instances() {
    let (api, token) = server(NacosVersion::V3_2);
    let create = orders(&[("ephemeral", "true"), ("namespaceId", "dev")]);
    assert_eq!(call(&api, &token, "POST", SERVICE, &create), ok());
    let register = orders(&[("ip", "10.0.0.1"), ("port", "80"), ("namespaceId", "dev")]);
    assert_eq!(call(&api, &token, "POST", CLIENT_INSTANCE, &register), ok());
    let (_, detail) = call(
        &api,
        &token,
        "GET",
        SERVICE,
        &orders(&[("namespaceId", "dev")]),
    );
    assert_eq!(detail["data"]["ephemeral"], true);
    assert_eq!(detail["data"]["namespaceId"], "dev");
    assert_eq!(
        detail["data"]["clusterMap"]["DEFAULT"]["clusterName"],
        "DEFAULT"
    );
}

/// Bad parameters: each with the code official servers answer it with.
#[test]
fn bad_service_parameters() {
    for version in [NacosVersion::V3_1, NacosVersion::V3_2] {
        let (api, token) = server(version);
        for method in ["POST", "GET", "PUT", "DELETE"] {
            assert_eq!(
                call(&api, &token, method, SERVICE, &[("groupName", "G")]),
                refused(
                    10000,
                    "parameter missing",
                    "Required parameter 'serviceName' type String is not present"
                ),
                "{method}"
            );
        }
        assert_eq!(
            call(
                &api,
                &token,
                "POST",
                SERVICE,
                &orders(&[("metadata", "novalue")])
            ),
            refused(
                21002,
                "instance metadata error",
                "metadata format incorrect:novalue"
            )
        );
        assert_eq!(
            call(
                &api,
                &token,
                "POST",
                SERVICE,
                &orders(&[("selector", r#"{"type":"bogus"}"#)])
            ),
            refused(21006, "selector error", "not match any type of selector!")
        );
        let (status, body) = call(
            &api,
            &token,
            "POST",
            SERVICE,
            &orders(&[("selector", r#"{"type":"label","expression":"x"}"#)]),
        );
        assert_eq!((status, &body["code"]), (400, &json!(21006)), "{body}");
        // A selector of type none is taken.
        let none = orders(&[("selector", r#"{"type":"none"}"#)]);
        assert_eq!(call(&api, &token, "POST", SERVICE, &none), ok());

        for threshold in ["x", "1.5", "-0.1"] {
            let params = orders(&[("protectThreshold", threshold)]);
            let mut params = params.to_vec();
            params.push(("accessToken", &token));
            let (status, body) = api.call("PUT", SERVICE, &params);
            assert_eq!(status, 400, "{threshold}: {body}");
            assert!(body.contains("protectThreshold"), "{body}");
            if version == NacosVersion::V3_2 {
                assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["code"], 20002);
            }
        }
    }
}

/// 1.4 and 2.x serve no v3 path; 3.1 answers the V1 service calls with 410 naming these.
#[test]
fn older_lines_have_no_v3_service_calls() {
    for version in [NacosVersion::V1_4, NacosVersion::V2] {
        let api = Api::with(DevServer::builder().nacos_version(version));
        for method in ["POST", "GET", "PUT", "DELETE"] {
            assert_eq!(
                api.call(method, SERVICE, &ORDERS).0,
                404,
                "{version} {method}"
            );
        }
    }
}

/// A created service keeps its kind and definition across a restart.
#[test]
fn the_definition_and_kind_persist() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        started(
            DevServer::builder()
                .nacos_version(NacosVersion::V3_2)
                .data_dir(dir.path()),
        )
    };
    let (api, token) = start();
    let create = orders(&[("protectThreshold", "0.75"), ("metadata", "k=v")]);
    assert_eq!(call(&api, &token, "POST", SERVICE, &create), ok());
    api.server.shutdown().unwrap();

    let (api, token) = start();
    let (_, detail) = call(&api, &token, "GET", SERVICE, &ORDERS);
    assert_eq!(detail["data"]["protectThreshold"], 0.75);
    assert_eq!(detail["data"]["metadata"], json!({"k": "v"}));
    let register = orders(&[("ip", "10.0.0.1"), ("port", "80")]);
    let (status, body) = call(&api, &token, "POST", CLIENT_INSTANCE, &register);
    assert_eq!(status, 400, "still a persistent service: {body}");
}

/// The service list with `withInstances=true` shows each service's metadata and instances by
/// cluster (official `pageListServiceDetail`), empty services included; without it, counts.
#[test]
fn the_service_list_with_instances() {
    let (api, token) = server(NacosVersion::V3_2);
    let create = orders(&[("protectThreshold", "0.5"), ("metadata", "tier=gold")]);
    assert_eq!(call(&api, &token, "POST", SERVICE, &create), ok());
    let empty = [("serviceName", "empty"), ("groupName", "G")];
    assert_eq!(call(&api, &token, "POST", SERVICE, &empty), ok());
    for (ip, cluster) in [("10.0.0.1", "c1"), ("10.0.0.2", "c2")] {
        let register = orders(&[
            ("ip", ip),
            ("port", "80"),
            ("clusterName", cluster),
            ("ephemeral", "false"),
        ]);
        assert_eq!(call(&api, &token, "POST", CLIENT_INSTANCE, &register), ok());
    }
    let list = |extra: &[(&'static str, &'static str)]| {
        let mut params = vec![("groupNameParam", "G")];
        params.extend_from_slice(extra);
        let (status, body) = call(
            &api,
            &token,
            "GET",
            "/nacos/v3/admin/ns/service/list",
            &params,
        );
        assert_eq!((status, &body["code"]), (200, &json!(0)), "{body}");
        body["data"].clone()
    };

    let page = list(&[("withInstances", "true"), ("ignoreEmptyService", "true")]);
    assert_eq!(page["totalCount"], 2, "{page}");
    let items = page["pageItems"].as_array().unwrap();
    assert_eq!(items[0]["serviceName"], "empty");
    assert_eq!(items[0]["clusterMap"], json!({}));
    let orders = &items[1];
    assert_eq!(orders["serviceName"], "orders");
    assert_eq!(orders["groupName"], "G");
    assert_eq!(orders["metadata"], json!({"tier": "gold"}));
    assert_eq!(
        orders["protectThreshold"], 0.0,
        "not filled in, as official"
    );
    assert_eq!(orders["namespaceId"], Value::Null);
    let hosts = |cluster: &str| orders["clusterMap"][cluster]["hosts"].clone();
    assert_eq!(hosts("c1")[0]["ip"], "10.0.0.1");
    assert_eq!(hosts("c2")[0]["ip"], "10.0.0.2");
    assert_eq!(orders["clusterMap"]["c1"]["healthyCheckPort"], 80);

    let page = list(&[("ignoreEmptyService", "true")]);
    assert_eq!(page["totalCount"], 1);
    let counts = &page["pageItems"][0];
    assert_eq!(
        (
            &counts["name"],
            &counts["ipCount"],
            &counts["clusterCount"],
            &counts["triggerFlag"]
        ),
        (&json!("orders"), &json!(2), &json!(2), &json!("false"))
    );
}

/// A created service without instances is dropped with its definition once the empty-service
/// time to live passes, as official servers clean empty services, and stays dropped after a
/// restart; one that holds an instance stays until that instance goes.
#[test]
fn an_empty_service_is_dropped_with_its_definition() {
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let start = |ttl: Duration| {
        started(
            DevServer::builder()
                .nacos_version(NacosVersion::V3_2)
                .data_dir(dir.path())
                .empty_service_ttl(ttl),
        )
    };
    let (api, token) = start(Duration::from_millis(300));
    let create = orders(&[("protectThreshold", "0.5")]);
    assert_eq!(call(&api, &token, "POST", SERVICE, &create), ok());
    // Made by its registration, so it is never empty before the instance goes.
    let busy = [("serviceName", "busy"), ("groupName", "G")];
    let instance = [
        ("serviceName", "busy"),
        ("groupName", "G"),
        ("ip", "10.0.0.1"),
        ("port", "80"),
        ("ephemeral", "false"),
    ];
    let admin_instance = "/nacos/v3/admin/ns/instance";
    assert_eq!(call(&api, &token, "POST", admin_instance, &instance), ok());

    let gone = |params: &[(&str, &str)]| call(&api, &token, "GET", SERVICE, params).0 == 400;
    nacos_test_support::expect_within("the empty service dropped", Duration::from_secs(10), || {
        gone(&ORDERS)
    });
    let (status, detail) = call(&api, &token, "GET", SERVICE, &busy);
    assert_eq!(status, 200, "a service with an instance stays: {detail}");

    assert_eq!(
        call(&api, &token, "DELETE", admin_instance, &instance),
        ok()
    );
    nacos_test_support::expect_within(
        "the emptied service dropped",
        Duration::from_secs(10),
        || gone(&busy),
    );
    api.server.shutdown().unwrap();

    // Restarted with the default time to live: nothing is dropped while it is looked at.
    let (api, token) = start(Duration::from_secs(60));
    for service in [&ORDERS[..], &busy[..]] {
        let (status, body) = call(&api, &token, "GET", SERVICE, service);
        assert_eq!(status, 400, "dropped for good: {body}");
    }
    // Created again, it starts from a fresh definition.
    assert_eq!(call(&api, &token, "POST", SERVICE, &ORDERS), ok());
    let (_, detail) = call(&api, &token, "GET", SERVICE, &ORDERS);
    assert_eq!(detail["data"]["protectThreshold"], 0.0);
}

//! Auth mode: 403 without a valid token, login, tokens in the query, form, header, and expiry.

mod common;

use std::time::Duration;

use common::{wait_until, Api};
use nacos_devserver::DevServer;

const LIST: &str = "/nacos/v1/ns/instance/list";

fn login(api: &Api, path: &str, password: &str) -> (u16, serde_json::Value) {
    let (status, body) = api.form(
        "POST",
        path,
        &[("username", "nacos"), ("password", password)],
    );
    (status, serde_json::from_str(&body).unwrap_or_default())
}

/// Calls need a token; the right credentials get one; wrong ones get 403.
#[test]
fn calls_need_a_token() {
    let api = Api::with(DevServer::builder().auth("nacos", "s3cret"));
    let (status, body) = api.call("GET", LIST, &[("serviceName", "svc")]);
    assert_eq!((status, body.as_str()), (403, "caused: user not found!;"));
    let (status, body) = api.call(
        "GET",
        LIST,
        &[("serviceName", "svc"), ("accessToken", "forged")],
    );
    assert_eq!((status, body.as_str()), (403, "caused: token invalid!;"));
    assert_eq!(login(&api, "/nacos/v1/auth/login", "wrong").0, 403);
    // The probes stay open.
    assert_eq!(
        api.call("GET", "/nacos/v1/console/health/liveness", &[]).0,
        200
    );

    for path in ["/nacos/v1/auth/login", "/nacos/v1/auth/users/login"] {
        let (status, answer) = login(&api, path, "s3cret");
        assert_eq!(status, 200);
        assert_eq!(answer["tokenTtl"], 18_000);
        assert_eq!(answer["username"], "nacos");
        assert!(answer["globalAdmin"].is_boolean());
        let token = answer["accessToken"].as_str().unwrap();
        let (status, _) = api.call(
            "GET",
            LIST,
            &[("serviceName", "svc"), ("accessToken", token)],
        );
        assert_eq!(status, 200);
        let (status, body) = api.form(
            "POST",
            "/nacos/v1/ns/instance",
            &[
                ("serviceName", "svc"),
                ("ip", "10.0.0.1"),
                ("port", "80"),
                ("accessToken", token),
            ],
        );
        assert_eq!((status, body.as_str()), (200, "ok"));
    }
    // The token is also read from an `accessToken` header or a Bearer authorization.
    let (_, answer) = login(&api, "/nacos/v1/auth/login", "s3cret");
    let token = answer["accessToken"].as_str().unwrap();
    let url = format!("http://{}{LIST}?serviceName=svc", api.server.addr());
    let agent = common::agent();
    let by_header = agent.get(&url).header("accessToken", token).call().unwrap();
    assert_eq!(by_header.status(), 200);
    let bearer = format!("Bearer {token}");
    let by_bearer = agent
        .get(&url)
        .header("Authorization", &bearer)
        .call()
        .unwrap();
    assert_eq!(by_bearer.status(), 200);
    // Credentials in the query string work too (what released clients send).
    let (status, body) = api.call(
        "POST",
        "/nacos/v1/auth/login",
        &[("username", "nacos"), ("password", "s3cret")],
    );
    assert_eq!(status, 200, "{body}");
}

/// A token past its time to live is refused with "token expired!".
#[test]
fn tokens_expire() {
    let api = Api::with(
        DevServer::builder()
            .auth("nacos", "pw")
            .token_ttl(Duration::from_millis(300)),
    );
    let (_, answer) = login(&api, "/nacos/v1/auth/login", "pw");
    let token = answer["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(
        api.call(
            "GET",
            LIST,
            &[("serviceName", "s"), ("accessToken", &token)]
        )
        .0,
        200
    );
    wait_until("the token expires", Duration::from_secs(10), || {
        api.call(
            "GET",
            LIST,
            &[("serviceName", "s"), ("accessToken", &token)],
        )
        .0 == 403
    });
    let (_, body) = api.call(
        "GET",
        LIST,
        &[("serviceName", "s"), ("accessToken", &token)],
    );
    assert_eq!(body, "caused: token expired!;");
}

/// A huge token TTL (`--token-ttl 18446744073709551615`, `Duration::MAX`) is clamped: logins
/// answer, announce a TTL every client can add to its clock, and the tokens work.
#[test]
fn huge_token_ttls_are_clamped() {
    for ttl in [Duration::from_secs(u64::MAX), Duration::MAX] {
        let api = Api::with(DevServer::builder().auth("nacos", "pw").token_ttl(ttl));
        for _ in 0..2 {
            let (status, answer) = login(&api, "/nacos/v1/auth/login", "pw");
            assert_eq!(status, 200, "{answer}");
            let announced = answer["tokenTtl"].as_i64().unwrap();
            assert_eq!(announced, 100 * 365 * 24 * 3600, "100 years");
            let token = answer["accessToken"].as_str().unwrap();
            let (status, _) =
                api.call("GET", LIST, &[("serviceName", "s"), ("accessToken", token)]);
            assert_eq!(status, 200);
        }
    }
}

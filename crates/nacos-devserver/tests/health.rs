//! Health of ephemeral instances, beats, 20404 and re-registration from a beat, with
//! millisecond timeouts.

mod common;

use std::time::Duration;

use common::{wait_until, Api};
use nacos_devserver::DevServer;

const BEAT: &str = "/nacos/v1/ns/instance/beat";
const WAIT: Duration = Duration::from_secs(10);

/// Timeouts short enough for a test, long enough that a loaded machine still beats in time.
fn fast() -> Api {
    Api::with(
        DevServer::builder()
            .health_timeout(Duration::from_millis(400))
            .expire_timeout(Duration::from_millis(1000))
            .beat_interval(Duration::from_millis(40)),
    )
}

fn healthy_of(api: &Api, ip: &str) -> Option<bool> {
    api.list("svc", &[])
        .hosts
        .iter()
        .find(|h| h.ip == ip)
        .map(|h| h.healthy)
}

/// Without beats an instance turns unhealthy, then is removed; a beating one stays.
#[test]
fn unhealthy_after_health_timeout_then_removed() {
    let api = fast();
    api.register("svc", "10.0.0.1", 80, &[]);
    api.register("svc", "10.0.0.2", 80, &[]);
    // In a service of its own: 2.x holds one kind of instance per service.
    api.register("kept", "10.0.0.3", 80, &[("ephemeral", "false")]);
    wait_until("10.0.0.1 is unhealthy", WAIT, || {
        assert_eq!(api.beat("svc", "10.0.0.2", 80), 10200);
        healthy_of(&api, "10.0.0.1") == Some(false)
    });
    assert_eq!(healthy_of(&api, "10.0.0.2"), Some(true));
    wait_until("10.0.0.1 is removed", WAIT, || {
        assert_eq!(api.beat("svc", "10.0.0.2", 80), 10200);
        healthy_of(&api, "10.0.0.1").is_none()
    });
    assert_eq!(healthy_of(&api, "10.0.0.2"), Some(true));
    let kept: Vec<bool> = api
        .list("kept", &[])
        .hosts
        .iter()
        .map(|h| h.healthy)
        .collect();
    assert_eq!(kept, [true], "persistent instances do not expire");
    assert_eq!(api.beat("svc", "10.0.0.1", 80), 20404);
}

/// A beat heals an unhealthy instance at once.
#[test]
fn a_beat_heals_at_once() {
    let api = fast();
    api.register("svc", "10.0.0.1", 80, &[]);
    api.register("svc", "10.0.0.2", 80, &[]);
    wait_until("10.0.0.1 is unhealthy", WAIT, || {
        api.beat("svc", "10.0.0.2", 80);
        healthy_of(&api, "10.0.0.1") == Some(false)
    });
    assert_eq!(api.beat("svc", "10.0.0.1", 80), 10200);
    assert_eq!(healthy_of(&api, "10.0.0.1"), Some(true));
}

/// A light beat for an unknown instance gets 20404; a full beat re-registers it from its body.
#[test]
fn unknown_instances_get_20404_or_are_re_registered() {
    let api = fast();
    let answer = api.json(
        "PUT",
        BEAT,
        &[
            ("serviceName", "G1@@svc"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
        ],
    );
    assert_eq!(
        answer,
        serde_json::json!({"clientBeatInterval": 40, "code": 20404, "lightBeatEnabled": true})
    );
    let beat = r#"{"serviceName":"G1@@svc","ip":"10.0.0.1","port":80,"weight":2.5,
        "ephemeral":true,"cluster":"c1","metadata":{"status":"running"}}"#;
    let answer = api.json(
        "PUT",
        BEAT,
        &[
            ("serviceName", "G1@@svc"),
            ("groupName", "G1"),
            ("beat", beat),
        ],
    );
    assert_eq!(answer["code"], 10200);
    assert_eq!(answer["clientBeatInterval"], 40);
    assert_eq!(answer["lightBeatEnabled"], true);
    let instance = api.json(
        "GET",
        "/nacos/v1/ns/instance",
        &[
            ("serviceName", "svc"),
            ("groupName", "G1"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
            ("clusterName", "c1"),
        ],
    );
    assert_eq!(instance["weight"], 2.5);
    assert_eq!(instance["metadata"]["status"], "running");
    assert_eq!(instance["healthy"], true);
    // Now known: a light beat in that cluster is accepted.
    let answer = api.json(
        "PUT",
        BEAT,
        &[
            ("serviceName", "G1@@svc"),
            ("ip", "10.0.0.1"),
            ("port", "80"),
            ("clusterName", "c1"),
        ],
    );
    assert_eq!(answer["code"], 10200);
}

/// Beats keep an instance alive well past the expire timeout.
#[test]
fn beats_keep_an_instance_alive() {
    let api = fast();
    api.register("svc", "10.0.0.1", 80, &[]);
    let until = std::time::Instant::now() + Duration::from_millis(1_500);
    while std::time::Instant::now() < until {
        assert_eq!(api.beat("svc", "10.0.0.1", 80), 10200);
        assert_eq!(healthy_of(&api, "10.0.0.1"), Some(true));
        std::thread::sleep(Duration::from_millis(40));
    }
}

/// Instance metadata sets its own timeouts and beat interval (official 2.x), even when far
/// shorter than the server's.
#[test]
fn instances_with_their_own_timeouts() {
    let api = Api::with(
        DevServer::builder()
            .health_timeout(Duration::from_secs(60))
            .expire_timeout(Duration::from_secs(120)),
    );
    api.register("svc", "10.0.0.1", 80, &[]);
    api.register(
        "svc",
        "10.0.0.2",
        80,
        &[(
            "metadata",
            r#"{"preserved.heart.beat.timeout":"500","preserved.ip.delete.timeout":"2000",
                "preserved.heart.beat.interval":"100"}"#,
        )],
    );
    let answer = api.json(
        "PUT",
        BEAT,
        &[("serviceName", "svc"), ("ip", "10.0.0.2"), ("port", "80")],
    );
    assert_eq!(answer["clientBeatInterval"], 100);
    wait_until("10.0.0.2 is unhealthy", WAIT, || {
        healthy_of(&api, "10.0.0.2") == Some(false)
    });
    wait_until("10.0.0.2 is removed", WAIT, || {
        healthy_of(&api, "10.0.0.2").is_none()
    });
    assert_eq!(healthy_of(&api, "10.0.0.1"), Some(true));
}

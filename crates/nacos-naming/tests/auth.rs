//! Username/password auth against real servers in auth mode (rnacos and the devserver): the
//! client logs in, every call carries the token and succeeds; a wrong password or no
//! credentials is the server's 403.
//!
//! (That the token is on every request is checked request by request against a recorder in
//! `wire_python.rs`.)

mod common;

use std::time::Duration;

use nacos_naming::{Error, NamingClient, BEAT_OK};
use nacos_test_support::{skip_unless_rnacos, unique, Rnacos};

const IP: &str = "127.0.0.1";

fn client(address: &str, user: Option<(&str, &str)>) -> Result<NamingClient, Error> {
    let mut builder = NamingClient::builder()
        .server_addresses(address)
        .timeout(Duration::from_secs(5));
    if let Some((username, password)) = user {
        builder = builder.username(username).password(password);
    }
    builder.build()
}

/// Every seed call, through a client that logged in.
fn every_call_succeeds(client: &NamingClient) {
    let service = unique("auth");
    client
        .add_naming_instance(&service, IP, 8080)
        .metadata([("auth", "yes")])
        .send()
        .unwrap();
    client
        .modify_naming_instance(&service, IP, 8080)
        .weight(2.0)
        .send()
        .unwrap();
    let listed = client.list_naming_instance(&service).send().unwrap();
    assert_eq!(listed.hosts.len(), 1, "{listed:?}");
    let got = client
        .get_naming_instance(&service, IP, 8080)
        .send()
        .unwrap();
    assert_eq!(got.weight, 2.0);
    assert_eq!(got.metadata["auth"], "yes");
    let beat = client.send_heartbeat(&service, IP, 8080).send().unwrap();
    assert_eq!(beat.code, BEAT_OK);
    client
        .remove_naming_instance(&service, IP, 8080)
        .send()
        .unwrap();
    assert!(client
        .list_naming_instance(&service)
        .send()
        .unwrap()
        .hosts
        .is_empty());
}

/// A 403 from the server, with its text, whether `build()` (which logs in) or the first call
/// reports it.
fn assert_forbidden(address: &str, user: Option<(&str, &str)>) {
    let result = client(address, user).and_then(|client| {
        client
            .list_naming_instance(unique("forbidden"))
            .send()
            .map(drop)
    });
    match result {
        Err(Error::Server {
            status, message, ..
        }) => {
            assert_eq!(status, 403, "{message}");
            assert!(!message.trim().is_empty(), "the server's reason is kept");
        }
        other => panic!("expected Error::Server(403), got {other:?}"),
    }
}

/// rnacos with open-API auth: log in as admin, every seed call succeeds with the token.
#[test]
fn rnacos_login_then_every_call_succeeds() {
    skip_unless_rnacos!();
    let server = Rnacos::builder().auth(true).start().unwrap();
    let client = client(
        &server.address(),
        Some((Rnacos::USERNAME, Rnacos::PASSWORD)),
    )
    .unwrap();
    every_call_succeeds(&client);
}

/// rnacos with open-API auth: a wrong password is Error::Server with status 403.
#[test]
fn rnacos_wrong_password_is_403() {
    skip_unless_rnacos!();
    let server = Rnacos::builder().auth(true).start().unwrap();
    assert_forbidden(&server.address(), Some((Rnacos::USERNAME, "wrong")));
}

/// rnacos with open-API auth: a call without credentials is Error::Server with status 403.
#[test]
fn rnacos_without_credentials_is_403() {
    skip_unless_rnacos!();
    let server = Rnacos::builder().auth(true).start().unwrap();
    assert_forbidden(&server.address(), None);
}

fn devserver_with_auth() -> nacos_devserver::DevServer {
    nacos_devserver::DevServer::builder()
        .bind("127.0.0.1:0")
        .auth("nacos", "secret")
        .start()
        .expect("start the devserver in auth mode")
}

/// The devserver in auth mode: log in, every seed call succeeds with the token.
#[test]
fn devserver_login_then_every_call_succeeds() {
    let server = devserver_with_auth();
    let client = client(&server.addr().to_string(), Some(("nacos", "secret"))).unwrap();
    every_call_succeeds(&client);
}

/// The devserver in auth mode: a wrong password is Error::Server with status 403.
#[test]
fn devserver_wrong_password_is_403() {
    let server = devserver_with_auth();
    assert_forbidden(&server.addr().to_string(), Some(("nacos", "wrong")));
}

/// The devserver in auth mode: a call without credentials is Error::Server with status 403.
#[test]
fn devserver_without_credentials_is_403() {
    let server = devserver_with_auth();
    assert_forbidden(&server.addr().to_string(), None);
}

//! A blocking Nacos V1 service-discovery client: register, deregister, modify, list and get
//! service instances and send heartbeats, over plain HTTP(S) with no async runtime.
//!
//! ```no_run
//! use nacos_naming::{BeatInfo, Instance, NamingClient, ServiceInfo};
//!
//! // The servers to talk to: a local one (`nacos-devserver`, or a Nacos server); in production
//! // your cluster, "10.0.0.1:8848,10.0.0.2:8848".
//! let client = NamingClient::builder()
//!     .server_addresses("127.0.0.1:8848")
//!     .namespace("production")
//!     .username("nacos")
//!     .password("secret")
//!     .timeout(std::time::Duration::from_secs(3))
//!     .build()?;
//!
//! client
//!     .add_naming_instance("user-service", "192.168.1.100", 8080)
//!     .cluster_name("production")
//!     .weight(1.5)
//!     .metadata([("version", "1.0.0")])
//!     .group_name("microservices")
//!     .send()?;
//!
//! let service: ServiceInfo = client
//!     .list_naming_instance("user-service")
//!     .clusters(["production"])
//!     .healthy_only(true)
//!     .group_name("microservices")
//!     .send()?;
//! for instance in &service.hosts {
//!     println!("{}:{} healthy={}", instance.ip, instance.port, instance.healthy);
//! }
//!
//! let instance: Instance = client
//!     .get_naming_instance("user-service", "192.168.1.100", 8080)
//!     .cluster_name("production")
//!     .group_name("microservices")
//!     .send()?;
//! client
//!     .modify_naming_instance("user-service", "192.168.1.100", 8080)
//!     .cluster_name("production")
//!     .group_name("microservices")
//!     .weight(instance.weight * 2.0)
//!     .send()?;
//!
//! let beat: BeatInfo = client
//!     .send_heartbeat("user-service", "192.168.1.100", 8080)
//!     .cluster_name("production")
//!     .group_name("microservices")
//!     .send()?;
//! println!("next beat in {} ms", beat.client_beat_interval);
//!
//! client
//!     .remove_naming_instance("user-service", "192.168.1.100", 8080)
//!     .cluster_name("production")
//!     .group_name("microservices")
//!     .send()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! (Not run here, as it needs a server; the repository's tests run the same steps against an
//! embedded `nacos-devserver`.)
//!
//! # The calls
//!
//! Each method of [`NamingClient`] is named after the Python client's (`add_naming_instance`,
//! `remove_naming_instance`, `modify_naming_instance`, `list_naming_instance`,
//! `get_naming_instance`, `send_heartbeat`) and returns a builder: the required arguments are
//! positional, the optional ones are setters named after its keyword arguments, and `send()`
//! performs the call. An invalid argument never panics: the builder keeps the first error and
//! `send()` returns it as [`Error::InvalidParam`] before anything is sent.
//!
//! # Threads and cloning
//!
//! [`NamingClient`] is `Send + Sync` and cheap to clone: clones share one keep-alive connection
//! pool, one memory of which server answered last and one login. Build one client and clone it
//! into every thread that needs it. Calls block the calling thread for at most the connect
//! timeout plus the timeout, per server tried.
//!
//! # Heartbeats and subscriptions
//!
//! An ephemeral instance registered with `add_naming_instance` is kept alive from then on: one
//! scheduler beats every such instance of the client at the interval the server asks for, on at
//! most [`heartbeat_threads`](NamingClientBuilder::heartbeat_threads) threads whatever the
//! number of instances, registers it again when a server lost it (code 20404), and never stops
//! on errors; `remove_naming_instance` stops its beats, `modify_naming_instance` changes what
//! they carry. [`NamingClient::subscribe`] calls a listener with each change of a service
//! ([`ServiceEvent`]: the whole list, and what was added, removed and modified), fed by UDP
//! pushes from servers that push and by polling in any case;
//! [`select_one_healthy_instance`](NamingClient::select_one_healthy_instance) picks an instance
//! by weight.
//!
//! ```no_run
//! use nacos_naming::{NamingClient, ServiceEvent};
//!
//! let client = NamingClient::new("127.0.0.1:8848")?;
//! client.add_naming_instance("user-service", "192.168.1.100", 8080).send()?; // beats from now on
//! let id = client
//!     .subscribe("user-service", |event: &ServiceEvent| {
//!         println!("{} instances, {} new", event.service.hosts.len(), event.added.len());
//!     })
//!     .send()?;
//! let instance = client.select_one_healthy_instance("user-service").send()?;
//! println!("calling {}", instance.address());
//! client.unsubscribe("user-service").listener(id).send()?;
//! client.shutdown()?; // or drop the last clone
//! # Ok::<(), nacos_naming::Error>(())
//! ```
//!
//! The background threads are named `nacos-beat-N`, `nacos-poll`, `nacos-push` and
//! `nacos-notify`; they start when first needed and hold no strong reference to the client.
//! Dropping the last clone of the client (or [`NamingClient::shutdown`]) stops them and joins
//! them before it returns, also when a listener drops it. A listener that captures a clone of
//! the client keeps the client alive until it is unsubscribed.
//!
//! # Servers and failover
//!
//! A call starts at the server that answered last (at first a random one) and moves on to the
//! next on connect errors, timeouts and 500/502/503/504 answers, trying each server once; with
//! a single server it tries three times. Any other answer (400, 403, 404…) is returned at once
//! as [`Error::Server`] with the server's own text. When every server fails, a 5xx is returned
//! as [`Error::Server`] with its text, and connect errors and timeouts as [`Error::Request`]
//! with each server's cause.
//!
//! # Authentication and TLS
//!
//! With a username and password the client logs in when built, sends the `accessToken` with
//! every call, renews it when a tenth of its lifetime is left and logs in again once when a
//! server refuses it. With an access key and secret key every call is signed (AK/SK). `https`
//! servers are verified against the system's certificate authorities plus an optional
//! [`ca_file`](NamingClientBuilder::ca_file); verification cannot be turned off. Passwords,
//! secret keys and tokens are never logged or shown by `Debug`.
//!
//! # Differences from the Python client
//!
//! What goes on the wire is what the Python client sends, except for its known defects: an
//! instance registered without a cluster goes to `DEFAULT` (not to a cluster named `None`),
//! `get_naming_instance` sends the group, a heartbeat's service name carries its group, `list`
//! always sends `healthyOnly`, `enabled` is sent beside `enable`, the login's password goes
//! in a form body rather than the URL, and certificates are verified.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod beat_info;
mod calls;
mod client;
mod client_builder;
mod deadline;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod instance;
mod live;
#[cfg(test)]
mod properties;
mod random;
mod service_event;
mod service_info;
mod wire;

// The crate's own README, shown on its crates.io page, compiled and run by `cargo test --doc`
// so it cannot drift from the API. (The repository's README, whose examples start a
// devserver, is checked by `nacos-test-support`, which is not published.)
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod crate_readme_examples {}

pub use beat_info::{BeatInfo, BEAT_OK, BEAT_RESOURCE_NOT_FOUND};
pub use calls::deregister::DeregisterInstance;
pub use calls::get::GetInstance;
pub use calls::heartbeat_request::SendHeartbeat;
pub use calls::list::ListInstances;
pub use calls::modify::ModifyInstance;
pub use calls::register::RegisterInstance;
pub use calls::select::SelectInstance;
pub use calls::service_list::{ListServices, ServiceList};
pub use calls::subscribe::{Subscribe, Unsubscribe};
pub use client::NamingClient;
pub use client_builder::NamingClientBuilder;
pub use error::{Attempt, Error, RequestFailure};
pub use instance::{Instance, DEFAULT_CLUSTER, DEFAULT_GROUP, DEFAULT_NAMESPACE};
pub use live::subscription::ListenerId;
pub use service_event::ServiceEvent;
pub use service_info::{grouped_name, ServiceInfo, GROUP_SEPARATOR};
pub use wire::api::{ParseServerApiError, ServerApi};
pub use wire::probe::ServerReport;

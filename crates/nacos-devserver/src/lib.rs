//! A Nacos-compatible V1 naming server, embedded in a test or run standalone.
//!
//! It speaks the Nacos V1 open API with the official server's semantics: instances with
//! namespaces, groups, clusters, weights and metadata; heartbeats and health; the protection
//! threshold; service definitions; UDP push to subscribers; an optional auth mode; and
//! persistent instances kept in a data directory. It starts in about a millisecond, so every
//! test can have its own.
//!
//! ```
//! let server = nacos_devserver::DevServer::builder().bind("127.0.0.1:0").start()?;
//! println!("Nacos naming server on http://{}", server.addr());
//! // Dropping the handle stops it.
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Timeouts are configurable down to milliseconds, so health tests take milliseconds:
//!
//! ```
//! use std::time::Duration;
//!
//! let server = nacos_devserver::DevServer::builder()
//!     .health_timeout(Duration::from_millis(200))
//!     .expire_timeout(Duration::from_millis(500))
//!     .beat_interval(Duration::from_millis(50))
//!     .start()?;
//! # drop(server);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Standalone: `nacos-devserver --bind 127.0.0.1:8848 --data-dir ./data`.
//!
//! # What it serves
//!
//! | call | path | answer |
//! |---|---|---|
//! | register, modify, deregister, get | `POST`/`PUT`/`DELETE`/`GET /nacos/v1/ns/instance` | `ok` / instance JSON |
//! | list | `GET /nacos/v1/ns/instance/list` | ServiceInfo JSON |
//! | heartbeat | `PUT /nacos/v1/ns/instance/beat` | `{"clientBeatInterval","code","lightBeatEnabled"}` |
//! | services | `GET /nacos/v1/ns/service/list` | `{"count","doms"}` |
//! | service definition | `POST`/`PUT`/`DELETE`/`GET /nacos/v1/ns/service` | `ok` / service JSON |
//! | login | `POST /nacos/v1/auth/login`, `/nacos/v1/auth/users/login` | `{"accessToken","tokenTtl",…}` |
//! | liveness, readiness | `GET /nacos/v1/console/health/liveness`, `…/readiness` | `OK` |
//! | operator metrics | `GET /nacos/v1/ns/operator/metrics` | `{"status":"UP"}` |
//! | server state (1.4, 2) | `GET /nacos/v1/console/server/state` | `{"version",…}` |
//! | v3 register, renew (`heartBeat=true`), deregister (3.1, 3.2) | `POST`/`DELETE /nacos/v3/client/ns/instance` | `{"code":0,"message":"success","data":"ok"}` |
//! | v3 list (3.1, 3.2) | `GET /nacos/v3/client/ns/instance/list` | `{"code":0,…,"data":[instances]}` |
//! | v3 login (3.1, 3.2) | `POST /nacos/v3/auth/user/login` | the V1 login's JSON, and `Authorization: Bearer <token>` |
//! | v3 admin (3.1, 3.2; token needed) | `POST`/`DELETE`/`GET`/`PUT /nacos/v3/admin/ns/instance`, `GET /nacos/v3/admin/ns/instance/list`, `GET /nacos/v3/admin/ns/service/list` | the envelope |
//! | v3 server state (3.1, 3.2) | `GET /nacos/v3/admin/core/state` | `{"code":0,…,"data":{"version",…}}` |
//! | web console (every line) | `GET /nacos/` (`/nacos` redirects there) | the page; its calls are under `/nacos/console-api/` |
//!
//! Which of these answer, and the instance identity rules, depend on the official server line
//! the server behaves as ([`NacosVersion`], [`DevServerBuilder::nacos_version`]; 2.x by
//! default).
//!
//! An ephemeral instance's metadata may set its own timeouts and beat interval, as on official
//! 2.x: `preserved.heart.beat.timeout`, `preserved.ip.delete.timeout` and
//! `preserved.heart.beat.interval` (milliseconds).
//!
//! Parameters are read from the query string and from a form body. Bad parameters answer 400
//! with a text naming the parameter (`caused: Param 'ip' is required.;`), unknown services and
//! instances 404, calls without a valid token in auth mode 403.
//!
//! # Where it differs from official Nacos
//!
//! - One node, no cluster; persistent instances are not probed: they keep the health they were
//!   registered or modified with.
//! - UDP push goes to any client that lists with `udpPort`, whatever its User-Agent (official
//!   servers push only to known client agents), at the IP address the list call came from: the
//!   `clientIP` parameter is honoured only with
//!   [`push_to_client_ip`](DevServerBuilder::push_to_client_ip). One subscription per service
//!   and address (its last 4 cluster filters), at most 4096 per IP address.
//! - 1.4 identity: a modify of an unknown instance answers 404 and a deregister removes the
//!   instance of its cluster whatever its `ephemeral` says.
//! - 2.x and 3.x hold one kind of instance per service, fixed by its first registration (or by
//!   its creation through the service API: persistent, or ephemeral with the v3
//!   `ephemeral=true`) and kept until the emptied service is dropped, as official servers
//!   refuse the other kind.
//! - Any service, whether a registration or the service API created it, is dropped with its
//!   definition once it has had no instance for
//!   [`empty_service_ttl`](DevServerBuilder::empty_service_ttl) (60 s), as official servers
//!   clean empty services (2.x and 3.x 60 s after its last change, 1.4 after about 90 s), but
//!   not while a push subscriber lists it.
//! - 2.x and 3.x keep a modify for the `ip:port:cluster` it names, as official servers do, but
//!   at most 1024 beyond the service's instances (more are refused with 400); in the data
//!   directory only for persistent services, while they have a definition or persistent
//!   instances (official servers persist every modify); dropped with the service, and 60 s
//!   after its instance goes whatever the instance's kind (official servers keep a persistent
//!   instance's). After a restart a persistent instance's modified values count as its
//!   registration's until it registers again.
//! - The service API takes no selector but `none` (official servers also take `label`, which
//!   the devserver would not apply) and a protection threshold from 0 to 1 only.
//! - Empty services created by registrations are not listed by `/nacos/v1/ns/service/list`
//!   (they are kept 60 s for their `lastRefTime`, then dropped).
//! - Without auth mode a login succeeds with any credentials (its token is checked only by
//!   the 3.x admin API).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod body;
mod connections;
mod console;
mod doors;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod handlers;
mod health;
mod http;
mod list_cache;
mod observe;
mod params;
mod push;
mod registry;
mod reply;
mod server;
mod service;
mod store;
mod subscribers;
mod v3;
mod version;

pub use server::{DevServer, DevServerBuilder};
pub use version::{NacosVersion, UnknownVersion};

#[cfg(test)]
mod tests {
    fn is_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        is_send_sync::<crate::DevServer>();
        is_send_sync::<crate::DevServerBuilder>();
    }
}

//! The V1 open API (`/nacos/v1/ns/*`): Nacos 1.x and 2.x, the open calls of 3.0–3.1, rnacos.
//!
//! Parameters go in the query string, as every released V1 client sends them; answers are
//! plain JSON (or `ok` for writes).

use crate::calls::get::decode_instance;
use crate::calls::heartbeat_request::decode_beat_info;
use crate::calls::list::ListQuery;
use crate::calls::service_list::ServiceList;
use crate::error::Error;
use crate::instance::Instance;
use crate::service_info::ServiceInfo;
use crate::wire::lenient;
use crate::wire::operation::Operation;
use crate::wire::transport::{Call, Method};
use crate::BeatInfo;

/// Register (`POST`), deregister (`DELETE`), get (`GET`) and update (`PUT`) an instance.
pub(crate) const INSTANCE_PATH: &str = "/nacos/v1/ns/instance";
/// A list answer proves a server still serves the V1 naming API.
pub(crate) const LIST_PATH: &str = "/nacos/v1/ns/instance/list";
pub(crate) const BEAT_PATH: &str = "/nacos/v1/ns/instance/beat";
pub(crate) const SERVICE_LIST_PATH: &str = "/nacos/v1/ns/service/list";
pub(crate) const LOGIN_PATH: &str = "/nacos/v1/auth/login";
/// `{"version":…}` on 1.x and 2.x.
pub(crate) const STATE_PATH: &str = "/nacos/v1/console/server/state";

/// The request of `op`.
pub(crate) fn request(op: &Operation<'_>) -> Call {
    match *op {
        Operation::Register(r) => r
            .write(Call::new(Method::Post, INSTANCE_PATH))
            .param("healthy", r.healthy.to_string()),
        Operation::Deregister {
            instance,
            ephemeral,
        } => instance
            .write(Call::new(Method::Delete, INSTANCE_PATH))
            .param("ephemeral", ephemeral.to_string()),
        Operation::Beat(beat) => beat.call(),
        Operation::List(query) => query.call(),
        Operation::Get(instance) => instance.write(Call::new(Method::Get, INSTANCE_PATH)),
        Operation::Update(r) => r.write(Call::new(Method::Put, INSTANCE_PATH)),
        Operation::ListServices(query) => query.call(),
    }
}

/// Write calls answer `ok`. Any 2xx means the server applied the write, so another body is
/// only logged: failing would make callers retry a write that took effect.
pub(crate) fn read_done(op: &Operation<'_>, body: &str) {
    if body.trim() != "ok" {
        log::debug!("{} answered {body:?} instead of \"ok\"", op.name());
    }
}

pub(crate) fn read_beat(body: &str) -> Result<BeatInfo, Error> {
    decode_beat_info(body)
}

pub(crate) fn read_list(query: &ListQuery, body: &str) -> Result<ServiceInfo, Error> {
    query.decode(body)
}

pub(crate) fn read_instance(body: &str) -> Result<Instance, Error> {
    decode_instance(body)
}

pub(crate) fn read_services(body: &str) -> Result<ServiceList, Error> {
    lenient::object_from_str(body).map_err(|source| Error::Decode {
        what: "service list",
        source,
    })
}

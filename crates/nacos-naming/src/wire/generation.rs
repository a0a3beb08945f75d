//! The seam between calls and API generations: which generation an operation goes by on a
//! server, the request it becomes, and the reading of the answer by the generation that sent
//! it. A new generation is a new file beside `v1.rs` and `v3.rs` and a variant here, not a
//! branch in every call.

use crate::beat_info::BeatInfo;
use crate::calls::heartbeat_request::BeatRequest;
use crate::calls::list::ListQuery;
use crate::calls::params::InstanceKey;
use crate::calls::service_list::{ServiceList, ServicesQuery};
use crate::error::Error;
use crate::instance::Instance;
use crate::service_info::ServiceInfo;
use crate::wire::api::ServerApi;
use crate::wire::line::Line;
use crate::wire::operation::Operation;
use crate::wire::transport::Call;
use crate::wire::v3::ReadError;
use crate::wire::{v1, v3};

/// A server API generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Generation {
    V1,
    V3,
}

/// The generation `op` goes by on a server of `line`: the pinned one, else V1 wherever the
/// server still serves the V1 call (fewest surprises, and push where the server pushes).
pub(crate) fn choose(api: ServerApi, line: Line, op: &Operation<'_>) -> Generation {
    match (api, line) {
        (ServerApi::V1, _) => Generation::V1,
        (ServerApi::V3, _) | (ServerApi::Auto, Line::V3) => Generation::V3,
        (ServerApi::Auto, Line::V1OpenOnly)
            if matches!(op, Operation::Get(_) | Operation::Update(_)) =>
        {
            Generation::V3
        }
        (ServerApi::Auto, _) => Generation::V1,
    }
}

/// One request ready for one server, and how its answer is to be read.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) generation: Generation,
    /// Sent to the v3 admin API (with the login's token).
    pub(crate) admin: bool,
    pub(crate) call: Call,
}

impl Prepared {
    /// Turns `op` into the request of `generation`. `admin`: the v3 admin API may be used.
    /// An operation the server line cannot answer is refused with an error naming `server`
    /// and its line, before anything is sent.
    pub(crate) fn new(
        op: &Operation<'_>,
        generation: Generation,
        line: Line,
        admin: bool,
        server: &str,
    ) -> Result<Prepared, Error> {
        match generation {
            Generation::V1 => Ok(Prepared {
                generation,
                admin: false,
                call: v1::request(op),
            }),
            Generation::V3 => match v3::request(op, admin, line == Line::V1OpenOnly) {
                Ok(call) => Ok(Prepared {
                    generation,
                    admin: admin && call.path().starts_with("/nacos/v3/admin/"),
                    call,
                }),
                Err(refusal) => Err(Error::Server {
                    status: 501,
                    message: format!(
                        "server {server} ({}) {} ({})",
                        describe(line, generation),
                        refusal.explain(),
                        op.name()
                    ),
                    server: server.to_owned(),
                }),
            },
        }
    }
}

/// How errors name what a server speaks: its line when known, else the generation used.
pub(crate) fn describe(line: Line, generation: Generation) -> String {
    match (line, generation) {
        (Line::Unknown, Generation::V1) => "V1 API".to_owned(),
        (Line::Unknown, Generation::V3) => "v3 client API".to_owned(),
        (line, _) => line.to_string(),
    }
}

/// A 2xx answer to one operation, read by the generation that sent it.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) body: String,
    pub(crate) generation: Generation,
    pub(crate) admin: bool,
    pub(crate) line: Line,
    pub(crate) server: String,
}

impl Reply {
    fn failed(&self, op: &Operation<'_>, e: ReadError) -> Error {
        match e {
            ReadError::Decode(e) => e,
            ReadError::Failed(f) => Error::Server {
                status: 200,
                message: format!(
                    "{} answered code {}: {} ({})",
                    op.name(),
                    f.code,
                    f.message,
                    describe(self.line, self.generation)
                ),
                server: self.server.clone(),
            },
        }
    }

    pub(crate) fn done(self, op: &Operation<'_>) -> Result<(), Error> {
        match self.generation {
            Generation::V1 => {
                v1::read_done(op, &self.body);
                Ok(())
            }
            Generation::V3 => v3::read_done(&self.body).map_err(|e| self.failed(op, e)),
        }
    }

    pub(crate) fn beat(self, beat: &BeatRequest) -> Result<BeatInfo, Error> {
        match self.generation {
            Generation::V1 => v1::read_beat(&self.body),
            Generation::V3 => {
                v3::read_beat(beat, &self.body).map_err(|e| self.failed(&Operation::Beat(beat), e))
            }
        }
    }

    pub(crate) fn service(self, query: &ListQuery) -> Result<ServiceInfo, Error> {
        match self.generation {
            Generation::V1 => v1::read_list(query, &self.body),
            Generation::V3 => v3::read_list(query, &self.body)
                .map_err(|e| self.failed(&Operation::List(query), e)),
        }
    }

    pub(crate) fn instance(self, key: &InstanceKey) -> Result<Instance, Error> {
        let op = Operation::Get(key);
        match self.generation {
            Generation::V1 => v1::read_instance(&self.body),
            Generation::V3 => match v3::read_instance(key, self.admin, &self.body) {
                Ok(Some(instance)) => Ok(instance),
                Ok(None) => Err(Error::Server {
                    status: 404,
                    message: format!(
                        "no instance {}:{} in cluster {} of {} ({}; the v3 client list, read \
                         for want of the admin API, leaves disabled instances out)",
                        key.ip,
                        key.port,
                        key.cluster_name,
                        key.service.grouped_name(),
                        describe(self.line, self.generation)
                    ),
                    server: self.server.clone(),
                }),
                Err(e) => Err(self.failed(&op, e)),
            },
        }
    }

    pub(crate) fn services(self, query: &ServicesQuery) -> Result<ServiceList, Error> {
        match self.generation {
            Generation::V1 => v1::read_services(&self.body),
            Generation::V3 => v3::read_services(query, &self.body)
                .map_err(|e| self.failed(&Operation::ListServices(query), e)),
        }
    }
}

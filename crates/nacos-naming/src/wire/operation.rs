//! What a call asks of the servers, said once for every API generation, and what comes back.
//!
//! A call builds an [`Operation`]; the transport picks the generation each server speaks and
//! hands the operation to [`v1`](crate::wire::v1) or [`v3`](crate::wire::v3), which turn it
//! into a request; the [`Reply`](crate::wire::generation::Reply) reads the answer back into the
//! same types whichever generation sent it.

use crate::calls::heartbeat_request::BeatRequest;
use crate::calls::list::ListQuery;
use crate::calls::params::InstanceKey;
use crate::calls::register::Registration;
use crate::calls::service_list::ServicesQuery;

/// One operation of the naming API.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Operation<'a> {
    /// Register (or register again) an instance with every field.
    Register(&'a Registration),
    /// Remove an instance; `ephemeral` says which store holds it.
    Deregister {
        instance: &'a InstanceKey,
        ephemeral: bool,
    },
    /// Keep an ephemeral instance alive.
    Beat(&'a BeatRequest),
    /// The instances of a service.
    List(&'a ListQuery),
    /// One instance.
    Get(&'a InstanceKey),
    /// Replace an instance's weight, enabled flag and metadata.
    Update(&'a Registration),
    /// A page of the service names of a group.
    ListServices(&'a ServicesQuery),
}

impl Operation<'_> {
    /// How errors and logs name the operation.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Operation::Register(_) => "register",
            Operation::Deregister { .. } => "deregister",
            Operation::Beat(_) => "heartbeat",
            Operation::List(_) => "list instances",
            Operation::Get(_) => "get instance",
            Operation::Update(_) => "modify instance",
            Operation::ListServices(_) => "list services",
        }
    }

    /// Whether a V1 server answers this with 404 only when it has no such path: V1 `get` and
    /// `modify` also answer 404 for an unknown instance.
    pub(crate) fn v1_404_means_no_path(&self) -> bool {
        !matches!(self, Operation::Get(_) | Operation::Update(_))
    }

    /// A list of every cluster: on v3 one request answers it only past 3.1.
    pub(crate) fn lists_every_cluster(&self) -> bool {
        matches!(self, Operation::List(q) if q.clusters.is_empty())
    }
}

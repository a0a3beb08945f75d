//! Reading v3 parameters: a missing one is 400 with code 10000; one that does not parse is 400
//! as the official server's parameter binding answers it (plain text on 3.0–3.1, code 20002
//! in the envelope on 3.2).

use crate::params::Params;
use crate::reply::{ApiError, Reply};
use crate::version::NacosVersion;

use super::envelope::{self, Code};

/// A refusal, ready to send (boxed: it travels in `Err` through every parameter check).
pub(crate) type Refusal = Box<Reply>;

/// The instance a client call names (official `InstanceForm`, defaults filled in).
pub(crate) struct InstanceForm {
    pub(crate) namespace: String,
    /// `group@@name`.
    pub(crate) service: String,
    pub(crate) cluster: String,
    pub(crate) ip: String,
    pub(crate) port: u16,
}

/// 400 `parameter missing` for a required parameter that is absent or blank.
pub(crate) fn missing(name: &str, java_type: &str) -> Refusal {
    refuse(envelope::failure(
        400,
        Code::ParameterMissing,
        Some(format!(
            "Required parameter '{name}' type {java_type} is not present"
        )),
    ))
}

/// An answer as a refusal.
pub(crate) fn refuse(reply: Reply) -> Refusal {
    Box::new(reply)
}

/// 400 for a parameter that does not parse or is not allowed.
pub(crate) fn invalid(version: NacosVersion, e: ApiError) -> Refusal {
    refuse(match version {
        NacosVersion::V3_2 => envelope::failure(400, Code::ParameterValidate, Some(e.message)),
        _ => Reply::plain(e.message).with_status(400),
    })
}

/// Fails with [`missing`] unless `name` is present and not blank.
pub(crate) fn require(p: &Params, name: &str, java_type: &str) -> Result<(), Refusal> {
    match p.get(name) {
        Some(value) if !value.trim().is_empty() => Ok(()),
        _ => Err(missing(name, java_type)),
    }
}

/// The service a call names: `namespaceId`, `groupName`, `serviceName` (required).
pub(crate) fn service(version: NacosVersion, p: &Params) -> Result<(String, String), Refusal> {
    require(p, "serviceName", "String")?;
    let namespace = p.namespace().map_err(|e| invalid(version, e))?;
    let service = p.grouped_service().map_err(|e| invalid(version, e))?;
    Ok((namespace, service))
}

/// The instance a call names; `ip` and `port` required, `clusterName` DEFAULT when blank.
pub(crate) fn instance(version: NacosVersion, p: &Params) -> Result<InstanceForm, Refusal> {
    let (namespace, service) = service(version, p)?;
    require(p, "ip", "String")?;
    require(p, "port", "Integer")?;
    Ok(InstanceForm {
        namespace,
        service,
        cluster: p.cluster().map_err(|e| invalid(version, e))?,
        ip: p.ip().map_err(|e| invalid(version, e))?,
        port: p.port().map_err(|e| invalid(version, e))?,
    })
}

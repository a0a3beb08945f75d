//! The Nacos 3.x API: the v3 client API (register, renew, deregister, list), the v3 login, and
//! part of the v3 admin API (instance register, deregister, detail, update and list, service
//! create, detail, update and delete, the service list, the server state);
//! answers in the v3 envelope (`envelope`).

mod admin;
mod client;
pub(crate) mod envelope;
mod form;
mod login;
mod service_admin;

use crate::handlers::Context;
use crate::params::Params;
use crate::reply::Reply;
use crate::version::NacosVersion;

/// The v3 calls, by method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `POST /nacos/v3/client/ns/instance`: register, or renew with `heartBeat=true`.
    Register,
    /// `DELETE /nacos/v3/client/ns/instance`.
    Deregister,
    /// `GET /nacos/v3/client/ns/instance/list`.
    List,
    /// `POST /nacos/v3/auth/user/login`.
    Login,
    /// `GET /nacos/v3/admin/ns/instance`.
    AdminInstance,
    /// `POST /nacos/v3/admin/ns/instance`.
    AdminRegister,
    /// `DELETE /nacos/v3/admin/ns/instance`.
    AdminDeregister,
    /// `GET /nacos/v3/admin/ns/instance/list`.
    AdminList,
    /// `PUT /nacos/v3/admin/ns/instance`.
    AdminUpdate,
    /// `POST /nacos/v3/admin/ns/service`.
    AdminCreateService,
    /// `GET /nacos/v3/admin/ns/service`.
    AdminService,
    /// `PUT /nacos/v3/admin/ns/service`.
    AdminUpdateService,
    /// `DELETE /nacos/v3/admin/ns/service`.
    AdminDeleteService,
    /// `GET /nacos/v3/admin/ns/service/list`.
    AdminServices,
    /// `GET /nacos/v3/admin/core/state`.
    State,
    /// `GET /nacos/v3/admin/core/state/liveness` and `…/readiness`.
    Alive,
}

impl Call {
    /// The call of a v3 path (without a trailing slash); `Err(true)` when the path exists but
    /// not for that method.
    pub(crate) fn find(version: NacosVersion, method: &str, path: &str) -> Result<Call, bool> {
        if !version.has_v3() {
            return Err(false);
        }
        let calls: &[(&str, Call)] = match path {
            "/nacos/v3/client/ns/instance" => {
                &[("POST", Call::Register), ("DELETE", Call::Deregister)]
            }
            "/nacos/v3/client/ns/instance/list" => &[("GET", Call::List)],
            "/nacos/v3/auth/user/login" => &[("POST", Call::Login)],
            "/nacos/v3/admin/ns/instance" => &[
                ("GET", Call::AdminInstance),
                ("PUT", Call::AdminUpdate),
                ("POST", Call::AdminRegister),
                ("DELETE", Call::AdminDeregister),
            ],
            "/nacos/v3/admin/ns/instance/list" => &[("GET", Call::AdminList)],
            "/nacos/v3/admin/ns/service" => &[
                ("POST", Call::AdminCreateService),
                ("GET", Call::AdminService),
                ("PUT", Call::AdminUpdateService),
                ("DELETE", Call::AdminDeleteService),
            ],
            "/nacos/v3/admin/ns/service/list" => &[("GET", Call::AdminServices)],
            "/nacos/v3/admin/core/state" => &[("GET", Call::State)],
            "/nacos/v3/admin/core/state/liveness" | "/nacos/v3/admin/core/state/readiness" => {
                &[("GET", Call::Alive)]
            }
            _ => return Err(false),
        };
        calls
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, c)| *c)
            .ok_or(true)
    }

    /// Whether the call needs no token at all.
    pub(crate) fn is_open(self) -> bool {
        matches!(self, Call::Login | Call::State | Call::Alive)
    }

    /// Whether the call is an admin call: on 3.x it needs a token even without auth mode.
    pub(crate) fn is_admin(self) -> bool {
        matches!(
            self,
            Call::AdminInstance
                | Call::AdminUpdate
                | Call::AdminRegister
                | Call::AdminDeregister
                | Call::AdminList
                | Call::AdminCreateService
                | Call::AdminService
                | Call::AdminUpdateService
                | Call::AdminDeleteService
                | Call::AdminServices
        )
    }
}

/// Answers one v3 call. Refusals are answers too (in the envelope, with their status).
pub(crate) fn handle(cx: &Context, call: Call, p: &Params) -> Reply {
    let answer = match call {
        Call::Register => client::register(cx, p),
        Call::Deregister => client::deregister(cx, p),
        Call::List => client::list(cx, p),
        Call::Login => login::login(cx, p),
        Call::AdminInstance => admin::instance(cx, p),
        Call::AdminUpdate => admin::update(cx, p),
        // The admin register and deregister are the client API's, without the renew.
        Call::AdminRegister => client::register_instance(cx, p),
        Call::AdminDeregister => client::deregister(cx, p),
        Call::AdminList => admin::list(cx, p),
        Call::AdminCreateService => service_admin::create(cx, p),
        Call::AdminService => service_admin::detail(cx, p),
        Call::AdminUpdateService => service_admin::update(cx, p),
        Call::AdminDeleteService => service_admin::delete(cx, p),
        Call::AdminServices => admin::services(cx, p),
        Call::State => Ok(admin::state(cx)),
        Call::Alive => Ok(envelope::success("ok")),
    };
    answer.unwrap_or_else(|refusal| *refusal)
}

//! Which calls each server line answers, and which need a token.
//!
//! 1.4 and 2.x serve the V1 API. 3.0–3.1 add the v3 API and refuse the V1 admin-type calls
//! (instance get and modify, the service calls but its list) with 410 Gone. 3.2 serves no V1
//! naming path (404) but the operator metrics; the V1 logins stay. On 3.x an admin call needs
//! a token even without auth mode.

use crate::handlers::{Context, Route};
use crate::reply::{ApiError, Reply};
use crate::v3::{self, envelope};
use crate::version::NacosVersion;

/// What becomes of a request, before its parameters are read.
pub(crate) enum Door {
    /// Served by this route.
    Open(Route),
    /// Refused with this answer, as the official server of the line refuses it.
    Shut(Reply),
    /// No such path (404) or method (405).
    Missing(ApiError),
}

/// The route of `method path` on `version`.
pub(crate) fn route(version: NacosVersion, method: &str, path: &str) -> Door {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let found = if trimmed.starts_with("/nacos/v3/") {
        v3::Call::find(version, method, trimmed).map(Route::V3)
    } else {
        Route::find(method, path)
    };
    let route = match found {
        Ok(route) => route,
        Err(true) => return Door::Missing(ApiError::method_not_allowed(method)),
        Err(false) if version.has_v3() => return Door::Shut(no_endpoint(method, path)),
        Err(false) => return Door::Missing(ApiError::not_found(format!("no such path: {path}"))),
    };
    if let Route::Console(_) = route {
        // The devserver's own page: the same on every line.
        return Door::Open(route);
    }
    match version {
        NacosVersion::V1_4 | NacosVersion::V2 => Door::Open(route),
        NacosVersion::V3_1 => match replacement(route) {
            Some(alternative) => Door::Shut(gone(alternative, path)),
            None if route == Route::ServerState => Door::Shut(no_endpoint(method, path)),
            None => Door::Open(route),
        },
        NacosVersion::V3_2 => {
            let v1_naming = trimmed.starts_with("/nacos/v1/ns/") && route != Route::Metrics;
            if v1_naming || route == Route::ServerState {
                Door::Shut(no_endpoint(method, path))
            } else {
                Door::Open(route)
            }
        }
    }
}

/// The v3 call official 3.0–3.1 name instead of a V1 admin-type call (which they refuse).
fn replacement(route: Route) -> Option<&'static str> {
    Some(match route {
        Route::Modify => "PUT ${contextPath:nacos}/v3/admin/ns/instance",
        Route::GetInstance => "GET ${contextPath:nacos}/v3/admin/ns/instance",
        Route::CreateService => "POST ${contextPath:nacos}/v3/admin/ns/service",
        Route::UpdateService => "PUT ${contextPath:nacos}/v3/admin/ns/service",
        Route::DeleteService => "DELETE ${contextPath:nacos}/v3/admin/ns/service",
        Route::GetService => "GET ${contextPath:nacos}/v3/admin/ns/service",
        _ => return None,
    })
}

/// 410 Gone, the official body: the error page whose message is a v3 envelope (code 40000)
/// naming the replacement (its placeholder unexpanded, as official servers send it).
fn gone(alternative: &str, path: &str) -> Reply {
    let message = format!(
        "Current API will be deprecated, please use API(s) `{alternative}` instead, or set \
         `nacos.core.api.compatibility.admin.enabled=true` in application.properties."
    );
    let message = envelope::failure_text(envelope::Code::ApiDeprecated, &message);
    envelope::error_page(410, &message, path)
}

/// 404 for a path the line does not serve, as its web framework words it.
fn no_endpoint(method: &str, path: &str) -> Reply {
    envelope::error_page(404, &format!("No endpoint {method} {path}."), path)
}

/// The refusal of a call without a live token, when it needs one: in auth mode every call
/// but the open ones, on 3.x also the admin calls. 3.x refuses with its error page.
pub(crate) fn refuse_token(
    cx: &Context,
    route: Route,
    token: Option<&str>,
    path: &str,
) -> Option<Result<Reply, ApiError>> {
    let auth = cx.auth.as_ref()?;
    let admin = cx.version.has_v3() && matches!(route, Route::V3(call) if call.is_admin());
    if route.is_open() || !(cx.client_auth || admin) {
        return None;
    }
    let refused = auth.check(token).err()?;
    Some(if cx.version.has_v3() {
        Ok(envelope::error_page(403, refused.message(), path))
    } else {
        Err(ApiError::forbidden(refused.message()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(version: NacosVersion, method: &str, path: &str) -> u16 {
        match route(version, method, path) {
            Door::Open(_) => 200,
            Door::Shut(reply) => reply.status,
            Door::Missing(e) => e.status,
        }
    }

    #[test]
    fn each_line_opens_its_own_doors() {
        use NacosVersion::*;
        let cases: &[(&str, &str, [u16; 4])] = &[
            ("POST", "/nacos/v1/ns/instance", [200, 200, 200, 404]),
            ("PUT", "/nacos/v1/ns/instance", [200, 200, 410, 404]),
            ("GET", "/nacos/v1/ns/instance", [200, 200, 410, 404]),
            ("GET", "/nacos/v1/ns/instance/list", [200, 200, 200, 404]),
            ("PUT", "/nacos/v1/ns/instance/beat", [200, 200, 200, 404]),
            ("GET", "/nacos/v1/ns/service/list", [200, 200, 200, 404]),
            ("POST", "/nacos/v1/ns/service", [200, 200, 410, 404]),
            ("GET", "/nacos/v1/ns/operator/metrics", [200, 200, 200, 200]),
            ("POST", "/nacos/v1/auth/users/login", [200, 200, 200, 200]),
            (
                "GET",
                "/nacos/v1/console/server/state",
                [200, 200, 404, 404],
            ),
            ("POST", "/nacos/v3/client/ns/instance", [404, 404, 200, 200]),
            (
                "GET",
                "/nacos/v3/client/ns/instance/list",
                [404, 404, 200, 200],
            ),
            ("POST", "/nacos/v3/auth/user/login", [404, 404, 200, 200]),
            ("PUT", "/nacos/v3/client/ns/instance", [404, 404, 405, 405]),
            ("DELETE", "/nacos/v3/admin/ns/service", [404, 404, 200, 200]),
            ("PATCH", "/nacos/v3/admin/ns/service", [404, 404, 405, 405]),
        ];
        for (method, path, expected) in cases {
            let got = [V1_4, V2, V3_1, V3_2].map(|v| status(v, method, path));
            assert_eq!(&got, expected, "{method} {path}");
        }
    }
}

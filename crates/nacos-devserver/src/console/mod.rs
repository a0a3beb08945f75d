//! The web console at `/nacos/`: one page (HTML, a script and a style sheet kept here as plain
//! files and built into the binary), and the JSON it reads and writes.
//!
//! The page polls `console-api/overview` and, for the service shown, `console-api/instances`
//! about once a second, and redraws only what changed. Polling rather than a stream
//! (server-sent events): every answer is a short request like any other, bounded by the
//! request timeout and the connection cap, with nothing held open per browser tab.
//!
//! Its calls live under `/nacos/console-api/` and answer on every server line, because no
//! official API fits all of them: 3.2 serves no V1 naming path, 3.0–3.1 refuse the V1 modify,
//! the v3 admin calls need a token even without auth mode, and no official call lists the
//! namespaces with their services' counts, or a service's instances without the protection
//! threshold applied and with the disabled ones. The writes are the V1 calls' own handlers
//! (same parameters, same checks, same log lines). In auth mode they need a token, as every
//! call does: the page asks for the user and password, logs in with `/nacos/v1/auth/login` and
//! sends the token with each call (until the tab is closed).

mod overview;

use crate::handlers::{self, Context};
use crate::params::Params;
use crate::reply::{ApiError, Reply};

const PAGE: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("console.js");
const STYLE: &str = include_str!("console.css");

/// The console's calls, by method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `GET /nacos`: sent on to `/nacos/`, where the page's relative links resolve.
    Redirect,
    /// `GET /nacos/` (or `/nacos/index.html`).
    Page,
    /// `GET /nacos/console/console.js`.
    Script,
    /// `GET /nacos/console/console.css`.
    Style,
    /// `GET /nacos/console-api/overview`: the namespaces and their services, with counts.
    Overview,
    /// `GET /nacos/console-api/instances`: every instance of one service.
    Instances,
    /// `POST /nacos/console-api/instance`: the V1 register.
    Register,
    /// `DELETE /nacos/console-api/instance`: the V1 deregister.
    Deregister,
    /// `PUT /nacos/console-api/instance`: the V1 modify.
    Modify,
}

impl Call {
    /// The call of `method path`: `None` when the path is not the console's, `Err(())` when
    /// it is but not for that method.
    pub(crate) fn find(method: &str, path: &str) -> Option<Result<Call, ()>> {
        let calls: &[(&str, Call)] = match path {
            "/nacos" => &[("GET", Call::Redirect)],
            "/nacos/" | "/nacos/index.html" => &[("GET", Call::Page)],
            "/nacos/console/console.js" => &[("GET", Call::Script)],
            "/nacos/console/console.css" => &[("GET", Call::Style)],
            "/nacos/console-api/overview" => &[("GET", Call::Overview)],
            "/nacos/console-api/instances" => &[("GET", Call::Instances)],
            "/nacos/console-api/instance" => &[
                ("POST", Call::Register),
                ("DELETE", Call::Deregister),
                ("PUT", Call::Modify),
            ],
            _ => return None,
        };
        let found = calls.iter().find(|(m, _)| *m == method).map(|(_, c)| *c);
        Some(found.ok_or(()))
    }

    /// The page and its files are served without a token (the page asks for a login when its
    /// calls are refused); the calls need one in auth mode.
    pub(crate) fn is_open(self) -> bool {
        matches!(
            self,
            Call::Redirect | Call::Page | Call::Script | Call::Style
        )
    }

    /// The endpoint's name in metrics.
    pub(crate) fn name(self) -> &'static str {
        if self.is_open() {
            "console_page"
        } else {
            "console_api"
        }
    }
}

/// Answers one console call.
pub(crate) fn handle(cx: &Context, call: Call, p: &Params) -> Result<Reply, ApiError> {
    match call {
        Call::Redirect => Ok(Reply::redirect("/nacos/")),
        Call::Page => Ok(Reply::file(PAGE, "text/html;charset=UTF-8")),
        Call::Script => Ok(Reply::file(SCRIPT, "text/javascript;charset=UTF-8")),
        Call::Style => Ok(Reply::file(STYLE, "text/css;charset=UTF-8")),
        Call::Overview => Ok(Reply::to_json(&overview::overview(cx))),
        Call::Instances => overview::instances(cx, p).map(|view| Reply::to_json(&view)),
        Call::Register => handlers::register(cx, p),
        Call::Deregister => handlers::deregister(cx, p),
        Call::Modify => handlers::modify(cx, p),
    }
}

//! The v3 login: `POST /nacos/v3/auth/user/login` answers the V1 login's JSON (no envelope) and
//! the token again as `Authorization: Bearer <token>`.

use crate::handlers::{self, Context};
use crate::params::Params;
use crate::reply::Reply;

use super::envelope::{self, Code};
use super::form::{self, Refusal};

pub(crate) fn login(cx: &Context, p: &Params) -> Result<Reply, Refusal> {
    form::require(p, "username", "String")?;
    form::require(p, "password", "String")?;
    let (username, password) = (
        p.get("username").unwrap_or_default(),
        p.get("password").unwrap_or_default(),
    );
    match handlers::issue_token(cx, username, password) {
        Some(login) => {
            let token = login.access_token.clone();
            let mut reply = Reply::to_json(&login);
            reply.bearer = Some(token);
            Ok(reply)
        }
        None => Err(form::refuse(envelope::failure(
            403,
            Code::AccessDenied,
            Some("unknown user!".into()),
        ))),
    }
}

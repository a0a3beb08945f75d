//! How 3.x answers: the v3 envelope `{code, message, data}` with its error codes, and the error
//! page its web framework writes for refused and unknown paths.

use std::time::SystemTime;

use serde::Serialize;
use time::OffsetDateTime;

use crate::reply::Reply;

/// The codes of the v3 envelope the devserver answers with (official `ErrorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    ParameterMissing,
    AccessDenied,
    ParameterValidate,
    ResourceNotFound,
    WeightError,
    InstanceMetadataError,
    InstanceNotFound,
    InstanceError,
    SelectorError,
    ServiceAlreadyExist,
    ServiceNotExist,
    ServiceDeleteFailure,
    ServerError,
    ApiDeprecated,
}

impl Code {
    pub(crate) fn number(self) -> u32 {
        match self {
            Code::ParameterMissing => 10000,
            Code::AccessDenied => 10001,
            Code::ParameterValidate => 20002,
            Code::ResourceNotFound => 20004,
            Code::WeightError => 21001,
            Code::InstanceMetadataError => 21002,
            Code::InstanceNotFound => 21003,
            Code::InstanceError => 21004,
            Code::SelectorError => 21006,
            Code::ServiceAlreadyExist => 21007,
            Code::ServiceNotExist => 21008,
            Code::ServiceDeleteFailure => 21009,
            Code::ServerError => 30000,
            Code::ApiDeprecated => 40000,
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            Code::ParameterMissing => "parameter missing",
            Code::AccessDenied => "access denied",
            Code::ParameterValidate => "parameter validate error",
            Code::ResourceNotFound => "resource not found",
            Code::WeightError => "weight error",
            Code::InstanceMetadataError => "instance metadata error",
            Code::InstanceNotFound => "instance not found",
            Code::InstanceError => "instance error",
            Code::SelectorError => "selector error",
            Code::ServiceAlreadyExist => "service already exist",
            Code::ServiceNotExist => "service not exist",
            Code::ServiceDeleteFailure => "service delete failure",
            Code::ServerError => "server error",
            Code::ApiDeprecated => "API deprecated.",
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    code: u32,
    message: &'a str,
    data: T,
}

/// `{"code":0,"message":"success","data":…}`.
pub(crate) fn success(data: impl Serialize) -> Reply {
    Reply::to_json(&Envelope {
        code: 0,
        message: "success",
        data,
    })
}

/// A refusal in the envelope: `{"code":<code>,"message":<the code's message>,"data":<detail>}`
/// with the HTTP status given (official servers send some with 200).
pub(crate) fn failure(status: u16, code: Code, detail: Option<String>) -> Reply {
    Reply::to_json(&Envelope {
        code: code.number(),
        message: code.message(),
        data: detail,
    })
    .with_status(status)
}

/// The envelope of a refusal, as the error page's message carries it.
pub(crate) fn failure_text(code: Code, message: &str) -> String {
    serde_json::to_string(&Envelope {
        code: code.number(),
        message,
        data: None::<()>,
    })
    .unwrap_or_default()
}

#[derive(Serialize)]
struct ErrorPage<'a> {
    timestamp: String,
    status: u16,
    error: &'a str,
    message: &'a str,
    path: &'a str,
}

/// The error page official 3.x servers write when a filter refuses a call (403, 410) or no
/// endpoint matches (404): `{"timestamp","status","error","message","path"}`.
pub(crate) fn error_page(status: u16, message: &str, path: &str) -> Reply {
    let error = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    Reply::to_json(&ErrorPage {
        timestamp: timestamp(SystemTime::now()),
        status,
        error,
        message,
        path,
    })
    .with_status(status)
}

/// `2026-03-29T10:15:30.123+00:00`, the form the official error page uses.
fn timestamp(at: SystemTime) -> String {
    let format = time::format_description::parse_borrowed::<2>(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+00:00",
    );
    match format {
        Ok(format) => OffsetDateTime::from(at).format(&format).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_and_error_pages() {
        let ok: serde_json::Value = serde_json::from_slice(&success("ok").body).unwrap();
        assert_eq!(
            ok,
            serde_json::json!({"code": 0, "message": "success", "data": "ok"})
        );
        let refused = failure(200, Code::InstanceNotFound, None);
        assert_eq!(refused.status, 200);
        let body: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"code": 21003, "message": "instance not found", "data": null})
        );
        let page = error_page(410, "gone", "/nacos/v1/ns/instance");
        assert_eq!(page.status, 410);
        let body: serde_json::Value = serde_json::from_slice(&page.body).unwrap();
        assert_eq!(body["error"], "Gone");
        assert_eq!(body["path"], "/nacos/v1/ns/instance");
        let stamp = body["timestamp"].as_str().unwrap();
        assert_eq!(
            stamp.len(),
            "2026-03-29T10:15:30.123+00:00".len(),
            "{stamp}"
        );
        assert!(stamp.ends_with("+00:00"), "{stamp}");
    }
}

//! What a handler answers: a body with its status, or an error with the text official servers
//! give (`caused: <reason>;`).

use bytes::Bytes;

use crate::store::Receipt;

/// A refused request: the status and the reason, sent as plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl ApiError {
    /// 400: a missing or bad parameter; the message names it.
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            message: message.into(),
        }
    }

    /// 403: no valid credentials or token.
    pub(crate) fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 403,
            message: message.into(),
        }
    }

    /// 404: an unknown service, instance or path.
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            message: message.into(),
        }
    }

    /// 500: the server could not do what was asked (a failed disk write).
    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 500,
            message: message.into(),
        }
    }

    /// The body official servers send for an error.
    pub(crate) fn body(&self) -> Bytes {
        Bytes::from(format!("caused: {};", self.message))
    }
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) body: Bytes,
    pub(crate) json: bool,
    /// Persistent state to write before answering.
    pub(crate) persist: Option<Receipt>,
}

impl Reply {
    /// `ok`, the answer of every write call.
    pub(crate) fn ok() -> Reply {
        Reply::text("ok")
    }

    /// A plain-text answer.
    pub(crate) fn text(text: &'static str) -> Reply {
        Reply {
            body: Bytes::from_static(text.as_bytes()),
            json: false,
            persist: None,
        }
    }

    /// A JSON answer rendered already.
    pub(crate) fn json(body: Bytes) -> Reply {
        Reply {
            body,
            json: true,
            persist: None,
        }
    }

    /// A JSON answer from a value.
    pub(crate) fn to_json(value: &impl serde::Serialize) -> Reply {
        // Plain data structures always serialize.
        Reply::json(Bytes::from(serde_json::to_vec(value).unwrap_or_default()))
    }

    /// The same answer, once `persist` (when some) is on disk.
    pub(crate) fn persisting(mut self, persist: Option<Receipt>) -> Reply {
        self.persist = persist;
        self
    }
}

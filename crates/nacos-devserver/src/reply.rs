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

    /// 405: a known path called with a method it does not serve.
    pub(crate) fn method_not_allowed(method: &str) -> ApiError {
        ApiError {
            status: 405,
            message: format!("method {method} not allowed"),
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
    /// The HTTP status: 200 but for answers shaped as the official server's own refusals
    /// (the v3 envelope of an error, the 410 and 404 of closed paths).
    pub(crate) status: u16,
    /// A token to send back as `Authorization: Bearer <token>` (the v3 login).
    pub(crate) bearer: Option<String>,
    /// Persistent state to write before answering.
    pub(crate) persist: Option<Receipt>,
    /// The media type of a file (the console's page), instead of JSON or plain text.
    pub(crate) media: Option<&'static str>,
    /// Where a redirect points.
    pub(crate) location: Option<&'static str>,
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
            status: 200,
            bearer: None,
            persist: None,
            media: None,
            location: None,
        }
    }

    /// A plain-text answer made at run time.
    pub(crate) fn plain(text: String) -> Reply {
        Reply {
            json: false,
            ..Reply::json(Bytes::from(text))
        }
    }

    /// A JSON answer written in the source.
    pub(crate) fn text_json(json: &'static str) -> Reply {
        Reply::json(Bytes::from_static(json.as_bytes()))
    }

    /// A JSON answer rendered already.
    pub(crate) fn json(body: Bytes) -> Reply {
        Reply {
            body,
            json: true,
            status: 200,
            bearer: None,
            persist: None,
            media: None,
            location: None,
        }
    }

    /// A file built into the server, of this media type.
    pub(crate) fn file(body: &'static str, media: &'static str) -> Reply {
        Reply {
            media: Some(media),
            ..Reply::text(body)
        }
    }

    /// 301 to `location`.
    pub(crate) fn redirect(location: &'static str) -> Reply {
        Reply {
            location: Some(location),
            ..Reply::text("").with_status(301)
        }
    }

    /// A JSON answer from a value.
    pub(crate) fn to_json(value: &impl serde::Serialize) -> Reply {
        // Plain data structures always serialize.
        Reply::json(Bytes::from(serde_json::to_vec(value).unwrap_or_default()))
    }

    /// The same answer with another HTTP status.
    pub(crate) fn with_status(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }

    /// The same answer, once `persist` (when some) is on disk.
    pub(crate) fn persisting(mut self, persist: Option<Receipt>) -> Reply {
        self.persist = persist;
        self
    }
}

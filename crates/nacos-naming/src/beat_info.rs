//! The server's answer to a heartbeat.

use serde::{Deserialize, Serialize};

use crate::wire::lenient;

/// Beat answer code: the beat was accepted.
pub const BEAT_OK: i64 = 10200;
/// Beat answer code: the server does not know the instance (restart, expiry) and wants it
/// registered again.
pub const BEAT_RESOURCE_NOT_FOUND: i64 = 20404;

/// The answer to [`send_heartbeat`](crate::NamingClient::send_heartbeat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BeatInfo {
    /// The beat interval the server asks for, in milliseconds.
    #[serde(default = "default_interval", deserialize_with = "lenient::uint")]
    pub client_beat_interval: u64,
    /// [`BEAT_OK`], or [`BEAT_RESOURCE_NOT_FOUND`] when the server lost the instance.
    #[serde(default = "default_code", deserialize_with = "lenient::int")]
    pub code: i64,
    /// Whether the server accepts light beats (no instance body).
    #[serde(default, deserialize_with = "lenient::bool_false")]
    pub light_beat_enabled: bool,
}

impl BeatInfo {
    /// Whether the server no longer knows the instance and it must be registered again.
    pub fn instance_not_found(&self) -> bool {
        self.code == BEAT_RESOURCE_NOT_FOUND
    }
}

fn default_interval() -> u64 {
    5000
}

fn default_code() -> i64 {
    BEAT_OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_official_answer_and_defaults() {
        let b: BeatInfo = serde_json::from_str(
            r#"{"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true}"#,
        )
        .unwrap();
        assert_eq!(b.client_beat_interval, 5000);
        assert!(b.light_beat_enabled && !b.instance_not_found());
        let b: BeatInfo = serde_json::from_str(r#"{"code":"20404"}"#).unwrap();
        assert!(b.instance_not_found());
        assert_eq!(b.client_beat_interval, 5000);
    }
}

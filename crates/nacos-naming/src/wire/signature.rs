//! AK/SK request signing for the naming API.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::hmac;

use crate::service_info::GROUP_SEPARATOR;

/// The string Nacos signs for a naming call: the epoch-millisecond timestamp, then
/// `@@group@@service` when a group is sent and the name is not grouped yet, `@@service`
/// otherwise, nothing when the call names no service.
pub(crate) fn string_to_sign(
    timestamp_ms: u128,
    group_name: Option<&str>,
    service_name: Option<&str>,
) -> String {
    match (service_name, group_name) {
        (None, _) | (Some(""), _) => timestamp_ms.to_string(),
        (Some(service), Some(group)) if !group.is_empty() && !service.contains(GROUP_SEPARATOR) => {
            format!("{timestamp_ms}{GROUP_SEPARATOR}{group}{GROUP_SEPARATOR}{service}")
        }
        (Some(service), _) => format!("{timestamp_ms}{GROUP_SEPARATOR}{service}"),
    }
}

/// base64(HMAC-SHA1(secret_key, data)), the `signature` parameter.
pub(crate) fn sign(secret_key: &str, data: &str) -> String {
    // SHA-1 is what the Nacos servers verify; the name warns against new designs, not this.
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret_key.as_bytes());
    STANDARD.encode(hmac::sign(&key, data.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_protocol_test_vector() {
        let data = string_to_sign(1_700_000_000_000, Some("G1"), Some("svc"));
        assert_eq!(data, "1700000000000@@G1@@svc");
        assert_eq!(sign("SK1", &data), "OC5oUZ7h+UlxY13mNdRjd/T9nOg=");
    }

    #[test]
    fn builds_the_string_for_every_shape_of_name() {
        assert_eq!(string_to_sign(5, Some("G"), Some("G2@@svc")), "5@@G2@@svc");
        assert_eq!(string_to_sign(5, None, Some("svc")), "5@@svc");
        assert_eq!(string_to_sign(5, Some(""), Some("svc")), "5@@svc");
        assert_eq!(string_to_sign(5, Some("G"), None), "5");
        assert_eq!(string_to_sign(5, Some("G"), Some("")), "5");
    }
}

//! Parameter checks made before anything is sent, so a caller's mistake never reaches a server.

use std::net::IpAddr;

use crate::error::Error;
use crate::service_info::GROUP_SEPARATOR;

/// Largest weight servers accept.
pub(crate) const MAX_WEIGHT: f64 = 10_000.0;

pub(crate) fn service_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        return Err(Error::invalid("service_name", "must not be blank"));
    }
    if has_control(name) {
        return Err(Error::invalid(
            "service_name",
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Whether `text` holds a control character. Names are nearly always ASCII, checked a byte at a
/// time; only other text is decoded (C1 controls are two bytes in UTF-8). Every pick validates
/// its service name, so this is on the hot path.
fn has_control(text: &str) -> bool {
    if text.is_ascii() {
        text.bytes().any(|b| b.is_ascii_control())
    } else {
        text.chars().any(char::is_control)
    }
}

pub(crate) fn group_name(group: &str) -> Result<(), Error> {
    if group.trim().is_empty() {
        return Err(Error::invalid("group_name", "must not be blank"));
    }
    if group.contains(GROUP_SEPARATOR) {
        return Err(Error::invalid(
            "group_name",
            format!("must not contain {GROUP_SEPARATOR:?}"),
        ));
    }
    if group.chars().any(char::is_control) {
        return Err(Error::invalid(
            "group_name",
            "must not contain control characters",
        ));
    }
    Ok(())
}

pub(crate) fn namespace_id(namespace: &str) -> Result<(), Error> {
    if namespace.trim().is_empty() {
        return Err(Error::invalid("namespace_id", "must not be blank"));
    }
    if namespace.chars().any(char::is_control) {
        return Err(Error::invalid(
            "namespace_id",
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// An IP address (v4 or v6) or an RFC 1123 host name.
pub(crate) fn ip(ip: &str) -> Result<(), Error> {
    if ip.parse::<IpAddr>().is_ok() || is_host_name(ip) {
        Ok(())
    } else {
        Err(Error::invalid(
            "ip",
            format!("{ip:?} is neither an IP address nor a host name"),
        ))
    }
}

pub(crate) fn is_host_name(host: &str) -> bool {
    // A name made only of digits and dots is a mistyped IPv4 address, not a host name.
    let all_numeric = host.chars().all(|c| c.is_ascii_digit() || c == '.');
    !host.is_empty()
        && host.len() <= 253
        && !all_numeric
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

pub(crate) fn port(port: u16) -> Result<(), Error> {
    if port == 0 {
        Err(Error::invalid("port", "must be between 1 and 65535"))
    } else {
        Ok(())
    }
}

pub(crate) fn weight(weight: f64) -> Result<(), Error> {
    if weight.is_finite() && (0.0..=MAX_WEIGHT).contains(&weight) {
        Ok(())
    } else {
        Err(Error::invalid(
            "weight",
            format!("{weight} is not between 0 and {MAX_WEIGHT}"),
        ))
    }
}

/// Nacos accepts cluster names of letters, digits and `-` only.
pub(crate) fn cluster_name(cluster: &str) -> Result<(), Error> {
    if !cluster.is_empty()
        && cluster
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Ok(())
    } else {
        Err(Error::invalid(
            "cluster_name",
            format!("{cluster:?} must be made of letters, digits and '-' only"),
        ))
    }
}

pub(crate) fn metadata_key(key: &str) -> Result<(), Error> {
    if key.is_empty() {
        Err(Error::invalid("metadata", "keys must not be empty"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(r: Result<(), Error>) -> &'static str {
        match r {
            Err(Error::InvalidParam { param, .. }) => param,
            other => panic!("expected InvalidParam, got {other:?}"),
        }
    }

    #[test]
    fn accepts_what_servers_accept() {
        service_name("user-service").unwrap();
        service_name("G@@svc").unwrap();
        group_name("microservices").unwrap();
        for good in ["192.168.1.100", "::1", "fe80::1", "host", "a-b.example.com"] {
            ip(good).unwrap();
        }
        port(1).unwrap();
        for w in [0.0, 1.5, 10_000.0] {
            weight(w).unwrap();
        }
        cluster_name("production-2").unwrap();
        metadata_key("k").unwrap();
    }

    #[test]
    fn refuses_and_names_the_parameter() {
        assert_eq!(param(service_name(" ")), "service_name");
        assert_eq!(param(group_name("")), "group_name");
        assert_eq!(param(group_name("a@@b")), "group_name");
        for bad in ["", "1.2.3", "999.1.1.1", "a b", "-a", "a_b", "x..y"] {
            assert_eq!(param(ip(bad)), "ip", "{bad}");
        }
        assert_eq!(param(port(0)), "port");
        for w in [f64::NAN, f64::INFINITY, -0.1, 10_000.5] {
            assert_eq!(param(weight(w)), "weight", "{w}");
        }
        for c in ["", "None!", "a_b", "a b"] {
            assert_eq!(param(cluster_name(c)), "cluster_name", "{c}");
        }
        assert_eq!(param(metadata_key("")), "metadata");
        assert_eq!(param(namespace_id("")), "namespace_id");
    }
}

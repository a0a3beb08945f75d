//! Request parameters, read from the query string and the form body as official servers do,
//! and checked, so a handler only ever sees valid values.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};

use nacos_naming::{
    grouped_name, DEFAULT_CLUSTER, DEFAULT_GROUP, DEFAULT_NAMESPACE, GROUP_SEPARATOR,
};
use serde_json::Value;

use crate::reply::ApiError;

/// Longest name (service, group, namespace, cluster) accepted; a bound, not a Nacos rule.
const MAX_NAME: usize = 512;
/// Largest weight servers accept.
const MAX_WEIGHT: f64 = 10_000.0;

/// The parameters of one request: the query string first, then a form body.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses the query string and a form body (either may be empty).
    pub(crate) fn parse(query: &[u8], form: &[u8]) -> Params {
        let pairs = form_urlencoded::parse(query)
            .chain(form_urlencoded::parse(form))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Params { pairs }
    }

    /// The first value of `name`, if present and not blank.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or 400 naming it.
    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::bad_request(format!("Param '{name}' is required.")))
    }

    /// A boolean (`true`/`false` in any case); `default` when absent.
    pub(crate) fn bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name).map(str::trim) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(illegal(name, format!("{v:?} is not true or false"))),
        }
    }

    /// A boolean that may be absent.
    pub(crate) fn opt_bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(_) => self.bool(name, false).map(Some),
        }
    }

    /// A whole number in `min..=max`; `default` when absent.
    pub(crate) fn number(
        &self,
        name: &str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(default);
        };
        match v.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(illegal(
                name,
                format!("{v:?} is not a number in {min}..={max}"),
            )),
        }
    }

    /// `namespaceId`, `public` when absent.
    pub(crate) fn namespace(&self) -> Result<String, ApiError> {
        let ns = self.get("namespaceId").unwrap_or(DEFAULT_NAMESPACE);
        check_name("namespaceId", ns)?;
        Ok(ns.to_owned())
    }

    /// `groupName`, `DEFAULT_GROUP` when absent.
    pub(crate) fn group(&self) -> Result<String, ApiError> {
        let group = self.get("groupName").unwrap_or(DEFAULT_GROUP);
        check_name("groupName", group)?;
        if group.contains(GROUP_SEPARATOR) {
            return Err(illegal("groupName", "it must not contain '@@'"));
        }
        Ok(group.to_owned())
    }

    /// `serviceName` combined with `groupName` as `group@@service`; a name that already
    /// carries a group keeps it.
    pub(crate) fn grouped_service(&self) -> Result<String, ApiError> {
        let service = self.required("serviceName")?;
        check_name("serviceName", service)?;
        let grouped = if service.contains(GROUP_SEPARATOR) {
            service.to_owned()
        } else {
            grouped_name(&self.group()?, service)
        };
        match grouped.split_once(GROUP_SEPARATOR) {
            Some((g, s))
                if !g.trim().is_empty() && !s.trim().is_empty() && !s.contains(GROUP_SEPARATOR) =>
            {
                Ok(grouped)
            }
            _ => Err(illegal(
                "serviceName",
                "it should be format as 'groupName@@serviceName'",
            )),
        }
    }

    /// The cluster of an instance: `clusterName` (or the older `cluster`), `DEFAULT` when absent.
    pub(crate) fn cluster(&self) -> Result<String, ApiError> {
        let (name, cluster) = match (self.get("clusterName"), self.get("cluster")) {
            (Some(c), _) => ("clusterName", c),
            (None, Some(c)) => ("cluster", c),
            (None, None) => ("clusterName", DEFAULT_CLUSTER),
        };
        check_cluster(name, cluster)?;
        Ok(cluster.to_owned())
    }

    /// The instance's `ip`: an IP address or a host name.
    pub(crate) fn ip(&self) -> Result<String, ApiError> {
        let ip = self.required("ip")?.trim();
        check_ip("ip", ip)?;
        Ok(ip.to_owned())
    }

    /// The instance's `port`.
    pub(crate) fn port(&self) -> Result<u16, ApiError> {
        let port = self.required("port")?;
        parse_port(port)
            .ok_or_else(|| illegal("port", format!("{port:?} is not a port (0..=65535)")))
    }

    /// `weight` in `0..=10000`, 1 when absent.
    pub(crate) fn weight(&self) -> Result<f64, ApiError> {
        match self.get("weight") {
            None => Ok(1.0),
            Some(w) => match w.trim().parse::<f64>() {
                Ok(w) => check_weight("weight", w),
                Err(_) => Err(illegal("weight", format!("{w:?} is not a number"))),
            },
        }
    }

    /// Whether the instance is enabled: `enabled`, else `enable`, true when both are absent.
    pub(crate) fn enabled(&self) -> Result<bool, ApiError> {
        match self.get("enabled") {
            Some(_) => self.bool("enabled", true),
            None => self.bool("enable", true),
        }
    }

    /// Metadata under `name`: a JSON object, or `k=v,k2=v2`; empty when absent.
    pub(crate) fn metadata(&self, name: &str) -> Result<BTreeMap<String, String>, ApiError> {
        match self.get(name) {
            None => Ok(BTreeMap::new()),
            Some(text) => parse_metadata(text).map_err(|reason| illegal(name, reason)),
        }
    }
}

/// 400 for a parameter that is present but wrong.
pub(crate) fn illegal(name: &str, reason: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("Param '{name}' is illegal: {reason}."))
}

/// Metadata as a JSON object (values that are not strings are kept as their JSON text) or as
/// `k=v` pairs separated by commas.
pub(crate) fn parse_metadata(text: &str) -> Result<BTreeMap<String, String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(BTreeMap::new());
    }
    if text.starts_with('{') {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("not a JSON object ({e})"))?;
        return metadata_from_json(value);
    }
    let mut map = BTreeMap::new();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                map.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            _ => return Err(format!("{pair:?} is not key=value")),
        }
    }
    Ok(map)
}

/// Metadata from a JSON value: an object, a JSON object as a string, or null.
pub(crate) fn metadata_from_json(value: Value) -> Result<BTreeMap<String, String>, String> {
    match value {
        Value::Null => Ok(BTreeMap::new()),
        Value::String(s) => parse_metadata(&s),
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| {
                if k.is_empty() {
                    return Err("keys must not be empty".to_owned());
                }
                let v = match v {
                    Value::String(s) => s,
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                Ok((k, v))
            })
            .collect(),
        other => Err(format!("expected an object, got {other}")),
    }
}

/// A service, group or namespace name: not blank, no control characters, bounded.
fn check_name(param: &str, name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::bad_request(format!(
            "Param '{param}' is required."
        )));
    }
    if name.len() > MAX_NAME {
        return Err(illegal(param, format!("longer than {MAX_NAME} bytes")));
    }
    if name.chars().any(char::is_control) {
        return Err(illegal(param, "it contains control characters"));
    }
    Ok(())
}

/// Cluster names as official 2.x accepts them: letters, digits and `-`.
pub(crate) fn check_cluster(param: &str, cluster: &str) -> Result<(), ApiError> {
    let valid = !cluster.is_empty()
        && cluster.len() <= MAX_NAME
        && cluster
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(illegal(
            param,
            format!("{cluster:?} must be made of letters, digits and '-'"),
        ))
    }
}

/// An IP address or a host name.
pub(crate) fn check_ip(param: &str, ip: &str) -> Result<(), ApiError> {
    let host_name = !ip.is_empty()
        && ip.len() <= 253
        && ip
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    // An IPv6 address may name its interface (`fe80::1%eth0`).
    let scoped_v6 = ip
        .split_once('%')
        .is_some_and(|(address, zone)| !zone.is_empty() && address.parse::<Ipv6Addr>().is_ok());
    if ip.parse::<IpAddr>().is_ok() || scoped_v6 || host_name {
        Ok(())
    } else {
        Err(illegal(
            param,
            format!("{ip:?} is neither an IP address nor a host name"),
        ))
    }
}

/// A weight in `0..=10000`.
pub(crate) fn check_weight(param: &str, weight: f64) -> Result<f64, ApiError> {
    if weight.is_finite() && (0.0..=MAX_WEIGHT).contains(&weight) {
        // `+ 0.0` turns -0.0 into 0.0.
        Ok(weight + 0.0)
    } else {
        Err(illegal(
            param,
            format!("{weight} is not between 0 and {MAX_WEIGHT}"),
        ))
    }
}

fn parse_port(text: &str) -> Option<u16> {
    text.trim().parse::<u16>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Params {
        Params::parse(query.as_bytes(), b"")
    }

    fn message(e: ApiError) -> String {
        assert_eq!(e.status, 400);
        e.message
    }

    #[test]
    fn query_comes_before_the_form_body_and_blank_is_absent() {
        let p = Params::parse(b"a=1&b=", b"a=2&b=3&c=x+y%21");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("3"));
        assert_eq!(p.get("c"), Some("x y!"));
        assert_eq!(p.get("d"), None);
    }

    #[test]
    fn names_are_grouped_and_checked() {
        assert_eq!(
            params("serviceName=s").grouped_service().unwrap(),
            "DEFAULT_GROUP@@s"
        );
        assert_eq!(
            params("serviceName=s&groupName=G")
                .grouped_service()
                .unwrap(),
            "G@@s"
        );
        assert_eq!(
            params("serviceName=H@@s&groupName=G")
                .grouped_service()
                .unwrap(),
            "H@@s"
        );
        assert!(message(params("").grouped_service().unwrap_err())
            .contains("'serviceName' is required"));
        for bad in ["@@s", "G@@", "a@@b@@c", "x%00y"] {
            let e = params(&format!("serviceName={bad}"))
                .grouped_service()
                .unwrap_err();
            assert!(message(e).contains("'serviceName'"), "{bad}");
        }
        assert!(message(
            params("serviceName=s&groupName=a@@b")
                .grouped_service()
                .unwrap_err()
        )
        .contains("'groupName'"));
        assert_eq!(params("").namespace().unwrap(), "public");
        assert_eq!(params("namespaceId=dev").namespace().unwrap(), "dev");
    }

    #[test]
    fn instance_fields_are_checked() {
        assert_eq!(params("").cluster().unwrap(), "DEFAULT");
        assert_eq!(params("cluster=c1").cluster().unwrap(), "c1");
        assert!(message(params("clusterName=a_b").cluster().unwrap_err()).contains("'clusterName'"));
        assert_eq!(params("ip=::1").ip().unwrap(), "::1");
        assert_eq!(params("ip=host-1.example").ip().unwrap(), "host-1.example");
        assert_eq!(params("ip=fe80::1%25eth0").ip().unwrap(), "fe80::1%eth0");
        assert!(params("ip=1.2.3.4%25eth0").ip().is_err());
        assert!(message(params("ip=a%20b").ip().unwrap_err()).contains("'ip'"));
        assert!(message(params("").ip().unwrap_err()).contains("Param 'ip' is required."));
        assert_eq!(params("port=8080").port().unwrap(), 8080);
        for bad in ["70000", "-1", "x", "1.5"] {
            assert!(message(params(&format!("port={bad}")).port().unwrap_err()).contains("'port'"));
        }
        assert_eq!(params("").weight().unwrap(), 1.0);
        assert_eq!(params("weight=2.5").weight().unwrap(), 2.5);
        for bad in ["-1", "10000.5", "NaN", "inf", "x"] {
            assert!(
                message(params(&format!("weight={bad}")).weight().unwrap_err())
                    .contains("'weight'")
            );
        }
        assert!(!params("enable=false").enabled().unwrap());
        assert!(params("enable=false&enabled=TRUE").enabled().unwrap());
        assert!(
            message(params("healthy=yes").bool("healthy", true).unwrap_err()).contains("'healthy'")
        );
    }

    #[test]
    fn metadata_as_json_or_pairs() {
        let m = parse_metadata(r#"{"a":"1","n":2,"b":true,"z":null}"#).unwrap();
        assert_eq!(
            (
                m["a"].as_str(),
                m["n"].as_str(),
                m["b"].as_str(),
                m["z"].as_str()
            ),
            ("1", "2", "true", "")
        );
        let m = parse_metadata("k=v, k2 = v2,").unwrap();
        assert_eq!((m["k"].as_str(), m["k2"].as_str()), ("v", "v2"));
        assert!(parse_metadata("novalue").is_err());
        assert!(parse_metadata("=v").is_err());
        assert!(parse_metadata("{broken").is_err());
        assert!(parse_metadata("[1]").is_err());
        assert!(
            message(params("metadata=x").metadata("metadata").unwrap_err()).contains("'metadata'")
        );
    }
}

//! The official server line the devserver behaves as: which instance identity rules hold,
//! which APIs answer, and whether admin calls need a token.

use std::fmt;
use std::str::FromStr;

/// An official Nacos server line, chosen at start ([`DevServerBuilder::nacos_version`]).
///
/// It is one registry whatever the line; the line decides how an instance is identified,
/// which paths answer and how.
///
/// | line | identity | V1 naming API | v3 client API | v3 admin API | admin token |
/// |---|---|---|---|---|---|
/// | `1.4` | (service, cluster, ip, port) | all | – | – | auth mode only |
/// | `2` | (service, ip, port, ephemeral) | all | – | – | auth mode only |
/// | `3.1` | (service, ip, port, ephemeral) | open calls; admin-type calls 410 | yes | – | yes |
/// | `3.2` | (service, ip, port, ephemeral) | 404, but the operator metrics path | yes | yes | yes |
///
/// [`DevServerBuilder::nacos_version`]: crate::DevServerBuilder::nacos_version
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum NacosVersion {
    /// Nacos 1.4: an instance is kept per cluster, so one `ip:port` may sit in two clusters
    /// of a service; a modify replaces the instance's metadata.
    V1_4,
    /// Nacos 2.x (the default): one instance per (service, ip, port, ephemeral), the cluster
    /// an attribute of it; a modify lays its metadata over the registration's.
    #[default]
    V2,
    /// Nacos 3.0 and 3.1: the 2.x registry, the V1 open API, the v3 client API; the V1
    /// admin-type calls (instance get and modify) answer 410 Gone.
    V3_1,
    /// Nacos 3.2 and later: the v3 client and admin APIs only; every V1 naming path answers
    /// 404 but the operator metrics path, and the V1 login paths still answer.
    V3_2,
}

/// How the registry tells instances apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Identity {
    /// 1.4: by (cluster, ip, port).
    PerCluster,
    /// 2.x and 3.x: by (ip, port, ephemeral); the cluster is an attribute.
    PerAddress,
}

impl NacosVersion {
    /// Every line, oldest first.
    pub const ALL: [NacosVersion; 4] = [
        NacosVersion::V1_4,
        NacosVersion::V2,
        NacosVersion::V3_1,
        NacosVersion::V3_2,
    ];

    pub(crate) fn identity(self) -> Identity {
        match self {
            NacosVersion::V1_4 => Identity::PerCluster,
            _ => Identity::PerAddress,
        }
    }
}

impl NacosVersion {
    /// Whether the v3 client API, the v3 login and admin tokens exist.
    pub(crate) fn has_v3(self) -> bool {
        matches!(self, NacosVersion::V3_1 | NacosVersion::V3_2)
    }

    /// Whether it pushes changes over UDP to V1 subscribers: 3.0–3.1 still do, 3.2 removed it.
    pub(crate) fn pushes_over_udp(self) -> bool {
        self != NacosVersion::V3_2
    }

    /// The release reported by the server-state calls.
    pub(crate) fn release(self) -> &'static str {
        match self {
            NacosVersion::V1_4 => "1.4.8",
            NacosVersion::V2 => "2.5.1",
            NacosVersion::V3_1 => "3.1.0",
            NacosVersion::V3_2 => "3.2.0",
        }
    }
}

impl fmt::Display for NacosVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NacosVersion::V1_4 => "1.4",
            NacosVersion::V2 => "2",
            NacosVersion::V3_1 => "3.1",
            NacosVersion::V3_2 => "3.2",
        })
    }
}

/// A server line that is not one of `1.4`, `2`, `3.1`, `3.2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVersion(String);

impl fmt::Display for UnknownVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown Nacos server line {:?} (expected 1.4, 2, 3.1 or 3.2)",
            self.0
        )
    }
}

impl std::error::Error for UnknownVersion {}

impl FromStr for NacosVersion {
    type Err = UnknownVersion;

    /// `1.4`, `2`, `3.1`, `3.2`; also `2.x`, `3.0` (which behaves as 3.1) and `3` (the
    /// newest line).
    fn from_str(text: &str) -> Result<NacosVersion, UnknownVersion> {
        match text.trim().to_ascii_lowercase().as_str() {
            "1.4" | "1.4.x" => Ok(NacosVersion::V1_4),
            "2" | "2.x" => Ok(NacosVersion::V2),
            "3.0" | "3.1" | "3.0.x" | "3.1.x" => Ok(NacosVersion::V3_1),
            "3" | "3.x" | "3.2" | "3.2.x" => Ok(NacosVersion::V3_2),
            _ => Err(UnknownVersion(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_each_line() {
        for version in NacosVersion::ALL {
            assert_eq!(version.to_string().parse::<NacosVersion>(), Ok(version));
        }
        assert_eq!("3.0".parse::<NacosVersion>(), Ok(NacosVersion::V3_1));
        assert_eq!(" 2.x ".parse::<NacosVersion>(), Ok(NacosVersion::V2));
        let e = "1.3".parse::<NacosVersion>().unwrap_err();
        assert!(e.to_string().contains("\"1.3\""), "{e}");
        assert_eq!(NacosVersion::default(), NacosVersion::V2);
        assert_eq!(NacosVersion::V1_4.identity(), Identity::PerCluster);
        assert_eq!(NacosVersion::V3_2.identity(), Identity::PerAddress);
    }
}

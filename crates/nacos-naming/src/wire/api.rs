//! Which server API generation a client speaks: found out per server, or pinned.

use std::fmt;
use std::str::FromStr;

/// The naming API a client speaks to its servers.
///
/// `Auto` (the default) learns what each server speaks from its answers and remembers it per
/// server: the V1 open API on Nacos 1.x, 2.x and rnacos; the V1 open API plus the v3 client
/// API on Nacos 3.0–3.1 (where V1 `get` and `modify` answer 410); the v3 client API alone on
/// Nacos 3.2 and later (where every V1 naming path answers 404). A server that starts answering
/// 404 or 410 where it used to answer (it was upgraded) is looked at again and the call
/// repeated. `V1` and `V3` pin the generation for every server and never switch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ServerApi {
    /// Learn each server's API from its answers (at most one extra request per server).
    #[default]
    Auto,
    /// The V1 open API (`/nacos/v1/ns/*`) only.
    V1,
    /// The v3 client API (`/nacos/v3/client/ns/*`), and the v3 admin API for `get`, `modify`
    /// and `list_services` when the login is accepted by it.
    V3,
}

impl fmt::Display for ServerApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerApi::Auto => "auto",
            ServerApi::V1 => "v1",
            ServerApi::V3 => "v3",
        })
    }
}

/// The error of parsing a [`ServerApi`] from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseServerApiError(String);

impl fmt::Display for ParseServerApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a server API: auto, v1 or v3", self.0)
    }
}

impl std::error::Error for ParseServerApiError {}

/// `auto`, `v1` or `v3`, in any case.
impl FromStr for ServerApi {
    type Err = ParseServerApiError;

    fn from_str(s: &str) -> Result<ServerApi, ParseServerApiError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(ServerApi::Auto),
            "v1" => Ok(ServerApi::V1),
            "v3" => Ok(ServerApi::V3),
            _ => Err(ParseServerApiError(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_shows() {
        for api in [ServerApi::Auto, ServerApi::V1, ServerApi::V3] {
            assert_eq!(api.to_string().parse::<ServerApi>(), Ok(api));
        }
        assert_eq!(" V3 ".parse::<ServerApi>(), Ok(ServerApi::V3));
        assert!("v2".parse::<ServerApi>().is_err());
    }
}

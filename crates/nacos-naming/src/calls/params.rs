//! What every call names (a service, an instance), and the first invalid argument of a call.

use std::collections::BTreeMap;

use crate::calls::validate;
use crate::error::Error;
use crate::instance::{DEFAULT_CLUSTER, DEFAULT_GROUP};
use crate::service_info::{grouped_name, GROUP_SEPARATOR};

/// A service: its namespace (`None`: the server's default, `public`), group and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ServiceKey {
    pub(crate) namespace_id: Option<String>,
    pub(crate) group_name: String,
    pub(crate) service_name: String,
}

impl ServiceKey {
    /// `service_name` in the default group of `namespace_id`.
    pub(crate) fn new(namespace_id: Option<String>, service_name: String) -> ServiceKey {
        ServiceKey {
            namespace_id,
            group_name: DEFAULT_GROUP.to_owned(),
            service_name,
        }
    }

    /// `group@@service`, the name servers key the service by.
    pub(crate) fn grouped_name(&self) -> String {
        grouped_name(&self.group_name, &self.service_name)
    }

    /// The group and plain name the server uses: a name given as `group@@service` wins over
    /// the group parameter, as it does on the servers.
    pub(crate) fn group_and_name(&self) -> (&str, &str) {
        self.service_name
            .split_once(GROUP_SEPARATOR)
            .unwrap_or((&self.group_name, &self.service_name))
    }
}

/// One instance of a service: identified by ip, port and cluster, never by a server's
/// instance id (servers build it differently).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct InstanceKey {
    pub(crate) service: ServiceKey,
    pub(crate) ip: String,
    pub(crate) port: u16,
    pub(crate) cluster_name: String,
}

impl InstanceKey {
    /// The instance in the default group and cluster.
    pub(crate) fn new(service: ServiceKey, ip: String, port: u16) -> InstanceKey {
        InstanceKey {
            service,
            ip,
            port,
            cluster_name: DEFAULT_CLUSTER.to_owned(),
        }
    }
}

/// Collects string-like pairs into metadata, refusing empty keys.
pub(crate) fn collect_metadata<I, K, V>(pairs: I) -> Result<BTreeMap<String, String>, Error>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let mut metadata = BTreeMap::new();
    for (k, v) in pairs {
        let k = k.into();
        validate::metadata_key(&k)?;
        metadata.insert(k, v.into());
    }
    Ok(metadata)
}

/// The first invalid parameter of a builder chain: later setters do not overwrite it, and
/// `send()` returns it before anything is sent.
#[derive(Debug, Default)]
pub(crate) struct FirstError(Option<Error>);

impl FirstError {
    /// Whether no error is recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Records `result`'s error unless one is already recorded.
    pub(crate) fn check(&mut self, result: Result<(), Error>) {
        if let (None, Err(e)) = (&self.0, result) {
            self.0 = Some(e);
        }
    }

    /// Runs `f` and keeps its value, or records its error (returning `None`).
    pub(crate) fn take<T>(&mut self, result: Result<T, Error>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.check(Err(e));
                None
            }
        }
    }

    /// `Err` with the first recorded error, if any.
    pub(crate) fn into_result(self) -> Result<(), Error> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The checks of the three positional arguments every instance call takes.
pub(crate) fn check_instance(errors: &mut FirstError, key: &InstanceKey) {
    errors.check(validate::service_name(&key.service.service_name));
    errors.check(validate::ip(&key.ip));
    errors.check(validate::port(key.port));
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn metadata_from_any_pairs() {
        let from_array = collect_metadata([("b", "2"), ("a", "1")]).unwrap();
        let map: HashMap<String, String> = [("a".into(), "1".into()), ("b".into(), "2".into())]
            .into_iter()
            .collect();
        assert_eq!(collect_metadata(&map).unwrap(), from_array);
        assert_eq!(collect_metadata(map).unwrap(), from_array);
        assert!(matches!(
            collect_metadata([("", "x")]),
            Err(Error::InvalidParam {
                param: "metadata",
                ..
            })
        ));
    }

    #[test]
    fn names_the_group_a_grouped_name_gives() {
        let mut key = ServiceKey::new(None, "svc".into());
        key.group_name = "G".into();
        assert_eq!(key.grouped_name(), "G@@svc");
        assert_eq!(key.group_and_name(), ("G", "svc"));
        key.service_name = "H@@other".into();
        assert_eq!(key.group_and_name(), ("H", "other"));
    }

    #[test]
    fn keeps_the_first_error() {
        let mut errors = FirstError::default();
        errors.check(Ok(()));
        errors.check(validate::port(0));
        errors.check(validate::weight(-1.0));
        assert_eq!(errors.take(Ok(5)), Some(5));
        assert!(matches!(
            errors.into_result(),
            Err(Error::InvalidParam { param: "port", .. })
        ));
    }
}

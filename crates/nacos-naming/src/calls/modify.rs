//! `modify_naming_instance`: changing what the caller names, keeping the rest.

use std::collections::BTreeMap;

use crate::calls::params::{check_instance, FirstError, InstanceKey};
use crate::calls::register::Registration;
use crate::calls::validate;
use crate::client::{ClientInner, NamingClient};
use crate::error::Error;
use crate::instance::Instance;
use crate::wire::operation::Operation;

/// The fields a modification changes; `None` keeps the server's current value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Modification {
    pub(crate) instance: InstanceKey,
    pub(crate) ephemeral: Option<bool>,
    pub(crate) weight: Option<f64>,
    pub(crate) enabled: Option<bool>,
    pub(crate) metadata: Option<BTreeMap<String, String>>,
}

impl Modification {
    /// The full registration to write: the named fields, the rest from `current` (`None` when
    /// every field is named and nothing was read).
    fn merge(&self, current: Option<&Instance>) -> Registration {
        let mut r = Registration::new(self.instance.clone());
        if let Some(current) = current {
            r.weight = current.weight;
            r.enabled = current.enabled;
            r.ephemeral = current.ephemeral;
            r.metadata = current.metadata.clone();
            // Where an update is a registration again (v3 without the admin API), the
            // health must stay the server's.
            r.healthy = current.healthy;
        }
        if let Some(w) = self.weight {
            r.weight = w;
        }
        if let Some(e) = self.enabled {
            r.enabled = e;
        }
        if let Some(e) = self.ephemeral {
            r.ephemeral = e;
        }
        if let Some(m) = &self.metadata {
            r.metadata = m.clone();
        }
        r
    }

    /// `r` with the named fields changed.
    pub(crate) fn merge_into(&self, r: &Registration) -> Registration {
        let mut r = r.clone();
        if let Some(w) = self.weight {
            r.weight = w;
        }
        if let Some(e) = self.enabled {
            r.enabled = e;
        }
        if let Some(m) = &self.metadata {
            r.metadata = m.clone();
        }
        r
    }

    fn names_everything(&self) -> bool {
        self.weight.is_some() && self.enabled.is_some() && self.metadata.is_some()
    }
}

impl ClientInner {
    /// Reads the instance unless the modification names weight, enabled and metadata, then
    /// writes the merged full set with `PUT`: servers replace every field on update, so
    /// sending only the named ones would reset the others (weight to 1, metadata to empty).
    pub(crate) fn modify(&self, m: &Modification) -> Result<(), Error> {
        let current = if m.names_everything() {
            None
        } else {
            Some(self.get(&m.instance)?)
        };
        self.update(&m.merge(current.as_ref()))
    }

    /// Writes every field of `r` (its health is the server's): the V1 or v3 admin update, or
    /// on v3 without the admin API a registration again.
    pub(crate) fn update(&self, r: &Registration) -> Result<(), Error> {
        let op = Operation::Update(r);
        self.transport().perform(&op)?.done(&op)
    }
}

/// The builder of [`NamingClient::modify_naming_instance`]; [`send`](Self::send) applies the
/// change.
///
/// Only what the builder names changes. Servers replace weight, enabled flag and metadata all
/// at once on update, so unless all three are named, `send` first reads the instance
/// (`GET`, same cluster and group), merges, and writes the full set (`PUT`). That is a
/// read-modify-write: a change another client makes to the fields not named here, between the
/// read and the write, is overwritten. `metadata` replaces the whole map, as on the servers.
#[must_use = "nothing is sent until send() is called"]
#[derive(Debug)]
pub struct ModifyInstance<'a> {
    client: &'a NamingClient,
    modification: Modification,
    errors: FirstError,
}

impl<'a> ModifyInstance<'a> {
    pub(crate) fn new(client: &'a NamingClient, instance: InstanceKey) -> ModifyInstance<'a> {
        let mut errors = FirstError::default();
        check_instance(&mut errors, &instance);
        ModifyInstance {
            client,
            modification: Modification {
                instance,
                ephemeral: None,
                weight: None,
                enabled: None,
                metadata: None,
            },
            errors,
        }
    }

    crate::calls::builder_setters::instance_setters!(modification.instance);

    /// The new weight, from 0 (no traffic) to 10000.
    ///
    /// Defaults to the current weight.
    pub fn weight(self, weight: f64) -> Self {
        self.set_weight(Some(weight))
    }

    /// Sets [`weight`](Self::weight) when `Some`; `None` keeps the current weight.
    pub fn set_weight(mut self, weight: Option<f64>) -> Self {
        if let Some(w) = weight {
            self.errors.check(validate::weight(w));
        }
        self.modification.weight = weight;
        self
    }

    crate::calls::builder_setters::metadata_setters! {
        /// The new metadata, replacing the whole current map: any pairs of strings (an array of
        /// tuples, a `HashMap`, a `BTreeMap`…).
        ///
        /// Defaults to the current metadata.
        modification.metadata = Some
    }

    /// Whether the instance takes traffic; disabled instances are left out of lists.
    ///
    /// Defaults to the current value.
    pub fn enabled(self, enabled: bool) -> Self {
        self.set_enabled(Some(enabled))
    }

    /// Sets [`enabled`](Self::enabled) when `Some`; `None` keeps the current value.
    pub fn set_enabled(mut self, enabled: Option<bool>) -> Self {
        self.modification.enabled = enabled;
        self
    }

    /// Whether the instance is ephemeral; servers keep the two kinds apart, so this must match
    /// the registration.
    ///
    /// Defaults to the instance's current kind when it is read, else `true`.
    pub fn ephemeral(mut self, ephemeral: bool) -> Self {
        self.modification.ephemeral = Some(ephemeral);
        self
    }

    crate::calls::builder_setters::option_twin!(set_ephemeral => ephemeral(bool));

    /// Applies the change (reading the instance first unless weight, enabled and metadata are
    /// all named).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for the first invalid argument, before anything is sent;
    /// [`Error::Server`] when a server refuses, the read of an unknown instance included;
    /// [`Error::Request`] when no server answers; [`Error::Decode`] when the read instance
    /// cannot be understood.
    pub fn send(self) -> Result<(), Error> {
        self.errors.into_result()?;
        let inner = &self.client.inner;
        inner.modify(&self.modification)?;
        // The instance's heartbeats (and a re-registration after the server lost it) now
        // carry the change; made persistent, it is no longer beaten.
        let m = &self.modification;
        let heartbeats = &inner.background().heartbeats;
        if m.ephemeral == Some(false) {
            heartbeats.remove(&m.instance, inner.background().stop_timeout());
        } else {
            heartbeats.update(&m.instance, |r| m.merge_into(r));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::params::ServiceKey;
    use crate::wire::transport::{Call, Method};
    use crate::wire::v1::{self, INSTANCE_PATH};

    fn modification() -> Modification {
        Modification {
            instance: InstanceKey::new(ServiceKey::new(None, "svc".into()), "h".into(), 1),
            ephemeral: None,
            weight: None,
            enabled: None,
            metadata: None,
        }
    }

    fn current() -> Instance {
        let mut i = Instance::new("h", 1);
        i.weight = 3.0;
        i.enabled = false;
        i.ephemeral = false;
        i.metadata.insert("keep".into(), "me".into());
        i
    }

    #[test]
    fn keeps_what_is_not_named() {
        let mut m = modification();
        m.weight = Some(2.0);
        assert!(!m.names_everything());
        let r = m.merge(Some(&current()));
        assert_eq!(r.weight, 2.0);
        assert!(!r.enabled && !r.ephemeral);
        assert_eq!(r.metadata["keep"], "me");
    }

    #[test]
    fn replaces_what_is_named() {
        let mut m = modification();
        m.enabled = Some(true);
        m.metadata = Some(BTreeMap::from([("new".into(), "v".into())]));
        m.ephemeral = Some(true);
        let r = m.merge(Some(&current()));
        assert_eq!(r.weight, 3.0);
        assert!(r.enabled && r.ephemeral);
        assert_eq!(r.metadata.len(), 1);
        assert_eq!(r.metadata["new"], "v");
    }

    #[test]
    fn needs_no_read_when_everything_is_named() {
        let mut m = modification();
        m.weight = Some(0.0);
        m.enabled = Some(false);
        m.metadata = Some(BTreeMap::new());
        assert!(m.names_everything());
        let r = m.merge(None);
        assert_eq!(r.weight, 0.0);
        assert!(!r.enabled && r.ephemeral && r.metadata.is_empty());
        let call = v1::registration(Call::new(Method::Put, INSTANCE_PATH), &r);
        assert_eq!(call.get("metadata"), Some("{}"));
        assert_eq!(call.get("healthy"), None);
    }

    #[test]
    fn refuses_bad_arguments_before_sending() {
        let c = NamingClient::new("127.0.0.1:1").unwrap();
        let r = c.modify_naming_instance("s", "h", 1).weight(-1.0).send();
        assert!(
            matches!(
                r,
                Err(Error::InvalidParam {
                    param: "weight",
                    ..
                })
            ),
            "{r:?}"
        );
        let r = c
            .modify_naming_instance("s", "h", 1)
            .metadata([("", "v")])
            .weight(2.0)
            .send();
        assert!(
            matches!(
                r,
                Err(Error::InvalidParam {
                    param: "metadata",
                    ..
                })
            ),
            "{r:?}"
        );
    }
}

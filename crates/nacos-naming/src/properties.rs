//! Property tests of the parameter checks and of the duration settings: what holds for every
//! input, not only the examples the unit tests name.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::calls::validate;
use crate::deadline::{self, NEVER};
use crate::error::Error;
use crate::NamingClient;

/// A parameter check.
type Check = fn(&str) -> Result<(), Error>;

/// A duration setter of the client builder.
type Setting = fn(crate::NamingClientBuilder, Duration) -> crate::NamingClientBuilder;

/// The parameter an `InvalidParam` names.
fn refused(result: Result<(), Error>) -> Option<&'static str> {
    match result {
        Ok(()) => None,
        Err(Error::InvalidParam { param, .. }) => Some(param),
        Err(other) => panic!("not an InvalidParam: {other}"),
    }
}

/// Any duration, the extremes included more often than chance would pick them.
fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::MAX),
        Just(NEVER),
        (0u64..10_000).prop_map(Duration::from_millis),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

proptest! {
    /// Every check takes any text without panicking, and a refusal names its own parameter.
    #[test]
    fn checks_take_any_text_and_name_their_parameter(s in any::<String>()) {
        let checks: [(&str, Check); 6] = [
            ("service_name", validate::service_name),
            ("group_name", validate::group_name),
            ("namespace_id", validate::namespace_id),
            ("ip", validate::ip),
            ("cluster_name", validate::cluster_name),
            ("metadata", validate::metadata_key),
        ];
        for (param, check) in checks {
            if let Some(named) = refused(check(&s)) {
                prop_assert_eq!(named, param);
            }
        }
    }

    /// Names are refused exactly when blank or holding a control character; groups also
    /// when they hold the `@@` that separates a group from its service.
    #[test]
    fn names_are_refused_only_when_blank_or_unprintable(s in any::<String>()) {
        let bad = s.trim().is_empty() || s.chars().any(char::is_control);
        prop_assert_eq!(validate::service_name(&s).is_err(), bad);
        prop_assert_eq!(validate::namespace_id(&s).is_err(), bad);
        prop_assert_eq!(validate::group_name(&s).is_err(), bad || s.contains("@@"));
    }

    /// Every IP address is an acceptable `ip`; text with a character no address or host name
    /// has is not.
    #[test]
    fn every_address_is_an_ip_and_stray_characters_are_not(
        v4 in any::<u32>(),
        v6 in any::<u128>(),
        s in "[a-z0-9.]{0,10}[ /@_?#%][a-z0-9.]{0,10}",
    ) {
        prop_assert!(validate::ip(&Ipv4Addr::from(v4).to_string()).is_ok());
        prop_assert!(validate::ip(&Ipv6Addr::from(v6).to_string()).is_ok());
        prop_assert_eq!(refused(validate::ip(&s)), Some("ip"));
    }

    /// Clusters are letters, digits and `-`; weights are finite and within 0..=10000.
    #[test]
    fn clusters_and_weights(cluster in "[A-Za-z0-9-]{1,20}", other in any::<String>(), w in any::<f64>()) {
        prop_assert!(validate::cluster_name(&cluster).is_ok());
        let plain = !other.is_empty() && other.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        prop_assert_eq!(validate::cluster_name(&other).is_ok(), plain);
        let in_range = w.is_finite() && (0.0..=validate::MAX_WEIGHT).contains(&w);
        prop_assert_eq!(validate::weight(w).is_ok(), in_range);
    }

    /// A deadline exists for every duration: exact below a century, a century beyond, and
    /// never earlier for a longer wait.
    #[test]
    fn deadlines_exist_for_every_duration(a in any_duration(), b in any_duration()) {
        let now = Instant::now();
        let at = deadline::after(now, a);
        prop_assert!(at >= now);
        if a < NEVER {
            prop_assert_eq!(at, now + a);
        } else {
            prop_assert_eq!(at, now + NEVER);
        }
        if a <= b {
            prop_assert!(at <= deadline::after(now, b));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every duration setting takes any duration: zero is refused and named, anything else,
    /// up to `Duration::MAX`, builds a client that drops cleanly.
    #[test]
    fn every_duration_setting_takes_the_whole_range(d in any_duration()) {
        let settings: [(&str, Setting); 6] = [
            ("timeout", |b, d| b.timeout(d)),
            ("connect_timeout", |b, d| b.connect_timeout(d)),
            ("heartbeat_interval", |b, d| b.heartbeat_interval(d)),
            ("poll_interval", |b, d| b.poll_interval(d)),
            ("poll_max_backoff", |b, d| b.poll_max_backoff(d)),
            ("stop_timeout", |b, d| b.stop_timeout(d)),
        ];
        for (name, set) in settings {
            let builder = NamingClient::builder()
                .server_addresses("127.0.0.1:1")
                .udp_push(false);
            match set(builder, d).build() {
                Ok(client) => {
                    // A stop timeout of zero means "do not wait": the one that may be zero.
                    prop_assert!(!d.is_zero() || name == "stop_timeout", "{} accepted zero", name);
                    drop(client);
                }
                Err(e) => {
                    prop_assert!(d.is_zero(), "{} refused {:?}: {}", name, d, e);
                    let named = matches!(e, Error::InvalidParam { param, .. } if param == name);
                    prop_assert!(named, "{}: {}", name, e);
                }
            }
        }
    }
}

//! Credentials: the username/password login with its token, and the AK/SK signing keys.
//!
//! Neither a password, a secret key nor a token is ever logged or shown by `Debug`.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::deadline;
use crate::error::Error;
use crate::wire::lenient;
use crate::wire::transport::{Call, Method};

/// The token lifetime assumed when a server does not say (the official default, 5 hours).
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(18_000);

/// The longest lifetime believed: a server may say anything (`9223372036854775807`, `1e300`),
/// and renewing a day-old token costs one login a day.
const MAX_TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// How a client proves who it is: both, either or neither of a login and an access key.
#[derive(Debug, Default)]
pub(crate) struct Auth {
    pub(crate) login: Option<Login>,
    pub(crate) access_key: Option<AccessKey>,
}

/// An access key and its secret, for the AK/SK signature.
pub(crate) struct AccessKey {
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// A username and password, and the token the last login gave.
pub(crate) struct Login {
    username: String,
    password: String,
    token: Mutex<Option<Token>>,
    /// Held while logging in, so that threads needing a token wait for one login instead of
    /// each sending their own (servers rate-limit logins).
    logging_in: Mutex<()>,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// An access token and when it was obtained.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token {
    value: String,
    obtained: Instant,
    ttl: Duration,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("obtained", &self.obtained)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Token {
    pub(crate) fn new(value: String, obtained: Instant, ttl: Duration) -> Token {
        Token {
            value,
            obtained,
            ttl,
        }
    }

    /// When to log in again: with a tenth of the lifetime left, as the Java and Go clients do,
    /// so a slow login never leaves a call holding an expired token.
    fn renew_at(&self) -> Instant {
        deadline::after(self.obtained, self.ttl - self.ttl / 10)
    }

    fn expires_at(&self) -> Instant {
        deadline::after(self.obtained, self.ttl)
    }
}

/// What a call should do about the token it is about to send.
#[derive(Debug, PartialEq, Eq)]
enum Freshness {
    /// Use it.
    Fresh,
    /// Still valid, but renew it now if no other thread is doing so.
    RenewSoon,
    /// There is none, or it has run out: log in before sending anything.
    Missing,
}

fn freshness(token: Option<&Token>, now: Instant) -> Freshness {
    match token {
        None => Freshness::Missing,
        Some(t) if now >= t.expires_at() => Freshness::Missing,
        Some(t) if now >= t.renew_at() => Freshness::RenewSoon,
        Some(_) => Freshness::Fresh,
    }
}

impl Login {
    pub(crate) fn new(username: String, password: String) -> Login {
        Login {
            username,
            password,
            token: Mutex::new(None),
            logging_in: Mutex::new(()),
        }
    }

    /// The login request: the username in the query, the password in a form body so that it
    /// stays out of URLs and access logs (official servers and rnacos read both places).
    /// The login request at `path` (the v3 or the V1 login: both take the same form).
    pub(crate) fn call(&self, path: &'static str) -> Call {
        Call::new(Method::Post, path)
            .unauthenticated()
            .param("username", &self.username)
            .form("password", &self.password)
    }

    /// A token to send now, logging in first (through `log_in`) when there is none or it has
    /// run out, and renewing it when it is due.
    pub(crate) fn token(
        &self,
        log_in: impl Fn(&Login) -> Result<Token, Error>,
    ) -> Result<String, Error> {
        let current = lock(&self.token).clone();
        match freshness(current.as_ref(), Instant::now()) {
            Freshness::Fresh => Ok(current.map(|t| t.value).unwrap_or_default()),
            Freshness::RenewSoon => {
                // One thread renews; the others go on with the still valid token.
                let _guard = match self.logging_in.try_lock() {
                    Ok(guard) => guard,
                    Err(TryLockError::Poisoned(p)) => p.into_inner(),
                    Err(TryLockError::WouldBlock) => {
                        return Ok(current.map(|t| t.value).unwrap_or_default())
                    }
                };
                if lock(&self.token).as_ref() != current.as_ref() {
                    return Ok(self.current().unwrap_or_default());
                }
                match log_in(self) {
                    Ok(token) => Ok(self.store(token)),
                    Err(e) => {
                        log::warn!(
                            "renewing the access token failed, the current one is still valid: {e}"
                        );
                        Ok(current.map(|t| t.value).unwrap_or_default())
                    }
                }
            }
            Freshness::Missing => {
                let _guard = lock(&self.logging_in);
                // Another thread may have logged in while this one waited.
                if freshness(lock(&self.token).as_ref(), Instant::now()) != Freshness::Missing {
                    return Ok(self.current().unwrap_or_default());
                }
                let token = log_in(self)?;
                Ok(self.store(token))
            }
        }
    }

    /// Logs in again after a server refused `refused` with 403, unless another thread has
    /// already replaced that token; returns the token to repeat the call with.
    pub(crate) fn renew_after_refusal(
        &self,
        refused: Option<&str>,
        log_in: impl Fn(&Login) -> Result<Token, Error>,
    ) -> Result<String, Error> {
        let _guard = lock(&self.logging_in);
        if let Some(current) = self.current() {
            if Some(current.as_str()) != refused {
                return Ok(current);
            }
        }
        let token = log_in(self)?;
        Ok(self.store(token))
    }

    fn current(&self) -> Option<String> {
        lock(&self.token).as_ref().map(|t| t.value.clone())
    }

    fn store(&self, token: Token) -> String {
        let value = token.value.clone();
        *lock(&self.token) = Some(token);
        value
    }
}

/// A poisoned lock only means another thread panicked while holding it; the token it guards
/// is still a whole value, so go on with it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The login answer: `{"accessToken":"…","tokenTtl":18000,…}` (ttl in seconds).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginAnswer {
    #[serde(deserialize_with = "lenient::string")]
    access_token: String,
    #[serde(default, deserialize_with = "lenient::int")]
    token_ttl: i64,
}

/// Reads a login answer received at `now`.
pub(crate) fn parse_login_answer(body: &str, now: Instant) -> Result<Token, Error> {
    let answer: LoginAnswer = lenient::object_from_str(body).map_err(|source| Error::Decode {
        what: "login answer",
        source,
    })?;
    let ttl = match u64::try_from(answer.token_ttl) {
        Ok(secs) if secs > 0 => Duration::from_secs(secs).min(MAX_TOKEN_TTL),
        _ => DEFAULT_TOKEN_TTL,
    };
    Ok(Token::new(answer.access_token, now, ttl))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn token(value: &str, age: Duration, ttl: Duration) -> Token {
        Token::new(value.into(), Instant::now() - age, ttl)
    }

    #[test]
    fn renews_with_a_tenth_of_the_lifetime_left() {
        let t0 = Instant::now();
        let t = Token::new("t".into(), t0, Duration::from_secs(100));
        assert_eq!(freshness(Some(&t), t0), Freshness::Fresh);
        assert_eq!(
            freshness(Some(&t), t0 + Duration::from_secs(89)),
            Freshness::Fresh
        );
        assert_eq!(
            freshness(Some(&t), t0 + Duration::from_secs(90)),
            Freshness::RenewSoon
        );
        assert_eq!(
            freshness(Some(&t), t0 + Duration::from_secs(100)),
            Freshness::Missing
        );
        assert_eq!(freshness(None, t0), Freshness::Missing);
    }

    #[test]
    fn logs_in_once_then_reuses_the_token() {
        let login = Login::new("u".into(), "p".into());
        let logins = Cell::new(0);
        let log_in = |_: &Login| {
            logins.set(logins.get() + 1);
            Ok(token("T1", Duration::ZERO, Duration::from_secs(100)))
        };
        assert_eq!(login.token(log_in).unwrap(), "T1");
        assert_eq!(login.token(log_in).unwrap(), "T1");
        assert_eq!(logins.get(), 1);
    }

    #[test]
    fn renews_a_token_that_is_due_and_keeps_it_when_renewal_fails() {
        let login = Login::new("u".into(), "p".into());
        login.store(token(
            "OLD",
            Duration::from_secs(95),
            Duration::from_secs(100),
        ));
        let failed = |_: &Login| {
            Err(Error::Server {
                status: 500,
                message: "busy".into(),
                server: "h:1".into(),
            })
        };
        assert_eq!(login.token(failed).unwrap(), "OLD");
        let renewed = |_: &Login| Ok(token("NEW", Duration::ZERO, Duration::from_secs(100)));
        assert_eq!(login.token(renewed).unwrap(), "NEW");
    }

    #[test]
    fn an_expired_token_needs_a_login_and_its_failure_is_returned() {
        let login = Login::new("u".into(), "p".into());
        login.store(token(
            "OLD",
            Duration::from_secs(101),
            Duration::from_secs(100),
        ));
        let refused = |_: &Login| {
            Err(Error::Server {
                status: 403,
                message: "unknown user!".into(),
                server: "h:1".into(),
            })
        };
        assert_eq!(login.token(refused).unwrap_err().status(), Some(403));
    }

    #[test]
    fn a_refusal_renews_only_the_refused_token() {
        let login = Login::new("u".into(), "p".into());
        login.store(token("A", Duration::ZERO, Duration::from_secs(100)));
        let log_in = |_: &Login| Ok(token("B", Duration::ZERO, Duration::from_secs(100)));
        // Someone else already replaced "OLD": no new login.
        let never = |_: &Login| -> Result<Token, Error> { panic!("no login expected") };
        assert_eq!(login.renew_after_refusal(Some("OLD"), never).unwrap(), "A");
        assert_eq!(login.renew_after_refusal(Some("A"), log_in).unwrap(), "B");
    }

    #[test]
    fn reads_login_answers() {
        let now = Instant::now();
        let t = parse_login_answer(
            r#"{"accessToken":"abc","tokenTtl":18000,"globalAdmin":true}"#,
            now,
        )
        .unwrap();
        assert_eq!(t.value, "abc");
        assert_eq!(t.ttl, Duration::from_secs(18_000));
        let t = parse_login_answer(r#"{"accessToken":"abc","tokenTtl":"-1"}"#, now).unwrap();
        assert_eq!(t.ttl, DEFAULT_TOKEN_TTL);
        for bad in ["", "ok", r#"{"tokenTtl":5}"#, r#"["abc", 5]"#, "[]"] {
            assert!(
                matches!(
                    parse_login_answer(bad, now),
                    Err(Error::Decode {
                        what: "login answer",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_huge_lifetime_is_clamped_and_every_later_call_still_works() {
        let now = Instant::now();
        for ttl in [
            "9223372036854775807",
            "1e19",
            "1e300",
            "\"9223372036854775807\"",
        ] {
            let body = format!(r#"{{"accessToken":"abc","tokenTtl":{ttl}}}"#);
            let t = parse_login_answer(&body, now).unwrap();
            assert_eq!(t.ttl, MAX_TOKEN_TTL, "{ttl}");
            assert_eq!(freshness(Some(&t), now), Freshness::Fresh);
            // The largest lifetime, even unclamped, gives deadlines without overflow.
            let forever = Token::new("t".into(), now, Duration::MAX);
            assert_eq!(freshness(Some(&forever), now), Freshness::Fresh);
            let login = Login::new("u".into(), "p".into());
            login.store(t);
            let never = |_: &Login| -> Result<Token, Error> { panic!("no login expected") };
            assert_eq!(login.token(never).unwrap(), "abc");
        }
    }

    proptest::proptest! {
        /// Whatever lifetime a login answer states, as an integer or a float, the token's is
        /// within a second and a day, and every deadline computed from it exists.
        #[test]
        fn any_stated_lifetime_gives_a_bounded_token(
            int in proptest::prelude::any::<i64>(),
            float in proptest::prelude::any::<f64>(),
            later in 0u64..200_000,
        ) {
            let now = Instant::now();
            let float = if float.is_finite() { float.to_string() } else { "1e999".into() };
            for ttl in [int.to_string(), float] {
                let body = format!(r#"{{"accessToken":"t","tokenTtl":{ttl}}}"#);
                let Ok(token) = parse_login_answer(&body, now) else {
                    continue;
                };
                proptest::prop_assert!(token.ttl >= Duration::from_secs(1));
                proptest::prop_assert!(token.ttl <= MAX_TOKEN_TTL);
                let _ = freshness(Some(&token), now + Duration::from_secs(later));
            }
        }
    }

    #[test]
    fn never_shows_secrets() {
        let login = Login::new("user".into(), "hunter2".into());
        login.store(token("tok-secret", Duration::ZERO, Duration::from_secs(1)));
        let key = AccessKey {
            access_key: "ak".into(),
            secret_key: "sk-secret".into(),
        };
        let shown = format!(
            "{login:?} {key:?} {:?}",
            login.call(crate::wire::v1::LOGIN_PATH)
        );
        assert!(shown.contains("user") && shown.contains("ak"));
        for secret in ["hunter2", "tok-secret", "sk-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}

//! Auth mode: one user, tokens with a time to live.
//!
//! `POST /nacos/v1/auth/login` with the right `username` and `password` issues a random token;
//! every other call must carry a live one (`accessToken` parameter or header, or
//! `Authorization: Bearer`), or gets 403, as official servers with auth enabled answer.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

/// The longest time to live a token gets: a longer setting (`Duration::MAX`, a natural
/// "forever") is clamped to this, so expiry times never overflow and every client can hold the
/// announced `tokenTtl` (seconds) in a signed 64-bit number of milliseconds.
pub(crate) const MAX_TOKEN_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The login answer, as official servers send it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Login {
    pub(crate) access_token: String,
    /// Seconds.
    pub(crate) token_ttl: u64,
    pub(crate) global_admin: bool,
    pub(crate) username: String,
}

/// Why a token was refused; the text is what official servers answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No token at all.
    Missing,
    /// A token this server never issued (or forgot).
    Invalid,
    /// A token past its time to live.
    Expired,
}

impl Refused {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Refused::Missing => "user not found!",
            Refused::Invalid => "token invalid!",
            Refused::Expired => "token expired!",
        }
    }
}

/// The credentials and the tokens issued.
#[derive(Debug)]
pub(crate) struct Auth {
    username: String,
    password: String,
    /// Any credentials log in (3.x lines without auth mode: tokens only guard admin calls).
    any_user: bool,
    ttl: Duration,
    /// Token → when it expires (`None`: beyond what this platform's clock can represent).
    tokens: Mutex<HashMap<String, Option<Instant>>>,
}

impl Auth {
    /// Tokens live `ttl`, at most [`MAX_TOKEN_TTL`].
    pub(crate) fn new(username: String, password: String, ttl: Duration) -> Auth {
        Auth {
            username,
            password,
            any_user: false,
            ttl: ttl.min(MAX_TOKEN_TTL),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Tokens for whoever logs in, whatever the credentials.
    pub(crate) fn any_user(ttl: Duration) -> Auth {
        Auth {
            any_user: true,
            ..Auth::new(String::new(), String::new(), ttl)
        }
    }

    /// Accepts `token` from now on, forever: the fuzz target's fixed token, which an input can
    /// carry without first logging in.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn accept(&self, token: &str) {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.insert(token.to_owned(), None);
    }

    /// A new token for the right credentials.
    pub(crate) fn login(&self, username: &str, password: &str) -> Option<Login> {
        // Both compared in full, whatever matches, so timing tells nothing of either.
        let user_ok = same(username, &self.username);
        let password_ok = same(password, &self.password);
        if !(user_ok & password_ok | self.any_user) {
            return None;
        }
        let token = random_token()?;
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.retain(|_, expires| expires.is_none_or(|at| at > now));
        tokens.insert(token.clone(), now.checked_add(self.ttl));
        Some(Login {
            access_token: token,
            token_ttl: self.ttl.as_secs(),
            global_admin: true,
            username: username.to_owned(),
        })
    }

    /// Whether `token` is live.
    pub(crate) fn check(&self, token: Option<&str>) -> Result<(), Refused> {
        let token = token.ok_or(Refused::Missing)?;
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        match tokens.get(token) {
            None => Err(Refused::Invalid),
            Some(Some(expires)) if *expires <= Instant::now() => Err(Refused::Expired),
            Some(_) => Ok(()),
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    diff == 0
}

/// 32 random bytes from the operating system, as hex.
pub(crate) fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    let mut token = String::with_capacity(64);
    for b in bytes {
        let _ = write!(token, "{b:02x}");
    }
    Some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_checks_and_expires_tokens() {
        let auth = Auth::new("nacos".into(), "pw".into(), Duration::from_secs(60));
        assert!(auth.login("nacos", "wrong").is_none());
        assert!(auth.login("nacoss", "pw").is_none());
        let login = auth.login("nacos", "pw").unwrap();
        assert_eq!(login.access_token.len(), 64);
        assert_eq!(login.token_ttl, 60);
        assert_eq!(auth.check(Some(&login.access_token)), Ok(()));
        assert_eq!(auth.check(None), Err(Refused::Missing));
        assert_eq!(auth.check(Some("nope")), Err(Refused::Invalid));
        assert_ne!(
            auth.login("nacos", "pw").unwrap().access_token,
            login.access_token
        );

        let short = Auth::new("u".into(), "p".into(), Duration::ZERO);
        let login = short.login("u", "p").unwrap();
        assert_eq!(
            short.check(Some(&login.access_token)),
            Err(Refused::Expired)
        );
    }

    #[test]
    fn huge_ttls_are_clamped_and_logins_work() {
        for ttl in [
            Duration::MAX,
            Duration::from_secs(u64::MAX),
            MAX_TOKEN_TTL * 2,
        ] {
            let auth = Auth::new("u".into(), "p".into(), ttl);
            let login = auth.login("u", "p").unwrap();
            assert_eq!(login.token_ttl, MAX_TOKEN_TTL.as_secs());
            assert_eq!(auth.check(Some(&login.access_token)), Ok(()));
            assert!(
                auth.login("u", "p").is_some(),
                "a second login sweeps the first"
            );
        }
    }
}

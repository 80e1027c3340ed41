//! Login throttling: failed logins counted per username and per client address over a sliding
//! window. Past a limit, every attempt for that user or from that address is refused before
//! any password is checked, until the oldest failure leaves the window: guessing stops paying,
//! and an attacker cannot make the server burn CPU on password hashes.
//!
//! Only failures count, so a client that logs in correctly many times is never slowed; and a
//! wrong password sent again (a phone retrying an old password, a script replaying a request)
//! counts once, because it guesses nothing new. The counts live in this process: each instance
//! throttles on its own.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// At most `max` failures within `per_seconds`; `max == 0` turns the rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub max: u32,
    pub per_seconds: i64,
}

impl Rate {
    pub const OFF: Rate = Rate {
        max: 0,
        per_seconds: 1,
    };
}

impl FromStr for Rate {
    type Err = String;

    /// `5/5m`, `20/1m`, `100/1h`, or `off`.
    fn from_str(text: &str) -> Result<Self, String> {
        if text.trim().eq_ignore_ascii_case("off") {
            return Ok(Rate::OFF);
        }
        let explain = || format!("{text:?}: write failures/period, e.g. 5/5m or 20/1m, or off");
        let (max, period) = text.trim().split_once('/').ok_or_else(explain)?;
        let max: u32 = max.trim().parse().map_err(|_| explain())?;
        let per_seconds = crate::clock::Seconds::from_str(period)?.0;
        if per_seconds <= 0 {
            return Err(explain());
        }
        Ok(Rate { max, per_seconds })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.max == 0 {
            f.write_str("off")
        } else {
            write!(f, "{}/{}s", self.max, self.per_seconds)
        }
    }
}

/// The two limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub per_user: Rate,
    pub per_address: Rate,
}

impl Default for LoginLimits {
    /// Five wrong passwords per account in five minutes; twenty failures per address a minute.
    fn default() -> Self {
        Self {
            per_user: Rate {
                max: 5,
                per_seconds: 300,
            },
            per_address: Rate {
                max: 20,
                per_seconds: 60,
            },
        }
    }
}

/// Refused: try again in this many seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub i64);

/// Keys are kept this many at most; past it the stalest are dropped, so a flood of made-up
/// usernames cannot grow memory without bound.
const MAX_KEYS: usize = 100_000;

/// The failure counts.
#[derive(Debug)]
pub struct LoginThrottle {
    limits: LoginLimits,
    /// Per key, each failure's time and what was guessed (a keyed fingerprint, so that wrong
    /// passwords, often near misses of the right one, are never kept as they are).
    failures: Mutex<HashMap<Key, Failures>>,
    /// The key of those fingerprints, made at start and never stored.
    fingerprint_key: [u8; 32],
}

/// A key's failures in the window: when, and the fingerprint of what was guessed (`None` for an
/// attempt that counts every time).
type Failures = VecDeque<(i64, Option<u64>)>;

/// What a failed attempt tried: a guess, counted once per window however often it is
/// repeated, or something counted every time (a reset request).
#[derive(Debug, Clone, Copy)]
pub enum Attempt<'a> {
    Password(&'a str),
    Every,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(String),
}

impl LoginThrottle {
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            failures: Mutex::default(),
            fingerprint_key: rand::random(),
        }
    }

    pub fn limits(&self) -> LoginLimits {
        self.limits
    }

    // ANCHOR: check
    /// Whether a login for `username` from `address` may be tried at `now`.
    pub fn check(&self, username: &str, address: Option<&str>, now: i64) -> Result<(), RetryAfter> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = 0;
        for (key, rate) in self.keys(username, address) {
            if let Some(times) = failures.get_mut(&key) {
                forget_before(times, now - rate.per_seconds);
                if times.len() >= rate.max as usize
                    && let Some((oldest, _)) = times.front()
                {
                    wait = wait.max(oldest + rate.per_seconds - now);
                }
            }
        }
        if wait > 0 {
            Err(RetryAfter(wait))
        } else {
            Ok(())
        }
    }
    // ANCHOR_END: check

    /// Counts a failed attempt against the user and the address, unless it repeats a guess
    /// already counted in the window.
    pub fn record_failure(
        &self,
        username: &str,
        address: Option<&str>,
        now: i64,
        attempt: Attempt<'_>,
    ) {
        let guess = match attempt {
            Attempt::Password(password) => Some(self.fingerprint(username, password)),
            Attempt::Every => None,
        };
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_KEYS {
            let longest = self
                .limits
                .per_user
                .per_seconds
                .max(self.limits.per_address.per_seconds);
            failures.retain(|_, times| times.back().is_some_and(|(t, _)| *t > now - longest));
            if failures.len() >= MAX_KEYS {
                failures.clear();
            }
        }
        for (key, rate) in self.keys(username, address) {
            let times = failures.entry(key).or_default();
            forget_before(times, now - rate.per_seconds);
            if guess.is_some() && times.iter().any(|(_, g)| *g == guess) {
                continue;
            }
            times.push_back((now, guess));
        }
    }

    fn fingerprint(&self, username: &str, password: &str) -> u64 {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.fingerprint_key).expect("any key length");
        mac.update(username.as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        let bytes = mac.finalize().into_bytes();
        u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))
    }

    /// A correct password clears the account's failures (not the address's: one right guess
    /// among many wrong ones from the same place should not reset that count).
    pub fn record_success(&self, username: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&Key::User(username.to_owned()));
    }

    fn keys(&self, username: &str, address: Option<&str>) -> Vec<(Key, Rate)> {
        let mut keys = Vec::with_capacity(2);
        if self.limits.per_user.max > 0 {
            keys.push((Key::User(username.to_owned()), self.limits.per_user));
        }
        if let Some(address) = address
            && self.limits.per_address.max > 0
        {
            keys.push((Key::Address(address.to_owned()), self.limits.per_address));
        }
        keys
    }
}

fn forget_before(times: &mut Failures, horizon: i64) {
    while times.front().is_some_and(|(t, _)| *t <= horizon) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(user: &str, address: &str) -> LoginThrottle {
        LoginThrottle::new(LoginLimits {
            per_user: user.parse().unwrap(),
            per_address: address.parse().unwrap(),
        })
    }

    #[test]
    fn rates_are_written_failures_per_period() {
        assert_eq!(
            "5/5m".parse(),
            Ok(Rate {
                max: 5,
                per_seconds: 300
            })
        );
        assert_eq!("off".parse(), Ok(Rate::OFF));
        assert!("5".parse::<Rate>().is_err());
        assert!("x/1m".parse::<Rate>().is_err());
        assert!("5/0s".parse::<Rate>().is_err());
    }

    #[test]
    fn a_user_is_refused_after_the_limit_until_the_oldest_failure_leaves_the_window() {
        let t = throttle("3/60s", "off");
        for (now, guess) in [(100, "a"), (110, "b"), (120, "c")] {
            assert_eq!(t.check("vitor", None, now), Ok(()));
            t.record_failure("vitor", None, now, Attempt::Password(guess));
        }
        assert_eq!(t.check("vitor", None, 130), Err(RetryAfter(30)));
        assert_eq!(t.check("someone-else", None, 130), Ok(()));
        assert_eq!(t.check("vitor", None, 159), Err(RetryAfter(1)));
        assert_eq!(t.check("vitor", None, 160), Ok(()));
    }

    #[test]
    fn an_address_is_refused_whichever_usernames_it_tries() {
        let t = throttle("off", "2/60s");
        t.record_failure("a", Some("10.0.0.1"), 0, Attempt::Password("x"));
        t.record_failure("b", Some("10.0.0.1"), 1, Attempt::Password("x"));
        assert_eq!(t.check("c", Some("10.0.0.1"), 2), Err(RetryAfter(58)));
        assert_eq!(t.check("c", Some("10.0.0.2"), 2), Ok(()));
        assert_eq!(t.check("c", None, 2), Ok(()));
    }

    #[test]
    fn success_clears_the_users_failures_but_not_the_addresss() {
        let t = throttle("2/60s", "2/60s");
        t.record_failure("vitor", Some("10.0.0.1"), 0, Attempt::Password("x"));
        t.record_failure("vitor", Some("10.0.0.1"), 1, Attempt::Password("y"));
        t.record_success("vitor");
        assert_eq!(t.check("vitor", Some("10.0.0.2"), 2), Ok(()));
        assert!(t.check("vitor", Some("10.0.0.1"), 2).is_err());
    }

    #[test]
    fn the_same_wrong_password_again_is_not_a_new_guess() {
        let t = throttle("2/60s", "2/60s");
        for now in 0..10 {
            t.record_failure(
                "vitor",
                Some("10.0.0.1"),
                now,
                Attempt::Password("old-password"),
            );
        }
        assert_eq!(t.check("vitor", Some("10.0.0.1"), 10), Ok(()));
        t.record_failure("vitor", Some("10.0.0.1"), 11, Attempt::Password("another"));
        assert!(t.check("vitor", Some("10.0.0.1"), 12).is_err());
        // Each reset request counts, repeated or not.
        for now in 0..2 {
            t.record_failure("zoe", None, now, Attempt::Every);
        }
        assert!(t.check("zoe", None, 2).is_err());
    }

    #[test]
    fn off_never_refuses() {
        let t = throttle("off", "off");
        for now in 0..100 {
            t.record_failure("vitor", Some("10.0.0.1"), now, Attempt::Every);
        }
        assert_eq!(t.check("vitor", Some("10.0.0.1"), 100), Ok(()));
    }
}

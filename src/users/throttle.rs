//! Login throttling: failed logins counted per username and per client address over a sliding
//! window. Past a limit, every attempt for that user or from that address is refused before
//! any password is checked, until the oldest failure leaves the window: guessing stops paying,
//! and an attacker cannot make the server burn CPU on password hashes.
//!
//! Only failures count, so a client that logs in correctly many times is never slowed. The
//! counts live in this process: each instance throttles on its own.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

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
        let per_seconds = crate::cli::Seconds::from_str(period)?.0;
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
    failures: Mutex<HashMap<Key, VecDeque<i64>>>,
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
                    && let Some(oldest) = times.front()
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

    /// Counts a failed login against the user and the address.
    pub fn record_failure(&self, username: &str, address: Option<&str>, now: i64) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_KEYS {
            let longest = self
                .limits
                .per_user
                .per_seconds
                .max(self.limits.per_address.per_seconds);
            failures.retain(|_, times| times.back().is_some_and(|t| *t > now - longest));
            if failures.len() >= MAX_KEYS {
                failures.clear();
            }
        }
        for (key, _) in self.keys(username, address) {
            failures.entry(key).or_default().push_back(now);
        }
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

fn forget_before(times: &mut VecDeque<i64>, horizon: i64) {
    while times.front().is_some_and(|t| *t <= horizon) {
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
        for now in [100, 110, 120] {
            assert_eq!(t.check("vitor", None, now), Ok(()));
            t.record_failure("vitor", None, now);
        }
        assert_eq!(t.check("vitor", None, 130), Err(RetryAfter(30)));
        assert_eq!(t.check("someone-else", None, 130), Ok(()));
        assert_eq!(t.check("vitor", None, 159), Err(RetryAfter(1)));
        assert_eq!(t.check("vitor", None, 160), Ok(()));
    }

    #[test]
    fn an_address_is_refused_whichever_usernames_it_tries() {
        let t = throttle("off", "2/60s");
        t.record_failure("a", Some("10.0.0.1"), 0);
        t.record_failure("b", Some("10.0.0.1"), 1);
        assert_eq!(t.check("c", Some("10.0.0.1"), 2), Err(RetryAfter(58)));
        assert_eq!(t.check("c", Some("10.0.0.2"), 2), Ok(()));
        assert_eq!(t.check("c", None, 2), Ok(()));
    }

    #[test]
    fn success_clears_the_users_failures_but_not_the_addresss() {
        let t = throttle("2/60s", "2/60s");
        t.record_failure("vitor", Some("10.0.0.1"), 0);
        t.record_failure("vitor", Some("10.0.0.1"), 1);
        t.record_success("vitor");
        assert_eq!(t.check("vitor", Some("10.0.0.2"), 2), Ok(()));
        assert!(t.check("vitor", Some("10.0.0.1"), 2).is_err());
    }

    #[test]
    fn off_never_refuses() {
        let t = throttle("off", "off");
        for now in 0..100 {
            t.record_failure("vitor", Some("10.0.0.1"), now);
        }
        assert_eq!(t.check("vitor", Some("10.0.0.1"), 100), Ok(()));
    }
}

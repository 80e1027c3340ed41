//! Where "now" comes from. Every time check in the server asks a [`Clock`], so tests can pin the
//! time and move it forward instead of sleeping.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in whole seconds since the Unix epoch (a JWT NumericDate).
pub trait Clock: Send + Sync + 'static {
    /// The current time, floored to the second.
    fn now(&self) -> i64;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// `seconds` since the epoch as `YYYY-MM-DD HH:MM UTC`, for people reading a listing.
pub fn utc_date_time(seconds: i64) -> String {
    let (year, month, day, second_of_day) = civil(seconds);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        second_of_day / 3600,
        second_of_day % 3600 / 60
    )
}

/// `seconds` since the epoch in ISO 8601, as Django REST framework renders a `DateTimeField`
/// in UTC: `2026-11-23T12:32:47Z` (Python's `isoformat()` with `+00:00` written `Z`, and no
/// fraction when there is none, as with our whole seconds).
pub fn iso8601_utc(seconds: i64) -> String {
    let (year, month, day, second_of_day) = civil(seconds);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// (year, month, day, second of the day) in UTC.
fn civil(seconds: i64) -> (i64, i64, i64, i64) {
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Civil date from a day count, by 400-year eras of 146,097 days (March-based years).
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day, second_of_day)
}

/// A clock that stands still until told to move: for tests and exercises.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<AtomicI64>);

impl FixedClock {
    /// A clock showing `now` (Unix seconds).
    pub fn at(now: i64) -> Self {
        Self(Arc::new(AtomicI64::new(now)))
    }

    /// Moves the clock forward (or back, with a negative number) by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Sets the clock to `now`.
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A duration in whole seconds, written `300`, `300s`, `5m`, `12h` or `1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub i64);

impl FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
            Some(at) => text.split_at(at),
            None => (text, "s"),
        };
        let scale = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => return Err(format!("{text:?}: use a number with s, m, h or d, e.g. 5m")),
        };
        number
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .map(Seconds)
            .ok_or_else(|| format!("{text:?} is not a duration, e.g. 300s, 5m, 1d"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!("300".parse(), Ok(Seconds(300)));
        assert_eq!("5m".parse(), Ok(Seconds(300)));
        assert_eq!("1d".parse(), Ok(Seconds(86400)));
        assert!("5 minutes".parse::<Seconds>().is_err());
        assert!("m".parse::<Seconds>().is_err());
        assert!("99999999999999999999d".parse::<Seconds>().is_err());
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc_date_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date_time(1_300_819_380), "2011-03-22 18:43 UTC");
        assert_eq!(utc_date_time(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn iso_8601_is_written_the_way_drf_writes_utc() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601_utc(1_300_819_385), "2011-03-22T18:43:05Z");
        assert_eq!(iso8601_utc(951_868_799), "2000-02-29T23:59:59Z");
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at(1_000);
        assert_eq!(clock.now(), 1_000);
        clock.advance(300);
        assert_eq!(clock.now(), 1_300);
        clock.set(5);
        assert_eq!(clock.now(), 5);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > 1_577_836_800);
    }
}

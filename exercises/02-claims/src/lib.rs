//! Chapter 2, "Claims": read what a token says, then decide whether to believe it now.
//!
//! A JWT's payload is a JSON object whose members are *claims*. Here the payload arrives as
//! JSON text, already decoded (chapter 1) and, in a real server, already checked against its
//! signature (chapter 3). This crate types the registered claims with serde, keeps every other
//! claim, and validates them against rules and an instant given by the caller: never the
//! system clock.
//!
//! Your exercise: replace each `todo!()` below, step by step, until `cargo test -p
//! ch02-claims-exercise` passes. `cargo run -- check 2` says which step to work on next.
//!
//! The steps, from easy to hard: [`numeric_date`], [`Audience`], [`Claims`] with
//! [`parse_claims`], [`check_times`], [`missing`], [`validate`], and [`check`] with [`verdict_table`].

// Until each step is written, its arguments go unused.
#![allow(unused_variables, dead_code)]

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Unexpected};
use serde_json::{Map, Value};

/// What a NumericDate claim must be, in serde's error messages.
pub const EXPECTED_NUMERIC_DATE: &str = "a NumericDate (seconds since 1970)";
/// What `aud` must be, in serde's error messages.
pub const EXPECTED_AUDIENCE: &str = "a string or an array of strings";
/// What each member of an `aud` array must be, in serde's error messages.
pub const EXPECTED_AUDIENCE_MEMBER: &str = "a string";

// ANCHOR: warm_up
/// Step 0, a warm-up. How many whole seconds a token that expires at `exp` has left at the
/// instant `now`: none once it has expired (the book's "The rules, to the second").
pub fn seconds_left(exp: i64, now: i64) -> i64 {
    // TODO: Step 0: the seconds until `exp`, never fewer than none.
    todo!()
}
// ANCHOR_END: warm_up

// ANCHOR: numeric_date
/// Step 1. Read the value of a time claim (`exp`, `nbf`, `iat`) that is present, as whole
/// seconds since 1970, so that the time rules of step 4 can compare it with `now`.
///
/// Every JSON number is a NumericDate, fractions and numbers far beyond `i64` included: find
/// the second each one falls in. Every other value refuses the token, with an error made by
/// [`wrong_type`] and [`EXPECTED_NUMERIC_DATE`]. The book's "NumericDate mistakes" says why a
/// claim that cannot be read must never be skipped; step 1 of the book has the cases.
pub fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    // TODO: Step 1: the claim's value as whole seconds, or an error. Stuck? `cargo run -- hint 2`.
    todo!()
}
// ANCHOR_END: numeric_date

// ANCHOR: audience
/// The `aud` claim: who the token is meant for. RFC 7519 §4.1.3 allows one string or an array
/// of strings; both spellings are kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}
// ANCHOR_END: audience

// ANCHOR: audience_deserialize
/// Step 2a. Read `aud` in both the spellings RFC 7519 allows, keeping the one the issuer
/// chose, and refuse every other shape with [`wrong_type`] (its wording: [`EXPECTED_AUDIENCE`],
/// or [`EXPECTED_AUDIENCE_MEMBER`] for a bad member of an array). The book's "The audience:
/// one or many" gives the rule.
impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // TODO: Step 2a: the two spellings of `aud`, and nothing else.
        todo!()
    }
}
// ANCHOR_END: audience_deserialize

// ANCHOR: audience_contains
impl Audience {
    /// Step 2b. Whether the token is meant for `name`. How audiences compare is in the
    /// book's step 2 (RFC 7519 §2, StringOrURI).
    pub fn contains(&self, name: &str) -> bool {
        // TODO: Step 2b: does this audience name `name`?
        todo!()
    }
}
// ANCHOR_END: audience_contains

// ANCHOR: claims
/// Step 3. A token's claims: the registered ones typed, simplejwt's `token_type` typed too,
/// and every other claim kept in `extra`, in the order the issuer wrote them.
// TODO: Step 3. serde reads this struct as it stands, and reads it wrong: compare what each
// field must do ("Modelling claims with serde") with what serde does by default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Claims {
    /// Issuer: who made the token.
    pub iss: Option<String>,
    /// Subject: whom the token is about.
    pub sub: Option<String>,
    /// Audience: who the token is meant for.
    pub aud: Option<Audience>,
    /// Expiration time: the token is refused from this second on.
    pub exp: Option<i64>,
    /// Not before: the token is refused until this second.
    pub nbf: Option<i64>,
    /// Issued at: when the token was made.
    pub iat: Option<i64>,
    /// JWT ID: this token's unique id.
    pub jti: Option<String>,
    /// What kind of token this is (`"access"`, `"refresh"`...): a private claim of simplejwt's.
    pub token_type: Option<String>,
    /// Every other claim, public or private, untouched.
    pub extra: Map<String, Value>,
}
// ANCHOR_END: claims

// ANCHOR: parse_claims
/// Step 3. Read a payload (JSON text) into [`Claims`], as "Modelling claims with serde" in the
/// book describes: a registered claim of the wrong type is an error, never a claim quietly
/// dropped, and no claim is lost.
pub fn parse_claims(payload: &str) -> Result<Claims, serde_json::Error> {
    // TODO: Step 3, with `Claims` above.
    todo!()
}
// ANCHOR_END: parse_claims

// ANCHOR: failure
/// Every reason a token's claims can be refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The payload is not a claims set we can read: not JSON, not an object, or a registered
    /// claim of the wrong type. The text is serde's message.
    Malformed(String),
    /// A claim the rules require is absent.
    Missing(&'static str),
    /// `iss` names another issuer than the one we trust.
    WrongIssuer(String),
    /// `aud` does not name us (or names someone while we expect no audience at all).
    WrongAudience(Audience),
    /// `token_type` names another kind of token than the one this check accepts.
    WrongTokenType(String),
    /// `iat` is later than now, even allowing for the leeway.
    IssuedInTheFuture { iat: i64 },
    /// `nbf` is later than now, even allowing for the leeway.
    NotYetValid { nbf: i64 },
    /// `exp` has passed, even allowing for the leeway.
    Expired { exp: i64 },
}
// ANCHOR_END: failure

// ANCHOR: check_times
/// Step 4. Every time rule the token breaks at the instant `now`, forgiving `leeway` seconds
/// of clock skew (`leeway >= 0`), in the order `iat`, `nbf`, `exp`. A rule applies only when its
/// claim is present. The rules, to the second, and what the leeway does to them are in the
/// book's "Time: three claims and two clocks".
pub fn check_times(claims: &Claims, now: i64, leeway: i64) -> Vec<Failure> {
    // TODO: Step 4: every time rule this token breaks at `now`.
    todo!()
}
// ANCHOR_END: check_times

// ANCHOR: rules
/// What one endpoint accepts. Build one per kind of token: the rules for access tokens are not
/// the rules for refresh tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// The issuer we trust: `iss` must be present and equal to it. `None`: `iss` is not checked.
    pub issuer: Option<String>,
    /// Who we are: `aud` must be present and name us. `None`: we expect no audience, so a token
    /// that names one (any one) is not for us.
    pub audience: Option<String>,
    /// The kind of token accepted here: `token_type` must be present and equal to it. `None`:
    /// any type, or none, passes.
    pub token_type: Option<String>,
    /// Claims that must be present (`"exp"`, `"jti"`...), checked in this order.
    pub required: Vec<&'static str>,
    /// Seconds of clock skew forgiven in the time rules.
    pub leeway: i64,
}
// ANCHOR_END: rules

// ANCHOR: missing
/// Step 5. The claims `rules` need that `claims` lack, as [`Failure::Missing`], each name once:
/// those of `rules.required`, in their order, then `iss`, `aud` and `token_type` when the rules
/// expect a value for them (a value the rules expect makes its claim required: a token must
/// not pass a check by leaving the claim out).
pub fn missing(claims: &Claims, rules: &Rules) -> Vec<Failure> {
    // TODO: Step 5: the names to look for, each once, then the ones the token lacks.
    todo!()
}
// ANCHOR_END: missing

// ANCHOR: validate
/// Step 6. Check `claims` against every one of `rules` at the instant `now`, and report every
/// failure, never only the first: the missing claims (step 5), then the claims present with the
/// wrong value, then the time rules (step 4). The book's "The audience: one or many", "One kind
/// of token must never pass for another" and step 6 say what each rule accepts.
pub fn validate(claims: &Claims, rules: &Rules, now: i64) -> Result<(), Vec<Failure>> {
    // TODO: Step 6: every failure, in the order above: your steps 5 and 4, and the values between.
    todo!()
}
// ANCHOR_END: validate

// ANCHOR: check
/// Step 7a. Read a payload and validate it in one go: the claims if they pass, otherwise every
/// reason they do not. A payload that cannot be read is one [`Failure::Malformed`] carrying the
/// parse error's text.
pub fn check(payload: &str, rules: &Rules, now: i64) -> Result<Claims, Vec<Failure>> {
    // TODO: Step 7a: your steps 3 and 5, one after the other.
    todo!()
}
// ANCHOR_END: check

// ANCHOR: verdict_table
/// Step 7b. The verdict on each token at each instant, as a text table. For each `(name,
/// payload)` of `tokens`, in order: a line with the name, then one line per `(label, now)` of
/// `instants`: two spaces, the label padded to 14 characters, two spaces, then `ok`, or
/// `refused: ` and every failure's `Display`, joined by `; `. An empty line separates tokens.
pub fn verdict_table(rules: &Rules, tokens: &[(&str, &str)], instants: &[(&str, i64)]) -> String {
    // TODO: Step 7b. The exact layout is in the step 7 snapshots, `tests/suite/snapshots/`.
    todo!()
}
// ANCHOR_END: verdict_table

impl Claims {
    /// Whether the claim called `name` is present, registered or not.
    pub fn has(&self, name: &str) -> bool {
        match name {
            "iss" => self.iss.is_some(),
            "sub" => self.sub.is_some(),
            "aud" => self.aud.is_some(),
            "exp" => self.exp.is_some(),
            "nbf" => self.nbf.is_some(),
            "iat" => self.iat.is_some(),
            "jti" => self.jti.is_some(),
            "token_type" => self.token_type.is_some(),
            other => self.extra.contains_key(other),
        }
    }
}

/// The serde error for a claim whose JSON value has the wrong type, in serde's own words:
/// `invalid type: string "1300819380", expected a NumericDate (...)`.
pub fn wrong_type<E: serde::de::Error>(found: &Value, expected: &str) -> E {
    let unexpected = match found {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Unexpected::Unsigned(u),
            (_, Some(i), _) => Unexpected::Signed(i),
            (_, _, f) => Unexpected::Float(f.unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    };
    E::invalid_type(unexpected, &expected)
}

/// A NumericDate (seconds since 1970-01-01T00:00:00Z) as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm: eras of 400 years, each 146,097 days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

impl fmt::Display for Audience {
    /// As JSON: `"api"` or `["billing","api"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = match self {
            Audience::One(one) => Value::from(one.as_str()),
            Audience::Many(many) => Value::from(many.clone()),
        };
        write!(f, "{json}")
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Malformed(reason) => write!(f, "malformed: {reason}"),
            Failure::Missing(name) => write!(f, "no \"{name}\" claim"),
            Failure::WrongIssuer(found) => {
                write!(f, "wrong issuer {}", Value::from(found.as_str()))
            }
            Failure::WrongAudience(found) => write!(f, "wrong audience {found}"),
            Failure::WrongTokenType(found) => {
                write!(f, "wrong token_type {}", Value::from(found.as_str()))
            }
            Failure::IssuedInTheFuture { iat } => {
                write!(f, "issued in the future (iat {})", utc(*iat))
            }
            Failure::NotYetValid { nbf } => write!(f, "not valid yet (nbf {})", utc(*nbf)),
            Failure::Expired { exp } => write!(f, "expired (exp {})", utc(*exp)),
        }
    }
}

impl std::error::Error for Failure {}

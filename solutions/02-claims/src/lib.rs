//! Chapter 2, "Claims": read what a token says, then decide whether to believe it now.
//!
//! A JWT's payload is a JSON object whose members are *claims*. Here the payload arrives as
//! JSON text, already decoded (chapter 1) and, in a real server, already checked against its
//! signature (chapter 3). This crate types the registered claims with serde, keeps every other
//! claim, and validates them against rules and an instant given by the caller: never the
//! system clock.
//!
//! The steps, from easy to hard: [`numeric_date`], [`Audience`], [`Claims`] with
//! [`parse_claims`], [`check_times`], [`missing`], [`validate`], and [`check`] with [`verdict_table`].

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
    exp.saturating_sub(now).max(0)
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
    match Value::deserialize(deserializer)? {
        Value::Number(number) => Ok(Some(match number.as_i64() {
            Some(seconds) => seconds,
            // `as` saturates: 1e300 becomes i64::MAX, the far future the issuer asked for.
            None => number.as_f64().unwrap_or(f64::NAN).floor() as i64,
        })),
        other => Err(wrong_type(&other, EXPECTED_NUMERIC_DATE)),
    }
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
        match Value::deserialize(deserializer)? {
            Value::String(one) => Ok(Audience::One(one)),
            Value::Array(members) => members
                .into_iter()
                .map(|member| match member {
                    Value::String(name) => Ok(name),
                    other => Err(wrong_type(&other, EXPECTED_AUDIENCE_MEMBER)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Audience::Many),
            other => Err(wrong_type(&other, EXPECTED_AUDIENCE)),
        }
    }
}
// ANCHOR_END: audience_deserialize

// ANCHOR: audience_contains
impl Audience {
    /// Step 2b. Whether the token is meant for `name`. How audiences compare is in the
    /// book's step 2 (RFC 7519 §2, StringOrURI).
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Audience::One(one) => one == name,
            Audience::Many(many) => many.iter().any(|member| member == name),
        }
    }
}
// ANCHOR_END: audience_contains

// ANCHOR: claims
/// Step 3. A token's claims: the registered ones typed, simplejwt's `token_type` typed too,
/// and every other claim kept in `extra`, in the order the issuer wrote them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Claims {
    /// Issuer: who made the token.
    pub iss: Option<String>,
    /// Subject: whom the token is about.
    pub sub: Option<String>,
    /// Audience: who the token is meant for.
    pub aud: Option<Audience>,
    /// Expiration time: the token is refused from this second on.
    #[serde(default, deserialize_with = "numeric_date")]
    pub exp: Option<i64>,
    /// Not before: the token is refused until this second.
    #[serde(default, deserialize_with = "numeric_date")]
    pub nbf: Option<i64>,
    /// Issued at: when the token was made.
    #[serde(default, deserialize_with = "numeric_date")]
    pub iat: Option<i64>,
    /// JWT ID: this token's unique id.
    pub jti: Option<String>,
    /// What kind of token this is (`"access"`, `"refresh"`...): a private claim of simplejwt's.
    pub token_type: Option<String>,
    /// Every other claim, public or private, untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
// ANCHOR_END: claims

// ANCHOR: parse_claims
/// Step 3. Read a payload (JSON text) into [`Claims`], as "Modelling claims with serde" in the
/// book describes: a registered claim of the wrong type is an error, never a claim quietly
/// dropped, and no claim is lost.
pub fn parse_claims(payload: &str) -> Result<Claims, serde_json::Error> {
    serde_json::from_str(payload)
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
    let mut failures = Vec::new();
    if let Some(iat) = claims.iat
        && iat > now + leeway
    {
        failures.push(Failure::IssuedInTheFuture { iat });
    }
    if let Some(nbf) = claims.nbf
        && nbf > now + leeway
    {
        failures.push(Failure::NotYetValid { nbf });
    }
    if let Some(exp) = claims.exp
        && exp <= now - leeway
    {
        failures.push(Failure::Expired { exp });
    }
    failures
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
    let mut required = rules.required.clone();
    for (name, expected) in [
        ("iss", rules.issuer.is_some()),
        ("aud", rules.audience.is_some()),
        ("token_type", rules.token_type.is_some()),
    ] {
        if expected && !required.contains(&name) {
            required.push(name);
        }
    }
    required
        .into_iter()
        .filter(|name| !claims.has(name))
        .map(Failure::Missing)
        .collect()
}
// ANCHOR_END: missing

// ANCHOR: validate
/// Step 6. Check `claims` against every one of `rules` at the instant `now`, and report every
/// failure, never only the first: the missing claims (step 5), then the claims present with the
/// wrong value, then the time rules (step 4). The book's "The audience: one or many", "One kind
/// of token must never pass for another" and step 6 say what each rule accepts.
pub fn validate(claims: &Claims, rules: &Rules, now: i64) -> Result<(), Vec<Failure>> {
    let mut failures = missing(claims, rules);

    if let (Some(expected), Some(found)) = (&rules.issuer, &claims.iss)
        && expected != found
    {
        failures.push(Failure::WrongIssuer(found.clone()));
    }
    if let Some(found) = &claims.aud {
        let for_us = match &rules.audience {
            Some(us) => found.contains(us),
            None => false,
        };
        if !for_us {
            failures.push(Failure::WrongAudience(found.clone()));
        }
    }
    if let (Some(expected), Some(found)) = (&rules.token_type, &claims.token_type)
        && expected != found
    {
        failures.push(Failure::WrongTokenType(found.clone()));
    }

    failures.extend(check_times(claims, now, rules.leeway));
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}
// ANCHOR_END: validate

// ANCHOR: check
/// Step 7a. Read a payload and validate it in one go: the claims if they pass, otherwise every
/// reason they do not. A payload that cannot be read is one [`Failure::Malformed`] carrying the
/// parse error's text.
pub fn check(payload: &str, rules: &Rules, now: i64) -> Result<Claims, Vec<Failure>> {
    let claims =
        parse_claims(payload).map_err(|error| vec![Failure::Malformed(error.to_string())])?;
    validate(&claims, rules, now)?;
    Ok(claims)
}
// ANCHOR_END: check

// ANCHOR: verdict_table
/// Step 7b. The verdict on each token at each instant, as a text table. For each `(name,
/// payload)` of `tokens`, in order: a line with the name, then one line per `(label, now)` of
/// `instants`: two spaces, the label padded to 14 characters, two spaces, then `ok`, or
/// `refused: ` and every failure's `Display`, joined by `; `. An empty line separates tokens.
pub fn verdict_table(rules: &Rules, tokens: &[(&str, &str)], instants: &[(&str, i64)]) -> String {
    let mut table = String::new();
    for (index, (name, payload)) in tokens.iter().enumerate() {
        if index > 0 {
            table.push('\n');
        }
        table.push_str(name);
        table.push('\n');
        for (label, now) in instants {
            let verdict = match check(payload, rules, *now) {
                Ok(_) => "ok".to_string(),
                Err(failures) => {
                    let reasons: Vec<String> = failures.iter().map(ToString::to_string).collect();
                    format!("refused: {}", reasons.join("; "))
                }
            };
            table.push_str(&format!("  {label:<14}  {verdict}\n"));
        }
    }
    table
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

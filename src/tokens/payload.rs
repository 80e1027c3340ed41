//! A token's payload, read once its signature is known to be ours: the claims verification
//! checks, borrowed from the JSON text ([`Claims`]), and the text itself, kept for what needs
//! every claim (a refresh copies the custom ones) ([`Payload`]).
//!
//! Reading the payload into a `serde_json` map would copy every name and every string into an
//! allocation of its own, on every authenticated request, to look at seven of them. Here the
//! other claims are parsed and checked exactly as a map would parse them (a malformed one still
//! makes the token invalid) and then dropped.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

// ANCHOR: claims
/// The claims [`super::TokenService::verify`] reads, by their registered names and by the three
/// names simplejwt lets you configure. `None` is a claim that is absent; a `null` is there.
#[derive(Debug, Default)]
pub(crate) struct Claims<'a> {
    pub iat: Option<Claim<'a>>,
    pub nbf: Option<Claim<'a>>,
    pub exp: Option<Claim<'a>>,
    pub iss: Option<Claim<'a>>,
    pub aud: Option<Claim<'a>>,
    pub sub: Option<Claim<'a>>,
    /// `jti` by its registered name, whatever `JTI_CLAIM` is: PyJWT checks it is a string.
    pub registered_jti: Option<Claim<'a>>,
    /// A sliding token's refresh deadline.
    pub refresh_exp: Option<Claim<'a>>,
    /// The token's id, by the configured name (`JTI_CLAIM`).
    pub jti: Option<Claim<'a>>,
    /// By `TOKEN_TYPE_CLAIM`.
    pub token_type: Option<Claim<'a>>,
    /// By `USER_ID_CLAIM`.
    pub user_id: Option<Claim<'a>>,
}

/// One claim's value, as much of it as verification looks at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Claim<'a> {
    /// Borrowed from the payload unless it had escapes to undo.
    String(Cow<'a, str>),
    /// A JSON integer that fits an `i64`.
    Integer(i64),
    /// A JSON integer above `i64::MAX`.
    Large(u64),
    /// A JSON number with a fraction or an exponent.
    Float(f64),
    /// An array of strings only (an `aud` may be one).
    Strings(Vec<Cow<'a, str>>),
    /// `null`, a boolean, an object, or an array holding anything but strings.
    Other,
}
// ANCHOR_END: claims

/// The names [`Claims`] collects under, besides the registered ones.
pub(crate) struct ClaimNames<'n> {
    pub jti: &'n str,
    pub token_type: &'n str,
    pub user_id: &'n str,
}

impl<'a> Claims<'a> {
    /// Reads `json`, which must be one JSON object (as a map would: the last of two claims of
    /// the same name wins).
    pub fn read(json: &'a str, names: &ClaimNames<'_>) -> Result<Self, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let claims = ClaimsSeed { names }.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(claims)
    }

    fn keep(&mut self, name: &str, value: Claim<'a>, names: &ClaimNames<'_>) {
        let registered = match name {
            "iat" => Some(&mut self.iat),
            "nbf" => Some(&mut self.nbf),
            "exp" => Some(&mut self.exp),
            "iss" => Some(&mut self.iss),
            "aud" => Some(&mut self.aud),
            "sub" => Some(&mut self.sub),
            "jti" => Some(&mut self.registered_jti),
            "refresh_exp" => Some(&mut self.refresh_exp),
            _ => None,
        };
        // A configured name may also be a registered one (`JTI_CLAIM = "sub"`): both keep it.
        for (configured, slot) in [
            (names.jti, &mut self.jti),
            (names.token_type, &mut self.token_type),
            (names.user_id, &mut self.user_id),
        ] {
            if name == configured {
                *slot = Some(value.clone());
            }
        }
        if let Some(slot) = registered {
            *slot = Some(value);
        }
    }
}

struct ClaimsSeed<'s, 'n> {
    names: &'s ClaimNames<'n>,
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_, '_> {
    type Value = Claims<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Claims<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'_, '_> {
    type Value = Claims<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims<'de>, A::Error> {
        let mut claims = Claims::default();
        while let Some(Name(name)) = map.next_key()? {
            let value: Claim<'de> = map.next_value()?;
            claims.keep(&name, value, self.names);
        }
        Ok(claims)
    }
}

/// A claim's name, borrowed unless it had escapes to undo.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(StrVisitor).map(Name)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value))
    }
}

impl<'de> Deserialize<'de> for Claim<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ClaimVisitor)
    }
}

/// Takes any JSON value, parsing all of it (nested objects and arrays too), so that what a
/// `serde_json::Value` would refuse is refused here.
struct ClaimVisitor;

impl<'de> Visitor<'de> for ClaimVisitor {
    type Value = Claim<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Claim<'de>, E> {
        Ok(Claim::Other)
    }

    fn visit_i64<E>(self, value: i64) -> Result<Claim<'de>, E> {
        Ok(Claim::Integer(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Claim<'de>, E> {
        Ok(i64::try_from(value).map_or(Claim::Large(value), Claim::Integer))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Claim<'de>, E> {
        Ok(Claim::Float(value))
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Claim<'de>, E> {
        Ok(Claim::String(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Claim<'de>, E> {
        Ok(Claim::String(Cow::Owned(value.to_owned())))
    }

    fn visit_unit<E>(self) -> Result<Claim<'de>, E> {
        Ok(Claim::Other)
    }

    fn visit_none<E>(self) -> Result<Claim<'de>, E> {
        Ok(Claim::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Claim<'de>, A::Error> {
        let mut strings = Some(Vec::new());
        while let Some(element) = seq.next_element::<Claim<'de>>()? {
            match (element, &mut strings) {
                (Claim::String(string), Some(strings)) => strings.push(string),
                _ => strings = None,
            }
        }
        Ok(strings.map_or(Claim::Other, Claim::Strings))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claim<'de>, A::Error> {
        while map.next_entry::<Name<'de>, Claim<'de>>()?.is_some() {}
        Ok(Claim::Other)
    }
}

/// A verified payload's JSON text, as the issuer wrote it. Only verification makes one (or
/// [`Payload::default`], an empty object), so it always holds one JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload(String);

impl Default for Payload {
    fn default() -> Self {
        Self("{}".to_owned())
    }
}

impl Payload {
    /// Only for a text [`Claims::read`] accepted.
    pub(crate) fn verified(json: String) -> Self {
        Self(json)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Every claim, in the order the issuer wrote them.
    pub fn claims(&self) -> Map<String, Value> {
        // `Claims::read` parsed this same text as one object, refusing whatever a map refuses.
        serde_json::from_str(&self.0).expect("a verified payload is one JSON object")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: ClaimNames<'static> = ClaimNames {
        jti: "jti",
        token_type: "token_type",
        user_id: "user_id",
    };

    #[test]
    fn the_checked_claims_are_read_and_the_others_left() {
        let json = r#"{"token_type":"access","exp":1700000300,"iat":1.5,"jti":"ab","user_id":"1",
            "aud":["a","b"],"iss":"me","nbf":-3,"big":18446744073709551615,"x":{"y":[1,null]}}"#;
        let claims = Claims::read(json, &NAMES).unwrap();
        assert_eq!(claims.token_type, Some(Claim::String("access".into())));
        assert_eq!(claims.exp, Some(Claim::Integer(1_700_000_300)));
        assert_eq!(claims.iat, Some(Claim::Float(1.5)));
        assert_eq!(claims.nbf, Some(Claim::Integer(-3)));
        assert_eq!(claims.jti, Some(Claim::String("ab".into())));
        assert_eq!(claims.registered_jti, claims.jti);
        assert_eq!(claims.user_id, Some(Claim::String("1".into())));
        assert_eq!(
            claims.aud,
            Some(Claim::Strings(vec!["a".into(), "b".into()]))
        );
        assert_eq!(claims.iss, Some(Claim::String("me".into())));
        assert_eq!(claims.sub, None);
        // Borrowed from the text: nothing was copied.
        assert!(matches!(claims.jti, Some(Claim::String(Cow::Borrowed(_)))));
    }

    #[test]
    fn configured_names_are_read_and_the_last_of_two_claims_wins() {
        let names = ClaimNames {
            jti: "sub",
            token_type: "kind",
            user_id: "uid",
        };
        let json = r#"{"kind":"a","kind":"refresh","uid":7,"sub":"x\n","jti":5,"e\u0078p":null}"#;
        let claims = Claims::read(json, &names).unwrap();
        assert_eq!(claims.token_type, Some(Claim::String("refresh".into())));
        assert_eq!(claims.user_id, Some(Claim::Integer(7)));
        assert_eq!(claims.jti, Some(Claim::String("x\n".into())));
        assert_eq!(claims.sub, claims.jti);
        assert_eq!(claims.registered_jti, Some(Claim::Integer(5)));
        // An escaped name is still its name; `null` is a claim that is there.
        assert_eq!(claims.exp, Some(Claim::Other));
    }

    /// The view refuses exactly what a `serde_json` map refuses, so a verified payload always
    /// reads back as a map ([`Payload::claims`]).
    #[test]
    fn the_view_accepts_exactly_what_a_map_accepts() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        for json in [
            r#"{}"#,
            r#"{"a":1}"#,
            r#"[1]"#,
            r#""text""#,
            r#"{"a":1}x"#,
            r#"{"a":1e400}"#,
            r#"{"a":-1e400}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\u00e9","b":"é"}"#,
            r#"{"a":[1,"b",{"c":[]}],"d":true,"e":null}"#,
            r#"{"a":1,}"#,
            r#"{"a":01}"#,
            r#"{"a":"tab	inside"}"#,
            r#"{1:2}"#,
            &deep,
        ] {
            let view = Claims::read(json, &NAMES).is_ok();
            let map = serde_json::from_str::<Map<String, Value>>(json).is_ok();
            assert_eq!(view, map, "{json}");
        }
    }

    #[test]
    fn a_payload_gives_back_every_claim_in_order() {
        let payload = Payload::verified(r#"{"z":1,"scope":"openid","a":[2]}"#.into());
        let names: Vec<String> = payload.claims().keys().cloned().collect();
        assert_eq!(names, ["z", "scope", "a"]);
        assert_eq!(payload.claims()["scope"], "openid");
        assert_eq!(Payload::default().claims(), Map::new());
    }
}

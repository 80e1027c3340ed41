//! Chapter 1, "Anatomy of a JWT": take a token apart without trusting it.
//!
//! Your exercise: replace each `todo!()` below, step by step, until `cargo test -p
//! ch01-anatomy-exercise` passes. `cargo run -- check 1` says which step to work on next.
//!
//! A JWT in compact form is three base64url segments joined by dots: a JOSE header, a payload
//! and a signature. Everything here is *decoding*: nothing in this crate checks a signature, so
//! nothing here tells you a token is genuine. That is chapter 3.
//!
//! The steps, from easy to hard: [`split`], [`base64url_value`], [`sextets`], [`decode_base64url`],
//! [`parse_object`], [`decode`] and [`inspect`].

// Until each step is written, its arguments go unused.
#![allow(unused_variables, dead_code)]

use std::fmt;

use serde_json::{Map, Value};

// ANCHOR: warm_up
/// Step 0, a warm-up. How many segments a compact token has: the pieces its dots separate,
/// empty pieces included (the book's "Three parts, two dots").
pub fn segment_count(token: &str) -> usize {
    // TODO: Step 0: count the pieces between the dots.
    todo!()
}
// ANCHOR_END: warm_up

// ANCHOR: part
/// The three parts of a compact JWS, in the order they appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Header,
    Payload,
    Signature,
}
// ANCHOR_END: part

// ANCHOR: segments
/// A token cut at its two dots, each segment still base64url text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments<'a> {
    pub header: &'a str,
    pub payload: &'a str,
    pub signature: &'a str,
}
// ANCHOR_END: segments

// ANCHOR: malformed
/// Every way a token can be malformed before anyone looks at its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// Nothing at all was given.
    Empty,
    /// A compact JWS has exactly three segments, so exactly two dots.
    WrongSegmentCount { found: usize },
    /// The header and the payload can never be empty (the signature can: see [`split`]).
    EmptySegment { part: Part },
    /// base64url in a JWT carries no `=` padding.
    Padding { part: Part },
    /// A byte outside the base64url alphabet: `+` and `/` belong to plain base64, and
    /// whitespace is not allowed anywhere. `index` counts bytes from the segment's start.
    InvalidCharacter { part: Part, index: usize, byte: u8 },
    /// A length of 4n+1 characters cannot come from any bytes.
    InvalidLength { part: Part, length: usize },
    /// The last character carries bits that no encoder would set, so two different strings
    /// would decode to the same bytes.
    NonCanonical { part: Part },
    /// The decoded header or payload is not UTF-8 text.
    NotUtf8 { part: Part },
    /// The decoded header or payload is not JSON; `reason` is the parser's explanation.
    NotJson { part: Part, reason: String },
    /// The JSON is valid but not an object; `found` names what it is instead.
    NotAnObject { part: Part, found: &'static str },
    /// The JOSE header has no `alg` naming the algorithm as a string.
    MissingAlgorithm,
}
// ANCHOR_END: malformed

// ANCHOR: decoded
/// A token taken apart: both JSON objects, in the order their members were written, and the
/// signature's raw bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub header: Map<String, Value>,
    /// The `alg` member of the header, which says how the signature was made.
    pub algorithm: String,
    pub payload: Map<String, Value>,
    pub signature: Vec<u8>,
}
// ANCHOR_END: decoded

// ANCHOR: split
/// Step 1. Cut a token into its three segments.
///
/// An empty string is [`Malformed::Empty`]. Otherwise exactly two dots, so exactly three
/// segments, or [`Malformed::WrongSegmentCount`]. The header and the payload must not be empty
/// ([`Malformed::EmptySegment`]); the signature may be, because an unsecured token
/// (`"alg": "none"`) has an empty one, and it is still well-formed (just never to be trusted).
pub fn split(token: &str) -> Result<Segments<'_>, Malformed> {
    // TODO: Step 1: the three segments, or the first problem of the doc comment.
    todo!()
}
// ANCHOR_END: split

// ANCHOR: base64url_value
/// Step 2. The 6-bit value of one base64url character, or `None` if it is not one.
///
/// The alphabet is `A`–`Z` (0–25), `a`–`z` (26–51), `0`–`9` (52–61), then `-` (62) and `_`
/// (63), where plain base64 has `+` and `/`.
pub fn base64url_value(byte: u8) -> Option<u8> {
    // TODO: Step 2: the value of one character of the base64url alphabet.
    todo!()
}
// ANCHOR_END: base64url_value

// ANCHOR: sextets
/// Step 3. The 6-bit values of a segment's characters, read from left to right with step 2:
/// the first character that is not base64url refuses the segment ([`Malformed::Padding`] for
/// `=`, [`Malformed::InvalidCharacter`] for anything else, with its index and byte); then a
/// number of characters that no encoder can produce ([`Malformed::InvalidLength`]). The book's
/// "Strict decoding, and why it matters" says why each is refused.
pub fn sextets(part: Part, text: &str) -> Result<Vec<u8>, Malformed> {
    // TODO: Step 3: each character's value, or the first problem from the left; then the length.
    todo!()
}
// ANCHOR_END: sextets

// ANCHOR: decode_base64url
/// Step 4. Decode one segment, strictly: the bytes its characters (step 3) carry, six bits
/// each, refusing a last group whose unused bits are not zero ([`Malformed::NonCanonical`]), so
/// that every byte string has exactly one spelling (the book's "Strict decoding, and why it
/// matters").
pub fn decode_base64url(part: Part, text: &str) -> Result<Vec<u8>, Malformed> {
    // TODO: Step 4: your step 3, then the bytes, refusing every spelling but the canonical one.
    todo!()
}
// ANCHOR_END: decode_base64url

// ANCHOR: parse_object
/// Step 5. Read decoded bytes as a JSON object (a header or a payload).
///
/// Check UTF-8 first, so that a reader learns the bytes are not text at all rather than a
/// parser's complaint about some byte.
pub fn parse_object(part: Part, bytes: &[u8]) -> Result<Map<String, Value>, Malformed> {
    // TODO: Step 5: a JSON object, or the reason these bytes are not one.
    todo!()
}
// ANCHOR_END: parse_object

// ANCHOR: decode
/// Step 6. Take a whole token apart: split it, decode and parse the header, read the algorithm
/// from it, then decode and parse the payload and decode the signature. The first problem found
/// is returned, in that order: a verifier must know which algorithm it is dealing with before
/// it looks at anything else.
pub fn decode(token: &str) -> Result<Decoded, Malformed> {
    // TODO: Step 6: your steps 1, 3 and 4, in the order a verifier needs.
    todo!()
}
// ANCHOR_END: decode

// ANCHOR: inspect
/// Step 7. Render a token the way jwt.io's debugger shows it: each part's text, its decoded
/// JSON (pretty-printed, in the token's own member order), the registered time claims as UTC
/// dates, and the signature's size. An empty signature is called out: harmless-looking under
/// `"alg": "none"`, an attack under any other algorithm. A malformed token renders as the
/// reason.
pub fn inspect(token: &str) -> String {
    // TODO: Step 7: the layout is in the step 7 snapshots, `tests/suite/snapshots/`; `pretty` and
    // `utc` (below) do the fiddly parts.
    todo!()
}
// ANCHOR_END: inspect

/// Pretty JSON with a final newline.
fn pretty(object: &Map<String, Value>) -> String {
    let mut text = serde_json::to_string_pretty(object).unwrap_or_default();
    text.push('\n');
    text
}

/// What kind of JSON value this is, for error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
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

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        })
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::Empty => write!(f, "the token is empty"),
            Malformed::WrongSegmentCount { found } => write!(
                f,
                "a JWT has 3 segments separated by dots; this one has {found}"
            ),
            Malformed::EmptySegment { part } => write!(f, "the {part} segment is empty"),
            Malformed::Padding { part } => {
                write!(
                    f,
                    "the {part} has '=' padding, which base64url in a JWT never has"
                )
            }
            Malformed::InvalidCharacter { part, index, byte } => write!(
                f,
                "the {part} has {} at byte {index}, which is not in the base64url alphabet",
                describe_byte(*byte)
            ),
            Malformed::InvalidLength { part, length } => write!(
                f,
                "the {part} is {length} characters long; no bytes encode to 4n+1 characters"
            ),
            Malformed::NonCanonical { part } => write!(
                f,
                "the {part}'s last character sets bits that no encoder sets"
            ),
            Malformed::NotUtf8 { part } => write!(f, "the {part} does not decode to UTF-8 text"),
            Malformed::NotJson { part, reason } => {
                write!(f, "the {part} is not JSON: {reason}")
            }
            Malformed::NotAnObject { part, found } => {
                write!(f, "the {part} must be a JSON object, not {found}")
            }
            Malformed::MissingAlgorithm => {
                write!(f, "the header has no \"alg\" string naming the algorithm")
            }
        }
    }
}

impl std::error::Error for Malformed {}

/// A byte as a reader would name it in a message.
fn describe_byte(byte: u8) -> String {
    match byte {
        b' ' => "a space".to_string(),
        b'\n' => "a line feed".to_string(),
        b'\r' => "a carriage return".to_string(),
        b'\t' => "a tab".to_string(),
        0x21..=0x7e => format!("'{}'", byte as char),
        _ => format!("the byte 0x{byte:02x}"),
    }
}

//! The chapter 1 checks, written once. `tests/anatomy.rs` in the exercise crate and in the
//! solution crate both include this file, with `sut` ("system under test") naming their own
//! library, so the exercise and its solution can never be checked differently.
//!
//! Tests are named `stepN_…` after the step of the chapter they check: `cargo run -- check 1`
//! reports the first step that fails and `cargo run -- hint 1` gives hints for it.
//!
//! Ground truth: the example token of RFC 7519 §3.1 (its signature is RFC 7515 Appendix A.1's)
//! and an access token the real djangorestframework-simplejwt issued in its best-known
//! tutorial.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::sut::{
    Malformed, Part, Segments, base64url_value, decode, decode_base64url, inspect, parse_object,
    sextets, split,
};

// ANCHOR: rfc7519_token
/// RFC 7519 §3.1: an HS256 token with a header and payload written with CRLF line breaks.
const RFC7519_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
    .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
    .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
// ANCHOR_END: rfc7519_token

/// The exact bytes RFC 7519 §3.1 encodes as the header and the payload.
const RFC7519_HEADER: &[u8] = b"{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
const RFC7519_PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

/// The 32 bytes of the HMAC-SHA256 signature, as RFC 7515 Appendix A.1 lists them.
const RFC7515_SIGNATURE: [u8; 32] = [
    116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77,
    105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
];

// ANCHOR: simplejwt_token
/// An access token from the simplejwt tutorial (user `vitor`, December 2018).
const SIMPLEJWT_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9\
    .eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNTQ1MjI0MjU5LCJqdGkiOiIyYmQ1NjI3MmIzYjI0YjNmOGI1MjJlNThjMzdjMTdlMSIsInVzZXJfaWQiOjF9\
    .D92tTuVi_YcNkJtiLGHtcn6tBcxLCBxz9FKD3qzhUg8";
// ANCHOR_END: simplejwt_token

/// RFC 7519 §6.1: an unsecured token (`"alg":"none"`), whose signature segment is empty.
const UNSECURED_TOKEN: &str = "eyJhbGciOiJub25lIn0\
    .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
    .";

// --- Step 0: a warm-up ------------------------------------------------------------------------

#[test]
fn step0_a_token_has_one_segment_more_than_it_has_dots() {
    use crate::sut::segment_count;
    assert_eq!(segment_count("a.b.c"), 3);
    assert_eq!(segment_count(""), 1, "no dot: one (empty) segment");
    assert_eq!(segment_count("..."), 4, "empty segments count too");
    for dots in 0..20 {
        let token = vec!["eyJ"; dots + 1].join(".");
        assert_eq!(segment_count(&token), dots + 1, "{token}");
    }
}

// --- Step 1: split -------------------------------------------------------------------------

#[test]
fn step1_split_cuts_a_token_at_its_two_dots() {
    assert_eq!(
        split(RFC7519_TOKEN),
        Ok(Segments {
            header: "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
            payload: "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
            signature: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        })
    );
}

#[test]
fn step1_split_accepts_an_empty_signature() {
    let segments = split(UNSECURED_TOKEN).expect("an unsecured token is well-formed");
    assert_eq!(segments.header, "eyJhbGciOiJub25lIn0");
    assert_eq!(segments.signature, "");
}

#[test]
fn step1_split_refuses_anything_but_three_segments() {
    assert_eq!(
        split(""),
        Err(Malformed::Empty),
        "an empty string is refused first, as Empty"
    );
    assert_eq!(
        split("eyJhbGciOiJIUzI1NiJ9"),
        Err(Malformed::WrongSegmentCount { found: 1 }),
        "a token without a dot is one segment: `found` counts segments, not dots"
    );
    assert_eq!(
        split("a.b"),
        Err(Malformed::WrongSegmentCount { found: 2 }),
        "`found` counts segments, not dots"
    );
    // Five segments is what an encrypted token (JWE) has: not something to decode here.
    assert_eq!(
        split("a.b.c.d.e"),
        Err(Malformed::WrongSegmentCount { found: 5 })
    );
}

#[test]
fn step1_split_refuses_an_empty_header_or_payload() {
    assert_eq!(
        split(".eyJ9.sig"),
        Err(Malformed::EmptySegment { part: Part::Header })
    );
    assert_eq!(
        split("eyJ9..sig"),
        Err(Malformed::EmptySegment {
            part: Part::Payload
        })
    );
    assert_eq!(
        split(".."),
        Err(Malformed::EmptySegment { part: Part::Header })
    );
}

// --- Step 2: the base64url alphabet ---------------------------------------------------------

#[test]
fn step2_every_base64url_character_has_its_value() {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (value, &character) in alphabet.iter().enumerate() {
        assert_eq!(
            base64url_value(character),
            Some(value as u8),
            "the value of {:?}",
            character as char
        );
    }
}

#[test]
fn step2_nothing_else_is_in_the_alphabet() {
    for byte in [b'+', b'/', b'=', b' ', b'\n', b'.', b'~', 0, 0x80, 0xff] {
        assert_eq!(base64url_value(byte), None, "byte 0x{byte:02x}");
    }
    let members = (0..=255u8)
        .filter(|&b| base64url_value(b).is_some())
        .count();
    assert_eq!(members, 64);
}

// --- Step 3: the characters, one by one -----------------------------------------------------

#[test]
fn step3_reads_every_character_of_a_segment_as_its_value() {
    assert_eq!(sextets(Part::Header, "eyJ0"), Ok(vec![30, 50, 9, 52]));
    assert_eq!(sextets(Part::Payload, ""), Ok(vec![]));
    assert_eq!(sextets(Part::Payload, "-_"), Ok(vec![62, 63]));
    // Every length an encoder produces, with characters drawn at random.
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for len in (0..40).filter(|len| len % 4 != 1) {
        let values: Vec<u8> = (0..len).map(|_| rng.gen_range(0..64)).collect();
        let text: String = values
            .iter()
            .map(|&v| alphabet[v as usize] as char)
            .collect();
        assert_eq!(sextets(Part::Payload, &text), Ok(values), "{text:?}");
    }
}

#[test]
fn step3_refuses_the_first_bad_character_from_the_left_then_the_length() {
    let cases = [
        (
            "YQ==",
            Malformed::Padding {
                part: Part::Payload,
            },
        ),
        (
            "a+bc",
            Malformed::InvalidCharacter {
                part: Part::Payload,
                index: 1,
                byte: b'+',
            },
        ),
        (
            "ab c",
            Malformed::InvalidCharacter {
                part: Part::Payload,
                index: 2,
                byte: b' ',
            },
        ),
        (
            "abc\n",
            Malformed::InvalidCharacter {
                part: Part::Payload,
                index: 3,
                byte: b'\n',
            },
        ),
        (
            "abcde",
            Malformed::InvalidLength {
                part: Part::Payload,
                length: 5,
            },
        ),
        (
            "abcd/e",
            Malformed::InvalidCharacter {
                part: Part::Payload,
                index: 4,
                byte: b'/',
            },
        ),
        (
            "a=bcde",
            Malformed::Padding {
                part: Part::Payload,
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(sextets(Part::Payload, text), Err(expected), "{text:?}");
    }
    assert_eq!(
        sextets(Part::Signature, "x"),
        Err(Malformed::InvalidLength {
            part: Part::Signature,
            length: 1
        }),
        "the part is named in the refusal"
    );
}

// --- Step 4: strict base64url decoding ------------------------------------------------------

#[test]
fn step4_decodes_the_rfc_segments_to_their_exact_bytes() {
    // Cut with the standard library, so this step is checked on its own, whatever step 1 does.
    let [header, payload, signature] = RFC7519_TOKEN.split('.').collect::<Vec<_>>()[..] else {
        panic!("the RFC token has three segments");
    };
    assert_eq!(
        decode_base64url(Part::Header, header).as_deref(),
        Ok(RFC7519_HEADER)
    );
    assert_eq!(
        decode_base64url(Part::Payload, payload).as_deref(),
        Ok(RFC7519_PAYLOAD)
    );
    assert_eq!(
        decode_base64url(Part::Signature, signature).as_deref(),
        Ok(&RFC7515_SIGNATURE[..])
    );
}

#[test]
fn step4_decodes_whatever_a_real_encoder_produces() {
    // Every length from 0 to 64 bytes, so every final group size is covered.
    let mut bytes = Vec::new();
    for n in 0..=64u32 {
        let encoded = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(
            decode_base64url(Part::Payload, &encoded),
            Ok(bytes.clone()),
            "decoding {encoded:?}"
        );
        bytes.push((n.wrapping_mul(2_654_435_761) >> 13) as u8);
    }
}

#[test]
fn step4_refuses_what_base64url_in_a_jwt_never_contains() {
    let cases = [
        ("YQ==", "padding"),
        ("YWI=", "padding"),
        ("a+bc", "plain base64's +"),
        ("ab/c", "plain base64's /"),
        ("ab c", "a space"),
        ("abc\n", "a line break"),
        ("abcde", "4n+1 characters"),
        ("YR", "bits no encoder sets"),
        ("YWJ", "bits no encoder sets"),
        ("a=bcde", "the first problem from the left"),
    ];
    let mut report = String::new();
    for (text, why) in cases {
        let verdict = match decode_base64url(Part::Payload, text) {
            Ok(bytes) => format!("decoded to {bytes:?}"),
            Err(problem) => format!("{problem:?}"),
        };
        report.push_str(&format!("{text:?} ({why}): {verdict}\n"));
    }
    insta::assert_snapshot!("step4_refusals", report);
}

// --- Step 5: JSON objects -------------------------------------------------------------------

#[test]
fn step5_parses_a_header_keeping_its_member_order() {
    let header = parse_object(Part::Header, RFC7519_HEADER).unwrap();
    let names: Vec<&str> = header.keys().map(String::as_str).collect();
    assert_eq!(names, ["typ", "alg"]);
    assert_eq!(header["alg"], json!("HS256"));
}

#[test]
fn step5_refuses_what_is_not_a_json_object() {
    assert_eq!(
        parse_object(Part::Header, b"\xff\xfe{}"),
        Err(Malformed::NotUtf8 { part: Part::Header })
    );
    assert_eq!(
        parse_object(Part::Payload, b"[\"not\", \"an\", \"object\"]"),
        Err(Malformed::NotAnObject {
            part: Part::Payload,
            found: "an array"
        })
    );
    assert_eq!(
        parse_object(Part::Payload, b"\"sub\""),
        Err(Malformed::NotAnObject {
            part: Part::Payload,
            found: "a string"
        })
    );
    match parse_object(Part::Header, b"{\"alg\": ") {
        Err(Malformed::NotJson {
            part: Part::Header,
            reason,
        }) => assert!(!reason.is_empty(), "the reason says what is wrong"),
        other => panic!("expected NotJson for a truncated object, got {other:?}"),
    }
}

// --- Step 6: decode a whole token -----------------------------------------------------------

#[test]
fn step6_decodes_the_rfc_example() {
    let decoded = decode(RFC7519_TOKEN).unwrap();
    assert_eq!(decoded.algorithm, "HS256");
    assert_eq!(
        serde_json::Value::Object(decoded.header),
        json!({"typ": "JWT", "alg": "HS256"})
    );
    assert_eq!(
        serde_json::Value::Object(decoded.payload),
        json!({"iss": "joe", "exp": 1300819380, "http://example.com/is_root": true})
    );
    assert_eq!(decoded.signature, RFC7515_SIGNATURE);
}

#[test]
fn step6_decodes_a_token_simplejwt_issued() {
    let decoded = decode(SIMPLEJWT_TOKEN).unwrap();
    let claims: Vec<&str> = decoded.payload.keys().map(String::as_str).collect();
    assert_eq!(claims, ["token_type", "exp", "jti", "user_id"]);
    assert_eq!(decoded.payload["token_type"], json!("access"));
    assert_eq!(decoded.payload["exp"], json!(1545224259));
    assert_eq!(
        decoded.payload["jti"],
        json!("2bd56272b3b24b3f8b522e58c37c17e1")
    );
    assert_eq!(decoded.payload["user_id"], json!(1));
    assert_eq!(decoded.signature.len(), 32, "HMAC-SHA256 makes 32 bytes");
}

#[test]
fn step6_names_the_first_problem_of_a_malformed_token() {
    let no_alg = format!("{}.e30.", URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT"}"#));
    let alg_not_a_string = format!("{}.e30.", URL_SAFE_NO_PAD.encode(br#"{"alg":["HS256"]}"#));
    let padded_signature = format!("{}=", RFC7519_TOKEN);
    let standard_base64 = SIMPLEJWT_TOKEN.replace('_', "/");
    let cases = [
        ("no alg", no_alg.as_str()),
        ("alg not a string", alg_not_a_string.as_str()),
        ("padded signature", padded_signature.as_str()),
        ("plain base64 signature", standard_base64.as_str()),
        ("payload not JSON", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln"),
        (
            "no alg, and a payload that is not JSON",
            "e30.bm90IGpzb24.c2ln",
        ),
        ("payload an array", "eyJhbGciOiJIUzI1NiJ9.WzFd.c2ln"),
        ("a JWE's five segments", "a.b.c.d.e"),
        (
            "header written with spaces",
            "eyJhbGci OiJIUzI1NiJ9.e30.c2ln",
        ),
    ];
    let mut report = String::new();
    for (what, token) in cases {
        let verdict = match decode(token) {
            Ok(decoded) => format!("decoded ({} bytes of signature)", decoded.signature.len()),
            Err(problem) => format!("{problem:?}\n    {problem}"),
        };
        report.push_str(&format!("{what}: {verdict}\n"));
    }
    insta::assert_snapshot!("step6_malformed_tokens", report);
}

// --- Step 7: inspect ------------------------------------------------------------------------

#[test]
fn step7_inspects_tokens_drawn_at_random() {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    for _ in 0..8 {
        let mut payload = serde_json::Map::new();
        for _ in 0..rng.gen_range(1..5) {
            let name: String = (0..rng.gen_range(3..9))
                .map(|_| rng.gen_range(b'a'..=b'z') as char)
                .collect();
            let value = if rng.gen_bool(0.5) {
                json!(rng.r#gen::<u32>())
            } else {
                json!(format!("v{}", rng.r#gen::<u16>()))
            };
            payload.insert(format!("x_{name}"), value);
        }
        let payload = serde_json::Value::Object(payload);
        let header = json!({"alg": "HS256", "typ": "JWT"});
        let signature: Vec<u8> = (0..rng.gen_range(1..80)).map(|_| rng.r#gen()).collect();
        let (h, p, sig) = (
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            URL_SAFE_NO_PAD.encode(&signature),
        );
        let shown = inspect(&format!("{h}.{p}.{sig}"));
        for expected in [
            format!(
                "HEADER    {h}\n{}\n",
                serde_json::to_string_pretty(&header).unwrap()
            ),
            format!(
                "PAYLOAD   {p}\n{}\n",
                serde_json::to_string_pretty(&payload).unwrap()
            ),
            format!(
                "SIGNATURE {sig}\n  {} bytes made with HS256, not checked here",
                signature.len()
            ),
        ] {
            assert!(
                shown.contains(&expected),
                "inspect shows\n{shown}\nwhich lacks\n{expected}"
            );
        }
    }
}

#[test]
fn step7_inspects_the_rfc_example() {
    insta::assert_snapshot!("step7_inspect_rfc7519", inspect(RFC7519_TOKEN));
}

#[test]
fn step7_inspects_a_simplejwt_access_token() {
    insta::assert_snapshot!("step7_inspect_simplejwt", inspect(SIMPLEJWT_TOKEN));
}

#[test]
fn step7_inspects_an_unsecured_token() {
    insta::assert_snapshot!("step7_inspect_unsecured", inspect(UNSECURED_TOKEN));
}

#[test]
fn step7_inspects_a_token_whose_signature_was_stripped() {
    let stripped = &SIMPLEJWT_TOKEN[..=SIMPLEJWT_TOKEN.rfind('.').unwrap()];
    insta::assert_snapshot!("step7_inspect_stripped", inspect(stripped));
}

#[test]
fn step7_inspecting_a_malformed_token_says_what_is_wrong() {
    insta::assert_snapshot!(
        "step7_inspect_malformed",
        inspect("eyJhbGciOiJIUzI1NiJ9.e30=.sig")
    );
}

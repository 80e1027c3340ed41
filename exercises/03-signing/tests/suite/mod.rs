//! The chapter 3 checks, written once. `tests/signing.rs` in the exercise crate and in the
//! solution crate both include this file, with `sut` ("system under test") naming their own
//! library, so the exercise and its solution can never be checked differently.
//!
//! Tests are named `stepN_…` after the step of the chapter they check: `cargo run -- check 3`
//! reports the first step that fails and `cargo run -- hint 3` gives hints for it.
//!
//! Ground truth: the test vectors of RFC 4231 (HMAC-SHA256), the examples of RFC 7515
//! Appendix A.1 (HS256), A.2 (RS256) and A.3 (ES256) with their keys, and RFC 8037 Appendix A
//! (Ed25519). Every other token is built here, deterministically, from those keys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Value, json};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::sut::{
    EcJwk, KeyRing, MIN_SECRET_BYTES, MacByte, OkpJwk, Refusal, RsaJwk, TrustedKey, WeakSecret,
    constant_time_eq, hmac, hmac_sha256, hs256_key, key_block, naive_verify, recover_secret,
    screen, sign_compact, sign_hs256, signing_input, verify_hs256, verify_pinned,
};

// --- Ground truth -------------------------------------------------------------------------

// ANCHOR: rfc7515_a1
/// RFC 7515 Appendix A.1: the HMAC key, as the JWK member `k` (64 bytes once decoded).
const A1_KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
/// The header and the payload exactly as the RFC writes them, line breaks (`\r\n`) included.
const A1_HEADER: &[u8] = b"{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
const PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
/// The signing input: the ASCII text that HMAC-SHA256 is computed over.
const A1_SIGNING_INPUT: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
    .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
/// The 32 bytes of the signature, as the RFC lists them.
const A1_SIGNATURE: [u8; 32] = [
    116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77,
    105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
];
/// The complete token.
const A1_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
    .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
    .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
// ANCHOR_END: rfc7515_a1

// ANCHOR: rfc7515_a2
/// RFC 7515 Appendix A.2: a 2048-bit RSA key ...
const RSA_KEY: RsaJwk = RsaJwk {
    n: "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
    e: "AQAB",
    d: "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
    p: "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
    q: "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
};
/// ... which signs the same payload under the header `{"alg":"RS256"}`.
const A2_HEADER: &[u8] = b"{\"alg\":\"RS256\"}";
const A2_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9\
    .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
    .cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
// ANCHOR_END: rfc7515_a2

// ANCHOR: rfc7515_a3
/// RFC 7515 Appendix A.3: a P-256 key, and the same payload signed with ES256. ECDSA draws a
/// fresh secret number for every signature, so this exact signature cannot be made again.
const EC_KEY: EcJwk = EcJwk {
    x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    d: "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI",
};
const A3_HEADER: &[u8] = b"{\"alg\":\"ES256\"}";
const A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9\
    .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
    .DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
// ANCHOR_END: rfc7515_a3

// ANCHOR: rfc8037
/// RFC 8037 Appendix A.1: an Ed25519 key; A.4: the JWS it makes of a short text (not JSON).
const ED_KEY: OkpJwk = OkpJwk {
    x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
};
const ED_HEADER: &[u8] = b"{\"alg\":\"EdDSA\"}";
const ED_PAYLOAD: &[u8] = b"Example of Ed25519 signing";
const ED_TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc\
    .hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
// ANCHOR_END: rfc8037

/// The RFC's claims, as JSON: what a successful verification of the RFC 7515 tokens returns.
fn rfc_claims() -> Value {
    json!({"iss": "joe", "exp": 1300819380, "http://example.com/is_root": true})
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .expect("test data is base64url")
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("test data is hex"))
        .collect()
}

/// A token signed here, independently of the code under test: compact JSON header and payload,
/// signed by jsonwebtoken itself.
fn signed(header: &Value, payload: &Value, key: &EncodingKey, algorithm: Algorithm) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(payload.to_string()));
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, algorithm).unwrap();
    format!("{input}.{signature}")
}

/// Inputs drawn at random for this run, so that no table of expected answers can pass, with the
/// seed that replays them: every failure prints it, and `SUITE_SEED=<seed> cargo test …` draws
/// the same inputs again.
fn generator() -> (u64, StdRng) {
    let seed = std::env::var("SUITE_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random);
    (seed, StdRng::seed_from_u64(seed))
}

fn random_bytes(rng: &mut StdRng, max_len: usize) -> Vec<u8> {
    let len = rng.gen_range(0..=max_len);
    (0..len).map(|_| rng.r#gen()).collect()
}

/// HMAC-SHA256 by the `hmac` crate: the reference for HS256 signatures.
fn reference_hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The part of a token before its last dot: the signing input.
fn message(token: &str) -> &str {
    token.rsplit_once('.').unwrap().0
}

/// The part of a token after its last dot: the signature.
fn signature_segment(token: &str) -> &str {
    token.rsplit_once('.').unwrap().1
}

// --- Step 0: a warm-up ------------------------------------------------------------------------

#[test]
fn step0_bytes_are_written_as_two_lowercase_hex_digits_each() {
    use crate::sut::to_hex;
    assert_eq!(to_hex(&[]), "");
    assert_eq!(
        to_hex(&[0x0b, 0xff, 0x00]),
        "0bff00",
        "a leading zero is kept"
    );
    let every_byte: Vec<u8> = (0..=255).collect();
    let hex = to_hex(&every_byte);
    assert_eq!(hex.len(), 512);
    for (byte, pair) in every_byte.iter().zip(hex.as_bytes().chunks(2)) {
        assert_eq!(
            u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).ok(),
            Some(*byte),
            "byte {byte}"
        );
        assert!(
            pair.iter().all(|c| !c.is_ascii_uppercase()),
            "lowercase: {pair:?}"
        );
    }
}

// --- Step 1: the key block ---------------------------------------------------------------

#[test]
fn step1_a_key_up_to_a_block_is_padded_with_zeros() {
    let (seed, mut rng) = generator();
    for len in [0, 1, 20, 32, 63, 64] {
        let key: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        let calls = std::cell::Cell::new(0);
        let block = key_block(
            |parts: &[&[u8]]| {
                calls.set(calls.get() + 1);
                toy_hash(&parts.concat())
            },
            &key,
        );
        assert_eq!(
            &block[..len],
            &key[..],
            "a key of {len} bytes is used as it is (seed {seed})"
        );
        assert!(
            block[len..].iter().all(|&byte| byte == 0),
            "the rest of the block is zeros, for a key of {len} bytes (seed {seed})"
        );
        assert_eq!(
            calls.get(),
            0,
            "a key of {len} bytes fits in a block: nothing to hash"
        );
    }
}

#[test]
fn step1_a_key_longer_than_a_block_is_hashed_first() {
    let (seed, mut rng) = generator();
    for len in [65, 100, 131, 200] {
        let key: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        let calls = std::cell::Cell::new(0);
        let block = key_block(
            |parts: &[&[u8]]| {
                calls.set(calls.get() + 1);
                toy_hash(&parts.concat())
            },
            &key,
        );
        assert_eq!(
            calls.get(),
            1,
            "a key of {len} bytes is hashed once (seed {seed})"
        );
        assert_eq!(
            &block[..32],
            &toy_hash(&key)[..],
            "its hash comes first (seed {seed})"
        );
        assert!(
            block[32..].iter().all(|&byte| byte == 0),
            "then zeros (seed {seed})"
        );
    }
}

// --- Step 2: HMAC-SHA256 by hand ---------------------------------------------------------

// ANCHOR: rfc4231
/// RFC 4231 §4: key, data and HMAC-SHA256, for test cases 1 to 4 and 6 to 7. (Test case 5
/// truncates its output to 128 bits; it is checked on its own below.)
fn rfc4231_cases() -> Vec<(&'static str, Vec<u8>, Vec<u8>, &'static str)> {
    vec![
        (
            "test case 1",
            vec![0x0b; 20],
            b"Hi There".to_vec(),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            "test case 2 (a key shorter than the output)",
            b"Jefe".to_vec(),
            b"what do ya want for nothing?".to_vec(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            "test case 3",
            vec![0xaa; 20],
            vec![0xdd; 50],
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            "test case 4",
            (0x01..=0x19).collect(),
            vec![0xcd; 50],
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        ),
        (
            "test case 6 (a key longer than a block)",
            vec![0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            "test case 7 (a key and data longer than a block)",
            vec![0xaa; 131],
            b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ]
}
// ANCHOR_END: rfc4231

#[test]
fn step2_rfc4231_keys_up_to_a_block() {
    for (name, key, data, expected) in rfc4231_cases().into_iter().take(4) {
        assert_eq!(hmac_sha256(&key, &data).to_vec(), hex(expected), "{name}");
    }
    // Test case 5: only the first 128 bits of the output are given.
    let mac = hmac_sha256(&[0x0c; 20], b"Test With Truncation");
    assert_eq!(mac[..16], hex("a3b6167473100ee06e0c796c2955552b")[..]);
}

#[test]
fn step2_rfc4231_keys_longer_than_a_block_are_hashed_first() {
    for (name, key, data, expected) in rfc4231_cases().into_iter().skip(4) {
        assert_eq!(hmac_sha256(&key, &data).to_vec(), hex(expected), "{name}");
    }
    // Which is why a long key and its SHA-256 hash are the same HMAC key.
    let long_key = [0xaa; 131];
    let hashed = <sha2::Sha256 as sha2::Digest>::digest(long_key);
    assert_eq!(
        hmac_sha256(&long_key, b"message"),
        hmac_sha256(&hashed, b"message")
    );
}

#[test]
fn step2_a_key_of_exactly_one_block_signs_rfc7515_a1() {
    let key = unb64(A1_KEY);
    assert_eq!(key.len(), 64, "one SHA-256 block: used as it is");
    assert_eq!(hmac_sha256(&key, A1_SIGNING_INPUT.as_bytes()), A1_SIGNATURE);
}

#[test]
fn step2_agrees_with_the_hmac_crate_for_every_key_length() {
    // Every key length from empty to two blocks, so padding, the exact block and hashing are
    // all covered, with messages of several lengths.
    for key_length in 0..=130usize {
        let key: Vec<u8> = (0..key_length).map(|i| (i * 7 + 3) as u8).collect();
        for message in [&b""[..], b"abc", &[0x5a; 64], &[0xa5; 200]] {
            let mut reference = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
            reference.update(message);
            assert_eq!(
                hmac_sha256(&key, message)[..],
                reference.finalize().into_bytes()[..],
                "key of {key_length} bytes, message of {} bytes",
                message.len()
            );
        }
    }
}

/// A hash of SHA-256's shape (64-byte blocks, 32 bytes out) that is not SHA-256: no library's
/// HMAC knows it, so only an HMAC built from the hash it is given agrees with the reference.
fn toy_hash(input: &[u8]) -> [u8; 32] {
    <sha2::Sha256 as sha2::Digest>::digest([b"not SHA-256:".as_slice(), input].concat()).into()
}

/// RFC 2104's HMAC once more, written here from any hash of SHA-256's shape.
fn reference_hmac(hash: fn(&[u8]) -> [u8; 32], key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&hash(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = hash(&[&block.map(|b| b ^ 0x36)[..], message].concat());
    hash(&[&block.map(|b| b ^ 0x5c)[..], &inner[..]].concat())
}

#[test]
fn step2_hmac_is_built_from_the_hash_it_is_given() {
    let (seed, mut rng) = generator();
    for _ in 0..64 {
        let key = random_bytes(&mut rng, 200);
        let message = random_bytes(&mut rng, 300);
        let calls = std::cell::Cell::new(0);
        let hash = |parts: &[&[u8]]| {
            calls.set(calls.get() + 1);
            toy_hash(&parts.concat())
        };
        let mac = hmac(hash, &key, &message);
        let expected_calls = if key.len() > 64 { 3 } else { 2 };
        assert!(
            calls.get() != 0,
            "hmac never called the hash it was given: it must be built from that hash alone, \
             not from SHA-256 or a library's HMAC (seed {seed})"
        );
        assert_eq!(
            calls.get(),
            expected_calls,
            "for a key of {} bytes HMAC hashes {expected_calls} times (a key longer than a block \
             once, then the inner and the outer hash); this hmac called the hash {} times (seed {seed})",
            key.len(),
            calls.get()
        );
        assert_eq!(
            mac,
            reference_hmac(toy_hash, &key, &message),
            "a key of {} bytes, a message of {} bytes (seed {seed})",
            key.len(),
            message.len()
        );
    }
}

// --- Step 3: constant-time comparison -----------------------------------------------------

/// What a comparison did with the bytes it was given.
#[derive(Debug, Default)]
struct ByteRecord {
    /// Pairs of bytes combined with XOR.
    xors: usize,
    /// For each time the comparison asked whether a result was zero: how many pairs it had
    /// combined by then.
    questions: Vec<usize>,
}

thread_local! {
    static RECORD: std::cell::RefCell<ByteRecord> = std::cell::RefCell::default();
}

/// A byte that keeps a record of what the comparison does with it.
#[derive(Clone, Copy)]
struct Watched(u8);

impl MacByte for Watched {
    fn xor(self, other: Self) -> Self {
        RECORD.with(|record| record.borrow_mut().xors += 1);
        Watched(self.0 ^ other.0)
    }
    fn or(self, other: Self) -> Self {
        Watched(self.0 | other.0)
    }
    fn zero() -> Self {
        Watched(0)
    }
    fn is_zero(self) -> bool {
        RECORD.with(|record| {
            let mut record = record.borrow_mut();
            let combined = record.xors;
            record.questions.push(combined);
        });
        self.0 == 0
    }
}

/// `constant_time_eq` on watched bytes: its answer, and what it did to get there.
fn watched_eq(a: &[u8], b: &[u8]) -> (bool, ByteRecord) {
    RECORD.with(|record| *record.borrow_mut() = ByteRecord::default());
    let a: Vec<Watched> = a.iter().copied().map(Watched).collect();
    let b: Vec<Watched> = b.iter().copied().map(Watched).collect();
    let equal = constant_time_eq(&a, &b);
    (
        equal,
        RECORD.with(|record| std::mem::take(&mut *record.borrow_mut())),
    )
}

#[test]
fn step3_every_byte_is_looked_at_wherever_the_first_difference_is() {
    let (seed, mut rng) = generator();
    let mac: [u8; 32] = rng.r#gen();
    let random_position = rng.gen_range(0..32);
    for first_difference in [
        None,
        Some(0),
        Some(1),
        Some(16),
        Some(31),
        Some(random_position),
    ] {
        let mut guess = mac;
        if let Some(index) = first_difference {
            guess[index] ^= rng.gen_range(1..=255u8);
            // Some later bytes differ too, as they would in a guess.
            for byte in &mut guess[index + 1..] {
                if rng.gen_bool(0.5) {
                    *byte = rng.r#gen();
                }
            }
        }
        let where_ = match first_difference {
            Some(index) => format!("first difference at byte {index}"),
            None => "equal MACs".to_string(),
        };
        let (equal, record) = watched_eq(&mac, &guess);
        assert_eq!(equal, first_difference.is_none(), "{where_} (seed {seed})");
        assert_eq!(
            record.xors, 32,
            "{where_}: the comparison combined {} of the 32 pairs of bytes. It stopped early, so \
             the time it takes tells an attacker how many leading bytes were right (seed {seed})",
            record.xors
        );
        assert_eq!(
            record.questions,
            [32],
            "{where_}: the comparison asked whether a result was zero {} times, after combining \
             {:?} pairs. Ask once, when every byte has been combined: an answer asked along the \
             way is an answer the loop can act on (seed {seed})",
            record.questions.len(),
            record.questions
        );
    }
}

#[test]
fn step3_equal_bytes_are_equal() {
    assert!(constant_time_eq(&A1_SIGNATURE, &A1_SIGNATURE.clone()));
    assert!(constant_time_eq(b"", b""));
    assert!(constant_time_eq(b"x", b"x"));
}

#[test]
fn step3_a_difference_in_any_bit_is_noticed() {
    for index in 0..A1_SIGNATURE.len() {
        for bit in 0..8 {
            let mut guess = A1_SIGNATURE;
            guess[index] ^= 1 << bit;
            assert!(
                !constant_time_eq(&A1_SIGNATURE, &guess),
                "byte {index}, bit {bit} differs"
            );
        }
    }
}

#[test]
fn step3_different_lengths_are_never_equal() {
    assert!(!constant_time_eq(&A1_SIGNATURE, &A1_SIGNATURE[..31]));
    assert!(!constant_time_eq(&A1_SIGNATURE[..1], &A1_SIGNATURE));
    assert!(!constant_time_eq(b"", b"\0"));
    assert!(!constant_time_eq(b"abc", b"abcd"));
}

// --- Step 4: HS256 by hand ------------------------------------------------------------------

#[test]
fn step4_the_signing_input_is_two_segments_and_a_dot() {
    let input = signing_input(A1_HEADER, PAYLOAD);
    assert_eq!(input, A1_SIGNING_INPUT);
    // RFC 7515 lists the signing input as ASCII codes: 101 is `e`, 121 `y`, 74 `J`…
    assert_eq!(input.as_bytes()[..8], [101, 121, 74, 48, 101, 88, 65, 105]);
    assert_eq!(signing_input(b"{}", b""), "e30.");
}

#[test]
fn step4_reproduces_rfc7515_a1_byte_for_byte() {
    let token = sign_hs256(&unb64(A1_KEY), A1_HEADER, PAYLOAD);
    assert_eq!(token, A1_TOKEN);
    assert_eq!(unb64(signature_segment(&token)), A1_SIGNATURE);
}

#[test]
fn step4_verifies_the_rfc_token() {
    assert!(verify_hs256(&unb64(A1_KEY), A1_TOKEN));
}

#[test]
fn step4_refuses_any_change() {
    let key = unb64(A1_KEY);
    let mut other_key = key.clone();
    other_key[63] ^= 1;
    let (input, signature) = A1_TOKEN.rsplit_once('.').unwrap();
    let (_, payload) = input.split_once('.').unwrap();
    let edited_payload = b64(String::from_utf8_lossy(PAYLOAD).replace("true", "false"));
    let compact_header = b64(br#"{"typ":"JWT","alg":"HS256"}"#);
    let mut one_character_changed = signature.to_string();
    one_character_changed.replace_range(0..1, "e");
    let cases: Vec<(&str, String, &[u8])> = vec![
        ("the RFC's token", A1_TOKEN.into(), &key),
        ("the RFC's token, another key", A1_TOKEN.into(), &other_key),
        (
            "is_root changed to false",
            format!(
                "{}.{edited_payload}.{signature}",
                A1_TOKEN.split('.').next().unwrap()
            ),
            &key,
        ),
        (
            "the same header JSON, written without line breaks",
            format!("{compact_header}.{payload}.{signature}"),
            &key,
        ),
        (
            "the signature's first character changed",
            format!("{input}.{one_character_changed}"),
            &key,
        ),
        (
            "the signature's last character dropped",
            format!("{input}.{}", &signature[..signature.len() - 1]),
            &key,
        ),
        ("the signature removed", format!("{input}."), &key),
        ("the signature padded with =", format!("{A1_TOKEN}="), &key),
        (
            "the signature in plain base64",
            format!("{input}.{}", signature.replace('-', "+").replace('_', "/")),
            &key,
        ),
        (
            "a fourth segment added",
            format!("{A1_TOKEN}.{signature}"),
            &key,
        ),
    ];
    let mut report = String::new();
    for (what, token, key) in cases {
        let verdict = if verify_hs256(key, &token) {
            "accepted"
        } else {
            "refused"
        };
        report.push_str(&format!("{verdict:<9}{what}\n"));
    }
    insta::assert_snapshot!("step4_verdicts", report);
}

#[test]
fn step4_signs_and_verifies_tokens_drawn_at_random() {
    let (seed, mut rng) = generator();
    for _ in 0..32 {
        let key = random_bytes(&mut rng, 100);
        let header = random_bytes(&mut rng, 60);
        let payload = random_bytes(&mut rng, 200);
        let input = format!("{}.{}", b64(&header), b64(&payload));
        let expected = format!(
            "{input}.{}",
            b64(reference_hmac_sha256(&key, input.as_bytes()))
        );
        let token = sign_hs256(&key, &header, &payload);
        assert_eq!(
            token,
            expected,
            "a key of {} bytes, a header of {} bytes, a payload of {} bytes (seed {seed})",
            key.len(),
            header.len(),
            payload.len()
        );
        assert!(
            verify_hs256(&key, &expected),
            "a genuine token was refused (seed {seed})"
        );
        let mut forged = unb64(signature_segment(&expected));
        let bit = rng.gen_range(0..forged.len() * 8);
        forged[bit / 8] ^= 1 << (bit % 8);
        assert!(
            !verify_hs256(&key, &format!("{input}.{}", b64(&forged))),
            "a signature with bit {bit} flipped was accepted (seed {seed})"
        );
        // Another key: one byte changed, or one non-zero byte for an empty key. (Appending a
        // zero byte would not do: HMAC pads a short key with zeros, so it is the same key.)
        let mut other_key = key.clone();
        match other_key.len() {
            0 => other_key.push(rng.gen_range(1..=255)),
            len => other_key[rng.gen_range(0..len)] ^= rng.gen_range(1..=255u8),
        }
        assert!(
            !verify_hs256(&other_key, &expected),
            "a token was accepted under another key (seed {seed})"
        );
    }
}

// --- Step 5: RS256, ES256 and EdDSA ---------------------------------------------------------

#[test]
fn step5_signs_inputs_drawn_at_random_as_jsonwebtoken_does() {
    let (seed, mut rng) = generator();
    let secret = random_bytes(&mut rng, 64);
    let keys = [
        (Algorithm::HS256, EncodingKey::from_secret(&secret)),
        (Algorithm::RS256, RSA_KEY.encoding_key()),
        (Algorithm::EdDSA, ED_KEY.encoding_key()),
    ];
    for (algorithm, key) in &keys {
        for _ in 0..4 {
            let header = random_bytes(&mut rng, 60);
            let payload = random_bytes(&mut rng, 200);
            let input = format!("{}.{}", b64(&header), b64(&payload));
            let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, *algorithm).unwrap();
            assert_eq!(
                sign_compact(&header, &payload, key, *algorithm).unwrap(),
                format!("{input}.{signature}"),
                "{algorithm:?}, a header of {} bytes and a payload of {} bytes (seed {seed})",
                header.len(),
                payload.len()
            );
        }
    }
}

#[test]
fn step5_reproduces_rfc7515_a1_hs256() {
    let key = EncodingKey::from_secret(&unb64(A1_KEY));
    assert_eq!(
        sign_compact(A1_HEADER, PAYLOAD, &key, Algorithm::HS256).unwrap(),
        A1_TOKEN
    );
}

#[test]
fn step5_reproduces_rfc7515_a2_rs256_byte_for_byte() {
    let token = sign_compact(
        A2_HEADER,
        PAYLOAD,
        &RSA_KEY.encoding_key(),
        Algorithm::RS256,
    );
    assert_eq!(token.unwrap(), A2_TOKEN);
}

#[test]
fn step5_reproduces_rfc8037_ed25519_byte_for_byte() {
    let token = sign_compact(
        ED_HEADER,
        ED_PAYLOAD,
        &ED_KEY.encoding_key(),
        Algorithm::EdDSA,
    );
    assert_eq!(token.unwrap(), ED_TOKEN);
}

#[test]
fn step5_an_es256_signature_of_the_same_input_differs_and_both_verify() {
    let ours = sign_compact(A3_HEADER, PAYLOAD, &EC_KEY.encoding_key(), Algorithm::ES256).unwrap();
    assert_eq!(message(&ours), message(A3_TOKEN), "the same signing input");
    assert_ne!(
        signature_segment(&ours),
        signature_segment(A3_TOKEN),
        "a different nonce, so a different signature"
    );
    let public = EC_KEY.decoding_key();
    for token in [&ours[..], A3_TOKEN] {
        let valid = jsonwebtoken::crypto::verify(
            signature_segment(token),
            message(token).as_bytes(),
            &public,
            Algorithm::ES256,
        );
        assert_eq!(valid, Ok(true), "{token}");
        assert_eq!(
            unb64(signature_segment(token)).len(),
            64,
            "r and s, 32 bytes each"
        );
    }
}

#[test]
fn step5_signature_sizes() {
    let cases = [
        (
            Algorithm::HS256,
            EncodingKey::from_secret(&unb64(A1_KEY)),
            A1_HEADER,
            PAYLOAD,
            A1_TOKEN,
            "RFC 7515 A.1",
        ),
        (
            Algorithm::RS256,
            RSA_KEY.encoding_key(),
            A2_HEADER,
            PAYLOAD,
            A2_TOKEN,
            "RFC 7515 A.2",
        ),
        (
            Algorithm::ES256,
            EC_KEY.encoding_key(),
            A3_HEADER,
            PAYLOAD,
            A3_TOKEN,
            "RFC 7515 A.3",
        ),
        (
            Algorithm::EdDSA,
            ED_KEY.encoding_key(),
            ED_HEADER,
            ED_PAYLOAD,
            ED_TOKEN,
            "RFC 8037 A.4",
        ),
    ];
    let mut report = String::new();
    for (algorithm, key, header, payload, rfc_token, source) in cases {
        let token = sign_compact(header, payload, &key, algorithm).unwrap();
        let signature = signature_segment(&token);
        let comparison = if token == rfc_token {
            "identical to"
        } else {
            "differs from"
        };
        report.push_str(&format!(
            "{:<6} {:>3} bytes, {:>3} characters, {comparison} {source}\n",
            format!("{algorithm:?}"),
            unb64(signature).len(),
            signature.len(),
        ));
    }
    insta::assert_snapshot!("step5_signatures", report);
}

// --- Step 6: jsonwebtoken, with the algorithm pinned ----------------------------------------

/// An EdDSA token with JSON claims, signed with the RFC 8037 key (RFC 8037's own example
/// signs plain text, which `decode` would refuse as claims).
fn eddsa_token() -> String {
    signed(
        &json!({"alg": "EdDSA"}),
        &json!({"iss": "joe", "sub": "ed25519"}),
        &ED_KEY.encoding_key(),
        Algorithm::EdDSA,
    )
}

/// HS256, with the RSA public key's PEM text as the HMAC secret: the algorithm-confusion forgery.
fn confused_token(header: &Value, payload: &Value) -> String {
    signed(
        header,
        payload,
        &EncodingKey::from_secret(RSA_KEY.public_key_pem().as_bytes()),
        Algorithm::HS256,
    )
}

#[test]
fn step6_verifies_each_rfc_token_with_its_own_algorithm() {
    let hs256 = DecodingKey::from_secret(&unb64(A1_KEY));
    for (token, key, algorithm) in [
        (A1_TOKEN, &hs256, Algorithm::HS256),
        (A2_TOKEN, &RSA_KEY.decoding_key(), Algorithm::RS256),
        (A3_TOKEN, &EC_KEY.decoding_key(), Algorithm::ES256),
    ] {
        let claims = verify_pinned(token, key, algorithm).unwrap();
        assert_eq!(Value::Object(claims), rfc_claims(), "{algorithm:?}");
    }
    let claims = verify_pinned(&eddsa_token(), &ED_KEY.decoding_key(), Algorithm::EdDSA).unwrap();
    assert_eq!(
        Value::Object(claims),
        json!({"iss": "joe", "sub": "ed25519"})
    );
}

#[test]
fn step6_pinning_stops_algorithm_confusion() {
    let forged = confused_token(
        &json!({"alg": "HS256"}),
        &json!({"iss": "joe", "admin": true}),
    );
    let refused = verify_pinned(&forged, &RSA_KEY.decoding_key(), Algorithm::RS256)
        .expect_err("an HS256 token under an RS256 pin");
    assert!(
        matches!(refused.kind(), ErrorKind::InvalidAlgorithm),
        "{refused:?}"
    );
}

#[test]
fn step6_refuses_what_the_pin_does_not_allow() {
    let (input, _) = A2_TOKEN.rsplit_once('.').unwrap();
    let edited = A2_TOKEN.replace(
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
        &b64(br#"{"iss":"joe","exp":1300819380,"http://example.com/is_root":true,"admin":true}"#),
    );
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        input.split_once('.').unwrap().1
    );
    let confused = confused_token(&json!({"alg": "HS256"}), &json!({"iss": "joe"}));
    let hs256 = DecodingKey::from_secret(&unb64(A1_KEY));
    let rsa = RSA_KEY.decoding_key();
    let ec = EC_KEY.decoding_key();
    let cases: [(&str, &str, &DecodingKey, Algorithm); 8] = [
        (
            "RFC 7515 A.1 (HS256), pinned HS256",
            A1_TOKEN,
            &hs256,
            Algorithm::HS256,
        ),
        (
            "RFC 7515 A.2 (RS256), pinned RS256",
            A2_TOKEN,
            &rsa,
            Algorithm::RS256,
        ),
        (
            "RFC 7515 A.2 (RS256), pinned ES256",
            A2_TOKEN,
            &ec,
            Algorithm::ES256,
        ),
        (
            "RFC 7515 A.1 (HS256), pinned RS256",
            A1_TOKEN,
            &rsa,
            Algorithm::RS256,
        ),
        (
            "HS256 keyed with the RSA public key PEM, pinned RS256",
            &confused,
            &rsa,
            Algorithm::RS256,
        ),
        ("alg none, pinned RS256", &unsigned, &rsa, Algorithm::RS256),
        (
            "RFC 7515 A.2 with the payload edited, pinned RS256",
            &edited,
            &rsa,
            Algorithm::RS256,
        ),
        (
            "RFC 7515 A.2 with the signature removed, pinned RS256",
            &format!("{input}."),
            &rsa,
            Algorithm::RS256,
        ),
    ];
    let mut report = String::new();
    for (what, token, key, algorithm) in cases {
        let verdict = match verify_pinned(token, key, algorithm) {
            Ok(claims) => format!("accepted {}", Value::Object(claims)),
            Err(error) => format!("refused: {:?}", error.kind()),
        };
        report.push_str(&format!("{what}\n    {verdict}\n"));
    }
    insta::assert_snapshot!("step6_pinned_verdicts", report);
}

// --- Step 7: refuse before looking for a key -------------------------------------------------

#[test]
fn step7_the_screen_refuses_what_needs_no_key_to_refuse() {
    for token in [
        "",
        "abc",
        "a.b",
        &format!("{A2_TOKEN}.extra"),
        "bm90IGpzb24.e30.c2ln",
        "WzFd.e30.c2ln",
        &format!("{}.e30.c2ln", b64(r#"{"alg":["RS256"]}"#)),
        &format!("{}.e30.c2ln", b64(r#"{"typ":"JWT"}"#)),
    ] {
        assert_eq!(
            screen(token).map(Value::Object),
            Err(Refusal::Malformed),
            "{token:?}: not three segments with a JSON-object header and a string alg"
        );
    }
    for member in ["jwk", "jku", "x5u", "x5c"] {
        let header = json!({"alg": "RS256", "kid": RSA_KID, member: "anything"});
        assert_eq!(
            screen(&format!("{}.e30.c2ln", b64(header.to_string()))).map(Value::Object),
            Err(Refusal::KeyInHeader {
                member: member.into()
            }),
            "a header with {member}"
        );
    }
    let crit = json!({"alg": "RS256", "crit": ["exp"], "exp": 1});
    assert_eq!(
        screen(&format!("{}.e30.c2ln", b64(crit.to_string()))).map(Value::Object),
        Err(Refusal::CriticalExtension)
    );
    let none = json!({"alg": "none"});
    assert_eq!(
        screen(&format!("{}.e30.", b64(none.to_string()))).map(Value::Object),
        Err(Refusal::Unsigned)
    );
    // The order of the checks: a key in the header is reported before crit, and crit before none.
    let all = json!({"alg": "none", "crit": ["b64"], "jku": "https://evil.example/keys"});
    assert_eq!(
        screen(&format!("{}.e30.", b64(all.to_string()))).map(Value::Object),
        Err(Refusal::KeyInHeader {
            member: "jku".into()
        })
    );
}

#[test]
fn step7_the_screen_lets_every_header_through_that_a_key_must_judge() {
    let catalog = attack_catalog();
    for (what, token, verdict) in &catalog {
        let expected = match verdict {
            Err(
                refusal @ (Refusal::KeyInHeader { .. }
                | Refusal::CriticalExtension
                | Refusal::Unsigned),
            ) => Err(refusal.clone()),
            _ => Ok(()),
        };
        if matches!(verdict, Err(Refusal::Malformed)) {
            continue;
        }
        assert_eq!(
            screen(token).map(|_| ()),
            expected,
            "{what}: the screen decides only what needs no key"
        );
    }
    // Any other header member, even one drawn at random, is for later checks to judge.
    let (seed, mut rng) = generator();
    for _ in 0..20 {
        let name: String = (0..rng.gen_range(1..8))
            .map(|_| rng.gen_range(b'a'..=b'z') as char)
            .collect();
        if ["jwk", "jku", "x5u", "x5c", "crit", "alg"].contains(&name.as_str()) {
            continue;
        }
        let header = json!({"alg": "ES256", &name: rng.r#gen::<u32>()});
        let token = format!("{}.e30.c2ln", b64(header.to_string()));
        assert_eq!(
            screen(&token).map(Value::Object),
            Ok(header.clone()),
            "a header with {name:?} (seed {seed})"
        );
    }
}

// --- Steps 8 and 9: which key, then a careful verifier and the attack catalog ---------------

const RSA_KID: &str = "rfc7515-a2-rsa";
const EC_KID: &str = "rfc7515-a3-ec";
/// RFC 8037 A.3: the RFC 7638 thumbprint of the Ed25519 key, the kind of `kid` our server uses.
const ED_KID: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

/// The verifier's keys: public keys only, each with its `kid` and its one algorithm.
fn ring() -> KeyRing {
    KeyRing::new(vec![
        TrustedKey::new(RSA_KID, Algorithm::RS256, RSA_KEY.decoding_key()),
        TrustedKey::new(EC_KID, Algorithm::ES256, EC_KEY.decoding_key()),
        TrustedKey::new(ED_KID, Algorithm::EdDSA, ED_KEY.decoding_key()),
    ])
}

/// An attacker's own Ed25519 key pair, made from a fixed seed.
fn attacker_key() -> (EncodingKey, String) {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x42; 32]);
    let der = key.to_pkcs8_der().unwrap();
    (
        EncodingKey::from_ed_der(der.as_bytes()),
        b64(key.verifying_key().as_bytes()),
    )
}

// ANCHOR: attack_catalog
/// Every attack of the chapter as a token, built deterministically, with the reason a careful
/// verifier must give for refusing it (`Ok` for the genuine token).
fn attack_catalog() -> Vec<(&'static str, String, Result<Value, Refusal>)> {
    let genuine = json!({"sub": "alice", "admin": false});
    let forged = json!({"sub": "alice", "admin": true});
    let rsa_header = json!({"alg": "RS256", "kid": RSA_KID});
    let genuine_token = signed(
        &rsa_header,
        &genuine,
        &RSA_KEY.encoding_key(),
        Algorithm::RS256,
    );
    let (header, _) = genuine_token.split_once('.').unwrap();
    let signature = signature_segment(&genuine_token);
    let (attacker, attacker_x) = attacker_key();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": attacker_x});
    let unsigned =
        |header: Value| format!("{}.{}.", b64(header.to_string()), b64(forged.to_string()));
    let hs256 = |header: Value, secret: &str| {
        signed(
            &header,
            &forged,
            &EncodingKey::from_secret(secret.as_bytes()),
            Algorithm::HS256,
        )
    };
    vec![
        (
            "a genuine RS256 token",
            genuine_token.clone(),
            Ok(genuine.clone()),
        ),
        (
            "the payload edited to admin: true, the signature kept",
            format!("{header}.{}.{signature}", b64(forged.to_string())),
            Err(Refusal::BadSignature),
        ),
        (
            "alg none, no signature",
            unsigned(json!({"alg": "none"})),
            Err(Refusal::Unsigned),
        ),
        (
            "alg nOnE, with the RSA key's kid",
            unsigned(json!({"alg": "nOnE", "kid": RSA_KID})),
            Err(Refusal::WrongAlgorithm {
                expected: Algorithm::RS256,
                found: "nOnE".into(),
            }),
        ),
        (
            "the signature stripped from an RS256 token",
            format!("{header}.{}.", b64(forged.to_string())),
            Err(Refusal::MissingSignature),
        ),
        (
            "algorithm confusion: HS256 keyed with the RSA public key PEM",
            confused_token(&json!({"alg": "HS256", "kid": RSA_KID}), &forged),
            Err(Refusal::WrongAlgorithm {
                expected: Algorithm::RS256,
                found: "HS256".into(),
            }),
        ),
        (
            "the attacker's own key in the header (jwk)",
            signed(
                &json!({"alg": "EdDSA", "jwk": jwk}),
                &forged,
                &attacker,
                Algorithm::EdDSA,
            ),
            Err(Refusal::KeyInHeader {
                member: "jwk".into(),
            }),
        ),
        (
            "a URL to fetch the key from (jku)",
            signed(
                &json!({"alg": "EdDSA", "jku": "https://attacker.example/jwks.json"}),
                &forged,
                &attacker,
                Algorithm::EdDSA,
            ),
            Err(Refusal::KeyInHeader {
                member: "jku".into(),
            }),
        ),
        (
            "a URL to fetch a certificate from (x5u)",
            signed(
                &json!({"alg": "EdDSA", "x5u": "https://attacker.example/cert.pem"}),
                &forged,
                &attacker,
                Algorithm::EdDSA,
            ),
            Err(Refusal::KeyInHeader {
                member: "x5u".into(),
            }),
        ),
        (
            "kid as a path: an empty file makes an empty HMAC key",
            hs256(
                json!({"alg": "HS256", "kid": "../../../../../../dev/null"}),
                "",
            ),
            Err(Refusal::UnknownKey {
                kid: Some("../../../../../../dev/null".into()),
            }),
        ),
        (
            "kid as SQL: the query returns the attacker's secret",
            hs256(
                json!({"alg": "HS256", "kid": "x' UNION SELECT 'attacker-secret' --"}),
                "attacker-secret",
            ),
            Err(Refusal::UnknownKey {
                kid: Some("x' UNION SELECT 'attacker-secret' --".into()),
            }),
        ),
        (
            "a genuine signature, but an extension we do not implement (crit)",
            signed(
                &json!({"alg": "RS256", "kid": RSA_KID, "b64": false, "crit": ["b64"]}),
                &forged,
                &RSA_KEY.encoding_key(),
                Algorithm::RS256,
            ),
            Err(Refusal::CriticalExtension),
        ),
    ]
}
// ANCHOR_END: attack_catalog

/// A header as step 7 returns it.
fn header_of(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("the test's header {other} is not an object"),
    }
}

/// The key a header selects, by its kid, or the refusal.
fn selected(ring: &KeyRing, header: Value) -> Result<String, Refusal> {
    ring.select(&header_of(header)).map(|key| key.kid.clone())
}

#[test]
fn step8_key_choices() {
    let ring = ring();
    let only_rsa = KeyRing::new(vec![TrustedKey::new(
        RSA_KID,
        Algorithm::RS256,
        RSA_KEY.decoding_key(),
    )]);
    let cases = [
        (
            "the RSA key's kid and alg",
            &ring,
            json!({"alg": "RS256", "kid": RSA_KID}),
        ),
        (
            "the EC key's kid and alg",
            &ring,
            json!({"alg": "ES256", "kid": EC_KID}),
        ),
        (
            "the Ed25519 key's kid and alg",
            &ring,
            json!({"alg": "EdDSA", "kid": ED_KID}),
        ),
        ("no kid, three keys", &ring, json!({"alg": "RS256"})),
        ("no kid, one key", &only_rsa, json!({"alg": "RS256"})),
        (
            "no kid, one key, another alg",
            &only_rsa,
            json!({"alg": "HS256"}),
        ),
        (
            "the RSA key's kid, alg HS256",
            &ring,
            json!({"alg": "HS256", "kid": RSA_KID}),
        ),
        (
            "the RSA key's kid, alg ES256",
            &ring,
            json!({"alg": "ES256", "kid": RSA_KID}),
        ),
        (
            "the RSA key's kid, alg rs256",
            &ring,
            json!({"alg": "rs256", "kid": RSA_KID}),
        ),
        (
            "the RSA key's kid, alg nOnE",
            &ring,
            json!({"alg": "nOnE", "kid": RSA_KID}),
        ),
        (
            "a kid in capitals",
            &ring,
            json!({"alg": "RS256", "kid": "rfc7515-a2-RSA"}),
        ),
        (
            "a kid with a trailing space",
            &ring,
            json!({"alg": "RS256", "kid": "rfc7515-a2-rsa "}),
        ),
        (
            "a kid that is a path",
            &ring,
            json!({"alg": "RS256", "kid": "/etc/passwd"}),
        ),
        (
            "a kid that is a URL",
            &ring,
            json!({"alg": "RS256", "kid": "https://attacker.example/key"}),
        ),
        ("an empty kid", &ring, json!({"alg": "RS256", "kid": ""})),
        (
            "a kid that is a number",
            &ring,
            json!({"alg": "RS256", "kid": 7}),
        ),
        (
            "a kid that is null",
            &only_rsa,
            json!({"alg": "RS256", "kid": null}),
        ),
        (
            "an unknown kid and another alg",
            &ring,
            json!({"alg": "HS256", "kid": "x' OR '1'='1"}),
        ),
    ];
    let mut report = String::new();
    for (what, ring, header) in cases {
        let verdict = match selected(ring, header.clone()) {
            Ok(kid) => format!("the key {kid:?}"),
            Err(refusal) => format!("refused: {refusal:?}"),
        };
        report.push_str(&format!("{what}: {header}\n  {verdict}\n"));
    }
    insta::assert_snapshot!("step8_key_choices", report);
}

#[test]
fn step8_a_kid_only_chooses_among_our_keys() {
    let ring = ring();
    for kid in ["rfc7515-a2-RSA", "rfc7515-a2-rsa ", "/etc/passwd", ""] {
        assert_eq!(
            selected(&ring, json!({"alg": "RS256", "kid": kid})),
            Err(Refusal::UnknownKey {
                kid: Some(kid.into())
            }),
            "kid {kid:?} is no kid of ours: a kid is compared exactly with our keys' ids, and \
             never used to find a key anywhere else"
        );
    }
    assert_eq!(
        selected(&ring, json!({"alg": "RS256"})),
        Err(Refusal::UnknownKey { kid: None }),
        "no kid and three keys: choosing one would be a guess (trying each would let the token \
         choose)"
    );
}

#[test]
fn step8_keys_and_kids_drawn_at_random() {
    let (seed, mut rng) = generator();
    let algorithms = [
        Algorithm::HS256,
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ];
    for _ in 0..8 {
        let count = rng.gen_range(1..5);
        let keys: Vec<(String, Algorithm)> = (0..count)
            .map(|n| {
                (
                    format!("key-{n}-{:08x}", rng.r#gen::<u32>()),
                    algorithms[rng.gen_range(0..algorithms.len())],
                )
            })
            .collect();
        let ring = KeyRing::new(
            keys.iter()
                .map(|(kid, algorithm)| {
                    TrustedKey::new(kid.clone(), *algorithm, DecodingKey::from_secret(b"unused"))
                })
                .collect(),
        );
        let (kid, algorithm) = &keys[rng.gen_range(0..keys.len())];
        let alg = format!("{algorithm:?}");
        assert_eq!(
            selected(&ring, json!({"alg": alg, "kid": kid})),
            Ok(kid.clone()),
            "the kid {kid:?} of a {alg} key in a ring of {count}, with its own alg (seed {seed})"
        );
        let other = algorithms
            .iter()
            .find(|other| *other != algorithm)
            .expect("another algorithm");
        assert_eq!(
            selected(&ring, json!({"alg": format!("{other:?}"), "kid": kid})),
            Err(Refusal::WrongAlgorithm {
                expected: *algorithm,
                found: format!("{other:?}")
            }),
            "the kid {kid:?} of a {alg} key, with alg {other:?}: the key decides the algorithm, \
             and the token's alg only has to agree with it (seed {seed})"
        );
        let unknown = format!("{kid}-not-ours");
        assert_eq!(
            selected(&ring, json!({"alg": alg, "kid": unknown})),
            Err(Refusal::UnknownKey {
                kid: Some(unknown.clone())
            }),
            "(seed {seed})"
        );
        let expected = if count == 1 {
            Ok(kid.clone())
        } else {
            Err(Refusal::UnknownKey { kid: None })
        };
        assert_eq!(
            selected(&ring, json!({"alg": alg})),
            expected,
            "no kid, a ring of {count}: only a ring of one key can do without (seed {seed})"
        );
    }
}

#[test]
fn step9_accepts_genuine_tokens_with_each_key() {
    let claims = json!({"sub": "alice"});
    let ring = ring();
    for (kid, key, algorithm) in [
        (RSA_KID, RSA_KEY.encoding_key(), Algorithm::RS256),
        (EC_KID, EC_KEY.encoding_key(), Algorithm::ES256),
        (ED_KID, ED_KEY.encoding_key(), Algorithm::EdDSA),
    ] {
        let header = json!({"alg": format!("{algorithm:?}"), "typ": "JWT", "kid": kid});
        let token = signed(&header, &claims, &key, algorithm);
        assert_eq!(
            ring.verify(&token).map(Value::Object),
            Ok(claims.clone()),
            "{kid}"
        );
    }
}

#[test]
fn step9_accepts_genuine_tokens_with_claims_drawn_at_random() {
    let (seed, mut rng) = generator();
    let ring = ring();
    let keys = [
        (RSA_KID, RSA_KEY.encoding_key(), Algorithm::RS256),
        (EC_KID, EC_KEY.encoding_key(), Algorithm::ES256),
        (ED_KID, ED_KEY.encoding_key(), Algorithm::EdDSA),
    ];
    for _ in 0..6 {
        let (kid, key, algorithm) = &keys[rng.gen_range(0..keys.len())];
        let claims = json!({
            "sub": format!("user-{}", rng.r#gen::<u32>()),
            "n": rng.r#gen::<i64>(),
            "admin": rng.gen_bool(0.5),
        });
        let header = json!({"alg": format!("{algorithm:?}"), "kid": kid});
        let token = signed(&header, &claims, key, *algorithm);
        assert_eq!(
            ring.verify(&token).map(Value::Object),
            Ok(claims.clone()),
            "a genuine {algorithm:?} token (seed {seed})"
        );
        let mut forged = unb64(signature_segment(&token));
        forged[0] ^= 1;
        let forged = format!("{}.{}", message(&token), b64(&forged));
        assert_eq!(
            ring.verify(&forged),
            Err(Refusal::BadSignature),
            "the same token with its signature changed (seed {seed})"
        );
    }
}

#[test]
fn step9_the_rfc_tokens_verify_with_a_ring_of_their_one_key() {
    let only_rsa = KeyRing::new(vec![TrustedKey::new(
        RSA_KID,
        Algorithm::RS256,
        RSA_KEY.decoding_key(),
    )]);
    assert_eq!(
        only_rsa.verify(A2_TOKEN).map(Value::Object),
        Ok(rfc_claims()),
        "RFC 7515 A.2, with no kid, against a ring of its one RSA key"
    );
    let only_hmac = KeyRing::new(vec![TrustedKey::new(
        "rfc7515-a1",
        Algorithm::HS256,
        DecodingKey::from_secret(&unb64(A1_KEY)),
    )]);
    assert_eq!(
        only_hmac.verify(A1_TOKEN).map(Value::Object),
        Ok(rfc_claims()),
        "RFC 7515 A.1, with no kid, against a ring of its one HMAC key"
    );
}

#[test]
fn step9_malformed_tokens_are_refused_before_anything_else() {
    let ring = ring();
    let kid_number = signed(
        &json!({"alg": "RS256", "kid": 7}),
        &json!({}),
        &RSA_KEY.encoding_key(),
        Algorithm::RS256,
    );
    let genuine = signed(
        &json!({"alg": "RS256", "kid": RSA_KID}),
        &json!({}),
        &RSA_KEY.encoding_key(),
        Algorithm::RS256,
    );
    // A genuine signature over a payload that is not JSON: refused last, but refused.
    let input = format!(
        "{}.{}",
        b64(format!(r#"{{"alg":"RS256","kid":"{RSA_KID}"}}"#)),
        b64("not json")
    );
    let rsa = RSA_KEY.encoding_key();
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &rsa, Algorithm::RS256).unwrap();
    let not_json_payload = format!("{input}.{signature}");
    for token in [
        "",
        "abc",
        "a.b",
        &format!("{A2_TOKEN}.extra"),
        "bm90IGpzb24.e30.c2ln",
        "WzFd.e30.c2ln",
        &format!("{}.e30.c2ln", b64(r#"{"alg":["RS256"]}"#)),
        &format!("{}.e30.c2ln", b64(r#"{"typ":"JWT"}"#)),
        &kid_number,
        // A signature that is not base64url.
        &format!("{}.!!!!", message(&genuine)),
        &not_json_payload,
    ] {
        assert_eq!(ring.verify(token), Err(Refusal::Malformed), "{token}");
    }
}

#[test]
fn step9_each_attack_is_refused_for_its_own_reason() {
    let ring = ring();
    for (what, token, expected) in attack_catalog() {
        assert_eq!(
            ring.verify(&token).map(Value::Object),
            expected,
            "{what}: of the refusals that apply, the one that comes first in `Refusal`"
        );
    }
}

#[test]
fn step9_attack_verdicts() {
    let ring = ring();
    let pem = RSA_KEY.public_key_pem();
    let mut report = String::new();
    for (number, (what, token, expected)) in attack_catalog().into_iter().enumerate() {
        let naive = match (naive_verify(&token, &pem), expected) {
            (Ok(claims), Ok(_)) => format!("accepted {}", Value::Object(claims)),
            (Ok(claims), Err(_)) => format!("ACCEPTS THE FORGERY {}", Value::Object(claims)),
            (Err(reason), _) => format!("refused ({reason})"),
        };
        let careful = match ring.verify(&token) {
            Ok(claims) => format!("accepted {}", Value::Object(claims)),
            Err(refusal) => format!("refused: {refusal:?}\n              {refusal}"),
        };
        report.push_str(&format!(
            "{:>2}. {what}\n    naive:    {naive}\n    careful:  {careful}\n",
            number + 1
        ));
    }
    insta::assert_snapshot!("step9_attack_verdicts", report);
}

// --- Step 10: a weak secret -----------------------------------------------------------------

// ANCHOR: wordlist
/// A few hundred passwords and "secrets" people actually type, one per line.
const WORDLIST: &str = include_str!("../fixtures/wordlist.txt");

/// An access token shaped like simplejwt's, from a service whose SECRET_KEY was a word.
const LEAKED_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\
    .eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzY3MjI2MjAwLCJpYXQiOjE3NjcyMjU5MDAsImp0aSI6IjljMWY0ZTJiN2EzZDRjOGU5ZjBhMWIyYzNkNGU1ZjYwIiwidXNlcl9pZCI6IjQyIn0\
    .HJyqT7DXvgyJA-DX1keG3icsVK-5cWpw-iV5s069irc";

/// The example token jwt.io showed for years, signed with the secret its debugger suggested.
const JWT_IO_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\
    .eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ\
    .SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
// ANCHOR_END: wordlist

fn words() -> Vec<&'static str> {
    WORDLIST.lines().filter(|line| !line.is_empty()).collect()
}

#[test]
fn step10_recovers_the_secret_of_a_leaked_token() {
    assert!(
        words().len() >= 300,
        "the word list has a few hundred words"
    );
    assert_eq!(recover_secret(LEAKED_TOKEN, &words()), Some("kittens"));
}

#[test]
fn step10_recovers_a_secret_drawn_at_random_from_a_list_drawn_at_random() {
    let (seed, mut rng) = generator();
    let list: Vec<String> = (0..200)
        .map(|_| {
            let len = rng.gen_range(1..=12);
            (0..len)
                .map(|_| rng.gen_range(b'a'..=b'z') as char)
                .collect()
        })
        .collect();
    let list: Vec<&str> = list.iter().map(String::as_str).collect();
    let secret = list[rng.gen_range(0..list.len())];
    let token = signed(
        &json!({"alg": "HS256"}),
        &json!({"sub": "alice"}),
        &EncodingKey::from_secret(secret.as_bytes()),
        Algorithm::HS256,
    );
    let found = recover_secret(&token, &list);
    let first_that_fits = list.iter().copied().find(|word| *word == secret);
    assert_eq!(
        found, first_that_fits,
        "the secret was {secret:?} (seed {seed})"
    );
}

#[test]
fn step10_recovers_the_secret_of_jwt_io_example() {
    assert_eq!(
        recover_secret(JWT_IO_TOKEN, &words()),
        Some("your-256-bit-secret")
    );
}

#[test]
fn step10_finds_nothing_when_the_secret_is_random() {
    let random = hex("8d3c5e1f0a9b7c6d2e4f1a3b5c7d9e0f1b2a3c4d5e6f708192a3b4c5d6e7f809");
    let token = signed(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &json!({"user_id": "42"}),
        &EncodingKey::from_secret(&random),
        Algorithm::HS256,
    );
    assert_eq!(recover_secret(&token, &words()), None);
    assert_eq!(recover_secret("not a token", &words()), None);
}

#[test]
fn step10_with_the_secret_anyone_can_mint_tokens() {
    let secret = recover_secret(LEAKED_TOKEN, &words()).expect("the secret is in the list");
    // Whatever claims the attacker likes, signed with the service's own key.
    let minted = signed(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &json!({"token_type": "access", "exp": 4102444800u64, "jti": "0", "user_id": "1"}),
        &EncodingKey::from_secret(secret.as_bytes()),
        Algorithm::HS256,
    );
    let key = DecodingKey::from_secret(secret.as_bytes());
    let valid = jsonwebtoken::crypto::verify(
        signature_segment(&minted),
        message(&minted).as_bytes(),
        &key,
        Algorithm::HS256,
    );
    assert_eq!(valid, Ok(true), "the service cannot tell it from its own");
}

#[test]
fn step10_a_careful_server_refuses_a_short_secret() {
    assert_eq!(MIN_SECRET_BYTES, 32);
    let secret = recover_secret(LEAKED_TOKEN, &words()).expect("the secret is in the list");
    assert_eq!(
        hs256_key("leaked", secret.as_bytes()).err(),
        Some(WeakSecret { length: 7 })
    );
    assert_eq!(
        hs256_key("jwt.io", b"your-256-bit-secret").err(),
        Some(WeakSecret { length: 19 })
    );
    assert_eq!(
        hs256_key("short", &[0x5a; 31]).err(),
        Some(WeakSecret { length: 31 })
    );
    let strong = hs256_key("strong", &[0x5a; 32]).expect("32 bytes are enough");
    assert_eq!(strong.kid, "strong");
    assert_eq!(strong.algorithm, Algorithm::HS256);
    assert!(hs256_key("", &[]).is_err());
}

#[test]
fn step10_a_strong_key_from_hs256_key_verifies_its_tokens() {
    let secret = unb64(A1_KEY);
    let ring = KeyRing::new(vec![hs256_key("rfc7515-a1", &secret).unwrap()]);
    // The ring's verify is step 8's; here only the key's bytes and algorithm are checked.
    let key = &ring.keys()[0];
    let valid = jsonwebtoken::crypto::verify(
        signature_segment(A1_TOKEN),
        message(A1_TOKEN).as_bytes(),
        &key.key,
        key.algorithm,
    );
    assert_eq!(valid, Ok(true));
}

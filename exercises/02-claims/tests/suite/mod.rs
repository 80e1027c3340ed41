//! The chapter 2 checks, written once. `tests/claims.rs` in the exercise crate and in the
//! solution crate both include this file, with `sut` ("system under test") naming their own
//! library, so the exercise and its solution can never be checked differently.
//!
//! Tests are named `stepN_…` after the step of the chapter they check: `cargo run -- check 2`
//! reports the first step that fails and `cargo run -- hint 2` gives hints for it.
//!
//! Ground truth: the claims of RFC 7519 §3.1's example, the claims of an access token the real
//! djangorestframework-simplejwt issued in its best-known tutorial, and the claims of a pair
//! our own server issued. Every instant is a constant: nothing here reads the system clock.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use crate::sut::{
    Audience, Claims, Failure, Rules, check, check_times, missing, numeric_date, parse_claims,
    validate, verdict_table,
};

/// RFC 7519 §3.1's claims set, byte for byte, line breaks (CRLF) included.
const RFC7519_PAYLOAD: &str =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

/// The payload of the simplejwt tutorial's access token (chapter 1), decoded.
const SIMPLEJWT_PAYLOAD: &str = r#"{"token_type":"access","exp":1545224259,"jti":"2bd56272b3b24b3f8b522e58c37c17e1","user_id":1}"#;

/// The payloads of the pair our server issued to the demo user at 1795403903, with the default
/// settings (access 5 minutes, refresh 1 day).
const SERVER_ACCESS_PAYLOAD: &str = r#"{"token_type":"access","exp":1795404203,"iat":1795403903,"jti":"758ee4b4eb104a92baf0d7614676f8fc","user_id":"1"}"#;
const SERVER_REFRESH_PAYLOAD: &str = r#"{"token_type":"refresh","exp":1795490303,"iat":1795403903,"jti":"7033ed8551744b8fa368afcdcf86527e","user_id":"1"}"#;

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

/// A lowercase name of 1 to 10 letters.
fn random_name(rng: &mut StdRng) -> String {
    let len = rng.gen_range(1..=10);
    (0..len)
        .map(|_| rng.gen_range(b'a'..=b'z') as char)
        .collect()
}

/// Names `numeric_date`'s verdict on one JSON value, for tables.
fn read_date(value: Value) -> String {
    match numeric_date(value) {
        Ok(Some(seconds)) => format!("{seconds}"),
        Ok(None) => "None".to_string(),
        Err(error) => format!("error: {error}"),
    }
}

// --- Step 0: a warm-up ------------------------------------------------------------------------

#[test]
fn step0_a_token_has_seconds_left_until_its_exp() {
    use crate::sut::seconds_left;
    assert_eq!(seconds_left(1300819380, 1300819080), 300, "five minutes");
    assert_eq!(
        seconds_left(1300819380, 1300819379),
        1,
        "the last valid second"
    );
    assert_eq!(
        seconds_left(1300819380, 1300819380),
        0,
        "at exp: expired, nothing left"
    );
    assert_eq!(
        seconds_left(1300819380, 1400000000),
        0,
        "long expired: none, not a negative number"
    );
    for now in (0..4_000_000_000i64).step_by(99_991) {
        assert_eq!(
            seconds_left(2_000_000_000, now),
            (2_000_000_000 - now).max(0),
            "at {now}"
        );
    }
}

// --- Step 1: NumericDate --------------------------------------------------------------------

/// `numeric_date` on a JSON number, which it must read.
fn seconds(value: Value) -> Option<i64> {
    match numeric_date(value.clone()) {
        Ok(seconds) => seconds,
        Err(error) => {
            panic!("numeric_date refused {value}, but every JSON number is a NumericDate: {error}")
        }
    }
}

#[test]
fn step1_a_numeric_date_is_a_number_of_seconds() {
    assert_eq!(seconds(json!(1300819380)), Some(1300819380));
    assert_eq!(seconds(json!(0)), Some(0));
    assert_eq!(
        seconds(json!(-86400)),
        Some(-86400),
        "before 1970 is still a date"
    );
}

#[test]
fn step1_a_fraction_is_rounded_down_to_the_second() {
    assert_eq!(seconds(json!(1300819380.75)), Some(1300819380));
    assert_eq!(seconds(json!(1300819380.0)), Some(1300819380));
    // Down, not towards zero: half a second before 1970 is in the second that starts at -1.
    assert_eq!(
        seconds(json!(-0.5)),
        Some(-1),
        "-0.5 lies in the second that starts at -1: rounded down, not towards zero"
    );
    assert_eq!(
        seconds(json!(-1.5)),
        Some(-2),
        "-1.5 lies in the second that starts at -2: rounded down, not towards zero"
    );
    // Beyond i64: the farthest future (or past) there is, not an error and not a wrap-around.
    assert_eq!(
        seconds(json!(1e300)),
        Some(i64::MAX),
        "a number beyond i64 is the farthest instant there is, not an error or a wrap-around"
    );
    assert_eq!(seconds(json!(-1e300)), Some(i64::MIN));
    assert_eq!(
        seconds(json!(u64::MAX)),
        Some(i64::MAX),
        "an integer too big for i64 is still a number: the farthest instant there is"
    );
}

#[test]
fn step1_numbers_drawn_at_random_fall_in_their_second() {
    let (seed, mut rng) = generator();
    for _ in 0..200 {
        let whole: i64 = rng.gen_range(-4_000_000_000..4_000_000_000);
        assert_eq!(seconds(json!(whole)), Some(whole), "{whole} (seed {seed})");
        let fraction: f64 = rng.gen_range(0.01..0.99);
        let instant = whole as f64 + fraction;
        assert_eq!(
            seconds(json!(instant)),
            Some(whole),
            "{instant} lies in the second that starts at {whole} (seed {seed})"
        );
    }
}

#[test]
fn step1_anything_but_a_number_is_refused() {
    let cases = [
        json!("1300819380"),
        json!("2011-03-22T18:43:00Z"),
        json!(null),
        json!(true),
        json!([1300819380]),
        json!({"$date": 1300819380}),
    ];
    let mut report = String::new();
    for value in cases {
        report.push_str(&format!("{value}  ->  {}\n", read_date(value.clone())));
    }
    insta::assert_snapshot!("step1_refusals", report);
}

// --- Step 2: the audience -------------------------------------------------------------------

#[test]
fn step2_an_audience_is_one_string_or_an_array_of_strings() {
    let one: Audience = serde_json::from_value(json!("api")).unwrap();
    assert_eq!(one, Audience::One("api".into()));
    let many: Audience = serde_json::from_value(json!(["billing", "api"])).unwrap();
    assert_eq!(many, Audience::Many(vec!["billing".into(), "api".into()]));
    let nobody: Audience = serde_json::from_value(json!([])).unwrap();
    assert_eq!(nobody, Audience::Many(vec![]));
    // A one-member array stays an array: the spelling is kept as written.
    let single: Audience = serde_json::from_value(json!(["api"])).unwrap();
    assert_eq!(single, Audience::Many(vec!["api".into()]));
}

#[test]
fn step2_anything_else_is_not_an_audience() {
    let cases = [
        json!(42),
        json!(null),
        json!(true),
        json!({"name": "api"}),
        json!(["api", 42]),
        json!(["api", ["billing"]]),
    ];
    let mut report = String::new();
    for value in cases {
        let verdict = match serde_json::from_value::<Audience>(value.clone()) {
            Ok(audience) => format!("{audience:?}"),
            Err(error) => format!("error: {error}"),
        };
        report.push_str(&format!("{value}  ->  {verdict}\n"));
    }
    insta::assert_snapshot!("step2_refusals", report);
}

#[test]
fn step2_an_audience_contains_exactly_the_names_it_lists() {
    let one = Audience::One("api".into());
    assert!(one.contains("api"));
    assert!(!one.contains("billing"));
    let many = Audience::Many(vec!["billing".into(), "api".into()]);
    assert!(many.contains("api"));
    assert!(many.contains("billing"));
    assert!(!many.contains("web"));
    assert!(
        !Audience::Many(vec![]).contains("api"),
        "an empty array names nobody"
    );
}

#[test]
fn step2_audiences_are_compared_exactly() {
    let url = Audience::One("https://api.example.com".into());
    assert!(url.contains("https://api.example.com"));
    // Case-sensitive, and no normalisation of URLs: these are other audiences.
    assert!(!url.contains("https://API.example.com"));
    assert!(!url.contains("https://api.example.com/"));
    assert!(!Audience::One("api".into()).contains("API"));
    assert!(!Audience::One("api".into()).contains("ap"));
    assert!(!Audience::Many(vec!["api-v2".into()]).contains("api"));
}

#[test]
fn step2_audiences_drawn_at_random_are_read_and_compared_exactly() {
    let (seed, mut rng) = generator();
    for _ in 0..50 {
        let names: Vec<String> = (0..rng.gen_range(0..5))
            .map(|_| random_name(&mut rng))
            .collect();
        let many: Audience = serde_json::from_value(json!(names))
            .unwrap_or_else(|error| panic!("{} was refused: {error} (seed {seed})", json!(names)));
        assert_eq!(many, Audience::Many(names.clone()), "seed {seed}");
        let stranger = format!("{}-{}", random_name(&mut rng), rng.r#gen::<u16>());
        assert!(
            !many.contains(&stranger),
            "{} does not name {stranger:?} (seed {seed})",
            json!(names)
        );
        for name in &names {
            assert!(
                many.contains(name),
                "{} names {name:?} (seed {seed})",
                json!(names)
            );
            assert!(
                !many.contains(&name.to_uppercase()),
                "{} does not name {:?}: audiences are compared exactly (seed {seed})",
                json!(names),
                name.to_uppercase()
            );
            let one: Audience = serde_json::from_value(json!(name)).unwrap();
            assert_eq!(one, Audience::One(name.clone()), "seed {seed}");
            assert!(one.contains(name), "seed {seed}");
            assert!(!one.contains(&format!("{name}/")), "seed {seed}");
        }
    }
}

// --- Step 3: the claims, with serde ---------------------------------------------------------

/// `parse_claims` on a payload it must read, with a failure that names the likely cause.
fn read(payload: &str) -> Claims {
    match parse_claims(payload) {
        Ok(claims) => claims,
        Err(error) => {
            let text = error.to_string();
            let cause = if text.contains("missing field `extra`") {
                "serde looked for a claim literally called \"extra\": that field is not a claim, \
                 it is where every claim without a field of its own must go"
            } else if ["exp", "nbf", "iat"]
                .iter()
                .any(|name| text.contains(&format!("missing field `{name}`")))
            {
                "an absent time claim must read as None, yet serde now insists on it: a field read \
                 through a function of yours is no longer optional by itself"
            } else {
                "this payload is a valid claims set"
            };
            panic!(
                "parse_claims refused {payload}\n  with: {text}\n  why it matters: {cause} \
                 (the book: \"Modelling claims with serde\")"
            )
        }
    }
}

#[test]
fn step3_reads_the_rfc_example_keeping_its_public_claim() {
    let claims = read(RFC7519_PAYLOAD);
    assert_eq!(claims.iss.as_deref(), Some("joe"));
    assert_eq!(claims.exp, Some(1300819380));
    assert_eq!(
        Value::Object(claims.extra.clone()),
        json!({"http://example.com/is_root": true})
    );
    assert_eq!(
        claims,
        Claims {
            iss: Some("joe".into()),
            exp: Some(1300819380),
            extra: claims.extra.clone(),
            ..Claims::default()
        },
        "every other claim is absent"
    );
}

#[test]
fn step3_reads_the_simplejwt_tutorials_claims() {
    let claims = read(SIMPLEJWT_PAYLOAD);
    assert_eq!(claims.token_type.as_deref(), Some("access"));
    assert_eq!(claims.exp, Some(1545224259));
    assert_eq!(claims.iat, None, "simplejwt wrote no iat in 2018");
    assert_eq!(
        claims.jti.as_deref(),
        Some("2bd56272b3b24b3f8b522e58c37c17e1")
    );
    // user_id is simplejwt's private claim: kept, with the type the issuer gave it.
    assert_eq!(Value::Object(claims.extra), json!({"user_id": 1}));
}

#[test]
fn step3_reads_a_pair_from_our_server() {
    let access = read(SERVER_ACCESS_PAYLOAD);
    assert_eq!(access.token_type.as_deref(), Some("access"));
    assert_eq!(access.iat, Some(1795403903));
    assert_eq!(
        access.exp,
        Some(1795403903 + 5 * 60),
        "access: five minutes"
    );
    assert_eq!(Value::Object(access.extra), json!({"user_id": "1"}));

    let refresh = read(SERVER_REFRESH_PAYLOAD);
    assert_eq!(refresh.token_type.as_deref(), Some("refresh"));
    assert_eq!(
        refresh.exp,
        Some(1795403903 + 24 * 60 * 60),
        "refresh: one day"
    );
}

#[test]
fn step3_keeps_every_other_claim_in_the_order_it_was_written() {
    let claims = read(
        r#"{"zone":"eu-west","sub":"42","https://example.com/roles":["admin"],
            "aud":["billing","api"],"nbf":1300819080,"amount":12.5,"extra":{"nested":null}}"#,
    );
    assert_eq!(claims.sub.as_deref(), Some("42"));
    assert_eq!(
        claims.aud,
        Some(Audience::Many(vec!["billing".into(), "api".into()]))
    );
    assert_eq!(claims.nbf, Some(1300819080));
    let names: Vec<&str> = claims.extra.keys().map(String::as_str).collect();
    assert!(
        names.contains(&"zone") && names.contains(&"amount"),
        "the claims without a field of their own (zone, amount...) are not in extra, which holds \
         {names:?}: extra was filled from the member called \"extra\" instead of gathering \
         every other claim (the book: \"Modelling claims with serde\")"
    );
    let registered: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| {
            [
                "iss",
                "sub",
                "aud",
                "exp",
                "nbf",
                "iat",
                "jti",
                "token_type",
            ]
            .contains(name)
        })
        .collect();
    assert!(
        registered.is_empty(),
        "registered claims are typed fields, not kept a second time in extra: {registered:?}"
    );
    assert_eq!(
        names,
        ["zone", "https://example.com/roles", "amount", "extra"],
        "every other claim is kept, in the order the issuer wrote it"
    );
    assert_eq!(claims.extra["https://example.com/roles"], json!(["admin"]));
    assert_eq!(claims.extra["extra"], json!({"nested": null}));
}

#[test]
fn step3_claims_drawn_at_random_are_typed_and_the_others_kept_in_order() {
    let (seed, mut rng) = generator();
    for _ in 0..50 {
        let mut payload = Map::new();
        let mut private = Vec::new();
        let exp = rng
            .gen_bool(0.7)
            .then(|| rng.gen_range(0..4_000_000_000i64));
        let iat = rng
            .gen_bool(0.5)
            .then(|| rng.gen_range(0..4_000_000_000i64));
        let sub = rng.gen_bool(0.5).then(|| random_name(&mut rng));
        for _ in 0..rng.gen_range(0..4) {
            let name = format!("x_{}", random_name(&mut rng));
            if !payload.contains_key(&name) {
                payload.insert(name.clone(), json!(rng.r#gen::<u32>()));
                private.push(name);
            }
        }
        // The registered claims go in among the others, at a random place.
        let mut members: Vec<(String, Value)> = payload.into_iter().collect();
        for (name, value) in [
            ("exp", exp.map(Value::from)),
            ("iat", iat.map(Value::from)),
            ("sub", sub.clone().map(Value::from)),
        ] {
            if let Some(value) = value {
                let at = rng.gen_range(0..=members.len());
                members.insert(at, (name.to_string(), value));
            }
        }
        let text = Value::Object(members.into_iter().collect()).to_string();
        let claims = read(&text);
        assert_eq!((claims.exp, claims.iat), (exp, iat), "{text} (seed {seed})");
        assert_eq!(claims.sub, sub, "{text} (seed {seed})");
        let kept: Vec<&String> = claims.extra.keys().collect();
        assert_eq!(
            kept,
            private.iter().collect::<Vec<_>>(),
            "the claims without a field of their own, in the issuer's order: {text} (seed {seed})"
        );
    }
}

#[test]
fn step3_a_registered_claim_of_the_wrong_type_is_an_error() {
    let cases = [
        ("exp as a string", r#"{"iss":"joe","exp":"1300819380"}"#),
        ("exp as null", r#"{"exp":null}"#),
        ("nbf as a date", r#"{"nbf":"2011-03-22T18:38:00Z"}"#),
        ("iat as a boolean", r#"{"iat":true}"#),
        ("aud as a number", r#"{"aud":42}"#),
        ("aud with a number", r#"{"aud":["api",42]}"#),
        ("iss as a number", r#"{"iss":1}"#),
        ("sub as a number", r#"{"sub":42}"#),
        ("jti as a number", r#"{"jti":7}"#),
        ("token_type as an array", r#"{"token_type":["access"]}"#),
        ("exp written twice", r#"{"exp":1300819380,"exp":"never"}"#),
        ("an array, not an object", r#"[{"exp":1300819380}]"#),
        ("not JSON", r#"{"exp":1300819380"#),
        ("exp with a fraction (fine)", r#"{"exp":1300819380.5}"#),
        (
            "a private claim of any type (fine)",
            r#"{"user_id":"1","admin":"yes"}"#,
        ),
    ];
    let mut report = String::new();
    for (what, payload) in cases {
        let verdict = match parse_claims(payload) {
            Ok(claims) => format!("read: {claims:?}"),
            Err(error) => format!("error: {error}"),
        };
        report.push_str(&format!("{what}\n  {payload}\n  {verdict}\n"));
    }
    insta::assert_snapshot!("step3_wrong_types", report);
}

// --- Step 4: the time rules -----------------------------------------------------------------

/// Claims with only the three time claims, built directly so step 4 does not need step 3.
fn times(iat: Option<i64>, nbf: Option<i64>, exp: Option<i64>) -> Claims {
    Claims {
        iat,
        nbf,
        exp,
        ..Claims::default()
    }
}

#[test]
fn step4_a_token_is_valid_from_nbf_until_just_before_exp() {
    let claims = times(Some(1000), Some(1000), Some(1300));
    assert_eq!(
        check_times(&claims, 999, 0),
        [
            Failure::IssuedInTheFuture { iat: 1000 },
            Failure::NotYetValid { nbf: 1000 }
        ],
        "one second early"
    );
    assert_eq!(check_times(&claims, 1000, 0), [], "at nbf: valid");
    assert_eq!(check_times(&claims, 1299, 0), [], "the last valid second");
    assert_eq!(
        check_times(&claims, 1300, 0),
        [Failure::Expired { exp: 1300 }],
        "at exp: expired"
    );
    assert_eq!(
        check_times(&claims, 99_999, 0),
        [Failure::Expired { exp: 1300 }]
    );
}

#[test]
fn step4_the_leeway_widens_the_window_at_both_ends() {
    let claims = times(Some(1000), Some(1000), Some(1300));
    assert_eq!(check_times(&claims, 970, 30), [], "nbf - leeway: valid");
    assert_eq!(
        check_times(&claims, 969, 30),
        [
            Failure::IssuedInTheFuture { iat: 1000 },
            Failure::NotYetValid { nbf: 1000 }
        ]
    );
    assert_eq!(
        check_times(&claims, 1300, 30),
        [],
        "at exp, within the leeway"
    );
    assert_eq!(check_times(&claims, 1329, 30), [], "exp + leeway - 1");
    assert_eq!(
        check_times(&claims, 1330, 30),
        [Failure::Expired { exp: 1300 }],
        "exp + leeway: expired"
    );
}

#[test]
fn step4_each_rule_applies_only_to_a_claim_that_is_present() {
    assert_eq!(check_times(&times(None, None, None), i64::MIN / 2, 0), []);
    assert_eq!(check_times(&times(None, None, None), i64::MAX / 2, 0), []);
    assert_eq!(
        check_times(&times(Some(2000), None, None), 1000, 60),
        [Failure::IssuedInTheFuture { iat: 2000 }]
    );
    assert_eq!(
        check_times(&times(None, Some(2000), None), 1000, 60),
        [Failure::NotYetValid { nbf: 2000 }]
    );
    assert_eq!(
        check_times(&times(None, None, Some(500)), 1000, 60),
        [Failure::Expired { exp: 500 }]
    );
}

#[test]
fn step4_every_time_failure_is_reported_in_order() {
    // A nonsensical token: issued and valid from the future, yet expired long ago.
    let claims = times(Some(5000), Some(6000), Some(100));
    assert_eq!(
        check_times(&claims, 1000, 0),
        [
            Failure::IssuedInTheFuture { iat: 5000 },
            Failure::NotYetValid { nbf: 6000 },
            Failure::Expired { exp: 100 },
        ]
    );
}

#[test]
fn step4_the_simplejwt_token_expired_at_its_exp() {
    let claims = times(None, None, Some(1545224259));
    assert_eq!(check_times(&claims, 1545224258, 0), []);
    assert_eq!(
        check_times(&claims, 1545224259, 0),
        [Failure::Expired { exp: 1545224259 }]
    );
}

/// The time rules once more, written here: what `check_times` must answer.
fn expected_times(claims: &Claims, now: i64, leeway: i64) -> Vec<Failure> {
    let mut failures = Vec::new();
    if let Some(iat) = claims.iat.filter(|iat| *iat > now + leeway) {
        failures.push(Failure::IssuedInTheFuture { iat });
    }
    if let Some(nbf) = claims.nbf.filter(|nbf| *nbf > now + leeway) {
        failures.push(Failure::NotYetValid { nbf });
    }
    if let Some(exp) = claims.exp.filter(|exp| *exp <= now - leeway) {
        failures.push(Failure::Expired { exp });
    }
    failures
}

#[test]
fn step4_windows_drawn_at_random_hold_to_the_second() {
    let (seed, mut rng) = generator();
    for _ in 0..100 {
        let nbf = rng.gen_range(0..4_000_000_000i64);
        let exp = nbf + rng.gen_range(1..100_000);
        let iat = nbf - rng.gen_range(0..3);
        let leeway = rng.gen_range(0..120);
        let claims = times(
            rng.gen_bool(0.8).then_some(iat),
            rng.gen_bool(0.8).then_some(nbf),
            rng.gen_bool(0.8).then_some(exp),
        );
        // The seconds where an answer changes, and one drawn anywhere around the window.
        let anywhere = rng.gen_range(nbf - 1000..exp + 1000);
        for now in [
            nbf - leeway - 1,
            nbf - leeway,
            exp - 1,
            exp + leeway - 1,
            exp + leeway,
            anywhere,
        ] {
            assert_eq!(
                check_times(&claims, now, leeway),
                expected_times(&claims, now, leeway),
                "iat {:?}, nbf {:?}, exp {:?}, leeway {leeway}, at {now} (seed {seed})",
                claims.iat,
                claims.nbf,
                claims.exp
            );
        }
    }
}

// --- Step 5: the missing claims --------------------------------------------------------------

#[test]
fn step5_every_claim_the_rules_need_is_looked_for_once() {
    let rules = Rules {
        issuer: Some("https://auth.example.com".into()),
        audience: Some("api".into()),
        token_type: Some("access".into()),
        required: vec!["jti", "iss", "exp", "sub"],
        leeway: 0,
    };
    assert_eq!(
        missing(&Claims::default(), &rules),
        [
            Failure::Missing("jti"),
            Failure::Missing("iss"),
            Failure::Missing("exp"),
            Failure::Missing("sub"),
            Failure::Missing("aud"),
            Failure::Missing("token_type"),
        ],
        "the required claims in their order, then those the expected values make required, \
         each name once"
    );
    let no_expectations = Rules {
        required: vec!["exp"],
        ..Rules::default()
    };
    assert_eq!(
        missing(&Claims::default(), &no_expectations),
        [Failure::Missing("exp")]
    );
    let present = Claims {
        iss: Some("someone else".into()),
        exp: Some(1),
        ..Claims::default()
    };
    assert_eq!(
        missing(&present, &rules),
        [
            Failure::Missing("jti"),
            Failure::Missing("sub"),
            Failure::Missing("aud"),
            Failure::Missing("token_type"),
        ],
        "a claim that is present is not missing, whatever its value"
    );
}

#[test]
fn step5_private_claims_drawn_at_random_are_looked_for_among_the_others() {
    let (seed, mut rng) = generator();
    for _ in 0..20 {
        // `Failure::Missing` holds a `&'static str`: leaking twenty short names is fine in a test.
        let name: &'static str = Box::leak(format!("x_{}", random_name(&mut rng)).into_boxed_str());
        let rules = Rules {
            required: vec![name],
            ..Rules::default()
        };
        let mut claims = Claims::default();
        assert_eq!(
            missing(&claims, &rules),
            [Failure::Missing(name)],
            "seed {seed}"
        );
        claims
            .extra
            .insert(name.to_string(), json!(rng.r#gen::<u8>()));
        assert_eq!(
            missing(&claims, &rules),
            [],
            "{name} is there (seed {seed})"
        );
    }
}

// --- Step 6: every rule, every failure -------------------------------------------------------

/// The rules of the API in this chapter's examples.
fn api_rules(leeway: i64) -> Rules {
    Rules {
        issuer: Some("https://auth.example.com".into()),
        audience: Some("api".into()),
        token_type: Some("access".into()),
        required: vec!["exp", "jti"],
        leeway,
    }
}

/// An access token for the API, valid from 1300819080 until 1300819380, built directly so
/// step 6 does not need step 3.
fn good_access() -> Claims {
    Claims {
        iss: Some("https://auth.example.com".into()),
        aud: Some(Audience::One("api".into())),
        iat: Some(1300819080),
        nbf: Some(1300819080),
        exp: Some(1300819380),
        jti: Some("6f1c0a".into()),
        token_type: Some("access".into()),
        ..Claims::default()
    }
}

#[test]
fn step6_a_good_token_passes() {
    assert_eq!(validate(&good_access(), &api_rules(0), 1300819200), Ok(()));
    let with_array = Claims {
        aud: Some(Audience::Many(vec!["billing".into(), "api".into()])),
        ..good_access()
    };
    assert_eq!(validate(&with_array, &api_rules(0), 1300819200), Ok(()));
}

#[test]
fn step6_one_kind_of_token_never_passes_for_another() {
    let refresh = Claims {
        token_type: Some("refresh".into()),
        exp: Some(1300819080 + 86400),
        ..good_access()
    };
    assert_eq!(
        validate(&refresh, &api_rules(0), 1300819200),
        Err(vec![Failure::WrongTokenType("refresh".into())])
    );
    let untyped = Claims {
        token_type: None,
        ..good_access()
    };
    assert_eq!(
        validate(&untyped, &api_rules(0), 1300819200),
        Err(vec![Failure::Missing("token_type")]),
        "an access check needs a token that says it is one"
    );
    // Rules without a token_type accept any type, and none: like simplejwt's verify endpoint.
    let any_type = Rules {
        token_type: None,
        ..api_rules(0)
    };
    assert_eq!(validate(&refresh, &any_type, 1300819200), Ok(()));
    assert_eq!(validate(&untyped, &any_type, 1300819200), Ok(()));
}

#[test]
fn step6_the_audience_must_name_us() {
    let for_billing = Claims {
        aud: Some(Audience::Many(vec!["billing".into()])),
        ..good_access()
    };
    assert_eq!(
        validate(&for_billing, &api_rules(0), 1300819200),
        Err(vec![Failure::WrongAudience(Audience::Many(vec![
            "billing".into()
        ]))])
    );
    // A service that expects no audience must still refuse a token meant for someone.
    let no_audience = Rules {
        audience: None,
        ..api_rules(0)
    };
    assert_eq!(
        validate(&good_access(), &no_audience, 1300819200),
        Err(vec![Failure::WrongAudience(Audience::One("api".into()))])
    );
    let without_aud = Claims {
        aud: None,
        ..good_access()
    };
    assert_eq!(validate(&without_aud, &no_audience, 1300819200), Ok(()));
    assert_eq!(
        validate(&without_aud, &api_rules(0), 1300819200),
        Err(vec![Failure::Missing("aud")])
    );
}

#[test]
fn step6_expected_claims_are_required_and_reported_once() {
    let rules = Rules {
        required: vec!["jti", "iss", "exp", "sub"],
        ..api_rules(0)
    };
    assert_eq!(
        validate(&Claims::default(), &rules, 1300819200),
        Err(vec![
            Failure::Missing("jti"),
            Failure::Missing("iss"),
            Failure::Missing("exp"),
            Failure::Missing("sub"),
            Failure::Missing("aud"),
            Failure::Missing("token_type"),
        ])
    );
    // A required private claim is looked for among the other claims.
    let rules = Rules {
        required: vec!["user_id"],
        ..api_rules(0)
    };
    let mut with_user = good_access();
    assert_eq!(
        validate(&with_user, &rules, 1300819200),
        Err(vec![Failure::Missing("user_id")])
    );
    with_user.extra.insert("user_id".into(), json!("1"));
    assert_eq!(validate(&with_user, &rules, 1300819200), Ok(()));
}

#[test]
fn step6_reports_every_failure_not_just_the_first() {
    let everything_wrong = Claims {
        iss: Some("https://evil.example".into()),
        aud: Some(Audience::One("billing".into())),
        iat: Some(1300819500),
        nbf: Some(1300819500),
        exp: Some(1300819380),
        jti: None,
        token_type: Some("refresh".into()),
        ..Claims::default()
    };
    assert_eq!(
        validate(&everything_wrong, &api_rules(0), 1300819400),
        Err(vec![
            Failure::Missing("jti"),
            Failure::WrongIssuer("https://evil.example".into()),
            Failure::WrongAudience(Audience::One("billing".into())),
            Failure::WrongTokenType("refresh".into()),
            Failure::IssuedInTheFuture { iat: 1300819500 },
            Failure::NotYetValid { nbf: 1300819500 },
            Failure::Expired { exp: 1300819380 },
        ])
    );
}

#[test]
fn step6_time_is_checked_at_the_given_instant_with_the_rules_leeway() {
    let claims = good_access();
    assert_eq!(
        validate(&claims, &api_rules(0), 1300819380),
        Err(vec![Failure::Expired { exp: 1300819380 }])
    );
    assert_eq!(validate(&claims, &api_rules(30), 1300819380), Ok(()));
    assert_eq!(
        validate(&claims, &api_rules(0), 1300819070),
        Err(vec![
            Failure::IssuedInTheFuture { iat: 1300819080 },
            Failure::NotYetValid { nbf: 1300819080 },
        ])
    );
    assert_eq!(validate(&claims, &api_rules(30), 1300819070), Ok(()));
}

// --- Step 7: the verdict table --------------------------------------------------------------

// ANCHOR: table_tokens
/// The tokens of the verdict table. The good ones are valid from 1300819080
/// (2011-03-22 18:38:00 UTC) until 1300819380, RFC 7519's `exp`: five minutes.
const TOKENS: [(&str, &str); 9] = [
    (
        "access token",
        r#"{"iss":"https://auth.example.com","aud":"api","token_type":"access","iat":1300819080,"nbf":1300819080,"exp":1300819380,"jti":"6f1c0a","user_id":"1"}"#,
    ),
    (
        "access token, aud as an array",
        r#"{"iss":"https://auth.example.com","aud":["billing","api"],"token_type":"access","iat":1300819080,"nbf":1300819080,"exp":1300819380,"jti":"2b7d41","user_id":"1"}"#,
    ),
    (
        "refresh token",
        r#"{"iss":"https://auth.example.com","aud":"api","token_type":"refresh","iat":1300819080,"nbf":1300819080,"exp":1300905480,"jti":"c03e99","user_id":"1"}"#,
    ),
    (
        "email verification token",
        r#"{"iss":"https://auth.example.com","aud":"api","token_type":"verify_email","iat":1300819080,"exp":1300905480,"jti":"e5a802","user_id":"1","email":"demo@example.com"}"#,
    ),
    (
        "for another audience",
        r#"{"iss":"https://auth.example.com","aud":"billing","token_type":"access","iat":1300819080,"nbf":1300819080,"exp":1300819380,"jti":"91aa3f","user_id":"1"}"#,
    ),
    (
        "from another issuer",
        r#"{"iss":"https://evil.example","aud":"api","token_type":"access","iat":1300819080,"nbf":1300819080,"exp":1300819380,"jti":"0d0d0d","user_id":"1"}"#,
    ),
    (
        "no exp, no jti",
        r#"{"iss":"https://auth.example.com","aud":"api","token_type":"access","iat":1300819080,"user_id":"1"}"#,
    ),
    (
        "exp as a string",
        r#"{"iss":"https://auth.example.com","aud":"api","token_type":"access","iat":1300819080,"exp":"1300819380","jti":"5e1f27","user_id":"1"}"#,
    ),
    ("RFC 7519 §3.1", RFC7519_PAYLOAD),
];

/// The instants of the verdict table, around the window [1300819080, 1300819380).
const INSTANTS: [(&str, i64); 7] = [
    ("nbf - 60 s", 1300819080 - 60),
    ("nbf - 10 s", 1300819080 - 10),
    ("in the window", 1300819080 + 120),
    ("at exp", 1300819380),
    ("exp + 10 s", 1300819380 + 10),
    ("exp + 60 s", 1300819380 + 60),
    ("an hour later", 1300819080 + 3600),
];
// ANCHOR_END: table_tokens

#[test]
fn step7_check_reads_and_validates_in_one_go() {
    let (_, payload) = TOKENS[0];
    let claims = check(payload, &api_rules(0), 1300819200).unwrap();
    assert_eq!(claims.jti.as_deref(), Some("6f1c0a"));
    assert_eq!(claims.extra["user_id"], json!("1"));
    let (_, refresh) = TOKENS[2];
    assert_eq!(
        check(refresh, &api_rules(0), 1300819200),
        Err(vec![Failure::WrongTokenType("refresh".into())])
    );
    match check(r#"{"exp":"1300819380"}"#, &api_rules(0), 1300819200) {
        Err(failures) => {
            assert_eq!(failures.len(), 1, "{failures:?}");
            assert!(
                matches!(&failures[0], Failure::Malformed(reason) if reason.contains("1300819380")),
                "expected one Malformed naming the bad value, got {failures:?}"
            );
        }
        Ok(claims) => panic!("a string exp was accepted: {claims:?}"),
    }
}

#[test]
fn step7_a_table_drawn_at_random_gives_each_verdict_on_its_line() {
    let (seed, mut rng) = generator();
    let start = rng.gen_range(1_000_000_000..4_000_000_000i64);
    let end = start + rng.gen_range(60..3600);
    let name = format!("token {}", random_name(&mut rng));
    let payload = json!({
        "iss": "https://auth.example.com", "aud": "api", "token_type": "access",
        "iat": start, "nbf": start, "exp": end, "jti": random_name(&mut rng),
    })
    .to_string();
    let labels: Vec<String> = (0..4).map(|_| random_name(&mut rng)).collect();
    let instants: Vec<(&str, i64)> = labels
        .iter()
        .map(|label| (label.as_str(), rng.gen_range(start - 120..end + 120)))
        .collect();
    let refused = json!({"token_type": "refresh"}).to_string();
    let table = verdict_table(
        &api_rules(0),
        &[
            (name.as_str(), payload.as_str()),
            ("refresh", refused.as_str()),
        ],
        &instants,
    );
    let mut expected = format!("{name}\n");
    for (label, now) in &instants {
        let mut failures = Vec::new();
        if *now < start {
            failures.push(Failure::IssuedInTheFuture { iat: start }.to_string());
            failures.push(Failure::NotYetValid { nbf: start }.to_string());
        }
        if *now >= end {
            failures.push(Failure::Expired { exp: end }.to_string());
        }
        let verdict = if failures.is_empty() {
            "ok".to_string()
        } else {
            format!("refused: {}", failures.join("; "))
        };
        expected.push_str(&format!("  {label:<14}  {verdict}\n"));
    }
    expected.push_str("\nrefresh\n");
    let refusal = [
        Failure::Missing("exp"),
        Failure::Missing("jti"),
        Failure::Missing("iss"),
        Failure::Missing("aud"),
        Failure::WrongTokenType("refresh".into()),
    ]
    .map(|failure| failure.to_string())
    .join("; ");
    for (label, _) in &instants {
        expected.push_str(&format!("  {label:<14}  refused: {refusal}\n"));
    }
    assert_eq!(table, expected, "seed {seed}");
}

#[test]
fn step7_verdicts_with_a_leeway_of_30_s() {
    let table = verdict_table(&api_rules(30), &TOKENS, &INSTANTS);
    insta::assert_snapshot!("step7_verdicts_leeway_30", table);
}

#[test]
fn step7_verdicts_without_leeway() {
    let table = verdict_table(&api_rules(0), &TOKENS[..1], &INSTANTS);
    insta::assert_snapshot!("step7_verdicts_leeway_0", table);
}

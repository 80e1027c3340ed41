//! The chapter 6 checks, written once. `tests/production.rs` in the exercise crate and in the
//! solution crate both include this file, with `sut` ("system under test") naming their own
//! library, so the exercise and its solution can never be checked differently.
//!
//! Tests are named `stepN_…` after the step of the chapter they check: `cargo run -- check 6`
//! reports the first step that fails and `cargo run -- hint 6` gives hints for it.
//!
//! Ground truth: the two example tokens of jwt.io's debugger, whose signatures prove which
//! secrets made them (checked here with HMAC-SHA256); systemd's words for booleans
//! (systemd.syntax(7)); RFC 7518 §3.2 (an HS256 key has at least 256 bits); RFC 1123 and RFC
//! 1035 for host names (labels of at most 63 characters, names of at most 253).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::sut::{
    Config, ConfigProblem, DeployProblem, DeploySettings, Entry, Environment, Event, HostProblem,
    Lifecycle, PUBLISHED_SECRETS, Phase, SIGNING_KEY, SIGNING_KEY_FILE, Secret, TEMPLATES,
    Upstream, UpstreamProblem, ValueError, Weakness, check_host_name, parse_bool, parse_duration,
    parse_upstream, render, secret_weaknesses, signing_key, simulate, validate,
};

/// A key made with `openssl rand -hex 32`, as the server's error message suggests.
const HEX_KEY: &str = "e1118ffc710ccb8aeb99f19876c6635f4a628e4652ad9c1391945410a3407776";

/// 32 bytes from a random generator: a key does not have to be text.
const RAW_KEY: [u8; 32] = [
    222, 180, 195, 100, 42, 200, 188, 241, 76, 61, 93, 183, 34, 189, 170, 80, 73, 249, 22, 245, 0,
    255, 92, 145, 4, 87, 166, 3, 242, 92, 252, 165,
];

/// Shaped like the key `django-admin startproject` writes into settings.py (this one was made
/// up for the test, with the same alphabet and length).
const DJANGO_KEY: &str = "django-insecure-!f5+qcaj&@4+=xu)br5m_088*gm!9(_q&$*f1vfx0q2(g+m(%s";

// ANCHOR: jwt_io_tokens
/// The example tokens of jwt.io's debugger: the one it showed for years, and today's.
const JWT_IO_TOKENS: [&str; 2] = [
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\
     .eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ\
     .SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\
     .eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiYWRtaW4iOnRydWUsImlhdCI6MTUxNjIzOTAyMn0\
     .KMUFsIDTnFmyG3nMiGM6H9FNFUROf3wh7SmqJp-QV30",
];
// ANCHOR_END: jwt_io_tokens

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// A file system with one readable file, for `JWT_SIGNING_KEY_FILE`.
fn files(path: &str) -> Result<String, String> {
    match path {
        "/run/credentials/jwt-workbook@8001.service/signing-key" => Ok(format!("{HEX_KEY}\n")),
        "/etc/jwt-workbook/signing-key" => Err("Permission denied (os error 13)".into()),
        _ => Err("No such file or directory (os error 2)".into()),
    }
}

fn problems(result: Result<Config, Vec<ConfigProblem>>) -> Vec<ConfigProblem> {
    match result {
        Ok(config) => panic!("expected problems, got {config:?}"),
        Err(problems) => problems,
    }
}

fn report<T: std::fmt::Debug, E: std::fmt::Debug + std::fmt::Display>(
    cases: &[&str],
    check: impl Fn(&str) -> Result<T, E>,
) -> String {
    let mut report = String::new();
    for case in cases {
        let verdict = match check(case) {
            Ok(value) => format!("accepted as {value:?}"),
            Err(problem) => format!("{problem:?}\n    {problem}"),
        };
        report.push_str(&format!("{case:?}: {verdict}\n"));
    }
    report
}

// ANCHOR: example_settings
/// The settings of the chapter's example: two instances on one machine behind nginx.
fn example_settings() -> DeploySettings {
    DeploySettings {
        domain: "api.example.com".into(),
        upstreams: vec!["127.0.0.1:8001".into(), "127.0.0.1:8002".into()],
        book_dir: "/srv/jwt-workbook/book".into(),
        user: "jwt-workbook".into(),
        max_body_kib: 64,
    }
}
// ANCHOR_END: example_settings

// --- Step 0: a warm-up ------------------------------------------------------------------------

#[test]
fn step0_a_duration_is_written_in_its_largest_exact_unit() {
    use crate::sut::format_duration;
    for (seconds, text) in [
        (300, "5m"),
        (86_400, "1d"),
        (90, "90s"),
        (3_600, "1h"),
        (7_200, "2h"),
        (0, "0s"),
        (172_801, "172801s"),
        (2_592_000, "30d"),
    ] {
        assert_eq!(format_duration(seconds), text, "{seconds} s");
    }
    for minutes in 1..200u64 {
        let text = format_duration(minutes * 60);
        let expected = if minutes.is_multiple_of(1440) {
            format!("{}d", minutes / 1440)
        } else if minutes.is_multiple_of(60) {
            format!("{}h", minutes / 60)
        } else {
            format!("{minutes}m")
        };
        assert_eq!(text, expected, "{minutes} minutes");
    }
}

// --- Step 1: durations and switches ---------------------------------------------------------

#[test]
fn step1_durations_read_like_the_server_flags() {
    let cases = [
        ("300", 300, "a number alone is seconds"),
        ("300s", 300, ""),
        ("5m", 300, ""),
        ("12h", 43_200, ""),
        ("1d", 86_400, ""),
        (
            "0",
            0,
            "zero is a duration here; whether it is allowed is step 4's business",
        ),
        ("0007s", 7, "leading zeros are still digits"),
        (
            " 5m\n",
            300,
            "spaces around the value, and the line break a file ends with, are not part of it",
        ),
        (
            "18446744073709551615",
            u64::MAX,
            "the largest u64 fits; only one more is too large",
        ),
    ];
    for (text, seconds, why) in cases {
        assert_eq!(parse_duration(text), Ok(seconds), "parsing {text:?}: {why}");
    }
}

#[test]
fn step1_durations_refuse_with_the_first_problem() {
    let cases = [
        "",
        "  ",
        "m5",
        "-5m",
        "five minutes",
        "5 min",
        "5min",
        "5M",
        "1.5h",
        "18446744073709551616",
        "213503982334602d",
    ];
    insta::assert_snapshot!("step1_duration_refusals", report(&cases, parse_duration));
}

#[test]
fn step1_switches_read_like_systemd() {
    for text in ["1", "yes", "true", "on", "TRUE", "Yes", " on\n"] {
        assert_eq!(
            parse_bool(text),
            Ok(true),
            "parsing {text:?}: systemd's four words for true, in any case, spaces around ignored"
        );
    }
    for text in ["0", "no", "false", "off", "False", "OFF"] {
        assert_eq!(
            parse_bool(text),
            Ok(false),
            "parsing {text:?}: systemd's four words for false, in any case"
        );
    }
    assert_eq!(
        parse_bool(""),
        Err(ValueError::Empty),
        "set to nothing: a mistake, not false"
    );
    for text in ["ture", "2", "y", "enabled", "-1"] {
        assert_eq!(
            parse_bool(text),
            Err(ValueError::NotABoolean),
            "{text:?} is none of the eight words: refused, never guessed"
        );
    }
}

// --- Step 2: a secret's weaknesses ----------------------------------------------------------

#[test]
fn step2_a_random_key_has_no_weakness() {
    assert_eq!(
        secret_weaknesses(HEX_KEY.as_bytes()),
        [],
        "a key from `openssl rand -hex 32`: 64 bytes of 16 different hex digits"
    );
    assert_eq!(
        secret_weaknesses(&RAW_KEY),
        [],
        "32 random bytes, not text: a key need not be printable"
    );
}

#[test]
fn step2_a_published_secret_is_refused_however_long() {
    assert_eq!(
        secret_weaknesses(b"a-string-secret-at-least-256-bits-long"),
        [Weakness::Published]
    );
    assert_eq!(
        secret_weaknesses(b"your-256-bit-secret"),
        [Weakness::Published, Weakness::TooShort { bytes: 19 }],
        "published and too short: every weakness is reported, not only the first"
    );
    // Ground truth: each published secret really does sign one of jwt.io's example tokens.
    for (token, secret) in JWT_IO_TOKENS.iter().zip(PUBLISHED_SECRETS) {
        let (message, signature) = token.rsplit_once('.').unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(message.as_bytes());
        assert_eq!(
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()),
            signature,
            "{secret:?} signs {token}"
        );
    }
}

#[test]
fn step2_every_weakness_is_reported() {
    let repeated = "a".repeat(40);
    let cases = [
        "",
        "secret",
        "changeme",
        repeated.as_str(),
        DJANGO_KEY,
        "django-insecure-x",
        // A pattern passes: these checks catch the usual mistakes, they cannot prove a key is
        // random. Only where the key came from can.
        "0123456789abcdef0123456789abcdef",
    ];
    let mut report = String::new();
    for case in cases {
        report.push_str(&format!("{case:?} ({} bytes):\n", case.len()));
        let weaknesses = secret_weaknesses(case.as_bytes());
        if weaknesses.is_empty() {
            report.push_str("    no weakness found\n");
        }
        for weakness in weaknesses {
            report.push_str(&format!("    {weakness:?}: {weakness}\n"));
        }
    }
    insta::assert_snapshot!("step2_weaknesses", report);
}

// --- Step 3: the signing key -----------------------------------------------------------------

/// `signing_key` on these variables, with `file` as the only readable file's contents.
fn key_from(
    vars: &[(&str, &str)],
    file: Result<&str, &str>,
    strict: bool,
) -> (Option<Secret>, Vec<ConfigProblem>) {
    let env: BTreeMap<String, String> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    let mut problems = Vec::new();
    let read = |_: &str| file.map(str::to_string).map_err(str::to_string);
    let key = signing_key(&env, read, strict, &mut problems);
    (key, problems)
}

#[test]
fn step3_the_key_comes_from_the_variable_or_from_a_file() {
    assert_eq!(
        key_from(&[(SIGNING_KEY, HEX_KEY)], Err("unused"), true),
        (Some(Secret::new(HEX_KEY.as_bytes())), vec![])
    );
    assert_eq!(
        key_from(
            &[(SIGNING_KEY_FILE, "/etc/jwt-workbook/signing-key")],
            Ok(&format!("{HEX_KEY}\n")),
            true
        ),
        (Some(Secret::new(HEX_KEY.as_bytes())), vec![]),
        "the file's final line break is not part of the key"
    );
    assert_eq!(
        key_from(
            &[(SIGNING_KEY_FILE, "/nowhere")],
            Err("No such file or directory"),
            true
        ),
        (
            None,
            vec![ConfigProblem::KeyFile {
                path: "/nowhere".into(),
                reason: "No such file or directory".into()
            }]
        )
    );
}

#[test]
fn step3_two_sources_or_an_empty_one_is_refused() {
    assert_eq!(
        key_from(
            &[(SIGNING_KEY, HEX_KEY), (SIGNING_KEY_FILE, "/k")],
            Ok(HEX_KEY),
            true
        ),
        (None, vec![ConfigProblem::KeyTwice]),
        "both variables set: which was meant cannot be known, so neither is used, and that is \
         the only problem (a missing key would be a second, wrong, one)"
    );
    for variable in [SIGNING_KEY, SIGNING_KEY_FILE] {
        assert_eq!(
            key_from(&[(variable, "")], Ok(HEX_KEY), false),
            (
                None,
                vec![ConfigProblem::Invalid {
                    variable,
                    value: String::new(),
                    error: ValueError::Empty
                }]
            ),
            "{variable} set but empty"
        );
    }
}

#[test]
fn step3_strictness_decides_about_a_missing_or_weak_key() {
    assert_eq!(
        key_from(&[], Err("unused"), true),
        (None, vec![ConfigProblem::MissingKey])
    );
    assert_eq!(key_from(&[], Err("unused"), false), (None, vec![]));
    for weak in [
        "secret",
        "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz",
    ] {
        let expected: Vec<ConfigProblem> = secret_weaknesses(weak.as_bytes())
            .into_iter()
            .map(ConfigProblem::WeakKey)
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(
            key_from(&[(SIGNING_KEY, weak)], Err("unused"), true).1,
            expected,
            "{weak:?}, strictly"
        );
        assert_eq!(
            key_from(&[(SIGNING_KEY, weak)], Err("unused"), false),
            (Some(Secret::new(weak.as_bytes())), vec![]),
            "{weak:?}, in development"
        );
    }
    // Keys drawn at random, as `openssl rand -hex 32` makes them, pass.
    for _ in 0..8 {
        let key: String = (0..32)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        assert_eq!(
            key_from(&[(SIGNING_KEY, &key)], Err("unused"), true),
            (Some(Secret::new(key.as_bytes())), vec![])
        );
    }
}

// --- Step 4: configuration from the environment ---------------------------------------------

#[test]
fn step4_in_production_only_the_key_is_needed() {
    let config = Config::from_env(&env(&[("JWT_SIGNING_KEY", HEX_KEY)]), files).unwrap();
    insta::assert_snapshot!("step4_defaults", format!("{config:#?}"));
    assert_eq!(
        config.signing_key.as_ref().map(|key| key.expose()),
        Some(HEX_KEY.as_bytes())
    );
}

#[test]
fn step4_reads_every_variable() {
    let config = Config::from_env(
        &env(&[
            ("JWT_WORKBOOK_ENV", "production"),
            ("JWT_WORKBOOK_ADDR", "[::1]:8001"),
            ("JWT_ACCESS_LIFETIME", "10m"),
            ("JWT_REFRESH_LIFETIME", "7d"),
            ("JWT_REVOCATION_POLL", "5s"),
            ("JWT_WORKBOOK_LOG_JSON", "yes"),
            ("JWT_SIGNING_KEY", HEX_KEY),
            // Not ours: ignored.
            ("HOME", "/var/lib/jwt-workbook"),
        ]),
        files,
    )
    .unwrap();
    assert_eq!(config.environment, Environment::Production);
    assert_eq!(config.addr, "[::1]:8001".parse().unwrap());
    assert_eq!(config.access_lifetime, 600);
    assert_eq!(config.refresh_lifetime, 604_800);
    assert_eq!(config.revocation_poll, 5);
    assert!(config.log_json);
}

#[test]
fn step4_the_key_can_come_from_a_file() {
    let config = Config::from_env(
        &env(&[(
            "JWT_SIGNING_KEY_FILE",
            "/run/credentials/jwt-workbook@8001.service/signing-key",
        )]),
        files,
    )
    .unwrap();
    // The file ends with a line break, which is not part of the key.
    assert_eq!(
        config.signing_key.as_ref().map(|key| key.expose()),
        Some(HEX_KEY.as_bytes())
    );
    assert_eq!(
        problems(Config::from_env(
            &env(&[("JWT_SIGNING_KEY_FILE", "/etc/jwt-workbook/signing-key")]),
            files
        )),
        [ConfigProblem::KeyFile {
            path: "/etc/jwt-workbook/signing-key".into(),
            reason: "Permission denied (os error 13)".into()
        }]
    );
}

#[test]
fn step4_development_needs_no_key_and_accepts_a_weak_one() {
    let lenient = |problems: Vec<ConfigProblem>| -> Config {
        panic!(
            "development was refused with {problems:?}: in development the server makes and \
             keeps its own key, so a missing or weak one is no problem; the key is judged \
             strictly only outside development"
        )
    };
    let config = Config::from_env(&env(&[("JWT_WORKBOOK_ENV", "development")]), files)
        .unwrap_or_else(lenient);
    assert_eq!(config.environment, Environment::Development);
    assert_eq!(config.signing_key, None, "no key was given");
    let config = Config::from_env(
        &env(&[
            ("JWT_WORKBOOK_ENV", "development"),
            ("JWT_SIGNING_KEY", "secret"),
        ]),
        files,
    )
    .unwrap_or_else(lenient);
    assert_eq!(
        config.signing_key.as_ref().map(|key| key.expose()),
        Some(&b"secret"[..])
    );
}

#[test]
fn step4_production_refuses_a_missing_or_weak_key() {
    assert_eq!(
        problems(Config::from_env(&env(&[]), files)),
        [ConfigProblem::MissingKey],
        "nothing set: production is the default environment, and production needs a key"
    );
    assert_eq!(
        problems(Config::from_env(
            &env(&[("JWT_SIGNING_KEY", "short")]),
            files
        )),
        [
            ConfigProblem::WeakKey(Weakness::TooShort { bytes: 5 }),
            ConfigProblem::WeakKey(Weakness::Repetitive { distinct: 5 }),
        ]
    );
    assert_eq!(
        problems(Config::from_env(
            &env(&[
                ("JWT_SIGNING_KEY", HEX_KEY),
                ("JWT_SIGNING_KEY_FILE", "/etc/jwt-workbook/signing-key"),
            ]),
            files
        )),
        [ConfigProblem::KeyTwice]
    );
    let unreadable = problems(Config::from_env(
        &env(&[("JWT_WORKBOOK_ENV", "prod"), ("JWT_SIGNING_KEY", "short")]),
        files,
    ));
    assert!(
        unreadable.contains(&ConfigProblem::WeakKey(Weakness::TooShort { bytes: 5 })),
        "JWT_WORKBOOK_ENV=prod cannot be read, so the key is judged as in production (in \
         doubt, be strict); the problems were {unreadable:?}"
    );
    assert_eq!(
        problems(Config::from_env(&env(&[("JWT_SIGNING_KEY", "")]), files)),
        [ConfigProblem::Invalid {
            variable: "JWT_SIGNING_KEY",
            value: String::new(),
            error: ValueError::Empty
        }]
    );
}

#[test]
fn step4_checks_the_lifetimes_against_each_other() {
    assert_eq!(
        Config::from_env(
            &env(&[
                ("JWT_ACCESS_LIFETIME", "1d"),
                ("JWT_REFRESH_LIFETIME", "1d"),
                ("JWT_SIGNING_KEY", HEX_KEY),
            ]),
            files
        )
        .err()
        .unwrap_or_default(),
        [ConfigProblem::AccessOutlivesRefresh {
            access: 86_400,
            refresh: 86_400
        }],
        "an access token that lives as long as its refresh token makes refreshing pointless: it \
         must be strictly shorter"
    );
    assert_eq!(
        Config::from_env(
            &env(&[("JWT_REVOCATION_POLL", "0s"), ("JWT_SIGNING_KEY", HEX_KEY)]),
            files
        )
        .err()
        .unwrap_or_default(),
        [ConfigProblem::NotPositive {
            variable: "JWT_REVOCATION_POLL"
        }],
        "a poll every 0 s is no interval: each of the three durations must be positive"
    );
}

#[test]
fn step4_reports_every_problem_at_once() {
    let result = Config::from_env(
        &env(&[
            ("JWT_WORKBOOK_ENV", "prod"),
            ("JWT_WORKBOOK_ADDR", "localhost:8000"),
            ("JWT_ACCESS_LIFETIME", "5 min"),
            ("JWT_REFRESH_LIFETIME", "0"),
            ("JWT_REVOCATION_POLL", ""),
            ("JWT_WORKBOOK_LOG_JSON", "ture"),
            ("JWT_SIGNING_KEY", DJANGO_KEY),
        ]),
        files,
    );
    let mut report = String::new();
    for problem in problems(result) {
        report.push_str(&format!("{problem}\n"));
    }
    insta::assert_snapshot!("step4_every_problem", report);
}

#[test]
fn step4_the_key_never_shows_in_debug_output_or_messages() {
    let config = Config::from_env(&env(&[("JWT_SIGNING_KEY", HEX_KEY)]), files).unwrap();
    assert!(!format!("{config:?}").contains(HEX_KEY));
    assert!(!format!("{config:#?}").contains(HEX_KEY));
    for key in [DJANGO_KEY, "a-string-secret-at-least-256-bits-long"] {
        for problem in problems(Config::from_env(&env(&[("JWT_SIGNING_KEY", key)]), files)) {
            assert!(!format!("{problem} {problem:?}").contains(key), "{problem}");
        }
    }
}

// --- Step 5: host names and upstreams -------------------------------------------------------

#[test]
fn step5_accepts_host_names() {
    for name in [
        "api.example.com",
        "localhost",
        "127.0.0.1",
        "app-2",
        "xn--bcher-kva.example",
        &format!("{}.example.com", "a".repeat(63)),
    ] {
        assert_eq!(check_host_name(name), Ok(()), "{name:?}");
    }
}

#[test]
fn step5_refuses_what_is_not_a_host_name() {
    let too_long = ["a".repeat(63).as_str(); 4].join(".");
    let long_label = format!("{}.example.com", "a".repeat(64));
    let cases = [
        "",
        too_long.as_str(),
        "API.example.com",
        "api example.com",
        "api.example.com; return 200 \"hello\"",
        "api.example.com\n",
        "*.example.com",
        "api_v2.example.com",
        "api..example.com",
        "-api.example.com",
        "example.com.",
        long_label.as_str(),
    ];
    insta::assert_snapshot!("step5_host_names", report(&cases, check_host_name));
}

#[test]
fn step5_reads_upstreams() {
    let upstream = |host: &str, port| Upstream {
        host: host.into(),
        port,
    };
    assert_eq!(
        parse_upstream("127.0.0.1:8001"),
        Ok(upstream("127.0.0.1", 8001))
    );
    assert_eq!(parse_upstream("[::1]:8002"), Ok(upstream("[::1]", 8002)));
    assert_eq!(parse_upstream("app-2:8000"), Ok(upstream("app-2", 8000)));
    assert_eq!(
        parse_upstream("localhost:65535"),
        Ok(upstream("localhost", 65535))
    );
    assert_eq!(
        parse_upstream("127.0.0.1:08001"),
        Ok(upstream("127.0.0.1", 8001))
    );
}

#[test]
fn step5_refuses_what_is_not_host_port() {
    let cases = [
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:+80",
        "127.0.0.1:http",
        "::1:8001",
        "[::1:8001",
        "[example.com]:8001",
        "http://127.0.0.1:8001",
        "app 2:8000",
        "Localhost:8000",
    ];
    insta::assert_snapshot!("step5_upstreams", report(&cases, parse_upstream));
    assert_eq!(
        parse_upstream("[::1:8001"),
        Err(UpstreamProblem::Ipv6),
        "an opening bracket needs its closing one"
    );
    assert_eq!(
        parse_upstream("Localhost:8000"),
        Err(UpstreamProblem::Host(HostProblem::Character {
            character: 'L'
        }))
    );
}

// --- Step 6: validate the deployment --------------------------------------------------------

#[test]
fn step6_accepts_the_example_settings() {
    let deployment = validate(&example_settings()).unwrap();
    assert_eq!(deployment.domain(), "api.example.com");
    assert_eq!(
        deployment
            .upstreams()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["127.0.0.1:8001", "127.0.0.1:8002"]
    );
    assert_eq!(deployment.book_dir(), "/srv/jwt-workbook/book");
    assert_eq!(deployment.user(), "jwt-workbook");
    assert_eq!(deployment.max_body_kib(), 64);
}

#[test]
fn step6_reports_every_problem_at_once() {
    let settings = DeploySettings {
        domain: "api.example.com; return 200 \"owned\"".into(),
        upstreams: vec![
            "127.0.0.1:8001".into(),
            "127.0.0.1".into(),
            "127.0.0.1:08001".into(),
            "[::1]:8002".into(),
            "http://127.0.0.1:8003".into(),
        ],
        book_dir: "/srv/jwt workbook/book".into(),
        user: "root".into(),
        max_body_kib: 0,
    };
    let mut report = String::new();
    for problem in validate(&settings).unwrap_err() {
        report.push_str(&format!("{problem}\n"));
    }
    insta::assert_snapshot!("step6_every_problem", report);
}

#[test]
fn step6_one_problem_per_setting() {
    let with = |change: &dyn Fn(&mut DeploySettings)| {
        let mut settings = example_settings();
        change(&mut settings);
        validate(&settings).err().unwrap_or_default()
    };
    assert_eq!(
        with(&|s| s.domain = "localhost".into()),
        [DeployProblem::DomainWithoutDot {
            domain: "localhost".into()
        }],
        "the example settings with `s.domain = \"localhost\".into()`: exactly one problem, {}",
        DeployProblem::DomainWithoutDot {
            domain: "localhost".into()
        }
    );
    assert_eq!(
        with(&|s| s.domain = "API.example.com".into()),
        [DeployProblem::Domain {
            domain: "API.example.com".into(),
            problem: HostProblem::Character { character: 'A' }
        }],
        "the example settings with `s.domain = \"API.example.com\".into()`: exactly one problem, {}",
        DeployProblem::Domain {
            domain: "API.example.com".into(),
            problem: HostProblem::Character { character: 'A' }
        }
    );
    assert_eq!(
        with(&|s| s.upstreams.clear()),
        [DeployProblem::NoUpstreams],
        "the example settings with `s.upstreams.clear()`: exactly one problem, {}",
        DeployProblem::NoUpstreams
    );
    assert_eq!(
        with(&|s| s.book_dir = "book".into()),
        [DeployProblem::BookDirNotAbsolute {
            path: "book".into()
        }],
        "the example settings with `s.book_dir = \"book\".into()`: exactly one problem, {}",
        DeployProblem::BookDirNotAbsolute {
            path: "book".into()
        }
    );
    assert_eq!(
        with(&|s| s.book_dir = "/srv/book;".into()),
        [DeployProblem::BookDirCharacter {
            path: "/srv/book;".into(),
            character: ';'
        }],
        "the example settings with `s.book_dir = \"/srv/book;\".into()`: exactly one problem, {}",
        DeployProblem::BookDirCharacter {
            path: "/srv/book;".into(),
            character: ';'
        }
    );
    assert_eq!(
        with(&|s| s.book_dir = "/srv/jwt-workbook/../../etc".into()),
        [DeployProblem::BookDirParent {
            path: "/srv/jwt-workbook/../../etc".into()
        }],
        "the example settings with `s.book_dir = \"/srv/jwt-workbook/../../etc\".into()`: exactly one problem, {}",
        DeployProblem::BookDirParent {
            path: "/srv/jwt-workbook/../../etc".into()
        }
    );
    assert_eq!(
        with(&|s| s.user = "JWT".into()),
        [DeployProblem::User { user: "JWT".into() }],
        "the example settings with `s.user = \"JWT\".into()`: exactly one problem, {}",
        DeployProblem::User { user: "JWT".into() }
    );
    assert_eq!(
        with(&|s| s.user = "a".repeat(33)),
        [DeployProblem::User {
            user: "a".repeat(33)
        }],
        "the example settings with `s.user = \"a\".repeat(33)`: exactly one problem, {}",
        DeployProblem::User {
            user: "a".repeat(33)
        }
    );
    assert_eq!(
        with(&|s| s.max_body_kib = 1025),
        [DeployProblem::BodyLimit { kib: 1025 }],
        "the example settings with `s.max_body_kib = 1025`: exactly one problem, {}",
        DeployProblem::BodyLimit { kib: 1025 }
    );
    let mut settings = example_settings();
    settings.max_body_kib = 1024;
    settings.user = "_jwt-workbook2".into();
    settings.book_dir = "/srv/jwt-workbook/book/".into();
    assert_eq!(
        validate(&settings).err(),
        None,
        "the limits are allowed: 1024 KiB, a user starting with `_`, a book directory ending with /"
    );
}

// --- Step 7: render the files ---------------------------------------------------------------

fn example_files() -> BTreeMap<String, String> {
    render(&validate(&example_settings()).unwrap()).unwrap()
}

#[test]
fn step7_renders_one_file_per_template() {
    let files = example_files();
    let mut names: Vec<&str> = TEMPLATES.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        names,
        "one file per template of TEMPLATES, under the template's own name"
    );
    for (name, text) in &files {
        assert!(!text.contains("{{"), "{name} still has a placeholder");
    }
}

#[test]
fn step7_renders_the_containerfile_and_procfile() {
    let files = example_files();
    insta::assert_snapshot!("step7_containerfile", files["Containerfile"]);
    insta::assert_snapshot!("step7_procfile", files["Procfile"]);
}

#[test]
fn step7_every_upstream_becomes_a_server_line() {
    let mut settings = example_settings();
    settings.upstreams = vec![
        "10.0.0.5:8000".into(),
        "[::1]:8003".into(),
        "app-3:8000".into(),
    ];
    let nginx = &render(&validate(&settings).unwrap()).unwrap()["nginx.conf"];
    let servers: Vec<&str> = nginx
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("server ") && line.contains("max_fails"))
        .collect();
    assert_eq!(
        servers,
        [
            "server 10.0.0.5:8000 max_fails=3 fail_timeout=10s;",
            "server [::1]:8003 max_fails=3 fail_timeout=10s;",
            "server app-3:8000 max_fails=3 fail_timeout=10s;",
        ],
        "the template writes one server line per upstream, from its host and port, in order"
    );
}

// --- Step 8: serving, up to the SIGTERM ------------------------------------------------------

#[test]
fn step8_an_idle_server_stops_at_once() {
    insta::assert_snapshot!(
        "step8_idle",
        simulate(30_000, &[(0, Event::Tick), (1_000, Event::Terminate)])
    );
}

#[test]
fn step8_serving_until_the_sigterm() {
    let script = [
        (0, Event::Request(1)),
        (20, Event::Request(2)),
        (35, Event::Finished(1)),
        (36, Event::Tick),
        (40, Event::Request(3)),
        (100, Event::Terminate),
    ];
    insta::assert_snapshot!("step8_serving", simulate(30_000, &script));
}

#[test]
fn step8_serving_ignores_ticks_and_strangers() {
    let mut server = Lifecycle::new(30_000);
    assert_eq!(server.on(0, Event::Tick), [], "a tick while serving");
    assert_eq!(
        server.on(5, Event::Finished(9)),
        [],
        "request 9 finishing before it was ever taken on: not this server's request"
    );
    assert_eq!(server.on(10, Event::Request(9)), [Entry::Accepted(9)]);
    assert_eq!(server.on(20, Event::Finished(9)), [Entry::Completed(9)]);
    assert_eq!(
        server.on(30, Event::Finished(9)),
        [],
        "request 9 finishing a second time: it is no longer in flight"
    );
    assert_eq!(server.phase(), Phase::Serving, "no SIGTERM, still serving");
}

#[test]
fn step8_the_sigterm_starts_a_drain_of_the_timeout_from_that_moment() {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    for _ in 0..16 {
        let timeout = rng.gen_range(1..100_000);
        let mut server = Lifecycle::new(timeout);
        let mut at = 0;
        let mut in_flight = std::collections::BTreeSet::new();
        for _ in 0..rng.gen_range(1..12) {
            at += rng.gen_range(0..500);
            let id = rng.gen_range(1..1000);
            if in_flight.contains(&id) {
                assert_eq!(server.on(at, Event::Finished(id)), [Entry::Completed(id)]);
                in_flight.remove(&id);
            } else {
                assert_eq!(server.on(at, Event::Request(id)), [Entry::Accepted(id)]);
                in_flight.insert(id);
            }
        }
        at += rng.gen_range(0..500);
        let log = server.on(at, Event::Terminate);
        assert_eq!(
            log.first(),
            Some(&Entry::StoppedAccepting {
                in_flight: in_flight.len()
            }),
            "SIGTERM at {at} ms with requests {in_flight:?} in flight"
        );
        if in_flight.is_empty() {
            assert_eq!(
                server.phase(),
                Phase::Exited,
                "SIGTERM with nothing in flight: nothing to drain, so the server exits at once"
            );
        } else {
            assert_eq!(
                log.len(),
                1,
                "SIGTERM with {in_flight:?} in flight: those requests may still finish"
            );
            assert_eq!(
                server.phase(),
                Phase::Draining {
                    deadline: at + timeout
                },
                "SIGTERM at {at} ms with a drain timeout of {timeout} ms: the drain lasts the \
                 timeout from the SIGTERM, not from the start of the server or of a request"
            );
        }
    }
}

// --- Step 9: draining, until the exit --------------------------------------------------------

// ANCHOR: drain_script
#[test]
fn step9_in_flight_requests_finish_and_new_ones_are_refused() {
    let script = [
        (0, Event::Request(1)),
        (20, Event::Request(2)),
        (35, Event::Finished(1)),
        (40, Event::Request(3)),
        (100, Event::Terminate),
        (120, Event::Request(4)),
        (250, Event::Finished(2)),
        (300, Event::Terminate),
        (900, Event::Finished(3)),
        (950, Event::Request(5)),
    ];
    insta::assert_snapshot!("step9_drain", simulate(30_000, &script));
}
// ANCHOR_END: drain_script

#[test]
fn step9_the_drain_timeout_cuts_off_a_stuck_request() {
    let script = [
        (0, Event::Request(1)),
        (10, Event::Request(2)),
        (50, Event::Finished(1)),
        (1_000, Event::Terminate),
        (20_000, Event::Tick),
        (31_000, Event::Tick),
        (32_000, Event::Finished(2)),
    ];
    insta::assert_snapshot!("step9_timeout", simulate(30_000, &script));
}

#[test]
fn step9_the_deadline_is_checked_before_anything_else() {
    let mut server = Lifecycle::new(100);
    assert_eq!(server.on(0, Event::Request(1)), [Entry::Accepted(1)]);
    assert_eq!(
        server.on(0, Event::Terminate),
        [Entry::StoppedAccepting { in_flight: 1 }]
    );
    assert_eq!(server.phase(), Phase::Draining { deadline: 100 });
    assert_eq!(
        server.on(99, Event::Tick),
        [],
        "a tick 1 ms before the deadline"
    );
    assert_eq!(
        server.on(100, Event::Finished(1)),
        [
            Entry::GaveUp { abandoned: vec![1] },
            Entry::DatabaseClosed,
            Entry::Exited
        ],
        "request 1 finishing at the deadline itself is too late: the deadline is looked at \
         before the event, and reaching it is enough"
    );
    assert_eq!(server.phase(), Phase::Exited);
}

#[test]
fn step9_nothing_happens_after_exit() {
    let mut server = Lifecycle::new(30_000);
    server.on(0, Event::Request(1));
    server.on(1, Event::Terminate);
    assert_eq!(
        server.on(2, Event::Finished(1)),
        [
            Entry::Completed(1),
            Entry::Drained,
            Entry::DatabaseClosed,
            Entry::Exited
        ],
        "the last request in flight finished: the drain is over"
    );
    assert_eq!(server.phase(), Phase::Exited);
    for event in [
        Event::Request(1),
        Event::Finished(1),
        Event::Terminate,
        Event::Tick,
    ] {
        assert_eq!(server.on(3, event), [], "{event:?}");
    }
}

#[test]
fn step9_drains_requests_drawn_at_random() {
    use rand::Rng;
    use rand::seq::SliceRandom;
    let mut rng = rand::thread_rng();
    for _ in 0..16 {
        let timeout = rng.gen_range(1_000..100_000);
        let mut server = Lifecycle::new(timeout);
        let mut ids: Vec<u32> = (1..1000).collect();
        ids.shuffle(&mut rng);
        ids.truncate(rng.gen_range(1..8));
        for &id in &ids {
            server.on(0, Event::Request(id));
        }
        let stop = rng.gen_range(1..1_000);
        server.on(stop, Event::Terminate);
        let deadline = stop + timeout;
        // Some requests finish in time, in any order; the others are stuck.
        let finishing = rng.gen_range(0..=ids.len());
        let mut at = stop;
        for (n, &id) in ids[..finishing].iter().enumerate() {
            at += rng.gen_range(1..(timeout / 16).max(2));
            let stranger = 1000 + rng.gen_range(0..1000);
            assert_eq!(
                server.on(at, Event::Request(stranger)),
                [Entry::Refused(stranger)],
                "a new request while draining, at {at} ms"
            );
            let mut expected = vec![Entry::Completed(id)];
            if n + 1 == ids.len() {
                expected.extend([Entry::Drained, Entry::DatabaseClosed, Entry::Exited]);
            }
            assert_eq!(
                server.on(at, Event::Finished(id)),
                expected,
                "request {id} finishing at {at} ms, before the deadline at {deadline} ms, with \
                 {:?} in flight before it (a request refused while draining is not in flight)",
                &ids[n..]
            );
        }
        if finishing < ids.len() {
            let mut stuck = ids[finishing..].to_vec();
            stuck.sort();
            assert_eq!(
                server.on(deadline + rng.gen_range(0..10), Event::Tick),
                [
                    Entry::GaveUp {
                        abandoned: stuck.clone()
                    },
                    Entry::DatabaseClosed,
                    Entry::Exited
                ],
                "the deadline passed with {stuck:?} still in flight, given up on in increasing order \
                 (a request refused while draining was never in flight)"
            );
        }
        assert_eq!(server.phase(), Phase::Exited);
    }
}

// --- Step 10: the proxy and the stop rules, written by hand ---------------------------------

/// A rendered file with every run of whitespace made one space, line by line, so that checks
/// look at directives rather than at alignment.
fn directives(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// The directives inside `location <what> { … }` of a rendered nginx site, or `None`.
fn location(site: &[String], what: &str) -> Option<Vec<String>> {
    let start = site
        .iter()
        .position(|line| *line == format!("location {what} {{"))?;
    let inside = site[start + 1..]
        .iter()
        .take_while(|line| *line != "}")
        .cloned()
        .collect();
    Some(inside)
}

/// A scratch folder for one external check, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("ch06-{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether a program can be started here (`nginx -v`, `openssl version`...).
fn available(program: &str, version_arg: &str) -> bool {
    Command::new(program)
        .arg(version_arg)
        .output()
        .is_ok_and(|output| output.status.success())
}

#[test]
fn step10_the_instances_routes_go_to_the_upstream_and_nothing_else_does() {
    let site = directives(&example_files()["nginx.conf"]);
    for what in ["/api/", "= /hello/", "= /.well-known/jwks.json"] {
        let Some(inside) = location(&site, what) else {
            panic!(
                "no `location {what} {{ … }}` in nginx.conf: requests for it would look for a file \
                 of the book on disk instead of reaching an instance"
            );
        };
        assert!(
            inside.contains(&"proxy_pass http://jwt_workbook;".to_string()),
            "`location {what}` does not pass requests to the upstream `jwt_workbook`: {inside:?}"
        );
        assert!(
            inside.contains(
                &"add_header Strict-Transport-Security \"max-age=31536000\" always;".to_string()
            ),
            "`location {what}` does not add HSTS: only nginx knows the connection was HTTPS, so \
             only nginx can say so (\"TLS\" in the book): {inside:?}"
        );
    }
    let proxied: Vec<&String> = site
        .iter()
        .filter(|line| line.starts_with("proxy_pass "))
        .collect();
    assert_eq!(
        proxied.len(),
        3,
        "exactly the three locations of the instances are proxied; /healthz, /readyz and the \
         book are not: {proxied:?}"
    );
}

#[test]
fn step10_every_proxied_request_says_who_the_client_is() {
    let site = directives(&example_files()["nginx.conf"]);
    for (header, why) in [
        (
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "the instances throttle logins per client address, and would see only 127.0.0.1",
        ),
        (
            "proxy_set_header X-Forwarded-Proto $scheme;",
            "the instances cannot tell that the client used HTTPS",
        ),
        (
            "proxy_set_header X-Request-Id $request_id;",
            "nginx's logs and the instance's would name the same request differently",
        ),
    ] {
        let name = header.split(' ').nth(1).unwrap_or_default();
        assert!(
            site.contains(&header.to_string()),
            "nginx.conf does not set `{name}` as `{header}`: {why} (\"Proxy headers\" in the book)"
        );
    }
}

#[test]
fn step10_nginx_accepts_the_site() {
    let text = &example_files()["nginx.conf"];
    let opened = text.matches('{').count();
    let closed = text.matches('}').count();
    assert_eq!(opened, closed, "nginx.conf has unbalanced braces");
    for line in directives(text) {
        assert!(
            line.ends_with(';') || line.ends_with('{') || line == "}",
            "a directive of nginx.conf does not end with `;`: {line:?}"
        );
    }
    if !(available("nginx", "-v") && available("openssl", "version")) {
        eprintln!("nginx or openssl is not installed here: `nginx -t` is left to CI");
        return;
    }
    // nginx -t reads the certificates, so make a throwaway one and point the site at it.
    let scratch = Scratch::new("nginx");
    let dir = scratch.path();
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=example.com"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap();
    assert!(made.status.success(), "openssl: {made:?}");
    let live = format!("/etc/letsencrypt/live/{}", example_settings().domain);
    let site = text
        .replace(
            &format!("{live}/fullchain.pem"),
            &dir.join("cert.pem").display().to_string(),
        )
        .replace(
            &format!("{live}/privkey.pem"),
            &dir.join("key.pem").display().to_string(),
        );
    std::fs::write(dir.join("site.conf"), site).unwrap();
    let root = dir.display();
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "pid {root}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n\
             client_body_temp_path {root}/body;\nproxy_temp_path {root}/proxy;\n\
             fastcgi_temp_path {root}/fastcgi;\nuwsgi_temp_path {root}/uwsgi;\n\
             scgi_temp_path {root}/scgi;\naccess_log off;\ninclude {root}/site.conf;\n}}\n"
        ),
    )
    .unwrap();
    let checked = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg("stderr")
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "nginx -t refused the rendered site:\n{}",
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// A systemd time span as systemd.time(7) writes the simple ones (`40s`, `2min`, `90`), in seconds.
fn time_span(text: &str) -> Option<u64> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let number: u64 = digits.parse().ok()?;
    match &text[digits.len()..] {
        "" | "s" | "sec" => Some(number),
        "min" | "m" => Some(number * 60),
        _ => None,
    }
}

#[test]
fn step10_the_unit_stops_gracefully_and_comes_back_after_a_crash() {
    let unit = directives(&example_files()["jwt-workbook@.service"]);
    let value = |key: &str| {
        unit.iter()
            .find_map(|line| line.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
    };
    assert_eq!(
        value("KillSignal").as_deref(),
        Some("SIGTERM"),
        "the unit must stop an instance with the signal that starts its drain (\"A graceful \
         shutdown\" in the book)"
    );
    let timeout = value("TimeoutStopSec");
    let seconds = timeout.as_deref().and_then(time_span);
    assert!(
        seconds.is_some_and(|seconds| seconds > 30),
        "TimeoutStopSec is {timeout:?}: systemd kills an instance that is still draining when it \
         runs out, so it must leave the 30 s drain room to finish"
    );
    assert_eq!(
        value("Restart").as_deref(),
        Some("on-failure"),
        "a crashed instance comes back by itself, a stopped one stays stopped"
    );

    if !available("systemd-analyze", "--version") {
        eprintln!("systemd-analyze is not installed here: `systemd-analyze verify` is left to CI");
        return;
    }
    // One instance of the template, with the binary pointed at one that exists here.
    let scratch = Scratch::new("systemd");
    let file = scratch.path().join("jwt-workbook@8001.service");
    let here = std::env::current_exe().unwrap();
    std::fs::write(
        &file,
        example_files()["jwt-workbook@.service"]
            .replace("/usr/local/bin/jwt-workbook", &here.display().to_string()),
    )
    .unwrap();
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    // systemd-analyze reports a line it ignores on stderr and still exits 0: any line about
    // this file is a mistake in it.
    let stderr = String::from_utf8_lossy(&verified.stderr);
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("jwt-workbook@8001.service"))
        .collect();
    assert!(
        verified.status.success() && complaints.is_empty(),
        "systemd-analyze verify found mistakes in the unit:\n{stderr}"
    );
}

#[test]
fn step10_renders_nginx_conf() {
    insta::assert_snapshot!("step10_nginx_conf", example_files()["nginx.conf"]);
}

#[test]
fn step10_renders_the_systemd_unit() {
    insta::assert_snapshot!(
        "step10_systemd_unit",
        example_files()["jwt-workbook@.service"]
    );
}

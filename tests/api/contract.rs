//! The compatibility contract: every case captured from a running Django REST framework +
//! simplejwt (`tests/contract/contract.json`, a copy of the shared capture) replayed against our
//! router. Status, `WWW-Authenticate`, `Allow`, `Location` and body must match, except in the
//! listed deviations, where simplejwt answers 500 or something weaker and we answer a sane 4xx
//! in the same shape (the README lists them too).

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::Request;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use super::helpers::{NOW, TestApp, TestResponse, forge_with, payload, unsigned};

static CONTRACT: LazyLock<Value> = LazyLock::new(|| {
    let text = include_str!("../contract/contract.json");
    serde_json::from_str(text).expect("contract.json is JSON")
});

/// Where we knowingly answer differently: (case, status, body, why).
pub const DEVIATIONS: &[(&str, u16, &str, &str)] = &[
    (
        "refresh.unknown_user",
        401,
        r#"{"detail":"No active account found for the given token."}"#,
        "simplejwt crashes (500) on a refresh token of a deleted user",
    ),
    (
        "refresh.no_jti",
        401,
        r#"{"detail":"Token has no id","code":"token_not_valid"}"#,
        "simplejwt crashes (500) on a refresh token without jti",
    ),
    (
        "hello.nonnumeric_user_id",
        401,
        r#"{"detail":"User not found","code":"user_not_found"}"#,
        "simplejwt crashes (500) on a user_id that is not a number",
    ),
    (
        "hello.ok.access_of_blacklisted_refresh",
        401,
        r#"{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is blacklisted"}]}"#,
        "logout revokes the whole session: its access tokens stop working at once",
    ),
    (
        "verify.access_of_blacklisted_refresh",
        400,
        r#"{"non_field_errors":["Token is blacklisted"]}"#,
        "logout revokes the whole session: its access tokens stop working at once",
    ),
    (
        "hello.accept_html",
        200,
        r#"{"message":"Hello, World!"}"#,
        "we have no browsable HTML API: JSON is the only representation",
    ),
    (
        "misc.not_found",
        404,
        r#"{"detail":"Not found."}"#,
        "unknown paths get a DRF-shaped JSON 404, not Django's HTML page",
    ),
    (
        "misc.bad_host",
        401,
        r#"{"detail":"Authentication credentials were not provided."}"#,
        "Host checking belongs to the proxy in front (nginx's server_name), not the app",
    ),
];

fn case(id: &str) -> &'static Value {
    CONTRACT["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id} in the contract"))
}

/// Makes the token a placeholder stands for, in this app's world.
async fn mint(app: &TestApp, name: &str) -> String {
    let vitor = json!(app.vitor.id.to_string());
    let inactive = json!(app.inactive.id.to_string());
    let access = |mut claims: Value, edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        edit(claims.as_object_mut().unwrap());
        app.forge(&claims)
    };
    match name {
        "ACCESS" => app.login().await.1,
        "REFRESH" | "FRESH_REFRESH" => app.login().await.0,
        "ROTATED_AWAY_REFRESH" => {
            let (refresh, _) = app.login().await;
            assert_eq!(app.refresh(&refresh).await.status, 200);
            refresh
        }
        "BLACKLISTED_REFRESH" | "ACCESS_OF_BLACKLISTED_REFRESH" => {
            let (refresh, access) = app.login().await;
            assert_eq!(app.blacklist(&refresh).await.status, 200);
            if name == "BLACKLISTED_REFRESH" {
                refresh
            } else {
                access
            }
        }
        "MALFORMED" => "not.a.jwt".into(),
        "GARBAGE" => "abc".into(),
        "EXPIRED_REFRESH" => access(app.claims("refresh", vitor), &|c| {
            c["iat"] = json!(NOW - 86_500);
            c["exp"] = json!(NOW - 100);
        }),
        "EXPIRED_ACCESS" => access(app.claims("access", vitor), &|c| {
            c["iat"] = json!(NOW - 400);
            c["exp"] = json!(NOW - 100);
        }),
        "BADSIG_ACCESS" => forge_with(
            Algorithm::HS256,
            b"another-key-entirely-0123456789abcdef",
            &app.claims("access", vitor),
        ),
        "ALG_NONE_ACCESS" => unsigned(&app.claims("access", vitor)),
        "HS512_ACCESS" => forge_with(
            Algorithm::HS512,
            super::helpers::KEY.as_bytes(),
            &app.claims("access", vitor),
        ),
        "INACTIVE_REFRESH" => app.forge(&app.claims("refresh", inactive)),
        "INACTIVE_ACCESS" => app.forge(&app.claims("access", inactive)),
        "UNKNOWN_USER_REFRESH" => app.forge(&app.claims("refresh", json!("999"))),
        "UNKNOWN_USER_ACCESS" => app.forge(&app.claims("access", json!("999"))),
        "NO_JTI_REFRESH" => access(app.claims("refresh", vitor), &|c| {
            c.remove("jti");
        }),
        "EXTRA_CLAIM_REFRESH" => access(app.claims("refresh", vitor), &|c| {
            c.insert("role".into(), json!("admin"));
        }),
        "SLIDING_TOKEN" => access(app.claims("access", vitor), &|c| {
            c["token_type"] = json!("sliding");
        }),
        "NO_TYPE_ACCESS" => access(app.claims("access", vitor), &|c| {
            c.remove("token_type");
        }),
        "NO_EXP_ACCESS" => access(app.claims("access", vitor), &|c| {
            c.remove("exp");
        }),
        "NO_JTI_ACCESS" => access(app.claims("access", vitor), &|c| {
            c.remove("jti");
        }),
        "NO_USER_ID_ACCESS" => access(app.claims("access", vitor), &|c| {
            c.remove("user_id");
        }),
        "IAT_FUTURE_ACCESS" => access(app.claims("access", vitor), &|c| {
            c["iat"] = json!(NOW + 3600);
        }),
        "NBF_FUTURE_ACCESS" => access(app.claims("access", vitor), &|c| {
            c.insert("nbf".into(), json!(NOW + 3600));
        }),
        "INT_USER_ID_ACCESS" => access(app.claims("access", vitor), &|c| {
            c["user_id"] = json!(app.vitor.id);
        }),
        "NONNUMERIC_USER_ACCESS" => app.forge(&app.claims("access", json!("abc"))),
        other => panic!("the contract uses a placeholder this test does not know: {other}"),
    }
}

/// Replaces every `{{NAME}}` with a freshly minted token.
async fn fill(app: &TestApp, mut text: String) -> String {
    while let Some(start) = text.find("{{") {
        let end = start + text[start..].find("}}").expect("closed placeholder");
        let token = mint(app, &text[start + 2..end]).await;
        text.replace_range(start..end + 2, &token);
    }
    text
}

async fn replay(app: &TestApp, case: &Value) -> TestResponse {
    let spec = &case["request"];
    let mut request = Request::builder()
        .method(spec["method"].as_str().unwrap())
        .uri(spec["path"].as_str().unwrap());
    for (name, value) in spec["headers"].as_object().unwrap() {
        request = request.header(name, fill(app, value.as_str().unwrap().to_owned()).await);
    }
    let body = match spec["body"].as_str() {
        Some(body) => Body::from(fill(app, body.to_owned()).await),
        None => Body::empty(),
    };
    app.send(request.body(body).unwrap()).await
}

fn contract_header<'a>(case: &'a Value, name: &str) -> Option<&'a str> {
    case["response"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| {
            pair[0]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|pair| pair[1].as_str())
}

/// Replays one case and checks our answer against simplejwt's (or against the deviation).
pub async fn check(id: &str) {
    let case = case(id);
    let app = TestApp::new().await;
    let ours = replay(&app, case).await;
    let expected = &case["response"];
    let context = format!("case {id}: got {} {}", ours.status, ours.text());

    if let Some((_, status, body, _)) = DEVIATIONS.iter().find(|d| d.0 == id) {
        assert_eq!(ours.status.as_u16(), *status, "{context}");
        assert_eq!(ours.text(), *body, "{context}");
        assert_eq!(
            ours.header("www-authenticate").is_some(),
            *status == 401,
            "{context}: WWW-Authenticate on every 401 and only there"
        );
        return;
    }

    assert_eq!(
        ours.status.as_u16(),
        expected["status"].as_u64().unwrap() as u16,
        "{context}"
    );
    assert_eq!(
        ours.header("www-authenticate"),
        expected["www_authenticate"].as_str(),
        "{context}: WWW-Authenticate"
    );
    for name in ["Allow", "Location"] {
        assert_eq!(
            ours.header(name),
            contract_header(case, name),
            "{context}: {name}"
        );
    }
    let content_type = expected["content_type"].as_str().unwrap_or_default();
    if content_type == "application/json" && ours.status != 200 || !ours.body.is_empty() {
        assert_eq!(
            ours.header("content-type"),
            Some(content_type),
            "{context}: Content-Type"
        );
    }

    let raw = expected["body_raw"].as_str().unwrap_or_default();
    if raw.contains("<JWT:") {
        check_token_body(&ours, &expected["body_json_shape"], &context);
    } else if let Some(prefix) = raw.strip_suffix(r#""}"#).and_then(|r| {
        r.starts_with(r#"{"detail":"JSON parse error - "#)
            .then(|| &r[..r.find(" - ").unwrap() + 3])
    }) {
        assert!(
            ours.text().starts_with(prefix),
            "{context}: expected {prefix}…"
        );
    } else {
        assert_eq!(ours.text(), raw, "{context}");
    }
}

/// Token bodies: the same keys in the same order, each a token of the named type whose claims
/// are simplejwt's, in simplejwt's order.
fn check_token_body(ours: &TestResponse, shape: &Value, context: &str) {
    let ours = ours.json();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&ours), keys(shape), "{context}: keys and their order");
    for (name, marker) in shape.as_object().unwrap() {
        let token_type = marker
            .as_str()
            .unwrap()
            .trim_start_matches("<JWT:")
            .trim_end_matches('>');
        let token = ours[name].as_str().unwrap();
        assert!(
            token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."),
            "{context}: header"
        );
        let claims = payload(token);
        assert_eq!(claims["token_type"], token_type, "{context}: {name}");
        let order = keys(&claims);
        assert_eq!(
            order[..5],
            ["token_type", "exp", "iat", "jti", "user_id"],
            "{context}: {name}"
        );
        assert!(
            claims["user_id"].is_string(),
            "{context}: user_id is a string"
        );
    }
}

/// Generates one test per contract case, and a check that none is missing.
macro_rules! contract_cases {
    ($($test:ident => $id:literal,)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                check($id).await;
            }
        )*

        #[test]
        fn every_contract_case_has_a_test() {
            let listed = [$($id),*];
            let all: Vec<&str> = CONTRACT["cases"].as_array().unwrap().iter()
                .map(|c| c["id"].as_str().unwrap()).collect();
            let missing: Vec<_> = all.iter().filter(|id| !listed.contains(id)).collect();
            assert!(missing.is_empty(), "contract cases without a test: {missing:?}");
            for deviation in DEVIATIONS {
                assert!(all.contains(&deviation.0), "deviation for an unknown case {}", deviation.0);
            }
        }
    };
}

contract_cases! {
obtain_ok_json => "obtain.ok.json",
obtain_ok_form => "obtain.ok.form",
obtain_ok_multipart => "obtain.ok.multipart",
obtain_ok_password_as_number => "obtain.ok.password_as_number",
obtain_ok_extra_fields => "obtain.ok.extra_fields",
obtain_missing_all => "obtain.missing_all",
obtain_missing_password => "obtain.missing_password",
obtain_missing_username => "obtain.missing_username",
obtain_blank_fields => "obtain.blank_fields",
obtain_null_fields => "obtain.null_fields",
obtain_username_object => "obtain.username_object",
obtain_wrong_password => "obtain.wrong_password",
obtain_unknown_user => "obtain.unknown_user",
obtain_username_case => "obtain.username_case",
obtain_inactive_user => "obtain.inactive_user",
obtain_get => "obtain.get",
obtain_put => "obtain.put",
obtain_invalid_json => "obtain.invalid_json",
obtain_empty_body_json_ct => "obtain.empty_body_json_ct",
obtain_json_array => "obtain.json_array",
obtain_no_content_type => "obtain.no_content_type",
obtain_text_plain => "obtain.text_plain",
obtain_no_trailing_slash => "obtain.no_trailing_slash",
obtain_options => "obtain.options",
obtain_with_bad_bearer => "obtain.with_bad_bearer",
refresh_ok_json => "refresh.ok.json",
refresh_ok_form => "refresh.ok.form",
refresh_reuse_rotated => "refresh.reuse_rotated",
refresh_blacklisted => "refresh.blacklisted",
refresh_missing => "refresh.missing",
refresh_blank => "refresh.blank",
refresh_malformed => "refresh.malformed",
refresh_garbage => "refresh.garbage",
refresh_expired => "refresh.expired",
refresh_wrong_type_access => "refresh.wrong_type_access",
refresh_bad_signature => "refresh.bad_signature",
refresh_inactive_user => "refresh.inactive_user",
refresh_unknown_user => "refresh.unknown_user",
refresh_no_jti => "refresh.no_jti",
refresh_extra_claim => "refresh.extra_claim",
refresh_get => "refresh.get",
refresh_invalid_json => "refresh.invalid_json",
verify_ok_access => "verify.ok.access",
verify_ok_refresh => "verify.ok.refresh",
verify_ok_form => "verify.ok.form",
verify_ok_sliding_type => "verify.ok.sliding_type",
verify_ok_no_type => "verify.ok.no_type",
verify_ok_inactive_user => "verify.ok.inactive_user",
verify_ok_unknown_user => "verify.ok.unknown_user",
verify_missing => "verify.missing",
verify_blank => "verify.blank",
verify_malformed => "verify.malformed",
verify_expired => "verify.expired",
verify_bad_signature => "verify.bad_signature",
verify_alg_none => "verify.alg_none",
verify_hs512 => "verify.hs512",
verify_no_exp => "verify.no_exp",
verify_no_jti => "verify.no_jti",
verify_iat_future => "verify.iat_future",
verify_nbf_future => "verify.nbf_future",
verify_blacklisted_refresh => "verify.blacklisted_refresh",
verify_access_of_blacklisted_refresh => "verify.access_of_blacklisted_refresh",
verify_get => "verify.get",
verify_invalid_json => "verify.invalid_json",
blacklist_ok => "blacklist.ok",
blacklist_ok_form => "blacklist.ok.form",
blacklist_again => "blacklist.again",
blacklist_wrong_type_access => "blacklist.wrong_type_access",
blacklist_missing => "blacklist.missing",
blacklist_malformed => "blacklist.malformed",
blacklist_expired => "blacklist.expired",
blacklist_inactive_user => "blacklist.inactive_user",
blacklist_get => "blacklist.get",
blacklist_invalid_json => "blacklist.invalid_json",
hello_ok => "hello.ok",
hello_ok_head => "hello.ok.head",
hello_ok_double_space => "hello.ok.double_space",
hello_ok_int_user_id => "hello.ok.int_user_id",
hello_ok_access_of_blacklisted_refresh => "hello.ok.access_of_blacklisted_refresh",
hello_no_auth => "hello.no_auth",
hello_empty_auth => "hello.empty_auth",
hello_scheme_token => "hello.scheme_token",
hello_scheme_lowercase => "hello.scheme_lowercase",
hello_scheme_jwt => "hello.scheme_jwt",
hello_basic => "hello.basic",
hello_bearer_only => "hello.bearer_only",
hello_bearer_three_parts => "hello.bearer_three_parts",
hello_malformed => "hello.malformed",
hello_garbage => "hello.garbage",
hello_expired => "hello.expired",
hello_refresh_as_access => "hello.refresh_as_access",
hello_bad_signature => "hello.bad_signature",
hello_alg_none => "hello.alg_none",
hello_hs512 => "hello.hs512",
hello_no_exp => "hello.no_exp",
hello_no_jti => "hello.no_jti",
hello_no_type => "hello.no_type",
hello_no_user_id => "hello.no_user_id",
hello_iat_future => "hello.iat_future",
hello_nbf_future => "hello.nbf_future",
hello_nonnumeric_user_id => "hello.nonnumeric_user_id",
hello_unknown_user => "hello.unknown_user",
hello_inactive_user => "hello.inactive_user",
hello_post_with_token => "hello.post_with_token",
hello_post_no_token => "hello.post_no_token",
hello_options_no_token => "hello.options_no_token",
hello_no_trailing_slash => "hello.no_trailing_slash",
hello_accept_xml => "hello.accept_xml",
hello_accept_html => "hello.accept_html",
misc_not_found => "misc.not_found",
misc_bad_host => "misc.bad_host",}

//! The chapter 5 checks, written once. `tests/refresh.rs` in the exercise crate and in the
//! solution crate both include this file, with `sut` ("system under test") naming their own
//! library, so the exercise and its solution can never be checked differently.
//!
//! Tests are named `stepN_…` after the step of the chapter they check: `cargo run -- check 5`
//! reports the first step that fails and `cargo run -- hint 5` gives hints for it.
//!
//! Every instant is explicit: the stories start at 0 (`day 1 00:00:00`), nothing reads a clock.
//! The lifetimes are the shared server's defaults (5 minutes, 1 day, 30 days) unless a test
//! says otherwise; the rules are those of RFC 9700 §4.14.2 (rotation, reuse detection) and of
//! the shared server (an absolute session cap, logout revokes the whole family).

use crate::sut::Action::{
    CallApi, ChangePassword, Login, Logout, LogoutEverywhere, Refresh, Steal,
};
use crate::sut::{
    Action, CsrfRefused, DAY, Event, Expiries, Family, HOUR, Held, MINUTE, NO_ACCESS, NO_REFRESH,
    Pair, Policy, Reason, Refused, Revocation, Store, Token, TokenType, check_csrf, clock, instant,
    play, refresh_cookie, run,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The instant of the first login in most tests: day 1, 09:00:00.
const T: i64 = instant(1, 9, 0, 0);

/// Sessions capped at three days, so that a story reaches the cap in a few lines.
const THREE_DAY_SESSIONS: Policy = Policy {
    access_lifetime: 5 * MINUTE,
    refresh_lifetime: DAY,
    session_lifetime: 3 * DAY,
};

fn token(token_type: TokenType, jti: &str, user: &str, issued_at: i64, expires_at: i64) -> Token {
    Token {
        token_type,
        jti: jti.to_string(),
        user: user.to_string(),
        issued_at,
        expires_at,
    }
}

fn revoked(reason: Reason) -> Result<(), Refused> {
    Err(Refused::Revoked(reason))
}

fn reuse_of(jti: &str) -> Reason {
    Reason::Reuse {
        jti: jti.to_string(),
    }
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

// --- Step 0: a warm-up ------------------------------------------------------------------------

#[test]
fn step0_a_token_is_expired_from_its_expiry_on() {
    use crate::sut::is_expired;
    assert!(!is_expired(1000, 999), "the last valid second");
    assert!(
        is_expired(1000, 1000),
        "at its expiry a token is already expired"
    );
    assert!(is_expired(1000, 1001));
    for now in (-5000..5000).step_by(37) {
        assert_eq!(is_expired(0, now), now >= 0, "at {now}");
    }
}

// --- Step 1: three lifetimes ----------------------------------------------------------------

#[test]
fn step1_a_login_gets_both_lifetimes_in_full() {
    assert_eq!(
        Policy::SERVER.expiries(T, T),
        Some(Expiries {
            access: T + 5 * MINUTE,
            refresh: T + DAY,
        })
    );
}

#[test]
fn step1_a_later_pair_is_measured_from_now_not_from_the_login() {
    let now = instant(11, 14, 30, 0);
    assert_eq!(
        Policy::SERVER.expiries(T, now),
        Some(Expiries {
            access: now + 5 * MINUTE,
            refresh: now + DAY,
        })
    );
}

#[test]
fn step1_near_the_end_of_the_family_the_expiries_are_shortened() {
    let end = T + 30 * DAY;
    let an_hour_before = end - HOUR;
    assert_eq!(
        Policy::SERVER.expiries(T, an_hour_before),
        Some(Expiries {
            access: an_hour_before + 5 * MINUTE,
            refresh: end,
        }),
        "an hour before the end, only the refresh token is shortened"
    );
    assert_eq!(
        Policy::SERVER.expiries(T, end - 3 * MINUTE),
        Some(Expiries {
            access: end,
            refresh: end,
        }),
        "three minutes before the end, both are"
    );
    assert_eq!(
        Policy::SERVER.expiries(T, end - 1),
        Some(Expiries {
            access: end,
            refresh: end,
        }),
        "the last second still issues a pair, for one second"
    );
}

#[test]
fn step1_from_the_end_on_nothing_is_issued() {
    let end = T + 30 * DAY;
    assert_eq!(Policy::SERVER.expiries(T, end), None);
    assert_eq!(Policy::SERVER.expiries(T, end + 1), None);
    assert_eq!(Policy::SERVER.expiries(T, end + 400 * DAY), None);
}

#[test]
fn step1_a_session_shorter_than_a_refresh_token_caps_the_first_pair() {
    let policy = Policy {
        access_lifetime: 5 * MINUTE,
        refresh_lifetime: DAY,
        session_lifetime: 10 * MINUTE,
    };
    assert_eq!(
        policy.expiries(T, T),
        Some(Expiries {
            access: T + 5 * MINUTE,
            refresh: T + 10 * MINUTE,
        })
    );
}

#[test]
fn step1_the_expiries_over_a_whole_session() {
    let login = T;
    let instants = [
        instant(1, 9, 0, 0),
        instant(2, 8, 30, 0),
        instant(17, 18, 0, 0),
        instant(30, 9, 0, 0),
        instant(31, 8, 0, 0),
        instant(31, 8, 57, 0),
        instant(31, 8, 59, 59),
        instant(31, 9, 0, 0),
        instant(40, 12, 0, 0),
    ];
    let policy = Policy::SERVER;
    let mut table = format!("login at {}, sessions of 30 days\n\n", clock(login));
    table.push_str(&format!(
        "{:<17}{:<27}{}\n",
        "issued at", "access until", "refresh until"
    ));
    for now in instants {
        let row = match policy.expiries(login, now) {
            None => "nothing: the session has ended".to_string(),
            Some(expiries) => {
                let mark = |at: i64, full: i64| {
                    let capped = if at < full { " (capped)" } else { "" };
                    format!("{}{capped}", clock(at))
                };
                format!(
                    "{:<27}{}",
                    mark(expiries.access, now + policy.access_lifetime),
                    mark(expiries.refresh, now + policy.refresh_lifetime)
                )
            }
        };
        table.push_str(&format!("{:<17}{row}\n", clock(now)));
    }
    insta::assert_snapshot!("step1_expiries", table);
}

// --- Step 2: log in, and use the access token -----------------------------------------------

#[test]
fn step2_login_starts_a_family_and_issues_its_first_pair() {
    let mut store = Store::new(Policy::SERVER);
    let pair = store.login("alice", T);
    assert_eq!(
        pair.access,
        token(TokenType::Access, "f1-a1", "alice", T, T + 5 * MINUTE)
    );
    assert_eq!(
        pair.refresh,
        token(TokenType::Refresh, "f1-r1", "alice", T, T + DAY)
    );
    assert_eq!(pair.refresh.family(), "f1");
    assert_eq!(
        store.family("f1"),
        Some(&Family {
            id: "f1".into(),
            user: "alice".into(),
            started_at: T,
            pairs: 1,
            revoked: None,
        })
    );
    assert_eq!(store.families().len(), 1);
}

#[test]
fn step2_every_login_starts_a_family_of_its_own() {
    let mut store = Store::new(Policy::SERVER);
    let laptop = store.login("alice", T);
    let phone = store.login("alice", T + MINUTE);
    let bob = store.login("bob", T + 2 * MINUTE);
    assert_eq!(
        [&laptop, &phone, &bob].map(|pair| pair.refresh.jti.as_str()),
        ["f1-r1", "f2-r1", "f3-r1"]
    );
    assert_eq!(phone.access.jti, "f2-a1");
    assert_eq!(phone.access.issued_at, T + MINUTE);
    assert_eq!(bob.access.user, "bob");
    let families: Vec<(&str, &str)> = store
        .families()
        .iter()
        .map(|family| (family.id.as_str(), family.user.as_str()))
        .collect();
    assert_eq!(families, [("f1", "alice"), ("f2", "alice"), ("f3", "bob")]);
}

#[test]
fn step2_a_short_session_caps_the_first_pair() {
    let mut store = Store::new(Policy {
        access_lifetime: 5 * MINUTE,
        refresh_lifetime: DAY,
        session_lifetime: 10 * MINUTE,
    });
    let pair = store.login("alice", T);
    assert_eq!(pair.access.expires_at, T + 5 * MINUTE);
    assert_eq!(pair.refresh.expires_at, T + 10 * MINUTE);
}

#[test]
fn step2_an_access_token_opens_the_api_until_it_expires() {
    let mut store = Store::new(Policy::SERVER);
    let pair = store.login("alice", T);
    let exp = pair.access.expires_at;
    assert_eq!(store.authorize(&pair.access, T), Ok(()));
    assert_eq!(store.authorize(&pair.access, exp - 1), Ok(()));
    assert_eq!(store.authorize(&pair.access, exp), Err(Refused::Expired));
    assert_eq!(
        store.authorize(&pair.access, exp + HOUR),
        Err(Refused::Expired)
    );
}

#[test]
fn step2_authorize_refuses_a_refresh_token_and_a_stranger() {
    let mut store = Store::new(Policy::SERVER);
    let pair = store.login("alice", T);
    assert_eq!(
        store.authorize(&pair.refresh, T),
        Err(Refused::WrongType),
        "a refresh token is not an access token"
    );
    let forged = token(TokenType::Access, "f9-a1", "alice", T, T + 5 * MINUTE);
    assert_eq!(store.authorize(&forged, T), Err(Refused::UnknownFamily));
    // The jti of chapter 1's simplejwt token has no family in it at all.
    let foreign = token(
        TokenType::Access,
        "2bd56272b3b24b3f8b522e58c37c17e1",
        "1",
        T,
        T + 5 * MINUTE,
    );
    assert_eq!(foreign.family(), "2bd56272b3b24b3f8b522e58c37c17e1");
    assert_eq!(store.authorize(&foreign, T), Err(Refused::UnknownFamily));
}

// --- Step 3: may this refresh token be spent? -------------------------------------------------

/// A family of alice's that started at `T`, maybe revoked.
fn family_started_at(started_at: i64, revoked: Option<Reason>) -> Family {
    Family {
        id: "f1".to_string(),
        user: "alice".to_string(),
        started_at,
        pairs: 1,
        revoked: revoked.map(|reason| Revocation {
            at: started_at + MINUTE,
            reason,
        }),
    }
}

#[test]
fn step3_refresh_checks() {
    let policy = THREE_DAY_SESSIONS;
    let end = T + 3 * DAY;
    let refresh = |issued_at: i64| {
        token(
            TokenType::Refresh,
            "f1-r1",
            "alice",
            issued_at,
            issued_at + DAY,
        )
    };
    let access = token(TokenType::Access, "f1-a1", "alice", T, T + 5 * MINUTE);
    let live = family_started_at(T, None);
    let logged_out = family_started_at(T, Some(Reason::Logout));
    let cases: [(&str, &Token, Option<&Family>, bool, i64); 14] = [
        (
            "a fresh refresh token, an hour later",
            &refresh(T),
            Some(&live),
            false,
            T + HOUR,
        ),
        (
            "its last second",
            &refresh(T),
            Some(&live),
            false,
            T + DAY - 1,
        ),
        (
            "a day later: its exp",
            &refresh(T),
            Some(&live),
            false,
            T + DAY,
        ),
        (
            "an hour before the family's end",
            &refresh(end - 2 * HOUR),
            Some(&live),
            false,
            end - HOUR,
        ),
        (
            "at the family's end",
            &refresh(end - 2 * HOUR),
            Some(&live),
            false,
            end,
        ),
        (
            "at the family's end, expired too",
            &refresh(T),
            Some(&live),
            false,
            end,
        ),
        ("an access token", &access, Some(&live), false, T + MINUTE),
        (
            "an access token of an unknown family",
            &access,
            None,
            false,
            T + MINUTE,
        ),
        ("an unknown family", &refresh(T), None, false, T + HOUR),
        ("blacklisted", &refresh(T), Some(&live), true, T + HOUR),
        (
            "blacklisted and expired",
            &refresh(T),
            Some(&live),
            true,
            T + DAY,
        ),
        (
            "a revoked family",
            &refresh(T),
            Some(&logged_out),
            false,
            T + HOUR,
        ),
        (
            "blacklisted, in a revoked family",
            &refresh(T),
            Some(&logged_out),
            true,
            T + HOUR,
        ),
        (
            "a revoked family, at its end",
            &refresh(T),
            Some(&logged_out),
            false,
            end,
        ),
    ];
    let mut report = String::new();
    for (what, token, family, blacklisted, now) in cases {
        let verdict = match policy.check_refresh(token, family, blacklisted, now) {
            Ok(expiries) => format!(
                "a new pair: access until {}, refresh until {}",
                clock(expiries.access),
                clock(expiries.refresh)
            ),
            Err(refused) => format!("refused: {refused:?}"),
        };
        report.push_str(&format!("{what}, at {}\n  {verdict}\n", clock(now)));
    }
    insta::assert_snapshot!("step3_refresh_checks", report);
}

#[test]
fn step3_the_first_refusal_in_order_wins_drawn_at_random() {
    let (seed, mut rng) = generator();
    let policy = Policy::SERVER;
    // The defects a refresh can have, in the order of `Refused`.
    let order = [
        "WrongType",
        "UnknownFamily",
        "SessionEnded",
        "Expired",
        "Blacklisted",
        "Revoked",
    ];
    for _ in 0..400 {
        let started_at = rng.gen_range(0..100 * DAY);
        let issued_at = started_at + rng.gen_range(0..20 * DAY);
        let defects: Vec<bool> = (0..order.len()).map(|_| rng.gen_bool(0.3)).collect();
        let (session_ended, expired) = (defects[2], defects[3]);
        let now = match (session_ended, expired) {
            (true, _) => started_at + policy.session_lifetime + rng.gen_range(0..DAY),
            (false, true) => (issued_at + DAY + rng.gen_range(0..HOUR))
                .min(started_at + policy.session_lifetime - 1),
            (false, false) => issued_at + rng.gen_range(0..DAY),
        };
        let expires_at = if expired || now >= issued_at + DAY {
            now - rng.gen_range(0..HOUR)
        } else {
            issued_at + DAY
        };
        let token = token(
            if defects[0] {
                TokenType::Access
            } else {
                TokenType::Refresh
            },
            "f1-r1",
            "alice",
            issued_at,
            expires_at,
        );
        let family = family_started_at(started_at, defects[5].then_some(Reason::Logout));
        let family = (!defects[1]).then_some(&family);
        let blacklisted = defects[4];
        let answer = policy.check_refresh(&token, family, blacklisted, now);
        let token_expired = now >= expires_at;
        let ended = now >= started_at + policy.session_lifetime;
        let present = [
            defects[0],
            defects[1],
            !defects[1] && ended,
            !defects[1] && token_expired,
            !defects[1] && blacklisted,
            !defects[1] && defects[5],
        ];
        let first = present.iter().position(|defect| *defect);
        let described: Vec<&str> = present
            .iter()
            .zip(order)
            .filter(|(defect, _)| **defect)
            .map(|(_, name)| name)
            .collect();
        match first {
            None => assert_eq!(
                answer,
                Ok(policy.expiries(started_at, now).expect("a live family")),
                "a good refresh token at {}, in a family started at {}: the new pair's \
                 expiries are step 1's for that instant (seed {seed})",
                clock(now),
                clock(started_at)
            ),
            Some(first) => {
                let name = match &answer {
                    Ok(_) => "no refusal",
                    Err(Refused::Revoked(_)) => "Revoked",
                    Err(refused) => order
                        .iter()
                        .copied()
                        .find(|name| format!("{refused:?}") == *name)
                        .unwrap_or("another refusal"),
                };
                assert_eq!(
                    name,
                    order[first],
                    "a refresh that is {described:?} at {} (a family started at {}, a token \
                     expiring at {}): of the refusals that apply, the first in the order of \
                     `Refused` is the answer (seed {seed})",
                    clock(now),
                    clock(started_at),
                    clock(expires_at)
                );
            }
        }
    }
}

// --- Step 4: rotation -----------------------------------------------------------------------

#[test]
fn step4_refresh_issues_the_next_pair_of_the_same_family() {
    let mut store = Store::new(Policy::SERVER);
    let first = store.login("alice", T);
    let later = T + HOUR;
    let second = store.refresh(&first.refresh, later).unwrap();
    assert_eq!(
        second.access,
        token(
            TokenType::Access,
            "f1-a2",
            "alice",
            later,
            later + 5 * MINUTE
        )
    );
    assert_eq!(
        second.refresh,
        token(TokenType::Refresh, "f1-r2", "alice", later, later + DAY)
    );
    assert_eq!(store.family("f1").map(|family| family.pairs), Some(2));
    assert_eq!(store.authorize(&second.access, later), Ok(()));
}

#[test]
fn step4_the_old_refresh_token_is_blacklisted_and_refused() {
    let mut store = Store::new(Policy::SERVER);
    let first = store.login("alice", T);
    let second = store.refresh(&first.refresh, T + HOUR).unwrap();
    assert!(
        store.is_blacklisted("f1-r1"),
        "the refresh token just used is blacklisted: a refresh token works once"
    );
    assert!(
        !store.is_blacklisted("f1-r2"),
        "the new refresh token is not blacklisted"
    );
    assert_eq!(
        store.refresh(&first.refresh, T + 2 * HOUR),
        Err(Refused::Blacklisted),
        "the rotated-away token comes back: refused as blacklisted"
    );
    assert_eq!(second.refresh.jti, "f1-r2");
}

#[test]
fn step4_every_rotation_gives_the_refresh_token_a_full_lifetime_again() {
    // One refresh a day keeps the user signed in well past the first token's day...
    let mut store = Store::new(Policy::SERVER);
    let mut refresh = store.login("alice", T).refresh;
    for k in 1..=7 {
        let now = T + k * 20 * HOUR;
        refresh = store.refresh(&refresh, now).unwrap().refresh;
        assert_eq!(refresh.expires_at, now + DAY, "at {}", clock(now));
    }
    assert_eq!(refresh.jti, "f1-r8");
}

#[test]
fn step4_refresh_refuses_the_wrong_type_strangers_and_expired_tokens() {
    let mut store = Store::new(Policy::SERVER);
    let pair = store.login("alice", T);
    assert_eq!(
        store.refresh(&pair.access, T + MINUTE),
        Err(Refused::WrongType),
        "an access token where a refresh token belongs"
    );
    let forged = token(TokenType::Refresh, "f7-r3", "alice", T, T + DAY);
    assert_eq!(
        store.refresh(&forged, T),
        Err(Refused::UnknownFamily),
        "a family this store never started"
    );
    assert_eq!(
        store.refresh(&pair.refresh, T + DAY),
        Err(Refused::Expired),
        "a refresh token is expired at its exp, like any other"
    );
    // A refusal changes nothing: no new pair, nothing blacklisted.
    assert_eq!(
        store.family("f1").map(|family| family.pairs),
        Some(1),
        "a refused refresh issued a pair anyway"
    );
    assert!(
        !store.is_blacklisted("f1-r1"),
        "a refused refresh blacklisted the token anyway: check everything before changing anything"
    );
}

#[test]
fn step4_near_the_end_rotation_shortens_the_pair_and_at_the_end_refuses() {
    let mut store = Store::new(THREE_DAY_SESSIONS);
    let end = T + 3 * DAY;
    let first = store.login("alice", T);
    let second = store.refresh(&first.refresh, instant(2, 8, 0, 0)).unwrap();
    assert_eq!(second.refresh.expires_at, instant(3, 8, 0, 0));
    let third = store.refresh(&second.refresh, instant(3, 7, 0, 0)).unwrap();
    assert_eq!(third.refresh.expires_at, instant(4, 7, 0, 0));
    let fourth = store.refresh(&third.refresh, instant(4, 6, 0, 0)).unwrap();
    assert_eq!(
        fourth.refresh.expires_at, end,
        "a day from now would pass the end"
    );
    assert_eq!(fourth.access.expires_at, instant(4, 6, 5, 0));
    let fifth = store.refresh(&fourth.refresh, end - 2 * MINUTE).unwrap();
    assert_eq!(fifth.access.expires_at, end, "the access token too");
    assert_eq!(fifth.refresh.expires_at, end);
    assert_eq!(
        store.refresh(&fifth.refresh, end),
        Err(Refused::SessionEnded),
        "at the end, the end is the reason, not the token's own exp"
    );
    assert_eq!(store.family("f1").map(|family| family.pairs), Some(5));
}

#[test]
fn step4_rotation_stays_inside_its_family() {
    let mut store = Store::new(Policy::SERVER);
    let laptop = store.login("alice", T);
    let phone = store.login("alice", T + MINUTE);
    let next = store.refresh(&laptop.refresh, T + HOUR).unwrap();
    assert_eq!(next.refresh.jti, "f1-r2");
    assert_eq!(next.refresh.family(), "f1");
    assert_eq!(store.family("f2").map(|family| family.pairs), Some(1));
    let phone_next = store.refresh(&phone.refresh, T + HOUR).unwrap();
    assert_eq!(phone_next.access.jti, "f2-a2");
}

// --- Step 5: reuse detection ----------------------------------------------------------------

#[test]
fn step5_a_revoked_family_refuses_every_token_it_has() {
    let mut store = Store::new(Policy::SERVER);
    let laptop = store.login("alice", T);
    let phone = store.login("alice", T);
    assert!(store.revoke_family("f1", Reason::Logout, T + MINUTE));
    assert_eq!(
        store.family("f1").and_then(|family| family.revoked.clone()),
        Some(Revocation {
            at: T + MINUTE,
            reason: Reason::Logout,
        })
    );
    assert_eq!(
        store.authorize(&laptop.access, T + 2 * MINUTE),
        revoked(Reason::Logout),
        "the access token is refused before its exp"
    );
    assert_eq!(
        store.refresh(&laptop.refresh, T + 2 * MINUTE),
        Err(Refused::Revoked(Reason::Logout))
    );
    assert_eq!(
        store.authorize(&phone.access, T + 2 * MINUTE),
        Ok(()),
        "another family of the same user is untouched"
    );
}

#[test]
fn step5_only_the_first_revocation_counts() {
    let mut store = Store::new(Policy::SERVER);
    store.login("alice", T);
    assert!(store.revoke_family("f1", Reason::Logout, T + MINUTE));
    assert!(!store.revoke_family("f1", Reason::PasswordChanged, T + HOUR));
    assert_eq!(
        store.family("f1").and_then(|family| family.revoked.clone()),
        Some(Revocation {
            at: T + MINUTE,
            reason: Reason::Logout,
        })
    );
    assert!(
        !store.revoke_family("f9", Reason::Logout, T),
        "no such family"
    );
}

#[test]
fn step5_a_rotated_away_token_that_comes_back_revokes_its_family() {
    // The user refreshes first; the attacker replays the copy it stole earlier.
    let mut store = Store::new(Policy::SERVER);
    let stolen = store.login("alice", T).refresh;
    let users = store.refresh(&stolen, T + HOUR).unwrap();
    assert_eq!(
        store.refresh(&stolen, T + HOUR + MINUTE),
        Err(Refused::Blacklisted),
        "the replay itself is refused"
    );
    let reason = reuse_of("f1-r1");
    assert_eq!(
        store.refresh(&users.refresh, T + HOUR + 2 * MINUTE),
        Err(Refused::Revoked(reason.clone())),
        "and so is the newest refresh token of the family"
    );
    assert_eq!(
        store.authorize(&users.access, T + HOUR + 2 * MINUTE),
        revoked(reason.clone()),
        "and its access token, although it has three minutes left"
    );
    assert_eq!(
        store.family("f1").and_then(|family| family.revoked.clone()),
        Some(Revocation {
            at: T + HOUR + MINUTE,
            reason,
        })
    );
}

#[test]
fn step5_when_the_thief_refreshes_first_the_user_trips_the_alarm() {
    let mut store = Store::new(Policy::SERVER);
    let users = store.login("alice", T);
    let thiefs = store.refresh(&users.refresh, T + 10 * MINUTE).unwrap();
    assert_eq!(
        store.authorize(&thiefs.access, T + 11 * MINUTE),
        Ok(()),
        "until the user comes back, the store cannot tell"
    );
    assert_eq!(
        store.refresh(&users.refresh, T + 12 * MINUTE),
        Err(Refused::Blacklisted)
    );
    assert_eq!(
        store.authorize(&thiefs.access, T + 13 * MINUTE),
        revoked(reuse_of("f1-r1"))
    );
    assert_eq!(
        store.refresh(&thiefs.refresh, T + 13 * MINUTE),
        Err(Refused::Revoked(reuse_of("f1-r1")))
    );
}

#[test]
fn step5_reuse_revokes_that_family_only() {
    let mut store = Store::new(Policy::SERVER);
    let laptop = store.login("alice", T);
    let phone = store.login("alice", T);
    store.refresh(&laptop.refresh, T + MINUTE).unwrap();
    assert_eq!(
        store.refresh(&laptop.refresh, T + 2 * MINUTE),
        Err(Refused::Blacklisted)
    );
    assert!(store.family("f1").is_some_and(|f| f.revoked.is_some()));
    assert!(store.family("f2").is_some_and(|f| f.revoked.is_none()));
    assert!(store.refresh(&phone.refresh, T + 3 * MINUTE).is_ok());
}

#[test]
fn step5_an_expired_replay_is_only_expired_a_live_one_is_reuse() {
    // The expiry check comes first: a token past its exp proves nothing and opens nothing.
    let mut store = Store::new(Policy::SERVER);
    let first = store.login("alice", T);
    let second = store.refresh(&first.refresh, T + HOUR).unwrap();
    assert_eq!(
        store.refresh(&first.refresh, T + DAY),
        Err(Refused::Expired)
    );
    assert!(store.family("f1").is_some_and(|f| f.revoked.is_none()));
    let third = store.refresh(&second.refresh, T + DAY).unwrap();
    // f1-r2 is rotated away but not expired yet: that one is a reuse.
    assert_eq!(
        store.refresh(&second.refresh, T + DAY + MINUTE),
        Err(Refused::Blacklisted)
    );
    assert_eq!(
        store.refresh(&third.refresh, T + DAY + 2 * MINUTE),
        Err(Refused::Revoked(reuse_of("f1-r2")))
    );
}

// --- Step 6: logout, and logout everywhere --------------------------------------------------

#[test]
fn step6_logout_ends_the_family_at_once() {
    let mut store = Store::new(Policy::SERVER);
    let pair = store.login("alice", T);
    assert_eq!(store.logout(&pair.refresh, T + MINUTE), Ok(()));
    assert!(store.is_blacklisted("f1-r1"));
    assert_eq!(
        store.authorize(&pair.access, T + 2 * MINUTE),
        revoked(Reason::Logout),
        "simplejwt would still accept this access token for three more minutes"
    );
    assert_eq!(
        store.refresh(&pair.refresh, T + 2 * MINUTE),
        Err(Refused::Blacklisted)
    );
}

#[test]
fn step6_logging_out_twice_is_refused() {
    let mut store = Store::new(Policy::SERVER);
    let pair = store.login("alice", T);
    assert_eq!(store.logout(&pair.refresh, T + MINUTE), Ok(()));
    assert_eq!(
        store.logout(&pair.refresh, T + 2 * MINUTE),
        Err(Refused::Blacklisted)
    );
    assert_eq!(
        store.family("f1").and_then(|family| family.revoked.clone()),
        Some(Revocation {
            at: T + MINUTE,
            reason: Reason::Logout,
        })
    );
}

#[test]
fn step6_logging_out_with_a_rotated_away_token_still_ends_the_family() {
    let mut store = Store::new(Policy::SERVER);
    let first = store.login("alice", T);
    let second = store.refresh(&first.refresh, T + MINUTE).unwrap();
    assert_eq!(
        store.logout(&first.refresh, T + 2 * MINUTE),
        Err(Refused::Blacklisted)
    );
    assert_eq!(
        store.refresh(&second.refresh, T + 3 * MINUTE),
        Err(Refused::Revoked(Reason::Logout))
    );
}

#[test]
fn step6_logout_refuses_what_it_cannot_use_and_changes_nothing() {
    let mut store = Store::new(Policy::SERVER);
    let pair = store.login("alice", T);
    assert_eq!(
        store.logout(&pair.access, T + MINUTE),
        Err(Refused::WrongType)
    );
    let forged = token(TokenType::Refresh, "f4-r1", "alice", T, T + DAY);
    assert_eq!(store.logout(&forged, T), Err(Refused::UnknownFamily));
    assert_eq!(store.logout(&pair.refresh, T + DAY), Err(Refused::Expired));
    assert!(!store.is_blacklisted("f1-r1"));
    assert!(!store.is_blacklisted("f1-a1"));
    assert!(store.family("f1").is_some_and(|f| f.revoked.is_none()));
}

#[test]
fn step6_logout_on_one_device_leaves_the_others_signed_in() {
    let mut store = Store::new(Policy::SERVER);
    let laptop = store.login("alice", T);
    let phone = store.login("alice", T);
    store.logout(&laptop.refresh, T + MINUTE).unwrap();
    assert_eq!(store.authorize(&phone.access, T + 2 * MINUTE), Ok(()));
    assert!(store.refresh(&phone.refresh, T + 2 * MINUTE).is_ok());
}

#[test]
fn step6_revoke_user_revokes_every_live_family_of_that_user() {
    let mut store = Store::new(THREE_DAY_SESSIONS);
    store.login("alice", instant(1, 9, 0, 0)); // f1: ends on day 4 at 09:00
    store.login("alice", instant(3, 9, 0, 0)); // f2
    let tablet = store.login("alice", instant(3, 10, 0, 0)); // f3
    store.login("bob", instant(3, 11, 0, 0)); // f4
    store.login("alice", instant(3, 12, 0, 0)); // f5
    store.logout(&tablet.refresh, instant(3, 13, 0, 0)).unwrap();
    let now = instant(4, 12, 0, 0);
    assert_eq!(
        store.revoke_user("alice", Reason::LogoutEverywhere, now),
        ["f2", "f5"]
    );
    let reasons: Vec<(&str, Option<&Reason>)> = store
        .families()
        .iter()
        .map(|f| (f.id.as_str(), f.revoked.as_ref().map(|r| &r.reason)))
        .collect();
    assert_eq!(
        reasons,
        [
            ("f1", None), // it ended before: nothing left to revoke
            ("f2", Some(&Reason::LogoutEverywhere)),
            ("f3", Some(&Reason::Logout)), // the first revocation counts
            ("f4", None),                  // bob's
            ("f5", Some(&Reason::LogoutEverywhere)),
        ]
    );
    assert_eq!(
        store.revoke_user("alice", Reason::PasswordChanged, now),
        Vec::<String>::new()
    );
}

#[test]
fn step6_logout_everywhere_and_a_password_change() {
    let mut store = Store::new(Policy::SERVER);
    let laptop = store.login("alice", T);
    let phone = store.login("alice", T);
    let bob = store.login("bob", T);
    assert_eq!(
        store.logout_everywhere(&phone.access, T + MINUTE),
        Ok(vec!["f1".to_string(), "f2".to_string()])
    );
    assert_eq!(
        store.refresh(&laptop.refresh, T + 2 * MINUTE),
        Err(Refused::Revoked(Reason::LogoutEverywhere))
    );
    assert_eq!(store.authorize(&bob.access, T + 2 * MINUTE), Ok(()));
    assert_eq!(
        store.logout_everywhere(&phone.access, T + 2 * MINUTE),
        Err(Refused::Revoked(Reason::LogoutEverywhere)),
        "it takes a valid access token"
    );

    let laptop = store.login("alice", T + 10 * MINUTE); // f4
    let phone = store.login("alice", T + 10 * MINUTE); // f5
    let fresh = store
        .change_password(&phone.access, T + 11 * MINUTE)
        .unwrap();
    assert_eq!(fresh.access.jti, "f6-a1");
    assert_eq!(
        store.authorize(&laptop.access, T + 12 * MINUTE),
        revoked(Reason::PasswordChanged)
    );
    assert_eq!(
        store.authorize(&phone.access, T + 12 * MINUTE),
        revoked(Reason::PasswordChanged)
    );
    assert_eq!(store.authorize(&fresh.access, T + 12 * MINUTE), Ok(()));
}

// --- Step 7: one event ---------------------------------------------------------------------

#[test]
fn step7_one_event_at_a_time() {
    use std::collections::BTreeMap;
    let t = 10 * DAY;
    let mut store = Store::new(Policy::SERVER);
    let mut held: BTreeMap<&str, Held> = BTreeMap::new();
    let at = |at, actor, action| Event { at, actor, action };

    let login = play(&mut store, &held, &at(t, "phone", Login { user: "alice" }));
    assert_eq!(login.what, "log in as alice");
    let (Some(access), Some(refresh)) = (login.holds.access.clone(), login.holds.refresh.clone())
    else {
        panic!(
            "after a login the phone holds both tokens: {:?}",
            login.holds
        );
    };
    let pair = Pair {
        access: access.clone(),
        refresh: refresh.clone(),
    };
    assert_eq!(login.outcome, format!("ok: {pair}"));
    held.insert("phone", login.holds.clone());

    let call = play(&mut store, &held, &at(t + 1, "phone", CallApi));
    assert_eq!(
        (call.what.as_str(), call.outcome.as_str()),
        (format!("call the API with {}", access.jti).as_str(), "ok")
    );
    assert_eq!(
        call.holds, login.holds,
        "calling the API changes nothing held"
    );

    let nothing = play(&mut store, &held, &at(t + 2, "laptop", CallApi));
    assert_eq!(
        (
            nothing.what.as_str(),
            nothing.outcome.as_str(),
            nothing.holds
        ),
        ("call the API", NO_ACCESS, Held::default()),
        "an actor not seen yet holds nothing"
    );
    let no_refresh = play(&mut store, &held, &at(t + 2, "laptop", Refresh));
    assert_eq!(
        (no_refresh.what.as_str(), no_refresh.outcome.as_str()),
        ("refresh", NO_REFRESH)
    );

    let theft = play(
        &mut store,
        &held,
        &at(t + 3, "attacker", Steal { from: "phone" }),
    );
    assert_eq!(theft.what, "copy phone's tokens");
    assert_eq!(
        theft.outcome,
        format!("now holds {}, {}", access.jti, refresh.jti)
    );
    assert_eq!(theft.holds, login.holds);
    held.insert("attacker", theft.holds);
    let empty_theft = play(
        &mut store,
        &held,
        &at(t + 3, "attacker", Steal { from: "laptop" }),
    );
    assert_eq!(empty_theft.outcome, "laptop holds no tokens");

    let rotated = play(&mut store, &held, &at(t + 4, "phone", Refresh));
    assert_eq!(rotated.what, format!("refresh with {}", refresh.jti));
    assert!(rotated.outcome.starts_with("ok: "), "{}", rotated.outcome);
    assert_ne!(
        rotated.holds, login.holds,
        "the phone now holds the new pair"
    );
    held.insert("phone", rotated.holds);

    let reuse = play(&mut store, &held, &at(t + 5, "attacker", Refresh));
    assert_eq!(reuse.outcome, format!("refused: {}", Refused::Blacklisted));
    assert_eq!(
        reuse.holds, login.holds,
        "a refused refresh changes nothing held"
    );

    let logout = play(&mut store, &held, &at(t + 6, "phone", Logout));
    assert_eq!(
        logout.holds,
        Held::default(),
        "after a logout, nothing is held"
    );
}

// --- Step 8: stories ------------------------------------------------------------------------

const fn event(at: i64, actor: &'static str, action: Action) -> Event {
    Event { at, actor, action }
}

// ANCHOR: stolen_refresh_token
/// A script on the phone leaks its tokens; the phone refreshes first, then the attacker tries.
const STOLEN_REFRESH_TOKEN: &[Event] = &[
    event(instant(1, 9, 0, 0), "phone", Login { user: "alice" }),
    event(instant(1, 9, 4, 0), "phone", CallApi),
    event(instant(1, 11, 50, 0), "attacker", Steal { from: "phone" }),
    event(instant(1, 11, 50, 5), "attacker", CallApi),
    event(instant(1, 11, 58, 0), "phone", Refresh),
    event(instant(1, 11, 58, 1), "phone", CallApi),
    event(instant(1, 12, 0, 0), "attacker", Refresh),
    event(instant(1, 12, 1, 0), "phone", CallApi),
    event(instant(1, 12, 1, 1), "phone", Refresh),
    event(instant(1, 12, 1, 30), "phone", Login { user: "alice" }),
    event(instant(1, 12, 2, 0), "attacker", Refresh),
];
// ANCHOR_END: stolen_refresh_token

// ANCHOR: thief_refreshes_first
/// The same theft, but the attacker refreshes before the laptop does.
const THIEF_REFRESHES_FIRST: &[Event] = &[
    event(instant(1, 9, 0, 0), "laptop", Login { user: "alice" }),
    event(instant(1, 9, 10, 0), "attacker", Steal { from: "laptop" }),
    event(instant(1, 9, 18, 0), "attacker", Refresh),
    event(instant(1, 9, 18, 30), "attacker", CallApi),
    event(instant(1, 9, 20, 0), "laptop", Refresh),
    event(instant(1, 9, 21, 0), "attacker", CallApi),
    event(instant(1, 9, 21, 30), "attacker", Refresh),
    event(instant(1, 9, 22, 0), "laptop", Login { user: "alice" }),
    event(instant(1, 9, 22, 5), "laptop", CallApi),
];
// ANCHOR_END: thief_refreshes_first

// ANCHOR: logout_everywhere
/// Alice on three devices, Bob on one; a logout, then "log out everywhere".
const LOGOUT_AND_LOGOUT_EVERYWHERE: &[Event] = &[
    event(instant(1, 8, 0, 0), "phone", Login { user: "alice" }),
    event(instant(1, 8, 58, 0), "laptop", Login { user: "alice" }),
    event(instant(1, 8, 58, 30), "bob", Login { user: "bob" }),
    event(instant(1, 8, 59, 0), "attacker", Steal { from: "laptop" }),
    event(instant(1, 9, 0, 0), "laptop", Logout),
    event(instant(1, 9, 0, 30), "laptop", CallApi),
    event(instant(1, 9, 1, 0), "attacker", CallApi),
    event(instant(1, 9, 10, 0), "phone", Refresh),
    event(instant(1, 9, 12, 0), "tablet", Login { user: "alice" }),
    event(instant(1, 9, 13, 0), "phone", LogoutEverywhere),
    event(instant(1, 9, 14, 0), "tablet", Refresh),
    event(instant(1, 9, 14, 30), "bob", Refresh),
];
// ANCHOR_END: logout_everywhere

// ANCHOR: password_change
/// The laptop's tokens leaked; Alice changes her password on her phone.
const PASSWORD_CHANGE: &[Event] = &[
    event(instant(1, 9, 0, 0), "phone", Login { user: "alice" }),
    event(instant(1, 9, 1, 0), "laptop", Login { user: "alice" }),
    event(instant(1, 9, 2, 0), "attacker", Steal { from: "laptop" }),
    event(instant(1, 9, 3, 0), "phone", ChangePassword),
    event(instant(1, 9, 3, 30), "attacker", Refresh),
    event(instant(1, 9, 4, 0), "laptop", CallApi),
    event(instant(1, 9, 4, 30), "phone", CallApi),
    event(instant(1, 9, 5, 0), "laptop", Login { user: "alice" }),
];
// ANCHOR_END: password_change

// ANCHOR: absolute_lifetime
/// Sessions of three days (`THREE_DAY_SESSIONS`): the phone refreshes every day, the laptop
/// is left alone for more than a day.
const ABSOLUTE_LIFETIME: &[Event] = &[
    event(instant(1, 10, 0, 0), "phone", Login { user: "alice" }),
    event(instant(1, 10, 0, 30), "laptop", Login { user: "alice" }),
    event(instant(2, 9, 0, 0), "phone", Refresh),
    event(instant(2, 11, 0, 0), "laptop", Refresh),
    event(instant(3, 8, 0, 0), "phone", Refresh),
    event(instant(4, 7, 0, 0), "phone", Refresh),
    event(instant(4, 9, 58, 0), "phone", Refresh),
    event(instant(4, 9, 59, 59), "phone", CallApi),
    event(instant(4, 10, 0, 0), "phone", CallApi),
    event(instant(4, 10, 0, 0), "phone", Refresh),
    event(instant(4, 10, 0, 5), "phone", Login { user: "alice" }),
];
// ANCHOR_END: absolute_lifetime

#[test]
fn step8_the_stolen_refresh_token() {
    insta::assert_snapshot!(
        "step8_stolen_refresh_token",
        run(Policy::SERVER, STOLEN_REFRESH_TOKEN)
    );
}

#[test]
fn step8_the_thief_refreshes_first() {
    insta::assert_snapshot!(
        "step8_thief_refreshes_first",
        run(Policy::SERVER, THIEF_REFRESHES_FIRST)
    );
}

#[test]
fn step8_logout_and_logout_everywhere() {
    insta::assert_snapshot!(
        "step8_logout_everywhere",
        run(Policy::SERVER, LOGOUT_AND_LOGOUT_EVERYWHERE)
    );
}

#[test]
fn step8_a_password_change() {
    insta::assert_snapshot!(
        "step8_password_change",
        run(Policy::SERVER, PASSWORD_CHANGE)
    );
}

#[test]
fn step8_the_absolute_lifetime() {
    insta::assert_snapshot!(
        "step8_absolute_lifetime",
        run(THREE_DAY_SESSIONS, ABSOLUTE_LIFETIME)
    );
}

#[test]
fn step8_an_empty_story_is_an_empty_log() {
    assert_eq!(run(Policy::SERVER, &[]), "");
    // And one event is two lines.
    let one = [event(T, "phone", Login { user: "alice" })];
    assert_eq!(run(Policy::SERVER, &one).lines().count(), 2);
}

// ---------------------------------------------------------------------------------------------
// Steps 9 and 10: the server side of the browser client.

const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Something shaped like a JWT: three base64url segments joined by dots.
fn random_jwt(rng: &mut StdRng) -> String {
    let segment = |rng: &mut StdRng| -> String {
        (0..rng.gen_range(4..40))
            .map(|_| BASE64URL[rng.gen_range(0..64)] as char)
            .collect()
    };
    let (a, b, c) = (segment(rng), segment(rng), segment(rng));
    format!("{a}.{b}.{c}")
}

/// A CSRF token as the server makes one: 32 lowercase hex digits.
fn random_csrf(rng: &mut StdRng) -> String {
    (0..32)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap())
        .collect()
}

/// A cookie name that is not `csrftoken`, some of them close to it.
fn other_cookie_name(rng: &mut StdRng) -> String {
    let decoys = [
        "xcsrftoken",
        "csrftoken2",
        "csrf",
        "CSRFTOKEN",
        "sessionid",
        "refresh_token",
    ];
    loop {
        let name: String = match rng.gen_range(0..3) {
            0 => decoys[rng.gen_range(0..decoys.len())].to_owned(),
            _ => (0..rng.gen_range(1..10))
                .map(|_| rng.gen_range(b'a'..=b'z') as char)
                .collect(),
        };
        if name != "csrftoken" {
            return name;
        }
    }
}

/// A `Cookie` header holding `pairs` plus a few other cookies, in a random order, with the
/// spacing browsers and hand-written clients use.
fn cookie_header(rng: &mut StdRng, pairs: &[(String, String)]) -> String {
    let mut all: Vec<(String, String)> = pairs.to_vec();
    for _ in 0..rng.gen_range(0..4) {
        let name = other_cookie_name(rng);
        let value = if rng.gen_bool(0.5) {
            random_csrf(rng)
        } else {
            random_jwt(rng)
        };
        all.insert(rng.gen_range(0..=all.len()), (name, value));
    }
    let separator = if rng.gen_bool(0.7) { "; " } else { ";" };
    all.iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(separator)
}

/// The attributes of a `Set-Cookie` value, by lowercase name, after its `name=value`.
fn parse_set_cookie(cookie: &str) -> (String, Vec<(String, String)>) {
    let mut parts = cookie.split(';').map(str::trim);
    let first = parts.next().unwrap_or_default().to_owned();
    let attributes = parts
        .map(|part| match part.split_once('=') {
            Some((name, value)) => (name.to_ascii_lowercase(), value.to_owned()),
            None => (part.to_ascii_lowercase(), String::new()),
        })
        .collect();
    (first, attributes)
}

// --- Step 9: the refresh cookie --------------------------------------------------------------

#[test]
fn step9_refresh_cookies() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJmMS1yMSJ9.c2lnbmF0dXJl";
    let cases: [(&str, &str, i64); 14] = [
        ("a refresh token with a day left", jwt, DAY),
        ("five minutes left", jwt, 5 * MINUTE),
        ("its last second", jwt, 1),
        ("expired at this very second", jwt, 0),
        ("expired an hour ago", jwt, -HOUR),
        ("an opaque value", "f1-r1", DAY),
        ("an empty value", "", DAY),
        (
            "an attribute smuggled in",
            "a.b.c; Domain=attacker.example",
            DAY,
        ),
        ("a space", "a.b c", DAY),
        ("quotes", "\"a.b.c\"", DAY),
        ("a comma", "a.b,c", DAY),
        ("a backslash", "a.b\\c", DAY),
        ("a line break", "a.b.c\r\nSet-Cookie: x=1", DAY),
        ("a letter outside ASCII", "a.b.é", DAY),
    ];
    let now = T;
    let mut report = String::new();
    for (what, value, left) in cases {
        let cookie =
            refresh_cookie(value, now + left, now).unwrap_or_else(|| "refused (None)".to_string());
        report.push_str(&format!("{what}: {value:?}, {left} s left\n  {cookie}\n"));
    }
    insta::assert_snapshot!("step9_refresh_cookies", report);
}

#[test]
fn step9_the_refresh_cookie_reads_as_the_server_writes_it() {
    assert_eq!(
        refresh_cookie("eyJh.eyJ0.c2ln", 5 * MINUTE, 0).as_deref(),
        Some(
            "refresh_token=eyJh.eyJ0.c2ln; Max-Age=300; Path=/api/token/; HttpOnly; Secure; SameSite=Strict"
        ),
        "the cookie the shared server sets, attributes in its order (the book's step 9)"
    );
}

#[test]
fn step9_refresh_cookies_drawn_at_random_carry_every_protection() {
    let (seed, mut rng) = generator();
    for _ in 0..200 {
        let value = random_jwt(&mut rng);
        let now = rng.gen_range(0..4_000_000_000i64);
        let left = rng.gen_range(-DAY..30 * DAY);
        let cookie = refresh_cookie(&value, now + left, now)
            .unwrap_or_else(|| panic!("{value} is a valid cookie value (seed {seed})"));
        let (first, mut attributes) = parse_set_cookie(&cookie);
        assert_eq!(
            first,
            format!("refresh_token={value}"),
            "{cookie} (seed {seed})"
        );
        attributes.sort();
        let mut expected = vec![
            ("httponly".to_owned(), String::new()),
            ("max-age".to_owned(), left.max(0).to_string()),
            ("path".to_owned(), "/api/token/".to_owned()),
            ("samesite".to_owned(), "Strict".to_owned()),
            ("secure".to_owned(), String::new()),
        ];
        expected.sort();
        assert_eq!(
            attributes, expected,
            "{cookie}: HttpOnly (no script reads it), Secure (HTTPS only), SameSite=Strict (no \
             other site's request carries it), Path=/api/token/ (the token endpoints only) and \
             Max-Age (the seconds the token has left, never negative), nothing else (seed {seed})"
        );
    }
}

#[test]
fn step9_a_value_that_could_add_attributes_of_its_own_is_refused() {
    assert_eq!(refresh_cookie("", DAY, 0), None, "an empty token");
    assert_eq!(
        refresh_cookie("a.b.c; Domain=attacker.example", DAY, 0),
        None,
        "a `;` would end the value and start an attribute"
    );
    let (seed, mut rng) = generator();
    let forbidden = [
        ' ', '"', ',', ';', '\\', '\t', '\n', '\r', '\u{7f}', '\0', 'é', '€',
    ];
    for _ in 0..200 {
        let mut value = random_jwt(&mut rng);
        let bad = forbidden[rng.gen_range(0..forbidden.len())];
        let at = rng.gen_range(0..=value.len());
        value.insert(at, bad);
        assert_eq!(
            refresh_cookie(&value, DAY, 0),
            None,
            "{value:?} holds {bad:?}, which is not a cookie-octet (seed {seed})"
        );
    }
    // Every other printable character is allowed.
    let allowed: String = (0x21u8..=0x7e)
        .map(char::from)
        .filter(|c| !matches!(c, '"' | ',' | ';' | '\\'))
        .collect();
    let cookie = refresh_cookie(&allowed, DAY, 0);
    assert!(
        cookie
            .as_deref()
            .is_some_and(|c| c.starts_with(&format!("refresh_token={allowed};"))),
        "{allowed} is made of cookie-octets only: {cookie:?}"
    );
}

// --- Step 10: the CSRF check ------------------------------------------------------------------

#[test]
fn step10_csrf_checks() {
    let csrf = "5f4dcc3b5aa765d61d8327deb882cf99";
    let other = "0cc175b9c0f1b6a831c399e269772661";
    let cookie_of = |value: &str| format!("csrftoken={value}");
    let cases: [(&str, Option<String>, Option<&str>); 16] = [
        ("no Cookie header", None, Some(csrf)),
        ("no Cookie header, no X-CSRFToken", None, None),
        (
            "other cookies only",
            Some(format!("sessionid={other}")),
            Some(csrf),
        ),
        (
            "a cookie whose name ends with csrftoken",
            Some(format!("xcsrftoken={csrf}")),
            Some(csrf),
        ),
        (
            "a cookie whose name starts with csrftoken",
            Some(format!("csrftoken2={csrf}")),
            Some(csrf),
        ),
        (
            "the name in capitals",
            Some(format!("CSRFTOKEN={csrf}")),
            Some(csrf),
        ),
        (
            "an empty csrftoken, an empty header",
            Some(cookie_of("")),
            Some(""),
        ),
        ("the cookie, no header", Some(cookie_of(csrf)), None),
        (
            "the cookie repeated in the header",
            Some(cookie_of(csrf)),
            Some(csrf),
        ),
        (
            "among other cookies",
            Some(format!(
                "sessionid={other}; {}; theme=dark",
                cookie_of(csrf)
            )),
            Some(csrf),
        ),
        (
            "among other cookies, no spaces",
            Some(format!("sessionid={other};{}", cookie_of(csrf))),
            Some(csrf),
        ),
        (
            "a header that is a prefix",
            Some(cookie_of(csrf)),
            Some(&csrf[..16]),
        ),
        (
            "a header one digit off",
            Some(cookie_of(csrf)),
            Some("5f4dcc3b5aa765d61d8327deb882cf98"),
        ),
        (
            "a header in capitals",
            Some(cookie_of(csrf)),
            Some("5F4DCC3B5AA765D61D8327DEB882CF99"),
        ),
        ("an empty header", Some(cookie_of(csrf)), Some("")),
        (
            "the header repeats a look-alike cookie",
            Some(format!("xcsrftoken={other}; {}", cookie_of(csrf))),
            Some(other),
        ),
    ];
    let shown = |value: Option<&str>| value.map_or("(none)".to_string(), |v| format!("{v:?}"));
    let mut report = String::new();
    for (what, cookie, header) in cases {
        let verdict = match check_csrf(cookie.as_deref(), header) {
            Ok(()) => "passes".to_string(),
            Err(refused) => format!("refused: {refused:?}"),
        };
        report.push_str(&format!(
            "{what}\n  Cookie: {}\n  X-CSRFToken: {}\n  {verdict}\n",
            shown(cookie.as_deref()),
            shown(header)
        ));
    }
    insta::assert_snapshot!("step10_csrf_checks", report);
}

#[test]
fn step10_the_csrf_cookie_repeated_in_the_header_passes() {
    let (seed, mut rng) = generator();
    for _ in 0..200 {
        let csrf = random_csrf(&mut rng);
        let cookies = cookie_header(&mut rng, &[("csrftoken".to_owned(), csrf.clone())]);
        assert_eq!(
            check_csrf(Some(&cookies), Some(&csrf)),
            Ok(()),
            "Cookie: {cookies} with X-CSRFToken: {csrf}: the header repeats the cookie named \
             exactly csrftoken, wherever it stands among the others, with or without a space \
             after each `;` (seed {seed})"
        );
    }
}

#[test]
fn step10_no_csrf_cookie_is_refused_first() {
    let (seed, mut rng) = generator();
    for _ in 0..200 {
        let csrf = random_csrf(&mut rng);
        let header = if rng.gen_bool(0.8) {
            Some(csrf.as_str())
        } else {
            None
        };
        assert_eq!(
            check_csrf(None, header),
            Err(CsrfRefused::CookieNotSet),
            "no Cookie header at all, X-CSRFToken: {header:?}: the cookie is looked for first, \
             before the header, so a request without it is CookieNotSet whatever its header \
             (seed {seed})"
        );
        // Cookies whose names only look like it, holding the very value of the header.
        let decoys = [
            ("xcsrftoken".to_owned(), csrf.clone()),
            ("csrftoken2".to_owned(), csrf.clone()),
        ];
        let cookies = cookie_header(&mut rng, &decoys);
        assert_eq!(
            check_csrf(Some(&cookies), header),
            Err(CsrfRefused::CookieNotSet),
            "Cookie: {cookies}: the cookie is the one named exactly csrftoken (seed {seed})"
        );
        let empty = cookie_header(&mut rng, &[("csrftoken".to_owned(), String::new())]);
        assert_eq!(
            check_csrf(Some(&empty), Some("")),
            Err(CsrfRefused::CookieNotSet),
            "Cookie: {empty}: an empty csrftoken is no cookie at all, even with an empty \
             header (seed {seed})"
        );
    }
}

#[test]
fn step10_a_missing_header_then_a_wrong_one_is_refused() {
    let (seed, mut rng) = generator();
    for _ in 0..200 {
        let csrf = random_csrf(&mut rng);
        let cookies = cookie_header(&mut rng, &[("csrftoken".to_owned(), csrf.clone())]);
        assert_eq!(
            check_csrf(Some(&cookies), None),
            Err(CsrfRefused::TokenMissing),
            "Cookie: {cookies} and no X-CSRFToken header: the cookie is there, so the header is \
             what is missing (seed {seed})"
        );
        // One digit changed, anywhere.
        let at = rng.gen_range(0..csrf.len());
        let mut changed: Vec<char> = csrf.chars().collect();
        let old = changed[at];
        changed[at] = if old == '0' { '1' } else { '0' };
        let changed: String = changed.into_iter().collect();
        // Shorter, longer, empty, upper case.
        let cut = rng.gen_range(0..csrf.len());
        let wrong = [
            changed,
            csrf[..cut].to_owned(),
            format!("{csrf}{}", random_csrf(&mut rng)),
            String::new(),
            csrf.to_ascii_uppercase(),
        ];
        for given in wrong.iter().filter(|given| **given != csrf) {
            assert_eq!(
                check_csrf(Some(&cookies), Some(given)),
                Err(CsrfRefused::TokenIncorrect),
                "Cookie: {cookies} with X-CSRFToken: {given:?}: the header must equal the \
                 csrftoken cookie's value, {csrf:?}, byte for byte and with the same length (a \
                 prefix, a longer value or another case is not it) (seed {seed})"
            );
        }
    }
}

//! Chapter 5, "Refresh, rotation and revocation": the bookkeeping behind a refresh endpoint.
//!
//! A store of token families, in memory: a login starts a family and issues its first pair;
//! every refresh rotates the refresh token (the old one is blacklisted, a new one is issued in
//! the same family); a rotated-away refresh token that comes back revokes its whole family; no
//! token of a family lives past the family's absolute end; and logging out revokes one family
//! or every family of a user.
//!
//! There is no cryptography here and no database. A [`Token`] stands for the claims of a token
//! whose signature has already been checked (chapter 3), and time is always a parameter, `now`,
//! in seconds: the stories of the tests start at 0, which [`clock`] shows as `day 1 00:00:00`.
//!
//! The steps, from easy to hard: [`Policy::expiries`], [`Store::login`] and
//! [`Store::authorize`], [`Policy::check_refresh`], [`Store::refresh`], [`Store::revoke_family`],
//! [`Store::logout`] and [`Store::revoke_user`], and [`run`]. Each builds on the ones before it.
//! The last two steps stand apart: [`refresh_cookie`], then [`check_csrf`], the server side of a
//! browser client that keeps its refresh token in an HttpOnly cookie.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

// ANCHOR: policy
/// How long things live, in seconds. All three are positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// An access token opens the API until it expires; it is checked on every request.
    pub access_lifetime: i64,
    /// A refresh token buys the next pair. Each rotation issues a new one with a full
    /// lifetime, so this is how long a client may stay idle and still come back.
    pub refresh_lifetime: i64,
    /// The absolute cap: no token of a family lives past `login + session_lifetime`, however
    /// often it is refreshed. Then the user logs in again.
    pub session_lifetime: i64,
}

impl Policy {
    /// The shared server's defaults: 5 minutes, 1 day (simplejwt's), and 30 days.
    pub const SERVER: Policy = Policy {
        access_lifetime: 5 * MINUTE,
        refresh_lifetime: DAY,
        session_lifetime: 30 * DAY,
    };
}
// ANCHOR_END: policy

// ANCHOR: expiries
/// When the two tokens of a new pair expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiries {
    pub access: i64,
    pub refresh: i64,
}
// ANCHOR_END: expiries

// ANCHOR: token
/// The two kinds of token, as in simplejwt's `token_type` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Refresh,
}

/// A token's claims, as a server reads them once the signature has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub token_type: TokenType,
    /// `f1-r2`: the family (`f1`), then `a` or `r` and the number of the pair in the family.
    /// Like the server's jti, it names the family without a claim of its own.
    pub jti: String,
    pub user: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

impl Token {
    /// The family this token belongs to: its jti up to the dash.
    pub fn family(&self) -> &str {
        self.jti
            .split_once('-')
            .map_or(&self.jti, |(family, _)| family)
    }
}

/// What a login or a refresh hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub access: Token,
    pub refresh: Token,
}
// ANCHOR_END: token

// ANCHOR: family
/// One login and every pair rotated from it (the server calls it a session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// `f1`, `f2`, … in the order of the logins.
    pub id: String,
    pub user: String,
    /// The login. The family ends, absolutely, at `started_at + session_lifetime`.
    pub started_at: i64,
    /// How many pairs have been issued in it: the next one is number `pairs + 1`.
    pub pairs: u32,
    /// Set once, by the first revocation; nothing of a revoked family is accepted again.
    pub revoked: Option<Revocation>,
}

/// When and why a family was revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub at: i64,
    pub reason: Reason,
}

/// Why a family was revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A refresh token of the family came back after it had been rotated away: two parties
    /// hold the family, and the store cannot tell the user from the thief.
    Reuse { jti: String },
    /// The user logged out on this device.
    Logout,
    /// The user logged out on every device.
    LogoutEverywhere,
    /// The user changed their password.
    PasswordChanged,
}
// ANCHOR_END: family

// ANCHOR: refused
/// Why a token was refused. The texts (see `Display`) are simplejwt's where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// An access token where a refresh token belongs, or the other way round.
    WrongType,
    /// The token names a family this store never started.
    UnknownFamily,
    /// The family reached its absolute end: nothing more is issued in it.
    SessionEnded,
    /// The token's own `exp` has passed.
    Expired,
    /// A refresh token that was rotated away or logged out.
    Blacklisted,
    /// The token's family was revoked.
    Revoked(Reason),
}
// ANCHOR_END: refused

// ANCHOR: store
/// Every family, and the blacklist of refresh tokens that were used up.
#[derive(Debug, Clone)]
pub struct Store {
    policy: Policy,
    /// In the order of the logins.
    families: Vec<Family>,
    /// The jtis of refresh tokens that must never be accepted again.
    blacklist: BTreeSet<String>,
}
// ANCHOR_END: store

impl Store {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            families: Vec::new(),
            blacklist: BTreeSet::new(),
        }
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Every family, in the order of the logins.
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    pub fn family(&self, id: &str) -> Option<&Family> {
        self.families.iter().find(|family| family.id == id)
    }

    fn family_mut(&mut self, id: &str) -> Option<&mut Family> {
        self.families.iter_mut().find(|family| family.id == id)
    }

    pub fn is_blacklisted(&self, jti: &str) -> bool {
        self.blacklist.contains(jti)
    }

    /// The id the next login's family gets: `f1`, `f2`, …
    fn next_family_id(&self) -> String {
        format!("f{}", self.families.len() + 1)
    }

    /// Issues the next pair of an existing family, counting it in `pairs`.
    fn mint(&mut self, family: &str, now: i64, expiries: Expiries) -> Pair {
        let family = self
            .family_mut(family)
            .expect("pairs are only minted in families of this store");
        family.pairs += 1;
        let (id, number, user) = (family.id.clone(), family.pairs, family.user.clone());
        let token = |token_type, letter, expires_at| Token {
            token_type,
            jti: format!("{id}-{letter}{number}"),
            user: user.clone(),
            issued_at: now,
            expires_at,
        };
        Pair {
            access: token(TokenType::Access, 'a', expiries.access),
            refresh: token(TokenType::Refresh, 'r', expiries.refresh),
        }
    }
}

// ANCHOR: warm_up
/// Step 0, a warm-up. Whether a token that expires at `expires_at` is expired at the instant
/// `now`: chapter 2's rule, which every step of this chapter uses.
pub fn is_expired(expires_at: i64, now: i64) -> bool {
    now >= expires_at
}
// ANCHOR_END: warm_up

// ANCHOR: expiries_fn
impl Policy {
    /// Step 1. When the tokens of a pair issued at `now`, in a family that started at
    /// `started_at`, expire: each at `now` plus its own lifetime, but never after the family's
    /// absolute end, `started_at + session_lifetime`. From that end on, nothing may be issued
    /// in the family any more: `None`.
    pub fn expiries(&self, started_at: i64, now: i64) -> Option<Expiries> {
        let ends_at = started_at + self.session_lifetime;
        if now >= ends_at {
            return None;
        }
        Some(Expiries {
            access: (now + self.access_lifetime).min(ends_at),
            refresh: (now + self.refresh_lifetime).min(ends_at),
        })
    }
}
// ANCHOR_END: expiries_fn

// ANCHOR: check_refresh
impl Policy {
    /// Step 3. Whether `refresh` may be spent at `now` for a new pair, judged on what the
    /// store knows of it: its `family` (`None` for a family the store never started) and
    /// whether its jti is `blacklisted`. The answer is the expiries of the pair it buys, or
    /// the first refusal that applies in the order of [`Refused`]'s variants (the book's
    /// step 3 says why that order).
    pub fn check_refresh(
        &self,
        refresh: &Token,
        family: Option<&Family>,
        blacklisted: bool,
        now: i64,
    ) -> Result<Expiries, Refused> {
        if refresh.token_type != TokenType::Refresh {
            return Err(Refused::WrongType);
        }
        let family = family.ok_or(Refused::UnknownFamily)?;
        let expiries = self
            .expiries(family.started_at, now)
            .ok_or(Refused::SessionEnded)?;
        if now >= refresh.expires_at {
            return Err(Refused::Expired);
        }
        if blacklisted {
            return Err(Refused::Blacklisted);
        }
        if let Some(revocation) = &family.revoked {
            return Err(Refused::Revoked(revocation.reason.clone()));
        }
        Ok(expiries)
    }
}
// ANCHOR_END: check_refresh

impl Store {
    // ANCHOR: login
    /// Step 2a. A user proved who they are: start a new family for them (the next id, started
    /// now, no pairs yet, not revoked) and issue its first pair, with the expiries of step 1.
    pub fn login(&mut self, user: &str, now: i64) -> Pair {
        let id = self.next_family_id();
        self.families.push(Family {
            id: id.clone(),
            user: user.to_owned(),
            started_at: now,
            pairs: 0,
            revoked: None,
        });
        let expiries = self
            .policy
            .expiries(now, now)
            .expect("a family that starts now has not ended");
        self.mint(&id, now, expiries)
    }
    // ANCHOR_END: login

    // ANCHOR: authorize
    /// Step 2b. What a protected route checks before it answers: the token is an access token,
    /// of a family this store knows, not expired (`now >= expires_at` is expired), and its
    /// family is not revoked. The first failure, in that order, is the answer.
    pub fn authorize(&self, access: &Token, now: i64) -> Result<(), Refused> {
        if access.token_type != TokenType::Access {
            return Err(Refused::WrongType);
        }
        let family = self.family(access.family()).ok_or(Refused::UnknownFamily)?;
        if now >= access.expires_at {
            return Err(Refused::Expired);
        }
        if let Some(revocation) = &family.revoked {
            return Err(Refused::Revoked(revocation.reason.clone()));
        }
        Ok(())
    }
    // ANCHOR_END: authorize

    // ANCHOR: refresh
    /// Step 4. Rotation: trade a refresh token for a new pair in the same family, and make sure
    /// the old refresh token can never be used again; a refusal changes nothing (the book's
    /// "Rotation: a refresh token works once").
    ///
    /// Step 5 adds one line to the blacklisted case: a rotated-away token that comes back
    /// revokes its whole family.
    pub fn refresh(&mut self, refresh: &Token, now: i64) -> Result<Pair, Refused> {
        let family = self.family(refresh.family());
        let blacklisted = self.is_blacklisted(&refresh.jti);
        let expiries = match self.policy.check_refresh(refresh, family, blacklisted, now) {
            Ok(expiries) => expiries,
            Err(Refused::Blacklisted) => {
                let reason = Reason::Reuse {
                    jti: refresh.jti.clone(),
                };
                self.revoke_family(refresh.family(), reason, now);
                return Err(Refused::Blacklisted);
            }
            Err(refused) => return Err(refused),
        };
        self.blacklist.insert(refresh.jti.clone());
        Ok(self.mint(refresh.family(), now, expiries))
    }
    // ANCHOR_END: refresh

    // ANCHOR: revoke_family
    /// Step 5. Revoke a family: from now on none of its tokens is accepted, access tokens
    /// included. Only the first revocation counts (its time and reason are kept); returns
    /// whether this call revoked the family, so `false` for one already revoked or unknown.
    pub fn revoke_family(&mut self, family: &str, reason: Reason, now: i64) -> bool {
        match self.family_mut(family) {
            Some(family) if family.revoked.is_none() => {
                family.revoked = Some(Revocation { at: now, reason });
                true
            }
            _ => false,
        }
    }
    // ANCHOR_END: revoke_family

    // ANCHOR: logout
    /// Step 6a. Logout, with the refresh token of this device: refuse a token that is not a
    /// refresh token, of an unknown family, or expired, and change nothing. Otherwise
    /// blacklist the token and revoke its family (reason `Logout`). A token that was already
    /// blacklisted still revokes the family, but the answer is `Blacklisted`, as simplejwt's
    /// blacklist endpoint answers a second logout.
    pub fn logout(&mut self, refresh: &Token, now: i64) -> Result<(), Refused> {
        if refresh.token_type != TokenType::Refresh {
            return Err(Refused::WrongType);
        }
        if self.family(refresh.family()).is_none() {
            return Err(Refused::UnknownFamily);
        }
        if now >= refresh.expires_at {
            return Err(Refused::Expired);
        }
        let newly_blacklisted = self.blacklist.insert(refresh.jti.clone());
        self.revoke_family(refresh.family(), Reason::Logout, now);
        if newly_blacklisted {
            Ok(())
        } else {
            Err(Refused::Blacklisted)
        }
    }
    // ANCHOR_END: logout

    // ANCHOR: revoke_user
    /// Step 6b. Revoke every live family of a user, with `reason`: those that are not revoked
    /// yet and have not reached their end (step 1 still issues in them). Returns their ids,
    /// in the order of the logins. Other users' families are untouched.
    pub fn revoke_user(&mut self, user: &str, reason: Reason, now: i64) -> Vec<String> {
        let policy = self.policy;
        let mut revoked = Vec::new();
        for family in &mut self.families {
            let live = policy.expiries(family.started_at, now).is_some();
            if family.user == user && family.revoked.is_none() && live {
                family.revoked = Some(Revocation {
                    at: now,
                    reason: reason.clone(),
                });
                revoked.push(family.id.clone());
            }
        }
        revoked
    }
    // ANCHOR_END: revoke_user

    // ANCHOR: logout_everywhere
    /// "Log out everywhere", with a valid access token: every live family of its user.
    pub fn logout_everywhere(&mut self, access: &Token, now: i64) -> Result<Vec<String>, Refused> {
        self.authorize(access, now)?;
        Ok(self.revoke_user(&access.user, Reason::LogoutEverywhere, now))
    }

    /// A password change, with a valid access token (the real endpoint also asks for the old
    /// password): every live family of the user is revoked, and this device gets a new one.
    pub fn change_password(&mut self, access: &Token, now: i64) -> Result<Pair, Refused> {
        self.authorize(access, now)?;
        self.revoke_user(&access.user, Reason::PasswordChanged, now);
        Ok(self.login(&access.user, now))
    }
    // ANCHOR_END: logout_everywhere
}

// ANCHOR: script
/// One line of a story: at an instant, someone does something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: i64,
    /// Who acts: a device of the user (`phone`, `laptop`), or an `attacker`.
    pub actor: &'static str,
    pub action: Action,
}

/// What an actor can do. Each uses the tokens the actor holds at that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Log in as `user` (with the right password): hold the new pair.
    Login { user: &'static str },
    /// Call a protected route with the access token held.
    CallApi,
    /// Refresh with the refresh token held; on success, hold the new pair instead.
    Refresh,
    /// Copy whatever tokens another actor holds (an XSS, malware, a leaked log…).
    Steal { from: &'static str },
    /// Log out with the refresh token held, then forget both tokens, whatever the answer.
    Logout,
    /// Log out everywhere with the access token held, then forget both tokens, whatever the
    /// answer.
    LogoutEverywhere,
    /// Change the password with the access token held; on success, hold the new pair.
    ChangePassword,
}

/// The tokens one actor holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    pub access: Option<Token>,
    pub refresh: Option<Token>,
}
// ANCHOR_END: script

// ANCHOR: play
/// What one event did: what the actor did, how it went, and what the actor holds afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Played {
    /// `log in as alice`, `refresh with f1-r1`, `call the API` (with nothing to send)…
    pub what: String,
    /// `ok: …`, `refused: …`, [`NO_ACCESS`], [`NO_REFRESH`], `now holds …`…
    pub outcome: String,
    pub holds: Held,
}

/// Step 7. Play one event against `store`: the actor acts with the tokens it holds in `held`
/// (none, if it is not there yet). The wording of `what` and `outcome`, and what the actor holds
/// afterwards, are in the book's step 7; step 8's snapshots show them in whole stories.
pub fn play(store: &mut Store, held: &BTreeMap<&str, Held>, event: &Event) -> Played {
    let now = event.at;
    let mine = held.get(event.actor).cloned().unwrap_or_default();
    let (what, outcome, holds) = match &event.action {
        Action::Login { user } => {
            let pair = store.login(user, now);
            (
                format!("log in as {user}"),
                format!("ok: {pair}"),
                holding(pair),
            )
        }
        Action::CallApi => match &mine.access {
            None => ("call the API".into(), NO_ACCESS.into(), mine.clone()),
            Some(access) => (
                format!("call the API with {}", access.jti),
                outcome(store.authorize(access, now).map(|()| "ok".to_string())),
                mine.clone(),
            ),
        },
        Action::Refresh => match &mine.refresh {
            None => ("refresh".into(), NO_REFRESH.into(), mine.clone()),
            Some(refresh) => {
                let what = format!("refresh with {}", refresh.jti);
                match store.refresh(refresh, now) {
                    Ok(pair) => (what, format!("ok: {pair}"), holding(pair)),
                    Err(refused) => (what, format!("refused: {refused}"), mine.clone()),
                }
            }
        },
        Action::Steal { from } => {
            let theirs = held.get(from).cloned().unwrap_or_default();
            let jtis: Vec<&str> = [&theirs.access, &theirs.refresh]
                .into_iter()
                .flatten()
                .map(|token| token.jti.as_str())
                .collect();
            let outcome = if jtis.is_empty() {
                format!("{from} holds no tokens")
            } else {
                format!("now holds {}", jtis.join(", "))
            };
            (format!("copy {from}'s tokens"), outcome, theirs)
        }
        Action::Logout => match &mine.refresh {
            None => ("log out".into(), NO_REFRESH.into(), Held::default()),
            Some(refresh) => (
                format!("log out with {}", refresh.jti),
                outcome(store.logout(refresh, now).map(|()| "ok".to_string())),
                Held::default(),
            ),
        },
        Action::LogoutEverywhere => match &mine.access {
            None => (
                "log out everywhere".into(),
                NO_ACCESS.into(),
                Held::default(),
            ),
            Some(access) => (
                format!("log out everywhere with {}", access.jti),
                outcome(
                    store
                        .logout_everywhere(access, now)
                        .map(|_| "ok".to_string()),
                ),
                Held::default(),
            ),
        },
        Action::ChangePassword => match &mine.access {
            None => ("change the password".into(), NO_ACCESS.into(), mine.clone()),
            Some(access) => {
                let what = format!("change the password with {}", access.jti);
                match store.change_password(access, now) {
                    Ok(pair) => (what, format!("ok: {pair}"), holding(pair)),
                    Err(refused) => (what, format!("refused: {refused}"), mine.clone()),
                }
            }
        },
    };
    Played {
        what,
        outcome,
        holds,
    }
}
// ANCHOR_END: play

// ANCHOR: run
/// Step 8. Play a story against a new store with `policy`, event by event, and write down
/// what happened. Each event gives two lines: the instant, the actor and what it does; then,
/// indented by 6 spaces, the outcome. Then one more indented line, starting with `! `, for
/// every family the event revoked (in the order of the families). The exact wording is in
/// the step 8 snapshots.
pub fn run(policy: Policy, script: &[Event]) -> String {
    let mut store = Store::new(policy);
    let mut held: BTreeMap<&str, Held> = BTreeMap::new();
    let mut log = String::new();
    for event in script {
        let revoked_before: BTreeSet<String> = revoked_families(&store);
        let played = play(&mut store, &held, event);
        let _ = writeln!(log, "{}  {}: {}", clock(event.at), event.actor, played.what);
        let _ = writeln!(log, "{INDENT}{}", played.outcome);
        held.insert(event.actor, played.holds);
        for family in store.families() {
            if let Some(revocation) = &family.revoked
                && !revoked_before.contains(&family.id)
            {
                let _ = writeln!(
                    log,
                    "{INDENT}! family {} revoked: {}",
                    family.id, revocation.reason
                );
            }
        }
    }
    log
}

fn holding(pair: Pair) -> Held {
    Held {
        access: Some(pair.access),
        refresh: Some(pair.refresh),
    }
}

fn outcome(result: Result<String, Refused>) -> String {
    match result {
        Ok(text) => text,
        Err(refused) => format!("refused: {refused}"),
    }
}

fn revoked_families(store: &Store) -> BTreeSet<String> {
    store
        .families()
        .iter()
        .filter(|family| family.revoked.is_some())
        .map(|family| family.id.clone())
        .collect()
}
// ANCHOR_END: run

// ANCHOR: cookie_mode
/// The cookie that carries the refresh token to the browser.
pub const REFRESH_COOKIE: &str = "refresh_token";
/// The only path (with those below it) the browser sends that cookie to: the token endpoints.
pub const REFRESH_COOKIE_PATH: &str = "/api/token/";
/// The readable cookie whose value a request spending the refresh cookie repeats in a header.
pub const CSRF_COOKIE: &str = "csrftoken";

/// Why a request that spends the refresh cookie is refused: Django's three reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfRefused {
    /// No `csrftoken` cookie, or an empty one.
    CookieNotSet,
    /// The cookie, but no `X-CSRFToken` header.
    TokenMissing,
    /// Both, and they differ.
    TokenIncorrect,
}
// ANCHOR_END: cookie_mode

// ANCHOR: refresh_cookie
/// Step 9. The `Set-Cookie` value that hands the refresh token `value` to a browser at the
/// instant `now`, for a token that expires at `expires_at`: the cookie `refresh_token`, sent
/// over HTTPS only, never shown to scripts, never attached to a request another site starts,
/// sent to `/api/token/` and below only, and forgotten by the browser when the token expires
/// (`Max-Age`, in seconds from now; 0 for a token already expired). `None` when `value` is empty
/// or is not a valid cookie value (RFC 6265's `cookie-octet`s: printable ASCII but for space,
/// `"`, `,`, `;` and `\`), since one `;` in it would let the value add attributes of its own.
pub fn refresh_cookie(value: &str, expires_at: i64, now: i64) -> Option<String> {
    let cookie_octet = |b: u8| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\');
    if value.is_empty() || !value.bytes().all(cookie_octet) {
        return None;
    }
    let max_age = (expires_at - now).max(0);
    Some(format!(
        "{REFRESH_COOKIE}={value}; Max-Age={max_age}; Path={REFRESH_COOKIE_PATH}; HttpOnly; \
         Secure; SameSite=Strict"
    ))
}
// ANCHOR_END: refresh_cookie

// ANCHOR: check_csrf
/// Step 10. The double-submit check on a request that spends the refresh cookie. `cookie` is
/// the request's `Cookie` header (`name=value` pairs separated by `;`, maybe none), `header`
/// its `X-CSRFToken` header. The `csrftoken` cookie (an empty one counts as none) must be there,
/// then the header, then they must be equal. Compare them in constant time: look at every byte
/// whatever the first difference, so the time taken tells an attacker nothing of the value.
pub fn check_csrf(cookie: Option<&str>, header: Option<&str>) -> Result<(), CsrfRefused> {
    let expected = cookie
        .into_iter()
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == CSRF_COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
        .ok_or(CsrfRefused::CookieNotSet)?;
    let given = header.ok_or(CsrfRefused::TokenMissing)?;
    if constant_time_eq(expected.as_bytes(), given.as_bytes()) {
        Ok(())
    } else {
        Err(CsrfRefused::TokenIncorrect)
    }
}

/// Equal, found without stopping at the first difference. The lengths may differ in time:
/// a CSRF token's length is no secret.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .fold(0u8, |difference, (x, y)| difference | (x ^ y))
            == 0
}
// ANCHOR_END: check_csrf

/// The indentation of a story's outcome lines.
pub const INDENT: &str = "      ";
/// The outcome when an actor has no access token to send.
pub const NO_ACCESS: &str = "holds no access token";
/// The outcome when an actor has no refresh token to send.
pub const NO_REFRESH: &str = "holds no refresh token";

/// An instant of a story, in seconds: `day` 1 is the first day, 0 is `day 1 00:00:00`.
pub const fn instant(day: i64, hours: i64, minutes: i64, seconds: i64) -> i64 {
    (day - 1) * DAY + hours * HOUR + minutes * MINUTE + seconds
}

/// An instant of a story as `day N HH:MM:SS`.
pub fn clock(t: i64) -> String {
    let second_of_day = t.rem_euclid(DAY);
    format!(
        "day {} {:02}:{:02}:{:02}",
        t.div_euclid(DAY) + 1,
        second_of_day / HOUR,
        second_of_day % HOUR / MINUTE,
        second_of_day % MINUTE
    )
}

impl fmt::Display for Token {
    /// `f1-a1 until day 1 09:05:00`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} until {}", self.jti, clock(self.expires_at))
    }
}

impl fmt::Display for Pair {
    /// `f1-a1 until day 1 09:05:00, f1-r1 until day 2 09:00:00`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}", self.access, self.refresh)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Reuse { jti } => write!(f, "{jti} came back after rotation"),
            Reason::Logout => f.write_str("logout"),
            Reason::LogoutEverywhere => f.write_str("logout everywhere"),
            Reason::PasswordChanged => f.write_str("password change"),
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::WrongType => f.write_str("Token has wrong type"),
            Refused::UnknownFamily => f.write_str("Token is invalid (unknown family)"),
            Refused::SessionEnded => {
                f.write_str("the session reached its absolute lifetime: log in again")
            }
            Refused::Expired => f.write_str("Token is expired"),
            Refused::Blacklisted => f.write_str("Token is blacklisted"),
            Refused::Revoked(reason) => write!(f, "family revoked ({reason})"),
        }
    }
}

impl std::error::Error for Refused {}

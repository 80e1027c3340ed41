#!/usr/bin/env python3
"""The OpenID Connect provider, used by a relying-party library nobody here wrote: Authlib.

Authlib's OAuth2Session runs the authorization code flow with PKCE (S256) against the server's
discovery document; this script plays the browser in between, over plain HTTP with `requests`:
it fetches the login page, posts the form with its CSRF token and cookies, and hands the redirect
back to Authlib. Authlib then exchanges the code, and its own CodeIDToken checks the ID token
(signature against the JWKS, iss, aud, azp, exp, iat, nonce, at_hash). Then /userinfo, a refresh
(with rotation), and the misuse cases: a wrong redirect URI, a reused code (which revokes what it
issued), a missing and a wrong verifier, an unknown client.

The server, its client and its user are the caller's: tests/oidc_relying_party.rs starts them
and passes them in the environment. Exits non-zero on the first check that fails.
"""

import html.parser
import os
import sys
import urllib.parse

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

ISSUER = os.environ["OIDC_ISSUER"]
CLIENT_ID = os.environ["OIDC_CLIENT_ID"]
CLIENT_SECRET = os.environ["OIDC_CLIENT_SECRET"]
REDIRECT_URI = os.environ["OIDC_REDIRECT_URI"]
USERNAME = os.environ["OIDC_USERNAME"]
PASSWORD = os.environ["OIDC_PASSWORD"]


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


class Form(html.parser.HTMLParser):
    """The login page's form: where it posts and its fields."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")


def browser_sign_in(browser, authorization_url):
    """What a person does in a browser: open the page, type the password, submit."""
    page = browser.get(authorization_url, allow_redirects=False)
    check(page.status_code == 200, "the authorization endpoint shows our login page")
    policy = page.headers.get("Content-Security-Policy", "")
    check("default-src 'none'" in policy, "the login page has a strict CSP")
    form = Form()
    form.feed(page.text)
    check("csrf" in form.fields, "the login form carries a CSRF token")
    fields = dict(form.fields, username=USERNAME, password=PASSWORD)
    answer = browser.post(
        urllib.parse.urljoin(authorization_url, form.action), data=fields, allow_redirects=False
    )
    check(answer.status_code == 303, f"the login form redirects back ({answer.status_code})")
    return answer.headers["Location"]


def new_session(**extra):
    return OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="openid profile email",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        **extra,
    )


def start(session, metadata):
    """An authorization URL with a fresh verifier and nonce, Authlib's way."""
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    return url, state, verifier, nonce


def oauth_error(call):
    try:
        call()
    except OAuthError as error:
        return error.error
    return None


def main():
    metadata = requests.get(f"{ISSUER}/.well-known/openid-configuration").json()
    check(metadata["issuer"] == ISSUER, "discovery names the issuer")
    check(metadata["code_challenge_methods_supported"] == ["S256"], "PKCE S256 only")
    jwks = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"]).json())

    # The full flow.
    session = new_session()
    url, state, verifier, nonce = start(session, metadata)
    browser = requests.Session()
    callback = browser_sign_in(browser, url)
    answer = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    check(callback.startswith(REDIRECT_URI + "?"), "back to the exact redirect URI")
    check(answer.get("state") == state, "the state comes back")
    check(answer.get("iss") == ISSUER, "the response names its issuer (RFC 9207)")
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    check("id_token" in token and "refresh_token" in token, "the code gives an ID token and a refresh token")

    claims = jwt.decode(
        token["id_token"],
        jwks,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": ISSUER}},
        claims_params={"nonce": nonce, "client_id": CLIENT_ID, "access_token": token["access_token"]},
    )
    claims.validate(leeway=5)
    check(claims.header["alg"] in ("RS256", "ES256"), f"the ID token is signed with {claims.header['alg']}")
    for name in ("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash"):
        check(name in claims, f"the ID token has {name}")
    check(claims["azp"] == CLIENT_ID, "azp is the client")
    print(f"Authlib's CodeIDToken accepted the ID token for sub={claims['sub']}")

    userinfo = session.get(metadata["userinfo_endpoint"])
    check(userinfo.status_code == 200, "/userinfo answers the access token")
    check(userinfo.json()["sub"] == claims["sub"], "/userinfo names the same subject")
    check(userinfo.json().get("preferred_username") == USERNAME, "/userinfo gives the username (profile scope)")

    old_refresh = token["refresh_token"]
    refreshed = session.refresh_token(metadata["token_endpoint"])
    check(refreshed["refresh_token"] != old_refresh, "a refresh rotates the refresh token")
    check(session.get(metadata["userinfo_endpoint"]).status_code == 200, "the new access token works")

    # Single sign-on: a second authorization in the same browser needs no password.
    second = new_session()
    url, state, verifier, nonce = start(second, metadata)
    again = browser.get(url, allow_redirects=False)
    check(again.status_code == 303, "a browser signed in at the provider is sent straight back")
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(again.headers["Location"]).query))["code"]

    # A missing verifier, then a wrong one: refused, and the code is spent.
    missing = oauth_error(lambda: new_session().fetch_token(
        metadata["token_endpoint"], code=code, grant_type="authorization_code"))
    check(missing == "invalid_request", f"a missing verifier is invalid_request ({missing})")
    url, state, verifier, nonce = start(second, metadata)
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
        browser.get(url, allow_redirects=False).headers["Location"]).query))["code"]
    wrong = oauth_error(lambda: new_session().fetch_token(
        metadata["token_endpoint"], code=code, code_verifier=generate_token(48)))
    check(wrong == "invalid_grant", f"a wrong verifier is invalid_grant ({wrong})")

    # A reused code: refused, and the tokens it issued stop working.
    url, state, verifier, nonce = start(second, metadata)
    callback = browser.get(url, allow_redirects=False).headers["Location"]
    first = second.fetch_token(metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    check(second.get(metadata["userinfo_endpoint"]).status_code == 200, "the code's access token works")
    reused = oauth_error(lambda: new_session().fetch_token(
        metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier))
    check(reused == "invalid_grant", f"a reused code is invalid_grant ({reused})")
    check(second.get(metadata["userinfo_endpoint"]).status_code == 401,
          "the reused code's access token is revoked")
    revoked = oauth_error(lambda: second.refresh_token(metadata["token_endpoint"], refresh_token=first["refresh_token"]))
    check(revoked == "invalid_grant", "the reused code's refresh token is revoked")

    # A redirect URI that is not registered: our error page, never a redirect.
    evil = OAuth2Session(CLIENT_ID, CLIENT_SECRET, scope="openid", redirect_uri="https://evil.example/cb",
                         code_challenge_method="S256")
    url, _ = evil.create_authorization_url(metadata["authorization_endpoint"], code_verifier=generate_token(48))
    page = browser.get(url, allow_redirects=False)
    check(page.status_code == 400 and "Location" not in page.headers,
          "a wrong redirect URI gets an error page, not a redirect")

    # An unknown client.
    stranger = OAuth2Session("no-such-client", "secret", redirect_uri=REDIRECT_URI)
    unknown = oauth_error(lambda: stranger.fetch_token(
        metadata["token_endpoint"], code="x", code_verifier=generate_token(48)))
    check(unknown == "invalid_client", f"an unknown client is invalid_client ({unknown})")
    print("all relying-party checks passed")


if __name__ == "__main__":
    main()

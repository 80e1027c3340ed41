#!/usr/bin/env python3
"""simplejwt's token settings against the real djangorestframework-simplejwt 5.5.1, both ways.

Django is configured in this script (no project): SIMPLE_JWT with an ISSUER, two AUDIENCEs, its
own USER_ID_CLAIM, TOKEN_TYPE_CLAIM and JTI_CLAIM, USER_ID_FIELD = "username", a LEEWAY and two
AUTH_HEADER_TYPES. Our real binary runs with the matching flags. Then:

- tokens our server issued (fetched over HTTP) are decoded by simplejwt's own AccessToken,
  RefreshToken, UntypedToken and TokenBackend, and JWTAuthentication finds their user;
- tokens simplejwt issued (RefreshToken.for_user, its access_token) open our protected route
  and refresh on our server, over HTTP;
- both write the claims in the same order;
- two `Authorization` headers, joined as Django joins them, get DRF's refusal from both;
- with AUTH_HEADER_NAME (and --auth-header-name), the token travels in another header;
- the mismatches are refused on both sides: another audience, no issuer, another issuer;
- without AUDIENCE simplejwt writes no `aud` and accepts a token that has one, which we refuse
  (the one difference the README lists for these settings), while we accept simplejwt's tokens.

Any disagreement ends the script with a message and exit status 1.

Run from the repository root after `cargo build`, in a virtual environment with Django 5.2,
djangorestframework and djangorestframework-simplejwt==5.5.1 installed (.ci/run does).
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

SIGNING_KEY = "interop-only-signing-key-0123456789abcdefghijklmnop"
ISSUER = "https://auth.example.com"
AUDIENCE = ["shop", "admin"]
BINARY = os.environ.get("JWT_WORKBOOK_BINARY", "target/debug/jwt-workbook")

OUR_FLAGS = [
    "--issuer", ISSUER,
    "--audience", ",".join(AUDIENCE),
    "--user-id-field", "username",
    "--user-id-claim", "sub",
    "--token-type-claim", "typ",
    "--jti-claim", "token_id",
    "--leeway", "5s",
    "--auth-header-types", "JWT,Bearer",
]

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    SECRET_KEY="not-the-signing-key",
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "rest_framework",
        "rest_framework_simplejwt",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    USE_TZ=True,
    SIMPLE_JWT={
        "SIGNING_KEY": SIGNING_KEY,
        "ISSUER": ISSUER,
        "AUDIENCE": AUDIENCE,
        "USER_ID_FIELD": "username",
        "USER_ID_CLAIM": "sub",
        "TOKEN_TYPE_CLAIM": "typ",
        "JTI_CLAIM": "token_id",
        "LEEWAY": 5,
        "AUTH_HEADER_TYPES": ("JWT", "Bearer"),
    },
)
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402
from rest_framework_simplejwt.authentication import JWTAuthentication  # noqa: E402
from rest_framework_simplejwt.backends import TokenBackend  # noqa: E402
from rest_framework_simplejwt.exceptions import AuthenticationFailed, TokenError  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, UntypedToken  # noqa: E402

FAILURES = []


def check(condition, what):
    print(("ok      " if condition else "FAILED  ") + what)
    if not condition:
        FAILURES.append(what)


class Server:
    """Our real binary on a free port, with its own data directory; stopped by stop()."""

    def __init__(self, flags):
        self.data = tempfile.TemporaryDirectory()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
        environment["RUST_LOG"] = "warn"
        self.process = subprocess.Popen(
            [BINARY, "--environment", "development", "--no-book", "--addr", "127.0.0.1:0",
             "--data-dir", self.data.name, "--signing-key", SIGNING_KEY, *flags],
            stdout=subprocess.PIPE, text=True, env=environment,
        )
        for line in self.process.stdout:
            if "serving on " in line:
                self.base = line.split("serving on ", 1)[1].strip()
                break
        else:
            sys.exit(f"the server exited before serving (flags {flags})")
        # Keep reading, so the server never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def call(self, method, path, body=None, authorization=None):
        """(status, JSON body) of one request."""
        request = urllib.request.Request(self.base + path, method=method)
        request.add_header("Accept", "application/json")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        if authorization:
            request.add_header("Authorization", authorization)
        try:
            with urllib.request.urlopen(request, data=data, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def call_with_headers(self, method, path, headers):
        """(status, JSON body) of a request with these headers, repeated names kept."""
        import http.client
        host = self.base.removeprefix("http://")
        connection = http.client.HTTPConnection(host, timeout=30)
        connection.putrequest(method, path)
        for name, value in headers + [("Accept", "application/json")]:
            connection.putheader(name, value)
        connection.endheaders()
        answer = connection.getresponse()
        body = json.loads(answer.read() or b"{}")
        connection.close()
        return answer.status, body

    def log_in(self):
        status, body = self.call("POST", "/api/token/",
                                 {"username": "demo", "password": "demo-password"})
        if status != 200:
            sys.exit(f"logging in as the demo user: {status} {body}")
        return body["refresh"], body["access"]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.data.cleanup()


class own_authentication_settings:
    """JWTAuthentication with SIMPLE_JWT plus these keys, for the duration of a `with`."""

    def __init__(self, **changes):
        from rest_framework_simplejwt import settings as simplejwt_settings
        self.changed = simplejwt_settings.APISettings(
            {**settings.SIMPLE_JWT, **changes},
            simplejwt_settings.DEFAULTS,
            simplejwt_settings.IMPORT_STRINGS,
        )

    def __enter__(self):
        from rest_framework_simplejwt import authentication
        self.original = authentication.api_settings
        authentication.api_settings = self.changed

    def __exit__(self, *_):
        from rest_framework_simplejwt import authentication
        authentication.api_settings = self.original


def payload(token):
    """The claims, in the order they were written (no checks)."""
    import base64
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)),
                      object_pairs_hook=lambda pairs: pairs)


def claim_names(token):
    return [name for name, _ in payload(token)]


def refused_by_simplejwt(token_class, token):
    try:
        token_class(token)
    except TokenError:
        return True
    return False


def django_authenticates(token, scheme):
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"{scheme} {token}")
    found = JWTAuthentication().authenticate(request)
    return found is not None and found[0].username == "demo"


def main():
    call_command("migrate", verbosity=0)
    demo = User.objects.create_user("demo", password="demo-password")

    configured = Server(OUR_FLAGS)
    # The mismatches: another audience and no issuer; another issuer; neither configured.
    other_audience = Server(["--audience", "billing", "--user-id-field", "username",
                             "--user-id-claim", "sub", "--token-type-claim", "typ",
                             "--jti-claim", "token_id"])
    other_issuer = Server([flag.replace(ISSUER, "https://other.example.com") for flag in OUR_FLAGS])
    plain = Server([])
    try:
        # Ours → simplejwt.
        refresh, access = configured.log_in()
        check(AccessToken(access)["sub"] == "demo", "simplejwt's AccessToken decodes our access token")
        check(RefreshToken(refresh)["typ"] == "refresh", "simplejwt's RefreshToken decodes our refresh token")
        check(UntypedToken(access)["iss"] == ISSUER, "simplejwt's UntypedToken sees our issuer")
        backend = TokenBackend("HS256", SIGNING_KEY, audience=AUDIENCE, issuer=ISSUER)
        check(backend.decode(access)["aud"] == AUDIENCE, "simplejwt's TokenBackend decodes our aud")
        check(refused_by_simplejwt(AccessToken, refresh), "simplejwt refuses our refresh token as an access token")
        check(django_authenticates(access, "JWT"), "JWTAuthentication finds our token's user by username")
        check(django_authenticates(access, "Bearer"), "JWTAuthentication takes the second header type too")

        # simplejwt → ours.
        their_refresh = RefreshToken.for_user(demo)
        their_access = str(their_refresh.access_token)
        their_refresh = str(their_refresh)
        for scheme in ["JWT", "Bearer"]:
            status, body = configured.call("GET", "/api/me/", authorization=f"{scheme} {their_access}")
            check(status == 200 and body.get("username") == "demo",
                  f"our server accepts simplejwt's access token as '{scheme} …' ({status} {body})")
        status, body = configured.call("POST", "/api/token/refresh/", {"refresh": their_refresh})
        check(status == 200 and "access" in body, f"our server refreshes simplejwt's refresh token ({status} {body})")
        if status == 200:
            check(AccessToken(body["access"])["sub"] == "demo", "simplejwt decodes the access token that refresh gave")
        from_our_refresh = str(RefreshToken(refresh).access_token)
        status, _ = configured.call("GET", "/api/me/", authorization=f"JWT {from_our_refresh}")
        check(status == 200, f"simplejwt's access token cut from our refresh token opens our route ({status})")

        # The same claims in the same order.
        check(claim_names(access) == claim_names(their_access),
              f"access claims in simplejwt's order: ours {claim_names(access)}, simplejwt's {claim_names(their_access)}")
        check(claim_names(refresh) == claim_names(their_refresh),
              f"refresh claims in simplejwt's order: ours {claim_names(refresh)}, simplejwt's {claim_names(their_refresh)}")
        status, _ = configured.call("GET", "/api/me/", authorization=f"Token {their_access}")
        check(status == 401, f"a header type not configured is refused ({status})")

        # Two Authorization headers: Django joins them with "," and DRF refuses the result.
        joined = f"JWT {their_access},JWT {their_access}"
        try:
            JWTAuthentication().authenticate(APIRequestFactory().get("/", HTTP_AUTHORIZATION=joined))
            drf_says = None
        except AuthenticationFailed as refusal:
            drf_says = {name: str(value) for name, value in refusal.detail.items()}
        status, body = configured.call_with_headers(
            "GET", "/api/me/", [("Authorization", f"JWT {their_access}")] * 2)
        check(status == 401 and body == drf_says,
              f"two Authorization headers: ours {status} {body}, DRF's {drf_says}")

        # AUTH_HEADER_NAME: the token in another header, both ways; Authorization then ignored.
        custom_header = Server(OUR_FLAGS + ["--auth-header-name", "HTTP_X_ACCESS_TOKEN"])
        try:
            # simplejwt reads its settings once, at import: JWTAuthentication's module gets its
            # own settings object with the new key, as a Django process started with it would.
            with own_authentication_settings(AUTH_HEADER_NAME="HTTP_X_ACCESS_TOKEN"):
                _, ours = custom_header.log_in()
                request = APIRequestFactory().get("/", HTTP_X_ACCESS_TOKEN=f"JWT {ours}")
                found = JWTAuthentication().authenticate(request)
                check(found is not None and found[0].username == "demo",
                      "JWTAuthentication with AUTH_HEADER_NAME finds our token in X-Access-Token")
                request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"JWT {ours}")
                check(JWTAuthentication().authenticate(request) is None,
                      "JWTAuthentication with AUTH_HEADER_NAME ignores Authorization")
            status, _ = custom_header.call_with_headers(
                "GET", "/api/me/", [("X-Access-Token", f"JWT {their_access}")])
            check(status == 200, f"our server takes simplejwt's token in X-Access-Token ({status})")
            status, body = custom_header.call("GET", "/api/me/", authorization=f"JWT {their_access}")
            check(status == 401, f"our server with --auth-header-name ignores Authorization ({status} {body})")
        finally:
            custom_header.stop()

        # Mismatches, refused by simplejwt.
        _, wrong_audience = other_audience.log_in()
        check(refused_by_simplejwt(AccessToken, wrong_audience), "simplejwt refuses our token for another audience and without iss")
        _, wrong_issuer = other_issuer.log_in()
        check(refused_by_simplejwt(AccessToken, wrong_issuer), "simplejwt refuses our token from another issuer")
        _, no_claims = plain.log_in()
        check(refused_by_simplejwt(UntypedToken, no_claims), "simplejwt (with ISSUER and AUDIENCE) refuses our token without them")

        # Mismatches, refused by us.
        claims = dict(payload(their_access))
        for name, backend_args in [
            ("another audience", {"audience": "billing", "issuer": ISSUER}),
            ("no audience", {"audience": None, "issuer": ISSUER}),
            ("no issuer", {"audience": AUDIENCE, "issuer": None}),
            ("another issuer", {"audience": AUDIENCE, "issuer": "https://other.example.com"}),
        ]:
            bare = {k: v for k, v in claims.items() if k not in ("aud", "iss")}
            token = TokenBackend("HS256", SIGNING_KEY, **backend_args).encode(bare)
            status, body = configured.call("GET", "/api/me/", authorization=f"JWT {token}")
            check(status == 401, f"our server refuses simplejwt's token with {name} ({status} {body})")
            check(refused_by_simplejwt(AccessToken, token), f"simplejwt refuses its own token with {name}")

        # PyJWT's own claim checks, whatever simplejwt names its claims: a `jti` or a `sub`
        # that is not a string.
        for name in ["jti", "sub"]:
            odd = dict(claims)
            odd[name] = 7
            token = backend.encode(odd)
            status, body = configured.call("GET", "/api/me/", authorization=f"JWT {token}")
            check(status == 401, f"our server refuses a token whose {name} is a number ({status} {body})")
            check(refused_by_simplejwt(AccessToken, token), f"simplejwt refuses a token whose {name} is a number")

        # Without AUDIENCE: simplejwt never writes an aud, and accepts a token that has one; we
        # refuse such a token (the README's documented difference), and accept simplejwt's own.
        open_backend = TokenBackend("HS256", SIGNING_KEY)
        check(open_backend.decode(wrong_audience)["aud"] == "billing",
              "simplejwt without AUDIENCE accepts a token with an aud (our documented difference)")
        plain_claims = dict(payload(no_claims))
        check("aud" not in open_backend.decode(open_backend.encode(plain_claims)),
              "simplejwt without AUDIENCE writes no aud")
        token = open_backend.encode(plain_claims)
        status, body = plain.call("GET", "/api/me/", authorization=f"Bearer {token}")
        check(status == 200, f"our server without --audience accepts simplejwt's token ({status} {body})")
        plain_claims["aud"] = "billing"
        token = open_backend.encode(plain_claims)
        status, body = plain.call("GET", "/api/me/", authorization=f"Bearer {token}")
        check(status == 401, f"our server without --audience refuses a token with an aud ({status} {body})")
    finally:
        for server in (configured, other_audience, other_issuer, plain):
            server.stop()

    if FAILURES:
        print(f"\n{len(FAILURES)} disagreement(s) with simplejwt 5.5.1:", file=sys.stderr)
        for failure in FAILURES:
            print(f"  - {failure}", file=sys.stderr)
        sys.exit(1)
    print("\nsimplejwt 5.5.1 and our server agree on every check")


if __name__ == "__main__":
    main()

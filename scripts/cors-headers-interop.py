#!/usr/bin/env python3
"""Our CORS answers against django-cors-headers' own, request by request.

Django is configured in this script (no project) with django-cors-headers' CorsMiddleware in
front of one view. Our real binary runs with the matching flags. The same requests (simple and
preflight, from a listed origin, an unlisted one and none) go to both: Django through its test
client, ours over HTTP. Every `Access-Control-*` header must be the same, name and value, and
both answers must vary on the origin; a preflight must be answered 200 with an empty body by
both. Three configurations: a list with credentials, a list with exposed headers and no
max-age, and every origin allowed; and with no origin allowed, the one difference: only
django-cors-headers still says `Vary: origin`.

Any disagreement ends the script with a message and exit status 1.

Run from the repository root after `cargo build`, in a virtual environment with Django 5.2 and
django-cors-headers installed (.ci/run does).
"""

import os
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

BINARY = os.environ.get("JWT_WORKBOOK_BINARY", "target/debug/jwt-workbook")
LISTED = "https://app.example.com"
UNLISTED = "https://evil.example.net"

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


def healthz(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [path("healthz", healthz), path("api/token/", healthz)]

settings.configure(
    SECRET_KEY="cors-interop",
    ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["corsheaders"],
    MIDDLEWARE=["corsheaders.middleware.CorsMiddleware"],
)
django.setup()

from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

FAILURES = []

# (Django settings, our flags)
CONFIGURATIONS = [
    (
        {"CORS_ALLOWED_ORIGINS": [LISTED, "http://localhost:3000"], "CORS_ALLOW_CREDENTIALS": True},
        ["--cors-allowed-origins", f"{LISTED},http://localhost:3000", "--cors-allow-credentials"],
    ),
    (
        {"CORS_ALLOWED_ORIGINS": [LISTED], "CORS_EXPOSE_HEADERS": ["x-request-id"],
         "CORS_PREFLIGHT_MAX_AGE": 0},
        ["--cors-allowed-origins", LISTED, "--cors-expose-headers", "x-request-id",
         "--cors-preflight-max-age", "0"],
    ),
    (
        {"CORS_ALLOW_ALL_ORIGINS": True},
        ["--cors-allow-all-origins"],
    ),
]

# (method, path, request headers)
REQUESTS = [
    ("GET", "/healthz", {"Origin": LISTED}),
    ("GET", "/healthz", {"Origin": UNLISTED}),
    ("GET", "/healthz", {"Origin": "HTTPS://app.example.com"}),
    ("GET", "/healthz", {"Origin": "https://app.example.com:8443"}),
    ("GET", "/healthz", {"Origin": "null"}),
    ("GET", "/healthz", {}),
    ("OPTIONS", "/api/token/", {"Origin": LISTED, "Access-Control-Request-Method": "POST",
                                "Access-Control-Request-Headers": "authorization, content-type"}),
    ("OPTIONS", "/api/token/", {"Origin": UNLISTED, "Access-Control-Request-Method": "POST"}),
    ("OPTIONS", "/api/token/", {"Origin": LISTED}),
]


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
            [BINARY, "--environment", "development", "--no-book", "--no-demo-user",
             "--addr", "127.0.0.1:0", "--data-dir", self.data.name, *flags],
            stdout=subprocess.PIPE, text=True, env=environment,
        )
        for line in self.process.stdout:
            if "serving on " in line:
                self.base = line.split("serving on ", 1)[1].strip()
                break
        else:
            sys.exit(f"the server exited before serving (flags {flags})")
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def call(self, method, path, headers):
        """(status, lower-cased headers, body)."""
        request = urllib.request.Request(self.base + path, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.data.cleanup()


def cors_headers(headers):
    return sorted((name.lower(), value) for name, value in headers.items()
                  if name.lower().startswith("access-control-"))


def varies_on_origin(headers):
    values = headers.get_all("Vary") if hasattr(headers, "get_all") else [headers.get("Vary", "")]
    return any(name.strip().lower() == "origin"
               for value in values or [] for name in value.split(","))


def django_answer(method, path, headers):
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    response = Client().generic(method, path, **meta)
    return response.status_code, response.headers, response.content


def main():
    for django_settings, flags in CONFIGURATIONS:
        server = Server(flags)
        try:
            with override_settings(**django_settings):
                for method, path, headers in REQUESTS:
                    case = f"{' '.join(flags)} | {method} {path} {headers}"
                    d_status, d_headers, d_body = django_answer(method, path, headers)
                    o_status, o_headers, o_body = server.call(method, path, headers)
                    check(cors_headers(o_headers) == cors_headers(d_headers),
                          f"{case}: ours {cors_headers(o_headers)}, "
                          f"django-cors-headers' {cors_headers(d_headers)}")
                    check(varies_on_origin(o_headers) and varies_on_origin(d_headers),
                          f"{case}: both vary on origin")
                    if method == "OPTIONS" and "Access-Control-Request-Method" in headers:
                        check(o_status == d_status == 200 and o_body == d_body == b"",
                              f"{case}: preflight answered 200, empty, by both "
                              f"(ours {o_status} {o_body!r}, theirs {d_status} {d_body!r})")
        finally:
            server.stop()

    # With no origin allowed, neither sends a CORS header; django-cors-headers still adds
    # `Vary: origin`, we add nothing at all (the book's page says so).
    server = Server([])
    try:
        for method, path, headers in REQUESTS:
            case = f"no origin allowed | {method} {path} {headers}"
            _, d_headers, _ = django_answer(method, path, headers)
            _, o_headers, _ = server.call(method, path, headers)
            check(cors_headers(o_headers) == cors_headers(d_headers) == [],
                  f"{case}: no CORS header from either")
            check(varies_on_origin(d_headers) and not varies_on_origin(o_headers),
                  f"{case}: only django-cors-headers varies on origin")
    finally:
        server.stop()

    if FAILURES:
        print(f"\n{len(FAILURES)} disagreement(s) with django-cors-headers:", file=sys.stderr)
        for failure in FAILURES:
            print(f"  - {failure}", file=sys.stderr)
        sys.exit(1)
    print("\ndjango-cors-headers and our server agree on every check")


if __name__ == "__main__":
    main()

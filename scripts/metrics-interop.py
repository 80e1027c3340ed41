#!/usr/bin/env python3
"""`/metrics` read by a parser that is not ours: the Prometheus project's Python client.

Starts the server binary given as the first argument (`--metrics-addr` on a port of its own),
logs in, fails a login, rotates a refresh token and reuses the old one, asks for a path no route
declares, then scrapes `/metrics` and parses it with prometheus_client's strict OpenMetrics
parser. Checks the numbers, that the public port has no `/metrics`, and that a made-up path
left no series of its own. Exits non-zero on any mismatch.

Run from the repository root, in a virtual environment with prometheus-client installed
(.ci/run does): python scripts/metrics-interop.py target/debug/jwt-workbook
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, body=None, expect=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, text, headers = answer.status, answer.read().decode(), answer.headers
    except urllib.error.HTTPError as error:
        status, text, headers = error.code, error.read().decode(), error.headers
    if expect is not None and status != expect:
        sys.exit(f"{url}: expected {expect}, got {status}: {text}")
    return status, text, headers


def wait_for_banner(process):
    """Reads the server's banner until its metrics line: by then both ports listen."""
    for line in process.stdout:
        if "/metrics" in line:
            return
    sys.exit(f"the server stopped before listening: exit {process.wait()}")


def main():
    binary = sys.argv[1]
    api, metrics = free_port(), free_port()
    with tempfile.TemporaryDirectory() as data:
        subprocess.run(
            [binary, "--data-dir", data, "user", "create", "ada", "--password-stdin"],
            input=b"a-long-password-1\n",
            check=True,
        )
        server = subprocess.Popen(
            [binary, "--data-dir", data, "--addr", f"127.0.0.1:{api}",
             "--metrics-addr", f"127.0.0.1:{metrics}", "--no-book"],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        try:
            base = f"http://127.0.0.1:{api}"
            wait_for_banner(server)
            _, pair, _ = call(f"{base}/api/token/", {"username": "ada", "password": "a-long-password-1"}, 200)
            refresh = json.loads(pair)["refresh"]
            call(f"{base}/api/token/", {"username": "ada", "password": "wrong"}, 401)
            call(f"{base}/api/token/refresh/", {"refresh": refresh}, 200)
            call(f"{base}/api/token/refresh/", {"refresh": refresh}, 401)
            call(f"{base}/no-such-page-1234/", expect=404)
            call(f"{base}/metrics", expect=404)

            _, text, headers = call(f"http://127.0.0.1:{metrics}/metrics", expect=200)
            if not headers["Content-Type"].startswith("application/openmetrics-text"):
                sys.exit(f"unexpected Content-Type {headers['Content-Type']}")
            samples = {}
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    samples[key] = sample.value

            def value(name, **labels):
                return samples.get((name, tuple(sorted(labels.items()))), 0)

            expected = [
                (value("logins_total", outcome="ok"), 1),
                (value("logins_total", outcome="failed"), 1),
                (value("token_refreshes_total", outcome="ok"), 1),
                (value("token_refreshes_total", outcome="refused"), 1),
                (value("revocations_total", reason="reuse"), 1),
                (value("http_requests_total", route="/api/token/", method="POST", status="200"), 1),
                (value("http_requests_total", route="unmatched", method="GET", status="404"), 2),
                (value("password_hashes_in_flight"), 0),
            ]
            for got, want in expected:
                if got != want:
                    sys.exit(f"expected {want}, got {got}; the scrape:\n{text}")
            if "no-such-page" in text:
                sys.exit("a made-up path became a label")
            print(f"OK: {len(samples)} samples parsed by prometheus_client's OpenMetrics parser")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

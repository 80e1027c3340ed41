"""A real Django + simplejwt service moves to our server, and every token and password behaves
there as it did at Django.

Run by tests/django.rs (`cargo test --test django -- --ignored`, a step of .ci/run) with the venv
.ci/run installs (Django 5.2, djangorestframework, djangorestframework-simplejwt 5.5.1,
argon2-cffi, psycopg):

    python check.py --binary target/debug/jwt-workbook --work-dir /tmp/x [--postgres URL]

Without --postgres, Django's database is a SQLite file in the work dir and so is ours; with it,
both are new databases on that PostgreSQL server (dropped at the end).

At Django: users (one deleted to leave an id gap, the newest one deleted too, an inactive one,
one with an unusable password, PBKDF2, argon2, scrypt and bcrypt-SHA256 hashes), logins through simplejwt's views, one
session logged out, one rotated. Then `import-django`, our server on a free port with the same
signing key, and the checks over HTTP; then a second import during the "cut-over window", and
the way back: tokens our server issues, accepted by simplejwt. Any mismatch fails the run, with
every failed check listed.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIGNING_KEY = "interop-signing-key-" + "k3y" * 16  # shared by Django and our server
PASSWORDS = {
    "alice": "alice-pbkdf2-password",
    "bob": "bob-deleted-password",
    "carol": "carol-argon2-password",
    "dave": "dave-inactive-password",
    "erin": "erin-has-none",
    "grace": "grace-scrypt-password",
    "heidi": "heidi-bcrypt-password",
    "frank": "frank-deleted-last",
}

failures = []


def expect(condition, what):
    print(("ok     " if condition else "FAILED ") + what, flush=True)
    if not condition:
        failures.append(what)


def django_setup(database_url, migrate=True):
    sys.path.insert(0, HERE)
    os.environ["DJANGO_SETTINGS_MODULE"] = "interop.settings"
    os.environ["DJANGO_SECRET_KEY"] = "interop-django-secret"
    os.environ["DJANGO_DATABASE_URL"] = database_url
    os.environ["JWT_SIGNING_KEY"] = SIGNING_KEY
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


class Django:
    """simplejwt's views through Django's test client: the real code, without a server."""

    def __init__(self):
        from rest_framework.test import APIClient

        self.client = APIClient()

    def post(self, path, body):
        response = self.client.post(path, body, format="json")
        return response.status_code, json.loads(response.content or b"{}")

    def me(self, access):
        response = self.client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {access}")
        return response.status_code, json.loads(response.content or b"{}")

    def login(self, username):
        status, body = self.post(
            "/api/token/", {"username": username, "password": PASSWORDS[username]}
        )
        assert status == 200, (username, status, body)
        return body


def way_back_with_default_settings(django_db, pair):
    """What a simplejwt with its default settings (but the signing key) makes of a pair our
    server issued: this script again, in a process of its own."""
    done = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--way-back", django_db],
        input=json.dumps(pair), capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the default-settings check failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def way_back(django_db):
    """The child's side: a pair on stdin, what simplejwt answered on stdout."""
    os.environ["INTEROP_SIMPLEJWT_DEFAULTS"] = "1"
    django_setup(django_db, migrate=False)
    django = Django()
    pair = json.load(sys.stdin)
    me_status, me = django.me(pair["access"])
    verify_status, _ = django.post("/api/token/verify/", {"token": pair["refresh"]})
    refresh_status, refreshed = django.post("/api/token/refresh/", {"refresh": pair["refresh"]})
    again_status, again = django.me(refreshed.get("access", ""))
    print(json.dumps({
        "me": [me_status, me.get("id")],
        "verify": verify_status,
        "refresh": [refresh_status, sorted(refreshed)],
        "refreshed_me": [again_status, again.get("id")],
    }))


def book_report():
    """The dry run's report as book/src/moving-from-django.md shows it (its first text block)."""
    book = os.path.join(HERE, "..", "..", "book", "src", "moving-from-django.md")
    with open(book, encoding="utf-8") as page:
        text = page.read()
    start = text.index("```text\n") + len("```text\n")
    return text[start : text.index("```", start)]


def make_users():
    from django.contrib.auth.models import User

    users = {}
    for name in ["alice", "bob", "carol", "dave", "erin", "grace", "heidi", "frank"]:
        users[name] = User.objects.create_user(name, f"{name}@example.com", PASSWORDS[name])
    dave = users["dave"]
    dave.is_active = False
    dave.save()
    erin = users["erin"]
    erin.set_unusable_password()
    erin.save()
    return users


def give_hash(username, hasher):
    """A hash made by another of Django's hashers than the preferred one. Set after the user's
    logins at Django: a login there would replace it by PBKDF2's, as Django upgrades hashes."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User

    user = User.objects.get(username=username)
    user.password = make_password(PASSWORDS[username], hasher=hasher)
    user.save()


class Ours:
    """Our real binary: commands, and the server on a free port."""

    def __init__(self, binary, work_dir, our_db):
        self.binary = binary
        self.env = dict(os.environ)
        self.env.update(
            {
                "JWT_WORKBOOK_DATA_DIR": os.path.join(work_dir, "ours"),
                "JWT_WORKBOOK_ENV": "production",
                "JWT_SIGNING_KEY": SIGNING_KEY,
                "JWT_WORKBOOK_NO_DEMO_USER": "true",
                "JWT_WORKBOOK_NO_BOOK": "true",
                "RUST_LOG": "warn",
            }
        )
        if our_db:
            self.env["DATABASE_URL"] = our_db
        else:
            self.env.pop("DATABASE_URL", None)
        self.server = None
        self.base = None

    def run(self, *args, input=None):
        done = subprocess.run(
            [self.binary, *args], env=self.env, capture_output=True, text=True, input=input
        )
        print(done.stdout + done.stderr, end="", flush=True)
        if done.returncode != 0:
            raise SystemExit(f"{self.binary} {' '.join(args)} failed ({done.returncode})")
        return done.stdout

    def start(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.server = subprocess.Popen(
            [self.binary, "serve", "--addr", f"127.0.0.1:{port}"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(600):
            if self.server.poll() is not None:
                raise SystemExit(f"our server exited with {self.server.returncode}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("our server did not answer /healthz")

    def stop(self):
        if self.server is not None:
            self.server.kill()
            self.server.wait()
            self.server = None

    def call(self, method, path, body=None, bearer=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if bearer:
            request.add_header("Authorization", f"Bearer {bearer}")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def refresh(self, refresh):
        return self.call("POST", "/api/token/refresh/", {"refresh": refresh})

    def login(self, username, password=None):
        password = PASSWORDS[username] if password is None else password
        return self.call("POST", "/api/token/", {"username": username, "password": password})


def stored_hash(ours, our_db, username):
    """The password hash our store holds for `username`, read from the database itself."""
    if our_db:
        import psycopg

        with psycopg.connect(our_db) as connection:
            row = connection.execute(
                "SELECT password_hash FROM users WHERE username = %s", (username,)
            ).fetchone()
    else:
        import sqlite3

        path = os.path.join(ours.env["JWT_WORKBOOK_DATA_DIR"], "workbook.sqlite3")
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            row = connection.execute(
                "SELECT password_hash FROM users WHERE username = ?", (username,)
            ).fetchone()
    return row[0] if row else None


def main():
    if sys.argv[1:2] == ["--way-back"]:
        return way_back(sys.argv[2])
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--postgres", default="", help="a PostgreSQL server's URL")
    args = parser.parse_args()
    if args.postgres:
        with new_databases(args.postgres, ["django_interop", "jwt_import"]) as (django_db, ours):
            args.django_db, args.our_db = django_db, ours
            run(args)
    else:
        args.django_db = "sqlite:///" + os.path.join(os.path.abspath(args.work_dir), "django.sqlite3")
        args.our_db = ""
        run(args)


class new_databases:
    """Fresh databases on a PostgreSQL server, named after this process, dropped on exit."""

    def __init__(self, server, names):
        from urllib.parse import urlparse

        self.server = server
        self.names = [f"{name}_{os.getpid()}" for name in names]
        self.base = server.rsplit("/", 1)[0]
        urlparse(server)  # fails early on something that is no URL

    def __enter__(self):
        import psycopg

        with psycopg.connect(self.server, autocommit=True) as connection:
            for name in self.names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
                connection.execute(f'CREATE DATABASE "{name}"')
        return [f"{self.base}/{name}" for name in self.names]

    def __exit__(self, *_):
        import psycopg
        from django.db import connections

        connections.close_all()
        with psycopg.connect(self.server, autocommit=True) as connection:
            for name in self.names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(args):
    django_setup(args.django_db)
    from django.contrib.auth.models import User

    users = make_users()
    django = Django()
    ids = {name: user.id for name, user in users.items()}

    # Sessions at Django, then what happens to them there.
    logged_out = django.login("alice")
    rotated = django.login("alice")
    live = django.login("alice")
    carol = django.login("carol")
    frank = django.login("frank")
    bob = django.login("bob")
    status, _ = django.post("/api/token/blacklist/", {"refresh": logged_out["refresh"]})
    assert status == 200, status
    status, rotation = django.post("/api/token/refresh/", {"refresh": rotated["refresh"]})
    assert status == 200 and "refresh" in rotation, (status, rotation)
    status, _ = django.post("/api/token/refresh/", {"refresh": rotated["refresh"]})
    assert status == 401, "simplejwt itself refuses the rotated-away token"
    give_hash("carol", "argon2")
    give_hash("grace", "scrypt")
    give_hash("heidi", "bcrypt_sha256")
    # dave's token was issued while he was active; Django deactivated him since.
    dave = User.objects.get(username="dave")
    dave.is_active = True
    dave.save()
    dave_session = django.login("dave")
    dave.is_active = False
    dave.save()
    # bob is deleted (an id gap), and frank, the newest user, too: the highest id is a deleted one.
    User.objects.get(username="bob").delete()
    User.objects.get(username="frank").delete()
    expect(
        User.objects.order_by("-id").first().id < ids["frank"],
        "at Django the highest id left is below frank's (deleted)",
    )
    # A refresh at Django rotates the live session too: the new pair is the one carried over.
    status, live = django.post("/api/token/refresh/", {"refresh": live["refresh"]})
    expect(status == 200, "at Django the live session refreshes")

    ours = Ours(args.binary, args.work_dir, args.our_db)

    # A dry run changes nothing.
    # What import-django reads from. On PostgreSQL, every transaction of its session is read-only
    # (the server refuses any write): the import works without writing anything at Django.
    source = args.django_db
    if args.postgres:
        source += "?options=-c%20default_transaction_read_only%3Don"
    report = ours.run("import-django", "--from", source, "--dry-run")
    expect(report == book_report(), "--dry-run prints the report the book shows")
    expect("dry run: nothing was changed" in report, "--dry-run says it changed nothing")
    expect("6 to create" in report, "--dry-run counts the six users left at Django")
    expect(stored_hash(ours, args.our_db, "alice") is None, "--dry-run wrote no user")
    expect('#5 "erin"' in report and "unusable password" in report,
           "the report names erin's unusable password")

    started = time.monotonic()
    report = ours.run("import-django", "--from", source)
    print(f"import took {time.monotonic() - started:.2f} s (process included)")
    expect(f"ids above {ids['frank']}" in report, "new ids continue above frank's deleted id")
    again = ours.run("import-django", "--from", source)
    expect("0 to create, 0 to update" in again and "6 unchanged" in again,
           "a second import with nothing changed at Django changes nothing")

    ours.start()
    try:
        # Tokens issued by Django.
        status, body = ours.refresh(logged_out["refresh"])
        expect(status == 401 and body.get("code") == "token_not_valid",
               "the refresh token logged out at Django is refused")
        status, body = ours.refresh(rotated["refresh"])
        expect(status == 401, "the refresh token rotated away at Django is refused")
        status, body = ours.refresh(rotation["refresh"])
        expect(status == 200 and "refresh" in body and "access" in body,
               "the token Django rotated to refreshes here, and rotates")
        if status == 200:
            status, again_body = ours.refresh(body["refresh"])
            expect(status == 200, "the token our server rotated to refreshes in turn")
            status, _ = ours.refresh(rotation["refresh"])
            expect(status == 401, "the Django token just rotated here is refused the second time")
        status, body = ours.refresh(live["refresh"])
        expect(status == 200, "the live Django session refreshes here")
        for name, session in [("alice", live), ("carol", carol)]:
            status, body = ours.call("GET", "/api/me/", bearer=session["access"])
            expect(status == 200 and body.get("id") == ids[name] and body.get("username") == name,
                   f"{name}'s Django access token is {name} (id {ids[name]}) here")
        status, _ = ours.call("GET", "/api/me/", bearer=frank["access"])
        expect(status == 401, "a deleted user's Django access token names nobody here")
        status, _ = ours.refresh(bob["refresh"])
        expect(status == 401, "a deleted user's Django refresh token is refused")
        status, _ = ours.refresh(dave_session["refresh"])
        expect(status == 401, "the inactive user's Django refresh token is refused")
        status, _ = ours.login("dave")
        expect(status == 401, "the inactive user cannot log in")
        status, _ = ours.login("erin")
        expect(status == 401, "the user with an unusable password cannot log in")

        # Passwords: Django's hashes verify, then are replaced by argon2id.
        for name, kind in [
            ("alice", "pbkdf2_sha256$"),
            ("carol", "argon2$argon2id$"),
            ("grace", "scrypt$"),
            ("heidi", "bcrypt_sha256$"),
        ]:
            expect(stored_hash(ours, args.our_db, name).startswith(kind),
                   f"{name}'s hash arrived as Django's {kind}")
            status, _ = ours.login(name, "wrong")
            expect(status == 401, f"{name}'s wrong password is refused")
            status, body = ours.login(name)
            expect(status == 200, f"{name} logs in with the password set at Django")
            expect(stored_hash(ours, args.our_db, name).startswith("$argon2id$"),
                   f"{name}'s hash is argon2id after that login")
            status, _ = ours.login(name)
            expect(status == 200, f"{name} logs in again with the upgraded hash")

        # A user created here gets an id no Django token names.
        ours.run("user", "create", "newcomer", "--password-stdin", input="newcomer-password\n")
        status, body = ours.login("newcomer", "newcomer-password")
        expect(status == 200, "a user created here logs in")
        if status == 200:
            status, me = ours.call("GET", "/api/me/", bearer=body["access"])
            expect(me.get("id", 0) > ids["frank"], "and has an id above every id Django gave")
        status, _ = ours.call("GET", "/api/me/", bearer=frank["access"])
        expect(status == 401, "frank's Django token still names nobody")

        # The way back: tokens our server issues are simplejwt's tokens, first for a simplejwt
        # left at its defaults (but the key; another process, since simplejwt reads its settings
        # once), then for this service's settings (rotation on).
        status, pair = ours.login("alice")
        seen = way_back_with_default_settings(args.django_db, pair)
        expect(seen["me"] == [200, ids["alice"]],
               "simplejwt (default settings) accepts our access token, for the same user")
        expect(seen["verify"] == 200, "simplejwt (default settings) verifies our refresh token")
        expect(seen["refresh"] == [200, ["access"]],
               "simplejwt (default settings) refreshes with our refresh token")
        expect(seen["refreshed_me"] == [200, ids["alice"]],
               "and the access token it gives is alice's")
        status, body = django.post("/api/token/refresh/", {"refresh": pair["refresh"]})
        expect(status == 200 and "refresh" in body,
               "simplejwt (rotation on) refreshes with our refresh token, and rotates it away")
    finally:
        ours.stop()

    # The cut-over window: Django still serves, and changes things; a second import brings them.
    status, _ = django.post("/api/token/blacklist/", {"refresh": carol["refresh"]})
    assert status == 200
    dave = User.objects.get(username="dave")
    dave.is_active = True
    dave.set_password("dave-new-password")
    dave.save()
    User.objects.get(username="erin").delete()
    report = ours.run("import-django", "--from", source)
    # carol's logout, and our refresh token simplejwt rotated away above.
    expect("2 to add" in report, "the second import brings the new blacklist rows")
    expect("1 to deactivate" in report, "the second import deactivates the user deleted at Django")
    ours.start()
    try:
        status, _ = ours.refresh(carol["refresh"])
        expect(status == 401, "a token logged out at Django during the window is refused")
        status, _ = ours.login("dave", "dave-new-password")
        expect(status == 200, "a user reactivated with a new password at Django logs in with it")
        status, _ = ours.login("alice")
        expect(status == 200, "alice's upgraded hash survived the second import")
        status, _ = ours.refresh(pair["refresh"])
        expect(status == 401, "our refresh token, rotated away at Django, is refused here too")
    finally:
        ours.stop()

    if failures:
        print(f"\n{len(failures)} check(s) failed:", file=sys.stderr)
        for what in failures:
            print("  " + what, file=sys.stderr)
        sys.exit(1)
    print("\nevery check passed")


if __name__ == "__main__":
    main()

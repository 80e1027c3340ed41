"""How long `import-django` takes for a large Django database: N users (PBKDF2 hashes, as Django
makes them) and N/2 blacklisted refresh tokens, made with Django's ORM in bulk, then imported
twice (the first run, and a re-run with nothing changed), into SQLite or PostgreSQL.

    target/django-interop-venv/bin/python scripts/django-interop/bench_import.py \
        --binary target/debug/jwt-workbook --users 100000 [--postgres URL]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import SIGNING_KEY, django_setup, new_databases  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        if args.postgres:
            with new_databases(args.postgres, ["bench_django", "bench_ours"]) as (theirs, ours):
                bench(args, work, theirs, ours)
        else:
            bench(args, work, f"sqlite:///{work}/django.sqlite3", "")


def bench(args, work, django_db, our_db):
    django_setup(django_db)
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    started = time.monotonic()
    hash_ = make_password("bench-password")
    User.objects.bulk_create(
        [User(username=f"user{n}", email=f"user{n}@example.com", password=hash_)
         for n in range(args.users)],
        batch_size=5000,
    )
    users = list(User.objects.values_list("id", flat=True)[: args.users // 2])
    expires = timezone.now() + timedelta(days=1)
    OutstandingToken.objects.bulk_create(
        [OutstandingToken(user_id=id_, jti=uuid.uuid4().hex, token="x", expires_at=expires)
         for id_ in users],
        batch_size=5000,
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in OutstandingToken.objects.all()],
        batch_size=5000,
    )
    print(f"made {args.users} users at Django in {time.monotonic() - started:.1f} s")
    env = dict(os.environ, JWT_WORKBOOK_DATA_DIR=f"{work}/ours", JWT_SIGNING_KEY=SIGNING_KEY)
    if our_db:
        env["DATABASE_URL"] = our_db
    for run in ["first import", "re-run, nothing changed"]:
        started = time.monotonic()
        done = subprocess.run([args.binary, "import-django", "--from", django_db], env=env,
                              capture_output=True, text=True)
        took = time.monotonic() - started
        print(done.stdout.strip().splitlines()[-1] if done.stdout else done.stderr)
        print(f"{run}: {took:.2f} s for {args.users} users and {len(users)} blacklisted tokens "
              f"(into {'PostgreSQL' if our_db else 'SQLite'})")
        if done.returncode != 0:
            sys.exit(done.stderr)


if __name__ == "__main__":
    main()

-- Users, as Django's auth_user keeps what simplejwt needs: a case-sensitive unique username,
-- a password hash, and an active flag.
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    username            TEXT    NOT NULL UNIQUE,
    password_hash       TEXT    NOT NULL,
    is_active           INTEGER NOT NULL DEFAULT 1,
    date_joined         INTEGER NOT NULL
);

-- Revoked refresh tokens (rotated away or logged out). A row can go once expires_at has passed:
-- the token's own exp refuses it from then on.
CREATE TABLE token_blacklist (
    jti                 TEXT    PRIMARY KEY,
    user_id             TEXT,
    expires_at          INTEGER NOT NULL,
    blacklisted_at      INTEGER NOT NULL
);
CREATE INDEX token_blacklist_expires_at ON token_blacklist (expires_at);

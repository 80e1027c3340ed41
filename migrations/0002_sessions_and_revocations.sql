-- A session is one login and every refresh token rotated from it (a token family). Its id is
-- the first 16 hex digits of each of its tokens' jti.
CREATE TABLE sessions (
    id                  TEXT    PRIMARY KEY,
    user_id             TEXT    NOT NULL,
    started_at          INTEGER NOT NULL,
    -- The absolute cap: no token of the session lives past it.
    expires_at          INTEGER NOT NULL,
    revoked_at          INTEGER
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Revocations every instance must learn, in order (seq): a whole session, or every token of a
-- user issued before a cutoff. Each instance keeps the live ones in memory, so protected routes
-- never query this table.
CREATE TABLE revocations (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id          TEXT,
    user_id             TEXT,
    cutoff              INTEGER,
    -- When every token this could refuse has expired anyway: the row can go.
    expires_at          INTEGER NOT NULL,
    CHECK ((session_id IS NULL) <> (user_id IS NULL))
);
CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- The same schema as ../0002_sessions_and_revocations.sql, in PostgreSQL's types.
CREATE TABLE sessions (
    id                  TEXT      PRIMARY KEY,
    user_id             TEXT      NOT NULL,
    started_at          BIGINT    NOT NULL,
    expires_at          BIGINT    NOT NULL,
    revoked_at          BIGINT
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Rows are only ever added under one advisory lock (see the store), so sequence numbers
-- become visible in order and a reader that has seen seq N has seen every row before it.
CREATE TABLE revocations (
    seq                 BIGSERIAL PRIMARY KEY,
    session_id          TEXT,
    user_id             TEXT,
    cutoff              BIGINT,
    expires_at          BIGINT    NOT NULL,
    CHECK ((session_id IS NULL) <> (user_id IS NULL))
);
CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- The same schema as the SQLite one (../0001_users_and_blacklist.sql), in PostgreSQL's types.
CREATE TABLE users (
    id                  BIGSERIAL PRIMARY KEY,
    username            TEXT      NOT NULL UNIQUE,
    password_hash       TEXT      NOT NULL,
    is_active           BOOLEAN   NOT NULL DEFAULT TRUE,
    date_joined         BIGINT    NOT NULL
);

CREATE TABLE token_blacklist (
    jti                 TEXT      PRIMARY KEY,
    user_id             TEXT,
    expires_at          BIGINT    NOT NULL,
    blacklisted_at      BIGINT    NOT NULL
);
CREATE INDEX token_blacklist_expires_at ON token_blacklist (expires_at);

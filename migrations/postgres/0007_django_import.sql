-- The same as ../0006_django_import.sql, in PostgreSQL's types.
ALTER TABLE users ADD COLUMN last_login BIGINT;

CREATE TABLE django_users (
    user_id             BIGINT    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    password_hash       TEXT      NOT NULL,
    imported_at         BIGINT    NOT NULL
);

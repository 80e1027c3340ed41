-- The same as ../0003_user_email.sql, in PostgreSQL's types.
ALTER TABLE users
    ADD COLUMN email TEXT NOT NULL DEFAULT '',
    ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;

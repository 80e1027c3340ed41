-- When each user last logged in, as Django's auth_user keeps it (brought by import-django; NULL
-- for never).
ALTER TABLE users ADD COLUMN last_login INTEGER;

-- Users brought from a Django service by import-django, with Django's password hash as it was at
-- the last import: a later run takes a hash Django changed since (a password change there) and
-- keeps one this server replaced at a login (an upgrade to argon2id).
CREATE TABLE django_users (
    user_id             INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    password_hash       TEXT    NOT NULL,
    imported_at         INTEGER NOT NULL
);

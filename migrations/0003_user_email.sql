-- An address to send password-reset and verification links to, and whether its owner proved
-- they read it. Empty until set.
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;

-- The same as ../0006_oidc.sql, in PostgreSQL's types.

-- A relying party. Its redirect URIs are compared with the request's exactly, byte for byte;
-- lists are stored one URI per line. A public client (a browser app) has no secret.
CREATE TABLE oidc_clients (
    id                          TEXT    PRIMARY KEY,
    name                        TEXT    NOT NULL,
    -- SHA-256 of the secret, base64url: the secret is 256 random bits, so no slow hash is needed.
    secret_hash                 TEXT,
    redirect_uris               TEXT    NOT NULL,
    post_logout_redirect_uris   TEXT    NOT NULL DEFAULT '',
    frontchannel_logout_uri     TEXT,
    created_at                  BIGINT  NOT NULL
);

-- A browser's login at the provider, named by the SHA-256 of its cookie's value.
CREATE TABLE oidc_sessions (
    id                  TEXT    PRIMARY KEY,
    user_id             BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time           BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL,
    ended_at            BIGINT
);
CREATE INDEX oidc_sessions_expires_at ON oidc_sessions (expires_at);

-- The clients a browser session signed in to: the ones its logout must reach.
CREATE TABLE oidc_session_clients (
    session_id          TEXT    NOT NULL REFERENCES oidc_sessions (id) ON DELETE CASCADE,
    client_id           TEXT    NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    PRIMARY KEY (session_id, client_id)
);

-- An authorization code, named by its SHA-256. Redeeming it sets redeemed_at, once; the token
-- family it started is kept so that a second redemption can revoke it (RFC 6749 §4.1.2).
CREATE TABLE oidc_codes (
    id                  TEXT    PRIMARY KEY,
    client_id           TEXT    NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    redirect_uri        TEXT    NOT NULL,
    user_id             BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope               TEXT    NOT NULL,
    nonce               TEXT,
    code_challenge      TEXT    NOT NULL,
    auth_time           BIGINT  NOT NULL,
    browser_session     TEXT,
    expires_at          BIGINT  NOT NULL,
    redeemed_at         BIGINT,
    issued_session      TEXT
);
CREATE INDEX oidc_codes_expires_at ON oidc_codes (expires_at);
CREATE INDEX oidc_codes_browser_session ON oidc_codes (browser_session);

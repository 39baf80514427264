-- Tokens for the local HTTP API. Only a SHA-256 of each token is kept (tokens
-- are 256 random bits, so a fast hash is enough); the token itself is shown
-- once when it is created. Revoked tokens stay, so the ledger's callers keep a name.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- 'use': the model APIs; 'admin': also the configuration API's changes.
    scope TEXT NOT NULL CHECK (scope IN ('use', 'admin')),
    hash TEXT NOT NULL UNIQUE,
    -- The first characters of the token, to tell tokens apart in a list.
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

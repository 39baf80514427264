-- Providers as the admin configures them (one row per provider; built-ins are
-- seeded disabled with INSERT OR IGNORE).
CREATE TABLE providers (
    id                 TEXT PRIMARY KEY NOT NULL,
    kind               TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    enabled            INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    base_url           TEXT NOT NULL,
    allow_http         INTEGER NOT NULL DEFAULT 0 CHECK (allow_http IN (0, 1)),
    azure_deployments  TEXT,
    azure_api_version  TEXT,
    monthly_budget_usd REAL CHECK (monthly_budget_usd IS NULL OR monthly_budget_usd >= 0),
    position           INTEGER NOT NULL DEFAULT 0,
    last_checked_at    TEXT,
    last_ok            INTEGER CHECK (last_ok IN (0, 1)),
    last_message       TEXT,
    updated_at         TEXT NOT NULL,
    updated_by         TEXT NOT NULL
) STRICT;

-- API keys, sealed (XChaCha20-Poly1305 under the master key, the row id as
-- associated data). Only the mask is readable; tried in position order.
CREATE TABLE provider_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    mask        TEXT NOT NULL,
    nonce       BLOB NOT NULL,
    ciphertext  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX provider_keys_provider ON provider_keys (provider_id, position);

-- The models each provider listed at its last refresh.
CREATE TABLE provider_models (
    provider_id    TEXT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    model          TEXT NOT NULL,
    display_name   TEXT,
    vision         INTEGER CHECK (vision IN (0, 1)),
    context_length INTEGER,
    fetched_at     TEXT NOT NULL,
    PRIMARY KEY (provider_id, model)
) STRICT;

-- Imported prices (LiteLLM format), preferred over the built-in table. USD per million tokens.
CREATE TABLE model_prices (
    provider              TEXT NOT NULL,
    model                 TEXT NOT NULL,
    input_per_mtok        REAL NOT NULL CHECK (input_per_mtok >= 0),
    output_per_mtok       REAL NOT NULL CHECK (output_per_mtok >= 0),
    cached_input_per_mtok REAL CHECK (cached_input_per_mtok IS NULL OR cached_input_per_mtok >= 0),
    vision                INTEGER CHECK (vision IN (0, 1)),
    context_length        INTEGER,
    source                TEXT NOT NULL,
    imported_at           TEXT NOT NULL,
    PRIMARY KEY (provider, model)
) STRICT;

-- A known value sealed under the master key: tells at start-up whether the
-- master key still matches the sealed keys.
CREATE TABLE secret_check (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    nonce      BLOB NOT NULL,
    ciphertext BLOB NOT NULL
) STRICT;

-- Usage as providers report it: cached input and hidden reasoning tokens.
ALTER TABLE requests ADD COLUMN cached_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;

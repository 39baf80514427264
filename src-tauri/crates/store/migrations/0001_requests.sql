-- The request ledger: one row per LLM request, whatever its outcome.
-- created_at is RFC 3339 UTC text with milliseconds, so it sorts and ranges as time.
CREATE TABLE requests (
    id                TEXT PRIMARY KEY NOT NULL,
    created_at        TEXT NOT NULL,
    use_case          TEXT NOT NULL,
    provider          TEXT NOT NULL,
    model             TEXT NOT NULL,
    input_tokens      INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens     INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cost_usd          REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    latency_ms        REAL NOT NULL CHECK (latency_ms >= 0),
    ttft_ms           REAL,
    tokens_per_second REAL,
    status            TEXT NOT NULL CHECK (status IN ('ok', 'error', 'cancelled')),
    error             TEXT
) STRICT;

-- Recent-first listing and month ranges over everything.
CREATE INDEX requests_created_at ON requests (created_at);
-- Monthly spend per provider (budgets) and per use case (cost history).
CREATE INDEX requests_provider_created_at ON requests (provider, created_at);
CREATE INDEX requests_use_case_created_at ON requests (use_case, created_at);

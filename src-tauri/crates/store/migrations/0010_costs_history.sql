-- Costs and history: who made each request, whether it ran on this machine,
-- what it saved, the text of requests whose use case keeps it, hourly sums
-- for the Costs page, and saved comparison reports.

-- Who made the request: 'window' (the app), 'cli', or 'token:<name>' (the local API).
ALTER TABLE requests ADD COLUMN caller TEXT NOT NULL DEFAULT 'window';
-- Answered on this machine (llama.cpp, or a provider kind that is not a cloud service).
ALTER TABLE requests ADD COLUMN local INTEGER NOT NULL DEFAULT 0 CHECK (local IN (0, 1));
-- For a local answer: what it would have cost at the route's first cloud candidate's prices.
ALTER TABLE requests ADD COLUMN cost_avoided_usd REAL NOT NULL DEFAULT 0 CHECK (cost_avoided_usd >= 0);

UPDATE requests SET local = 1
 WHERE provider = 'local' OR provider IN (SELECT id FROM providers WHERE kind IN ('local', 'ollama'));

-- History's filters, each with the time for its order.
CREATE INDEX requests_model_created_at ON requests (model, created_at);
CREATE INDEX requests_status_created_at ON requests (status, created_at);
CREATE INDEX requests_caller_created_at ON requests (caller, created_at);

-- Exact sums per UTC hour, use case, provider and model, kept by the
-- triggers below in the same transaction as the ledger row. A range is summed
-- from whole hours here and from the ledger itself for the partial hours at
-- its ends, so a month in any time zone with whole-hour offsets is exact.
CREATE TABLE requests_hourly (
    hour                TEXT NOT NULL,      -- 'YYYY-MM-DDTHH', UTC: substr(created_at, 1, 13)
    use_case            TEXT NOT NULL,
    provider            TEXT NOT NULL,
    model               TEXT NOT NULL,
    local               INTEGER NOT NULL,
    requests            INTEGER NOT NULL,
    errors              INTEGER NOT NULL,
    cancelled           INTEGER NOT NULL,
    input_tokens        INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    cost_usd            REAL NOT NULL,
    cost_avoided_usd    REAL NOT NULL,
    latency_ms          REAL NOT NULL,      -- sum
    ttft_ms             REAL NOT NULL,      -- sum over rows that have one
    ttft_count          INTEGER NOT NULL,
    tokens_per_second   REAL NOT NULL,      -- sum over rows that have one
    tps_count           INTEGER NOT NULL,
    cache_hits          INTEGER NOT NULL,
    tokens_saved        INTEGER NOT NULL,
    PRIMARY KEY (hour, use_case, provider, model, local)
) STRICT, WITHOUT ROWID;

INSERT INTO requests_hourly
SELECT substr(created_at, 1, 13), use_case, provider, model, local,
       COUNT(*), SUM(status = 'error'), SUM(status = 'cancelled'),
       SUM(input_tokens), SUM(output_tokens), SUM(cached_input_tokens), SUM(reasoning_tokens),
       SUM(cost_usd), SUM(cost_avoided_usd), SUM(latency_ms), COALESCE(SUM(ttft_ms), 0.0), COUNT(ttft_ms),
       COALESCE(SUM(tokens_per_second), 0.0), COUNT(tokens_per_second), SUM(cache_hit), SUM(tokens_saved)
  FROM requests
 GROUP BY 1, 2, 3, 4, 5;

CREATE TRIGGER requests_hourly_add AFTER INSERT ON requests BEGIN
    INSERT INTO requests_hourly VALUES (
        substr(NEW.created_at, 1, 13), NEW.use_case, NEW.provider, NEW.model, NEW.local,
        1, NEW.status = 'error', NEW.status = 'cancelled',
        NEW.input_tokens, NEW.output_tokens, NEW.cached_input_tokens, NEW.reasoning_tokens,
        NEW.cost_usd, NEW.cost_avoided_usd, NEW.latency_ms, COALESCE(NEW.ttft_ms, 0), NEW.ttft_ms IS NOT NULL,
        COALESCE(NEW.tokens_per_second, 0), NEW.tokens_per_second IS NOT NULL, NEW.cache_hit, NEW.tokens_saved)
    ON CONFLICT (hour, use_case, provider, model, local) DO UPDATE SET
        requests = requests + 1,
        errors = errors + excluded.errors,
        cancelled = cancelled + excluded.cancelled,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
        reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
        cost_usd = cost_usd + excluded.cost_usd,
        cost_avoided_usd = cost_avoided_usd + excluded.cost_avoided_usd,
        latency_ms = latency_ms + excluded.latency_ms,
        ttft_ms = ttft_ms + excluded.ttft_ms,
        ttft_count = ttft_count + excluded.ttft_count,
        tokens_per_second = tokens_per_second + excluded.tokens_per_second,
        tps_count = tps_count + excluded.tps_count,
        cache_hits = cache_hits + excluded.cache_hits,
        tokens_saved = tokens_saved + excluded.tokens_saved;
END;

CREATE TRIGGER requests_hourly_remove AFTER DELETE ON requests BEGIN
    UPDATE requests_hourly SET
        requests = requests - 1,
        errors = errors - (OLD.status = 'error'),
        cancelled = cancelled - (OLD.status = 'cancelled'),
        input_tokens = input_tokens - OLD.input_tokens,
        output_tokens = output_tokens - OLD.output_tokens,
        cached_input_tokens = cached_input_tokens - OLD.cached_input_tokens,
        reasoning_tokens = reasoning_tokens - OLD.reasoning_tokens,
        cost_usd = cost_usd - OLD.cost_usd,
        cost_avoided_usd = cost_avoided_usd - OLD.cost_avoided_usd,
        latency_ms = latency_ms - OLD.latency_ms,
        ttft_ms = ttft_ms - COALESCE(OLD.ttft_ms, 0),
        ttft_count = ttft_count - (OLD.ttft_ms IS NOT NULL),
        tokens_per_second = tokens_per_second - COALESCE(OLD.tokens_per_second, 0),
        tps_count = tps_count - (OLD.tokens_per_second IS NOT NULL),
        cache_hits = cache_hits - OLD.cache_hit,
        tokens_saved = tokens_saved - OLD.tokens_saved
     WHERE hour = substr(OLD.created_at, 1, 13) AND use_case = OLD.use_case AND provider = OLD.provider
       AND model = OLD.model AND local = OLD.local;
    DELETE FROM requests_hourly
     WHERE hour = substr(OLD.created_at, 1, 13) AND use_case = OLD.use_case AND provider = OLD.provider
       AND model = OLD.model AND local = OLD.local AND requests = 0;
END;

-- Ledger rows are facts: once written they do not change (the sums above rely on it).
CREATE TRIGGER requests_append_only BEFORE UPDATE ON requests BEGIN
    SELECT RAISE(ABORT, 'ledger rows are not changed once written');
END;

-- The prompt and answer of a request whose use case keeps text, until delete_after.
CREATE TABLE request_texts (
    request_id   TEXT PRIMARY KEY NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    prompt_json  TEXT NOT NULL,   -- [{"role", "content"}], the system prompt first
    response     TEXT NOT NULL,
    delete_after TEXT NOT NULL    -- RFC 3339 UTC
) STRICT;
CREATE INDEX request_texts_delete_after ON request_texts (delete_after);

-- How many days a use case keeps its requests' text; NULL = not kept.
ALTER TABLE use_cases ADD COLUMN keep_text_days INTEGER CHECK (keep_text_days IS NULL OR keep_text_days BETWEEN 1 AND 3650);

-- Local-versus-cloud comparison runs, whole.
CREATE TABLE comparison_reports (
    id          TEXT PRIMARY KEY NOT NULL,
    created_at  TEXT NOT NULL,
    name        TEXT NOT NULL,
    report_json TEXT NOT NULL
) STRICT;
CREATE INDEX comparison_reports_created_at ON comparison_reports (created_at);

-- Routes: each use case's fallbacks after its model (JSON list of
-- {model, params}) and whether cloud candidates go first.
ALTER TABLE use_cases ADD COLUMN fallbacks_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE use_cases ADD COLUMN prefer_cloud INTEGER NOT NULL DEFAULT 0 CHECK (prefer_cloud IN (0, 1));

-- A provider's time-outs and rate limits (JSON; unset values take the defaults).
ALTER TABLE providers ADD COLUMN limits_json TEXT NOT NULL DEFAULT '{}';

-- The route a request took: the candidates tried, in order (JSON list).
ALTER TABLE requests ADD COLUMN route_json TEXT;

-- What routing did that an admin should hear about (fell back, budget
-- warnings, circuits opened and closed, rate limits).
CREATE TABLE routing_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    kind      TEXT NOT NULL,
    provider  TEXT,
    use_case  TEXT,
    ledger_id TEXT,
    message   TEXT NOT NULL
) STRICT;
CREATE INDEX routing_events_at ON routing_events (at);

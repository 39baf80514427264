-- Endpoint groups: provider instances serving the same models, used as one
-- candidate (`{id}/{model}`) and balanced by a strategy.
CREATE TABLE provider_groups (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    members_json TEXT NOT NULL,
    strategy     TEXT NOT NULL,
    position     INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL
) STRICT;

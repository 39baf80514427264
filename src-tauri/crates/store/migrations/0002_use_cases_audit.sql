-- Use cases as data: the built-ins are seeded from the application at start-up
-- (INSERT OR IGNORE, so admins' edits stay), admins add their own.
CREATE TABLE use_cases (
    id                 TEXT PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    builtin            INTEGER NOT NULL CHECK (builtin IN (0, 1)),
    vision             INTEGER NOT NULL DEFAULT 0 CHECK (vision IN (0, 1)),
    enabled            INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    model              TEXT NOT NULL,
    defaults_json      TEXT NOT NULL,
    custom_params_json TEXT,
    use_custom_params  INTEGER NOT NULL DEFAULT 0 CHECK (use_custom_params IN (0, 1)),
    system_prompt      TEXT,
    json_schema        TEXT,
    position           INTEGER NOT NULL DEFAULT 0,
    updated_at         TEXT NOT NULL,
    updated_by         TEXT NOT NULL
) STRICT;

-- Every configuration change: who, when, what, old and new value. Never secrets.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete', 'import')),
    field     TEXT,
    old_value TEXT,
    new_value TEXT
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, at);

-- The parameters each request ran with (JSON), so a row shows what reached the engine.
ALTER TABLE requests ADD COLUMN params_json TEXT;

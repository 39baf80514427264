-- Vision requests: how many images a request carried and the context
-- positions they took, and the Vision page's history of descriptions (the
-- image itself is not stored: its path, name and sha256 are).
ALTER TABLE requests ADD COLUMN image_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN image_tokens INTEGER NOT NULL DEFAULT 0;

CREATE TABLE vision_descriptions (
    id           TEXT PRIMARY KEY NOT NULL,
    created_at   TEXT NOT NULL,
    use_case     TEXT NOT NULL,
    model        TEXT NOT NULL,
    image_name   TEXT NOT NULL,
    image_path   TEXT NOT NULL,
    image_sha256 TEXT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    prompt       TEXT NOT NULL,
    text         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('ok', 'error', 'cancelled')),
    ledger_id    TEXT NOT NULL REFERENCES requests (id)
) STRICT;
CREATE INDEX vision_descriptions_created ON vision_descriptions (created_at);
CREATE INDEX vision_descriptions_sha ON vision_descriptions (image_sha256);

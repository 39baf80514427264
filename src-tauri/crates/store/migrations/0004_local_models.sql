-- The local model library beyond the files in the models folder: models
-- referenced where they lie, vision projectors paired with a text model, and
-- each model's own load settings. A file in the models folder needs no row
-- until one of these is set.
CREATE TABLE local_models (
    id             TEXT PRIMARY KEY NOT NULL,          -- the id in `local/<id>`
    path           TEXT NOT NULL UNIQUE,               -- absolute path of the GGUF file
    referenced     INTEGER NOT NULL DEFAULT 0 CHECK (referenced IN (0, 1)), -- 1: outside the models folder
    projector_path TEXT,                               -- mmproj GGUF paired with it (vision)
    gpu_layers     INTEGER CHECK (gpu_layers IS NULL OR gpu_layers BETWEEN 0 AND 1024),
    context_length INTEGER CHECK (context_length IS NULL OR context_length BETWEEN 256 AND 1048576),
    threads        INTEGER CHECK (threads IS NULL OR threads BETWEEN 1 AND 256),
    added_at       TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;

-- Application settings as JSON documents by key (`engine`: resident models, idle unload).
CREATE TABLE app_settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- Requests a local model generates at once (continuous batching); NULL: the engine default.
ALTER TABLE local_models ADD COLUMN parallel INTEGER CHECK (parallel IS NULL OR parallel BETWEEN 1 AND 64);

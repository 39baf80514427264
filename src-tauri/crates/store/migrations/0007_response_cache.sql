-- The response cache, opt-in per use case: how long an answer is reused
-- (seconds; NULL = off) and whether answers sampled with temperature > 0 are too.
ALTER TABLE use_cases ADD COLUMN cache_ttl_s INTEGER CHECK (cache_ttl_s IS NULL OR cache_ttl_s > 0);
ALTER TABLE use_cases ADD COLUMN cache_random INTEGER NOT NULL DEFAULT 0 CHECK (cache_random IN (0, 1));

-- A request answered from the cache: no cost, and the tokens it saved.
ALTER TABLE requests ADD COLUMN cache_hit INTEGER NOT NULL DEFAULT 0 CHECK (cache_hit IN (0, 1));
ALTER TABLE requests ADD COLUMN tokens_saved INTEGER NOT NULL DEFAULT 0;

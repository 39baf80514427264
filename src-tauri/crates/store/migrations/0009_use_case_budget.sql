-- A use case's own monthly budget (USD, at all providers together); NULL = none.
ALTER TABLE use_cases ADD COLUMN monthly_budget_usd REAL CHECK (monthly_budget_usd IS NULL OR monthly_budget_usd >= 0);

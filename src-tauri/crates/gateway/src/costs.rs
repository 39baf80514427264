//! Money before and after a request: the expected cost at each candidate of
//! a route before anything is sent, what a local answer saved against the
//! route's cloud candidate, and the Costs page's report with each budget's
//! standing (spend, reservations in flight, month-end forecast).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::{AppError, BudgetStanding, ChatTurn, CostReport, ModelRef, SamplingParams, UseCase};
use switchboard_store::queries::requests::month_window;

use crate::budget::count_tokens;
use crate::{Gateway, Target};

/// A request as it would be sent, for an estimate.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct EstimateRequest {
    pub use_case: String,
    pub prompt: String,
    #[serde(default)]
    pub history: Vec<ChatTurn>,
    /// `provider/model`: this model only. The use case's route when absent.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub params: Option<SamplingParams>,
}

/// What one candidate of the route would charge for the request.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct CostEstimate {
    /// `provider/model`.
    pub candidate: String,
    /// Runs on the organisation's own hardware: no charge.
    pub local: bool,
    /// The prompt's tokens (system prompt, earlier turns and the new prompt).
    pub input_tokens: u32,
    /// Counted with the model's tokenizer; otherwise estimated from the text.
    pub counted: bool,
    /// The candidate's max tokens: the most output it may produce.
    pub max_output_tokens: u32,
    /// The input alone.
    pub min_usd: f64,
    /// The input and every output token it may produce.
    pub max_usd: f64,
    /// A price is known (local models are free; an unpriced cloud model is unknown).
    pub priced: bool,
    /// Why the request would not go here now (model missing, ...), when it would not.
    pub unavailable: Option<String>,
}

impl Gateway {
    /// The expected cost range of `req` at each candidate of its route, in
    /// the order the route would try them.
    pub async fn estimate(&self, req: &EstimateRequest) -> Result<Vec<CostEstimate>, AppError> {
        let use_case = self.use_case(&req.use_case).await?;
        if let Some(m) = &req.model {
            ModelRef::parse(m)?;
        }
        switchboard_core::validate_history(&req.history)?;
        let mut text_tokens = 4 + count_tokens(&req.prompt);
        if let Some(system) = &use_case.system_prompt {
            text_tokens += 4 + count_tokens(system);
        }
        text_tokens += req.history.iter().map(|t| 4 + count_tokens(&t.content)).sum::<u32>();
        let (planned, _) = self.plan(&use_case, req.model.as_deref()).await?;
        let mut out = Vec::with_capacity(planned.len());
        for p in planned {
            let params = req.params.clone().or(p.params.clone()).unwrap_or_else(|| use_case.effective_params(None));
            let max_out = params.max_tokens;
            let mut counted = None;
            let (local, price, unavailable) = match &p.target {
                Ok(Target::Local { path, load }) => {
                    counted = self.count_local(&use_case, req, path, load, &params).await;
                    (true, None, None)
                }
                Ok(Target::Remote { provider }) => {
                    (!provider.kind.is_cloud(), self.store.price(provider.kind.as_str(), &p.model.model).await?, None)
                }
                Ok(Target::Group { members, .. }) => {
                    let kind = members.first().map(|m| m.kind.as_str()).unwrap_or("openai_compatible");
                    (members.iter().all(|m| !m.kind.is_cloud()), self.store.price(kind, &p.model.model).await?, None)
                }
                Err(f) => (p.model.provider == "local", None, Some(f.error.message.clone())),
            };
            let (min_usd, max_usd) = match (&price, local) {
                (_, true) => (0.0, 0.0),
                (Some(price), false) => (price.cost(text_tokens, 0, 0), price.cost(text_tokens, 0, max_out)),
                (None, false) => (0.0, 0.0),
            };
            out.push(CostEstimate {
                candidate: p.model.to_string(),
                local,
                input_tokens: counted.unwrap_or(text_tokens),
                counted: counted.is_some(),
                max_output_tokens: max_out,
                min_usd,
                max_usd,
                priced: local || price.is_some(),
                unavailable,
            });
        }
        Ok(out)
    }

    /// The prompt's tokens by the local model's own tokenizer, where the
    /// engine can tell at once (the model in memory, the engine free).
    async fn count_local(
        &self,
        use_case: &UseCase,
        req: &EstimateRequest,
        path: &std::path::Path,
        load: &switchboard_core::ModelLoadSettings,
        params: &SamplingParams,
    ) -> Option<u32> {
        let engine_req = switchboard_core::EngineRequest {
            system_prompt: use_case.system_prompt.clone(),
            prompt: req.prompt.clone(),
            params: params.clone(),
            json_schema: use_case.json_schema.clone(),
            raw_prompt: false,
            ignore_eos: false,
            priority: switchboard_core::Priority::Interactive,
            history: req.history.clone(),
            load: load.clone(),
            no_prompt_cache: false,
        };
        let (engine, path) = (self.engine.clone(), path.to_path_buf());
        tokio::task::spawn_blocking(move || engine.count_tokens(&path, &engine_req)).await.ok()?.ok()?
    }

    /// What a local answer of these tokens would have cost at the first
    /// cloud candidate of `use_case`'s route that has a price; 0 without one.
    pub(crate) async fn cost_avoided(&self, use_case: &UseCase, input: u32, cached: u32, output: u32) -> f64 {
        for c in use_case.candidates() {
            let Ok(model) = ModelRef::parse(&c.model) else { continue };
            if model.provider == "local" {
                continue;
            }
            let Ok(row) = self.store.provider(&model.provider).await else { continue };
            if !row.settings.kind.is_cloud() {
                continue;
            }
            if let Ok(Some(price)) = self.store.price(row.settings.kind.as_str(), &model.model).await {
                return price.cost(input, cached, output);
            }
        }
        0.0
    }

    /// The Costs page for the days `from..=to` (the user's time zone), with
    /// this month's budgets.
    pub async fn cost_report(&self, from: &str, to: &str) -> Result<CostReport, AppError> {
        let mut report =
            switchboard_store::ledger::cost_report(self.store.ledger_reader().await, from, to, &chrono::Local).await?;
        let now = Utc::now();
        let (start, end, month) = month_window(now, &chrono::Local);
        let elapsed = month_elapsed(&start, &end, now);
        let mut budgets = Vec::new();
        for p in self.store.providers().await? {
            let Some(budget) = p.settings.monthly_budget_usd else { continue };
            let spent = self.store.month_spend_now(&p.settings.id).await?;
            budgets.push(standing(
                "provider",
                &p.settings.id,
                &p.settings.display_name,
                budget,
                spent,
                self.reserved.held(&p.settings.id),
                elapsed,
            ));
        }
        for uc in self.store.use_cases().await? {
            let Some(budget) = uc.monthly_budget_usd else { continue };
            let spent = self.store.use_case_month_spend_now(&uc.id).await?;
            let held = self.reserved.held(&format!("use_case:{}", uc.id));
            budgets.push(standing("use_case", &uc.id, &uc.name, budget, spent, held, elapsed));
        }
        report.budgets = budgets;
        report.budget_month = month;
        Ok(report)
    }
}

impl Gateway {
    /// The p95 latency per provider, model and use case over the days
    /// `from..=to` (the user's time zone), asked beside [`Self::cost_report`].
    pub async fn latency_percentiles(
        &self,
        from: &str,
        to: &str,
    ) -> Result<switchboard_core::LatencyPercentiles, AppError> {
        switchboard_store::ledger::latency_percentiles(self.store.ledger_reader().await, from, to, &chrono::Local).await
    }
}

/// How much of the month `[start, end)` has passed at `now`, 0..1.
fn month_elapsed(start: &str, end: &str, now: DateTime<Utc>) -> f64 {
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or(now);
    let (s, e) = (parse(start), parse(end));
    let total = (e - s).num_milliseconds().max(1) as f64;
    ((now - s).num_milliseconds() as f64 / total).clamp(0.0, 1.0)
}

fn standing(scope: &str, id: &str, name: &str, budget: f64, spent: f64, reserved: f64, elapsed: f64) -> BudgetStanding {
    // At least an hour's worth of the month before a rate means anything.
    let forecast = if elapsed > 1.0 / (31.0 * 24.0) { spent / elapsed } else { spent };
    BudgetStanding {
        scope: scope.into(),
        id: id.into(),
        name: name.into(),
        budget_usd: budget,
        spent_usd: spent,
        reserved_usd: reserved,
        forecast_usd: forecast,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forecasts_follow_the_months_run_rate() {
        let now = DateTime::parse_from_rfc3339("2026-12-11T00:00:00Z").unwrap().with_timezone(&Utc);
        let e = month_elapsed("2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z", now);
        assert!((e - 10.0 / 31.0).abs() < 1e-12);
        let s = standing("provider", "openai", "OpenAI", 100.0, 10.0, 0.5, e);
        assert!((s.forecast_usd - 31.0).abs() < 1e-9, "{}", s.forecast_usd);
        // In the month's first minutes the spend so far is the forecast.
        assert_eq!(standing("provider", "x", "X", 1.0, 2.0, 0.0, 0.0).forecast_usd, 2.0);
    }
}

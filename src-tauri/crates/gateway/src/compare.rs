//! The local-versus-cloud comparison: each prompt at each candidate, one
//! request at a time so that none slows another, through the same gateway as
//! every request (budgets, ledger rows with caller `compare`), then a report
//! saved whole. The Markdown export with its charts is in `report_md.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use switchboard_core::{
    AppError, CandidateResult, CandidateSummary, ComparisonReport, ComparisonRequest, ComparisonRun, Priority,
    RequestStatus,
};

use crate::{Gateway, GenerationEvent, LlmRequest};

/// The caller comparison requests are recorded under.
pub const COMPARE_CALLER: &str = "compare";

/// Sent after each run.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ComparisonProgress {
    pub done: u32,
    pub total: u32,
    pub candidate: String,
    pub prompt_index: u32,
    pub ok: bool,
}

impl Gateway {
    /// Runs `req` and saves its report; `stop` ends it after the run in
    /// progress (the report keeps what ran).
    pub async fn compare(
        &self,
        req: &ComparisonRequest,
        stop: &AtomicBool,
        on_progress: impl Fn(ComparisonProgress),
    ) -> Result<ComparisonReport, AppError> {
        req.validate()?;
        let use_case = self.use_case(&req.use_case).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let total = (req.prompts.len() * req.candidates.len()) as u32;
        let mut runs: Vec<Vec<ComparisonRun>> = vec![Vec::new(); req.candidates.len()];
        let mut done = 0;
        'prompts: for (pi, prompt) in req.prompts.iter().enumerate() {
            for (ci, candidate) in req.candidates.iter().enumerate() {
                if stop.load(Ordering::Relaxed) {
                    break 'prompts;
                }
                let text = Arc::new(Mutex::new(String::new()));
                let sink = {
                    let text = text.clone();
                    move |e: GenerationEvent| {
                        if let GenerationEvent::Token { text: t } = e {
                            text.lock().expect("text lock").push_str(&t);
                        }
                    }
                };
                let request = LlmRequest {
                    request_id: format!("compare-{id}-{pi}-{ci}"),
                    use_case: use_case.id.clone(),
                    prompt: prompt.clone(),
                    history: Vec::new(),
                    model: Some(candidate.clone()),
                    params: None,
                    priority: Priority::Background,
                };
                let started = std::time::Instant::now();
                let result = self.generate_as(COMPARE_CALLER, request, sink).await;
                let answer = std::mem::take(&mut *text.lock().expect("text lock"));
                let run = match result {
                    Ok(s) => ComparisonRun {
                        prompt_index: pi as u32,
                        ok: s.status == RequestStatus::Ok,
                        answer,
                        error: (s.status != RequestStatus::Ok).then(|| format!("{:?}", s.status).to_lowercase()),
                        latency_ms: s.stats.latency_ms,
                        ttft_ms: s.stats.ttft_ms,
                        tokens_per_second: s.stats.tokens_per_second,
                        input_tokens: s.stats.input_tokens,
                        output_tokens: s.stats.output_tokens,
                        cost_usd: self.cost_of(&s.ledger_id).await,
                        ledger_id: Some(s.ledger_id),
                    },
                    Err(e) => ComparisonRun {
                        prompt_index: pi as u32,
                        ok: false,
                        answer,
                        error: Some(e.message),
                        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
                        ttft_ms: None,
                        tokens_per_second: None,
                        input_tokens: 0,
                        output_tokens: 0,
                        cost_usd: 0.0,
                        ledger_id: None,
                    },
                };
                done += 1;
                on_progress(ComparisonProgress {
                    done,
                    total,
                    candidate: candidate.clone(),
                    prompt_index: pi as u32,
                    ok: run.ok,
                });
                runs[ci].push(run);
            }
        }
        let results = req
            .candidates
            .iter()
            .zip(runs)
            .map(|(candidate, runs)| CandidateResult {
                candidate: candidate.clone(),
                summary: CandidateSummary::of(&runs),
                runs,
            })
            .collect();
        let report = ComparisonReport {
            id,
            created_at: switchboard_store::now(),
            name: req.name.trim().to_string(),
            use_case: use_case.id.clone(),
            prompts: req.prompts.clone(),
            results,
        };
        switchboard_store::queries::reports::insert(self.store.pool(), &report).await?;
        Ok(report)
    }

    /// What a request was charged, as its ledger row says.
    async fn cost_of(&self, ledger_id: &str) -> f64 {
        match switchboard_store::queries::requests::get(self.store.pool(), ledger_id).await {
            Ok(Some(row)) => row.record.cost_usd,
            _ => 0.0,
        }
    }
}

//! What the Costs and History pages ask the ledger, and what they get back:
//! filters, pages of rows, export formats and the cost report's figures.
//! Token sums are `f64` (exact below 2^53) so a busy year cannot overflow.

use serde::{Deserialize, Serialize};

use crate::{AppError, ErrorCode, RequestRecord, RequestStatus};

/// Which ledger rows: every field narrows; none = all rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct LedgerFilter {
    /// First day, `YYYY-MM-DD` in the user's time zone, inclusive.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day, inclusive.
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub use_case: Option<String>,
    /// A provider instance id (`openai`, `gpu-box`, `local`).
    #[serde(default)]
    pub provider: Option<String>,
    /// The model's name at its provider.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub status: Option<RequestStatus>,
    /// `window`, `cli` or `token:<name>`.
    #[serde(default)]
    pub caller: Option<String>,
    /// A request id, or text its error contains.
    #[serde(default)]
    pub search: Option<String>,
}

/// The longest search text.
pub const MAX_SEARCH_CHARS: usize = 200;
/// The most rows one page holds.
pub const MAX_PAGE_ROWS: u32 = 500;

impl LedgerFilter {
    /// Empty strings mean "any"; the dates must be real days, in order.
    pub fn normalized(&self) -> Result<Self, AppError> {
        let keep = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let f = Self {
            from: keep(&self.from),
            to: keep(&self.to),
            use_case: keep(&self.use_case),
            provider: keep(&self.provider),
            model: keep(&self.model),
            status: self.status,
            caller: keep(&self.caller),
            search: keep(&self.search),
        };
        let day = |field: &str, v: &Option<String>| -> Result<Option<chrono::NaiveDate>, AppError> {
            v.as_deref()
                .map(|d| {
                    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|_| AppError::for_field(field, format!("{field}: '{d}' is not a date (YYYY-MM-DD)")))
                })
                .transpose()
        };
        if let (Some(from), Some(to)) = (day("from", &f.from)?, day("to", &f.to)?) {
            if to < from {
                return Err(AppError::for_field("to", "to: the last day is before the first"));
            }
        }
        if f.search.as_ref().is_some_and(|s| s.chars().count() > MAX_SEARCH_CHARS) {
            return Err(AppError::for_field("search", format!("search: at most {MAX_SEARCH_CHARS} characters")));
        }
        Ok(f)
    }

    /// Whether the filter only narrows by dimensions the hourly sums keep.
    pub fn summable(&self) -> bool {
        self.search.is_none()
    }
}

/// One page of History, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct LedgerPage {
    pub rows: Vec<RequestRecord>,
    /// Hand back to get the next (older) page; none on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<Self, AppError> {
        match s {
            "csv" => Ok(Self::Csv),
            "jsonl" => Ok(Self::Jsonl),
            other => {
                Err(AppError::new(ErrorCode::InvalidInput, format!("'{other}' is not an export format (csv, jsonl)")))
            }
        }
    }
}

/// Sums over a set of ledger rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct CostTotals {
    pub requests: u32,
    pub errors: u32,
    pub cancelled: u32,
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub cached_input_tokens: f64,
    pub reasoning_tokens: f64,
    pub cost_usd: f64,
    /// What the local requests would have cost at their routes' cloud prices.
    pub cost_avoided_usd: f64,
    pub cache_hits: u32,
    pub tokens_saved: f64,
}

/// One day's spend for one provider, model and use case (the chart's bars).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct DayCost {
    /// `YYYY-MM-DD` in the user's time zone.
    pub day: String,
    pub provider: String,
    pub model: String,
    pub use_case: String,
    pub requests: u32,
    pub cost_usd: f64,
}

/// The breakdown table's row: one provider, model and use case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct CostBreakdown {
    pub provider: String,
    pub model: String,
    pub use_case: String,
    pub local: bool,
    pub totals: CostTotals,
    pub avg_latency_ms: f64,
    /// Nearest-rank 95th percentile of the rows' latency, where it was asked
    /// for with the report (see [`LatencyPercentiles`]).
    pub p95_latency_ms: Option<f64>,
    pub avg_ttft_ms: Option<f64>,
    pub avg_tokens_per_second: Option<f64>,
    /// Failed requests over all requests, 0..1.
    pub error_rate: f64,
}

/// The 95th percentile of latency per provider, model and use case over a
/// range: asked beside the report, since it reads every row of the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct LatencyPercentiles {
    /// False when the range held more rows than are ranked (then `groups` is empty).
    pub complete: bool,
    pub groups: Vec<GroupLatency>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct GroupLatency {
    pub provider: String,
    pub model: String,
    pub use_case: String,
    /// Nearest rank.
    pub p95_latency_ms: f64,
}

/// Requests answered on the organisation's own machines against cloud APIs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct LocalShare {
    pub local_requests: u32,
    pub cloud_requests: u32,
    pub cloud_cost_usd: f64,
    /// What the local requests would have cost at their routes' first cloud candidate.
    pub cost_avoided_usd: f64,
}

/// A monthly budget as it stands this month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct BudgetStanding {
    /// `provider` or `use_case`.
    pub scope: String,
    pub id: String,
    pub name: String,
    pub budget_usd: f64,
    pub spent_usd: f64,
    /// Worst cases of the requests running now.
    pub reserved_usd: f64,
    /// Spend at the month's end if it goes on at this month's rate so far.
    pub forecast_usd: f64,
}

/// The Costs page: a range's totals, its days, its breakdown, the budgets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct CostReport {
    /// The range as asked, `YYYY-MM-DD`, inclusive.
    pub from: String,
    pub to: String,
    pub totals: CostTotals,
    pub days: Vec<DayCost>,
    pub breakdown: Vec<CostBreakdown>,
    pub local_share: LocalShare,
    pub budgets: Vec<BudgetStanding>,
    /// The month the budgets are for, `YYYY-MM`.
    pub budget_month: String,
}

impl CostTotals {
    pub fn add(&mut self, o: &CostTotals) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.cancelled += o.cancelled;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cached_input_tokens += o.cached_input_tokens;
        self.reasoning_tokens += o.reasoning_tokens;
        self.cost_usd += o.cost_usd;
        self.cost_avoided_usd += o.cost_avoided_usd;
        self.cache_hits += o.cache_hits;
        self.tokens_saved += o.tokens_saved;
    }
}

/// A request's prompt and answer, kept where its use case asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RequestText {
    /// The conversation as sent: the system prompt, earlier turns, the new prompt.
    pub prompt: Vec<crate::ChatTurn>,
    pub response: String,
    /// When the text is deleted (RFC 3339 UTC); the ledger row stays.
    pub delete_after: String,
}

/// A page cursor: the last row's time and its place in the table (rowid).
pub fn encode_cursor(created_at: &str, seq: i64) -> String {
    format!("{created_at}|{seq}")
}

pub fn decode_cursor(cursor: &str) -> Result<(String, i64), AppError> {
    cursor
        .split_once('|')
        .filter(|(at, _)| !at.is_empty())
        .and_then(|(at, seq)| seq.parse::<i64>().ok().map(|s| (at.to_string(), s)))
        .ok_or_else(|| AppError::new(ErrorCode::InvalidInput, "the page cursor is not one this app handed out"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_refuse_bad_dates_and_reversed_ranges() {
        let f = LedgerFilter { from: Some("2026-13-01".into()), ..Default::default() };
        assert_eq!(f.normalized().unwrap_err().field.as_deref(), Some("from"));
        let f = LedgerFilter { from: Some("2026-12-02".into()), to: Some("2026-12-01".into()), ..Default::default() };
        assert_eq!(f.normalized().unwrap_err().field.as_deref(), Some("to"));
        let f = LedgerFilter { search: Some("x".repeat(201)), ..Default::default() };
        assert_eq!(f.normalized().unwrap_err().field.as_deref(), Some("search"));
        let f = LedgerFilter { model: Some("  ".into()), caller: Some(" cli ".into()), ..Default::default() };
        let n = f.normalized().unwrap();
        assert_eq!((n.model, n.caller.as_deref()), (None, Some("cli")));
    }

    #[test]
    fn cursors_round_trip_and_refuse_strangers() {
        let c = encode_cursor("2026-12-01T10:00:00.000Z", 42);
        assert_eq!(decode_cursor(&c).unwrap(), ("2026-12-01T10:00:00.000Z".into(), 42));
        assert!(decode_cursor("nonsense").is_err());
        assert!(decode_cursor("|1").is_err());
        assert!(decode_cursor("2026-12-01T10:00:00.000Z|x").is_err());
    }
}

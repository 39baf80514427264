//! Model prices in USD per million tokens, read from LiteLLM's price-map
//! format (the de-facto format of LLM gateways). A curated subset for the
//! supported cloud providers ships with the app; admins can import a newer
//! LiteLLM file, which takes precedence.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::{AppError, ErrorCode};

/// Where the built-in figures come from, and when they were taken.
pub const BUILTIN_PRICES_SOURCE: &str = "LiteLLM price map 1.106.2 (MIT), taken 2026-11-30";
const BUILTIN_PRICES: &str = include_str!("../data/prices-litellm-1.106.2.json");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ModelPrice {
    /// Switchboard's provider kind (`openai`, `azure`, `anthropic`, `gemini`, `dashscope`, `ollama`).
    pub provider: String,
    /// The provider's model name, without LiteLLM's `provider/` prefix.
    pub model: String,
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// Price of input tokens served from the provider's prompt cache.
    pub cached_input_per_mtok: Option<f64>,
    pub vision: Option<bool>,
    pub context_length: Option<u32>,
}

impl ModelPrice {
    /// What a request cost: cached input at its own price where one exists.
    pub fn cost(&self, input_tokens: u32, cached_input_tokens: u32, output_tokens: u32) -> f64 {
        let cached = cached_input_tokens.min(input_tokens) as f64;
        let uncached = input_tokens as f64 - cached;
        let cached_price = self.cached_input_per_mtok.unwrap_or(self.input_per_mtok);
        (uncached * self.input_per_mtok + cached * cached_price + output_tokens as f64 * self.output_per_mtok) / 1e6
    }
}

/// What an import found.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPrices {
    pub prices: Vec<ModelPrice>,
    /// Entries for other providers or other modes (embeddings, images, ...).
    pub skipped: usize,
}

#[derive(Deserialize)]
struct LiteLlmEntry {
    litellm_provider: Option<String>,
    mode: Option<String>,
    input_cost_per_token: Option<f64>,
    output_cost_per_token: Option<f64>,
    cache_read_input_token_cost: Option<f64>,
    max_input_tokens: Option<serde_json::Value>,
    supports_vision: Option<bool>,
}

fn our_provider(litellm: &str) -> Option<&'static str> {
    Some(match litellm {
        "openai" => "openai",
        "azure" => "azure",
        "anthropic" => "anthropic",
        "gemini" => "gemini",
        "dashscope" => "dashscope",
        "ollama" => "ollama",
        _ => return None,
    })
}

/// Parses a LiteLLM `model_prices_and_context_window.json`; keeps the chat
/// models of the providers Switchboard speaks. A file that is not that
/// format, or holds a negative or non-numeric price, is refused whole.
pub fn parse_litellm(text: &str) -> Result<ParsedPrices, AppError> {
    let bad = |m: String| AppError::new(ErrorCode::InvalidInput, m);
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| bad(format!("the price file is not a LiteLLM price map (JSON object): {e}")))?;
    let mut prices = Vec::new();
    let mut skipped = 0;
    for (key, value) in map {
        if key == "sample_spec" || !value.is_object() {
            skipped += 1;
            continue;
        }
        let entry: LiteLlmEntry = serde_json::from_value(value)
            .map_err(|e| bad(format!("the price file's entry '{key}' is malformed: {e}")))?;
        let provider = entry.litellm_provider.as_deref().and_then(our_provider);
        let chat = matches!(entry.mode.as_deref(), None | Some("chat"));
        let (Some(provider), true, Some(input), Some(output)) =
            (provider, chat, entry.input_cost_per_token, entry.output_cost_per_token)
        else {
            skipped += 1;
            continue;
        };
        for (field, v) in
            [("input", Some(input)), ("output", Some(output)), ("cache read", entry.cache_read_input_token_cost)]
        {
            if let Some(v) = v {
                if !v.is_finite() || v < 0.0 {
                    return Err(bad(format!(
                        "the price file gives '{key}' a {field} price of {v}: prices must be 0 or more"
                    )));
                }
            }
        }
        let prefix = format!("{}/", entry.litellm_provider.as_deref().unwrap_or_default());
        let model = key.strip_prefix(&prefix).unwrap_or(&key).to_string();
        prices.push(ModelPrice {
            provider: provider.to_string(),
            model,
            input_per_mtok: input * 1e6,
            output_per_mtok: output * 1e6,
            cached_input_per_mtok: entry.cache_read_input_token_cost.map(|c| c * 1e6),
            vision: entry.supports_vision,
            context_length: entry.max_input_tokens.and_then(|v| v.as_u64()).map(|v| v.min(u32::MAX as u64) as u32),
        });
    }
    if prices.is_empty() {
        return Err(bad(
            "the price file holds no chat-model prices for OpenAI, Azure, Anthropic, Gemini, DashScope or Ollama"
                .into(),
        ));
    }
    Ok(ParsedPrices { prices, skipped })
}

static BUILTIN: LazyLock<HashMap<(String, String), ModelPrice>> = LazyLock::new(|| {
    parse_litellm(BUILTIN_PRICES)
        .expect("the built-in price table parses")
        .prices
        .into_iter()
        .map(|p| ((p.provider.clone(), p.model.clone()), p))
        .collect()
});

/// The built-in price of `model` at a provider of `kind`, if the table has it.
pub fn builtin_price(kind: &str, model: &str) -> Option<&'static ModelPrice> {
    BUILTIN.get(&(kind.to_string(), model.to_string()))
}

/// How many models the built-in table prices.
pub fn builtin_count() -> usize {
    BUILTIN.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_has_the_supported_providers() {
        let p = builtin_price("openai", "gpt-4o-mini").unwrap();
        assert!((p.input_per_mtok - 0.15).abs() < 1e-9 && (p.output_per_mtok - 0.6).abs() < 1e-9);
        assert!((p.cached_input_per_mtok.unwrap() - 0.075).abs() < 1e-9);
        assert!(builtin_price("anthropic", "claude-sonnet-4-5").is_some());
        assert!(builtin_price("gemini", "gemini-2.5-flash").is_some(), "LiteLLM's gemini/ prefix is dropped");
        assert!(builtin_price("dashscope", "qwen-plus").is_some());
        assert!(builtin_price("azure", "gpt-4o-mini").is_some());
        assert!(builtin_count() > 300);
    }

    #[test]
    fn cost_counts_cached_input_at_its_price() {
        let p = builtin_price("openai", "gpt-4o-mini").unwrap();
        // 1M input of which 0.5M cached, 1M output: 0.5*0.15 + 0.5*0.075 + 0.6
        assert!((p.cost(1_000_000, 500_000, 1_000_000) - 0.7125).abs() < 1e-9);
        assert_eq!(p.cost(0, 0, 0), 0.0);
    }

    #[test]
    fn import_keeps_chat_models_of_our_providers_and_refuses_bad_files() {
        let file = r#"{
            "sample_spec": {"input_cost_per_token": 0.0},
            "my-model": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
            "text-embedding-3-small": {"litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 2e-8, "output_cost_per_token": 0},
            "bedrock/x": {"litellm_provider": "bedrock", "mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6}
        }"#;
        let parsed = parse_litellm(file).unwrap();
        assert_eq!(parsed.prices.len(), 1);
        assert_eq!(parsed.skipped, 3);
        assert!((parsed.prices[0].input_per_mtok - 1.0).abs() < 1e-9);

        for bad in [
            "",
            "[]",
            r#"{"m": {"litellm_provider": "openai", "input_cost_per_token": "cheap", "output_cost_per_token": 1}}"#,
            r#"{"m": {"litellm_provider": "openai", "input_cost_per_token": -1, "output_cost_per_token": 1}}"#,
            r#"{"m": {"litellm_provider": "bedrock", "input_cost_per_token": 1, "output_cost_per_token": 1}}"#,
            r#"{"m": {"litellm_provider": "openai", "input_cost_per_token": 1e-6"#,
        ] {
            let err = parse_litellm(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{bad}: {}", err.message);
        }
    }
}

//! Builds llama.cpp's sampler chain from our parameters, in llama.cpp's own
//! order: penalties, top-k, top-p, min-p, temperature, then the draw.

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::LlamaToken;
use switchboard_core::SamplingParams;

use crate::EngineError;

/// How many recent tokens the repeat, presence and frequency penalties look at.
pub const PENALTY_WINDOW: i32 = 64;

pub fn build(params: &SamplingParams, n_vocab: i32, random_seed: u32, grammar: Option<LlamaSampler>) -> LlamaSampler {
    let mut chain: Vec<LlamaSampler> = grammar.into_iter().collect();
    if params.uses_penalties() {
        chain.push(LlamaSampler::penalties(
            n_vocab,
            PENALTY_WINDOW,
            params.repeat_penalty,
            params.frequency_penalty,
            params.presence_penalty,
        ));
    }
    if params.temperature <= 0.0 {
        chain.push(LlamaSampler::greedy());
    } else {
        chain.push(LlamaSampler::top_k(params.top_k as i32));
        chain.push(LlamaSampler::top_p(params.top_p, 1));
        if params.min_p > 0.0 {
            chain.push(LlamaSampler::min_p(params.min_p, 1));
        }
        chain.push(LlamaSampler::temp(params.temperature));
        chain.push(LlamaSampler::dist(params.seed.unwrap_or(random_seed)));
    }
    LlamaSampler::chain_simple(chain)
}

/// A JSON schema as a grammar sampler (llama.cpp's `json_schema_to_grammar`).
pub fn schema_grammar(model: &LlamaModel, schema: &str) -> Result<LlamaSampler, EngineError> {
    let invalid = |reason: String| EngineError::Params(format!("json_schema: {reason}"));
    let grammar = llama_cpp_2::json_schema_to_grammar(schema)
        .map_err(|e| invalid(format!("cannot be turned into a grammar ({e})")))?;
    LlamaSampler::grammar(model, &grammar, "root").map_err(|e| invalid(format!("grammar refused by llama.cpp ({e})")))
}

/// When the chain starts with top-k (or is greedy) and no penalty needs the
/// whole vocabulary, only the `k` best logits can ever be chosen: the engine
/// then hands llama.cpp those `k` candidates instead of all of them (Gemma 3
/// has 262,144), which is the same distribution at a fraction of the work.
pub fn candidate_limit(params: &SamplingParams) -> Option<usize> {
    if params.uses_penalties() {
        None
    } else if params.temperature <= 0.0 {
        Some(1)
    } else {
        Some(params.top_k.max(1) as usize)
    }
}

/// The `k` highest logits as candidates, best first, written into `out`.
pub fn top_candidates(logits: &[f32], k: usize, out: &mut Vec<LlamaTokenData>) {
    out.clear();
    let k = k.min(logits.len()).max(1);
    let mut floor = f32::NEG_INFINITY;
    for (id, &logit) in logits.iter().enumerate() {
        // NaN logits compare as not greater and are never chosen.
        if out.len() == k && logit.partial_cmp(&floor) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let at = out.partition_point(|c| c.logit() >= logit);
        if out.len() == k {
            out.pop();
        }
        out.insert(at, LlamaTokenData::new(LlamaToken(id as i32), logit, 0.0));
        if out.len() == k {
            floor = out[k - 1].logit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_candidates_match_a_full_sort() {
        let logits: Vec<f32> = (0..5000).map(|i| ((i * 7919) % 1013) as f32 * 0.37 - 100.0).collect();
        let mut out = Vec::new();
        for k in [1, 5, 40, 100] {
            top_candidates(&logits, k, &mut out);
            let mut expected: Vec<f32> = logits.clone();
            expected.sort_by(|a, b| b.partial_cmp(a).unwrap());
            let got: Vec<f32> = out.iter().map(|c| c.logit()).collect();
            assert_eq!(got, expected[..k]);
            for c in &out {
                assert_eq!(logits[c.id().0 as usize], c.logit());
            }
        }
        top_candidates(&[1.0, 3.0], 10, &mut out);
        assert_eq!(out.iter().map(|c| c.id().0).collect::<Vec<_>>(), [1, 0]);
    }

    #[test]
    fn penalties_need_the_whole_vocabulary() {
        let mut p = SamplingParams::new(0.7, 40, 0.9, 10, 1.0);
        assert_eq!(candidate_limit(&p), Some(40));
        p.temperature = 0.0;
        assert_eq!(candidate_limit(&p), Some(1));
        p.repeat_penalty = 1.1;
        assert_eq!(candidate_limit(&p), None);
        p.repeat_penalty = 1.0;
        p.frequency_penalty = 0.5;
        assert_eq!(candidate_limit(&p), None);
    }
}

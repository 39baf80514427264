//! Builds llama.cpp's sampler chain from our parameters, in llama.cpp's own
//! order: penalties, top-k, top-p, min-p, temperature, then the draw.

use llama_cpp_2::sampling::LlamaSampler;
use switchboard_core::SamplingParams;

/// How many recent tokens the repeat, presence and frequency penalties look at.
pub const PENALTY_WINDOW: i32 = 64;

pub fn build(params: &SamplingParams, n_vocab: i32, random_seed: u32) -> LlamaSampler {
    let mut chain = Vec::new();
    let penalised =
        params.repeat_penalty != 1.0 || params.presence_penalty != 0.0 || params.frequency_penalty != 0.0;
    if penalised {
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

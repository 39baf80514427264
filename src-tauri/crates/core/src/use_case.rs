//! The built-in use cases and their default parameters. They are the seed of
//! the configurable use-case table, not a closed set.

use serde::{Deserialize, Serialize};

use crate::params::SamplingParams;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct UseCase {
    /// Stable identifier, e.g. `answer_generation`.
    pub id: String,
    /// What it does, for people.
    pub description: String,
    /// True for images in, text out.
    pub vision: bool,
    pub defaults: SamplingParams,
}

fn builtin(id: &str, description: &str, t: f32, k: u32, p: f32, max: u32, rep: f32) -> UseCase {
    UseCase {
        id: id.into(),
        description: description.into(),
        vision: id == "vision_vlm",
        defaults: SamplingParams::new(t, k, p, max, rep),
    }
}

/// The six use cases every installation starts with.
pub fn builtin_use_cases() -> Vec<UseCase> {
    vec![
        builtin("intent_classification", "Query to VECTOR / GRAPH / HYBRID / MEMORY", 0.3, 10, 0.5, 256, 1.0),
        builtin("entity_extraction", "Document to entities and relations (JSON)", 0.2, 20, 0.7, 4096, 1.0),
        builtin("answer_generation", "Context to final answer", 0.7, 40, 0.9, 2048, 1.1),
        builtin("followup_titles", "Answer to follow-up questions and titles", 0.8, 50, 0.95, 512, 1.2),
        builtin("query_decomposition", "Complex query to sub-queries", 0.4, 30, 0.8, 1024, 1.0),
        builtin("vision_vlm", "Image to text description", 0.5, 40, 0.9, 1024, 1.0),
    ]
}

pub fn find_use_case(id: &str) -> Option<UseCase> {
    builtin_use_cases().into_iter().find(|u| u.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_match_the_design_table() {
        let a = find_use_case("answer_generation").unwrap();
        assert_eq!((a.defaults.temperature, a.defaults.top_k, a.defaults.top_p), (0.7, 40, 0.9));
        assert_eq!((a.defaults.max_tokens, a.defaults.repeat_penalty), (2048, 1.1));
        let ids: Vec<_> = builtin_use_cases().into_iter().map(|u| u.id).collect();
        assert_eq!(ids.len(), 6);
        assert!(find_use_case("vision_vlm").unwrap().vision);
        assert!(find_use_case("nope").is_none());
    }
}

//! A chat as either API sends it (turns, images, parameters, a JSON
//! schema), turned into a gateway request: text goes to the use case's
//! route; images go to a vision use case with the last user turn as the prompt.

use std::sync::Arc;

use switchboard_core::{ChatRole, ChatTurn, ParamOverrides, Priority};
use switchboard_gateway::{DescribeExtras, DescribeRequest, LlmRequest, RequestExtras};

use crate::error::{ApiError, Dialect};
use crate::run::{self, Running};
use crate::target::{self, Target};
use crate::{ApiState, Caller};

/// A conversation as received.
#[derive(Debug, Default)]
pub struct Conversation {
    pub turns: Vec<ChatTurn>,
    /// The images of the last user turn, as given (data URL, base64 or URL).
    pub images: Vec<String>,
    /// Some turn before the last carried images.
    pub earlier_images: bool,
    pub overrides: ParamOverrides,
    pub json_schema: Option<String>,
    pub ignore_eos: bool,
}

/// A client's seed as the 32 bits the models take: 0 to 4294967295 as given,
/// any other whole number (OpenAI's are 64-bit and may be negative) folded
/// into that range, so that the same seed still gives the same answer.
pub fn seed(given: i64) -> u32 {
    u32::try_from(given).unwrap_or_else(|_| {
        // A multiplicative hash: every bit of the number reaches the upper half.
        ((given as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32
    })
}

/// A role as the APIs name it.
pub fn role(name: &str, dialect: Dialect, index: usize) -> Result<ChatRole, ApiError> {
    match name {
        "system" | "developer" => Ok(ChatRole::System),
        "user" => Ok(ChatRole::User),
        "assistant" => Ok(ChatRole::Assistant),
        other => Err(ApiError::field(
            dialect,
            &format!("messages[{index}].role"),
            format!("the role '{other}' is not supported (system, user, assistant)"),
        )),
    }
}

/// Starts the conversation at `target`, checked first so that a bad request
/// is refused before anything runs.
pub async fn start(
    state: &Arc<ApiState>,
    caller: &Caller,
    target: Target,
    mut conv: Conversation,
    dialect: Dialect,
) -> Result<Running, ApiError> {
    let use_case = &target.use_case;
    // Refuse values out of range before the route (which would skip every candidate).
    let params = conv.overrides.apply(use_case.effective_params(None));
    if let Err(e) = params.validate() {
        return Err(ApiError::field(dialect, &e.field, e.to_string()));
    }
    let overrides = (!conv.overrides.is_empty()).then(|| conv.overrides.clone());
    let last = conv.turns.pop().ok_or_else(|| ApiError::field(dialect, "messages", "the conversation is empty"))?;
    if last.role != ChatRole::User {
        return Err(ApiError::field(dialect, "messages", "the last message must be the user's"));
    }
    let request_id = run::new_request_id();
    if !conv.images.is_empty() || conv.earlier_images {
        if !use_case.vision {
            return Err(ApiError::field(
                dialect,
                "model",
                format!(
                    "'{}' is not a vision use case; send images to a vision use case (vision_vlm) or a vision model",
                    use_case.id
                ),
            ));
        }
        if conv.earlier_images || conv.turns.iter().any(|t| t.role != ChatRole::System) {
            return Err(ApiError::field(
                dialect,
                "messages",
                "a request with images is one user message with its images (and optionally a system message)",
            ));
        }
        if conv.json_schema.is_some() {
            return Err(ApiError::field(dialect, "response_format", "structured output is not available with images"));
        }
        target::check_image_count(state, conv.images.len(), dialect)?;
        let mut images = Vec::with_capacity(conv.images.len());
        let mut fetched = 0;
        for (i, given) in conv.images.iter().enumerate() {
            images.push(target::image(state, given, i, dialect, &mut fetched).await?);
        }
        let system: Vec<&str> = conv.turns.iter().map(|t| t.content.trim()).filter(|t| !t.is_empty()).collect();
        let prompt =
            if system.is_empty() { last.content } else { format!("{}\n\n{}", system.join("\n\n"), last.content) };
        let req = DescribeRequest {
            request_id,
            use_case: Some(use_case.id.clone()),
            model: target.model,
            prompt: Some(prompt),
            image_path: String::new(),
            params: None,
        };
        return Ok(run::describe(&state.app, caller.ledger_name(), req, DescribeExtras { images, overrides }));
    }
    if use_case.vision {
        return Err(ApiError::field(
            dialect,
            "messages",
            format!("'{}' describes images: send at least one image with the prompt", use_case.id),
        ));
    }
    if last.content.trim().is_empty() {
        return Err(ApiError::field(dialect, "messages", "the last user message is empty"));
    }
    let req = LlmRequest {
        request_id,
        use_case: use_case.id.clone(),
        prompt: last.content,
        history: conv.turns,
        model: target.model,
        params: None,
        priority: Priority::Interactive,
    };
    let extras =
        RequestExtras { overrides, json_schema: conv.json_schema, ignore_eos: conv.ignore_eos, queue_ledger_row: true };
    Ok(run::chat(&state.app, caller.ledger_name(), req, extras))
}

/// Seconds since 1970, as both APIs stamp their answers.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_whole_number_is_a_repeatable_seed() {
        assert_eq!(super::seed(0), 0);
        assert_eq!(super::seed(42), 42);
        assert_eq!(super::seed(4_294_967_295), u32::MAX);
        // Beyond 32 bits, folded: the same number always, and not all to one value.
        assert_eq!(super::seed(-7), super::seed(-7));
        assert_ne!(super::seed(-7), super::seed(-8));
        assert_ne!(super::seed(1 << 40), super::seed(1 << 41));
        assert_ne!(super::seed(i64::MIN), super::seed(i64::MAX));
    }
}

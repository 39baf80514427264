//! Streamed answers: server-sent events (OpenAI, Anthropic, Gemini) and
//! newline-delimited JSON (Ollama), read incrementally from the body.

use reqwest::Response;

use crate::http::{too_large, Http};
use crate::ProviderError;

/// One SSE or NDJSON line longer than this is refused (answers stream in small pieces).
pub(crate) const MAX_LINE: usize = 4 * 1024 * 1024;
/// One server-sent event's data lines together.
pub(crate) const MAX_EVENT: usize = 8 * 1024 * 1024;

/// One line at a time from a response body (`\n` or `\r\n` endings).
pub(crate) struct Lines {
    resp: Response,
    buf: Vec<u8>,
    eof: bool,
}

impl Lines {
    pub fn new(resp: Response) -> Self {
        Self { resp, buf: Vec::new(), eof: false }
    }

    /// The next line; `None` at the end of the body.
    pub async fn next(&mut self, http: &Http) -> Result<Option<String>, ProviderError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            if self.eof {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                let rest = std::mem::take(&mut self.buf);
                return Ok(Some(String::from_utf8_lossy(&rest).into_owned()));
            }
            if self.buf.len() > MAX_LINE {
                return Err(http.scrub(too_large("line", MAX_LINE)));
            }
            match self.resp.chunk().await {
                Ok(Some(chunk)) => self.buf.extend_from_slice(&chunk),
                Ok(None) => self.eof = true,
                Err(e) => return Err(http.transport_error(&e)),
            }
        }
    }
}

/// A server-sent event: its `event:` name (if any) and its joined `data:` lines.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

pub(crate) struct Sse {
    lines: Lines,
}

impl Sse {
    pub fn new(resp: Response) -> Self {
        Self { lines: Lines::new(resp) }
    }

    /// The next event; `None` when the body ends.
    pub async fn next(&mut self, http: &Http) -> Result<Option<SseEvent>, ProviderError> {
        let mut event = None;
        let mut data: Vec<String> = Vec::new();
        loop {
            let Some(line) = self.lines.next(http).await? else {
                return Ok((!data.is_empty()).then(|| SseEvent { event, data: data.join("\n") }));
            };
            if line.is_empty() {
                if !data.is_empty() {
                    return Ok(Some(SseEvent { event, data: data.join("\n") }));
                }
                event = None;
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => event = Some(value.to_string()),
                "data" => {
                    if data.iter().map(String::len).sum::<usize>() + value.len() > MAX_EVENT {
                        return Err(http.scrub(too_large("event", MAX_EVENT)));
                    }
                    data.push(value.to_string())
                }
                _ => {}
            }
        }
    }
}

//! Stop sequences matched on decoded text, not tokens: a stop string can span
//! several tokens, so text that might be the start of one is held back until
//! the next token decides.

/// Feeds decoded text in, gives back what is safe to show.
#[derive(Debug, Default)]
pub struct StopMatcher {
    stops: Vec<String>,
    pending: String,
}

/// The outcome of one [`StopMatcher::push`].
#[derive(Debug, PartialEq, Eq)]
pub struct Pushed {
    /// Text that can be emitted now.
    pub emit: String,
    /// A stop sequence was found; nothing after `emit` may be shown.
    pub stopped: bool,
}

impl StopMatcher {
    pub fn new(stops: &[String]) -> Self {
        Self { stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(), pending: String::new() }
    }

    pub fn push(&mut self, text: &str) -> Pushed {
        self.pending.push_str(text);
        if self.stops.is_empty() {
            return Pushed { emit: std::mem::take(&mut self.pending), stopped: false };
        }
        if let Some(at) = self.stops.iter().filter_map(|s| self.pending.find(s.as_str())).min() {
            let emit = self.pending[..at].to_string();
            self.pending.clear();
            return Pushed { emit, stopped: true };
        }
        let keep = self.held_back_len();
        let split = self.pending.len() - keep;
        let emit = self.pending[..split].to_string();
        self.pending.drain(..split);
        Pushed { emit, stopped: false }
    }

    /// Whatever is still held back, once generation ended for another reason.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }

    /// Length of the longest suffix of `pending` that is a proper prefix of a stop sequence.
    fn held_back_len(&self) -> usize {
        let p = &self.pending;
        let mut best = 0;
        for stop in &self.stops {
            for (i, _) in p.char_indices() {
                let suffix = &p[i..];
                if suffix.len() > best && suffix.len() < stop.len() && stop.starts_with(suffix) {
                    best = suffix.len();
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut m = StopMatcher::new(&stops);
        let mut out = String::new();
        for p in pieces {
            let r = m.push(p);
            out.push_str(&r.emit);
            if r.stopped {
                return (out, true);
            }
        }
        out.push_str(&m.finish());
        (out, false)
    }

    #[test]
    fn stop_spanning_tokens_truncates_before_it() {
        assert_eq!(run(&["END"], &["Hello E", "N", "D and more"]), ("Hello ".into(), true));
        assert_eq!(run(&["\n\n"], &["a\n", "\nb"]), ("a".into(), true));
    }

    #[test]
    fn false_starts_are_released() {
        assert_eq!(run(&["END"], &["Hello E", "ND"]), ("Hello ".into(), true));
        assert_eq!(run(&["END"], &["Hello E", "x"]), ("Hello Ex".into(), false));
        assert_eq!(run(&["END"], &["E", "N"]), ("EN".into(), false));
    }

    #[test]
    fn earliest_of_several_stops_wins_and_no_stops_is_passthrough() {
        assert_eq!(run(&["b", "a"], &["xxabyy"]), ("xx".into(), true));
        assert_eq!(run(&[], &["a", "b"]), ("ab".into(), false));
    }

    #[test]
    fn multibyte_text_is_split_on_char_boundaries() {
        assert_eq!(run(&["éé"], &["aé", "é"]), ("a".into(), true));
        assert_eq!(run(&["日本"], &["日", "x"]), ("日x".into(), false));
    }
}

//! Hostile configuration files: a seeded mutation loop over a real export
//! (flipped bytes, cut files, swapped values, deep nesting, huge numbers)
//! must give either a configuration that validates or an error in words,
//! never a panic, whatever the input.

use switchboard_core::{builtin_use_cases, ConfigFile};

fn export() -> String {
    serde_json::to_string_pretty(&ConfigFile::new("2026-11-30T00:00:00.000Z".into(), &builtin_use_cases())).unwrap()
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SPLICES: &[&str] = &[
    "null",
    "-1",
    "1e308",
    "1e999",
    "-0",
    "NaN",
    "18446744073709551616",
    "\"\"",
    "\"\\u0000\"",
    "[]",
    "{}",
    "true",
    "\"../../etc/passwd\"",
    "\"\\ud800\"",
    "99999999999999999999999999999",
];

#[test]
fn mutated_exports_are_parsed_or_refused_in_words_never_a_panic() {
    let base = export();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..3000 {
        let mut text = base.clone().into_bytes();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(text.len());
            match rng.below(5) {
                0 => text[at] ^= 1 << rng.below(8),
                1 => text.truncate(at),
                2 => {
                    // Replace a token-ish run with a hostile value.
                    let end = (at + 1 + rng.below(12)).min(text.len());
                    let splice = SPLICES[rng.below(SPLICES.len())].as_bytes();
                    text.splice(at..end, splice.iter().copied());
                }
                3 => text.insert(at, b"{[\",:}]"[rng.below(7)]),
                _ => {
                    let end = (at + rng.below(64)).min(text.len());
                    text.drain(at..end);
                }
            }
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        match std::panic::catch_unwind(|| ConfigFile::parse(&text)) {
            Ok(Ok(file)) => {
                // Whatever is accepted validates as a whole.
                for uc in &file.use_cases {
                    assert!(uc.defaults.validate().is_ok());
                }
                accepted += 1;
            }
            Ok(Err(e)) => {
                assert!(!e.message.is_empty());
                refused += 1;
            }
            Err(_) => panic!("ConfigFile::parse panicked on:\n{text}"),
        }
    }
    assert!(
        refused > 2000 && accepted > 0,
        "the mutations exercise both outcomes: {accepted} accepted, {refused} refused"
    );
}

#[test]
fn deep_nesting_and_huge_files_are_refused_in_words() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = ConfigFile::parse(&deep).unwrap_err();
    assert!(err.message.contains("not valid JSON"), "{}", err.message);
    let wide = format!(r#"{{"schema_version": 1, "use_cases": [{}]}}"#, vec!["{}"; 50_000].join(","));
    assert!(ConfigFile::parse(&wide).is_err());
    let huge = format!(r#"{{"schema_version": 1, "use_cases": [], "pad": "{}"}}"#, "x".repeat(17 << 20));
    assert!(ConfigFile::parse(&huge).unwrap_err().message.contains("larger than 16 MiB"));
    let version = ConfigFile::parse(r#"{"schema_version": 18446744073709551615, "use_cases": []}"#).unwrap_err();
    assert!(version.message.contains("schema version"), "{}", version.message);
}

//! What the UI may see of a key: its conventional prefix and last four characters.

/// `sk-proj-abc...wxyz` -> `sk-...wxyz`; keys too short to mask safely show nothing.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.trim().chars().collect();
    if chars.len() < 12 {
        return "••••".into();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    // A vendor prefix such as `sk-` says which kind of key it is without revealing it.
    let prefix: String = match chars.iter().position(|&c| c == '-' || c == '_') {
        Some(i) if i <= 4 => chars[..=i].iter().collect(),
        _ => String::new(),
    };
    format!("{prefix}...{tail}")
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks() {
        assert_eq!(mask("sk-proj-0123456789abcd"), "sk-...abcd");
        assert_eq!(mask("sk-ant-api03-xyz0123456789"), "sk-...6789");
        assert_eq!(mask("AIzaSyA0123456789abcdefgh"), "...efgh");
        assert_eq!(mask("short"), "••••");
        assert!(!mask("0123456789abcdefghij").contains("0123"));
    }
}

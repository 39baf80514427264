//! Finding a wheel on a PEP 503 "simple" package index.

use crate::FetchError;

/// A wheel's download URL and, when the index publishes it, its sha256.
#[derive(Debug, PartialEq)]
pub struct WheelLink {
    pub url: String,
    pub sha256: Option<String>,
}

/// Normalised project name per PEP 503.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Picks the wheel for `package` `version` from a simple-index HTML page.
pub fn find_wheel(page_url: &str, html: &str, package: &str, version: &str) -> Result<WheelLink, FetchError> {
    let stem = format!("{}-{}-", normalise(package).replace('-', "_"), version);
    for anchor in html.split("<a ").skip(1) {
        let Some(href) = attr(anchor, "href") else { continue };
        let (url, fragment) = href.split_once('#').unwrap_or((href.as_str(), ""));
        let file = url.rsplit('/').next().unwrap_or_default();
        if file.starts_with(&stem) && file.ends_with(".whl") {
            let sha256 = fragment.strip_prefix("sha256=").map(str::to_ascii_lowercase);
            return Ok(WheelLink { url: resolve(page_url, url), sha256 });
        }
    }
    Err(FetchError::NotOnIndex { package: package.into(), version: version.into() })
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + tag[start..].find('"')?;
    Some(tag[start..end].replace("&amp;", "&"))
}

fn resolve(page_url: &str, href: &str) -> String {
    reqwest::Url::parse(page_url).and_then(|base| base.join(href)).map_or_else(|_| href.to_string(), String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><body>
<a href="https://files.example/x/demo_pkg-0.9.0-py3-none-any.whl#sha256=AA">demo_pkg-0.9.0</a><br/>
<a href="../../files/demo_pkg-1.0.0-py3-none-any.whl#sha256=ABCDEF" data-requires-python="&gt;=3.9">demo_pkg-1.0.0</a>
<a href="/files/demo_pkg-1.0.0.tar.gz#sha256=00">sdist</a>
</body></html>"#;

    #[test]
    fn finds_the_wheel_of_the_version_asked_for() {
        let link = find_wheel("http://127.0.0.1:9/simple/demo-pkg/", PAGE, "Demo.Pkg", "1.0.0").unwrap();
        assert_eq!(link.url, "http://127.0.0.1:9/files/demo_pkg-1.0.0-py3-none-any.whl");
        assert_eq!(link.sha256.as_deref(), Some("abcdef"));
        let old = find_wheel("http://h/simple/demo-pkg/", PAGE, "demo-pkg", "0.9.0").unwrap();
        assert_eq!(old.url, "https://files.example/x/demo_pkg-0.9.0-py3-none-any.whl");
    }

    #[test]
    fn a_missing_version_is_a_clear_error() {
        let err = find_wheel("http://h/simple/demo-pkg/", PAGE, "demo-pkg", "2.0.0").unwrap_err();
        assert!(err.to_string().contains("demo-pkg 2.0.0"), "{err}");
    }

    #[test]
    fn names_are_normalised_per_pep_503() {
        assert_eq!(normalise("Gemma3_270M.q4--K"), "gemma3-270m-q4-k");
    }
}

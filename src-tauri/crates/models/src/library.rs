//! The local model library: the GGUF files in the models folder.

use std::path::{Path, PathBuf};

/// One model file; its id is the file name without `.gguf` (`local/<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModelFile {
    pub id: String,
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// Complete `.gguf` files in `dir`, by id. Partial downloads and vision
/// projectors (`mmproj*`, paired with a text model rather than used alone) are left out.
pub fn scan(dir: &Path) -> Vec<LocalModelFile> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<LocalModelFile> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_name()?.to_str()?.to_string();
            let id = name.strip_suffix(".gguf")?.to_string();
            let meta = e.metadata().ok()?;
            (meta.is_file() && !id.starts_with("mmproj") && !id.is_empty()).then_some(LocalModelFile {
                id,
                path,
                size_bytes: meta.len(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The model file with this id, if it is in the library.
pub fn find(dir: &Path, id: &str) -> Option<LocalModelFile> {
    if id.contains(['/', '\\']) || id.starts_with('.') {
        return None;
    }
    scan(dir).into_iter().find(|m| m.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_complete_models_only() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.gguf", "a.gguf", "c.gguf.partial", "mmproj-x.gguf", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"GGUF....").unwrap();
        }
        std::fs::create_dir(dir.path().join("d.gguf")).unwrap();
        let ids: Vec<String> = scan(dir.path()).into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(find(dir.path(), "b").unwrap().size_bytes, 8);
        assert!(find(dir.path(), "../b").is_none());
        assert!(scan(&dir.path().join("missing")).is_empty());
    }
}

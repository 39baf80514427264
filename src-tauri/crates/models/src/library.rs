//! The local model library: the GGUF files in the models folder, and what
//! their headers say about them.

use std::path::{Path, PathBuf};

use crate::gguf::{self, GgufHeader};

/// What a GGUF file's header says about the model in it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct ModelFacts {
    pub name: String,
    pub architecture: String,
    /// Parameter count (elements in all tensors).
    pub parameters: f64,
    /// `Q4_K_M`, `F16`, ...
    pub quantization: Option<String>,
    /// Context the model was trained for.
    pub context_length: Option<u32>,
    /// Width of its token embeddings (a vision projector must match it).
    pub embedding_length: Option<u32>,
    pub has_chat_template: bool,
    /// It pools token states into one vector (an embedding model).
    pub embedding: bool,
    /// It is a vision projector (mmproj), paired with a text model rather than used alone.
    pub projector: bool,
    /// For a projector: the embedding width of the text model it feeds.
    pub projection_dim: Option<u32>,
}

/// Architectures that are embedding models whatever their metadata says.
const EMBEDDING_ARCHITECTURES: &[&str] =
    &["bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3", "t5encoder", "neo-bert", "modern-bert"];

/// Reads the facts from the header of the GGUF file at `path`.
///
/// A header with a large vocabulary takes tens of milliseconds to read, and
/// model listings (`GET /v1/models`, polled by some clients) read every file's:
/// the facts are remembered per file and read again when its size, modification
/// time or inode changes. Errors are not remembered.
pub fn describe(path: &Path) -> Result<ModelFacts, gguf::GgufError> {
    let stamp = FileStamp::of(path);
    if let Some(stamp) = &stamp {
        let known = KNOWN_FACTS.lock().expect("facts lock");
        if let Some((at, facts)) = known.get(path) {
            if at == stamp {
                return Ok(facts.clone());
            }
        }
    }
    let facts = facts(&gguf::read_header(path)?, path);
    // Kept only if the file did not change while its header was read.
    if let Some(stamp) = stamp.filter(|s| FileStamp::of(path).as_ref() == Some(s)) {
        let mut known = KNOWN_FACTS.lock().expect("facts lock");
        if known.len() >= MAX_KNOWN_FACTS {
            known.clear();
        }
        known.insert(path.to_path_buf(), (stamp, facts.clone()));
    }
    Ok(facts)
}

/// Files whose facts are remembered at most (a library is rarely near it).
const MAX_KNOWN_FACTS: usize = 512;

static KNOWN_FACTS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<PathBuf, (FileStamp, ModelFacts)>>> =
    std::sync::LazyLock::new(Default::default);

/// What tells one version of a file from another without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
}

impl FileStamp {
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: {
                use std::os::unix::fs::MetadataExt;
                (meta.dev(), meta.ino())
            },
        })
    }
}

pub fn facts(h: &GgufHeader, path: &Path) -> ModelFacts {
    let arch = h.architecture().to_string();
    let u32_of = |v: Option<u64>| v.and_then(|v| u32::try_from(v).ok());
    let pooling = h.arch_u64("pooling_type").unwrap_or(0);
    let projector = h.str("general.type") == Some("mmproj") || arch == "clip";
    ModelFacts {
        name: h
            .str("general.name")
            .map(str::to_string)
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_default(),
        parameters: h.parameters() as f64,
        quantization: h.u64("general.file_type").and_then(gguf::file_type_name).map(str::to_string),
        context_length: u32_of(h.arch_u64("context_length")),
        embedding_length: u32_of(h.arch_u64("embedding_length")),
        has_chat_template: h.str("tokenizer.chat_template").is_some(),
        embedding: !projector && (pooling != 0 || EMBEDDING_ARCHITECTURES.contains(&arch.as_str())),
        projection_dim: u32_of(h.u64("clip.vision.projection_dim")),
        projector,
        architecture: arch,
    }
}

/// One model file; its id is the file name without `.gguf` (`local/<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModelFile {
    pub id: String,
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// Complete `.gguf` files in `dir`, by id. Partial downloads and vision
/// projectors named `mmproj*` are left out (see [`scan_all`] for those).
pub fn scan(dir: &Path) -> Vec<LocalModelFile> {
    scan_all(dir).into_iter().filter(|m| !m.id.starts_with("mmproj")).collect()
}

/// Every complete `.gguf` file in `dir`, projectors included, by id.
pub fn scan_all(dir: &Path) -> Vec<LocalModelFile> {
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
            (meta.is_file() && !id.is_empty()).then_some(LocalModelFile { id, path, size_bytes: meta.len() })
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
    scan_all(dir).into_iter().find(|m| m.id == id)
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

    #[test]
    fn remembered_facts_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        // A header alone: version 3, no tensors, two string entries.
        let write = |name: &str| {
            let mut b = b"GGUF".to_vec();
            b.extend(3u32.to_le_bytes());
            b.extend(0u64.to_le_bytes());
            b.extend(2u64.to_le_bytes());
            for (k, v) in [("general.architecture", "llama"), ("general.name", name)] {
                b.extend((k.len() as u64).to_le_bytes());
                b.extend(k.as_bytes());
                b.extend(8u32.to_le_bytes());
                b.extend((v.len() as u64).to_le_bytes());
                b.extend(v.as_bytes());
            }
            std::fs::write(&path, b).unwrap();
        };
        write("first");
        assert_eq!(describe(&path).unwrap().name, "first");
        assert_eq!(describe(&path).unwrap().name, "first", "read again from memory");
        // Replaced by another file (a new inode), then rewritten in place with another length.
        let other = dir.path().join("other.gguf");
        std::fs::rename(&path, &other).unwrap();
        write("second");
        assert_eq!(describe(&path).unwrap().name, "second");
        write("a third, longer name");
        assert_eq!(describe(&path).unwrap().name, "a third, longer name");
        // Broken: an error every time, not the facts of the last good version.
        std::fs::write(&path, b"not a model").unwrap();
        assert!(describe(&path).is_err());
        assert!(describe(&path).is_err());
    }
}

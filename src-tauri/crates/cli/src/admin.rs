//! `models`, `use-cases`, `config` and `tokens`: the same operations the
//! window's pages call, validated and audited the same way.

use std::path::Path;

use switchboard_core::{AppError, ErrorCode, TokenScope, UseCaseConfig};
use switchboard_service::ops;
use switchboard_service::ops::library::ImportMode;
use switchboard_service::AppState;

use crate::args::{ConfigCommand, ModelsCommand, SetArgs, TokensCommand, UseCasesCommand};
use crate::Out;

pub async fn models(state: &AppState, out: &Out, cmd: ModelsCommand) -> Result<(), AppError> {
    match cmd {
        ModelsCommand::List => {
            let models = ops::models::list(state).await?;
            out.print(&models, |models| {
                models
                    .iter()
                    .map(|m| {
                        format!(
                            "{:<50} {:<22} {}{}",
                            m.id,
                            m.capabilities.join(","),
                            if m.size_bytes > 0.0 { format!("{:.0} MB", m.size_bytes / 1e6) } else { String::new() },
                            if m.available { "" } else { "  (unavailable)" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        ModelsCommand::Import { path, reference } => {
            let path = std::path::absolute(&path).map_err(|e| AppError::for_field("path", e.to_string()))?;
            let mode = if reference { ImportMode::Reference } else { ImportMode::Copy };
            let model = ops::library::import(state, path.display().to_string(), mode).await?;
            out.print(&model, |m| format!("imported local/{}", m.id));
        }
        ModelsCommand::Pair { model, projector } => {
            let entry = library_entry(state, &model).await?;
            let projector = (projector != "none").then_some(projector);
            let settings = ops::library::ModelSettings { load: entry.load.clone(), projector };
            let saved = ops::library::save_settings(state, &model, settings).await?;
            out.print(&saved, |m| match &m.projector {
                Some(p) => format!("{} is paired with {p}", m.id),
                None => format!("{} has no projector", m.id),
            });
        }
        ModelsCommand::Set { model, gpu_layers, context, threads, parallel } => {
            let entry = library_entry(state, &model).await?;
            let mut load = entry.load.clone();
            let keep = |given: Option<crate::args::LoadValue>, now: Option<u32>| given.map_or(now, |v| v.0);
            load.gpu_layers = keep(gpu_layers, load.gpu_layers);
            load.context_length = keep(context, load.context_length);
            load.threads = keep(threads, load.threads);
            load.parallel = keep(parallel, load.parallel);
            let settings = ops::library::ModelSettings { load, projector: entry.projector.clone() };
            let saved = ops::library::save_settings(state, &model, settings).await?;
            let shown = |v: Option<u32>| v.map_or_else(|| "default".to_string(), |v| v.to_string());
            out.print(&saved, |m| {
                format!(
                    "{}: GPU layers {}, context {}, threads {}, parallel requests {}",
                    m.id,
                    m.load.gpu_layers.map_or_else(|| "auto".to_string(), |v| v.to_string()),
                    shown(m.load.context_length),
                    shown(m.load.threads),
                    shown(m.load.parallel)
                )
            });
        }
        ModelsCommand::Download { url, sha256, file_name } => {
            let request = switchboard_models::DownloadRequest { url, file_name, sha256, size_bytes: None };
            let started = ops::library::start_download(state, request)?;
            let mut last = String::new();
            let status = loop {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                let Some(s) = state.downloads.status(&started.id) else {
                    return Err(AppError::new(ErrorCode::Internal, "the download disappeared"));
                };
                use switchboard_models::DownloadState as S;
                match s.state {
                    S::Done => break s,
                    S::Failed | S::Cancelled => {
                        return Err(AppError::new(
                            ErrorCode::DownloadFailed,
                            s.error.unwrap_or_else(|| "the download stopped".into()),
                        ))
                    }
                    _ if !out.json => {
                        let line = match s.total_bytes {
                            Some(t) if t > 0.0 => format!("{:.0}%", s.done_bytes / t * 100.0),
                            _ => format!("{:.0} MB", s.done_bytes / 1e6),
                        };
                        if line != last {
                            eprintln!("{} {line}", s.file_name);
                            last = line;
                        }
                    }
                    _ => {}
                }
            };
            out.print(&status, |s| format!("downloaded {} ({:.0} MB)", s.file_name, s.done_bytes / 1e6));
        }
    }
    Ok(())
}

pub async fn use_cases(state: &AppState, out: &Out, cmd: UseCasesCommand) -> Result<(), AppError> {
    match cmd {
        UseCasesCommand::List => {
            let list = ops::use_cases::list(state).await?;
            out.print(&list, |list| {
                list.iter()
                    .map(|u| format!("{:<24} {:<40} {}", u.id, u.model, if u.enabled { "" } else { "(disabled)" }))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        UseCasesCommand::Show { id } => {
            let use_case = state.store().use_case(&id).await?;
            let route = state.gateway.resolved_route(&use_case).await?;
            let params = use_case.effective_params(None);
            let shown = serde_json::json!({"use_case": use_case, "params": params, "route": route});
            out.print(&shown, |_| {
                let mut lines = vec![
                    format!("{} ({})", use_case.name, use_case.id),
                    format!("model        {}", use_case.model),
                    format!(
                        "parameters   temperature {} · top-k {} · top-p {} · max tokens {} · repeat {}",
                        params.temperature, params.top_k, params.top_p, params.max_tokens, params.repeat_penalty
                    ),
                ];
                for (i, c) in route.iter().enumerate() {
                    let why = c.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                    lines.push(format!("route {}      {}{why}", i + 1, c.model));
                }
                lines.join("\n")
            });
        }
        UseCasesCommand::Set(a) => {
            let current = state.store().use_case(&a.id).await?;
            let cfg = changed(current.config(), &current, &a)?;
            let saved = ops::use_cases::save(state, &a.id, cfg).await?;
            out.print(&saved, |u| format!("saved {}: {}", u.id, u.model));
        }
    }
    Ok(())
}

/// The use case's configuration with what `a` changes.
fn changed(
    mut cfg: UseCaseConfig,
    current: &switchboard_core::UseCase,
    a: &SetArgs,
) -> Result<UseCaseConfig, AppError> {
    if let Some(m) = &a.model {
        cfg.model = m.clone();
    }
    if let Some(e) = a.enabled {
        cfg.enabled = e;
    }
    if let Some(s) = &a.system_prompt {
        cfg.system_prompt = (!s.trim().is_empty()).then(|| s.clone());
    }
    if a.fallbacks.iter().any(|f| f == "none") {
        cfg.fallbacks.clear();
    } else if !a.fallbacks.is_empty() {
        cfg.fallbacks =
            a.fallbacks.iter().map(|m| switchboard_core::RouteCandidate { model: m.clone(), params: None }).collect();
    }
    let o = crate::generate::overrides(&a.params);
    if a.default_params {
        cfg.use_custom_params = false;
    } else if !o.is_empty() {
        cfg.custom_params = Some(o.apply(current.effective_params(None)));
        cfg.use_custom_params = true;
    }
    Ok(cfg)
}

pub async fn config(state: &AppState, out: &Out, cmd: ConfigCommand) -> Result<(), AppError> {
    match cmd {
        ConfigCommand::Export { out: file } => {
            let json = ops::config_io::export(state).await?;
            match file {
                Some(path) => {
                    std::fs::write(&path, &json)
                        .map_err(|e| AppError::for_field("out", format!("{}: {e}", path.display())))?;
                    out.print(&serde_json::json!({"path": path}), |_| format!("wrote {}", path.display()));
                }
                None => println!("{json}"),
            }
        }
        ConfigCommand::Import { file, dry_run } => {
            let text = read_text(&file)?;
            let preview = ops::config_io::preview(state, &text).await?;
            if dry_run {
                out.print(&preview, |p| {
                    let mut lines = vec![format!("{} change(s); nothing applied (--dry-run)", p.changes.len())];
                    lines.extend(p.new_use_cases.iter().map(|u| format!("new use case {u}")));
                    lines.extend(p.unknown_models.iter().map(|m| format!("warning: {m} is not in the library")));
                    lines.join("\n")
                });
            } else {
                let applied = ops::config_io::apply(state, &text).await?;
                out.print(&serde_json::json!({"applied": applied, "preview": preview}), |_| {
                    format!("applied {applied} change(s)")
                });
            }
        }
    }
    Ok(())
}

fn read_text(path: &Path) -> Result<String, AppError> {
    let bytes = switchboard_files::read_capped(path, 16 * 1024 * 1024)
        .map_err(|e| AppError::for_field("file", format!("{}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|_| AppError::for_field("file", format!("{} is not UTF-8 text", path.display())))
}

pub async fn tokens(state: &AppState, out: &Out, cmd: TokensCommand) -> Result<(), AppError> {
    match cmd {
        TokensCommand::List => {
            let tokens = ops::api::tokens(state).await?;
            out.print(&tokens, |tokens| {
                tokens
                    .iter()
                    .map(|t| {
                        format!(
                            "{:<24} {:<6} {}…  created {}{}",
                            t.name,
                            t.scope.as_str(),
                            t.prefix,
                            t.created_at,
                            t.revoked_at.as_deref().map(|r| format!("  revoked {r}")).unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        TokensCommand::Create { name, admin } => {
            let scope = if admin { TokenScope::Admin } else { TokenScope::Use };
            let created = ops::api::create_token(state, &name, scope).await?;
            out.print(&created, |c| {
                format!("{}\n(the token '{}' is shown once: store it now)", c.secret, c.token.name)
            });
        }
        TokensCommand::Revoke { name } => {
            let token = ops::api::revoke_token(state, &name).await?;
            out.print(&token, |t| format!("revoked {}", t.name));
        }
    }
    Ok(())
}

/// A model of the library by id, or "no model ... in the library".
async fn library_entry(state: &AppState, model: &str) -> Result<ops::library::LibraryModel, AppError> {
    ops::library::page(state)
        .await?
        .models
        .into_iter()
        .find(|m| m.id == model)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no model {model} in the library")))
}

//! `switchboard providers`: the Providers page's list, add, change (a key
//! read from standard input, never from the command line where `ps` shows it)
//! and connection test.

use std::io::Read;

use switchboard_core::{AppError, ProviderKind};
use switchboard_service::ops;
use switchboard_service::ops::providers::{NewProviderRequest, ProviderUpdate};
use switchboard_service::AppState;

use crate::args::{ProviderSetArgs, ProvidersCommand};
use crate::Out;

pub async fn run(state: &AppState, out: &Out, cmd: ProvidersCommand) -> Result<(), AppError> {
    match cmd {
        ProvidersCommand::List => {
            let page = ops::providers::page(state).await?;
            out.print(&page.providers, |providers| {
                providers
                    .iter()
                    .map(|p| {
                        format!(
                            "{:<20} {:<18} {:<8} {:<40} ${:.2}{}",
                            p.settings.id,
                            serde_json::to_value(p.settings.kind)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default(),
                            if p.settings.enabled { "enabled" } else { "off" },
                            p.settings.base_url,
                            p.spend_this_month_usd,
                            p.settings.monthly_budget_usd.map(|b| format!(" of ${b:.2}")).unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        ProvidersCommand::Add { kind, name } => {
            let kind: ProviderKind = serde_json::from_value(serde_json::Value::String(kind.clone())).map_err(|_| {
                AppError::for_field(
                    "kind",
                    format!("'{kind}' is not a provider kind (openai, azure, anthropic, gemini, dashscope, ollama, openai_compatible)"),
                )
            })?;
            let before: Vec<String> =
                ops::providers::page(state).await?.providers.into_iter().map(|p| p.settings.id).collect();
            let page = ops::providers::create(state, NewProviderRequest { kind, name }).await?;
            let added =
                page.providers.into_iter().find(|p| !before.contains(&p.settings.id)).expect("the new provider");
            out.print(&added, |p| {
                format!(
                    "added {} (disabled; `switchboard providers set {} --enabled true`)",
                    p.settings.id, p.settings.id
                )
            });
        }
        ProvidersCommand::Set(a) => {
            let update = update(state, a).await?;
            let id = update.settings.id.clone();
            let page = ops::providers::save_all(state, vec![update]).await?;
            let saved = page.providers.into_iter().find(|p| p.settings.id == id).expect("the saved provider");
            out.print(&saved, |p| format!("saved {}", p.settings.id));
        }
        ProvidersCommand::Test { id } => {
            let report = ops::providers::test_connection(state, crate::generate::CLI_CALLER, &id).await?;
            let ok = report.ok;
            out.print(&report, |r| r.message.clone());
            if !ok {
                return Err(AppError::new(
                    switchboard_core::ErrorCode::ProviderUnavailable,
                    format!("{id} did not answer as it should"),
                ));
            }
        }
    }
    Ok(())
}

async fn update(state: &AppState, a: ProviderSetArgs) -> Result<ProviderUpdate, AppError> {
    let mut settings = state.store().provider(&a.id).await?.settings;
    if let Some(e) = a.enabled {
        settings.enabled = e;
    }
    if let Some(url) = a.base_url {
        settings.base_url = url;
    }
    if let Some(h) = a.allow_http {
        settings.allow_http = h;
    }
    if let Some(b) = a.budget {
        settings.monthly_budget_usd = match b.trim() {
            "none" | "" => None,
            v => Some(
                v.parse::<f64>()
                    .map_err(|_| AppError::for_field("budget", format!("'{v}' is not an amount in dollars")))?,
            ),
        };
    }
    let new_key = if a.key_stdin {
        let mut key = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut key)
            .map_err(|e| AppError::for_field("key", format!("cannot read the key from standard input: {e}")))?;
        let key = key.trim().to_string();
        if key.is_empty() {
            return Err(AppError::for_field("key", "standard input held no key"));
        }
        Some(key)
    } else {
        None
    };
    Ok(ProviderUpdate { settings, new_key, add_keys: Vec::new(), remove_keys: Vec::new() })
}

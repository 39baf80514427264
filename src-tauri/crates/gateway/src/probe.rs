//! Background health probes: while a provider is enabled and has a probe
//! interval, its model list (free; never a billed completion) is asked for
//! at that interval. A failure counts against its health like a failed
//! request; a success closes an open circuit at once, so that a provider
//! that came back is used again without waiting for a request to probe it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use switchboard_core::RoutingEventKind;
use switchboard_providers::{adapter, Endpoint, ErrorKind, ProviderError};
use tokio::time::Instant;

use crate::health::CircuitChange;
use crate::Gateway;

/// The longest a probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Default)]
pub(crate) struct ProbeTimes(Mutex<HashMap<String, Instant>>);

impl Gateway {
    /// Probes every enabled provider whose probe interval has passed; returns
    /// the ids probed. The app calls this every few seconds.
    pub async fn probe_due(&self) -> Vec<String> {
        let Ok(rows) = self.store.providers().await else { return Vec::new() };
        let mut probed = Vec::new();
        for row in rows {
            let p = row.settings;
            let Some(every) = p.limits.probe_interval_s.filter(|_| p.enabled) else { continue };
            let due = {
                let mut times = self.probes.0.lock().expect("probe times lock");
                let now = Instant::now();
                match times.get(&p.id) {
                    Some(last) if now.duration_since(*last) < Duration::from_secs(u64::from(every)) => false,
                    _ => {
                        times.insert(p.id.clone(), now);
                        true
                    }
                }
            };
            if !due {
                continue;
            }
            let result = self.probe(&p).await;
            let change = match &result {
                Ok(()) => self.health.success(&p.id),
                Err(e) => self.health.failure(&p.id, e.kind),
            };
            match (change, &result) {
                (Some(CircuitChange::Closed), _) => {
                    let message = format!("{} answers its health probe again: its circuit is closed", p.display_name);
                    self.raise(RoutingEventKind::CircuitClosed, Some(&p.id), None, None, message).await;
                }
                (Some(CircuitChange::Opened { for_ }), Err(e)) => {
                    let message = format!(
                        "{} failed its health probes ({}): not tried for {} s",
                        p.display_name,
                        e.message,
                        for_.as_secs()
                    );
                    self.raise(RoutingEventKind::CircuitOpened, Some(&p.id), None, None, message).await;
                }
                _ => {}
            }
            probed.push(p.id);
        }
        probed
    }

    /// Makes every provider due for its next probe (tests, and "probe now").
    pub fn forget_probe_times(&self) {
        self.probes.0.lock().expect("probe times lock").clear();
    }

    async fn probe(&self, p: &switchboard_core::ProviderSettings) -> Result<(), ProviderError> {
        let key = self
            .open_keys(&p.id)
            .await
            .map_err(|e| ProviderError::new(ErrorKind::Auth, e.message))?
            .into_iter()
            .next()
            .map(|(_, k)| k.to_string());
        let provider = adapter(Endpoint::for_provider(p, key), self.client_for(p))?;
        match tokio::time::timeout(PROBE_TIMEOUT, provider.list_models()).await {
            Ok(r) => r.map(|_| ()),
            Err(_) => Err(ProviderError::new(ErrorKind::Timeout, "the health probe got no answer in 20 s")),
        }
    }
}

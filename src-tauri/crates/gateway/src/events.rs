//! Routing events: stored in the events table and broadcast to whoever
//! listens (the window shows them as notifications). Budget warnings are
//! raised once per provider and month: at 80%, when spent, and when a new
//! month gives a spent budget back.

use std::collections::HashMap;
use std::sync::Mutex;

use switchboard_core::{ProviderSettings, RoutingEvent, RoutingEventKind};
use tokio::sync::broadcast;

use crate::Gateway;

/// How far into its budget a provider is known to be, this month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum BudgetMark {
    Under,
    Warned80,
    Spent,
}

#[derive(Default)]
pub(crate) struct BudgetMarks(Mutex<HashMap<String, (String, BudgetMark)>>);

pub(crate) fn channel() -> broadcast::Sender<RoutingEvent> {
    broadcast::channel(256).0
}

fn this_month() -> String {
    switchboard_store::queries::requests::month_window(chrono::Utc::now(), &chrono::Local).2
}

impl Gateway {
    /// Routing events as they happen (stored ones: [`switchboard_store::Store::events`]).
    pub fn subscribe(&self) -> broadcast::Receiver<RoutingEvent> {
        self.events.subscribe()
    }

    /// Stores an event and tells the listeners. A storage failure is logged,
    /// never passed to the request that raised it.
    pub(crate) async fn raise(
        &self,
        kind: RoutingEventKind,
        provider: Option<&str>,
        use_case: Option<&str>,
        ledger_id: Option<&str>,
        message: String,
    ) {
        let event = RoutingEvent {
            id: 0,
            at: switchboard_store::now(),
            kind,
            provider: provider.map(str::to_string),
            use_case: use_case.map(str::to_string),
            ledger_id: ledger_id.map(str::to_string),
            message,
        };
        if kind.is_warning() {
            tracing::warn!(kind = kind.as_str(), provider, use_case, message = %event.message, "routing event");
        } else {
            tracing::info!(kind = kind.as_str(), provider, use_case, message = %event.message, "routing event");
        }
        let event = match self.store.record_event(&event).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(%e, "could not store a routing event");
                event
            }
        };
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }

    /// Moves `provider`'s mark to `mark` for this month; true when that is news.
    fn mark_budget(&self, provider: &str, mark: BudgetMark) -> bool {
        let month = this_month();
        let mut marks = self.budget_marks.0.lock().expect("budget marks lock");
        let entry = marks.entry(provider.to_string()).or_insert((month.clone(), BudgetMark::Under));
        if entry.0 != month {
            *entry = (month, BudgetMark::Under);
        }
        if mark > entry.1 {
            entry.1 = mark;
            true
        } else {
            false
        }
    }

    /// A new month: a provider whose budget was spent last month serves again.
    pub(crate) async fn check_month_turn(&self, provider: &ProviderSettings) {
        let month = this_month();
        let turned = {
            let mut marks = self.budget_marks.0.lock().expect("budget marks lock");
            match marks.get_mut(&provider.id) {
                Some(entry) if entry.0 != month => {
                    let was_spent = entry.1 == BudgetMark::Spent;
                    *entry = (month.clone(), BudgetMark::Under);
                    was_spent
                }
                _ => false,
            }
        };
        if turned {
            let message = format!("{}: a new month ({month}); its budget is available again", provider.display_name);
            self.raise(RoutingEventKind::BudgetReset, Some(&provider.id), None, None, message).await;
        }
    }

    /// A request found the budget spent (raised once a month).
    pub(crate) async fn budget_spent(&self, provider: &ProviderSettings, spent: f64, budget: f64) {
        if self.mark_budget(&provider.id, BudgetMark::Spent) {
            let message = format!(
                "{} has spent ${spent:.2} of its ${budget:.2} monthly budget: it is skipped until the month turns",
                provider.display_name
            );
            self.raise(RoutingEventKind::BudgetSpent, Some(&provider.id), None, None, message).await;
        }
    }

    /// A request found its use case's budget spent (raised once a month).
    pub(crate) async fn use_case_budget_spent(&self, use_case: &switchboard_core::UseCase, message: &str) {
        if self.mark_budget(&format!("use_case:{}", use_case.id), BudgetMark::Spent) {
            self.raise(RoutingEventKind::BudgetSpent, None, Some(&use_case.id), None, message.to_string()).await;
        }
    }

    /// After a charge is in the ledger: warns at 80% and when the budget is spent.
    pub(crate) async fn after_charge(&self, provider: &ProviderSettings, use_case: &str, ledger_id: &str) {
        let Some(budget) = provider.monthly_budget_usd.filter(|b| *b > 0.0) else {
            return;
        };
        let Ok(spent) = self.store.month_spend_now(&provider.id).await else {
            return;
        };
        if spent >= budget {
            self.budget_spent(provider, spent, budget).await;
        } else if spent >= 0.8 * budget && self.mark_budget(&provider.id, BudgetMark::Warned80) {
            let message = format!(
                "{} has spent ${spent:.2} of its ${budget:.2} monthly budget ({:.0}%)",
                provider.display_name,
                100.0 * spent / budget
            );
            self.raise(RoutingEventKind::Budget80, Some(&provider.id), Some(use_case), Some(ledger_id), message).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use switchboard_core::{builtin_providers, RoutingEventKind};
    use switchboard_secrets::{KeyStorage, MasterKey};
    use switchboard_store::Store;

    use super::BudgetMark;
    use crate::{Gateway, Vault};

    #[tokio::test]
    async fn a_new_month_gives_a_spent_budget_back_once_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).await.unwrap();
        let engine = Arc::new(switchboard_engine::Engine::new(Default::default()));
        let vault = Vault::new(Ok((MasterKey::random().unwrap(), KeyStorage::Keyring)));
        let g = Gateway::new(store, engine, dir.path().join("models"), vault);
        let mut events = g.subscribe();
        let mut openai = builtin_providers().into_iter().find(|p| p.id == "openai").unwrap();
        openai.monthly_budget_usd = Some(5.0);

        // Spent last month (as the gateway remembers it); now the month has turned.
        g.budget_marks.0.lock().unwrap().insert("openai".into(), ("2000-01".into(), BudgetMark::Spent));
        g.check_month_turn(&openai).await;
        let event = events.try_recv().expect("an event");
        assert_eq!(event.kind, RoutingEventKind::BudgetReset);
        assert!(event.message.contains("available again"), "{}", event.message);
        assert_eq!(g.store().events(Some("openai"), 5).await.unwrap()[0].kind, RoutingEventKind::BudgetReset);
        // Said once: the same month again is no news.
        g.check_month_turn(&openai).await;
        assert!(events.try_recv().is_err());

        // Warned at 80% and at 100% once each per month.
        assert!(g.mark_budget("openai", BudgetMark::Warned80));
        assert!(!g.mark_budget("openai", BudgetMark::Warned80));
        assert!(g.mark_budget("openai", BudgetMark::Spent));
        assert!(!g.mark_budget("openai", BudgetMark::Warned80), "no 80% warning after the budget is spent");
    }
}

//! Budgets that hold: before a cloud call, its worst-case cost is reserved
//! against every budget it counts toward (the provider's, and the use
//! case's when it has one) under one lock with the month's spend and the
//! other reservations in flight; the reservation is released once the ledger
//! row holds the real cost, so concurrent requests cannot pass one check together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use switchboard_core::{AppError, ErrorCode, FailureClass, ModelPrice, ProviderSettings, UseCase};
use switchboard_providers::ChatRequest;

use crate::remote::Failure;
use crate::Gateway;

/// Worst-case costs of requests in flight, by provider id.
#[derive(Default, Clone)]
pub(crate) struct Reservations(Arc<Mutex<HashMap<String, f64>>>);

impl Reservations {
    /// What requests in flight hold against the budget `key` now.
    pub(crate) fn held(&self, key: &str) -> f64 {
        self.0.lock().expect("reservations lock").get(key).copied().unwrap_or(0.0)
    }
}

/// One request's share of [`Reservations`]; released when dropped.
pub(crate) struct Reservation {
    all: Reservations,
    /// The budgets it holds against: the provider's, the use case's (`use_case:{id}`).
    keys: Vec<String>,
    amount: f64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut all = self.all.0.lock().expect("reservations lock");
        for key in &self.keys {
            if let Some(held) = all.get_mut(key) {
                *held -= self.amount;
                if *held <= 1e-12 {
                    all.remove(key);
                }
            }
        }
    }
}

/// One budget a request counts against.
struct BudgetScope {
    key: String,
    /// Who has the budget, for people ("OpenAI", "the use case Answers").
    who: String,
    budget: f64,
    spent: f64,
    /// Where to raise it.
    fix: &'static str,
}

/// Tokens in `text`, counted the way a reader would without the provider's
/// tokenizer: about four characters each, never less than one per word.
pub(crate) fn count_tokens(text: &str) -> u32 {
    let by_chars = text.chars().count().div_ceil(4);
    let words = text.split_whitespace().count();
    by_chars.max(words) as u32
}

/// The prompt's tokens, counted (images as a typical tile's worth each).
pub(crate) fn prompt_tokens(req: &ChatRequest) -> u32 {
    req.messages.iter().map(|m| count_tokens(&m.text) + 4 + 765 * m.images.len() as u32).sum()
}

impl Gateway {
    /// Reserves `req`'s worst-case cost against `provider`'s monthly budget
    /// and `use_case`'s (where they have one), or says why it cannot go: a
    /// budget would be passed, or no price is known.
    pub(crate) async fn reserve(
        &self,
        provider: &ProviderSettings,
        use_case: &UseCase,
        req: &ChatRequest,
        price: Option<&ModelPrice>,
    ) -> Result<Option<Reservation>, Failure> {
        let other = |e: switchboard_store::StoreError| Failure::skipped(FailureClass::Other, e.into());
        let mut scopes = Vec::new();
        if let Some(budget) = provider.monthly_budget_usd {
            self.check_month_turn(provider).await;
            let spent = self.store.month_spend_now(&provider.id).await.map_err(other)?;
            scopes.push(BudgetScope {
                key: provider.id.clone(),
                who: provider.display_name.clone(),
                budget,
                spent,
                fix: "raise the budget on the Providers page",
            });
        }
        if let Some(budget) = use_case.monthly_budget_usd {
            let spent = self.store.use_case_month_spend_now(&use_case.id).await.map_err(other)?;
            scopes.push(BudgetScope {
                key: format!("use_case:{}", use_case.id),
                who: format!("the use case {}", use_case.name),
                budget,
                spent,
                fix: "raise the use case's budget on the Use cases page",
            });
        }
        let Some(first) = scopes.first() else {
            return Ok(None);
        };
        let price = price.ok_or_else(|| {
            Failure::skipped(FailureClass::PriceMissing, AppError::new(
                ErrorCode::BudgetExceeded,
                format!(
                    "{} has a monthly budget, but no price is known for {}: import a price file that lists it (Providers page) or remove the budget",
                    first.who, req.model
                ),
            ))
        })?;
        let worst = price.cost(prompt_tokens(req), 0, req.params.max_tokens);
        // Checked and reserved under one lock: two requests cannot both pass on the same headroom.
        let refused = {
            let mut all = self.reserved.0.lock().expect("reservations lock");
            let over = scopes.iter().find_map(|s| {
                let held = all.get(&s.key).copied().unwrap_or(0.0);
                let (spent, budget) = (s.spent, s.budget);
                if spent >= budget {
                    Some((s, format!("has spent ${spent:.2} of its ${budget:.2} monthly budget")))
                } else if spent + held + worst > budget {
                    Some((s, format!(
                        "has ${:.4} of its ${budget:.2} monthly budget left (${held:.4} held by requests in flight), and this request may cost up to ${worst:.4}",
                        budget - spent
                    )))
                } else {
                    None
                }
            });
            match over {
                Some((s, detail)) => Some((
                    s.key.clone(),
                    s.spent >= s.budget,
                    format!("{} {detail}; {}, lower max tokens or choose another model", s.who, s.fix),
                )),
                None => {
                    for s in &scopes {
                        *all.entry(s.key.clone()).or_insert(0.0) += worst;
                    }
                    None
                }
            }
        };
        let Some((key, spent_already, message)) = refused else {
            let keys = scopes.into_iter().map(|s| s.key).collect();
            return Ok(Some(Reservation { all: self.reserved.clone(), keys, amount: worst }));
        };
        if spent_already {
            if key == provider.id {
                let s = scopes.iter().find(|s| s.key == key).expect("the scope refused");
                self.budget_spent(provider, s.spent, s.budget).await;
            } else {
                self.use_case_budget_spent(use_case, &message).await;
            }
        }
        Err(Failure::skipped(FailureClass::BudgetSpent, AppError::new(ErrorCode::BudgetExceeded, message)))
    }
}

//! Reading the ledger at scale: History's filtered pages and counts, the
//! Costs page's sums, and streamed exports. Sums come from `requests_hourly`
//! (exact per UTC hour, kept by triggers) for the whole hours of a range and
//! from the ledger itself for the partial hours at its ends.

mod costs;
mod export;
mod filter;
mod page;
mod writer;

pub use costs::{breakdown, cost_report, cost_report_with_p95, latency_percentiles, MAX_P95_ROWS};
pub use export::{export, CSV_COLUMNS};
pub use filter::Resolved;
pub use page::{count, facets, page, Facets};
pub use writer::LedgerWriter;

//! One module per table (the provider tables share one).

pub mod audit;
pub mod events;
pub mod groups;
pub mod local_models;
pub mod model_prices;
pub mod providers;
pub mod reports;
pub mod request_texts;
pub mod requests;
pub mod use_cases;
pub mod vision;

//! One module per table.

pub mod audit;
pub mod requests;
pub mod use_cases;

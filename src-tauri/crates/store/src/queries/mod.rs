//! One module per table.

pub mod requests;

//! JSON columns: values stored as text, read back with a clear error when a row was damaged.

use serde::{de::DeserializeOwned, Serialize};

use crate::StoreError;

pub(crate) fn to_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain types always serialise")
}

pub(crate) fn from_text<T: DeserializeOwned>(text: &str, column: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn from_opt_text<T: DeserializeOwned>(text: Option<String>, column: &str) -> Result<Option<T>, StoreError> {
    text.map(|t| from_text(&t, column)).transpose()
}

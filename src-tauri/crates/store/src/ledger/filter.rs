//! A History filter as SQL over the ledger, and a range split into the whole
//! hours the hourly sums answer and the partial hours the ledger does.

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Timelike, Utc};
use switchboard_core::{AppError, LedgerFilter};

use crate::queries::requests::day_start;

/// A filter with its days turned into UTC instants `[start, end)`.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub filter: LedgerFilter,
    pub start: Option<String>,
    pub end: Option<String>,
}

impl Resolved {
    /// Checks `filter` and places its days in the time zone `tz`.
    pub fn new<Tz: TimeZone>(filter: &LedgerFilter, tz: &Tz) -> Result<Self, AppError> {
        let filter = filter.normalized()?;
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("normalized() checked the date");
        let start = filter.from.as_deref().map(|d| day_start(day(d), tz));
        let end = filter.to.as_deref().map(|d| day_start(day(d).succ_opt().unwrap_or(day(d)), tz));
        Ok(Self { filter, start, end })
    }

    /// [`Self::new`] in this computer's time zone (the user's).
    pub fn local(filter: &LedgerFilter) -> Result<Self, AppError> {
        Self::new(filter, &chrono::Local)
    }

    /// Everything: no filter, no range.
    pub fn all() -> Self {
        Self { filter: LedgerFilter::default(), start: None, end: None }
    }
}

/// SQL conditions (joined with AND) and their text parameters.
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    pub sql: Vec<String>,
    pub binds: Vec<String>,
}

impl Conditions {
    pub fn push(&mut self, sql: &str, binds: impl IntoIterator<Item = String>) {
        self.sql.push(sql.to_string());
        self.binds.extend(binds);
    }

    pub fn where_clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }
}

/// The conditions on use case, provider and model (the hourly sums' dimensions).
pub(crate) fn dimensions(f: &LedgerFilter, c: &mut Conditions) {
    dimensions_of("", f, c)
}

/// [`dimensions`] on the columns of a table named by `prefix` (`h.`).
pub(crate) fn dimensions_of(prefix: &str, f: &LedgerFilter, c: &mut Conditions) {
    for (column, value) in [("use_case", &f.use_case), ("provider", &f.provider), ("model", &f.model)] {
        if let Some(v) = value {
            c.push(&format!("{prefix}{column} = ?"), [v.clone()]);
        }
    }
}

/// Every condition of `r` on ledger rows, the range included.
pub(crate) fn rows(r: &Resolved) -> Conditions {
    let mut c = Conditions::default();
    if let Some(start) = &r.start {
        c.push("created_at >= ?", [start.clone()]);
    }
    if let Some(end) = &r.end {
        c.push("created_at < ?", [end.clone()]);
    }
    dimensions(&r.filter, &mut c);
    if let Some(status) = r.filter.status {
        c.push("status = ?", [status.as_str().to_string()]);
    }
    if let Some(caller) = &r.filter.caller {
        c.push("caller = ?", [caller.clone()]);
    }
    if let Some(search) = &r.filter.search {
        let escaped = search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        c.push("(id = ? OR error LIKE ? ESCAPE '\\')", [search.clone(), format!("%{escaped}%")]);
    }
    c
}

/// A range cut at whole UTC hours: the hourly sums serve `[first_hour,
/// end_hour)`, the ledger the instants in `edges`.
#[derive(Debug, PartialEq)]
pub(crate) struct Split {
    /// `YYYY-MM-DDTHH` bounds on `requests_hourly.hour`; none = open.
    pub first_hour: Option<String>,
    pub end_hour: Option<String>,
    /// `[start, end)` instants read from the ledger.
    pub edges: Vec<(Option<String>, Option<String>)>,
}

impl Split {
    /// Conditions on `requests_hourly` (its columns named with `prefix`, e.g.
    /// `h.`) for the whole hours, and on the filter's dimensions.
    pub fn hourly(&self, prefix: &str, f: &LedgerFilter) -> Conditions {
        let mut c = Conditions::default();
        if let Some(h) = &self.first_hour {
            c.push(&format!("{prefix}hour >= ?"), [h.clone()]);
        }
        if let Some(h) = &self.end_hour {
            c.push(&format!("{prefix}hour < ?"), [h.clone()]);
        }
        dimensions_of(prefix, f, &mut c);
        c
    }

    /// Conditions on the ledger for each partial hour, with the filter's
    /// dimensions, each with the instant it starts at.
    pub fn edges(&self, f: &LedgerFilter) -> Vec<(Option<String>, Conditions)> {
        self.edges
            .iter()
            .map(|(start, end)| {
                let mut c = Conditions::default();
                if let Some(s) = start {
                    c.push("created_at >= ?", [s.clone()]);
                }
                if let Some(e) = end {
                    c.push("created_at < ?", [e.clone()]);
                }
                dimensions(f, &mut c);
                (start.clone(), c)
            })
            .collect()
    }
}

fn parse(instant: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(instant).expect("a resolved instant").with_timezone(&Utc)
}

fn hour_of(t: DateTime<Utc>) -> (String, String) {
    (t.format("%Y-%m-%dT%H").to_string(), t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

pub(crate) fn split(start: Option<&str>, end: Option<&str>) -> Split {
    let floor = |t: DateTime<Utc>| t.with_nanosecond(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_minute(0));
    // The first whole hour at or after start, the last hour boundary at or before end.
    let first = start.map(|s| {
        let t = parse(s);
        let f = floor(t).expect("an hour start");
        hour_of(if f == t { f } else { f + chrono::Duration::hours(1) })
    });
    let last = end.map(|e| hour_of(floor(parse(e)).expect("an hour start")));
    if let (Some((fh, _)), Some((lh, _))) = (&first, &last) {
        if fh >= lh {
            return Split {
                first_hour: Some(fh.clone()),
                end_hour: Some(fh.clone()),
                edges: vec![(start.map(str::to_string), end.map(str::to_string))],
            };
        }
    }
    let mut edges = Vec::new();
    if let Some((_, at)) = &first {
        if Some(at.as_str()) != start {
            edges.push((start.map(str::to_string), Some(at.clone())));
        }
    }
    if let Some((_, at)) = &last {
        if Some(at.as_str()) != end {
            edges.push((Some(at.clone()), end.map(str::to_string)));
        }
    }
    Split { first_hour: first.map(|(h, _)| h), end_hour: last.map(|(h, _)| h), edges }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_at_whole_hours() {
        let s = split(Some("2026-11-30T15:00:00.000Z"), Some("2026-12-31T15:00:00.000Z"));
        assert_eq!(s.first_hour.as_deref(), Some("2026-11-30T15"));
        assert_eq!(s.end_hour.as_deref(), Some("2026-12-31T15"));
        assert!(s.edges.is_empty());
        // India (UTC+5:30): the day starts on a half hour; the half hours at both ends come from the ledger.
        let s = split(Some("2026-11-30T18:30:00.000Z"), Some("2026-12-01T18:30:00.000Z"));
        assert_eq!(s.first_hour.as_deref(), Some("2026-11-30T19"));
        assert_eq!(s.end_hour.as_deref(), Some("2026-12-01T18"));
        assert_eq!(
            s.edges,
            vec![
                (Some("2026-11-30T18:30:00.000Z".into()), Some("2026-11-30T19:00:00.000Z".into())),
                (Some("2026-12-01T18:00:00.000Z".into()), Some("2026-12-01T18:30:00.000Z".into())),
            ]
        );
        // Inside one hour: all from the ledger.
        let s = split(Some("2026-12-01T10:10:00.000Z"), Some("2026-12-01T10:20:00.000Z"));
        assert_eq!(s.edges.len(), 1);
        assert_eq!(s.first_hour, s.end_hour);
        // Open ends.
        let s = split(None, None);
        assert_eq!((s.first_hour, s.end_hour, s.edges.len()), (None, None, 0));
    }
}

//! Partition filters: equality, lists and ranges per partition key, and a
//! date floor (`start_date`, an incremental bookmark).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::scheme::{period_end, PartValue, PartitionScheme};
use super::value::compare_values;
use super::PartitionError;

/// One condition on a partition key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The value equals this one.
    Eq(String),
    /// The value is one of these.
    In(Vec<String>),
    /// The value lies within these bounds (each optional).
    Range {
        /// Greater than or equal to.
        gte: Option<String>,
        /// Strictly greater than.
        gt: Option<String>,
        /// Less than or equal to.
        lte: Option<String>,
        /// Strictly less than.
        lt: Option<String>,
    },
}

impl Condition {
    /// Whether `raw` satisfies the condition (compared as dates, integers or
    /// strings as the values allow).
    pub fn accepts(&self, raw: &str) -> bool {
        match self {
            Condition::Eq(v) => compare_values(raw, v) == Ordering::Equal,
            Condition::In(vs) => vs.iter().any(|v| compare_values(raw, v) == Ordering::Equal),
            Condition::Range { gte, gt, lte, lt } => {
                gte.as_ref().is_none_or(|b| compare_values(raw, b) != Ordering::Less)
                    && gt.as_ref().is_none_or(|b| compare_values(raw, b) == Ordering::Greater)
                    && lte.as_ref().is_none_or(|b| compare_values(raw, b) != Ordering::Greater)
                    && lt.as_ref().is_none_or(|b| compare_values(raw, b) == Ordering::Less)
            }
        }
    }

    fn parse(key: &str, value: &Value) -> Result<Condition, PartitionError> {
        match value {
            Value::Array(items) => {
                let values = items.iter().map(|v| scalar(key, v)).collect::<Result<Vec<_>, _>>()?;
                if values.is_empty() {
                    return Err(PartitionError::new(format!(
                        "`partition_filter.{key}` is an empty list; give at least one value or remove the key"
                    )));
                }
                Ok(Condition::In(values))
            }
            Value::Object(ops) => {
                let (mut gte, mut gt, mut lte, mut lt) = (None, None, None, None);
                for (op, v) in ops {
                    match op.as_str() {
                        "gte" | ">=" => gte = Some(scalar(key, v)?),
                        "gt" | ">" => gt = Some(scalar(key, v)?),
                        "lte" | "<=" => lte = Some(scalar(key, v)?),
                        "lt" | "<" => lt = Some(scalar(key, v)?),
                        "eq" | "=" if ops.len() == 1 => return Ok(Condition::Eq(scalar(key, v)?)),
                        "in" if ops.len() == 1 => return Condition::parse(key, v),
                        other => {
                            return Err(PartitionError::new(format!(
                                "`partition_filter.{key}` has the operator '{other}'; use a value, a list of \
                                 values, or an object with gte, gt, lte, lt"
                            )))
                        }
                    }
                }
                if ops.is_empty() {
                    return Err(PartitionError::new(format!(
                        "`partition_filter.{key}` is an empty object; use gte, gt, lte or lt"
                    )));
                }
                Ok(Condition::Range { gte, gt, lte, lt })
            }
            v => Ok(Condition::Eq(scalar(key, v)?)),
        }
    }
}

fn scalar(key: &str, v: &Value) -> Result<String, PartitionError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(PartitionError::new(format!(
            "`partition_filter.{key}` holds {other}; values must be strings or numbers"
        ))),
    }
}

/// A filter on partition values: conditions per key (all must hold) and an
/// optional date floor (partitions whose period ends before it are pruned).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionFilter {
    /// Conditions per partition name.
    pub conditions: BTreeMap<String, Vec<Condition>>,
    /// Keep only partitions whose date period ends at or after this moment.
    pub since: Option<NaiveDateTime>,
}

impl PartitionFilter {
    /// Parses `partition_filter`: `{"key": value | [values] | {"gte"|"gt"|"lte"|"lt": value}}`.
    pub fn from_json(map: &Map<String, Value>) -> Result<PartitionFilter, PartitionError> {
        let mut filter = PartitionFilter::default();
        for (key, value) in map {
            filter.add(key, Condition::parse(key, value)?);
        }
        Ok(filter)
    }

    /// Adds a condition on `key`.
    pub fn add(&mut self, key: &str, condition: Condition) {
        self.conditions.entry(key.to_string()).or_default().push(condition);
    }

    /// Raises the date floor to `at` (`start_date`, an incremental bookmark).
    pub fn with_since(mut self, at: Option<NaiveDateTime>) -> PartitionFilter {
        self.since = match (self.since, at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self
    }

    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty() && self.since.is_none()
    }

    /// Checks that every key the filter names is a partition of `scheme`.
    pub fn validate(&self, scheme: &PartitionScheme) -> Result<(), PartitionError> {
        let names = scheme.names();
        let unknown: Vec<&String> = self.conditions.keys().filter(|k| !names.contains(k)).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(PartitionError::new(format!(
            "`partition_filter` names {} which the data does not have: found {}{}. Filter on one of the partitions \
             found, or set `partition_keys` to name positional folder levels.",
            unknown.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", "),
            scheme.describe(),
            if names.is_empty() {
                " (no partitions)".to_string()
            } else {
                format!(" (partitions: {})", names.join(", "))
            }
        )))
    }

    /// The conditions on `name`.
    pub fn on(&self, name: &str) -> &[Condition] {
        self.conditions.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The values `name` may take when an equality or list condition fixes
    /// them (the other conditions on `name` applied), else `None`.
    pub fn exact_values(&self, name: &str) -> Option<Vec<String>> {
        let conds = self.on(name);
        let mut values: Option<Vec<String>> = None;
        for c in conds {
            let these = match c {
                Condition::Eq(v) => vec![v.clone()],
                Condition::In(vs) => vs.clone(),
                Condition::Range { .. } => continue,
            };
            values = Some(match values {
                None => these,
                Some(prev) => prev
                    .into_iter()
                    .filter(|v| these.iter().any(|t| compare_values(v, t) == Ordering::Equal))
                    .collect(),
            });
        }
        values.map(|vs| {
            let mut out: Vec<String> = Vec::new();
            for v in vs {
                if conds.iter().all(|c| c.accepts(&v)) && !out.iter().any(|o| compare_values(o, &v) == Ordering::Equal)
                {
                    out.push(v);
                }
            }
            out
        })
    }

    fn check(&self, values: &[PartValue], partial: bool) -> bool {
        for (name, conds) in &self.conditions {
            match values.iter().find(|v| &v.name == name) {
                Some(v) => {
                    if !conds.iter().all(|c| c.accepts(&v.raw)) {
                        return false;
                    }
                }
                None if partial => {}
                None => return false,
            }
        }
        if let (Some(since), true) = (self.since, values.iter().any(|v| v.date_part.is_some())) {
            if period_end(values).is_some_and(|end| end < since) {
                return false;
            }
        }
        true
    }

    /// Whether a file with these partition values passes (a filtered key it lacks fails it).
    pub fn accepts(&self, values: &[PartValue]) -> bool {
        self.check(values, false)
    }

    /// Whether a folder with these (leading) partition values may hold passing files.
    pub fn accepts_partial(&self, values: &[PartValue]) -> bool {
        self.check(values, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use serde_json::json;

    fn filter(v: Value) -> PartitionFilter {
        PartitionFilter::from_json(v.as_object().unwrap()).unwrap()
    }

    fn scheme() -> PartitionScheme {
        PartitionScheme::detect(
            "events/",
            &[
                "events/year=2023/month=01/day=01/a",
                "events/year=2024/month=12/day=05/a",
            ],
        )
    }

    #[test]
    fn parses_equality_lists_and_ranges() {
        let f = filter(json!({"year": 2024, "month": ["01", "02", "03"], "day": {"gte": "03", "lt": 5}}));
        assert_eq!(f.on("year"), [Condition::Eq("2024".into())]);
        assert_eq!(f.exact_values("month").unwrap(), ["01", "02", "03"]);
        assert!(f.exact_values("day").is_none());
        let s = scheme();
        assert!(f.accepts(&s.values("events/year=2024/month=02/day=03/a")));
        assert!(f.accepts(&s.values("events/year=2024/month=2/day=4/a")));
        assert!(!f.accepts(&s.values("events/year=2024/month=02/day=05/a")));
        assert!(!f.accepts(&s.values("events/year=2023/month=02/day=03/a")));
        assert!(!f.accepts(&s.values("events/year=2024/month=04/day=03/a")));
        assert!(f.accepts_partial(&s.values("events/year=2024/x")));
        assert!(!f.accepts(&s.values("events/year=2024/x")));
        f.validate(&s).unwrap();
    }

    #[test]
    fn rejects_bad_filters() {
        for bad in [
            json!({"a": []}),
            json!({"a": {}}),
            json!({"a": {"ne": 1}}),
            json!({"a": null}),
        ] {
            let err = PartitionFilter::from_json(bad.as_object().unwrap()).unwrap_err();
            assert!(
                err.to_string().starts_with("Partition error: `partition_filter.a`"),
                "{err}"
            );
        }
    }

    #[test]
    fn unknown_key_names_the_partitions_found() {
        let f = filter(json!({"country": "fr"}));
        let msg = f.validate(&scheme()).unwrap_err().to_string();
        assert!(msg.starts_with("Partition error:"), "{msg}");
        assert!(msg.contains("'country'") && msg.contains("year, month, day"), "{msg}");
    }

    #[test]
    fn compares_dates_and_intersects_exact_values() {
        let s = PartitionScheme::detect("t/", &["t/dt=2024-01-15/a", "t/dt=2024-02-15/a"]);
        let f = filter(json!({"dt": {"gte": "2024-02-01"}}));
        assert!(!f.accepts(&s.values("t/dt=2024-01-31/a")));
        assert!(f.accepts(&s.values("t/dt=2024-02-01/a")));
        let mut f = filter(json!({"m": ["1", "2", "3"]}));
        f.add(
            "m",
            Condition::Range {
                gte: Some("02".into()),
                gt: None,
                lte: None,
                lt: None,
            },
        );
        assert_eq!(f.exact_values("m").unwrap(), ["2", "3"]);
        f.add("m", Condition::Eq("03".into()));
        assert_eq!(f.exact_values("m").unwrap(), ["3"]);
    }

    #[test]
    fn date_floor_prunes_whole_periods() {
        let since = NaiveDate::from_ymd_opt(2024, 3, 10)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let f = PartitionFilter::default().with_since(Some(since));
        assert!(!f.is_empty());
        let s = PartitionScheme::detect("", &["2024/01/01/a", "2024/12/31/a"]);
        assert!(!f.accepts(&s.values("2024/03/09/a")));
        assert!(f.accepts(&s.values("2024/03/10/a")));
        assert!(f.accepts_partial(&s.values("2024/03/x")));
        assert!(!f.accepts_partial(&s.values("2024/02/x")));
        assert!(!f.accepts_partial(&s.values("2023/x")));
        // No date in the key: the floor cannot prune it.
        let flat = PartitionScheme::detect("", &["a/x", "b/y"]);
        assert!(f.accepts(&flat.values("a/x")));
    }
}

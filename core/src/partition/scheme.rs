//! Detecting a partition scheme from a sample of keys, naming its levels
//! (`partition_keys`) and reading a key's partition values.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::value::{parse_date, parse_int};
use super::PartitionError;

/// Which part of a date a folder level holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DatePart {
    /// A whole date (`2024-01-15`, `20240115`).
    Date,
    /// `YYYY`.
    Year,
    /// `MM` (01..12).
    Month,
    /// `DD` (01..31).
    Day,
    /// `HH` (00..23).
    Hour,
}

impl DatePart {
    /// The name a positional level of this part gets by default.
    pub fn default_name(self) -> &'static str {
        match self {
            DatePart::Date => "date",
            DatePart::Year => "year",
            DatePart::Month => "month",
            DatePart::Day => "day",
            DatePart::Hour => "hour",
        }
    }

    /// How many values the part can take (used to estimate fractions), if bounded.
    pub fn natural_cardinality(self) -> Option<usize> {
        match self {
            DatePart::Month => Some(12),
            DatePart::Day => Some(30),
            DatePart::Hour => Some(24),
            DatePart::Date | DatePart::Year => None,
        }
    }

    fn of_hive_key(key: &str) -> Option<DatePart> {
        match key.to_ascii_lowercase().as_str() {
            "year" | "yyyy" | "yr" => Some(DatePart::Year),
            "month" | "mm" | "mon" => Some(DatePart::Month),
            "day" | "dd" => Some(DatePart::Day),
            "hour" | "hh" | "hr" => Some(DatePart::Hour),
            _ => None,
        }
    }
}

/// What one folder level (a depth under the base prefix) holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LevelKind {
    /// The same literal folder in every key (`AWSLogs`, `CloudTrail`).
    Fixed(String),
    /// Hive `key=value` folders with one key at this depth.
    Hive(String),
    /// Hive `key=value` folders whose key varies at this depth (keys in another order).
    HiveMixed,
    /// A positional date part (`2024/01/15/`).
    Date(DatePart),
    /// A positional value that varies (an account id, a region).
    Value,
}

/// One folder level of a [`PartitionScheme`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// What the level holds.
    pub kind: LevelKind,
    /// The partition name of its values (`None` for fixed and unnamed levels).
    pub name: Option<String>,
    /// The date part its values hold, if any (hive `year=`, `dt=2024-01-15`, positional dates).
    pub date_part: Option<DatePart>,
    /// The length every observed value has, if they all have the same.
    pub width: Option<usize>,
    /// For whole dates: the chrono format the values use.
    pub date_format: Option<&'static str>,
    /// Distinct values observed (for hive: the values, without `key=`).
    pub observed: BTreeSet<String>,
}

impl Level {
    fn new(kind: LevelKind) -> Level {
        Level {
            kind,
            name: None,
            date_part: None,
            width: None,
            date_format: None,
            observed: BTreeSet::new(),
        }
    }

    /// Whether the level holds partition values (not a fixed folder).
    pub fn is_partition(&self) -> bool {
        !matches!(self.kind, LevelKind::Fixed(_))
    }

    /// The folder segment (without `/`) for `value` at this level: `key=value` for
    /// hive levels; numbers are zero-padded to the observed width.
    pub fn segment(&self, value: &str) -> Option<String> {
        let value = self.pad(value);
        match &self.kind {
            LevelKind::Fixed(s) => Some(s.clone()),
            LevelKind::Hive(k) => Some(format!("{k}={value}")),
            LevelKind::HiveMixed => None,
            LevelKind::Date(_) | LevelKind::Value => Some(value),
        }
    }

    fn pad(&self, value: &str) -> String {
        match (self.width, parse_int(value)) {
            (Some(w), Some(i)) if i >= 0 && value.len() < w && !value.starts_with('+') => format!("{i:0w$}"),
            _ => value.to_string(),
        }
    }

    /// The segment of this level for the date/time `at`, for date levels.
    fn date_segment(&self, at: NaiveDateTime) -> Option<String> {
        let value = match self.date_part? {
            DatePart::Date => at.format(self.date_format.unwrap_or("%Y-%m-%d")).to_string(),
            DatePart::Year => format!("{:04}", at.year()),
            DatePart::Month => format!("{:02}", at.month()),
            DatePart::Day => format!("{:02}", at.day()),
            DatePart::Hour => format!("{:02}", at.hour()),
        };
        self.segment(&value)
    }
}

/// One partition value of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartValue {
    /// The partition name.
    pub name: String,
    /// The value as written in the key.
    pub raw: String,
    /// The date part it holds, if any.
    pub date_part: Option<DatePart>,
    /// Its folder depth under the base prefix.
    pub depth: usize,
}

/// How the keys under a base prefix are partitioned: one [`Level`] per folder depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionScheme {
    /// The base prefix (the stream's `path_prefix`), as given.
    pub base: String,
    /// The folder levels under the base, shallowest first.
    pub levels: Vec<Level>,
    /// The configured `partition_keys`, if any (the order of the partition columns).
    pub keys: Option<Vec<String>>,
}

/// The folder segments of `key` under `base` (the file name dropped).
pub(crate) fn dirs<'a>(base: &str, key: &'a str) -> Vec<&'a str> {
    let rel = key.strip_prefix(base).unwrap_or(key).trim_start_matches('/');
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    parts
}

fn hive_split(seg: &str) -> Option<(&str, &str)> {
    let (k, v) = seg.split_once('=')?;
    (!k.is_empty()).then_some((k, v))
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn in_range(s: &str, len: usize, lo: i64, hi: i64) -> bool {
    all_digits(s, len) && parse_int(s).is_some_and(|i| (lo..=hi).contains(&i))
}

fn date_format_of(s: &str) -> Option<&'static str> {
    parse_date(s)?;
    Some(if all_digits(s, 8) {
        "%Y%m%d"
    } else if s.as_bytes().get(4) == Some(&b'/') {
        "%Y/%m/%d"
    } else {
        "%Y-%m-%d"
    })
}

impl PartitionScheme {
    /// Detects the scheme of `keys` (object keys, all under `base`): hive
    /// `k=v/` folders at any depth, positional date paths `YYYY/MM[/DD[/HH]]`,
    /// whole-date folders, fixed folders and varying positional values.
    pub fn detect<S: AsRef<str>>(base: &str, keys: &[S]) -> PartitionScheme {
        let paths: Vec<Vec<&str>> = keys.iter().map(|k| dirs(base, k.as_ref())).collect();
        let depth = paths.iter().map(Vec::len).max().unwrap_or(0);
        let at = |d: usize| -> Vec<&str> { paths.iter().filter_map(|p| p.get(d).copied()).collect() };
        let mut levels: Vec<Level> = Vec::with_capacity(depth);
        let mut d = 0;
        while d < depth {
            let segs = at(d);
            // A positional date run: YYYY/MM[/DD[/HH]].
            let year = segs.iter().all(|s| in_range(s, 4, 1900, 2200));
            let month = year && d + 1 < depth && at(d + 1).iter().all(|s| in_range(s, 2, 1, 12));
            if month {
                let mut parts = vec![DatePart::Year, DatePart::Month];
                if d + 2 < depth && at(d + 2).iter().all(|s| in_range(s, 2, 1, 31)) {
                    parts.push(DatePart::Day);
                    if d + 3 < depth && at(d + 3).iter().all(|s| in_range(s, 2, 0, 23)) {
                        parts.push(DatePart::Hour);
                    }
                }
                for (i, part) in parts.into_iter().enumerate() {
                    let mut level = Level::new(LevelKind::Date(part));
                    level.date_part = Some(part);
                    level.name = Some(part.default_name().to_string());
                    level.observed = at(d + i).into_iter().map(str::to_string).collect();
                    level.width = Some(if part == DatePart::Year { 4 } else { 2 });
                    levels.push(level);
                }
                d = levels.len();
                continue;
            }
            let hive: Vec<(&str, &str)> = segs.iter().filter_map(|s| hive_split(s)).collect();
            let mut level = if !segs.is_empty() && hive.len() == segs.len() {
                let names: BTreeSet<&str> = hive.iter().map(|(k, _)| *k).collect();
                let values: BTreeSet<String> = hive.iter().map(|(_, v)| v.to_string()).collect();
                let mut level = if names.len() == 1 {
                    let key = names.iter().next().copied().unwrap_or_default().to_string();
                    let mut level = Level::new(LevelKind::Hive(key.clone()));
                    level.date_part = DatePart::of_hive_key(&key)
                        .filter(|_| values.iter().all(|v| parse_int(v).is_some()))
                        .or_else(|| {
                            let fmts: BTreeSet<_> = values.iter().map(|v| date_format_of(v)).collect();
                            match fmts.into_iter().collect::<Vec<_>>().as_slice() {
                                [Some(f)] => {
                                    level.date_format = Some(*f);
                                    Some(DatePart::Date)
                                }
                                _ => None,
                            }
                        });
                    level.name = Some(key);
                    level
                } else {
                    let mut level = Level::new(LevelKind::HiveMixed);
                    level.observed = segs.iter().map(|s| s.to_string()).collect();
                    level
                };
                if matches!(level.kind, LevelKind::Hive(_)) {
                    level.observed = values;
                }
                level
            } else if !segs.is_empty() && segs.iter().all(|s| *s == segs[0]) {
                Level::new(LevelKind::Fixed(segs[0].to_string()))
            } else {
                let fmts: BTreeSet<_> = segs.iter().map(|v| date_format_of(v)).collect();
                let mut level = Level::new(LevelKind::Value);
                if let [Some(f)] = fmts.into_iter().collect::<Vec<_>>().as_slice() {
                    level.kind = LevelKind::Date(DatePart::Date);
                    level.date_part = Some(DatePart::Date);
                    level.date_format = Some(*f);
                    level.name = Some("date".into());
                }
                level.observed = segs.iter().map(|s| s.to_string()).collect();
                level
            };
            let widths: BTreeSet<usize> = level.observed.iter().map(String::len).collect();
            if widths.len() == 1 {
                level.width = widths.into_iter().next();
            }
            levels.push(level);
            d += 1;
        }
        PartitionScheme {
            base: base.to_string(),
            levels,
            keys: None,
        }
    }

    /// Every partition name found (hive keys at any level included), shallowest first.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for level in &self.levels {
            match (&level.kind, &level.name) {
                (LevelKind::HiveMixed, _) => {
                    for name in self.mixed_names(level) {
                        if !out.contains(&name) {
                            out.push(name);
                        }
                    }
                }
                (_, Some(name)) if !out.contains(name) => out.push(name.clone()),
                _ => {}
            }
        }
        out
    }

    fn mixed_names(&self, level: &Level) -> Vec<String> {
        // Observed values of a mixed level hold `key=value` folders.
        let mut names: Vec<String> = Vec::new();
        for v in &level.observed {
            if let Some((k, _)) = v.split_once('=') {
                if !names.iter().any(|n| n == k) {
                    names.push(k.to_string());
                }
            }
        }
        names
    }

    /// The partition columns: `partition_keys` in order if set, else every name found.
    pub fn columns(&self) -> Vec<String> {
        self.keys.clone().unwrap_or_else(|| self.names())
    }

    /// A summary of what was found, for error messages.
    pub fn describe(&self) -> String {
        if self.levels.is_empty() {
            return "no folders under the prefix (the files sit directly under it)".into();
        }
        let parts: Vec<String> = self
            .levels
            .iter()
            .map(|l| match (&l.kind, &l.name) {
                (LevelKind::Fixed(s), _) => format!("'{s}'"),
                (LevelKind::Hive(k), _) => format!("{k}=…"),
                (LevelKind::HiveMixed, _) => format!("{{{}}}=… (mixed order)", self.mixed_names(l).join("|")),
                (LevelKind::Date(p), Some(n)) => format!("<{n}: {:?}>", p).to_lowercase(),
                (_, Some(n)) => format!("<{n}>"),
                (_, None) => format!(
                    "<unnamed, e.g. '{}'>",
                    l.observed.iter().next().map(String::as_str).unwrap_or("?")
                ),
            })
            .collect();
        format!("folders {}/{}", self.base.trim_end_matches('/'), parts.join("/"))
    }

    /// Names the levels after `partition_keys`: a name that is a hive key or a
    /// date level's default name binds to it; the others name, in order, the
    /// positional levels (varying values, date parts) not bound by name.
    /// A name left over is a [`PartitionError`] saying what the data has.
    pub fn with_keys(mut self, keys: &[String]) -> Result<PartitionScheme, PartitionError> {
        let names = self.names();
        let mut claimed: BTreeSet<usize> = BTreeSet::new();
        let mut unbound: Vec<&String> = Vec::new();
        for key in keys {
            let hit = self
                .levels
                .iter()
                .position(|l| l.name.as_deref() == Some(key.as_str()) && !matches!(l.kind, LevelKind::Hive(_)))
                .filter(|i| !claimed.contains(i));
            match hit {
                Some(i) => {
                    claimed.insert(i);
                }
                None if names.contains(key) => {}
                None => unbound.push(key),
            }
        }
        let positional: Vec<usize> = (0..self.levels.len())
            .filter(|i| !claimed.contains(i))
            .filter(|i| matches!(self.levels[*i].kind, LevelKind::Date(_) | LevelKind::Value))
            .collect();
        if unbound.len() > positional.len() {
            let missing: Vec<String> = unbound[positional.len()..].iter().map(|k| format!("'{k}'")).collect();
            return Err(PartitionError::new(format!(
                "partition key(s) {} not found in the data under '{}': found {}{}. Set `partition_keys` to names \
                 the keys have (hive `name=value` folders, or one name per positional folder level).",
                missing.join(", "),
                self.base,
                self.describe(),
                if names.is_empty() {
                    String::new()
                } else {
                    format!(" (partitions: {})", names.join(", "))
                }
            )));
        }
        for (key, i) in unbound.into_iter().zip(positional) {
            self.levels[i].name = Some(key.clone());
        }
        self.keys = Some(keys.to_vec());
        Ok(self)
    }

    /// Whether `name` is a partition of the data.
    pub fn has(&self, name: &str) -> bool {
        self.names().iter().any(|n| n == name)
    }

    /// The partition values of `key`: hive folders at any depth, and the
    /// named positional levels.
    pub fn values(&self, key: &str) -> Vec<PartValue> {
        let mut out = Vec::new();
        for (depth, seg) in dirs(&self.base, key).into_iter().enumerate() {
            let level = self.levels.get(depth);
            if let Some((k, v)) = hive_split(seg) {
                let date_part = level
                    .filter(|l| l.name.as_deref() == Some(k))
                    .and_then(|l| l.date_part)
                    .or_else(|| DatePart::of_hive_key(k).filter(|_| parse_int(v).is_some()))
                    .or_else(|| parse_date(v).map(|_| DatePart::Date));
                out.push(PartValue {
                    name: k.to_string(),
                    raw: v.to_string(),
                    date_part,
                    depth,
                });
                continue;
            }
            let Some(level) = level else { continue };
            if let (true, Some(name)) = (level.is_partition(), &level.name) {
                out.push(PartValue {
                    name: name.clone(),
                    raw: seg.to_string(),
                    date_part: level.date_part,
                    depth,
                });
            }
        }
        out
    }

    /// The partition values of `key` as a map name → raw value.
    pub fn value_map(&self, key: &str) -> BTreeMap<String, String> {
        self.values(key).into_iter().map(|v| (v.name, v.raw)).collect()
    }

    /// How many leading levels (after fixed folders) form a date-ordered
    /// layout — fixed folders, then `year`, `month`, `day`, `hour` in order or a
    /// whole date — so that keys sort by date: returns the index one past the
    /// last date level, or `None` when the layout is not date-ordered.
    pub fn date_ordered_depth(&self) -> Option<usize> {
        let mut i = 0;
        while matches!(self.levels.get(i).map(|l| &l.kind), Some(LevelKind::Fixed(_))) {
            i += 1;
        }
        let first = self.levels.get(i)?;
        if first.date_part == Some(DatePart::Date) && first.width.is_some() {
            return Some(i + 1);
        }
        let order = [DatePart::Year, DatePart::Month, DatePart::Day, DatePart::Hour];
        let mut n = 0;
        while let Some(level) = self.levels.get(i + n) {
            if n >= order.len() || level.date_part != Some(order[n]) || level.width.is_none() {
                break;
            }
            n += 1;
        }
        (n > 0).then_some(i + n)
    }

    /// The key prefix of the date/time `at` in a date-ordered layout: keys
    /// greater than it are those of `at`'s folder (at the layout's finest date
    /// level) and later. `None` if the layout is not date-ordered.
    pub fn date_prefix(&self, at: NaiveDateTime) -> Option<String> {
        let end = self.date_ordered_depth()?;
        let mut key = self.base.clone();
        if !key.is_empty() && !key.ends_with('/') {
            key.push('/');
        }
        for level in &self.levels[..end] {
            let seg = match &level.kind {
                LevelKind::Fixed(s) => s.clone(),
                _ => level.date_segment(at)?,
            };
            key.push_str(&seg);
            key.push('/');
        }
        Some(key)
    }

    /// The date (start of the finest date level) of `key`'s partition, when
    /// its partition values hold a date.
    pub fn date_of(&self, key: &str) -> Option<NaiveDateTime> {
        date_from_parts(&self.values(key))
    }
}

/// The start of the period given by the date parts among `values`
/// (a year alone is its January 1st).
pub(crate) fn date_from_parts(values: &[PartValue]) -> Option<NaiveDateTime> {
    let get = |p: DatePart| values.iter().find(|v| v.date_part == Some(p));
    let hour = get(DatePart::Hour).and_then(|v| parse_int(&v.raw)).unwrap_or(0);
    let date = if let Some(d) = get(DatePart::Date).and_then(|v| parse_date(&v.raw)) {
        d
    } else {
        let year = parse_int(&get(DatePart::Year)?.raw)?;
        let month = get(DatePart::Month).and_then(|v| parse_int(&v.raw)).unwrap_or(1);
        let day = get(DatePart::Day).and_then(|v| parse_int(&v.raw)).unwrap_or(1);
        NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)?
    };
    date.and_hms_opt(hour as u32, 0, 0)
}

/// The end (inclusive, to the second) of the period the date parts among
/// `values` cover: a year alone covers to December 31st 23:59:59.
pub(crate) fn period_end(values: &[PartValue]) -> Option<NaiveDateTime> {
    let get = |p: DatePart| values.iter().find(|v| v.date_part == Some(p));
    let hour = get(DatePart::Hour).and_then(|v| parse_int(&v.raw));
    let date = if let Some(d) = get(DatePart::Date).and_then(|v| parse_date(&v.raw)) {
        d
    } else {
        let year = parse_int(&get(DatePart::Year)?.raw)? as i32;
        let month = get(DatePart::Month).and_then(|v| parse_int(&v.raw));
        let day = get(DatePart::Day).and_then(|v| parse_int(&v.raw));
        match (month, day) {
            (Some(m), Some(d)) => NaiveDate::from_ymd_opt(year, m as u32, d as u32)?,
            (Some(m), None) => {
                let next = if m == 12 {
                    NaiveDate::from_ymd_opt(year + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(year, m as u32 + 1, 1)
                };
                next?.pred_opt()?
            }
            _ => NaiveDate::from_ymd_opt(year, 12, 31)?,
        }
    };
    match hour {
        Some(h) => date.and_hms_opt(h as u32, 59, 59),
        None => date.and_hms_opt(23, 59, 59),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &PartitionScheme) -> Vec<LevelKind> {
        s.levels.iter().map(|l| l.kind.clone()).collect()
    }

    #[test]
    fn detects_hive_at_any_depth() {
        let keys = [
            "events/year=2023/month=01/day=01/part-0.parquet",
            "events/year=2024/month=02/day=05/part-0.parquet",
        ];
        let s = PartitionScheme::detect("events/", &keys);
        assert_eq!(
            kinds(&s),
            [
                LevelKind::Hive("year".into()),
                LevelKind::Hive("month".into()),
                LevelKind::Hive("day".into())
            ]
        );
        assert_eq!(s.names(), ["year", "month", "day"]);
        assert_eq!(s.levels[0].date_part, Some(DatePart::Year));
        assert_eq!(s.levels[1].width, Some(2));
        let v = s.value_map("events/year=2024/month=02/day=05/part-0.parquet");
        assert_eq!(v["month"], "02");
        assert_eq!(s.date_ordered_depth(), Some(3));
        let at = NaiveDate::from_ymd_opt(2024, 3, 7)
            .unwrap()
            .and_hms_opt(5, 0, 0)
            .unwrap();
        assert_eq!(s.date_prefix(at).unwrap(), "events/year=2024/month=03/day=07/");
        assert_eq!(
            s.date_of("events/year=2024/month=02/day=05/x").unwrap().to_string(),
            "2024-02-05 00:00:00"
        );
    }

    #[test]
    fn detects_hive_in_mixed_order() {
        let keys = ["d/month=01/year=2024/a.csv", "d/year=2023/month=02/b.csv"];
        let s = PartitionScheme::detect("d/", &keys);
        assert_eq!(kinds(&s), [LevelKind::HiveMixed, LevelKind::HiveMixed]);
        assert_eq!(s.names().len(), 2);
        assert_eq!(s.value_map("d/month=01/year=2024/a.csv")["year"], "2024");
        assert_eq!(s.value_map("d/year=2023/month=02/b.csv")["month"], "02");
        assert!(s.date_ordered_depth().is_none());
    }

    #[test]
    fn detects_date_paths_with_fixed_folders() {
        let keys = [
            "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/15/a.json.gz",
            "AWSLogs/123456789012/CloudTrail/eu-west-1/2024/01/16/b.json.gz",
            "AWSLogs/123456789012/CloudTrail/us-east-1/2024/02/01/c.json.gz",
        ];
        let s = PartitionScheme::detect("", &keys);
        assert_eq!(
            kinds(&s),
            [
                LevelKind::Fixed("AWSLogs".into()),
                LevelKind::Fixed("123456789012".into()),
                LevelKind::Fixed("CloudTrail".into()),
                LevelKind::Value,
                LevelKind::Date(DatePart::Year),
                LevelKind::Date(DatePart::Month),
                LevelKind::Date(DatePart::Day),
            ]
        );
        // `partition_keys` names the positional region level and binds the dates by name.
        let s = s
            .with_keys(&["region".into(), "year".into(), "month".into(), "day".into()])
            .unwrap();
        let v = s.value_map(keys[1]);
        assert_eq!(v["region"], "eu-west-1");
        assert_eq!(v["day"], "16");
        // A varying level before the dates: not date-ordered from the base.
        assert!(s.date_ordered_depth().is_none());
    }

    #[test]
    fn detects_hourly_date_paths_and_renames_them() {
        let keys = ["logs/2024/01/15/00/a.jsonl", "logs/2024/01/15/23/b.jsonl"];
        let s = PartitionScheme::detect("logs", &keys);
        assert_eq!(s.names(), ["year", "month", "day", "hour"]);
        let at = NaiveDate::from_ymd_opt(2024, 1, 15)
            .unwrap()
            .and_hms_opt(7, 30, 0)
            .unwrap();
        assert_eq!(s.date_prefix(at).unwrap(), "logs/2024/01/15/07/");
        let s = s.with_keys(&["y".into(), "m".into(), "d".into()]).unwrap();
        assert_eq!(s.value_map(keys[0])["y"], "2024");
        assert_eq!(s.value_map(keys[0])["hour"], "00");
        assert_eq!(s.columns(), ["y", "m", "d"]);
    }

    #[test]
    fn detects_whole_date_values() {
        let s = PartitionScheme::detect("t/", &["t/dt=2024-01-15/a.csv", "t/dt=2024-01-16/b.csv"]);
        assert_eq!(s.levels[0].date_part, Some(DatePart::Date));
        let at = NaiveDate::from_ymd_opt(2024, 2, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(s.date_prefix(at).unwrap(), "t/dt=2024-02-01/");
        let s = PartitionScheme::detect("t/", &["t/date=20240115/a.csv", "t/date=20240116/b.csv"]);
        assert_eq!(s.date_prefix(at).unwrap(), "t/date=20240201/");
        let s = PartitionScheme::detect("", &["2024-01-15/a.csv", "2024-01-16/b.csv"]);
        assert_eq!(s.names(), ["date"]);
        assert_eq!(s.date_prefix(at).unwrap(), "2024-02-01/");
    }

    #[test]
    fn unknown_partition_keys_are_an_error_naming_what_was_found() {
        let s = PartitionScheme::detect("e/", &["e/year=2024/a.csv", "e/year=2023/b.csv"]);
        let err = s.with_keys(&["year".into(), "country".into()]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("Partition error: "), "{msg}");
        assert!(msg.contains("'country'") && msg.contains("year=…"), "{msg}");
        let flat = PartitionScheme::detect("e/", &["e/a.csv"]);
        let msg = flat.with_keys(&["year".into()]).unwrap_err().to_string();
        assert!(msg.contains("no folders"), "{msg}");
    }

    #[test]
    fn period_bounds() {
        let s = PartitionScheme::detect("", &["2024/02/01/a", "2024/03/02/b"]);
        let mut v = s.values("2024/02/01/a");
        v.truncate(2);
        assert_eq!(period_end(&v).unwrap().to_string(), "2024-02-29 23:59:59");
        v.truncate(1);
        assert_eq!(period_end(&v).unwrap().to_string(), "2024-12-31 23:59:59");
        assert_eq!(date_from_parts(&v).unwrap().to_string(), "2024-01-01 00:00:00");
    }
}

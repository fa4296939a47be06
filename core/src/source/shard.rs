//! Shards: one stream read by N workers, exactly once (`shard: {"index": i,
//! "count": N}`).
//!
//! Every shard lists the same plan and keeps a deterministic, disjoint part
//! of what it selects ([`Shard::assign`]):
//!
//! - a full refresh balances bytes: files by size, largest first, each to the
//!   shard with the fewest bytes so far (ties: the lower index; equal sizes in
//!   key order) — the same listing gives every shard the same assignment;
//! - an incremental read assigns each file by a stable hash of its key, so
//!   files added later never move older ones to another shard (each shard's
//!   state keeps only its own files).
//!
//! `index` may come from an environment variable (`index_env`, default
//! [`DEFAULT_INDEX_ENV`], which a Kubernetes Indexed Job sets in each pod).
//! A shard's state records the shard ([`Shard::to_state`]); reading another
//! shard's state is a config_error ([`Shard::check_state`]). A full refresh
//! logs a fingerprint of the listing it divided ([`Shard::fingerprint`]):
//! shards that list different objects (some added meanwhile) can be told.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use lakeport_protocol::ConnectorError;
use serde_json::{json, Value};

use crate::cost::stable_hash;

/// The environment variable `shard.index` is read from when the config
/// does not give it: the one a Kubernetes Indexed Job sets in every pod.
pub const DEFAULT_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// The state key recording the shard a state belongs to.
pub const STATE_KEY: &str = "_lakeport_shard";

/// The seed of the incremental assignment's hash (not the sampling seed, so
/// a `dev_sampling` sample is spread over every shard).
const HASH_SEED: u64 = 0x5ea4_d5ba_4d00_0001;

/// One shard of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This worker's shard, `0..count`.
    pub index: u32,
    /// How many shards the stream is split into.
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shard {} of {}", self.index, self.count)
    }
}

impl Shard {
    /// Parses the `shard` setting (`{"index", "count", "index_env"}`);
    /// `env` reads an environment variable. `None` (or `null`): unsharded.
    pub fn parse(value: Option<&Value>, env: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, ConnectorError> {
        let example = "Write it like {\"index\": 0, \"count\": 4}, or {\"count\": 4} in a Kubernetes Indexed Job.";
        let obj = match value {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(o)) => o,
            Some(other) => {
                return Err(ConnectorError::config(format!(
                    "shard: {other} is not an object. {example}"
                )))
            }
        };
        let count = match obj.get("count") {
            Some(v) => v
                .as_u64()
                .filter(|c| (1..=u64::from(u32::MAX)).contains(c))
                .ok_or_else(|| {
                    ConnectorError::config(format!(
                        "shard.count: {v} is not a whole number of at least 1. {example}"
                    ))
                })?,
            None => return Err(ConnectorError::config(format!("shard.count is missing. {example}"))),
        };
        let index = match obj.get("index").filter(|v| !v.is_null()) {
            Some(v) => v
                .as_u64()
                .ok_or_else(|| ConnectorError::config(format!("shard.index: {v} is not a whole number. {example}")))?,
            None => {
                let var = match obj.get("index_env") {
                    None | Some(Value::Null) => DEFAULT_INDEX_ENV,
                    Some(Value::String(s)) if !s.trim().is_empty() => s.trim(),
                    Some(other) => {
                        return Err(ConnectorError::config(format!(
                            "shard.index_env: {other} is not the name of an environment variable."
                        )))
                    }
                };
                let text = env(var).ok_or_else(|| {
                    ConnectorError::config(format!(
                        "shard.index is not set and the environment variable {var} is not set: set shard.index, \
                         or {var} (a Kubernetes Indexed Job sets JOB_COMPLETION_INDEX in each pod)."
                    ))
                })?;
                text.trim().parse::<u64>().map_err(|_| {
                    ConnectorError::config(format!(
                        "shard.index: the environment variable {var} holds '{text}', not a whole number."
                    ))
                })?
            }
        };
        if index >= count {
            return Err(ConnectorError::config(format!(
                "shard.index {index} is out of range for shard.count {count}: indexes run from 0 to {}.",
                count - 1
            )));
        }
        Ok(Some(Shard {
            index: index as u32,
            count: count as u32,
        }))
    }

    /// The shard of each of `files` (`(key, size)`, in any order):
    /// balanced by bytes when `by_bytes` (a full refresh), else by a stable
    /// hash of the key (an incremental read). Deterministic: the same files
    /// give the same assignment, whatever their order.
    pub fn assign(count: u32, files: &[(&str, u64)], by_bytes: bool) -> Vec<u32> {
        let count = count.max(1);
        if !by_bytes {
            return files
                .iter()
                .map(|(key, _)| (stable_hash(HASH_SEED, key) % u64::from(count)) as u32)
                .collect();
        }
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_by(|&a, &b| files[b].1.cmp(&files[a].1).then_with(|| files[a].0.cmp(files[b].0)));
        let mut loads: BinaryHeap<Reverse<(u64, u32)>> = (0..count).map(|i| Reverse((0, i))).collect();
        let mut out = vec![0; files.len()];
        for i in order {
            if let Some(Reverse((bytes, shard))) = loads.pop() {
                out[i] = shard;
                loads.push(Reverse((bytes + files[i].1, shard)));
            }
        }
        out
    }

    /// A fingerprint of the objects a full refresh divides (`(key, size)`):
    /// shards that print the same one divided the same listing, so their
    /// union is the whole exactly once (16 hex digits; any order).
    pub fn fingerprint(files: &[(&str, u64)]) -> String {
        let sum = files.iter().fold(0u64, |acc, (key, size)| {
            acc.wrapping_add(stable_hash(HASH_SEED ^ size, key))
        });
        format!("{sum:016x}")
    }

    /// What a saved stream state records of its shard.
    pub fn to_state(self) -> Value {
        json!({"index": self.index, "count": self.count})
    }

    /// The shard a saved stream state records (`None`: an unsharded state).
    pub fn of_state(state: &Value) -> Option<Shard> {
        let s = state.get(STATE_KEY)?;
        Some(Shard {
            index: u32::try_from(s.get("index")?.as_u64()?).ok()?,
            count: u32::try_from(s.get("count")?.as_u64()?).ok()?,
        })
    }

    /// Whether a read as `this` (`None`: unsharded) may resume from a state
    /// that belongs to `saved`. An unsharded state may be resumed by any
    /// shard (its history covers every file); a shard's state only by the
    /// same shard of the same count.
    pub fn check_state(this: Option<Shard>, saved: Option<Shard>, stream: &str) -> Result<(), ConnectorError> {
        let Some(saved) = saved else { return Ok(()) };
        if this == Some(saved) {
            return Ok(());
        }
        let this = this.map_or("an unsharded read".to_string(), |s| s.to_string());
        Err(ConnectorError::config(format!(
            "The state of stream '{stream}' belongs to {saved}, but this read is {this}: each shard resumes from \
             its own state. Pass this shard the STATE its previous run emitted (or no state, to read its files \
             again); to change shard.count, start every shard without a state."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn the_setting_is_parsed_with_the_index_from_the_environment() {
        let none = env_of(&[]);
        assert_eq!(Shard::parse(None, &none).unwrap(), None);
        assert_eq!(
            Shard::parse(Some(&json!({"index": 2, "count": 4})), &none).unwrap(),
            Some(Shard { index: 2, count: 4 })
        );
        let k8s = env_of(&[("JOB_COMPLETION_INDEX", "3"), ("MY_INDEX", "1")]);
        assert_eq!(
            Shard::parse(Some(&json!({"count": 4})), &k8s).unwrap(),
            Some(Shard { index: 3, count: 4 })
        );
        assert_eq!(
            Shard::parse(Some(&json!({"count": 4, "index_env": "MY_INDEX"})), &k8s).unwrap(),
            Some(Shard { index: 1, count: 4 })
        );
        // An explicit index wins over the environment.
        assert_eq!(
            Shard::parse(Some(&json!({"index": 0, "count": 4})), &k8s).unwrap(),
            Some(Shard { index: 0, count: 4 })
        );
        for (bad, says) in [
            (json!({"count": 4}), "JOB_COMPLETION_INDEX is not set"),
            (json!({"index": 4, "count": 4}), "out of range"),
            (json!({"index": 0}), "shard.count is missing"),
            (json!({"index": 0, "count": 0}), "at least 1"),
            (json!({"index": -1, "count": 2}), "not a whole number"),
            (json!(3), "not an object"),
        ] {
            let e = Shard::parse(Some(&bad), &none).unwrap_err();
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
        let e = Shard::parse(Some(&json!({"count": 2})), env_of(&[("JOB_COMPLETION_INDEX", "x")])).unwrap_err();
        assert!(e.message.contains("holds 'x'"), "{}", e.message);
    }

    fn files(n: usize) -> Vec<(String, u64)> {
        (0..n)
            .map(|i| (format!("data/f{i:05}.csv"), 100 + (i as u64 * 7919) % 50_000))
            .collect()
    }

    #[test]
    fn a_full_refresh_is_balanced_by_bytes_and_disjoint() {
        let owned = files(2000);
        let refs: Vec<(&str, u64)> = owned.iter().map(|(k, s)| (k.as_str(), *s)).collect();
        for count in [1, 3, 4, 7] {
            let shards = Shard::assign(count, &refs, true);
            let mut bytes = vec![0u64; count as usize];
            for (i, s) in shards.iter().enumerate() {
                bytes[*s as usize] += refs[i].1;
            }
            let mean = bytes.iter().sum::<u64>() as f64 / f64::from(count);
            let max = *bytes.iter().max().unwrap() as f64;
            assert!(max <= 1.15 * mean, "{count}: {bytes:?}");
            // The same listing in another order: the same assignment.
            let mut reversed = refs.clone();
            reversed.reverse();
            let again = Shard::assign(count, &reversed, true);
            for (i, s) in again.iter().enumerate() {
                assert_eq!(*s, shards[refs.len() - 1 - i]);
            }
        }
    }

    #[test]
    fn the_fingerprint_names_the_listing() {
        let a = Shard::fingerprint(&[("a", 1), ("b", 2)]);
        assert_eq!(a, Shard::fingerprint(&[("b", 2), ("a", 1)]));
        assert_ne!(a, Shard::fingerprint(&[("a", 1), ("b", 3)]));
        assert_ne!(a, Shard::fingerprint(&[("a", 1)]));
    }

    #[test]
    fn an_incremental_read_keeps_old_files_where_they_were() {
        let owned = files(3000);
        let refs: Vec<(&str, u64)> = owned.iter().map(|(k, s)| (k.as_str(), *s)).collect();
        let before = Shard::assign(4, &refs[..2000], false);
        let after = Shard::assign(4, &refs, false);
        assert_eq!(before[..], after[..2000]);
        let mut per = [0usize; 4];
        for s in &after {
            per[*s as usize] += 1;
        }
        assert!(per.iter().all(|&n| n > 600), "{per:?}");
    }

    #[test]
    fn a_shard_reads_only_its_own_state() {
        let a = Shard { index: 1, count: 4 };
        let b = Shard { index: 2, count: 4 };
        assert_eq!(
            Shard::of_state(&json!({"history": {}, STATE_KEY: a.to_state()})),
            Some(a)
        );
        assert!(Shard::check_state(Some(a), Some(a), "s").is_ok());
        assert!(Shard::check_state(Some(a), None, "s").is_ok());
        let e = Shard::check_state(Some(b), Some(a), "s").unwrap_err();
        assert!(e.message.contains("belongs to shard 1 of 4") && e.message.contains("shard 2 of 4"));
        let e = Shard::check_state(None, Some(a), "s").unwrap_err();
        assert!(e.message.contains("an unsharded read"), "{}", e.message);
    }
}

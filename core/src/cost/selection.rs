//! Which files a run reads: development sampling (`dev_sampling`,
//! deterministic and seedable; `dev_max_files`) and the size limits
//! (`max_files_per_run`, `max_data_size_gb`: deferred in incremental mode,
//! an error up front in a full refresh) — [`select_files`].

use super::limit::CostError;
use super::pricing::BYTES_PER_GB;

/// Cost and size limits, and development sampling.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// `cost_limit_usd`.
    pub cost_limit_usd: f64,
    /// `max_files_per_run`.
    pub max_files_per_run: u64,
    /// `max_data_size_gb`.
    pub max_data_size_gb: f64,
    /// `dev_sampling`: the share of files read (0..=1).
    pub dev_sampling: Option<f64>,
    /// `dev_max_files`.
    pub dev_max_files: Option<u64>,
    /// Seed of the sample (`dev_sampling_seed`); the same seed picks the same files.
    pub sampling_seed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cost_limit_usd: 100.0,
            max_files_per_run: 10_000,
            max_data_size_gb: 1000.0,
            dev_sampling: None,
            dev_max_files: None,
            sampling_seed: 0,
        }
    }
}

impl Limits {
    /// Whether development sampling is on (`dev_sampling` < 1 or `dev_max_files`).
    pub fn dev_mode(&self) -> bool {
        self.dev_sampling.is_some_and(|r| r < 1.0) || self.dev_max_files.is_some()
    }

    /// The sampling rate reported (1.0 when not sampling).
    pub fn sampling_rate(&self) -> f64 {
        self.dev_sampling.map(|r| r.clamp(0.0, 1.0)).unwrap_or(1.0)
    }
}

/// A stable 64-bit hash of `key` under `seed` (FNV-1a, then a SplitMix64 finaliser):
/// the same on every run, platform and Rust version.
pub fn stable_hash(seed: u64, key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Whether `key` is in the `rate` sample under `seed`: a file's membership
/// depends on its key only, so a sample is stable across runs and grows
/// monotonically with the rate.
pub fn in_sample(seed: u64, key: &str, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate <= 0.0 {
        return false;
    }
    (stable_hash(seed, key) as f64 / u64::MAX as f64) < rate
}

/// Whether the run may defer files to the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// A full refresh: limits are errors (unless sampling).
    FullRefresh,
    /// An incremental sync: files over the limits wait for the next run.
    Incremental,
}

/// The files a run reads after sampling and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection<T> {
    /// The files to read, in the order given.
    pub files: Vec<T>,
    /// Files left for the next run (incremental mode).
    pub deferred: Vec<T>,
    /// Files dropped by sampling or `dev_max_files`.
    pub sampled_out: u64,
    /// WARN messages to log.
    pub warnings: Vec<String>,
}

/// Applies `dev_sampling` and `dev_max_files`, then `max_files_per_run` and
/// `max_data_size_gb`, to `files` (in reading order; `key` and `size` tell
/// each file's key and bytes). In incremental mode the files over a limit
/// are deferred (a WARN says so); in a full refresh they are an error unless
/// development sampling is on, in which case the run is cut with a WARN.
pub fn select_files<T>(
    files: Vec<T>,
    key: impl Fn(&T) -> &str,
    size: impl Fn(&T) -> u64,
    limits: &Limits,
    mode: RunMode,
) -> Result<Selection<T>, CostError> {
    let before = files.len() as u64;
    let rate = limits.sampling_rate();
    let mut kept: Vec<T> = files
        .into_iter()
        .filter(|f| in_sample(limits.sampling_seed, key(f), rate))
        .collect();
    if let Some(max) = limits.dev_max_files {
        kept.truncate(usize::try_from(max).unwrap_or(usize::MAX));
    }
    let sampled_out = before - kept.len() as u64;
    let mut warnings = Vec::new();
    if limits.dev_mode() {
        warnings.push(format!(
            "Development sampling: reading {} of {} file(s) (dev_sampling {}, dev_max_files {}). Remove \
             `dev_sampling`/`dev_max_files` for complete data.",
            kept.len(),
            before,
            rate,
            limits
                .dev_max_files
                .map(|m| m.to_string())
                .unwrap_or_else(|| "unset".into())
        ));
    }
    let max_bytes = (limits.max_data_size_gb.max(0.0) * BYTES_PER_GB) as u64;
    let total_bytes: u64 = kept.iter().map(&size).sum();
    let n = kept.len() as u64;
    if n <= limits.max_files_per_run && total_bytes <= max_bytes {
        return Ok(Selection {
            files: kept,
            deferred: Vec::new(),
            sampled_out,
            warnings,
        });
    }
    let over = format!(
        "{n} file(s) and {:.3} GB selected, over `max_files_per_run` {} / `max_data_size_gb` {}",
        total_bytes as f64 / BYTES_PER_GB,
        limits.max_files_per_run,
        limits.max_data_size_gb
    );
    if mode == RunMode::FullRefresh && !limits.dev_mode() {
        return Err(CostError::TooLarge(format!(
            "Run too large: {over}. Raise the limits, narrow the files with `partition_filter`, `globs` or \
             `path_prefix`, sync incrementally (the rest is then read by the next runs), or set \
             `dev_sampling`/`dev_max_files` while developing."
        )));
    }
    // Take files in order while both limits hold; defer the rest.
    let mut taken = 0u64;
    let mut bytes = 0u64;
    let mut files = Vec::new();
    let mut deferred = Vec::new();
    for f in kept {
        let s = size(&f);
        if deferred.is_empty()
            && taken < limits.max_files_per_run
            && (bytes + s <= max_bytes || taken == 0 && s <= max_bytes)
        {
            taken += 1;
            bytes += s;
            files.push(f);
        } else {
            deferred.push(f);
        }
    }
    warnings.push(match mode {
        RunMode::Incremental => format!(
            "{over}: reading {} file(s) now; the other {} wait for the next run.",
            files.len(),
            deferred.len()
        ),
        RunMode::FullRefresh => format!(
            "{over}: development sampling is on, so only the first {} file(s) are read.",
            files.len()
        ),
    });
    if mode == RunMode::FullRefresh {
        deferred.clear();
    }
    Ok(Selection {
        files,
        deferred,
        sampled_out,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("events/part-{i:05}.csv")).collect()
    }

    #[test]
    fn sampling_is_deterministic_seedable_and_close_to_the_rate() {
        let files = keys(2000);
        let pick = |seed: u64, rate: f64| -> Vec<String> {
            files.iter().filter(|k| in_sample(seed, k, rate)).cloned().collect()
        };
        let a = pick(0, 0.1);
        assert_eq!(a, pick(0, 0.1));
        let share = a.len() as f64 / files.len() as f64;
        assert!((0.08..=0.12).contains(&share), "{share}");
        let b = pick(7, 0.1);
        assert_ne!(a, b);
        // A larger rate keeps every file of a smaller one.
        let c = pick(0, 0.3);
        assert!(a.iter().all(|k| c.contains(k)));
        assert!(pick(0, 0.0).is_empty());
        assert_eq!(pick(0, 1.0).len(), 2000);
        // On 200 files: within ±5 points.
        let small: Vec<String> = keys(200);
        let n = small.iter().filter(|k| in_sample(0, k, 0.1)).count();
        assert!((10..=30).contains(&n), "{n}");
    }

    #[test]
    fn limits_defer_in_incremental_and_fail_in_full_refresh() {
        let limits = Limits {
            max_files_per_run: 10,
            ..Limits::default()
        };
        let files = keys(25);
        let s = select_files(files.clone(), |k| k.as_str(), |_| 100, &limits, RunMode::Incremental).unwrap();
        assert_eq!(s.files, files[..10]);
        assert_eq!(s.deferred.len(), 15);
        assert!(s.warnings[0].contains("wait for the next run"), "{:?}", s.warnings);
        let err = select_files(files.clone(), |k| k.as_str(), |_| 100, &limits, RunMode::FullRefresh).unwrap_err();
        assert!(err.to_string().contains("max_files_per_run"), "{err}");
        // With dev sampling the full refresh is cut instead.
        let dev = Limits {
            dev_max_files: Some(12),
            ..limits.clone()
        };
        let s = select_files(files.clone(), |k| k.as_str(), |_| 100, &dev, RunMode::FullRefresh).unwrap();
        assert_eq!(s.files.len(), 10);
        assert_eq!(s.sampled_out, 13);
        assert!(s.deferred.is_empty());
        // Data size.
        let gb = Limits {
            max_data_size_gb: 250.0 / BYTES_PER_GB,
            ..Limits::default()
        };
        let s = select_files(files.clone(), |k| k.as_str(), |_| 100, &gb, RunMode::Incremental).unwrap();
        assert_eq!(s.files.len(), 2);
        assert!(select_files(files, |k| k.as_str(), |_| 100, &gb, RunMode::FullRefresh).is_err());
    }
}

//! Retry policy and timeouts, as plain data.
//!
//! S3 requests use the SDK's *standard* retry strategy: exponential backoff
//! with full jitter, starting at [`RetryConfig::initial_backoff`] and capped at
//! [`RetryConfig::max_backoff`], for at most [`RetryConfig::max_attempts`]
//! attempts. Retried:
//!
//! - throttling: `503 SlowDown`, `Throttling`, `RequestLimitExceeded`, HTTP 429;
//! - server faults: HTTP 500, 502, 503, 504 (`InternalError`, `ServiceUnavailable`);
//! - transient network faults: connection reset or refused, broken pipes,
//!   connect and read timeouts (`RequestTimeout`).
//!
//! Client errors (403, 404, bad requests) are not retried. Every attempt is
//! counted by the [`crate::storage::Meter`] of a metered store
//! ([`crate::storage::S3Builder::build_metered`]).
//!
//! Besides the per-request cap, a process-wide *retry budget* stops retry
//! storms during an outage: each retry takes one token from a bucket of
//! [`RetryConfig::retry_budget`] tokens, refilled at
//! [`RetryConfig::retry_budget_refill_per_sec`]; with the bucket empty,
//! failures are returned without retrying. (The SDK's own default bucket —
//! 500 tokens, 5-14 per retry, no refill — would allow only a few dozen
//! retries per process, too few for a long read through a flaky network.)

use std::time::Duration;

/// Attempts, backoff and timeouts of storage requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts per request, the first included. Default 8.
    pub max_attempts: u32,
    /// Backoff before the first retry (then doubled, with jitter). Default 100 ms.
    pub initial_backoff: Duration,
    /// Cap of the backoff between two attempts. Default 15 s.
    pub max_backoff: Duration,
    /// Time to establish a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Time to wait for a response once a request is sent. Default 60 s.
    pub read_timeout: Duration,
    /// Retries allowed in a burst, process-wide. Default 10,000.
    pub retry_budget: u32,
    /// Tokens added back to the retry budget per second. Default 100.
    pub retry_budget_refill_per_sec: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retry_budget: 10_000,
            retry_budget_refill_per_sec: 100,
        }
    }
}

impl RetryConfig {
    /// A quick policy for connection checks: 3 attempts, 5 s to connect,
    /// 20 s for a response — a check answers in seconds even when the
    /// endpoint is down.
    pub fn for_check() -> Self {
        RetryConfig {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(20),
            ..Self::default()
        }
    }

    /// No retries at all (tests, benchmarks of raw request counts).
    pub fn none() -> Self {
        RetryConfig {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the attempts per request (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The SDK's retry configuration.
    pub fn sdk_retry_config(&self) -> aws_sdk_s3::config::retry::RetryConfig {
        aws_sdk_s3::config::retry::RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }

    /// The SDK's retry partition, holding the retry budget.
    pub fn sdk_retry_partition(&self) -> aws_sdk_s3::config::retry::RetryPartition {
        use aws_sdk_s3::config::retry::{RetryPartition, TokenBucket};
        let bucket = TokenBucket::builder()
            .capacity(self.retry_budget.max(1) as usize)
            .retry_cost(1)
            .throttling_retry_cost(1)
            .timeout_retry_cost(1)
            .refill_rate(self.retry_budget_refill_per_sec as f32)
            .build();
        RetryPartition::custom("lakeport").token_bucket(bucket).build()
    }

    /// The SDK's timeout configuration.
    pub fn sdk_timeout_config(&self) -> aws_sdk_s3::config::timeout::TimeoutConfig {
        aws_sdk_s3::config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_hold_their_documented_values() {
        let d = RetryConfig::default();
        assert_eq!(
            (
                d.max_attempts,
                d.initial_backoff,
                d.max_backoff,
                d.retry_budget,
                d.retry_budget_refill_per_sec
            ),
            (8, Duration::from_millis(100), Duration::from_secs(15), 10_000, 100)
        );
        let c = RetryConfig::for_check();
        assert_eq!(
            (c.max_attempts, c.max_backoff, c.connect_timeout, c.read_timeout),
            (
                3,
                Duration::from_secs(2),
                Duration::from_secs(5),
                Duration::from_secs(20)
            )
        );
        assert_eq!(RetryConfig::none().max_attempts, 1);
        assert_eq!(
            RetryConfig::default().with_max_attempts(0).max_attempts,
            1,
            "at least one attempt"
        );
        let sdk = d.sdk_retry_config();
        assert_eq!(
            (sdk.max_attempts(), sdk.initial_backoff(), sdk.max_backoff()),
            (8, Duration::from_millis(100), Duration::from_secs(15))
        );
        let t = c.sdk_timeout_config();
        assert_eq!(
            (t.connect_timeout(), t.read_timeout()),
            (Some(Duration::from_secs(5)), Some(Duration::from_secs(20)))
        );
        assert!(format!("{:?}", d.sdk_retry_partition()).contains("lakeport"));
    }
}

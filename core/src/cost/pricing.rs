//! S3 prices ([`Pricing`]: S3 Standard us-east-1 by default, overridable by
//! the `pricing` config object) and what they price ([`Usage`]: requests and
//! bytes, planned or metered).

use serde::Serialize;
use serde_json::Value;

use crate::storage::MeterSnapshot;

/// Bytes per GB as S3 bills transfer (GiB).
pub const BYTES_PER_GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Request and transfer prices, in USD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pricing {
    /// Per 1,000 GET/HEAD (and other read) requests.
    pub get_per_1000: f64,
    /// Per 1,000 LIST requests.
    pub list_per_1000: f64,
    /// Per 1,000 PUT/COPY/POST requests.
    pub put_per_1000: f64,
    /// Per GB transferred out.
    pub transfer_per_gb: f64,
}

impl Default for Pricing {
    /// S3 Standard, us-east-1.
    fn default() -> Self {
        Pricing {
            get_per_1000: 0.0004,
            list_per_1000: 0.005,
            put_per_1000: 0.005,
            transfer_per_gb: 0.09,
        }
    }
}

impl Pricing {
    /// The defaults with the given overrides (negative or non-finite values ignored).
    pub fn with_overrides(get: Option<f64>, list: Option<f64>, put: Option<f64>, transfer: Option<f64>) -> Pricing {
        let d = Pricing::default();
        let pick = |v: Option<f64>, def: f64| v.filter(|x| x.is_finite() && *x >= 0.0).unwrap_or(def);
        Pricing {
            get_per_1000: pick(get, d.get_per_1000),
            list_per_1000: pick(list, d.list_per_1000),
            put_per_1000: pick(put, d.put_per_1000),
            transfer_per_gb: pick(transfer, d.transfer_per_gb),
        }
    }

    /// The prices of a `pricing` config object (`get_per_1000`, `list_per_1000`,
    /// `put_per_1000`, `transfer_per_gb`); `None` or missing keys: defaults.
    pub fn from_config(pricing: Option<&Value>) -> Pricing {
        let f = |k: &str| pricing.and_then(|p| p.get(k)).and_then(Value::as_f64);
        Pricing::with_overrides(
            f("get_per_1000"),
            f("list_per_1000"),
            f("put_per_1000"),
            f("transfer_per_gb"),
        )
    }

    /// The price of `usage`.
    pub fn price(&self, usage: &Usage) -> f64 {
        usage.list_requests as f64 / 1000.0 * self.list_per_1000
            + (usage.get_requests + usage.head_requests) as f64 / 1000.0 * self.get_per_1000
            + usage.put_requests as f64 / 1000.0 * self.put_per_1000
            + usage.bytes_scanned as f64 / BYTES_PER_GB * self.transfer_per_gb
    }
}

/// Requests and bytes, planned or metered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// LIST requests.
    pub list_requests: u64,
    /// GET requests (whole or ranged).
    pub get_requests: u64,
    /// HEAD and other read-priced requests.
    pub head_requests: u64,
    /// PUT/COPY/POST-priced requests other than LIST.
    pub put_requests: u64,
    /// Bytes received.
    pub bytes_scanned: u64,
}

impl From<MeterSnapshot> for Usage {
    fn from(m: MeterSnapshot) -> Usage {
        Usage {
            list_requests: m.list_requests,
            get_requests: m.get_requests,
            head_requests: m.head_requests + m.other_requests,
            put_requests: m.tier1_requests().saturating_sub(m.list_requests),
            bytes_scanned: m.bytes_received,
        }
    }
}

impl std::ops::Add for Usage {
    type Output = Usage;

    fn add(self, o: Usage) -> Usage {
        Usage {
            list_requests: self.list_requests + o.list_requests,
            get_requests: self.get_requests + o.get_requests,
            head_requests: self.head_requests + o.head_requests,
            put_requests: self.put_requests + o.put_requests,
            bytes_scanned: self.bytes_scanned + o.bytes_scanned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_prices_and_overrides() {
        let p = Pricing::default();
        let u = Usage {
            list_requests: 1000,
            get_requests: 1000,
            head_requests: 0,
            put_requests: 0,
            bytes_scanned: BYTES_PER_GB as u64,
        };
        assert!((p.price(&u) - (0.005 + 0.0004 + 0.09)).abs() < 1e-12);
        let p = Pricing::from_config(Some(&serde_json::json!({"get_per_1000": 1.0, "transfer_per_gb": -1})));
        assert_eq!(p.get_per_1000, 1.0);
        assert_eq!(p.transfer_per_gb, 0.09);
        assert_eq!(Pricing::from_config(None), Pricing::default());
    }

    #[test]
    fn meter_snapshots_price_as_s3_bills() {
        let m = MeterSnapshot {
            list_requests: 2,
            get_requests: 10,
            head_requests: 1,
            put_requests: 3,
            upload_part_requests: 2,
            bytes_received: 500,
            ..Default::default()
        };
        let u = Usage::from(m);
        assert_eq!(
            (u.list_requests, u.get_requests, u.head_requests, u.put_requests),
            (2, 10, 1, 5)
        );
    }
}

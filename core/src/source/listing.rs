//! Which objects belong to a stream: a listing through the pruned partition
//! plan under the stream's prefix, filtered by globs, `key_pattern`,
//! `start_date` and format; and the listings discovery keeps for the read
//! that follows it ([`ListingCache`]).

use std::sync::Arc;

use lakeport_protocol::ConnectorError;

use super::cursor::FileCursor;
use super::plan::{ReadPlan, StreamPlan};
use super::pruning::plan_request;
use crate::formats::FileFormat;
use crate::partition::{plan_listing, PartitionScheme, StorageLister};
use crate::storage::{ObjectMeta, Storage};

/// The objects a stream reads, and warnings about skipped ones.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The selected objects, in key order.
    pub files: Vec<ObjectMeta>,
    /// Objects listed (before filtering).
    pub listed: u64,
    /// Warnings (objects skipped for an unknown format).
    pub warnings: Vec<String>,
    /// The partition scheme of the keys.
    pub scheme: PartitionScheme,
    /// Whether keys sort by date (`YYYY/MM/DD/`, `year=/month=/`, `dt=`): read in key order then.
    pub date_ordered: bool,
    /// Partitions in the data (counted, or estimated when pruned unlisted).
    pub partitions_total: u64,
    /// Partitions the filter keeps.
    pub partitions_selected: u64,
    /// The share of the data pruned, in percent.
    pub scan_reduction_pct: f64,
}

impl Default for Listing {
    fn default() -> Self {
        Listing {
            files: Vec::new(),
            listed: 0,
            warnings: Vec::new(),
            scheme: PartitionScheme::detect("", &[] as &[&str]),
            date_ordered: false,
            partitions_total: 0,
            partitions_selected: 0,
            scan_reduction_pct: 0.0,
        }
    }
}

/// Listings of one process kept from discovery for the read that follows it
/// (a `read` without a catalog discovers first): the read lists nothing again.
#[derive(Debug, Default)]
pub struct ListingCache(std::sync::Mutex<std::collections::HashMap<String, Listing>>);

impl ListingCache {
    /// Keeps `listing` of stream `name` (its warnings were already logged).
    pub fn put(&self, name: &str, listing: &Listing) {
        let mut kept = listing.clone();
        kept.warnings.clear();
        if let Ok(mut map) = self.0.lock() {
            map.insert(name.to_string(), kept);
        }
    }

    /// The listing of stream `name` discovery made, once.
    pub fn take(&self, name: &str) -> Option<Listing> {
        self.0.lock().ok().and_then(|mut map| map.remove(name))
    }
}

/// Lists a stream's objects through the pruned listing plan
/// ([`crate::partition`]): only the prefixes `partition_filter` (and,
/// in incremental mode, the newest synced date folder) leave open are
/// listed; then globs, `key_pattern`, `start_date` and the format select.
/// `synced`: the cursor of an incremental read that synced before.
pub async fn list(
    store: &Arc<dyn Storage>,
    read: &ReadPlan,
    plan: &StreamPlan,
    synced: Option<&FileCursor>,
) -> Result<Listing, ConnectorError> {
    let since = read.start_date;
    let request = plan_request(&read.partitions, &plan.prefix, since, synced);
    let lister = StorageLister::new(store.clone(), read.list_page_size);
    let planned = plan_listing(&lister, &request).await.map_err(ConnectorError::from)?;
    let mut listing = Listing {
        listed: planned.files_listed,
        scheme: planned.scheme.clone(),
        date_ordered: planned.scheme.date_ordered_depth().is_some(),
        partitions_total: planned.partitions_total,
        partitions_selected: planned.partitions_selected,
        scan_reduction_pct: planned.scan_reduction_pct,
        ..Listing::default()
    };
    let mut unknown = 0usize;
    let mut contradicted = 0usize;
    for meta in planned.files.into_iter().map(|f| f.meta) {
        if meta.key.ends_with('/') {
            continue; // a "folder" marker object
        }
        if plan.globs.as_ref().is_some_and(|g| !g.is_match(&meta.key)) {
            continue;
        }
        if plan.key_pattern.as_ref().is_some_and(|r| !r.is_match(&meta.key)) {
            continue;
        }
        if since.is_some_and(|s| meta.last_modified < s) {
            continue;
        }
        if plan.format.is_none() && FileFormat::from_extension(&meta.key).is_none() {
            unknown += 1;
            if unknown <= 5 {
                listing.warnings.push(format!(
                    "Skipping '{}': its format is not known from its extension. Set `file_format` to read it.",
                    meta.key
                ));
            }
            continue;
        }
        if let Some(named) = plan.format.and_then(|f| f.contradicted_by(&meta.key).map(|n| (f, n))) {
            contradicted += 1;
            if contradicted <= 5 {
                listing.warnings.push(format!(
                    "'{}' looks like {} from its extension but is read as {} (file_format): if that is not \
                 what you meant, set `file_format` or narrow `globs` to the files of one format.",
                    meta.key, named.1, named.0
                ));
            }
        }
        listing.files.push(meta);
    }
    if contradicted > 5 {
        listing.warnings.push(format!(
            "… and {} more objects whose extension names another format than file_format.",
            contradicted - 5
        ));
    }
    if unknown > 5 {
        listing.warnings.push(format!(
            "… and {} more objects skipped for an unknown format.",
            unknown - 5
        ));
    }
    Ok(listing)
}

//! Which objects belong to a stream: a listing through the pruned partition
//! plan under the stream's prefix, filtered by globs, `key_pattern`,
//! `start_date` and format; the listings discovery keeps for the read that
//! follows it ([`ListingCache`]); the folders a layout of one stream per
//! folder reads ([`subfolders`]).

use std::sync::Arc;

use futures::TryStreamExt;
use lakeport_protocol::ConnectorError;

use super::cursor::FileCursor;
use super::plan::{ReadPlan, StreamPlan};
use super::pruning::plan_request;
use crate::formats::FileFormat;
use crate::partition::{plan_listing, PartitionScheme, StorageLister};
use crate::storage::{ListOptions, ObjectMeta, Storage};

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
/// listed; then the folder (a prefix naming an object: that object alone),
/// hidden names, globs, `key_pattern`, `start_date` and the format select;
/// what the store's listing left out ([`super::plan::SkipNotes`]) is warned about.
/// `synced`: the cursor of an incremental read that synced before.
pub async fn list(
    store: &Arc<dyn Storage>,
    read: &ReadPlan,
    plan: &StreamPlan,
    synced: Option<&FileCursor>,
) -> Result<Listing, ConnectorError> {
    let since = read.start_date;
    let request = plan_request(read, &plan.prefix, synced);
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
    let folder = plan.folder();
    let mut files: Vec<ObjectMeta> = planned.files.into_iter().map(|f| f.meta).collect();
    // A prefix naming an object: that object alone.
    let names_object = plan.object_or_folder && !plan.prefix.is_empty() && !plan.prefix.ends_with('/');
    let exact = names_object && files.iter().any(|m| m.key == plan.prefix);
    if exact {
        files.retain(|m| m.key == plan.prefix);
    }
    let selected = |key: &str| exact || plan.selects(&folder, key);
    let mut unknown = 0usize;
    let mut contradicted = 0usize;
    for meta in files {
        if !selected(&meta.key) || since.is_some_and(|s| meta.last_modified < s) {
            continue;
        }
        let format_key = read.names.format;
        if plan.format.is_none() && FileFormat::from_extension(&meta.key).is_none() {
            unknown += 1;
            if unknown <= 5 {
                listing.warnings.push(format!(
                    "Skipping '{}': its format is not known from its extension. Set `{format_key}` to read it.",
                    read.url(&meta.key)
                ));
            }
            continue;
        }
        if let Some(named) = plan.format.and_then(|f| f.contradicted_by(&meta.key).map(|n| (f, n))) {
            contradicted += 1;
            if contradicted <= 5 {
                listing.warnings.push(format!(
                    "'{}' looks like {} from its extension but is read as {} ({format_key}): if that is not \
                 what you meant, set `{format_key}` or narrow `{}` to the files of one format.",
                    read.url(&meta.key),
                    named.1,
                    named.0,
                    read.names.globs
                ));
            }
        }
        listing.files.push(meta);
    }
    // What the store's listing left out: warned about when the stream would read it.
    if let Some(notes) = &read.skipped {
        let skipped = (notes.0)().into_iter();
        let kept =
            skipped.filter(|s| !exact && s.key.starts_with(&folder) && (s.key.ends_with('/') || selected(&s.key)));
        listing.warnings.extend(kept.map(|s| s.why));
    }
    if contradicted > 5 {
        listing.warnings.push(format!(
            "… and {} more objects whose extension names another format than {}.",
            contradicted - 5,
            read.names.format
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

/// The names of the folders right under `prefix` (a folder: `""` or ending
/// in `/`), hidden ones (starting with `.`) left out, sorted: one stream each.
pub async fn subfolders(store: &Arc<dyn Storage>, prefix: &str) -> Result<Vec<String>, ConnectorError> {
    let pages: Vec<_> = store
        .list(ListOptions::prefix(prefix).with_delimiter("/"))
        .try_collect()
        .await
        .map_err(ConnectorError::from)?;
    let mut names: Vec<String> = pages
        .into_iter()
        .flat_map(|page| page.common_prefixes)
        .filter_map(|p| Some(p.strip_prefix(prefix)?.trim_end_matches('/').to_string()))
        .filter(|name| !name.is_empty() && !name.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::ReadOptions;
    use crate::storage::LocalStorage;

    /// Puts `keys` (empty objects) and lists stream `plan` of them.
    fn listing(keys: &[String], plan: StreamPlan) -> Listing {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store: Arc<dyn Storage> = Arc::new(LocalStorage::new(dir.path()));
        let read = ReadPlan::new(vec![plan.clone()]);
        runtime.block_on(async {
            for k in keys {
                store.put(k, "x\n".into()).await.unwrap();
            }
            list(&store, &read, &plan, None).await.unwrap()
        })
    }

    #[test]
    fn unknown_formats_are_skipped_with_five_warnings_and_a_count() {
        let keys: Vec<String> = (0..7)
            .map(|i| format!("d/f{i}.xyz"))
            .chain(["d/ok.csv".into()])
            .collect();
        let l = listing(&keys, StreamPlan::new("s", "d/", None, ReadOptions::default()));
        let keys: Vec<&str> = l.files.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["d/ok.csv"]);
        assert_eq!(l.listed, 8);
        assert_eq!(l.warnings.len(), 6, "{:?}", l.warnings);
        assert!(l.warnings[0].starts_with("Skipping 'd/f0.xyz': its format is not known from its extension. Set `"));
        assert_eq!(l.warnings[5], "… and 2 more objects skipped for an unknown format.");
    }

    #[test]
    fn objects_whose_extension_names_another_format_are_read_and_warned_about() {
        let keys: Vec<String> = (0..7).map(|i| format!("d/f{i}.parquet")).collect();
        let l = listing(
            &keys,
            StreamPlan::new("s", "d/", Some(FileFormat::Csv), ReadOptions::default()),
        );
        assert_eq!(l.files.len(), 7, "read as the configured format");
        assert_eq!(l.warnings.len(), 6, "{:?}", l.warnings);
        assert!(
            l.warnings[0].starts_with("'d/f0.parquet' looks like ") && l.warnings[0].contains(" but is read as "),
            "{}",
            l.warnings[0]
        );
        assert!(l.warnings[5].starts_with("… and 2 more objects whose extension names another format than "));
    }
}

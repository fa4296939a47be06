//! The pruned listing plan: list only what the partition filter leaves open.
//!
//! [`plan_listing`] runs against a [`Lister`] — "list this prefix, with this
//! delimiter, after this key" — so it knows nothing of S3; any
//! [`Storage`](crate::storage::Storage) is one ([`StorageLister`]), and the
//! unit tests use an in-memory one that counts requests.
//!
//! Strategies, cheapest first:
//! 1. **Sample**: the first page of a flat listing (one LIST) shows the
//!    layout. If it holds every key, nothing more is listed.
//! 2. **Start-after**: in a date-ordered layout (`YYYY/MM/DD/`, `year=/month=/`,
//!    `dt=YYYY-MM-DD/`) with a date floor (`start_date`, an incremental
//!    bookmark, `gte` on the leading date), the listing starts after the
//!    floor's folder: older folders cost nothing. With keys already synced,
//!    the layout is read from them and even the sample LIST is skipped.
//! 3. **Pruned**: equality and list values on leading keys become exact
//!    prefixes (no LIST) whatever the sample showed — only the open prefixes
//!    are listed; ranges deeper down are resolved level by level with
//!    delimiter listings that skip pruned folders when that is expected to
//!    cost fewer requests than listing the open prefixes whole; then each
//!    open prefix is listed flat. The sample already holds every key up to
//!    its last one: prefixes before it are not listed again, and the one
//!    holding it is listed after it.
//! 4. **Flat**: otherwise the sample's listing continues and the filter
//!    applies in memory. A **long** listing (at least [`SPLIT_MIN_PAGES`]
//!    more pages expected) is split by folder when that costs at most
//!    [`SPLIT_MAX_EXTRA_PCT`] % more LISTs: one delimiter listing finds the
//!    sub-folders, and they are listed [`LIST_CONCURRENCY`] at a time — one
//!    listing is sequential (a round trip per page). Shorter listings
//!    continue page by page (see [`split_listing`]).
//!
//! The open prefixes of a pruned plan, and the folders of a level resolved
//! with delimiter listings, are listed concurrently (at most
//! [`LIST_CONCURRENCY`] at a time, results kept in order).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use futures::future::BoxFuture;
use futures::{stream, FutureExt, StreamExt};

use super::filter::{Condition, PartitionFilter};
use super::scheme::{DatePart, Level, LevelKind, PartValue, PartitionScheme};
use super::value::{compare_values, parse_date};
use crate::storage::{ListOptions, ObjectMeta, Storage};
use crate::time::parse_date_time;
use crate::{Error, Result};

/// Listings run at once: the folders of a split flat listing, the open
/// prefixes of a pruned plan, the folders of a level resolved by delimiter
/// listings. Each listing stays sequential (page after page); results are
/// kept in call order.
pub const LIST_CONCURRENCY: usize = 16;

/// Levels of single sub-folders (`events/` → `events/year=2024/`) a split
/// flat listing descends through looking for several folders.
const SPLIT_MAX_DESCENT: usize = 4;

/// Pages a flat listing must be expected to need after its sample page
/// before it is split by folder: below that, concurrency saves little.
const SPLIT_MIN_PAGES: usize = 8;

/// How many more requests (percent of the flat pages) a split may cost.
const SPLIT_MAX_EXTRA_PCT: usize = 10;

/// One listing to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListCall {
    /// Keys starting with this.
    pub prefix: String,
    /// Fold keys under a further delimiter into common prefixes (`/`).
    pub delimiter: Option<String>,
    /// Only keys after this one.
    pub start_after: Option<String>,
    /// Stop after this many pages (`None`: all).
    pub max_pages: Option<usize>,
}

/// What a [`ListCall`] returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Objects, in key order.
    pub objects: Vec<ObjectMeta>,
    /// Common prefixes (with a delimiter), in order.
    pub common_prefixes: Vec<String>,
    /// Whether pages were left unread because of `max_pages`.
    pub truncated: bool,
    /// LIST requests made.
    pub requests: u64,
}

/// Runs listings: the planner's only access to storage.
pub trait Lister: Send + Sync {
    /// Runs one listing (all its pages, or `max_pages`).
    fn list(&self, call: ListCall) -> BoxFuture<'_, Result<Listing>>;

    /// Keys per LIST page.
    fn page_size(&self) -> usize;
}

/// A [`Lister`] over a [`Storage`].
#[derive(Debug, Clone)]
pub struct StorageLister {
    store: Arc<dyn Storage>,
    page_size: usize,
}

impl StorageLister {
    /// Lists `store` with pages of `page_size` keys (1..=1000).
    pub fn new(store: Arc<dyn Storage>, page_size: usize) -> StorageLister {
        StorageLister {
            store,
            page_size: page_size.clamp(1, crate::storage::MAX_LIST_PAGE),
        }
    }
}

impl Lister for StorageLister {
    fn list(&self, call: ListCall) -> BoxFuture<'_, Result<Listing>> {
        async move {
            let options = ListOptions {
                prefix: call.prefix,
                delimiter: call.delimiter,
                start_after: call.start_after,
                page_size: Some(self.page_size),
            };
            let mut pages = self.store.list(options);
            let mut out = Listing::default();
            while let Some(page) = pages.next().await {
                let page = page.map_err(Error::from)?;
                out.requests += 1;
                let full = page.objects.len() + page.common_prefixes.len() >= self.page_size;
                out.objects.extend(page.objects);
                out.common_prefixes.extend(page.common_prefixes);
                if call.max_pages.is_some_and(|m| out.requests as usize >= m) {
                    out.truncated = full;
                    break;
                }
            }
            Ok(out)
        }
        .boxed()
    }

    fn page_size(&self) -> usize {
        self.page_size
    }
}

/// What to plan.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    /// The base prefix (`path_prefix`).
    pub base: String,
    /// `partition_keys`, if set.
    pub partition_keys: Option<Vec<String>>,
    /// The filter (`partition_filter`, `start_date` as a date floor).
    pub filter: PartitionFilter,
    /// Keys already synced (from the incremental state).
    pub synced_keys: Vec<String>,
    /// Incremental: start from the newest synced partition (its folder is listed again).
    pub resume_from_synced: bool,
}

/// How the listing was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// A flat listing of the base prefix: the sample page continued, page by
    /// page or, when long, split by folder (concurrent listings of its
    /// sub-folders).
    Flat,
    /// A flat listing starting after this key.
    StartAfter(String),
    /// Flat listings of these prefixes (after level-by-level pruning).
    Pruned(Vec<String>),
}

/// A file the plan selected, with its partition values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// The object.
    pub meta: ObjectMeta,
    /// Its partition values.
    pub partition: Vec<PartValue>,
}

/// The outcome of [`plan_listing`].
#[derive(Debug, Clone, PartialEq)]
pub struct ListingPlan {
    /// The detected (and named) scheme.
    pub scheme: PartitionScheme,
    /// How the keys were listed.
    pub strategy: Strategy,
    /// The files the filter keeps, in key order.
    pub files: Vec<PlannedFile>,
    /// Objects the LIST responses carried (the sample page's included).
    pub files_listed: u64,
    /// Their bytes.
    pub bytes_listed: u64,
    /// LIST requests made.
    pub list_requests: u64,
    /// Partitions (leaf folders) in the data: counted when everything was
    /// listed, else estimated from the scheme and the filter.
    pub partitions_total: u64,
    /// Partitions holding a selected file.
    pub partitions_selected: u64,
    /// The share of the data the filter avoids reading, in percent.
    pub scan_reduction_pct: f64,
}

impl ListingPlan {
    /// Bytes of the selected files.
    pub fn bytes_selected(&self) -> u64 {
        self.files.iter().map(|f| f.meta.size).sum()
    }
}

/// Parses a cursor or `start_date` value as a moment: RFC 3339, ISO without
/// zone (`2024-01-15T10:00:00[.fff][Z]`), or a date.
pub fn parse_moment(raw: &str) -> Option<NaiveDateTime> {
    let s = raw.trim();
    if let Some(t) = parse_date_time(s) {
        return Some(t);
    }
    if s.len() == 10 || s.len() == 8 {
        return parse_date(s).and_then(|d: NaiveDate| d.and_hms_opt(0, 0, 0));
    }
    None
}

/// The key after which a listing can start to see every file at or after
/// `cursor_value`: for a partition key `cursor_field` on the first partition
/// level, its folder; for a date or timestamp cursor in a date-ordered
/// layout, the folder of that date (and hour, if the layout has hours).
/// Otherwise the base prefix (list everything).
pub fn build_optimized_prefix(scheme: &PartitionScheme, cursor_value: &str, cursor_field: &str) -> String {
    let mut key = scheme.base.clone();
    if !key.is_empty() && !key.ends_with('/') {
        key.push('/');
    }
    if let Some(first) = scheme.levels.iter().position(|l| l.is_partition()) {
        let level = &scheme.levels[first];
        if level.name.as_deref() == Some(cursor_field) && level.width.is_some() {
            if let Some(seg) = level.segment(cursor_value) {
                for l in &scheme.levels[..first] {
                    if let LevelKind::Fixed(s) = &l.kind {
                        key.push_str(s);
                        key.push('/');
                    }
                }
                key.push_str(&seg);
                key.push('/');
                return key;
            }
        }
    }
    parse_moment(cursor_value)
        .and_then(|at| scheme.date_prefix(at))
        .unwrap_or(key)
}

/// The fraction (0..=1) of a level's values that `conds` keep.
fn level_fraction(scheme: &PartitionScheme, depth: usize, filter: &PartitionFilter) -> f64 {
    let level = &scheme.levels[depth];
    let Some(name) = level.name.as_deref() else { return 1.0 };
    let conds = filter.on(name);
    if conds.is_empty() {
        return 1.0;
    }
    let mut domain: BTreeSet<String> = level.observed.clone();
    if let Some(exact) = filter.exact_values(name) {
        domain.extend(exact);
    }
    if let Some(n) = level.date_part.and_then(DatePart::natural_cardinality) {
        let start = if level.date_part == Some(DatePart::Hour) { 0 } else { 1 };
        let width = level.width.unwrap_or(2);
        domain.extend((start..start + n).map(|i| format!("{i:0width$}")));
    }
    // Values equal as numbers ("1" and "01") count once.
    let mut distinct: Vec<String> = Vec::new();
    for v in domain {
        if !distinct.iter().any(|d| compare_values(d, &v).is_eq()) {
            distinct.push(v);
        }
    }
    if distinct.is_empty() {
        return 1.0;
    }
    let kept = distinct.iter().filter(|v| conds.iter().all(|c| c.accepts(v))).count();
    (kept.max(1) as f64 / distinct.len() as f64).min(1.0)
}

/// The expected share of the data `filter` prunes in `scheme`, in percent
/// (0 = reads everything): the product over filtered levels of the share of
/// their values kept, values counted from those observed, those the filter
/// names, and the calendar (12 months, 30 days, 24 hours).
pub fn estimate_scan_reduction(scheme: &PartitionScheme, filter: &PartitionFilter) -> f64 {
    let kept: f64 = (0..scheme.levels.len())
        .map(|d| level_fraction(scheme, d, filter))
        .product();
    ((1.0 - kept) * 100.0).clamp(0.0, 100.0)
}

/// Folders at a level: the values observed and those the filter names (the
/// sample may not show them), at least the calendar's for date parts.
fn cardinality(scheme: &PartitionScheme, depth: usize, filter: &PartitionFilter) -> f64 {
    let level = &scheme.levels[depth];
    if !level.is_partition() {
        return 1.0;
    }
    let natural = level.date_part.and_then(DatePart::natural_cardinality).unwrap_or(0);
    let mut values: Vec<&str> = level.observed.iter().map(String::as_str).collect();
    let named = level
        .name
        .as_deref()
        .and_then(|n| filter.exact_values(n))
        .unwrap_or_default();
    for v in &named {
        if !values.iter().any(|o| compare_values(o, v).is_eq()) {
            values.push(v);
        }
    }
    values.len().max(natural).max(1) as f64
}

fn constrained(scheme: &PartitionScheme, depth: usize, filter: &PartitionFilter) -> bool {
    let level = &scheme.levels[depth];
    let named = match &level.kind {
        LevelKind::HiveMixed => !filter.conditions.is_empty(),
        _ => level.name.as_deref().is_some_and(|n| !filter.on(n).is_empty()),
    };
    named || (filter.since.is_some() && level.date_part.is_some())
}

fn with_slash(base: &str) -> String {
    if base.is_empty() || base.ends_with('/') {
        base.to_string()
    } else {
        format!("{base}/")
    }
}

/// The date floor a `gte` on the leading date level of a date-ordered layout gives.
fn leading_floor(scheme: &PartitionScheme, filter: &PartitionFilter) -> Option<NaiveDateTime> {
    scheme.date_ordered_depth()?;
    let level = scheme.levels.iter().find(|l| l.is_partition())?;
    let name = level.name.as_deref()?;
    let gte = filter.on(name).iter().find_map(|c| match c {
        Condition::Range { gte: Some(v), .. } => Some(v.clone()),
        _ => None,
    })?;
    match level.date_part? {
        DatePart::Date => parse_date(&gte)?.and_hms_opt(0, 0, 0),
        DatePart::Year => NaiveDate::from_ymd_opt(gte.parse().ok()?, 1, 1)?.and_hms_opt(0, 0, 0),
        _ => None,
    }
}

/// Plans and runs the listing of `request.base` through `lister`: detects the
/// scheme, names it after `partition_keys`, checks the filter's keys, picks
/// the cheapest strategy and returns the files the filter keeps.
///
/// Errors: a [`PartitionError`](super::PartitionError) (as a config error)
/// for keys or filters the data does not have, and the lister's errors.
pub async fn plan_listing(lister: &dyn Lister, request: &PlanRequest) -> Result<ListingPlan> {
    let page = lister.page_size().max(1);
    let base = request.base.as_str();
    let mut requests = 0u64;
    let mut filter = request.filter.clone();

    // The layout: from keys already synced when they show a date-ordered one
    // (no request), else from a first page.
    let mut sample: Option<Listing> = None;
    let mut scheme = if request.resume_from_synced && !request.synced_keys.is_empty() {
        Some(PartitionScheme::detect(base, &request.synced_keys)).filter(|s| s.date_ordered_depth().is_some())
    } else {
        None
    };
    if scheme.is_none() {
        let first = lister
            .list(ListCall {
                prefix: base.to_string(),
                max_pages: Some(1),
                ..Default::default()
            })
            .await?;
        requests += first.requests;
        let keys: Vec<&str> = first.objects.iter().map(|o| o.key.as_str()).collect();
        scheme = Some(PartitionScheme::detect(base, &keys));
        sample = Some(first);
    }
    let mut scheme = scheme.unwrap_or_else(|| PartitionScheme::detect(base, &[] as &[&str]));
    let empty = sample.as_ref().is_some_and(|s| s.objects.is_empty());
    if !empty {
        if let Some(keys) = &request.partition_keys {
            scheme = scheme.with_keys(keys)?;
        }
        filter.validate(&scheme)?;
    }
    if request.resume_from_synced {
        let newest = request.synced_keys.iter().filter_map(|k| scheme.date_of(k)).max();
        filter = filter.with_since(newest);
    }

    let mut listed: Vec<ObjectMeta>;
    let strategy;
    let complete_sample = sample.as_ref().is_some_and(|s| !s.truncated);
    let floor = filter.since.or_else(|| leading_floor(&scheme, &filter));
    let leading_exact = scheme
        .levels
        .iter()
        .find(|l| l.is_partition())
        .and_then(|l| l.name.as_deref())
        .is_some_and(|n| filter.exact_values(n).is_some());
    let start_after = floor.and_then(|at| scheme.date_prefix(at)).filter(|_| !leading_exact);
    // Every object a LIST response carried, the sample's included.
    let mut received = sample.as_ref().map_or(0, |s| s.objects.len() as u64);

    if complete_sample || filter.is_empty() || empty {
        strategy = Strategy::Flat;
        listed = continue_flat(lister, base, sample.take(), &mut requests).await?;
        received = listed.len() as u64;
    } else if let Some(after) = start_after {
        let mut kept: Vec<ObjectMeta> = Vec::new();
        let mut from = after.clone();
        if let Some(s) = sample.take() {
            if let Some(last) = s.objects.last().filter(|o| o.key > after) {
                from = last.key.clone();
                kept = s.objects.into_iter().filter(|o| o.key > after).collect();
            }
        }
        let rest = lister
            .list(ListCall {
                prefix: base.to_string(),
                start_after: Some(from),
                ..Default::default()
            })
            .await?;
        requests += rest.requests;
        received += rest.objects.len() as u64;
        kept.extend(rest.objects);
        listed = kept;
        strategy = Strategy::StartAfter(after);
    } else {
        match pruned_prefixes(lister, &scheme, &filter, base, sample.as_ref(), page, &mut requests).await? {
            Some((prefixes, direct)) => {
                received += direct.len() as u64;
                listed = direct;
                // The sample holds every key up to its last one: keep its
                // keys (the filter applies below) and list only what follows.
                let last = sample.as_ref().and_then(|s| s.objects.last()).map(|o| o.key.clone());
                if let Some(s) = sample.take() {
                    listed.extend(s.objects);
                }
                for got in list_all(lister, remaining_calls(prefixes.clone(), last.as_deref(), None)).await? {
                    requests += got.requests;
                    received += got.objects.len() as u64;
                    listed.extend(got.objects);
                }
                strategy = Strategy::Pruned(prefixes);
            }
            None => {
                strategy = Strategy::Flat;
                listed = continue_flat(lister, base, sample.take(), &mut requests).await?;
                received = listed.len() as u64;
            }
        }
    }
    listed.sort_by(|a, b| a.key.cmp(&b.key));
    listed.dedup_by(|a, b| a.key == b.key);

    let files_listed = received;
    let bytes_listed: u64 = listed.iter().map(|o| o.size).sum();
    let leaf = |key: &str| key.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
    let all_partitions: BTreeSet<String> = listed.iter().map(|o| leaf(&o.key)).collect();
    let files: Vec<PlannedFile> = listed
        .into_iter()
        .filter_map(|meta| {
            let partition = scheme.values(&meta.key);
            filter.accepts(&partition).then_some(PlannedFile { meta, partition })
        })
        .collect();
    let selected: BTreeSet<String> = files.iter().map(|f| leaf(&f.meta.key)).collect();
    let selected_bytes: u64 = files.iter().map(|f| f.meta.size).sum();
    let (partitions_total, scan_reduction_pct) = if strategy == Strategy::Flat {
        let pct = if bytes_listed > 0 {
            100.0 * (1.0 - selected_bytes as f64 / bytes_listed as f64)
        } else if files_listed > 0 {
            100.0 * (1.0 - files.len() as f64 / files_listed as f64)
        } else {
            0.0
        };
        (all_partitions.len() as u64, pct)
    } else {
        let pct = match &strategy {
            Strategy::StartAfter(after) if !request.synced_keys.is_empty() => {
                // Skipped: what was synced before the floor's folder.
                let skipped = request
                    .synced_keys
                    .iter()
                    .filter(|k| k.as_str() <= after.as_str())
                    .count();
                let seen = skipped + files.len();
                if seen > 0 {
                    100.0 * skipped as f64 / seen as f64
                } else {
                    0.0
                }
            }
            _ => estimate_scan_reduction(&scheme, &filter),
        };
        let kept = (1.0 - pct / 100.0).max(1e-9);
        let total = ((selected.len() as f64) / kept).round() as u64;
        (total.max(all_partitions.len() as u64), pct)
    };
    Ok(ListingPlan {
        scheme,
        strategy,
        files,
        files_listed,
        bytes_listed,
        list_requests: requests,
        partitions_total,
        partitions_selected: selected.len() as u64,
        scan_reduction_pct: scan_reduction_pct.clamp(0.0, 100.0),
    })
}

/// Runs `calls`, at most [`LIST_CONCURRENCY`] at a time; the listings come
/// back in call order.
async fn list_all(lister: &dyn Lister, calls: impl IntoIterator<Item = ListCall>) -> Result<Vec<Listing>> {
    let mut out = Vec::new();
    let mut running = stream::iter(calls)
        .map(|call| lister.list(call))
        .buffered(LIST_CONCURRENCY);
    while let Some(got) = running.next().await {
        out.push(got?);
    }
    Ok(out)
}

/// The sample's objects plus the rest of the flat listing of `base` (in no
/// particular order: [`plan_listing`] sorts and removes duplicates).
///
/// When the sample page was truncated, the rest is one sequential flat
/// listing starting after the sample's last key, or, for a long listing of
/// large folders, a listing **split** by folder ([`split_listing`]). Only
/// folders of about a page of keys or more can make a split pay, and the
/// keys listed so far tell: folders they hold whole that are much smaller
/// than a page mean a flat listing, at no extra request. While they show
/// only one folder (it fills the pages), one more flat page is listed —
/// a page the flat listing needs anyway — before the split is considered.
async fn continue_flat(
    lister: &dyn Lister,
    base: &str,
    sample: Option<Listing>,
    requests: &mut u64,
) -> Result<Vec<ObjectMeta>> {
    let (mut objects, truncated, sampled) = match sample {
        Some(s) => (s.objects, s.truncated, true),
        None => (Vec::new(), true, false),
    };
    if !truncated {
        return Ok(objects);
    }
    let page = lister.page_size().max(1);
    let mut extra_page = sampled;
    loop {
        let split_may_pay = match whole_folder_keys(base, &objects) {
            FolderShape::NoFolders => false,
            FolderShape::Whole(keys_per_folder) => split_overhead_pct(keys_per_folder, page) <= SPLIT_MAX_EXTRA_PCT,
            FolderShape::OneFolder if extra_page => {
                // One more page of the flat listing, then look again.
                extra_page = false;
                let next = lister
                    .list(ListCall {
                        prefix: base.to_string(),
                        start_after: objects.last().map(|o| o.key.clone()),
                        max_pages: Some(1),
                        ..Default::default()
                    })
                    .await?;
                *requests += next.requests;
                objects.extend(next.objects);
                if !next.truncated {
                    return Ok(objects);
                }
                continue;
            }
            FolderShape::OneFolder => true,
        };
        if split_may_pay {
            if let Some(rest) = split_listing(lister, base, sampled.then_some(objects.as_slice()), requests).await? {
                objects.extend(rest);
                return Ok(objects);
            }
        }
        break;
    }
    let rest = lister
        .list(ListCall {
            prefix: base.to_string(),
            start_after: objects.last().map(|o| o.key.clone()),
            ..Default::default()
        })
        .await?;
    *requests += rest.requests;
    objects.extend(rest.objects);
    Ok(objects)
}

/// What the keys listed so far show of the folders right below `base`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FolderShape {
    /// No key below a folder.
    NoFolders,
    /// Every key in one folder, which may go on.
    OneFolder,
    /// The mean keys of the folders held whole (all but the last).
    Whole(f64),
}

/// Looks below `base` level by level while every key is in one folder (at
/// most [`SPLIT_MAX_DESCENT`] levels down, as a split descends), and tells
/// the first level with several folders.
fn whole_folder_keys(base: &str, objects: &[ObjectMeta]) -> FolderShape {
    let mut prefix = base.to_string();
    for depth in 0..=SPLIT_MAX_DESCENT {
        let counts = folder_counts(&prefix, objects);
        match counts.len() {
            0 if depth == 0 => return FolderShape::NoFolders,
            0 => return FolderShape::OneFolder,
            1 => match counts.keys().next() {
                Some(only) => prefix = (*only).to_string(),
                None => return FolderShape::OneFolder,
            },
            _ => return FolderShape::Whole(keys_per_whole_folder(counts)),
        }
    }
    FolderShape::OneFolder
}

/// How many of `objects` lie in each folder right below `prefix`.
fn folder_counts<'a>(prefix: &str, objects: &'a [ObjectMeta]) -> BTreeMap<&'a str, usize> {
    let mut counts = BTreeMap::new();
    for o in objects {
        if let Some(i) = o.key.strip_prefix(prefix).and_then(|rest| rest.find('/')) {
            *counts.entry(&o.key[..prefix.len() + i + 1]).or_default() += 1;
        }
    }
    counts
}

/// The mean keys per folder of `counts`, taken from the folders listed
/// whole: the last one goes on past the keys listed so far, so it counts
/// only when it is the one folder (at least 1).
fn keys_per_whole_folder(mut counts: BTreeMap<&str, usize>) -> f64 {
    if counts.len() > 1 {
        counts.pop_last();
    }
    (counts.values().sum::<usize>() as f64 / counts.len().max(1) as f64).max(1.0)
}

/// How many more requests (percent) listing folders of `keys_per_folder`
/// keys one by one costs than a flat listing of the same keys: each folder
/// ends on a partial page.
fn split_overhead_pct(keys_per_folder: f64, page: usize) -> usize {
    let flat = (keys_per_folder / page as f64).max(f64::MIN_POSITIVE);
    let split = flat.ceil().max(1.0);
    ((split / flat - 1.0) * 100.0).round().min(1e6) as usize
}

/// The keys of `base` not in `sample` (the first page of its flat listing,
/// if one was read), listed folder by folder, [`LIST_CONCURRENCY`] at a
/// time; `None` when a flat listing is the better choice.
///
/// A flat listing is one round trip per page, one after another: 100,000
/// keys are 100 sequential requests. A split lists the folders at once, for
/// a few more requests (one delimiter listing, and each folder ends on a
/// partial page). So only a **long** listing is split:
/// 1. Only a `base` that is `""` or ends with `/`: keys of `data/2024` may be
///    `data/2024-01.csv`, which no folder listing of `data/2024/` finds.
/// 2. One delimiter listing (`/`, one page) of the prefix gives the objects
///    directly in it and its sub-folders; through a single sub-folder and no
///    object it descends (at most [`SPLIT_MAX_DESCENT`] levels), so
///    `events/` → `events/year=2024/` still splits. No split when it is
///    truncated (more folders than a page).
/// 3. The flat pages are estimated as `(direct objects + folders × keys per
///    folder) / page size` (keys per folder from the folders the sample
///    holds whole, else at least its one folder's), the split's as
///    one or more per folder (`⌈keys per folder / page size⌉`). The split
///    goes ahead only when the flat listing is expected to need at least
///    [`SPLIT_MIN_PAGES`] more pages and the split at most
///    [`SPLIT_MAX_EXTRA_PCT`] % more requests than the flat pages.
///
/// So a listing of a few pages costs its pages plus the one delimiter
/// listing, and a long one at most about a tenth more LISTs than its pages,
/// listed [`LIST_CONCURRENCY`] times faster. The sample holds every key up
/// to its last one: folders before the one holding it are not listed again,
/// and that one is listed after it. Folders that look like leaves
/// (`folder/name` in the sample) are listed with the delimiter — on a leaf,
/// the same pages as a flat listing, and a server that walks its directories
/// for a flat listing (s3s-fs walks the whole bucket) walks only that
/// folder; sub-folders such a listing still finds are then listed flat.
/// Every delimiter listing made is counted in `requests`, split or not.
async fn split_listing(
    lister: &dyn Lister,
    base: &str,
    sample: Option<&[ObjectMeta]>,
    requests: &mut u64,
) -> Result<Option<Vec<ObjectMeta>>> {
    if !(base.is_empty() || base.ends_with('/')) {
        return Ok(None);
    }
    let page = lister.page_size().max(1);
    let mut prefix = base.to_string();
    let mut descents = 0;
    let listing = loop {
        let got = lister
            .list(ListCall {
                prefix: prefix.clone(),
                delimiter: Some("/".into()),
                max_pages: Some(1),
                ..Default::default()
            })
            .await?;
        *requests += got.requests;
        if got.truncated {
            return Ok(None);
        }
        if got.objects.is_empty() && got.common_prefixes.len() == 1 && descents < SPLIT_MAX_DESCENT {
            prefix = got.common_prefixes.into_iter().next().unwrap_or_default();
            descents += 1;
            continue;
        }
        break got;
    };

    let sample = sample.unwrap_or_default();
    let keys_per_folder = keys_per_whole_folder(folder_counts(&prefix, sample));
    let folders = listing.common_prefixes.len();
    let flat_pages = ((listing.objects.len() as f64 + keys_per_folder * folders as f64) / page as f64).ceil() as usize;
    let split_pages = folders * (keys_per_folder / page as f64).ceil().max(1.0) as usize;
    let more_pages = flat_pages.saturating_sub(sample.len().div_ceil(page));
    if more_pages < SPLIT_MIN_PAGES || split_pages * 100 > flat_pages * (100 + SPLIT_MAX_EXTRA_PCT) {
        return Ok(None);
    }

    let mut depths = sample.iter().filter_map(|o| {
        let rest = o.key.strip_prefix(prefix.as_str())?;
        let (_, below) = rest.split_once('/')?;
        Some(below.contains('/'))
    });
    let leaves = depths.next() == Some(false) && depths.all(|deeper| !deeper);
    let last = sample.last().map(|o| o.key.as_str());
    let delimiter = leaves.then(|| "/".to_string());
    let calls = remaining_calls(listing.common_prefixes, last, delimiter);
    let mut objects = listing.objects;
    let mut deeper = Vec::new();
    for got in list_all(lister, calls).await? {
        *requests += got.requests;
        objects.extend(got.objects);
        deeper.extend(got.common_prefixes);
    }
    for got in list_all(lister, remaining_calls(deeper, last, None)).await? {
        *requests += got.requests;
        objects.extend(got.objects);
    }
    Ok(Some(objects))
}

/// The listings of `folders` that find the keys after `last`, the last key
/// of the sample (the first page of a flat listing of a prefix holding the
/// folders): it holds every key up to `last`, so folders before the one
/// holding `last` are skipped and that one is listed after `last`.
fn remaining_calls(folders: Vec<String>, last: Option<&str>, delimiter: Option<String>) -> Vec<ListCall> {
    folders
        .into_iter()
        .filter_map(|folder| {
            let start_after = match last {
                Some(last) if last.starts_with(folder.as_str()) => Some(last.to_string()),
                Some(last) if folder.as_str() < last => return None,
                _ => None,
            };
            Some(ListCall {
                prefix: folder,
                delimiter: delimiter.clone(),
                start_after,
                ..Default::default()
            })
        })
        .collect()
}

/// Each prefix followed by each of `values` as `level`'s folder, kept when
/// the filter may accept what lies below it.
fn expand_prefixes(
    prefixes: &[String],
    level: &Level,
    values: &[String],
    scheme: &PartitionScheme,
    filter: &PartitionFilter,
) -> Vec<String> {
    let mut next = Vec::new();
    for p in prefixes {
        for v in values {
            if let Some(seg) = level.segment(v) {
                let candidate = format!("{p}{seg}/");
                if filter.accepts_partial(&scheme.values(&format!("{candidate}x"))) {
                    next.push(candidate);
                }
            }
        }
    }
    next
}

/// The open prefixes after pruning, with the objects found directly in
/// folders listed on the way; `None` when a flat listing of `base` is
/// expected to cost fewer requests.
///
/// 1. Leading levels with equality or list values become exact prefixes —
///    no request, whatever the sample showed — while there are at most
///    `max(`[`LIST_CONCURRENCY`]`, estimated flat pages)` of them (each open
///    prefix costs at least one LIST).
/// 2. Deeper constrained levels (ranges, values on a level below an
///    unconstrained one) are resolved level by level with delimiter
///    listings when that is expected to cost fewer requests than listing
///    the open prefixes whole; else the open prefixes are listed whole (or,
///    with no exact prefix, `base` flat).
async fn pruned_prefixes(
    lister: &dyn Lister,
    scheme: &PartitionScheme,
    filter: &PartitionFilter,
    base: &str,
    sample: Option<&Listing>,
    page: usize,
    requests: &mut u64,
) -> Result<Option<(Vec<String>, Vec<ObjectMeta>)>> {
    let levels = scheme.levels.len();
    let Some(last) = (0..levels).rev().find(|d| constrained(scheme, *d, filter)) else {
        return Ok(None);
    };
    // Estimates: files per leaf folder from the sample, folders per level
    // from what was observed, what the filter names and the calendar.
    let files_per_leaf = sample
        .map(|s| {
            let leaves: BTreeSet<&str> = s
                .objects
                .iter()
                .filter_map(|o| o.key.rsplit_once('/').map(|x| x.0))
                .collect();
            s.objects.len() as f64 / leaves.len().max(1) as f64
        })
        .unwrap_or(1.0)
        .max(1.0);
    let below = |from: usize| -> f64 {
        files_per_leaf * (from..levels).map(|d| cardinality(scheme, d, filter)).product::<f64>()
    };
    let flat_pages = (below(0) / page as f64).ceil().max(1.0);

    // 1. Leading exact values.
    let mut prefixes = vec![with_slash(base)];
    let mut depth = 0;
    let mut exact_levels = 0;
    let max_prefixes = (LIST_CONCURRENCY as f64).max(flat_pages);
    while depth <= last {
        let level = &scheme.levels[depth];
        if let LevelKind::Fixed(seg) = &level.kind {
            prefixes.iter_mut().for_each(|p| {
                p.push_str(seg);
                p.push('/');
            });
            depth += 1;
            continue;
        }
        let exact = level.name.as_deref().and_then(|n| filter.exact_values(n));
        let Some(values) = exact.filter(|_| level.segment("x").is_some()) else {
            break;
        };
        if (prefixes.len() * values.len()) as f64 > max_prefixes {
            break;
        }
        prefixes = expand_prefixes(&prefixes, level, &values, scheme, filter);
        exact_levels += 1;
        depth += 1;
    }
    if depth > last {
        return Ok(Some((prefixes, Vec::new())));
    }

    // 2. Deeper levels: walk them when cheaper than listing the open prefixes whole.
    let whole = prefixes.len() as f64 * (below(depth) / page as f64).ceil().max(1.0);
    let mut open = prefixes.len() as f64;
    let mut walk = 0.0f64;
    for d in depth..=last {
        let level = &scheme.levels[d];
        if !level.is_partition() {
            continue;
        }
        let exact = level.name.as_deref().and_then(|n| filter.exact_values(n));
        match exact {
            Some(vs) if level.segment("x").is_some() => open *= vs.len() as f64,
            _ => {
                walk += open;
                open *= cardinality(scheme, d, filter) * level_fraction(scheme, d, filter);
            }
        }
    }
    walk += open * (below(last + 1) / page as f64).ceil().max(1.0);
    if walk >= whole {
        return Ok((exact_levels > 0).then_some((prefixes, Vec::new())));
    }

    let mut direct: Vec<ObjectMeta> = Vec::new();
    for d in depth..=last {
        let level = &scheme.levels[d];
        if let LevelKind::Fixed(seg) = &level.kind {
            prefixes.iter_mut().for_each(|p| {
                p.push_str(seg);
                p.push('/');
            });
            continue;
        }
        let exact = level.name.as_deref().and_then(|n| filter.exact_values(n));
        if let Some(values) = exact.filter(|_| level.segment("x").is_some()) {
            prefixes = expand_prefixes(&prefixes, level, &values, scheme, filter);
            continue;
        }
        let mut next = Vec::new();
        let calls = prefixes.iter().map(|p| ListCall {
            prefix: p.clone(),
            delimiter: Some("/".into()),
            ..Default::default()
        });
        for got in list_all(lister, calls).await? {
            *requests += got.requests;
            direct.extend(got.objects);
            next.extend(
                got.common_prefixes
                    .into_iter()
                    .filter(|cp| filter.accepts_partial(&scheme.values(&format!("{cp}x")))),
            );
        }
        prefixes = next;
    }
    Ok(Some((prefixes, direct)))
}

#[cfg(test)]
mod tests;

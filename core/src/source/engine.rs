//! [`Engine`]: a read plan with the storage it reads and the meter that
//! counts its requests — what every step (`check`, `discover`, `estimate`,
//! `read`) works on.

use std::sync::Arc;

use super::listing::ListingCache;
use super::plan::ReadPlan;
use crate::storage::{Meter, Storage};

/// The file-source engine of one command: its plan, its storage (any
/// backend), the meter of that storage, and the listings discovery kept for
/// the read that follows it in the same process.
pub struct Engine<'a> {
    /// What to read, validated.
    pub plan: ReadPlan,
    /// Where the objects are.
    pub store: Arc<dyn Storage>,
    /// The requests and bytes sent so far (the COST report's actual figures,
    /// the cost limit's running total).
    pub meter: Arc<Meter>,
    /// Discovery's listings, for the read that follows it.
    pub listings: &'a ListingCache,
}

impl<'a> Engine<'a> {
    /// The engine of `plan` over `store`, its requests counted by `meter`.
    pub fn new(plan: ReadPlan, store: Arc<dyn Storage>, meter: Arc<Meter>, listings: &'a ListingCache) -> Self {
        Engine {
            plan,
            store,
            meter,
            listings,
        }
    }

    /// Where `prefix` is, for messages: its URL ([`ReadPlan::url`]), or the
    /// store and the prefix when the plan has no URL prefix.
    pub fn location(&self, prefix: &str) -> String {
        if self.plan.url_prefix.is_empty() {
            format!("{}/{prefix}", self.store)
        } else {
            self.plan.url(prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use lakeport_protocol::{ConfiguredAirbyteCatalog, Emitter, InputState};
    use serde_json::{json, Value};

    use super::*;
    use crate::formats::{FileFormat, ReadOptions};
    use crate::source::captured::Captured;
    use crate::source::plan::StreamPlan;
    use crate::storage::{LocalStorage, Metered, RequestKind};

    /// Every step works on a local directory as on S3: the engine sees only
    /// the `Storage` trait and the meter it was given.
    #[test]
    fn the_engine_checks_discovers_and_reads_a_local_directory() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let metered = Metered::new(Arc::new(LocalStorage::new(dir.path())));
        let (store, meter) = (metered.store().clone(), metered.meter().clone());
        runtime.block_on(async {
            store.put("data/a.csv", "id,name\n1,ann\n2,bob\n".into()).await.unwrap();
            store.put("data/b.csv", "id,name\n3,cy\n".into()).await.unwrap();
            store.put("other/c.csv", "id,name\n9,zed\n".into()).await.unwrap();
        });
        let stream = StreamPlan::new("people", "data/", Some(FileFormat::Csv), ReadOptions::default());
        let listings = ListingCache::default();
        let engine = Engine::new(ReadPlan::new(vec![stream]), store, meter.clone(), &listings);
        let cap = Captured::default();
        let mut out = Emitter::new(Box::new(cap.clone()));

        let lists = meter.requests(RequestKind::List);
        let status = runtime.block_on(engine.check()).unwrap();
        assert!(
            status.message.as_deref().unwrap_or_default().contains("data/a.csv"),
            "{status:?}"
        );
        assert_eq!(meter.requests(RequestKind::List), lists + 1);

        let catalog = runtime.block_on(engine.discover(&mut out)).unwrap();
        let props = &catalog.streams[0].json_schema["properties"];
        assert_eq!(props["id"]["type"], json!(["null", "integer"]), "{props}");
        let configured: ConfiguredAirbyteCatalog = serde_json::from_value(json!({"streams": [{
            "stream": catalog.streams[0], "sync_mode": "incremental", "destination_sync_mode": "append"}]}))
        .unwrap();
        cap.take(&mut out);
        let state = InputState::default();
        runtime.block_on(engine.read(&configured, &state, &mut out)).unwrap();
        let lines = cap.take(&mut out);
        let ids: Vec<&Value> = lines
            .iter()
            .filter(|m| m["type"] == "RECORD")
            .map(|m| &m["record"]["data"]["id"])
            .collect();
        assert_eq!(ids, [&json!(1), &json!(2), &json!(3)]);
        let last_state = lines.iter().rfind(|m| m["type"] == "STATE").unwrap();
        let history = &last_state["state"]["stream"]["stream_state"]["history"];
        assert!(
            history["data/a.csv"].is_string() && history["data/b.csv"].is_string(),
            "{history}"
        );
        let cost = lines
            .iter()
            .filter_map(|m| m["log"]["message"].as_str())
            .find_map(|m| m.strip_prefix("COST "))
            .unwrap();
        let cost: Value = serde_json::from_str(cost).unwrap();
        assert_eq!(cost["files_read"], 2, "{cost}");
        assert_eq!(cost["get_requests"], meter.requests(RequestKind::Get), "{cost}");
    }
}

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
}

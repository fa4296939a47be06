//! The streams of one write, by descriptor: what a writer keeps per stream,
//! in the order each stream's first record arrived. Inputs come in long runs
//! of one stream, so the stream of the previous record is found without a
//! lookup.

use std::collections::HashMap;

use lakeport_protocol::{ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, ConnectorError, StreamDescriptor};

use super::states::Scope;

/// A writer's streams, each with its `T`.
#[derive(Debug)]
pub struct Streams<T> {
    entries: Vec<(StreamDescriptor, T)>,
    index: HashMap<StreamDescriptor, usize>,
    /// The stream of the previous record.
    last: Option<usize>,
}

impl<T> Default for Streams<T> {
    fn default() -> Self {
        Streams {
            entries: Vec::new(),
            index: HashMap::new(),
            last: None,
        }
    }
}

impl<T> Streams<T> {
    /// The position of stream `name` in `namespace`, set up with `make` on
    /// its first use (a `make` error leaves nothing set up).
    pub fn get_or_try_insert<E>(
        &mut self,
        name: &str,
        namespace: Option<&str>,
        make: impl FnOnce(&StreamDescriptor) -> Result<T, E>,
    ) -> Result<usize, E> {
        if let Some(i) = self.find(name, namespace) {
            return Ok(i);
        }
        let desc = StreamDescriptor {
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
        };
        let value = make(&desc)?;
        self.entries.push((desc.clone(), value));
        let i = self.entries.len() - 1;
        self.index.insert(desc, i);
        self.last = Some(i);
        Ok(i)
    }

    /// The position of stream `name` in `namespace` if it is set up.
    pub fn find(&mut self, name: &str, namespace: Option<&str>) -> Option<usize> {
        if let Some(i) = self.last {
            let (d, _) = &self.entries[i];
            if d.name == name && d.namespace.as_deref() == namespace {
                return Some(i);
            }
        }
        let desc = StreamDescriptor {
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
        };
        let i = *self.index.get(&desc)?;
        self.last = Some(i);
        Some(i)
    }

    /// The stream at `i` (a position this table gave).
    pub fn at(&self, i: usize) -> (&StreamDescriptor, &T) {
        let (d, v) = &self.entries[i];
        (d, v)
    }

    /// The stream at `i`, its value mutable.
    pub fn at_mut(&mut self, i: usize) -> (&StreamDescriptor, &mut T) {
        let (d, v) = &mut self.entries[i];
        (d, v)
    }

    /// The value of stream `desc`, if it has one.
    pub fn get(&self, desc: &StreamDescriptor) -> Option<&T> {
        self.index.get(desc).map(|&i| &self.entries[i].1)
    }

    /// Streams set up so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no stream is set up.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every stream, in the order they were set up.
    pub fn iter(&self) -> impl Iterator<Item = (&StreamDescriptor, &T)> {
        self.entries.iter().map(|(d, v)| (d, v))
    }

    /// Drops every stream's value.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
        self.last = None;
    }

    /// The sum of the counters `count` points to in the streams `scope`
    /// covers, each reset to 0: the records a STATE covers since the
    /// previous one.
    pub fn take_count(&mut self, scope: &Scope, count: impl Fn(&mut T) -> &mut u64) -> u64 {
        match scope {
            Scope::Stream(d) => self
                .index
                .get(d)
                .map_or(0, |&i| std::mem::take(count(&mut self.entries[i].1))),
            Scope::All => self.entries.iter_mut().map(|(_, v)| std::mem::take(count(v))).sum(),
        }
    }
}

/// The catalog's configuration of the stream a record arrived for; a stream
/// the catalog does not configure is a config error.
pub fn configured<'c>(
    catalog: &'c ConfiguredAirbyteCatalog,
    desc: &StreamDescriptor,
) -> Result<&'c ConfiguredAirbyteStream, ConnectorError> {
    catalog.find(&desc.name, desc.namespace.as_deref()).ok_or_else(|| {
        ConnectorError::config(format!(
            "A record of stream '{}' arrived, but the catalog does not configure that stream. Add it to the catalog or run without --catalog.",
            desc.name
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_set_up_once_and_counted_per_scope() {
        let mut s: Streams<u64> = Streams::default();
        let made = |_: &StreamDescriptor| Ok::<u64, ()>(0);
        let a = s.get_or_try_insert("a", None, made).unwrap();
        let b = s.get_or_try_insert("b", Some("ns"), made).unwrap();
        assert_eq!((a, b), (0, 1));
        assert_eq!(s.get_or_try_insert("a", None, |_| Err(())), Ok(0));
        assert_eq!(s.get_or_try_insert("b", None, |_| Err(())), Err(()));
        assert_eq!(s.len(), 2);
        *s.at_mut(a).1 += 3;
        *s.at_mut(b).1 += 2;
        let a_desc = s.at(a).0.clone();
        assert_eq!(s.take_count(&Scope::Stream(a_desc.clone()), |v| v), 3);
        assert_eq!(s.get(&a_desc), Some(&0));
        *s.at_mut(a).1 += 1;
        assert_eq!(s.take_count(&Scope::All, |v| v), 3);
        assert_eq!(s.iter().map(|(_, v)| *v).sum::<u64>(), 0);
        s.clear();
        assert!(s.is_empty());
    }
}

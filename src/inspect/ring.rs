//! The records kept in memory: the newest ones, bounded by count and by size, so that a day
//! of calls (or a few calls with 6 MB answers) cannot grow the server without limit.

use std::collections::VecDeque;
use std::sync::Arc;

use super::Entry;

/// How much the inspector keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most records kept; 0 keeps none (the page says recording is off).
    pub records: usize,
    /// The most bytes they may hold together (bodies are the bulk); the oldest go first.
    pub bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            records: 1000,
            bytes: 16 * 1024 * 1024,
        }
    }
}

#[derive(Debug)]
pub(super) struct Ring {
    items: VecDeque<Arc<Entry>>,
    bytes: usize,
    limits: Limits,
}

impl Ring {
    pub fn new(limits: Limits) -> Ring {
        Ring {
            items: VecDeque::with_capacity(limits.records.min(1024)),
            bytes: 0,
            limits,
        }
    }

    /// Adds the newest record and drops the oldest ones beyond the limits. The newest is
    /// always kept, however large (its bodies are capped anyway).
    pub fn push(&mut self, e: Arc<Entry>) {
        if self.limits.records == 0 {
            return;
        }
        self.bytes += e.weight;
        self.items.push_back(e);
        while self.items.len() > self.limits.records
            || (self.bytes > self.limits.bytes && self.items.len() > 1)
        {
            match self.items.pop_front() {
                Some(old) => self.bytes -= old.weight,
                None => break,
            }
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<Entry>> {
        self.items.iter()
    }

    pub fn get(&self, id: u64) -> Option<&Arc<Entry>> {
        // Ids increase along the ring: a binary search finds one.
        let i = self.items.binary_search_by_key(&id, |e| e.record.id).ok()?;
        self.items.get(i)
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

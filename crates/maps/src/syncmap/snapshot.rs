//! The read-only snapshot (Go's `readOnly`): the map that loads consult
//! without the lock, and whether the dirty map holds keys it lacks.

use std::collections::HashMap;
use std::sync::Arc;

use super::entry::Entry;

/// Keys to their shared entries.
pub(super) type EntryMap<K, V, S> = HashMap<K, Arc<Entry<V>>, S>;

/// An immutable snapshot, published through an epoch-managed pointer.
///
/// `m` is behind an `Arc` because Go republishes the *same* map with
/// `amended` flipped (`readOnly{m: read.m, amended: true}`); sharing it keeps
/// that O(1) instead of copying the map.
pub(super) struct ReadOnly<K, V, S> {
    pub(super) m: Arc<EntryMap<K, V, S>>,
    /// The dirty map holds some key that `m` does not.
    pub(super) amended: bool,
}

//! Off-path freeing of retired snapshots.
//!
//! A promotion retires the old snapshot, and dropping it is O(n): one `Arc`
//! decrement per entry (freeing the entries only it held) and the table
//! itself. With plain `defer_destroy` that drop runs on whichever reader or
//! writer next collects the epoch garbage, inside that operation's latency.
//! Go's GC frees the old map in the background instead. So the epoch's
//! deferred function here only hands a large snapshot to one background
//! thread per process, an O(1) channel send; small ones are dropped on the
//! spot, where the send would cost more than the drop.

use std::sync::mpsc::{self, Sender};
use std::sync::OnceLock;
use std::thread;

/// Snapshots with fewer entries than this are dropped inline.
pub(super) const BACKGROUND_MIN_ENTRIES: usize = 1024;

type Garbage = Box<dyn Send>;

static RECLAIMER: OnceLock<Option<Sender<Garbage>>> = OnceLock::new();

/// The process's reclaimer, started on first use; `None` if the thread
/// could not be spawned (then everything is dropped inline). Its sender
/// lives in a static, so the thread sleeps in `recv` between snapshots and
/// ends with the process.
fn reclaimer() -> Option<&'static Sender<Garbage>> {
    RECLAIMER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Garbage>();
            thread::Builder::new()
                .name("syncmap-reclaim".into())
                .spawn(move || rx.into_iter().for_each(drop))
                .ok()
                .map(|_detached| tx)
        })
        .as_ref()
}

/// Drops `garbage` on the reclaimer thread when `large`, else here.
pub(super) fn drop_snapshot(garbage: Garbage, large: bool) {
    if large {
        if let Some(tx) = reclaimer() {
            // A send fails only if the thread is gone; the value then comes
            // back in the error and drops here.
            let _ = tx.send(garbage);
            return;
        }
    }
    drop(garbage);
}

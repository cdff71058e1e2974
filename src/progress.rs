//! Progress reporting without printing: the library calls a [`Progress`]; the binary shows a bar
//! or JSON lines. Returning `false` from a callback asks the work to stop.

use std::path::Path;

/// Receives progress from long-running work. Every method returns `true` to go on.
pub trait Progress: Send + Sync {
    /// A job (a file, or a batch of files) starts; `total` units are expected, if known.
    fn start(&self, _what: &Path, _total: Option<u64>) -> bool {
        true
    }
    /// `done` units (frames, tiles or files) are finished in all.
    fn advance(&self, _done: u64) -> bool {
        true
    }
    /// Something worth saying that is not an error (a fallback, a damaged range).
    fn warn(&self, _msg: &str) {}
    /// Something worth knowing that is not a problem (a job resumed).
    fn note(&self, _msg: &str) {}
}

/// A [`Progress`] that ignores everything and never cancels.
pub struct NoProgress;

impl Progress for NoProgress {}

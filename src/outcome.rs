//! How a job ended when nothing failed, in a module of its own so that every path that runs one
//! (`jobs`, `video`, `segments`) can say it without importing another.

/// How a job ended when nothing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// Everything was written.
    Done,
    /// Stopped on request after `frames` frames: the output holds those (a video finished
    /// short), or, with `resume`, the finished segments are kept in the work folder.
    Interrupted {
        /// Frames finished before the stop.
        frames: u64,
    },
}

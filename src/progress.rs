//! Progress without printing: the library sends [`Event`]s to a [`Progress`]; the binary prints
//! them as a bar or as JSON lines, the server streams them. Returning `false` asks the work to stop.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// What a count of progress counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Tiles of one still picture (summed over the model's passes).
    Tiles,
    /// Frames of one video.
    Frames,
    /// Files of a batch.
    Files,
}

/// Everything a run reports, one type for every front end. Serialised as one JSON object with
/// an `"event"` field: `{"event":"progress","done":3,"total":48,"unit":"frames"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// Work on `file` (or a batch, when `file` is none) starts; `total` units are expected:
    /// every tile of every pass of a picture, a video's frames as its container counts them, or,
    /// with `estimated`, as its duration times its frame rate makes them (the true count may
    /// differ a little; `estimated` is left out of the JSON when false).
    Start {
        /// The input file; none for a batch of files.
        file: Option<PathBuf>,
        /// Units expected, when known.
        total: Option<u64>,
        /// What is counted.
        unit: Unit,
        /// `total` is an estimate from the duration, not the container's count.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        estimated: bool,
    },
    /// `done` units are finished in all.
    Progress {
        /// Units finished so far (a running total, not an increment).
        done: u64,
        /// Units expected, when the sender knows (else the last `Start`'s).
        total: Option<u64>,
        /// What is counted.
        unit: Unit,
    },
    /// Worth knowing, not a problem (the device chosen, a job resumed).
    Note {
        /// The note, one line for a person.
        message: String,
    },
    /// Worth saying, not a failure (a damaged time range concealed).
    Warning {
        /// The warning, one line for a person.
        message: String,
        /// The file it is about; none for the current one.
        file: Option<PathBuf>,
    },
    /// `input` was written to `output`; `interrupted` when it holds only what was done before a stop.
    FileDone {
        /// The file read.
        input: PathBuf,
        /// The file written.
        output: PathBuf,
        /// The output holds only what was done before a stop.
        interrupted: bool,
    },
    /// One failure: `message` is the whole cause on one line.
    Error {
        /// The input file that failed; none when the failure is not one file's.
        file: Option<PathBuf>,
        /// The whole cause on one line ([`crate::Error::report`]).
        message: String,
    },
    /// The end of a run.
    Summary {
        /// Files written in full.
        done: usize,
        /// Files that failed.
        failed: usize,
        /// The run was stopped on request before every file was done.
        interrupted: bool,
    },
}

/// Receives the events of long-running work.
pub trait Progress: Send + Sync {
    /// One event; `false` asks the work to stop (it stops within one tile or frame).
    fn event(&self, event: &Event) -> bool;

    /// A video's frames start: `total` if known (counted by the container).
    fn start(&self, what: &Path, total: Option<u64>) -> bool {
        self.start_frames(what, total, false)
    }
    /// A video's frames start: `total` if known, `estimated` from the duration when the
    /// container does not count them.
    fn start_frames(&self, what: &Path, total: Option<u64>, estimated: bool) -> bool {
        let estimated = estimated && total.is_some();
        self.event(&Event::Start { file: Some(what.to_path_buf()), total, unit: Unit::Frames, estimated })
    }
    /// `done` frames of the video are written in all.
    fn advance(&self, done: u64) -> bool {
        self.event(&Event::Progress { done, total: None, unit: Unit::Frames })
    }
    /// A warning about the current file.
    fn warn(&self, msg: &str) {
        self.event(&Event::Warning { message: msg.to_string(), file: None });
    }
    /// A note.
    fn note(&self, msg: &str) {
        self.event(&Event::Note { message: msg.to_string() });
    }
    /// The job on `file` failed with `error` (the others go on). The default sends an
    /// [`Event::Error`] with [`Error::report`], which names settings as the library does; a
    /// front end with names of its own for them (the CLI's flags) words the line itself.
    fn failed(&self, file: &Path, error: &Error) {
        self.event(&Event::Error { file: Some(file.to_path_buf()), message: error.report() });
    }
}

/// A [`Progress`] that ignores everything and never cancels.
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _: &Event) -> bool {
        true
    }
}

/// Keeps every event (tests, and callers that want the list afterwards); never cancels.
#[derive(Default)]
pub struct Recorder(pub std::sync::Mutex<Vec<Event>>);

impl Recorder {
    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Progress for Recorder {
    fn event(&self, event: &Event) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(event.clone());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_json() {
        let e = Event::Progress { done: 3, total: Some(48), unit: Unit::Frames };
        assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"event":"progress","done":3,"total":48,"unit":"frames"}"#);
        let s = Event::Start { file: None, total: Some(9), unit: Unit::Frames, estimated: true };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"event":"start","file":null,"total":9,"unit":"frames","estimated":true}"#
        );
        let exact: Event = serde_json::from_str(r#"{"event":"start","file":null,"total":9,"unit":"tiles"}"#).unwrap();
        assert_eq!(exact, Event::Start { file: None, total: Some(9), unit: Unit::Tiles, estimated: false });
        assert!(!serde_json::to_string(&exact).unwrap().contains("estimated"));
        let back: Event = serde_json::from_str(r#"{"event":"error","file":"a.png","message":"m"}"#).unwrap();
        assert_eq!(back, Event::Error { file: Some("a.png".into()), message: "m".into() });
    }
}

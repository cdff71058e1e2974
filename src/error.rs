//! The one error type of the library: every message names the file (or model) and the cause,
//! keeps the underlying error as its source, and prints as a single `error:` line
//! ([`Error::report`]).

use std::path::{Path, PathBuf};

/// A configuration value out of its range: which field, the value given, what is allowed.
/// Front ends map `field` to their own names (the CLI to its flags, see `cli.rs`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {value}: expected {expected}")]
pub struct ConfigError {
    /// The [`crate::Config`] field (`scale`, `tile`, `video.crf`, …).
    pub field: &'static str,
    /// The value given.
    pub value: String,
    /// What is accepted.
    pub expected: String,
}

impl ConfigError {
    /// `field` (a [`crate::Config`] field) was `value`; `expected` says what is accepted.
    pub fn new(field: &'static str, value: impl std::fmt::Display, expected: impl Into<String>) -> Self {
        ConfigError { field, value: value.to_string(), expected: expected.into() }
    }
}

/// Settings that cannot go together. Front ends name the settings in their own terms (the CLI
/// by its flags, see `cli.rs`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Conflict {
    /// `setting` was given together with one of `others` (each a [`crate::Config`] field).
    #[error("{setting} cannot be combined with {}", others.join("/"))]
    Settings {
        /// The setting refused.
        setting: &'static str,
        /// The settings it cannot go with.
        others: &'static [&'static str],
    },
    /// `job plan` was asked again for an output whose work folder holds a plan.
    #[error("{}: already planned (remove the folder to plan again)", work.display())]
    Planned {
        /// The work folder holding the plan.
        work: PathBuf,
    },
    /// An engine built for one model was given a job for another.
    #[error("this engine runs model {engine}, the job asks for {job}")]
    Model {
        /// The engine's model.
        engine: String,
        /// The model the job's configuration names.
        job: String,
    },
}

/// Why a GPU that was asked for cannot be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceProblem {
    /// The loaded ONNX Runtime library has no such execution provider (the CPU build).
    NoProvider,
    /// The provider is there but a library it needs, the driver or the device is missing.
    Unavailable,
    /// Asked for something the device cannot do (int8 on a GPU).
    Unsupported,
}

/// Everything that can go wrong in `upscale`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}", path.display())]
    Io {
        /// The file (or folder) being read or written.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not an image (or video) we can read.
    #[error("{}: {msg}", path.display())]
    Decode {
        /// The input file.
        path: PathBuf,
        /// Why it cannot be read (the decoder's words).
        msg: String,
    },
    /// Writing the output failed.
    #[error("{}: cannot write: {msg}", path.display())]
    Encode {
        /// The output file.
        path: PathBuf,
        /// Why it cannot be written (the encoder's words).
        msg: String,
    },
    /// The picture is larger than the configured limit (decompression-bomb guard: the
    /// `max_pixels` setting, see [`Error::setting`]).
    #[error("{}: image is {width}x{height}, over the limit of {limit} pixels", path.display())]
    TooLarge {
        /// The input file.
        path: PathBuf,
        /// Its width in pixels, as its header says.
        width: u64,
        /// Its height in pixels, as its header says.
        height: u64,
        /// The `max_pixels` limit (width × height) it is over.
        limit: u64,
    },
    /// The output exists and overwriting was not asked for, or it would replace an input.
    #[error("{}: {msg}", path.display())]
    Output {
        /// The output path refused.
        path: PathBuf,
        /// Why (it exists, or it is the input).
        msg: String,
    },
    /// ONNX Runtime could not be loaded or initialised.
    #[error("ONNX Runtime: {msg}")]
    Runtime {
        /// What was being done, on one line.
        msg: String,
        /// ONNX Runtime's own error, when it gave one.
        #[source]
        source: Option<ort::Error>,
    },
    /// A model could not be found, loaded or run.
    #[error("model {model}: {msg}")]
    Model {
        /// The model's name (or file).
        model: String,
        /// What went wrong, or what was being done when ONNX Runtime failed.
        msg: String,
        /// ONNX Runtime's own error, when it caused this one.
        #[source]
        source: Option<ort::Error>,
    },
    /// The model ran out of memory on its device (a GPU's, or the capped arena's): the frame can
    /// be retried with smaller tiles (`model::network::retry_smaller`).
    #[error("model {model}: out of memory")]
    OutOfMemory {
        /// The model's name.
        model: String,
        /// ONNX Runtime's allocation failure.
        #[source]
        source: ort::Error,
    },
    /// An execution device (GPU) was asked for and cannot be had.
    #[error("device {device}: {msg}")]
    Device {
        /// The device asked for, as [`crate::Device`] prints it (`cuda:0`).
        device: String,
        /// Why it cannot be had, for a front end to choose its advice.
        problem: DeviceProblem,
        /// The details for a person (what is missing, what the driver said).
        msg: String,
    },
    /// A configuration value is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Settings that cannot go together (`outscale` with `width`).
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// A worker thread could not be started.
    #[error("cannot start the {what} thread")]
    Thread {
        /// The thread's job (`dispatcher`, `decoder`, …).
        what: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A front end could not start its service (listen on an address, start its workers, find
    /// a random source): nothing was started.
    #[error("cannot {what}")]
    Start {
        /// What could not be done (`listen on 127.0.0.1:8080`, …).
        what: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A video could not be read, processed or written.
    #[error("{}: {msg}", path.display())]
    Video {
        /// The video file (input or output).
        path: PathBuf,
        /// What failed, or what was being done when FFmpeg failed.
        msg: String,
        /// FFmpeg's own error, when it caused this one.
        #[cfg(feature = "video")]
        #[source]
        source: Option<ffmpeg_next::Error>,
    },
    /// An edit step cannot be done (a value out of range, a crop outside the picture, a
    /// watermark larger than it, more memory than is available).
    #[error("{}{source}", edit_prefix(path))]
    Edit {
        /// The file being edited; empty when not known (the message then names none).
        path: PathBuf,
        /// Why the edit is refused.
        #[source]
        source: EditError,
    },
    /// The work was cancelled through the progress callback before anything was written.
    #[error("cancelled")]
    Cancelled,
    /// The work would hold more memory than this process may use (`crate::budget`): refused
    /// before anything that size was allocated.
    #[error(
        "{}{what} of {width}x{height} would need {} of memory and {} is available: ask for a smaller size",
        .file.as_ref().map_or(String::new(), |f| format!("{}: ", f.display())),
        bytes(.needed),
        bytes(.available)
    )]
    Memory {
        /// The file, when known.
        file: Option<PathBuf>,
        /// What would be made ("the result", "the compare grid", "each video frame").
        what: String,
        /// Its width in pixels, as asked.
        width: u64,
        /// Its height in pixels, as asked.
        height: u64,
        /// Bytes it would hold at its peak.
        needed: u64,
        /// Bytes this process may still use (`crate::memory::available_memory`).
        available: u64,
    },
}

/// A byte count for a person: `51.5 GB (51538034700 bytes)`, `310 MB`.
fn bytes(n: &u64) -> String {
    let n = *n;
    let gb = n as f64 / 1e9;
    if gb >= 1.0 {
        format!("{gb:.1} GB ({n} bytes)")
    } else {
        format!("{:.0} MB ({n} bytes)", n as f64 / 1e6)
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), source }
    }
    pub(crate) fn decode(path: &Path, msg: impl std::fmt::Display) -> Self {
        Error::Decode { path: path.to_path_buf(), msg: msg.to_string() }
    }
    pub(crate) fn encode(path: &Path, msg: impl std::fmt::Display) -> Self {
        Error::Encode { path: path.to_path_buf(), msg: msg.to_string() }
    }
    /// A model error without an underlying ONNX Runtime error.
    pub(crate) fn model(model: impl std::fmt::Display, msg: impl std::fmt::Display) -> Self {
        Error::Model { model: model.to_string(), msg: one_line(&msg.to_string()), source: None }
    }
    /// A model error caused by ONNX Runtime: `what` was being done.
    pub(crate) fn model_ort(model: impl std::fmt::Display, what: impl std::fmt::Display, e: ort::Error) -> Self {
        Error::Model { model: model.to_string(), msg: what.to_string(), source: Some(e) }
    }
    /// ONNX Runtime failed while `what` was being done.
    pub(crate) fn runtime(what: impl std::fmt::Display, e: Option<ort::Error>) -> Self {
        Error::Runtime { msg: one_line(&what.to_string()), source: e }
    }
    #[cfg(feature = "video")]
    pub(crate) fn video(path: &Path, msg: impl std::fmt::Display) -> Self {
        Error::Video {
            path: path.to_path_buf(),
            msg: msg.to_string(),
            #[cfg(feature = "video")]
            source: None,
        }
    }
    /// A video error caused by FFmpeg: `what` was being done.
    #[cfg(feature = "video")]
    pub(crate) fn ffmpeg(path: &Path, what: impl std::fmt::Display, e: ffmpeg_next::Error) -> Self {
        Error::Video { path: path.to_path_buf(), msg: what.to_string(), source: Some(e) }
    }
    #[cfg(feature = "video")]
    pub(crate) fn thread(what: impl std::fmt::Display, source: std::io::Error) -> Self {
        Error::Thread { what: what.to_string(), source }
    }

    /// The error with `path` as its file, where it can name one and does not yet (a memory
    /// refusal found deep in the engine, which does not know the file).
    pub fn in_file(self, path: &Path) -> Self {
        match self {
            Error::Memory { file: None, what, width, height, needed, available } => {
                Error::Memory { file: Some(path.to_path_buf()), what, width, height, needed, available }
            }
            e => e,
        }
    }

    /// The [`crate::Config`] field whose value this error is about, for a front end to name in
    /// its own terms (a flag, a form field): the field out of range, or the limit a file ran
    /// into (`max_pixels`). The message itself names settings, never a front end's spelling.
    pub fn setting(&self) -> Option<&'static str> {
        match self {
            Error::Config(c) => Some(c.field),
            Error::Conflict(Conflict::Settings { setting, .. }) => Some(setting),
            Error::Conflict(Conflict::Model { .. }) => Some("model"),
            Error::TooLarge { .. } => Some("max_pixels"),
            _ => None,
        }
    }

    /// Whether the error is in the settings themselves (a value out of range, two that
    /// conflict): no retry, on any machine, can pass.
    pub fn in_settings(&self) -> bool {
        matches!(self, Error::Config(_) | Error::Conflict(_))
    }

    /// The whole error on one line: this error and every source under it, joined by ": "
    /// (a source already spelled out in the message is not repeated).
    pub fn report(&self) -> String {
        let mut out = self.to_string();
        let mut src = std::error::Error::source(self);
        while let Some(s) = src {
            let text = one_line(&s.to_string());
            if !text.is_empty() && !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            src = s.source();
        }
        one_line(&out)
    }
}

/// "`path`: " before an edit error, nothing when no file is known.
fn edit_prefix(path: &Path) -> String {
    if path.as_os_str().is_empty() {
        String::new()
    } else {
        format!("{}: edit: ", path.display())
    }
}

/// `msg` on one line: its non-blank lines, trimmed, joined with "; " (every failure is reported
/// as a single `error:` line).
pub(crate) fn one_line(msg: &str) -> String {
    msg.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

/// Why an edit is refused: a value out of range, a step that does not fit the picture, or a
/// result that would not fit in the memory this process may use (said before allocating).
/// [`Error::Edit`] carries it with the file's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// A value out of its range, or a step that does not fit the picture (a crop outside it).
    #[error("{0}")]
    Invalid(String),
    /// A watermark larger than the picture it goes on.
    #[error("the watermark ({mark_width}x{mark_height}) does not fit on the {width}x{height} picture: choose a smaller size or a shorter text")]
    MarkTooLarge {
        /// The watermark's width in pixels, at the size asked for.
        mark_width: u64,
        /// The watermark's height in pixels.
        mark_height: u64,
        /// The picture's width in pixels.
        width: u32,
        /// The picture's height in pixels.
        height: u32,
    },
    /// The step would need more memory than this process may use.
    #[error("{what} {width}x{height} needs {needed} bytes, {available} bytes are available")]
    OverBudget {
        /// The step (`resize`, `crop`, `watermark`, …).
        what: &'static str,
        /// Width in pixels of the picture it would make.
        width: u64,
        /// Height in pixels of the picture it would make.
        height: u64,
        /// Bytes it would hold.
        needed: u64,
        /// Bytes this process may use now (`memory::available_memory`).
        available: u64,
    },
    /// The watermark picture cannot be read.
    #[error("watermark picture: {0}")]
    Picture(String),
}

impl EditError {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        EditError::Invalid(msg.into())
    }
}

impl From<EditError> for Error {
    /// The edit error without a file (callers that know it put it in [`Error::Edit`]).
    fn from(source: EditError) -> Self {
        Error::Edit { path: Default::default(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_messages_become_one_line() {
        let ort = "Got invalid dimensions for input: input for the following indices\n index: 3 Got: 32 \
                   Expected: 3\n Please fix either the inputs/outputs or the model.\n";
        assert_eq!(
            one_line(ort),
            "Got invalid dimensions for input: input for the following indices; index: 3 Got: 32 Expected: 3; \
             Please fix either the inputs/outputs or the model."
        );
        assert_eq!(Error::model("m", "a\r\n\n  b").to_string(), "model m: a; b");
    }

    #[test]
    fn report_keeps_the_source() {
        let e = Error::io(Path::new("a.png"), std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(e.report(), "a.png: gone");
        let t = Error::Thread { what: "decoder".into(), source: std::io::Error::other("no memory") };
        assert_eq!(t.report(), "cannot start the decoder thread: no memory");
    }
}

//! The one error type of the library: every message names the file (or model) and the cause,
//! so the binary can print it as a single `error:` line.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in `upscale`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The file is not an image (or video) we can read.
    #[error("{}: {msg}", path.display())]
    Decode { path: PathBuf, msg: String },
    /// Writing the output failed.
    #[error("{}: cannot write: {msg}", path.display())]
    Encode { path: PathBuf, msg: String },
    /// The picture is larger than the configured limit (decompression-bomb guard).
    #[error("{}: image is {width}x{height}, over the limit of {limit} pixels (see --max-pixels)", path.display())]
    TooLarge { path: PathBuf, width: u64, height: u64, limit: u64 },
    /// The output exists and `--overwrite` was not given, or it would replace an input.
    #[error("{}: {msg}", path.display())]
    Output { path: PathBuf, msg: String },
    /// ONNX Runtime could not be loaded or initialised.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    /// A model could not be found, loaded or run.
    #[error("model {model}: {msg}")]
    Model { model: String, msg: String },
    /// The model ran out of memory on its device (a GPU's or the capped arena's): the frame can
    /// be retried with smaller tiles.
    #[error("model {model}: out of memory: {msg}")]
    OutOfMemory { model: String, msg: String },
    /// An execution device (GPU) was asked for and cannot be had.
    #[error("device {device}: {msg}")]
    Device { device: String, msg: String },
    /// A configuration value is out of range.
    #[error("{0}")]
    Config(String),
    /// A video could not be read, processed or written.
    #[error("{}: {msg}", path.display())]
    Video { path: PathBuf, msg: String },
    /// The work was cancelled through the progress callback.
    #[error("cancelled")]
    Cancelled,
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
    /// A model error; a multi-line message (ONNX Runtime's often are) is joined into one line.
    pub(crate) fn model(model: impl std::fmt::Display, msg: impl std::fmt::Display) -> Self {
        Error::Model { model: model.to_string(), msg: one_line(&msg.to_string()) }
    }
    pub(crate) fn video(path: &Path, msg: impl std::fmt::Display) -> Self {
        Error::Video { path: path.to_path_buf(), msg: msg.to_string() }
    }
}

/// `msg` on one line: its non-blank lines, trimmed, joined with "; " (every failure is reported
/// as a single `error:` line).
pub(crate) fn one_line(msg: &str) -> String {
    msg.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
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
}

//! The exit statuses of the command-line contract (docs/CLI.md, "Exit codes") and the one rule
//! that picks one for an [`Error`], a batch's [`Summary`] or a scheduler step's [`Failure`]:
//! every front end that ends a process asks here instead of keeping numbers of its own.

use crate::error::{EditError, Error};
use crate::jobs::Summary;
#[cfg(feature = "video")]
use crate::segments::worker::Failure;

/// Everything asked was written (`job run`: the segment is done, or was done before).
pub const DONE: u8 = 0;
/// Some input failed, each said on its own `error:` line (`job run`: a retry may help).
pub const FAILED: u8 = 1;
/// A usage or configuration error: nothing was started (`job run`: no retry will help).
pub const USAGE: u8 = 2;
/// Interrupted by Ctrl-C or SIGTERM; what was finished is said.
pub const INTERRUPTED: u8 = 130;

impl Error {
    /// The exit status for a run that ends with this error: [`INTERRUPTED`] when cancelled;
    /// [`USAGE`] when the settings are wrong or ask for what this machine cannot give (a model,
    /// a device, ONNX Runtime, the memory a single file's result needs), or a front end could
    /// not start: found before any work starts; [`FAILED`] otherwise. (In a batch a file's own
    /// failure is counted by the [`Summary`] instead.)
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Cancelled => INTERRUPTED,
            Error::Config(_) | Error::Conflict(_) => USAGE,
            Error::Device { .. } | Error::Model { .. } | Error::Runtime { .. } => USAGE,
            Error::Memory { .. } | Error::Start { .. } => USAGE,
            // An edit refused by the settings' check, before any file (a value out of range).
            Error::Edit { path, source: EditError::Invalid(_) } if path.as_os_str().is_empty() => USAGE,
            _ => FAILED,
        }
    }
}

impl Summary {
    /// The exit status after a batch: [`INTERRUPTED`] when it was stopped, [`FAILED`] when any
    /// input failed, else [`DONE`].
    pub fn exit_code(&self) -> u8 {
        if self.interrupted {
            INTERRUPTED
        } else if self.failed > 0 {
            FAILED
        } else {
            DONE
        }
    }
}

#[cfg(feature = "video")]
impl Failure {
    /// The exit status of a `job run` that failed so: [`USAGE`] ("failed for good") when no
    /// retry can pass, else [`FAILED`] ("a retry may help").
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Permanent(_) => USAGE,
            Failure::Retry(_) => FAILED,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::error::{ConfigError, Conflict, DeviceProblem};

    fn io() -> Error {
        Error::Io { path: PathBuf::from("a.png"), source: std::io::Error::other("gone") }
    }

    /// Every kind of error against the contract: 2 usage or configuration, 130 interrupted, 1 the rest.
    #[test]
    fn each_error_has_the_contracts_status() {
        let p = || PathBuf::from("a.png");
        let cases: Vec<(Error, u8)> = vec![
            (ConfigError::new("scale", 5, "2, 3, 4, 6 or 8").into(), USAGE),
            (Conflict::Settings { setting: "outscale", others: &["width", "height"] }.into(), USAGE),
            (Conflict::Model { engine: "a".into(), job: "b".into() }.into(), USAGE),
            (Error::Device { device: "cuda:0".into(), problem: DeviceProblem::NoProvider, msg: "no".into() }, USAGE),
            (Error::model("m", "unknown model"), USAGE),
            (Error::runtime("cannot load", None), USAGE),
            (Error::Cancelled, INTERRUPTED),
            (io(), FAILED),
            (Error::decode(&p(), "not a picture"), FAILED),
            (Error::encode(&p(), "disk full"), FAILED),
            (Error::TooLarge { path: p(), width: 9, height: 9, limit: 80 }, FAILED),
            (Error::Output { path: p(), msg: "exists".into() }, FAILED),
            (Error::Thread { what: "decoder".into(), source: std::io::Error::other("no memory") }, FAILED),
            (
                Error::Memory { file: None, what: "the result".into(), width: 9, height: 9, needed: 2, available: 1 },
                USAGE,
            ),
            (Error::Start { what: "listen on 127.0.0.1:1".into(), source: std::io::Error::other("in use") }, USAGE),
            (Conflict::Planned { work: p() }.into(), USAGE),
            (EditError::invalid("filter blur amount 99: expected 0 to 50").into(), USAGE),
            (Error::Edit { path: p(), source: EditError::invalid("crop outside the picture") }, FAILED),
        ];
        for (e, code) in cases {
            assert_eq!(e.exit_code(), code, "{e:?}");
        }
        assert_eq!((DONE, FAILED, USAGE, INTERRUPTED), (0, 1, 2, 130));
    }

    #[test]
    fn a_batch_ends_with_the_worst_that_happened() {
        let sum = |done, failed, interrupted| Summary { done, failed, interrupted };
        assert_eq!(sum(3, 0, false).exit_code(), DONE);
        assert_eq!(sum(2, 1, false).exit_code(), FAILED);
        assert_eq!(sum(2, 1, true).exit_code(), INTERRUPTED);
    }

    #[cfg(feature = "video")]
    #[test]
    fn a_job_step_says_whether_to_retry() {
        assert_eq!(Failure::from(io()).exit_code(), FAILED);
        assert_eq!(Failure::from(Error::from(ConfigError::new("tile", 3, "at least 16"))).exit_code(), USAGE);
        assert_eq!(Failure::Permanent(io()).exit_code(), USAGE);
    }
}

//! `upscale`: enlarge pictures and video with Real-ESRGAN networks on ONNX Runtime.
//!
//! One [`Engine`] loads a model family once; [`jobs::run_job`] runs a [`jobs::Job`] (an image
//! or a video file) on it and reports [`progress::Event`]s to a [`progress::Progress`]. The
//! command line, the web server and the scheduler steps are thin callers of these. The library
//! never prints: failures come back as [`Error`]s that name the file and the cause.

pub mod budget;
pub mod compare;
pub mod config;
pub mod edit;
pub mod engine;
pub mod engines;
pub mod error;
pub mod exit;
pub mod formats;
pub mod jobs;
pub mod memory;
pub mod model;
pub mod outcome;
pub mod output;
pub mod planes;
pub mod progress;
pub mod provenance;
pub mod resize;
#[cfg(feature = "video")]
pub mod segments;
pub mod still;
pub mod tile;
#[cfg(feature = "video")]
pub mod video;

pub use config::{Config, Device};
pub use engine::{Engine, Upscaler};
pub use error::{Error, Result};
pub use jobs::{run_job, Job};
pub use outcome::Outcome;
pub use planes::Planes;
pub use progress::{Event, Progress};
#[cfg(feature = "video")]
pub use segments::steps;

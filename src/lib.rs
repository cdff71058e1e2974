//! `upscale`: enlarge pictures and video with Real-ESRGAN networks on ONNX Runtime.
//!
//! One still-image core ([`core::Upscaler`]) turns an RGB picture into a larger one; image files
//! ([`still`]) and video files ([`video`]) both feed it. The library never prints: progress goes
//! through [`progress::Progress`], failures through [`Error`], each naming the file and cause.

pub mod batch;
pub mod compare;
pub mod config;
pub mod core;
pub mod error;
pub mod memory;
pub mod model;
pub mod planes;
pub mod progress;
pub mod resize;
pub mod segments;
pub mod still;
pub mod tile;
pub mod video;

pub use config::{Config, Device};
pub use core::Upscaler;
pub use error::{Error, Result};
pub use planes::Planes;

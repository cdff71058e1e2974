//! Video files: decoder thread → bounded channel → upscaler → bounded channel → encoder thread.

use std::path::Path;

use crate::config::Config;
use crate::core::Upscaler;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Upscales one video file into `output`.
pub fn upscale_file(
    input: &Path,
    _output: &Path,
    _up: &mut Upscaler,
    _cfg: &Config,
    _progress: &dyn Progress,
) -> Result<()> {
    Err(Error::video(input, "video is not supported yet"))
}

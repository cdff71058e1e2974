//! The edit step on a whole picture (colour, alpha and what it carries): after scaling on the
//! command line, or alone on a finished result for the web page's Apply. The pixel work is
//! `crate::edit::picture`'s; this adds the picture's bit depth and its file.

use std::path::Path;

use super::Picture;
use crate::config::Config;
use crate::edit::EditSpec;
use crate::error::{Error, Result};
use crate::progress::{Event, Progress, Unit};

/// Applies `spec` to `pic`, keeping what the picture carries; errors are [`Error::Edit`] naming
/// `path` (or [`Error::Cancelled`]).
pub fn edit(pic: Picture, spec: &EditSpec, path: &Path, progress: &dyn Progress) -> Result<Picture> {
    let Picture { rgb, alpha, gray, deep, meta } = pic;
    let (rgb, alpha) = crate::edit::picture::apply(rgb, alpha, spec, path, progress)?;
    Ok(Picture { rgb, alpha, gray, deep, meta })
}

/// The edit after scaling: `pic` as it will be written (rounded to the output's bit depth, so
/// that editing it here and editing the written file give the same pixels), then edited.
pub(super) fn after_scaling(pic: Picture, spec: &EditSpec, path: &Path, progress: &dyn Progress) -> Result<Picture> {
    if spec.is_empty() {
        return Ok(pic);
    }
    let stored = Picture::from_image(&pic.to_image());
    let stored = Picture { gray: pic.gray, deep: pic.deep, ..stored };
    edit(stored, spec, path, progress)
}

/// Runs `cfg.edit` alone on the still picture `bytes` (read from `input`) into `output` (no
/// model), with the events of an upscale; the caller has checked the output ([`super::edit_file`]).
pub(super) fn edit_still(
    input: &Path,
    bytes: &[u8],
    output: &Path,
    cfg: &Config,
    progress: &dyn Progress,
) -> Result<()> {
    let file = Some(input.to_path_buf());
    if !progress.event(&Event::Start { file, total: None, unit: Unit::Tiles, estimated: false }) {
        return Err(Error::Cancelled);
    }
    let pic = super::decode_from(bytes, image::ImageFormat::from_path(input).ok(), input, cfg.max_pixels)?;
    let edited = edit(pic, &cfg.edit, input, progress)?;
    super::save_with(&edited.to_image(), output, &super::Metadata::default(), cfg.quality, progress)
}

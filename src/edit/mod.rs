//! The edit step, for every front end: crop, rotate, flip, colour, resize and watermark, in that
//! order ([`EditSpec`]), on a picture's planes ([`picture`]) or as an FFmpeg filter graph between
//! the video path's decoder and encoder ([`video`]). The command line applies it after scaling
//! (`Config::edit`); the web page's Apply runs it alone on a finished result ([`run_job`]).

pub mod base64;
pub mod budget;
pub mod error;
pub mod mark;
pub mod meter;
pub mod picture;
pub mod spec;
pub mod text;
#[cfg(feature = "video")]
pub mod video;

use crate::error::{Error, Result};
use crate::jobs::{Job, Kind, Outcome};
use crate::progress::{Event, Progress, Unit};
use crate::still::{self, Picture};

pub use error::EditError;
pub use spec::{Color, Crop, Direction, EditSpec, Mark, Operation, Position, Rotation, Size, Watermark};

/// Everything about `spec` that the picture's size decides, checked without drawing or
/// allocating anything: the values, the crop inside the picture, each step's memory for a
/// picture of `channels` planes, each watermark on the picture it goes on. Returns the size of
/// the result. Front ends call it to refuse a request before queueing it.
pub fn preflight(spec: &EditSpec, (w, h): (u32, u32), channels: u64) -> Result<(u32, u32), EditError> {
    spec.check()?;
    let (ow, oh) = spec.output_size((w, h))?;
    // Each step holds its input and its result: the result is checked against what is left.
    let (cw, ch) = spec.crop.map_or((w, h), |c| (c.width, c.height));
    if spec.crop.is_some() {
        budget::check("crop", cw as u64, ch as u64, channels, 1)?;
    }
    if spec.rotate.is_some() || spec.flip_horizontal || spec.flip_vertical || spec.color.is_some() {
        budget::check("picture", cw as u64, ch as u64, channels, 1)?;
    }
    if spec.resize.is_some() {
        budget::check("resize", ow as u64, oh as u64, channels, 1)?;
    }
    for m in &spec.watermarks {
        mark::check(m, (ow, oh))?;
    }
    Ok((ow, oh))
}

/// Runs `job.settings.edit` alone on `job.input` into `job.output` (no model): a picture or a
/// video, as [`crate::jobs::run_job`] does for an upscale, with the same events.
pub fn run_job(job: &Job, progress: &dyn Progress) -> Result<Outcome> {
    let cfg = &job.settings;
    match job.kind {
        Kind::Image => {
            still::output_format(&job.output)?;
            crate::output::check(&job.input, &job.output, cfg.overwrite)?;
            let file = Some(job.input.clone());
            if !progress.event(&Event::Start { file, total: None, unit: Unit::Tiles, estimated: false }) {
                return Err(Error::Cancelled);
            }
            let pic = still::load(&job.input, cfg.max_pixels)?;
            let edited = picture::apply(pic, &cfg.edit, &job.input, progress)?;
            still::save(&edited.to_image(), &job.output)?;
            Ok(Outcome::Done)
        }
        #[cfg(feature = "video")]
        Kind::Video => video::edit_file(&job.input, &job.output, cfg, progress),
        #[cfg(not(feature = "video"))]
        Kind::Video => Err(Error::decode(&job.input, "a video, and this build has no video support (feature `video`)")),
    }
}

/// The edit after scaling: `pic` as it will be written (rounded to the output's bit depth, so
/// that editing it here and editing the written file give the same pixels), then edited.
pub fn after_scaling(
    pic: Picture,
    spec: &EditSpec,
    path: &std::path::Path,
    progress: &dyn Progress,
) -> Result<Picture> {
    if spec.is_empty() {
        return Ok(pic);
    }
    let stored = Picture::from_image(&pic.to_image());
    let stored = Picture { gray: pic.gray, deep: pic.deep, ..stored };
    picture::apply(stored, spec, path, progress)
}

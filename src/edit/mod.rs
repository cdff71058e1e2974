//! The edit step, for every front end: crop, rotate, flip, colour, filters, resize, annotations
//! and watermark, in that order ([`EditSpec`]), on a picture's planes (`picture.rs`; `still::edit` on a whole picture) or
//! as an FFmpeg filter graph between the video path's decoder and encoder (`video::edit`). The
//! command line applies it after scaling (`Config::edit`); the web page's Apply runs it alone on
//! a finished result (`jobs::run_edit`). It sits below the paths that use it: it knows planes,
//! not files, jobs or FFmpeg.

pub(crate) mod base64;
pub(crate) mod draw;
pub(crate) mod fonts;
pub(crate) mod layer;
pub(crate) mod mark;
pub(crate) mod meter;
pub(crate) mod picture;
pub(crate) mod room;
pub(crate) mod spec;
pub(crate) mod text;

pub use crate::error::EditError;
pub use spec::{
    Annotation, Color, Crop, Direction, EditSpec, FilterName, FilterStep, Mark, Operation, Outline, Position, Rgb,
    Rotation, Size, Stroke, TextNote, Watermark,
};

/// Everything about `spec` that the picture's size decides, checked without drawing or
/// allocating anything: the values, the crop inside the picture, each step's memory for a
/// picture of `channels` planes, each annotation and watermark on the picture it goes on. Returns the size of
/// the result. Front ends call it to refuse a request before queueing it.
pub fn preflight(spec: &EditSpec, (w, h): (u32, u32), channels: u64) -> Result<(u32, u32), EditError> {
    spec.check()?;
    let (ow, oh) = spec.output_size((w, h))?;
    // Each step holds its input and its result: the result is checked against what is left.
    let (cw, ch) = spec.crop.map_or((w, h), |c| (c.width, c.height));
    if spec.crop.is_some() {
        room::check("crop", cw as u64, ch as u64, channels, 1)?;
    }
    if spec.rotate.is_some() || spec.flip_horizontal || spec.flip_vertical || spec.color.is_some() {
        room::check("picture", cw as u64, ch as u64, channels, 1)?;
    }
    if !spec.filters.is_empty() {
        // A blur or sharpen holds a blurred copy and a row buffer of the picture.
        room::check("filter", cw as u64, ch as u64, channels, 2)?;
    }
    if spec.resize.is_some() {
        room::check("resize", ow as u64, oh as u64, channels, 1)?;
    }
    draw::check(&spec.annotations, (ow, oh))?;
    for m in &spec.watermarks {
        mark::check(m, (ow, oh))?;
    }
    Ok((ow, oh))
}

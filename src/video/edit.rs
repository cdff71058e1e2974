//! The edit on a video: the spec as an FFmpeg filter graph ([`super::filter`]) run on the
//! pictures between the existing decoder and encoder stages (one decode, one encode, the
//! decoder's damage policy and the encoder's codec choice: nothing of its own), and the
//! annotations and watermarks blended by the same code as for pictures. Alone (the page's Apply on a finished
//! video) or after the model in the same pipeline (the command line's `--crop` … on a video).

use std::path::Path;

use image::RgbImage;

use super::decode::Decoder;
use super::encode::{EncodeTarget, Encoder};
use super::filter::RgbFilter;
use super::items::{Picture, Pixels};
use super::stages::{FrameUpscaler, InOrder, Sink};
use super::temporal::Stabiliser;
use super::{pipeline, workers};
use crate::config::{Config, Device};
use crate::edit::draw;
use crate::edit::mark::{self, Ready};
use crate::edit::meter::Meter;
use crate::edit::{EditSpec, FilterStep, Rotation};
use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::outcome::Outcome;
use crate::output::{self, Pending};
use crate::progress::Progress;

/// The filter chain for `spec` (crop, transpose, flips, colour, scale), empty for none.
pub fn graph(spec: &EditSpec) -> String {
    let (before, after) = graphs(spec);
    [before, after].into_iter().filter(|g| !g.is_empty()).collect::<Vec<_>>().join(",")
}

/// The chains before the named filters (crop … colour) and after them (scale).
fn graphs(spec: &EditSpec) -> (String, String) {
    let mut chain = Vec::new();
    if let Some(c) = spec.crop {
        chain.push(format!("crop={}:{}:{}:{}", c.width, c.height, c.x, c.y));
    }
    match spec.rotate {
        Some(Rotation::Cw90) => chain.push("transpose=clock".into()),
        Some(Rotation::Cw180) => chain.push("hflip,vflip".into()),
        Some(Rotation::Cw270) => chain.push("transpose=cclock".into()),
        None => {}
    }
    if spec.flip_horizontal {
        chain.push("hflip".into());
    }
    if spec.flip_vertical {
        chain.push("vflip".into());
    }
    if let Some(c) = spec.color {
        // Saturation about Rec. 709 luma is linear in R, G, B: a channel mixer. Contrast about
        // mid-grey and brightness: one curve per channel. The picture path's maths, in RGB.
        let s = c.saturation as f64;
        let l = [0.2126, 0.7152, 0.0722];
        let mut m = Vec::new();
        for out in 0..3 {
            for (inp, name) in ["r", "g", "b"].iter().enumerate() {
                let v = (1.0 - s) * l[inp] + if inp == out { s } else { 0.0 };
                m.push(format!("{}{name}={v:.6}", ["r", "g", "b"][out]));
            }
        }
        chain.push(format!("colorchannelmixer={}", m.join(":")));
        let curve = format!("'clip((val/255-0.5)*{:.6}+0.5+{:.6},0,1)*255'", c.contrast, c.brightness);
        chain.push(format!("lutrgb=r={curve}:g={curve}:b={curve}"));
    }
    let after = spec.resize.map_or(String::new(), |s| format!("scale={}:{}:flags=lanczos", s.width, s.height));
    (chain.join(","), after)
}

/// The edit of one stream's pictures: the filter graph, then the watermarks. With named filters
/// the graph is cut in two around them (they run the picture path's own code on every frame).
pub struct EditStage {
    filter: Option<RgbFilter>,
    filters: Vec<FilterStep>,
    after: Option<RgbFilter>,
    marks: Vec<Ready>,
}

impl EditStage {
    /// The stage for pictures of `size`; the marks are drawn now (cancellable through `progress`).
    pub fn new(spec: &EditSpec, size: (u32, u32), path: &Path, progress: &dyn Progress) -> Result<EditStage> {
        let edit_err = |source| Error::Edit { path: path.to_path_buf(), source };
        let out = crate::edit::preflight(spec, size, 3).map_err(edit_err)?;
        let (before, after) = match spec.filters.is_empty() {
            true => (graph(spec), String::new()),
            false => graphs(spec),
        };
        let filter = (!before.is_empty()).then(|| RgbFilter::new(&before, size, path)).transpose()?;
        // The size the named filters see: after crop and rotation, before the resize.
        let mid =
            EditSpec { resize: None, watermarks: Vec::new(), ..spec.clone() }.output_size(size).map_err(edit_err)?;
        let after = (!after.is_empty()).then(|| RgbFilter::new(&after, mid, path)).transpose()?;
        let meter = Meter::new(progress, (spec.annotations.len() + spec.watermarks.len()) as u64);
        let here = |e| match e {
            Error::Edit { source, .. } => edit_err(source),
            e => e,
        };
        // The annotations (the picture path's one layer, drawn once), then the watermarks.
        let mut marks: Vec<Ready> = draw::flatten(&spec.annotations, out, &meter).map_err(here)?.into_iter().collect();
        for w in &spec.watermarks {
            marks.push(mark::prepare(w, out, &meter).map_err(here)?);
        }
        Ok(EditStage { filter, filters: spec.filters.clone(), after, marks })
    }

    fn apply(&mut self, rgb: RgbImage) -> Result<RgbImage> {
        let mut out = match self.filter.as_mut() {
            Some(f) => f.run(&rgb)?,
            None => rgb,
        };
        if !self.filters.is_empty() {
            let mut planes = crate::planes::Planes::from_buffer(&out);
            let meter = Meter::new(&crate::progress::NoProgress, self.filters.len() as u64);
            for &f in &self.filters {
                crate::edit::picture::filter(&mut planes, f, &meter)?;
            }
            out = planes.to_rgb8();
        }
        if let Some(f) = self.after.as_mut() {
            out = f.run(&out)?;
        }
        for m in &self.marks {
            m.blend_rgb8(&mut out);
        }
        Ok(out)
    }
}

impl FrameUpscaler for EditStage {
    fn upscale_frame(&mut self, rgb: &RgbImage) -> Result<RgbImage> {
        self.apply(rgb.clone())
    }
}

/// A frame upscaler followed by the edit.
struct Then<'a> {
    first: &'a mut dyn FrameUpscaler,
    edit: EditStage,
}

impl FrameUpscaler for Then<'_> {
    fn upscale_frame(&mut self, rgb: &RgbImage) -> Result<RgbImage> {
        let big = self.first.upscale_frame(rgb)?;
        self.edit.apply(big)
    }
}

/// The temporal stabiliser followed by the edit: with stabilisation on, the edit moves out of the
/// frame workers to after the stabiliser (it must see the network's pictures, not edited ones).
struct StabiliseThenEdit {
    stabiliser: Stabiliser,
    edit: EditStage,
}

impl InOrder for StabiliseThenEdit {
    fn next(&mut self, pic: Picture) -> Result<Option<Picture>> {
        let Some(pic) = self.stabiliser.next(pic)? else { return Ok(None) };
        let rgb = match pic.rgb {
            Pixels::Rgb8(p) => Pixels::Rgb8(self.edit.apply(p)?),
            Pixels::Rgb16(p) => Pixels::Rgb16(self.edit.upscale_frame16(&p)?),
        };
        Ok(Some(Picture { rgb, ..pic }))
    }
}

/// The size of the encoded video: `scaled` after `spec`.
pub(crate) fn edited_size(spec: &EditSpec, scaled: (u32, u32), path: &Path) -> Result<(u32, u32)> {
    spec.output_size(scaled).map_err(|source| Error::Edit { path: path.to_path_buf(), source })
}

/// The video pipeline with the model and then the edit in its middle stage: each frame worker
/// gets its own filter graph. `calibrate` as for the model alone. With a `stabiliser`, the edit
/// runs after it instead, in input order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pipeline_with_edit(
    input: &Path,
    dec: Decoder,
    up: &mut Upscaler<'_>,
    sink: impl Sink,
    cfg: &Config,
    calibrate: bool,
    stabiliser: Option<Stabiliser>,
    progress: &dyn Progress,
) -> Result<pipeline::Transcoded> {
    let info = dec.info().clone();
    let scaled = up.output_size(info.width, info.height);
    let yield_io = up.device() == Device::Cpu && !up.passes().is_empty();
    let mut frame_workers = up.frame_workers()?;
    if let Some(stabiliser) = stabiliser {
        let mut after = StabiliseThenEdit { stabiliser, edit: EditStage::new(&cfg.edit, scaled, input, progress)? };
        let pool = workers::Pool {
            calibrate: calibrate && !frame_workers.is_empty(),
            workers: frame_workers.iter_mut().map(|w| w as &mut dyn FrameUpscaler).collect(),
            main: up,
        };
        let depth = cfg.video.queue_depth;
        return pipeline::run(input, dec, pool, Some(&mut after), sink, depth, yield_io, progress);
    }
    let mut stages = Vec::new();
    for w in frame_workers.iter_mut() {
        stages.push(Then { first: w, edit: EditStage::new(&cfg.edit, scaled, input, progress)? });
    }
    let mut main = Then { first: up, edit: EditStage::new(&cfg.edit, scaled, input, progress)? };
    let pool = workers::Pool {
        calibrate: calibrate && !stages.is_empty(),
        workers: stages.iter_mut().map(|w| w as &mut dyn FrameUpscaler).collect(),
        main: &mut main,
    };
    pipeline::run(input, dec, pool, None, sink, cfg.video.queue_depth, yield_io, progress)
}

/// The edit alone on a video file (no model): decode → filter graph and watermarks → encode,
/// the other streams copied. A stop request removes the partial output ([`Error::Cancelled`]).
pub fn edit_file(input: &Path, output: &Path, cfg: &Config, progress: &dyn Progress) -> Result<Outcome> {
    output::check(input, output, cfg.overwrite)?;
    crate::video::init_ffmpeg(input)?;
    let mut dec = Decoder::open(input, &cfg.video)?;
    dec.limit_pixels(cfg.max_pixels)?;
    let info = dec.info().clone();
    let size = edited_size(&cfg.edit, (info.width, info.height), input)?;
    let mut stage = EditStage::new(&cfg.edit, (info.width, info.height), input, progress)?;
    // No model runs: the encoder may have every core.
    // No network ran: nothing to name (the edit is not provenance of the pixels' origin).
    let target = EncodeTarget {
        output: output.to_path_buf(),
        size,
        settings: cfg.video.clone(),
        device: Device::Auto,
        provenance: None,
    };
    let pending = Pending::new(output);
    let enc = Encoder::create(&target, pending.path(), &mut dec, progress)?;
    if !progress.start(input, info.total_frames) {
        return Err(Error::Cancelled);
    }
    let pool = workers::Pool { main: &mut stage, workers: Vec::new(), calibrate: false };
    let out = pipeline::run(input, dec, pool, None, enc, cfg.video.queue_depth, false, progress)?;
    if out.interrupted {
        return Err(Error::Cancelled);
    }
    pending.commit()?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::{Color, Crop};

    #[test]
    fn the_graph_follows_the_page_order() {
        let spec = EditSpec {
            crop: Some(Crop { x: 0, y: 0, width: 64, height: 32 }),
            rotate: Some(Rotation::Cw90),
            flip_vertical: true,
            ..EditSpec::default()
        };
        assert_eq!(graph(&spec), "crop=64:32:0:0,transpose=clock,vflip");
        assert_eq!(graph(&EditSpec::default()), "");
    }

    #[test]
    fn colour_in_the_graph_matches_the_picture_maths() {
        let c = Color { brightness: 0.1, contrast: 1.2, saturation: 0.7 };
        let spec = EditSpec { color: Some(c), ..EditSpec::default() };
        let img = RgbImage::from_fn(16, 8, |x, y| image::Rgb([(x * 16) as u8, (y * 30) as u8, 200]));
        let mut stage = EditStage::new(&spec, (16, 8), Path::new("t"), &crate::progress::NoProgress).unwrap();
        let got = stage.upscale_frame(&img).unwrap();
        let pic = crate::still::Picture::from_image(&image::DynamicImage::ImageRgb8(img));
        let want =
            crate::still::edit(pic, &spec, Path::new("t"), &crate::progress::NoProgress).unwrap().to_image().to_rgb8();
        for (a, b) in got.as_raw().iter().zip(want.as_raw()) {
            assert!((*a as i32 - *b as i32).abs() <= 2, "{a} vs {b}");
        }
    }
}

//! `upscale compare`: the input (or a region of it) enlarged by several networks and, when
//! asked, by nearest, bicubic and Lanczos, side by side and labelled, in one picture: networks
//! against each other and against traditional interpolation at a glance, before a full run.

use image::{Rgb, RgbImage};

use crate::edit::mark::Ready;
use crate::edit::meter::Meter;
use crate::edit::text;
use crate::progress::NoProgress;

use std::path::{Path, PathBuf};

use crate::config::{Config, Kind};
use crate::engines::Engines;
use crate::error::{ConfigError, Result};
use crate::planes::Planes;
use crate::progress::{Event, Progress, Unit};
use crate::resize::{self, Filter};

/// Label text size (px to the em).
const LABEL_SIZE: u32 = 16;
/// The height of the strip above each panel that holds its label (docs/CLI.md states it).
pub const STRIP: u32 = LABEL_SIZE * 5 / 4 + 4;
/// The gap between panels (docs/CLI.md states it).
pub const GAP: u32 = 4;

/// What a comparison shows: the networks side by side, on the whole picture or a region of it,
/// with or without the classic resizers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompareSpec {
    /// The networks, one panel each, in order (names as [`Config::model`] takes them); empty:
    /// the configuration's own network (the picture default when it names none).
    pub models: Vec<String>,
    /// The rectangle `(x, y, width, height)` of the input compared, in input pixels; none for the
    /// whole picture. A region previews networks on a detail in a fraction of a full run's time.
    pub region: Option<(u32, u32, u32, u32)>,
    /// The classic resizers (nearest, bicubic, Lanczos) first. Always shown with a single network.
    pub classic: bool,
}

impl CompareSpec {
    /// The most networks one grid holds.
    pub const MAX_MODELS: usize = 8;

    /// Whether the classic resizers are shown: asked, or a single network compared.
    pub fn shows_classic(&self) -> bool {
        self.classic || self.models.len() <= 1
    }

    /// The configurations of the networks compared: `cfg` with each network named.
    fn configs(&self, cfg: &Config) -> Result<Vec<Config>> {
        if self.models.len() > Self::MAX_MODELS {
            let n = self.models.len();
            return Err(ConfigError::new("model", n, format!("1 to {} networks to compare", Self::MAX_MODELS)).into());
        }
        if self.models.is_empty() {
            return Ok(vec![cfg.for_kind(Kind::Image)]);
        }
        let cfgs: Vec<Config> = self
            .models
            .iter()
            .map(|m| Config { model: Some(m.clone()), ..cfg.clone() }.for_kind(Kind::Image))
            .collect();
        for c in &cfgs {
            c.validate()?;
        }
        Ok(cfgs)
    }

    /// A configuration error naming the region, the picture's size and `file` (when known)
    /// unless the region lies inside a `width`×`height` picture.
    pub fn check_region(&self, (width, height): (u32, u32), file: Option<&Path>) -> Result<()> {
        let Some((x, y, w, h)) = self.region else { return Ok(()) };
        let inside = w > 0 && h > 0 && x as u64 + w as u64 <= width as u64 && y as u64 + h as u64 <= height as u64;
        if inside {
            return Ok(());
        }
        let of = file.map_or(String::new(), |f| format!(" {}", f.display()));
        let expected = format!("a rectangle X,Y,W,H of at least 1x1 inside the {width}x{height} picture{of}");
        Err(ConfigError::new("region", format!("{x},{y},{w},{h}"), expected).into())
    }

    /// The region's picture: `rgb` cut to the region (checked to lie inside it), or all of it.
    pub fn cut(&self, rgb: &Planes) -> Result<Planes> {
        let Some((x, y, w, h)) = self.region else { return Ok(rgb.clone()) };
        self.check_region((rgb.width, rgb.height), None)?;
        let mut out = Planes::try_new(w, h, rgb.channels)?;
        for c in 0..rgb.channels {
            let (src, dst) = (rgb.plane(c), out.plane_mut(c));
            for row in 0..h as usize {
                let from = (y as usize + row) * rgb.width as usize + x as usize;
                dst[row * w as usize..(row + 1) * w as usize].copy_from_slice(&src[from..from + w as usize]);
            }
        }
        Ok(out)
    }
}

/// `upscale compare`: the grid for the picture file `input` written to `output` (default
/// `<stem>_compare.png` beside it), with the configuration's network (the picture default when
/// it names none) against the classic resizers. [`compare_models`] with the default spec.
pub fn compare_file(input: &Path, output: Option<&Path>, cfg: &Config, progress: &dyn Progress) -> Result<PathBuf> {
    compare_models(input, output, cfg, &CompareSpec::default(), progress)
}

/// `upscale compare -m A,B,C [--region X,Y,W,H]`: the grid of `spec` for the picture file
/// `input` written to `output` (default `<stem>_compare.png` beside it). The output's name,
/// overwriting, the networks' names and the region are checked before any model loads; the
/// devices chosen are said to `progress`. Returns the path written.
pub fn compare_models(
    input: &Path,
    output: Option<&Path>,
    cfg: &Config,
    spec: &CompareSpec,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let output = output.map_or_else(|| default_output(input), Path::to_path_buf);
    crate::still::output_format(&output)?;
    crate::output::check(input, &output, cfg.overwrite)?;
    spec.configs(cfg)?;
    let pic = crate::still::load(input, cfg.max_pixels)?;
    spec.check_region((pic.rgb.width, pic.rgb.height), Some(input))?;
    let grid = compare_picture(&pic.rgb, cfg, spec, &Engines::new(), progress).map_err(|e| e.in_file(input))?;
    crate::still::save(&image::DynamicImage::ImageRgb8(grid), &output)?;
    Ok(output)
}

/// The grid of `spec` for the RGB picture `rgb`, each network's engine taken from `engines`
/// (loaded there on first use): the front ends' one way to compare, the page's included. The
/// memory of the whole grid is checked before any network runs.
pub fn compare_picture(
    rgb: &Planes,
    cfg: &Config,
    spec: &CompareSpec,
    engines: &Engines,
    progress: &dyn Progress,
) -> Result<RgbImage> {
    let cfgs = spec.configs(cfg)?;
    let part = spec.cut(rgb)?;
    let mut ups = Vec::new();
    for c in &cfgs {
        ups.push((c, engines.get(c, progress)?));
    }
    let mut panels: Vec<(String, Planes)> = Vec::new();
    let mut size = None;
    let mut need = 0u64;
    let count = (cfgs.len() + if spec.shows_classic() { 3 } else { 0 }) as u64;
    for (c, engine) in &ups {
        let up = engine.upscaler(c)?;
        let (w, h) = up.output_size(part.width, part.height);
        size.get_or_insert((w, h));
        need = need.max(crate::budget::grid((part.width, part.height), &up.passes(), (w, h), count));
    }
    let Some((w, h)) = size else { return Err(ConfigError::new("model", "none", "a network to compare").into()) };
    let n = count as u32;
    let grid_size = (n as u64 * w as u64 + (n as u64 - 1) * GAP as u64, (h + STRIP) as u64);
    crate::budget::check("the compare grid", grid_size, need)?;
    if spec.shows_classic() {
        for f in [Filter::Nearest, Filter::Bicubic, Filter::Lanczos] {
            panels.push((f.name().to_string(), resize::resize(&part, w, h, f)));
        }
    }
    for (c, engine) in &ups {
        let name = c.model_name();
        let label = Path::new(name).file_stem().map_or(name.to_string(), |s| s.to_string_lossy().into_owned());
        let out = engine.upscaler(c)?.upscale_with(&part, &NoProgress)?;
        // Every network is asked the same size; a panel of another size is made to fit.
        let out = if (out.width, out.height) == (w, h) { out } else { resize::resize(&out, w, h, Filter::Lanczos) };
        panels.push((label, out));
        if !progress.event(&Event::Progress { done: panels.len() as u64, total: Some(count), unit: Unit::Files }) {
            return Err(crate::error::Error::Cancelled);
        }
    }
    Ok(layout(&panels, (w, h)))
}

/// `<stem>_compare.png` beside `input`.
fn default_output(input: &Path) -> PathBuf {
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    input.with_file_name(format!("{stem}_compare.png"))
}

/// The panels (each `w`×`h`) in a row, `GAP` pixels apart, each under a `STRIP` holding its label.
fn layout(panels: &[(String, Planes)], (w, h): (u32, u32)) -> RgbImage {
    let n = panels.len() as u32;
    let mut out = RgbImage::from_pixel(n * w + (n - 1) * GAP, h + STRIP, Rgb([24, 24, 24]));
    for (i, (label, p)) in panels.iter().enumerate() {
        let x0 = i as u32 * (w + GAP);
        image::imageops::replace(&mut out, &p.to_rgb8(), x0 as i64, STRIP as i64);
        draw_text(&mut out, x0 + 4, 2, label, w.saturating_sub(8));
    }
    out
}

/// Draws `text` in white (the watermark's font and outline), cut to `max_w` pixels.
fn draw_text(img: &mut RgbImage, x: u32, y: u32, text: &str, max_w: u32) {
    let mut label: String = text.to_string();
    while !label.is_empty() && text::measure(&label, LABEL_SIZE).map_or(true, |(w, _)| w > max_w as u64) {
        label.pop();
    }
    if label.is_empty() {
        return;
    }
    let meter = Meter::new(&NoProgress, 1);
    if let Ok(planes) = text::render(&label, LABEL_SIZE, &meter) {
        Ready { planes, x: x as i64, y: y as i64 }.blend_rgb8(img);
    }
}

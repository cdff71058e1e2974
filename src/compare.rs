//! `upscale compare`: the input enlarged by nearest, bicubic, Lanczos and the model, side by
//! side and labelled, in one picture: traditional interpolation against the network at a glance.

use image::{Rgb, RgbImage};

use crate::edit::mark::Ready;
use crate::edit::meter::Meter;
use crate::edit::text;
use crate::progress::NoProgress;

use std::path::{Path, PathBuf};

use crate::config::{Config, Kind};
use crate::engine::{Engine, Upscaler};
use crate::error::Result;
use crate::planes::Planes;
use crate::progress::Progress;
use crate::resize::{self, Filter};

/// Label text size (px to the em) and the height of the strip above each panel that holds it.
const LABEL_SIZE: u32 = 16;
const STRIP: u32 = LABEL_SIZE * 5 / 4 + 4;
const GAP: u32 = 4;

/// `upscale compare`: the grid for the picture file `input` written to `output` (default
/// `<stem>_compare.png` beside it), on an engine loaded for `cfg` with the picture default when
/// it names no network. The output's name and overwriting are checked before the model loads;
/// the device chosen is said to `progress`. Returns the path written.
pub fn compare_file(input: &Path, output: Option<&Path>, cfg: &Config, progress: &dyn Progress) -> Result<PathBuf> {
    let cfg = cfg.for_kind(Kind::Image);
    let output = output.map_or_else(|| default_output(input), Path::to_path_buf);
    crate::still::output_format(&output)?;
    crate::output::check(input, &output, cfg.overwrite)?;
    let engine = Engine::new(&cfg)?;
    if let Some(n) = engine.device_note() {
        progress.note(&format!("device {n}"));
    }
    let name = cfg.model_name();
    let label = Path::new(name).file_stem().map_or(name.to_string(), |s| s.to_string_lossy().into_owned());
    let pic = crate::still::load(input, cfg.max_pixels)?;
    let grid = grid(&pic.rgb, &mut engine.upscaler(&cfg)?, &label).map_err(|e| e.in_file(input))?;
    crate::still::save(&image::DynamicImage::ImageRgb8(grid), &output)?;
    Ok(output)
}

/// `<stem>_compare.png` beside `input`.
fn default_output(input: &Path) -> PathBuf {
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    input.with_file_name(format!("{stem}_compare.png"))
}

/// Builds the grid for an RGB picture: panels of the same size, each under its label.
pub fn grid(rgb: &Planes, up: &mut Upscaler, model_name: &str) -> Result<RgbImage> {
    let (w, h) = up.output_size(rgb.width, rgb.height);
    let need = crate::budget::grid((rgb.width, rgb.height), &up.passes(), (w, h), 4);
    crate::budget::check("the compare grid", (4 * w as u64 + 3 * GAP as u64, (h + STRIP) as u64), need)?;
    let model = up.upscale(rgb)?;
    let (w, h) = (model.width, model.height);
    let mut panels: Vec<(String, Planes)> = [Filter::Nearest, Filter::Bicubic, Filter::Lanczos]
        .iter()
        .map(|f| (f.name().to_string(), resize::resize(rgb, w, h, *f)))
        .collect();
    panels.push((model_name.to_string(), model));
    let n = panels.len() as u32;
    let mut out = RgbImage::from_pixel(n * w + (n - 1) * GAP, h + STRIP, Rgb([24, 24, 24]));
    for (i, (label, p)) in panels.iter().enumerate() {
        let x0 = i as u32 * (w + GAP);
        image::imageops::replace(&mut out, &p.to_rgb8(), x0 as i64, STRIP as i64);
        draw_text(&mut out, x0 + 4, 2, label, w.saturating_sub(8));
    }
    Ok(out)
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

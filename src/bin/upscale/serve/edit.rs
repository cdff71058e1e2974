//! The edit step: operations the page previews on a canvas, replayed here on the
//! full-resolution result: pictures with the `image` crate, videos through FFmpeg's filters
//! (crop, transpose, hflip/vflip, eq, scale, overlay; the graph is made here and run by
//! `video_edit.rs`).

use std::path::{Path, PathBuf};

use image::{DynamicImage, Rgba, RgbaImage};
use serde::Deserialize;
use upscale::progress::{Event, Progress, Unit};
use upscale::{still, Error, Result};

use super::jobs::{Job, Media};

/// One edit, applied in list order. Coordinates are in pixels of the picture as it is when
/// the operation comes (after the operations before it).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum Operation {
    /// Keep the rectangle `width`×`height` at (`x`, `y`).
    Crop { x: u32, y: u32, width: u32, height: u32 },
    /// Turn clockwise by 90, 180 or 270 degrees.
    Rotate { degrees: u32 },
    /// Mirror: `horizontal` (left↔right) or `vertical` (top↔bottom).
    Flip { direction: Direction },
    /// Colour: brightness added (-1…1, 0 = as is), contrast and saturation factors (0…3, 1 = as is).
    Adjust {
        #[serde(default)]
        brightness: f32,
        #[serde(default = "one")]
        contrast: f32,
        #[serde(default = "one")]
        saturation: f32,
    },
    /// Set exact dimensions (Lanczos).
    Resize { width: u32, height: u32 },
    /// A line of `text`, or a picture (`image`: a PNG/JPEG/WebP as base64 or a `data:` URL),
    /// in a corner or the centre: `size` is the height in pixels (default: 1/20 of the shorter
    /// side for text, 1/8 for a picture), `opacity` 0…1 (default 0.8).
    Watermark {
        #[serde(default)]
        text: String,
        #[serde(default)]
        image: Option<String>,
        #[serde(default)]
        position: Position,
        #[serde(default)]
        size: Option<u32>,
        #[serde(default)]
        opacity: Option<f32>,
    },
}

fn one() -> f32 {
    1.0
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Horizontal,
    Vertical,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    #[default]
    BottomRight,
    BottomLeft,
    TopLeft,
    TopRight,
    Center,
}

/// The request body of `POST /api/jobs/{id}/edit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    pub operations: Vec<Operation>,
}

/// Largest watermark text, in characters.
const MAX_TEXT: usize = 200;

/// Checks the operations against a `w`×`h` picture (and `max_pixels`), returning the final size.
pub fn validate(ops: &[Operation], (mut w, mut h): (u32, u32), max_pixels: u64) -> Result<(u32, u32), String> {
    let bad = |m: String| Err(m);
    if ops.is_empty() {
        return bad("no operations".into());
    }
    if ops.len() > 32 {
        return bad("at most 32 operations".into());
    }
    for (i, op) in ops.iter().enumerate() {
        match *op {
            Operation::Crop { x, y, width, height } => {
                if width == 0
                    || height == 0
                    || x as u64 + width as u64 > w as u64
                    || y as u64 + height as u64 > h as u64
                {
                    return bad(format!(
                        "operation {i}: crop {width}x{height} at {x},{y} is not inside the {w}x{h} picture"
                    ));
                }
                (w, h) = (width, height);
            }
            Operation::Rotate { degrees: 90 | 270 } => (w, h) = (h, w),
            Operation::Rotate { degrees: 180 } => {}
            Operation::Rotate { degrees } => {
                return bad(format!("operation {i}: rotate {degrees}: expected 90, 180 or 270"))
            }
            Operation::Flip { .. } => {}
            Operation::Adjust { brightness, contrast, saturation } => {
                if !(-1.0..=1.0).contains(&brightness)
                    || !(0.0..=3.0).contains(&contrast)
                    || !(0.0..=3.0).contains(&saturation)
                {
                    return bad(format!(
                        "operation {i}: adjust: brightness must be in -1..1, contrast and saturation in 0..3"
                    ));
                }
            }
            Operation::Resize { width, height } => {
                if width == 0 || height == 0 || width as u64 * height as u64 > max_pixels {
                    return bad(format!(
                        "operation {i}: resize {width}x{height}: empty or over the limit of {max_pixels} pixels"
                    ));
                }
                (w, h) = (width, height);
            }
            Operation::Watermark { ref text, ref image, size, opacity, .. } => {
                match image {
                    Some(_) if !text.is_empty() => {
                        return bad(format!("operation {i}: a watermark is text or image, not both"))
                    }
                    Some(data) => {
                        logo(data).map_err(|e| format!("operation {i}: watermark image: {e}"))?;
                    }
                    None if text.is_empty() || text.chars().count() > MAX_TEXT => {
                        return bad(format!("operation {i}: watermark text must have 1 to {MAX_TEXT} characters"));
                    }
                    None => {}
                }
                if size.is_some_and(|s| s == 0 || s > 4096) || opacity.is_some_and(|o| !(0.0..=1.0).contains(&o)) {
                    return bad(format!("operation {i}: watermark size must be 1..4096, opacity 0..1"));
                }
            }
        }
    }
    Ok((w, h))
}

/// Replays `ops` on the job's input (a copy of the source result) into its output.
pub fn apply(job: &Job, ops: &[Operation], progress: &dyn Progress) -> Result<()> {
    match job.media {
        Media::Image => {
            if !progress.event(&Event::Start {
                file: Some(job.input.clone()),
                total: Some(1),
                unit: Unit::Files,
                estimated: false,
            }) {
                return Err(Error::Cancelled);
            }
            let mut img = image::ImageReader::open(&job.input)
                .and_then(|r| r.with_guessed_format())
                .map_err(|e| Error::Decode { path: job.input.clone(), msg: e.to_string() })?
                .decode()
                .map_err(|e| Error::Decode { path: job.input.clone(), msg: e.to_string() })?;
            for op in ops {
                img = apply_image(img, op).map_err(|msg| Error::Decode { path: job.input.clone(), msg })?;
            }
            still::save(&img, &job.output)?;
            progress.event(&Event::Progress { done: 1, total: Some(1), unit: Unit::Files });
            Ok(())
        }
        Media::Video => super::video_edit::apply(job, ops, progress),
    }
}

/// One operation on a picture.
pub fn apply_image(img: DynamicImage, op: &Operation) -> Result<DynamicImage, String> {
    Ok(match *op {
        Operation::Crop { x, y, width, height } => img.crop_imm(x, y, width, height),
        Operation::Rotate { degrees: 90 } => img.rotate90(),
        Operation::Rotate { degrees: 180 } => img.rotate180(),
        Operation::Rotate { .. } => img.rotate270(),
        Operation::Flip { direction: Direction::Horizontal } => img.fliph(),
        Operation::Flip { direction: Direction::Vertical } => img.flipv(),
        Operation::Adjust { brightness, contrast, saturation } => adjust(img, brightness, contrast, saturation),
        Operation::Resize { width, height } => img.resize_exact(width, height, image::imageops::FilterType::Lanczos3),
        Operation::Watermark { ref text, ref image, position, size, opacity } => {
            let mut rgba = img.to_rgba8();
            let (w, h) = rgba.dimensions();
            let mark = mark(text, image.as_deref(), size, (w, h))?;
            let (x, y) = place(position, (w, h), mark.dimensions());
            blend(&mut rgba, &mark, x, y, opacity.unwrap_or(0.8));
            keep_kind(&img, DynamicImage::ImageRgba8(rgba))
        }
    })
}

/// The watermark for a `w`×`h` picture: the text rendered, or the picture scaled to `size`
/// pixels high (default 1/8 of the shorter side), aspect kept.
fn mark(text: &str, image: Option<&str>, size: Option<u32>, (w, h): (u32, u32)) -> Result<RgbaImage, String> {
    let Some(data) = image else {
        return Ok(render_text(text, glyph_size(size, w, h)));
    };
    let logo = logo(data)?;
    let mh = size.unwrap_or(w.min(h) / 8).max(1);
    let mw = ((logo.width() as u64 * mh as u64) / logo.height().max(1) as u64).clamp(1, 16384) as u32;
    Ok(logo.resize_exact(mw, mh, image::imageops::FilterType::Lanczos3).to_rgba8())
}

/// Largest watermark picture accepted, in pixels.
const MAX_LOGO_PIXELS: u64 = 4096 * 4096;

/// A watermark picture from base64 or a `data:` URL (PNG, JPEG or WebP), size checked first.
fn logo(data: &str) -> Result<DynamicImage, String> {
    let b64 = data.split_once(";base64,").map_or(data, |(_, b)| b);
    let bytes = base64(b64).ok_or("not valid base64")?;
    let reader =
        image::ImageReader::new(std::io::Cursor::new(&bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    if !matches!(reader.format(), Some(image::ImageFormat::Png | image::ImageFormat::Jpeg | image::ImageFormat::WebP)) {
        return Err("expected a PNG, JPEG or WebP picture".into());
    }
    let (lw, lh) = reader.into_dimensions().map_err(|e| e.to_string())?;
    if lw as u64 * lh as u64 > MAX_LOGO_PIXELS {
        return Err(format!("{lw}x{lh} is over the limit of {MAX_LOGO_PIXELS} pixels"));
    }
    image::load_from_memory(&bytes).map_err(|e| e.to_string())
}

/// Standard base64 (padding and whitespace allowed).
fn base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// `new` in the colour layout of `old` (no alpha added to a picture without one).
fn keep_kind(old: &DynamicImage, new: DynamicImage) -> DynamicImage {
    if old.color().has_alpha() {
        new
    } else {
        DynamicImage::ImageRgb8(new.to_rgb8())
    }
}

/// Brightness, contrast (about mid-grey) and saturation (about Rec. 709 luma), as the page's
/// canvas preview does.
fn adjust(img: DynamicImage, b: f32, c: f32, s: f32) -> DynamicImage {
    let mut px = img.to_rgba32f();
    for p in px.pixels_mut() {
        let [r, g, bl, _] = p.0;
        let l = 0.2126 * r + 0.7152 * g + 0.0722 * bl;
        for v in &mut p.0[..3] {
            let sat = l + (*v - l) * s;
            *v = ((sat - 0.5) * c + 0.5 + b).clamp(0.0, 1.0);
        }
    }
    let out = DynamicImage::ImageRgba32F(px);
    match (img.color().has_alpha(), matches!(img, DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgba16(_))) {
        (true, true) => DynamicImage::ImageRgba16(out.to_rgba16()),
        (false, true) => DynamicImage::ImageRgb16(out.to_rgb16()),
        (true, false) => DynamicImage::ImageRgba8(out.to_rgba8()),
        (false, false) => DynamicImage::ImageRgb8(out.to_rgb8()),
    }
}

/// Glyph height: asked, or 1/20 of the shorter side, at least 8.
fn glyph_size(size: Option<u32>, w: u32, h: u32) -> u32 {
    size.unwrap_or((w.min(h) / 20).max(8))
}

/// The text in the 8×8 bitmap font, scaled to `size` pixels a glyph: white with a dark outline,
/// transparent elsewhere.
pub fn render_text(text: &str, size: u32) -> RgbaImage {
    use font8x8::UnicodeFonts;
    let k = (size / 8).max(1);
    let chars: Vec<char> = text.chars().collect();
    let pad = k;
    let (w, h) = (chars.len() as u32 * 8 * k + 2 * pad, 8 * k + 2 * pad);
    let mut ink = vec![false; (w * h) as usize];
    for (i, c) in chars.iter().enumerate() {
        let glyph = font8x8::BASIC_FONTS.get(*c).or_else(|| font8x8::BASIC_FONTS.get('?')).unwrap_or([0; 8]);
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8u32 {
                if bits >> col & 1 == 1 {
                    for dy in 0..k {
                        for dx in 0..k {
                            let x = pad + (i as u32 * 8 + col) * k + dx;
                            let y = pad + row as u32 * k + dy;
                            ink[(y * w + x) as usize] = true;
                        }
                    }
                }
            }
        }
    }
    let mut img = RgbaImage::new(w, h);
    let r = pad as i64;
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let at =
                |x: i64, y: i64| x >= 0 && y >= 0 && x < w as i64 && y < h as i64 && ink[(y * w as i64 + x) as usize];
            if at(x, y) {
                img.put_pixel(x as u32, y as u32, Rgba([255, 255, 255, 255]));
            } else if (-r..=r).any(|dy| (-r..=r).any(|dx| at(x + dx, y + dy))) {
                img.put_pixel(x as u32, y as u32, Rgba([0, 0, 0, 160]));
            }
        }
    }
    img
}

/// Where a mark of `m` goes on a picture of `p`, a margin from the edges.
fn place(pos: Position, p: (u32, u32), m: (u32, u32)) -> (i64, i64) {
    let margin = (p.0.min(p.1) / 40) as i64;
    let (pw, ph, mw, mh) = (p.0 as i64, p.1 as i64, m.0 as i64, m.1 as i64);
    match pos {
        Position::TopLeft => (margin, margin),
        Position::TopRight => (pw - mw - margin, margin),
        Position::BottomLeft => (margin, ph - mh - margin),
        Position::BottomRight => (pw - mw - margin, ph - mh - margin),
        Position::Center => ((pw - mw) / 2, (ph - mh) / 2),
    }
}

/// Draws `mark` over `base` at (`x`, `y`) with `opacity`, clipped to the picture.
fn blend(base: &mut RgbaImage, mark: &RgbaImage, x: i64, y: i64, opacity: f32) {
    for (mx, my, m) in mark.enumerate_pixels() {
        let (bx, by) = (x + mx as i64, y + my as i64);
        if bx < 0 || by < 0 || bx >= base.width() as i64 || by >= base.height() as i64 {
            continue;
        }
        let a = m.0[3] as f32 / 255.0 * opacity;
        let p = base.get_pixel_mut(bx as u32, by as u32);
        for c in 0..3 {
            p.0[c] = (p.0[c] as f32 * (1.0 - a) + m.0[c] as f32 * a).round() as u8;
        }
    }
}

/// Width and height of a video file's picture.
pub fn video_size(path: &Path) -> Option<(u32, u32)> {
    let r = upscale::video::probe::scan(path, 0, u64::MAX).ok()?;
    Some((r.width, r.height))
}

/// The FFmpeg filter graph for `ops` on a `w`×`h` video (input `[0:v]`), the watermark
/// pictures it overlays (inputs `[1:v]`, `[2:v]`…, written into `dir`), and the final size.
pub fn filter_graph(
    ops: &[Operation],
    (mut w, mut h): (u32, u32),
    dir: &Path,
) -> Result<(String, Vec<PathBuf>, (u32, u32))> {
    let mut chain: Vec<String> = Vec::new();
    let mut marks = Vec::new();
    let mut graph = String::new();
    let mut label = "0:v".to_string();
    let flush = |chain: &mut Vec<String>, graph: &mut String, label: &mut String, n: usize| {
        let next = format!("v{n}");
        let body = if chain.is_empty() { "null".to_string() } else { chain.join(",") };
        graph.push_str(&format!("[{label}]{body}[{next}];"));
        chain.clear();
        *label = next;
    };
    for (i, op) in ops.iter().enumerate() {
        match *op {
            Operation::Crop { x, y, width, height } => {
                chain.push(format!("crop={width}:{height}:{x}:{y}"));
                (w, h) = (width, height);
            }
            Operation::Rotate { degrees: 90 } => {
                chain.push("transpose=clock".into());
                (w, h) = (h, w);
            }
            Operation::Rotate { degrees: 180 } => chain.push("hflip,vflip".into()),
            Operation::Rotate { .. } => {
                chain.push("transpose=cclock".into());
                (w, h) = (h, w);
            }
            Operation::Flip { direction: Direction::Horizontal } => chain.push("hflip".into()),
            Operation::Flip { direction: Direction::Vertical } => chain.push("vflip".into()),
            Operation::Adjust { brightness, contrast, saturation } => {
                chain.push(format!("eq=brightness={brightness}:contrast={contrast}:saturation={saturation}"))
            }
            Operation::Resize { width, height } => {
                chain.push(format!("scale={width}:{height}:flags=lanczos"));
                (w, h) = (width, height);
            }
            Operation::Watermark { ref text, ref image, position, size, opacity } => {
                let mut mark = mark(text, image.as_deref(), size, (w, h))
                    .map_err(|msg| Error::Decode { path: dir.join("watermark"), msg })?;
                let o = opacity.unwrap_or(0.8);
                for p in mark.pixels_mut() {
                    p.0[3] = (p.0[3] as f32 * o).round() as u8;
                }
                let (x, y) = place(position, (w, h), mark.dimensions());
                let file = dir.join(format!("mark{i}.png"));
                mark.save(&file).map_err(|e| Error::Encode { path: file.clone(), msg: e.to_string() })?;
                marks.push(file);
                flush(&mut chain, &mut graph, &mut label, i);
                let next = format!("w{i}");
                graph.push_str(&format!("[{label}][{}:v]overlay={x}:{y}[{next}];", marks.len()));
                label = next;
            }
        }
    }
    // Even sizes for 4:2:0 encoders.
    chain.push("scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p".into());
    flush(&mut chain, &mut graph, &mut label, ops.len());
    graph.pop();
    Ok((graph, marks, (w / 2 * 2, h / 2 * 2)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::GenericImageView;

    #[test]
    fn sizes_follow_the_operations() {
        let ops = vec![
            Operation::Crop { x: 10, y: 0, width: 100, height: 50 },
            Operation::Rotate { degrees: 90 },
            Operation::Resize { width: 30, height: 60 },
        ];
        assert_eq!(validate(&ops, (200, 100), 1 << 20).unwrap(), (30, 60));
        let outside = [Operation::Crop { x: 150, y: 0, width: 100, height: 50 }];
        assert!(validate(&outside, (200, 100), 1 << 20).is_err());
        assert!(validate(&[Operation::Rotate { degrees: 45 }], (2, 2), 1 << 20).is_err());
    }

    #[test]
    fn rotation_turns_clockwise() {
        let mut img = RgbaImage::new(2, 1);
        img.put_pixel(0, 0, Rgba([255, 0, 0, 255]));
        let out = apply_image(DynamicImage::ImageRgba8(img), &Operation::Rotate { degrees: 90 }).unwrap();
        assert_eq!(out.dimensions(), (1, 2));
        assert_eq!(out.get_pixel(0, 0), Rgba([255, 0, 0, 255]));
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64("aGVsbG8h").unwrap(), b"hello!");
        assert!(base64("a*b").is_none());
    }

    #[test]
    fn the_video_graph_chains_filters() {
        let ops = vec![Operation::Crop { x: 0, y: 0, width: 64, height: 32 }, Operation::Rotate { degrees: 90 }];
        let (g, marks, size) = filter_graph(&ops, (128, 64), Path::new("/nonexistent")).unwrap();
        assert!(marks.is_empty());
        assert_eq!(size, (32, 64));
        assert_eq!(g, "[0:v]crop=64:32:0:0,transpose=clock,scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p[v2]");
    }
}

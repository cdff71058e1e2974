//! A watermark made ready for one picture size: the text drawn or the picture decoded and
//! scaled (sizes checked before anything is drawn: a mark must fit on the picture), its
//! opacity applied, its place found; then blended over planes (pictures) or RGB frames (video).

use image::RgbImage;

use super::meter::Meter;
use super::spec::{Mark, Position, Watermark};
use super::{room, text};
use crate::error::EditError;
use crate::error::Result;
use crate::planes::Planes;
use crate::resize::{self, Filter};

/// Largest watermark picture accepted, in pixels.
const MAX_LOGO_PIXELS: u64 = 4096 * 4096;

/// A mark ready to draw: premultiplied colour (three planes) and alpha, at (`x`, `y`).
pub struct Ready {
    /// Four planes, RGB premultiplied by alpha and all four scaled by the opacity.
    pub planes: Planes,
    /// Left edge on the picture, in pixels (may be negative: what falls outside is not drawn).
    pub x: i64,
    /// Top edge on the picture, in pixels (may be negative).
    pub y: i64,
}

/// How a mark will be drawn on a picture: the text size or the picture's height, and the
/// mark's width and height.
struct Layout {
    size: u32,
    width: u64,
    height: u64,
}

/// The layout of `w` on a `width`×`height` picture, checked to fit on it and in memory, without
/// drawing or decoding anything (a picture's size is read from its header).
fn layout(w: &Watermark, (width, height): (u32, u32)) -> Result<Layout, EditError> {
    let short = width.min(height);
    let (size, mw, mh) = match &w.mark {
        Mark::Text(t) => {
            let size = match w.size {
                Some(s) => s,
                // The page's default, smaller when a long text would not fit.
                None => (short / 20).max(8).min(text::size_to_fit(t, width)?).max(1),
            };
            let (mw, mh) = text::measure(t, size)?;
            (size, mw, mh)
        }
        Mark::Image(bytes) => {
            let (lw, lh) = logo_size(bytes)?;
            let mh = w.size.unwrap_or(short / 8).max(1);
            (mh, ((lw as u64 * mh as u64) / lh.max(1) as u64).max(1), mh as u64)
        }
    };
    if mw > width as u64 || mh > height as u64 {
        return Err(EditError::MarkTooLarge { mark_width: mw, mark_height: mh, width, height });
    }
    room::check("watermark", mw, mh, 8, 1)?;
    Ok(Layout { size, width: mw, height: mh })
}

/// Checks that `w` can go on a `width`×`height` picture (see `layout`).
pub fn check(w: &Watermark, size: (u32, u32)) -> Result<(), EditError> {
    layout(w, size).map(|_| ())
}

/// Sizes, draws and places `w` for a `width`×`height` picture.
pub fn prepare(w: &Watermark, (width, height): (u32, u32), meter: &Meter) -> Result<Ready> {
    let l = layout(w, (width, height))?;
    let mut planes = match &w.mark {
        Mark::Text(t) => text::render(t, l.size, meter)?,
        Mark::Image(bytes) => {
            let logo = logo(bytes)?;
            meter.check()?;
            let mut p = resize::resize(&logo, l.width as u32, l.height as u32, Filter::Lanczos);
            premultiply(&mut p);
            meter.check()?;
            p
        }
    };
    let opacity = w.opacity.unwrap_or(0.8);
    planes.data.iter_mut().for_each(|v| *v *= opacity);
    let (x, y) = place(w.position, (width, height), (planes.width, planes.height));
    Ok(Ready { planes, x, y })
}

fn bad(e: &dyn std::fmt::Display) -> EditError {
    EditError::Picture(e.to_string())
}

/// A watermark picture's size from its header (PNG, JPEG or WebP), checked against the limits.
fn logo_size(bytes: &[u8]) -> Result<(u32, u32), EditError> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| bad(&e))?;
    if !matches!(reader.format(), Some(image::ImageFormat::Png | image::ImageFormat::Jpeg | image::ImageFormat::WebP)) {
        return Err(EditError::Picture("expected a PNG, JPEG or WebP picture".into()));
    }
    let (lw, lh) = reader.into_dimensions().map_err(|e| bad(&e))?;
    if lw == 0 || lh == 0 || lw as u64 * lh as u64 > MAX_LOGO_PIXELS {
        return Err(EditError::Picture(format!("{lw}x{lh}: expected 1 to {MAX_LOGO_PIXELS} pixels")));
    }
    room::check("watermark picture", lw as u64, lh as u64, 4, 2)?;
    Ok((lw, lh))
}

/// A watermark picture decoded: straight RGBA planes.
fn logo(bytes: &[u8]) -> Result<Planes, EditError> {
    logo_size(bytes)?;
    let img = image::load_from_memory(bytes).map_err(|e| bad(&e))?;
    Ok(Planes::from_buffer(&img.to_rgba32f()))
}

/// Colour planes multiplied by alpha (values clamped to [0, 1] first: Lanczos overshoots).
fn premultiply(p: &mut Planes) {
    let a = p.area();
    p.data.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
    for i in 0..a {
        let alpha = p.data[3 * a + i];
        for k in 0..3 {
            p.data[k * a + i] *= alpha;
        }
    }
}

/// Where a mark of `m` goes on a picture of `p`, a margin of 1/40 of the shorter side from the edges.
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

impl Ready {
    /// The mark's pixels that land on a `width`×`height` picture: (mark x, mark y, picture index).
    fn spots(&self, width: u32, height: u32) -> impl Iterator<Item = (usize, usize)> + '_ {
        let (mw, mh) = (self.planes.width as i64, self.planes.height as i64);
        (0..mh).flat_map(move |my| {
            (0..mw).filter_map(move |mx| {
                let (x, y) = (self.x + mx, self.y + my);
                (x >= 0 && y >= 0 && x < width as i64 && y < height as i64)
                    .then(|| ((my * mw + mx) as usize, y as usize * width as usize + x as usize))
            })
        })
    }

    /// Draws the mark over the first three planes of `p`.
    pub fn blend(&self, p: &mut Planes) {
        let (ma, pa) = (self.planes.area(), p.area());
        let spots: Vec<(usize, usize)> = self.spots(p.width, p.height).collect();
        for (m, i) in spots {
            let alpha = self.planes.data[3 * ma + m];
            for k in 0..3 {
                let v = &mut p.data[k * pa + i];
                *v = *v * (1.0 - alpha) + self.planes.data[k * ma + m];
            }
        }
    }

    /// Draws the mark over an 8-bit RGB frame.
    pub fn blend_rgb8(&self, img: &mut RgbImage) {
        let ma = self.planes.area();
        let (w, h) = img.dimensions();
        let spots: Vec<(usize, usize)> = self.spots(w, h).collect();
        let raw: &mut [u8] = img;
        for (m, i) in spots {
            let alpha = self.planes.data[3 * ma + m];
            for k in 0..3 {
                let v = &mut raw[i * 3 + k];
                let out = *v as f32 / 255.0 * (1.0 - alpha) + self.planes.data[k * ma + m];
                *v = (out * 255.0).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

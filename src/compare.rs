//! `upscale compare`: the input enlarged by nearest, bicubic, Lanczos and the model, side by
//! side and labelled, in one picture: traditional interpolation against the network at a glance.

use font8x8::UnicodeFonts;
use image::{Rgb, RgbImage};

use crate::engine::Upscaler;
use crate::error::Result;
use crate::planes::Planes;
use crate::resize::{self, Filter};

/// Height of the label strip above each panel, in pixels.
const LABEL_SCALE: u32 = 2;
const STRIP: u32 = 8 * LABEL_SCALE + 8;
const GAP: u32 = 4;

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
        draw_text(&mut out, x0 + 4, 4, label, w.saturating_sub(8));
    }
    Ok(out)
}

/// Draws `text` in white with the 8×8 font, clipped to `max_w` pixels.
fn draw_text(img: &mut RgbImage, x: u32, y: u32, text: &str, max_w: u32) {
    for (k, ch) in text.chars().enumerate() {
        let Some(glyph) = font8x8::BASIC_FONTS.get(ch) else {
            continue;
        };
        let cx = x + k as u32 * 8 * LABEL_SCALE;
        if cx + 8 * LABEL_SCALE > x + max_w {
            break;
        }
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8u32 {
                if bits >> col & 1 == 0 {
                    continue;
                }
                for dy in 0..LABEL_SCALE {
                    for dx in 0..LABEL_SCALE {
                        let (px, py) = (cx + col * LABEL_SCALE + dx, y + row as u32 * LABEL_SCALE + dy);
                        if px < img.width() && py < img.height() {
                            img.put_pixel(px, py, Rgb([255, 255, 255]));
                        }
                    }
                }
            }
        }
    }
}

//! Watermark text drawn with a real font rasteriser (`ab_glyph`) and the bundled DejaVu Sans
//! Mono Bold (assets/fonts, Bitstream Vera licence): any character the font has (©, é, Ü, Cyrillic,
//! Greek…), a visible box for one it has not. Laid out as the page's canvas preview does: the
//! font at `size` px to the em, a box `size / 4` wider than the text and `1.25 × size` high, the
//! text at (`size / 8`, `size / 8`), white with a dark outline `size / 8` wide.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

use super::meter::Meter;
use crate::error::EditError;
use crate::error::Result;
use crate::planes::Planes;

static FONT_FILE: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono-Bold.ttf");

/// The outline's opacity (the page's `rgba(0,0,0,0.63)`).
const OUTLINE_ALPHA: f32 = 0.63;

/// The bundled font, parsed once.
fn font() -> Result<&'static FontRef<'static>, EditError> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_FILE).ok())
        .as_ref()
        .ok_or_else(|| EditError::invalid("the bundled watermark font cannot be read"))
}

/// Units per em of the font.
fn em(f: &FontRef<'_>) -> f32 {
    f.units_per_em().unwrap_or(2048.0)
}

/// The mark's width and height for `text` at `size` px to the em, without drawing it.
pub fn measure(text: &str, size: u32) -> Result<(u64, u64), EditError> {
    let f = font()?;
    let advance: f32 = text.chars().map(|c| f.h_advance_unscaled(f.glyph_id(c))).sum::<f32>() / em(f);
    let s = size as f64;
    Ok(((advance as f64 * s + s / 4.0).ceil() as u64, (s * 1.25).ceil() as u64))
}

/// The largest size at which `text` is at most `width` px wide.
pub fn size_to_fit(text: &str, width: u32) -> Result<u32, EditError> {
    let (w1000, _) = measure(text, 1000)?;
    Ok(((width as u64 * 1000) / w1000.max(1)) as u32)
}

/// `text` at `size` px: four planes, premultiplied white-on-dark colour (three) and alpha.
/// The meter is asked whether to go on after each glyph.
pub fn render(text: &str, size: u32, meter: &Meter) -> Result<Planes> {
    let f = font()?;
    let (w, h) = measure(text, size)?;
    let (w, h) = (w as u32, h as u32);
    let s = size as f32;
    let scale = PxScale::from(s * f.height_unscaled() / em(f));
    let scaled = f.as_scaled(scale);
    // The canvas's "top" baseline: the top of the em box.
    let baseline = s / 8.0 + s * f.ascent_unscaled() / (f.ascent_unscaled() - f.descent_unscaled());
    let mut cover = vec![0f32; w as usize * h as usize];
    let mut put = |x: i64, y: i64, c: f32| {
        if x >= 0 && y >= 0 && x < w as i64 && y < h as i64 {
            let v = &mut cover[y as usize * w as usize + x as usize];
            *v = v.max(c.min(1.0));
        }
    };
    let mut pen = s / 8.0;
    for ch in text.chars() {
        let id = f.glyph_id(ch);
        let advance = scaled.h_advance(id);
        if id.0 == 0 && !ch.is_whitespace() {
            // Not in the font: a hollow box the height of a capital, never a "?".
            let t = (s / 12.0).max(1.0);
            let (x0, x1) = (pen + advance * 0.12, pen + advance * 0.88);
            let (y0, y1) = (baseline - s * 0.73, baseline);
            for y in y0.floor() as i64..y1.ceil() as i64 {
                for x in x0.floor() as i64..x1.ceil() as i64 {
                    let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                    if fx - x0 < t || x1 - fx < t || fy - y0 < t || y1 - fy < t {
                        put(x, y, 1.0);
                    }
                }
            }
        } else if let Some(g) = f.outline_glyph(id.with_scale_and_position(scale, ab_glyph::point(pen, baseline))) {
            let b = g.px_bounds();
            g.draw(|x, y, c| put(b.min.x as i64 + x as i64, b.min.y as i64 + y as i64, c));
        }
        pen += advance;
        meter.check()?;
    }
    // The outline: the ink grown by half the canvas's line width (`size / 8`).
    let r = ((s / 16.0).round() as usize).max(1);
    let outline = dilate(&cover, w as usize, h as usize, r);
    meter.check()?;
    let mut out = Planes::new(w, h, 4);
    let a = out.area();
    for i in 0..a {
        let (c, o) = (cover[i], outline[i]);
        let alpha = c + (1.0 - c) * o * OUTLINE_ALPHA;
        for k in 0..3 {
            out.data[k * a + i] = c; // white ink over a black outline, premultiplied
        }
        out.data[3 * a + i] = alpha;
    }
    Ok(out)
}

/// The largest value within `r` pixels (a square) of each pixel: two passes of a running
/// maximum in time independent of `r` (van Herk / Gil-Werman).
fn dilate(src: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let mut tmp = vec![0f32; src.len()];
    let mut line = Vec::new();
    for y in 0..h {
        line.clear();
        line.extend_from_slice(&src[y * w..(y + 1) * w]);
        let out = running_max(&line, r);
        tmp[y * w..(y + 1) * w].copy_from_slice(&out);
    }
    let mut dst = vec![0f32; src.len()];
    for x in 0..w {
        line.clear();
        line.extend((0..h).map(|y| tmp[y * w + x]));
        for (y, v) in running_max(&line, r).into_iter().enumerate() {
            dst[y * w + x] = v;
        }
    }
    dst
}

/// `out[i] = max(a[i - r ..= i + r])` (clipped to the ends).
fn running_max(a: &[f32], r: usize) -> Vec<f32> {
    let n = a.len();
    let k = 2 * r + 1;
    let padded: Vec<f32> =
        std::iter::repeat_n(0.0, r).chain(a.iter().copied()).chain(std::iter::repeat_n(0.0, r)).collect();
    let m = padded.len();
    let mut g = vec![0f32; m];
    let mut hh = vec![0f32; m];
    for i in 0..m {
        g[i] = if i % k == 0 { padded[i] } else { g[i - 1].max(padded[i]) };
    }
    for i in (0..m).rev() {
        hh[i] = if i % k == k - 1 || i == m - 1 { padded[i] } else { hh[i + 1].max(padded[i]) };
    }
    (0..n).map(|i| hh[i].max(g[i + 2 * r])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    #[test]
    fn running_max_is_the_window_maximum() {
        let a = [0.0, 0.3, 0.0, 0.0, 0.9, 0.0, 0.1, 0.0];
        for r in 0..4 {
            let want: Vec<f32> = (0..a.len())
                .map(|i| a[i.saturating_sub(r)..=(i + r).min(a.len() - 1)].iter().copied().fold(0.0, f32::max))
                .collect();
            assert_eq!(running_max(&a, r), want, "r = {r}");
        }
    }

    /// The ink of one character alone.
    fn ink(text: &str) -> Vec<f32> {
        let meter = Meter::new(&NoProgress, 1);
        render(text, 32, &meter).unwrap().data
    }

    #[test]
    fn non_ascii_characters_have_their_own_glyphs_and_a_missing_one_is_a_box() {
        let q = ink("?");
        for c in ["©", "é", "Ü", "ï", "写"] {
            assert_ne!(ink(c), q, "{c} drawn as '?'");
            assert!(ink(c).iter().any(|&v| v > 0.5), "{c} drew nothing");
        }
        // The font has no CJK: 写 is a box, as is any other missing character.
        assert_eq!(ink("写"), ink("語"));
        assert_ne!(ink("写"), ink(" "));
    }
}

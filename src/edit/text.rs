//! Text drawn for watermarks and annotations: shaped by `rustybuzz` (Arabic joined, Devanagari
//! conjuncts, marks placed), right-to-left runs put in visual order by the Unicode bidirectional
//! algorithm (`unicode-bidi`), each character in the first font that has it (`fonts.rs`: the
//! bundled DejaVu Sans Mono Bold for Latin, Greek and Cyrillic, then the Noto fonts found on the
//! machine), outlines rasterised by `ab_glyph`, colour emoji from their bitmaps. A character no
//! font has is a visible box and a warning naming it. Laid out as the page's canvas preview does:
//! the font at `size` px to the em, a box `size / 4` wider than the text and `1.25 × size` high,
//! the text at (`size / 8`, `size / 8`); a watermark is white with a dark outline `size / 8` wide.

use ab_glyph::{Font, GlyphId, PxScale, ScaleFont};
use unicode_bidi::BidiInfo;

use super::fonts::{self, Face};
use super::layer::over;
use super::meter::Meter;
use crate::error::EditError;
use crate::error::Result;
use crate::planes::Planes;
use crate::resize::{self, Filter};

/// The outline's opacity (the page's `rgba(0,0,0,0.63)`).
const OUTLINE_ALPHA: f32 = 0.63;

/// Units per em of a face.
fn em(f: &Face) -> f32 {
    f.glyphs.units_per_em().unwrap_or(2048.0)
}

/// One glyph in visual order: its face (none: no font has the character, drawn as a box), its
/// id, and its advance and offsets in the face's units.
struct Glyph {
    face: Option<&'static Face>,
    id: u16,
    advance: i32,
    dx: i32,
    dy: i32,
}

/// `text` shaped on one line, in visual order, and the characters no font has.
struct Shaped {
    glyphs: Vec<Glyph>,
    missing: Vec<char>,
}

/// Shapes `text`: bidirectional runs in visual order, each cut where the font changes.
fn shape(text: &str) -> Shaped {
    let mut out = Shaped { glyphs: Vec::new(), missing: Vec::new() };
    let info = BidiInfo::new(text, None);
    for para in &info.paragraphs {
        let (levels, runs) = info.visual_runs(para, para.range.clone());
        for run in runs {
            let rtl = levels[run.start].is_rtl();
            // Cut the run where the font changes (logical order).
            let mut pieces: Vec<(Option<&'static Face>, std::ops::Range<usize>)> = Vec::new();
            let mut previous = None;
            for (i, c) in text[run.clone()].char_indices() {
                let at = run.start + i;
                let face = fonts::face_for(c, previous);
                if face.is_none() && !c.is_whitespace() && !fonts::joiner(c) && !out.missing.contains(&c) {
                    out.missing.push(c);
                }
                previous = face;
                match pieces.last_mut() {
                    Some((f, r)) if same(*f, face) => r.end = at + c.len_utf8(),
                    _ => pieces.push((face, at..at + c.len_utf8())),
                }
            }
            if rtl {
                pieces.reverse();
            }
            for (face, range) in pieces {
                shape_piece(&text[range], face, rtl, &mut out.glyphs);
            }
        }
    }
    out
}

fn same(a: Option<&'static Face>, b: Option<&'static Face>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => std::ptr::eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// One piece of a run in one face, its glyphs appended in visual order.
fn shape_piece(piece: &str, face: Option<&'static Face>, rtl: bool, glyphs: &mut Vec<Glyph>) {
    let Some(f) = face else {
        // No font: one box per character (the bundled font's missing-glyph advance).
        let notdef = fonts::bundled().glyphs.h_advance_unscaled(GlyphId(0)) as i32;
        let mut chars: Vec<char> = piece.chars().collect();
        if rtl {
            chars.reverse();
        }
        glyphs.extend(chars.into_iter().map(|_| Glyph { face: None, id: 0, advance: notdef, dx: 0, dy: 0 }));
        return;
    };
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(piece);
    buffer.guess_segment_properties();
    buffer.set_direction(if rtl { rustybuzz::Direction::RightToLeft } else { rustybuzz::Direction::LeftToRight });
    let shaped = rustybuzz::shape(&f.shaper, &[], buffer);
    for (info, pos) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
        glyphs.push(Glyph {
            face: Some(f),
            id: info.glyph_id as u16,
            advance: pos.x_advance,
            dx: pos.x_offset,
            dy: pos.y_offset,
        });
    }
}

/// The text's advance in ems: the sum of each face's advances over its units per em.
fn advance_ems(shaped: &Shaped) -> f32 {
    // Sums of integers in f32 are exact here: per face, then divided (the bundled font alone
    // gives the very number the watermark always had).
    let mut per_face: Vec<(f32, f32)> = Vec::new();
    for g in &shaped.glyphs {
        let e = g.face.map_or_else(|| em(fonts::bundled()), em);
        match per_face.iter_mut().find(|(fe, _)| *fe == e) {
            Some((_, sum)) => *sum += g.advance as f32,
            None => per_face.push((e, g.advance as f32)),
        }
    }
    per_face.iter().map(|(e, sum)| sum / e).sum()
}

fn box_size(advance: f32, size: u32) -> (u64, u64) {
    let s = size as f64;
    ((advance as f64 * s + s / 4.0).ceil() as u64, (s * 1.25).ceil() as u64)
}

/// The mark's width and height for `text` at `size` px to the em, without drawing it.
pub fn measure(text: &str, size: u32) -> Result<(u64, u64), EditError> {
    Ok(box_size(advance_ems(&shape(text)), size))
}

/// The largest size at which `text` is at most `width` px wide.
pub fn size_to_fit(text: &str, width: u32) -> Result<u32, EditError> {
    let (w1000, _) = measure(text, 1000)?;
    Ok(((width as u64 * 1000) / w1000.max(1)) as u32)
}

/// The ink of a text: coverage of the outlines, and the colour glyphs (emoji) as premultiplied
/// RGBA over it.
struct Ink {
    width: u32,
    height: u32,
    cover: Vec<f32>,
    color: Option<Planes>,
}

/// Draws `text` at `size` px into its box (see the module's layout). Characters no font has are
/// boxes, and a warning through `meter` names them. The meter is asked whether to go on after
/// each glyph.
fn ink(text: &str, size: u32, meter: &Meter) -> Result<Ink> {
    let shaped = shape(text);
    if !shaped.missing.is_empty() {
        let names: Vec<String> = shaped.missing.iter().map(|c| format!("U+{:04X} '{c}'", *c as u32)).collect();
        meter.warn(&format!(
            "the text \"{text}\": no font on this machine has {} (drawn as a box; tools/setup.sh installs the Noto fonts)",
            names.join(", ")
        ));
    }
    let (w, h) = box_size(advance_ems(&shaped), size);
    let (w, h) = (w as u32, h as u32);
    let s = size as f32;
    let dejavu = fonts::bundled();
    let d = &dejavu.glyphs;
    // The canvas's "top" baseline: the top of the em box (the bundled font's, for every face).
    let baseline = s / 8.0 + s * d.ascent_unscaled() / (d.ascent_unscaled() - d.descent_unscaled());
    let mut cover = vec![0f32; w as usize * h as usize];
    let mut color: Option<Planes> = None;
    let mut put = |x: i64, y: i64, c: f32| {
        if x >= 0 && y >= 0 && x < w as i64 && y < h as i64 {
            let v = &mut cover[y as usize * w as usize + x as usize];
            *v = v.max(c.min(1.0));
        }
    };
    let mut pen = s / 8.0;
    for g in &shaped.glyphs {
        let face = g.face.unwrap_or(dejavu);
        let f = &face.glyphs;
        let scale = PxScale::from(s * f.height_unscaled() / em(face));
        // Pixels per font unit, as ab_glyph scales an advance.
        let k = f.as_scaled(scale).h_scale_factor();
        let advance = k * g.advance as f32;
        let id = GlyphId(g.id);
        if g.face.is_none() {
            // Not in any font: a hollow box the height of a capital, never a "?".
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
        } else {
            let at = ab_glyph::point(pen + k * g.dx as f32, baseline - k * g.dy as f32);
            if let Some(o) = f.outline_glyph(id.with_scale_and_position(scale, at)) {
                let b = o.px_bounds();
                o.draw(|x, y, c| put(b.min.x as i64 + x as i64, b.min.y as i64 + y as i64, c));
            } else if let Some(layer) = bitmap(face, g.id, s, at, (w, h))? {
                let target = color.get_or_insert_with(|| Planes::new(w, h, 4));
                over(target, &layer.0, layer.1);
            }
        }
        pen += advance;
        meter.check()?;
    }
    Ok(Ink { width: w, height: h, cover, color })
}

/// A colour glyph (an emoji's PNG bitmap) scaled to `s` px to the em, premultiplied, with where
/// its top-left corner goes; `None` when the glyph has no bitmap or it falls outside the box.
fn bitmap(
    face: &Face,
    id: u16,
    s: f32,
    at: ab_glyph::Point,
    (w, h): (u32, u32),
) -> Result<Option<(Planes, (i64, i64))>> {
    use rustybuzz::ttf_parser::{GlyphId as TtfId, RasterImageFormat};
    let Some(img) = face.shaper.glyph_raster_image(TtfId(id), s.round().clamp(1.0, 65535.0) as u16) else {
        return Ok(None);
    };
    if img.format != RasterImageFormat::PNG {
        return Ok(None);
    }
    let Ok(decoded) = image::load_from_memory_with_format(img.data, image::ImageFormat::Png) else { return Ok(None) };
    let k = s / img.pixels_per_em.max(1) as f32;
    let (bw, bh) = (decoded.width() as f32 * k, decoded.height() as f32 * k);
    let (tw, th) = (bw.round().max(1.0) as u32, bh.round().max(1.0) as u32);
    if tw > 4 * w.max(h) || th > 4 * w.max(h) {
        return Ok(None);
    }
    let x = (at.x + img.x as f32 * k).round() as i64;
    let y = (at.y - (img.y as f32 + img.height as f32) * k).round() as i64;
    if x >= w as i64 || y >= h as i64 || x + tw as i64 <= 0 || y + th as i64 <= 0 {
        return Ok(None);
    }
    let mut p = resize::resize(&Planes::from_buffer(&decoded.to_rgba32f()), tw, th, Filter::Lanczos);
    let a = p.area();
    p.data.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
    for i in 0..a {
        let alpha = p.data[3 * a + i];
        for c in 0..3 {
            p.data[c * a + i] *= alpha;
        }
    }
    Ok(Some((p, (x, y))))
}

/// `color` (premultiplied RGBA, the emoji) over `base` (premultiplied RGBA).
fn finish(mut base: Planes, color: Option<Planes>) -> Planes {
    if let Some(c) = color {
        over(&mut base, &c, (0, 0));
    }
    base
}

/// `text` at `size` px as a watermark: four planes, premultiplied white-on-dark colour (three)
/// and alpha, colour emoji in their own colours. The meter is asked whether to go on after each
/// glyph and hears of characters no font has.
pub fn render(text: &str, size: u32, meter: &Meter) -> Result<Planes> {
    let Ink { width: w, height: h, cover, color } = ink(text, size, meter)?;
    let s = size as f32;
    // The outline: the ink (and the emoji) grown by half the canvas's line width (`size / 8`).
    let r = ((s / 16.0).round() as usize).max(1);
    let shape: Vec<f32> = match &color {
        None => cover.clone(),
        Some(c) => cover.iter().zip(c.plane(3)).map(|(a, b)| a.max(*b)).collect(),
    };
    let outline = dilate(&shape, w as usize, h as usize, r);
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
    Ok(finish(out, color))
}

/// `text` at `size` px in `rgb` (0…1), no outline: four premultiplied planes (an annotation).
pub fn render_colored(text: &str, size: u32, rgb: [f32; 3], meter: &Meter) -> Result<Planes> {
    let Ink { width: w, height: h, cover, color } = ink(text, size, meter)?;
    let mut out = Planes::new(w, h, 4);
    let a = out.area();
    for (i, c) in cover.iter().enumerate() {
        for (k, v) in rgb.iter().enumerate() {
            out.data[k * a + i] = v * c;
        }
        out.data[3 * a + i] = *c;
    }
    Ok(finish(out, color))
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

    /// The watermark as it was drawn before shaping and fallback fonts: the bundled font alone,
    /// character by character through `ab_glyph`.
    fn before_shaping(text: &str, size: u32) -> Vec<f32> {
        let face = fonts::bundled();
        let f = &face.glyphs;
        let (w, h) = measure(text, size).unwrap();
        let (w, h) = (w as usize, h as usize);
        let s = size as f32;
        let scale = PxScale::from(s * f.height_unscaled() / em(face));
        let scaled = f.as_scaled(scale);
        let baseline = s / 8.0 + s * f.ascent_unscaled() / (f.ascent_unscaled() - f.descent_unscaled());
        let mut cover = vec![0f32; w * h];
        let mut pen = s / 8.0;
        for ch in text.chars() {
            let id = f.glyph_id(ch);
            if let Some(g) = f.outline_glyph(id.with_scale_and_position(scale, ab_glyph::point(pen, baseline))) {
                let b = g.px_bounds();
                g.draw(|x, y, c| {
                    let (x, y) = (b.min.x as i64 + x as i64, b.min.y as i64 + y as i64);
                    if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
                        let v = &mut cover[y as usize * w + x as usize];
                        *v = v.max(c.min(1.0));
                    }
                });
            }
            pen += scaled.h_advance(id);
        }
        let outline = dilate(&cover, w, h, ((s / 16.0).round() as usize).max(1));
        let mut out = vec![0f32; 4 * w * h];
        for i in 0..w * h {
            let (c, o) = (cover[i], outline[i]);
            for k in 0..3 {
                out[k * w * h + i] = c;
            }
            out[3 * w * h + i] = c + (1.0 - c) * o * OUTLINE_ALPHA;
        }
        out
    }

    #[test]
    fn latin_text_keeps_the_pixels_it_had_before_shaping() {
        for (text, size) in [("© Ünï", 32), ("upscale 2026", 17), ("Привет, мир", 24), ("fi ffl Wa", 40)] {
            let meter = Meter::new(&NoProgress, 1);
            assert!(render(text, size, &meter).unwrap().data == before_shaping(text, size), "{text} at {size}");
        }
    }

    #[test]
    fn non_ascii_characters_have_their_own_glyphs_and_a_missing_one_is_a_box() {
        let q = ink("?");
        for c in ["©", "é", "Ü", "ï", "写", "Ж", "ب", "क", "😀"] {
            assert_ne!(ink(c), q, "{c} drawn as '?'");
            assert!(ink(c).iter().any(|&v| v > 0.5), "{c} drew nothing");
        }
        // With the Noto CJK font (tools/setup.sh), two ideographs are two drawings.
        assert_ne!(ink("写"), ink("語"));
        // A character no font has is a box.
        assert_eq!(ink("\u{E000}"), ink("\u{E001}"));
        assert_ne!(ink("\u{E000}"), ink(" "));
    }

    #[test]
    fn arabic_is_shaped_into_joined_forms() {
        let word: Vec<u16> = shape("سلام").glyphs.iter().map(|g| g.id).collect();
        let alone: Vec<u16> = "سلام".chars().rev().map(|c| shape(&c.to_string()).glyphs[0].id).collect();
        assert_ne!(word, alone, "the letters kept their isolated forms");
        // The isolated presentation forms, in the same order, are another drawing.
        assert_ne!(ink("سلام"), ink("\u{FEB1}\u{FEDD}\u{FE8D}\u{FEE1}"));
        // Devanagari: क + ् + ष is one conjunct, fewer glyphs than characters.
        assert!(shape("क्ष").glyphs.len() < 3);
    }

    #[test]
    fn an_emoji_keeps_its_colours() {
        let meter = Meter::new(&NoProgress, 1);
        let p = render_colored("🍎", 48, [0.0, 0.0, 1.0], &meter).unwrap();
        let a = p.area();
        // A red apple in a blue text: red ink is the emoji's own.
        let red = (0..a).filter(|&i| p.data[3 * a + i] > 0.5 && p.data[i] > 2.0 * p.data[2 * a + i]).count();
        assert!(red > 100, "{red} red pixels");
    }
}

//! The edit on a picture's planes (colour and alpha), step by step in the
//! spec's order; every step checks its memory before allocating and its cancellation every band.

use super::meter::{Meter, BANDS};
use super::spec::{Color, Crop, EditSpec, FilterName, FilterStep, Rotation};
use super::{draw, mark};
use crate::error::{Error, Result};
use crate::planes::Planes;
use crate::progress::Progress;
use crate::resize::{self, Filter};

/// Applies `spec` to the colour planes `rgb` and the `alpha` plane that goes with them; errors
/// are [`Error::Edit`] naming `path` (or [`Error::Cancelled`]).
pub fn apply(
    rgb: Planes,
    alpha: Option<Planes>,
    spec: &EditSpec,
    path: &std::path::Path,
    progress: &dyn Progress,
) -> Result<(Planes, Option<Planes>)> {
    let edit_err = |source| Error::Edit { path: path.to_path_buf(), source };
    let channels = 3 + alpha.as_ref().map_or(0, |a| a.channels) as u64;
    super::preflight(spec, (rgb.width, rgb.height), channels).map_err(edit_err)?;
    let steps = [
        spec.crop.is_some(),
        spec.rotate.is_some(),
        spec.flip_horizontal || spec.flip_vertical,
        spec.color.is_some(),
        spec.resize.is_some(),
    ]
    .iter()
    .filter(|s| **s)
    .count()
        + spec.filters.len()
        + spec.annotations.len()
        + spec.watermarks.len();
    let meter = Meter::new(progress, steps as u64);
    let (mut rgb, mut alpha) = (rgb, alpha);
    let each = |p: &mut Planes, f: &dyn Fn(&Planes, &Meter) -> Result<Planes>, a: &mut Option<Planes>| -> Result<()> {
        *p = f(p, &meter)?;
        if let Some(al) = a.as_mut() {
            *al = f(al, &Meter::new(&crate::progress::NoProgress, 1))?;
        }
        Ok(())
    };
    if let Some(c) = spec.crop {
        each(&mut rgb, &|p, m| crop(p, c, m), &mut alpha)?;
    }
    if let Some(r) = spec.rotate {
        each(&mut rgb, &|p, m| rotate(p, r, m), &mut alpha)?;
    }
    if spec.flip_horizontal || spec.flip_vertical {
        let (fh, fv) = (spec.flip_horizontal, spec.flip_vertical);
        each(&mut rgb, &|p, m| flip(p, fh, fv, m), &mut alpha)?;
    }
    if let Some(c) = spec.color {
        color(&mut rgb, c, &meter)?;
    }
    for &f in &spec.filters {
        filter(&mut rgb, f, &meter)?;
    }
    if let Some(s) = spec.resize {
        meter.check()?;
        rgb = resize::resize(&rgb, s.width, s.height, Filter::Lanczos);
        alpha = alpha.map(|a| {
            let mut r = resize::resize(&a, s.width, s.height, Filter::Lanczos);
            r.data.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
            r
        });
        meter.finish_step(0)?;
    }
    let (size, here) = ((rgb.width, rgb.height), |e| match e {
        Error::Edit { source, .. } => edit_err(source),
        e => e,
    });
    if let Some(layer) = draw::flatten(&spec.annotations, size, &meter).map_err(here)? {
        layer.blend(&mut rgb);
    }
    for w in &spec.watermarks {
        let ready = mark::prepare(w, (rgb.width, rgb.height), &meter).map_err(|e| match e {
            Error::Edit { source, .. } => edit_err(source),
            e => e,
        })?;
        ready.blend(&mut rgb);
        meter.finish_step(0)?;
    }
    Ok((rgb, alpha))
}

/// A new picture of `w`×`h` filled band by band from `pixel(plane, x, y)` of the source.
fn remap(p: &Planes, (w, h): (u32, u32), meter: &Meter, at: impl Fn(usize, usize) -> usize) -> Result<Planes> {
    let mut out = Planes::new(w, h, p.channels);
    let (a, wu) = (out.area(), w as usize);
    for b in 0..BANDS {
        let (y0, y1) = Meter::band(b, h);
        for c in 0..p.channels {
            let src = p.plane(c);
            let dst = &mut out.data[c * a..(c + 1) * a];
            for y in y0..y1 {
                for x in 0..wu {
                    dst[y * wu + x] = src[at(x, y)];
                }
            }
        }
        meter.tick()?;
    }
    Ok(out)
}

fn crop(p: &Planes, c: Crop, meter: &Meter) -> Result<Planes> {
    let sw = p.width as usize;
    remap(p, (c.width, c.height), meter, |x, y| (y + c.y as usize) * sw + x + c.x as usize)
}

/// Clockwise.
fn rotate(p: &Planes, r: Rotation, meter: &Meter) -> Result<Planes> {
    let (sw, sh) = (p.width as usize, p.height as usize);
    match r {
        Rotation::Cw90 => remap(p, (p.height, p.width), meter, |x, y| (sh - 1 - x) * sw + y),
        Rotation::Cw180 => remap(p, (p.width, p.height), meter, |x, y| (sh - 1 - y) * sw + (sw - 1 - x)),
        Rotation::Cw270 => remap(p, (p.height, p.width), meter, |x, y| x * sw + (sw - 1 - y)),
    }
}

fn flip(p: &Planes, horizontal: bool, vertical: bool, meter: &Meter) -> Result<Planes> {
    let (sw, sh) = (p.width as usize, p.height as usize);
    remap(p, (p.width, p.height), meter, |x, y| {
        let sx = if horizontal { sw - 1 - x } else { x };
        let sy = if vertical { sh - 1 - y } else { y };
        sy * sw + sx
    })
}

/// Brightness, contrast (about mid-grey) and saturation (about Rec. 709 luma), as the page's
/// canvas preview does, on the three colour planes.
fn color(p: &mut Planes, c: Color, meter: &Meter) -> Result<()> {
    let a = p.area();
    let w = p.width as usize;
    for b in 0..BANDS {
        let (y0, y1) = Meter::band(b, p.height);
        for i in y0 * w..y1 * w {
            let (r, g, bl) = (p.data[i], p.data[a + i], p.data[2 * a + i]);
            let l = 0.2126 * r + 0.7152 * g + 0.0722 * bl;
            for k in 0..3 {
                let v = p.data[k * a + i];
                let sat = l + (v - l) * c.saturation;
                p.data[k * a + i] = ((sat - 0.5) * c.contrast + 0.5 + c.brightness).clamp(0.0, 1.0);
            }
        }
        meter.tick()?;
    }
    Ok(())
}

/// One named filter on the three colour planes, band by band (blur and sharpen on a blurred
/// copy made first). The video path runs the same function on every frame.
pub(crate) fn filter(p: &mut Planes, f: FilterStep, meter: &Meter) -> Result<()> {
    let a = f.amount;
    let area = p.area();
    let w = p.width as usize;
    let mix = |m: [[f32; 3]; 3], p: &mut Planes, meter: &Meter| -> Result<()> {
        for b in 0..BANDS {
            let (y0, y1) = Meter::band(b, p.height);
            for i in y0 * w..y1 * w {
                let v = [p.data[i], p.data[area + i], p.data[2 * area + i]];
                for (k, row) in m.iter().enumerate() {
                    let t = row[0] * v[0] + row[1] * v[1] + row[2] * v[2];
                    p.data[k * area + i] = (v[k] + (t - v[k]) * a).clamp(0.0, 1.0);
                }
            }
            meter.tick()?;
        }
        Ok(())
    };
    match f.name {
        FilterName::Grayscale => mix([[0.2126, 0.7152, 0.0722]; 3], p, meter),
        FilterName::Sepia => mix([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], p, meter),
        FilterName::Invert => {
            for b in 0..BANDS {
                let (y0, y1) = Meter::band(b, p.height);
                for k in 0..3 {
                    for v in &mut p.data[k * area + y0 * w..k * area + y1 * w] {
                        *v += (1.0 - 2.0 * *v) * a;
                    }
                }
                meter.tick()?;
            }
            Ok(())
        }
        FilterName::Blur => {
            let blurred = gaussian(p, a, meter)?;
            p.data[..3 * area].copy_from_slice(&blurred.data[..3 * area]);
            Ok(())
        }
        FilterName::Sharpen => {
            let blurred = gaussian(p, 1.0, meter)?;
            for (v, s) in p.data[..3 * area].iter_mut().zip(&blurred.data) {
                *v = (*v + (*v - s) * a).clamp(0.0, 1.0);
            }
            Ok(())
        }
        FilterName::Vignette => {
            let (cx, cy) = ((p.width as f32 - 1.0) / 2.0, (p.height as f32 - 1.0) / 2.0);
            let far = (cx * cx + cy * cy).max(1.0);
            for b in 0..BANDS {
                let (y0, y1) = Meter::band(b, p.height);
                for y in y0..y1 {
                    let dy = y as f32 - cy;
                    for x in 0..w {
                        let dx = x as f32 - cx;
                        let gain = 1.0 - a * (dx * dx + dy * dy) / far;
                        for k in 0..3 {
                            p.data[k * area + y * w + x] *= gain;
                        }
                    }
                }
                meter.tick()?;
            }
            Ok(())
        }
    }
}

/// The three colour planes blurred by a Gaussian of standard deviation `sigma` pixels (edges
/// repeated), separable: rows, then columns. `sigma` 0 is a copy.
fn gaussian(p: &Planes, sigma: f32, meter: &Meter) -> Result<Planes> {
    let (w, h) = (p.width as usize, p.height as usize);
    let mut out = Planes::try_new(p.width, p.height, 3)?;
    out.data.copy_from_slice(&p.data[..3 * p.area()]);
    if sigma <= 0.0 {
        return Ok(out);
    }
    let r = (3.0 * sigma).ceil() as isize;
    let mut k: Vec<f32> = (-r..=r).map(|i| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    let mut row = vec![0f32; w.max(h)];
    for c in 0..3 {
        let plane = &mut out.data[c * w * h..(c + 1) * w * h];
        for y in 0..h {
            let line = &plane[y * w..(y + 1) * w];
            for (x, o) in row[..w].iter_mut().enumerate() {
                *o = k
                    .iter()
                    .enumerate()
                    .map(|(j, kv)| kv * line[(x as isize + j as isize - r).clamp(0, w as isize - 1) as usize])
                    .sum();
            }
            plane[y * w..(y + 1) * w].copy_from_slice(&row[..w]);
        }
        for x in 0..w {
            for (y, o) in row[..h].iter_mut().enumerate() {
                *o = k
                    .iter()
                    .enumerate()
                    .map(|(j, kv)| kv * plane[(y as isize + j as isize - r).clamp(0, h as isize - 1) as usize * w + x])
                    .sum();
            }
            for (y, v) in row[..h].iter().enumerate() {
                plane[y * w + x] = *v;
            }
        }
        meter.check()?;
    }
    meter.finish_step(0)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    fn numbered(w: u32, h: u32) -> Planes {
        let mut p = Planes::new(w, h, 1);
        p.data.iter_mut().enumerate().for_each(|(i, v)| *v = i as f32);
        p
    }

    #[test]
    fn rotation_turns_clockwise() {
        let m = Meter::new(&NoProgress, 3);
        // 2x1: [0 1] → 1x2 with 0 on top (the left end goes up).
        let p = numbered(2, 1);
        assert_eq!(rotate(&p, Rotation::Cw90, &m).unwrap().data, vec![0.0, 1.0]);
        assert_eq!(rotate(&p, Rotation::Cw270, &m).unwrap().data, vec![1.0, 0.0]);
        // 2x2: [0 1; 2 3] clockwise → [2 0; 3 1].
        let q = numbered(2, 2);
        assert_eq!(rotate(&q, Rotation::Cw90, &m).unwrap().data, vec![2.0, 0.0, 3.0, 1.0]);
        assert_eq!(rotate(&q, Rotation::Cw180, &m).unwrap().data, vec![3.0, 2.0, 1.0, 0.0]);
        assert_eq!(flip(&q, true, false, &m).unwrap().data, vec![1.0, 0.0, 3.0, 2.0]);
        assert_eq!(flip(&q, false, true, &m).unwrap().data, vec![2.0, 3.0, 0.0, 1.0]);
        let c = crop(&numbered(4, 3), Crop { x: 1, y: 1, width: 2, height: 2 }, &m).unwrap();
        assert_eq!(c.data, vec![5.0, 6.0, 9.0, 10.0]);
    }
}

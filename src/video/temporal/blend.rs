//! The stabiliser's arithmetic at the output size: the network's picture of this frame averaged
//! with its pictures of the frames before, each moved by the motion found on the small input
//! frames (a vector of a quarter input pixel is a whole output pixel at ×4) and weighted, pixel by
//! pixel, by how well the input matched there. Integer arithmetic only, so every machine gives
//! the same samples; a frame with no match anywhere comes out unchanged.

use super::motion::{Field, BLOCK, FULL};
use crate::video::items::Pixels;

/// Samples the blend works on: 8 or 16 bits.
trait Sample: Copy + Into<u32> {
    fn from_u32(v: u32) -> Self;
}

impl Sample for u8 {
    #[inline]
    fn from_u32(v: u32) -> Self {
        v as u8
    }
}

impl Sample for u16 {
    #[inline]
    fn from_u32(v: u32) -> Self {
        v as u16
    }
}

/// `raw` (this frame's upscaled picture) with the `earlier` upscaled pictures averaged in where
/// `fields` (this frame's input against each earlier input of size `input`) found a match.
pub fn blend(raw: &Pixels, earlier: &[&Pixels], fields: &[Field], input: (usize, usize)) -> Pixels {
    let (ow, oh) = raw.dimensions();
    let out = (ow as usize, oh as usize);
    match raw {
        Pixels::Rgb8(p) => {
            let refs: Vec<&[u8]> = earlier
                .iter()
                .map(|e| match e {
                    Pixels::Rgb8(q) => q.as_raw().as_slice(),
                    Pixels::Rgb16(_) => unreachable!("a stream's pictures share one depth"),
                })
                .collect();
            let v = samples(p.as_raw(), &refs, fields, input, out);
            Pixels::Rgb8(image::RgbImage::from_raw(ow, oh, v).expect("the size the blend was given"))
        }
        Pixels::Rgb16(p) => {
            let refs: Vec<&[u16]> = earlier
                .iter()
                .map(|e| match e {
                    Pixels::Rgb16(q) => q.as_raw().as_slice(),
                    Pixels::Rgb8(_) => unreachable!("a stream's pictures share one depth"),
                })
                .collect();
            let v = samples(p.as_raw(), &refs, fields, input, out);
            Pixels::Rgb16(crate::video::items::Rgb16Image::from_raw(ow, oh, v).expect("the size the blend was given"))
        }
    }
}

/// `a * b / c`, rounded to the nearest (halves away from zero).
fn div_round(a: i64, c: i64) -> i32 {
    let q = (2 * a.abs() + c) / (2 * c);
    (if a < 0 { -q } else { q }) as i32
}

fn samples<T: Sample>(
    raw: &[T],
    refs: &[&[T]],
    fields: &[Field],
    (w, h): (usize, usize),
    (ow, oh): (usize, usize),
) -> Vec<T> {
    // Each block's vector in whole output pixels.
    let offsets: Vec<Vec<(isize, isize)>> = fields
        .iter()
        .map(|f| {
            f.v.iter()
                .map(|&(qx, qy)| {
                    let ox = div_round(qx as i64 * ow as i64, 4 * w as i64);
                    let oy = div_round(qy as i64 * oh as i64, 4 * h as i64);
                    (ox as isize, oy as isize)
                })
                .collect()
        })
        .collect();
    let xs: Vec<usize> = (0..ow).map(|x| x * w / ow).collect();
    // The output columns of each block column: where `xs` enters it.
    let bw = w.div_ceil(BLOCK);
    let mut spans = vec![ow; bw + 1];
    for (ox, &x) in xs.iter().enumerate().rev() {
        spans[x / BLOCK] = ox;
    }
    for b in (0..bw).rev() {
        spans[b] = spans[b].min(spans[b + 1]);
    }
    // 1/wsum in 2^24ths for every possible weight sum: a multiply instead of a division.
    let most = FULL as usize * (refs.len() + 1);
    let recip: Vec<u64> =
        (0..=most).map(|s| if s == 0 { 0 } else { ((1u64 << 24) + s as u64 / 2) / s as u64 }).collect();
    let mut out = Vec::with_capacity(raw.len());
    let mut acc = vec![0u32; ow * 3];
    let mut wsum = vec![0u32; ow];
    let last = ow as isize - 1;
    for oy in 0..oh {
        let y = oy * h / oh;
        let row = &raw[oy * ow * 3..][..ow * 3];
        for (a, &s) in acc.iter_mut().zip(row) {
            *a = s.into() * FULL as u32;
        }
        wsum.fill(FULL as u32);
        for ((f, r), off) in fields.iter().zip(refs).zip(&offsets) {
            let weights = &f.weight[y * w..][..w];
            let blocks = &off[(y / BLOCK) * f.bw..][..bw];
            for (b, &(dx, dy)) in blocks.iter().enumerate() {
                if weights[b * BLOCK..((b + 1) * BLOCK).min(w)].iter().all(|&v| v == 0) {
                    continue;
                }
                let sy = (oy as isize + dy).clamp(0, oh as isize - 1) as usize;
                let src_row = &r[sy * ow * 3..][..ow * 3];
                for ox in spans[b]..spans[b + 1] {
                    let wt = weights[xs[ox]] as u32;
                    if wt == 0 {
                        continue;
                    }
                    let sx = (ox as isize + dx).clamp(0, last) as usize;
                    let src = &src_row[sx * 3..][..3];
                    let a = &mut acc[ox * 3..][..3];
                    a[0] += wt * src[0].into();
                    a[1] += wt * src[1].into();
                    a[2] += wt * src[2].into();
                    wsum[ox] += wt;
                }
            }
        }
        for (ox, a) in acc.chunks_exact(3).enumerate() {
            let r = recip[wsum[ox] as usize];
            for &v in a {
                out.push(T::from_u32(((v as u64 * r + (1 << 23)) >> 24) as u32));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_halves_go_away_from_zero() {
        assert_eq!(div_round(6, 4), 2);
        assert_eq!(div_round(-6, 4), -2);
        assert_eq!(div_round(5, 4), 1);
        assert_eq!(div_round(-5, 4), -1);
    }

    #[test]
    fn no_weight_anywhere_leaves_the_picture_as_it_was() {
        let raw: Vec<u8> = (0..8 * 8 * 3).map(|i| (i * 7 % 256) as u8).collect();
        let earlier: Vec<u8> = vec![255; 8 * 8 * 3];
        let field = Field { bw: 1, v: vec![(0, 0)], weight: vec![0; 4] };
        assert_eq!(samples(&raw, &[&earlier], &[field], (2, 2), (8, 8)), raw);
        // Full weight on an equal picture: the mean of two equal samples is the sample.
        let field = Field { bw: 1, v: vec![(0, 0)], weight: vec![FULL; 4] };
        assert_eq!(samples(&raw, &[&raw], &[field], (2, 2), (8, 8)), raw);
    }
}

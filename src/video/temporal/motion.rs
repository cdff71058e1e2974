//! Motion between two small input frames, block by block: where each block of the current frame
//! was in an earlier one, to a quarter of an input pixel (a whole output pixel at ×4), found coarse
//! to fine on a three-level pyramid of the luma, and how well each pixel matches there. Integer
//! arithmetic only: the same frames give the same vectors and weights on every machine, which is
//! what keeps segmented runs frame-identical.

use crate::video::items::Pixels;

/// Block side in input pixels: one vector per block.
pub const BLOCK: usize = 8;
/// The coarsest level's search reaches this far, in input pixels (±4 at a quarter of the size).
const REACH: i32 = 16;
/// A block keeps the zero vector unless another matches better by this much (sum of absolute
/// differences over the block): still pictures with codec noise do not swim.
const ZERO_BIAS: u32 = (BLOCK * BLOCK) as u32;

/// One grey plane, 8 bits a sample.
pub struct Plane {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Plane {
    /// The sample at (x, y), the nearest edge sample outside the plane.
    #[inline]
    fn at(&self, x: i32, y: i32) -> u32 {
        let x = x.clamp(0, self.w as i32 - 1) as usize;
        let y = y.clamp(0, self.h as i32 - 1) as usize;
        self.px[y * self.w + x] as u32
    }

    /// Half the size, each sample the rounded mean of four.
    fn half(&self) -> Plane {
        let (w, h) = (self.w.div_ceil(2), self.h.div_ceil(2));
        let mut px = Vec::with_capacity(w * h);
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                let s = self.at(2 * x, 2 * y)
                    + self.at(2 * x + 1, 2 * y)
                    + self.at(2 * x, 2 * y + 1)
                    + self.at(2 * x + 1, 2 * y + 1);
                px.push(((s + 2) / 4) as u8);
            }
        }
        Plane { w, h, px }
    }

    /// Sum of absolute differences between the `size`² window at (x, y) here and the one at
    /// (x + dx, y + dy) in `other`.
    fn sad(&self, other: &Plane, x: i32, y: i32, size: i32, dx: i32, dy: i32) -> u32 {
        let inside = x >= 0
            && y >= 0
            && x + size <= self.w as i32
            && y + size <= self.h as i32
            && x + dx >= 0
            && y + dy >= 0
            && x + dx + size <= other.w as i32
            && y + dy + size <= other.h as i32;
        let mut s = 0;
        if inside {
            for j in 0..size as usize {
                let a = &self.px[(y as usize + j) * self.w + x as usize..][..size as usize];
                let b = &other.px[((y + dy) as usize + j) * other.w + (x + dx) as usize..][..size as usize];
                s += a.iter().zip(b).map(|(&p, &q)| (p as i32 - q as i32).unsigned_abs()).sum::<u32>();
            }
        } else {
            for j in 0..size {
                for i in 0..size {
                    s += self.at(x + i, y + j).abs_diff(other.at(x + dx + i, y + dy + j));
                }
            }
        }
        s
    }

    /// The sample at (x + qx/4, y + qy/4): bilinear between the four around it, in sixteenths.
    #[inline]
    fn quarter(&self, x: i32, y: i32, qx: i32, qy: i32) -> u32 {
        let (ix, fx) = (x + (qx >> 2), (qx & 3) as u32);
        let (iy, fy) = (y + (qy >> 2), (qy & 3) as u32);
        let a = self.at(ix, iy) * (4 - fx) + self.at(ix + 1, iy) * fx;
        let b = self.at(ix, iy + 1) * (4 - fx) + self.at(ix + 1, iy + 1) * fx;
        a * (4 - fy) + b * fy
    }

    /// The block's sum of absolute differences with `other` moved by (qx, qy) quarter pixels.
    fn sad_quarter(&self, other: &Plane, x: i32, y: i32, size: i32, qx: i32, qy: i32) -> u32 {
        let (ix, iy) = (x + (qx >> 2), y + (qy >> 2));
        let inside = x >= 0
            && y >= 0
            && x + size <= self.w as i32
            && y + size <= self.h as i32
            && ix >= 0
            && iy >= 0
            && ix + size < other.w as i32
            && iy + size < other.h as i32;
        let mut s = 0;
        if inside {
            // The same sums as `quarter`, without its edge clamping: the block and its moved
            // copy (one sample more each way) lie inside.
            let (fx, fy) = ((qx & 3) as u32, (qy & 3) as u32);
            let (w00, w10, w01, w11) = ((4 - fx) * (4 - fy), fx * (4 - fy), (4 - fx) * fy, fx * fy);
            let size = size as usize;
            for j in 0..size {
                let a = &self.px[(y as usize + j) * self.w + x as usize..][..size];
                let r0 = &other.px[(iy as usize + j) * other.w + ix as usize..][..size + 1];
                let r1 = &other.px[(iy as usize + j + 1) * other.w + ix as usize..][..size + 1];
                for i in 0..size {
                    let v = w00 * r0[i] as u32 + w10 * r0[i + 1] as u32 + w01 * r1[i] as u32 + w11 * r1[i + 1] as u32;
                    s += (a[i] as u32 * 16).abs_diff(v);
                }
            }
            return (s + 8) / 16;
        }
        for j in 0..size {
            for i in 0..size {
                let p = self.at(x + i, y + j) * 16;
                s += p.abs_diff(other.quarter(x + i, y + j, qx, qy));
            }
        }
        (s + 8) / 16
    }
}

/// A frame's luma and its half- and quarter-size copies.
pub struct Luma {
    levels: [Plane; 3],
}

impl Luma {
    /// The luma of a picture (BT.601 weights in 8 bits; 16-bit samples taken by their high byte).
    pub fn of(pixels: &Pixels) -> Luma {
        let (w, h) = pixels.dimensions();
        let (w, h) = (w as usize, h as usize);
        let y = |r: u32, g: u32, b: u32| ((77 * r + 150 * g + 29 * b + 128) >> 8) as u8;
        let px: Vec<u8> = match pixels {
            Pixels::Rgb8(p) => p.as_raw().chunks_exact(3).map(|c| y(c[0] as u32, c[1] as u32, c[2] as u32)).collect(),
            Pixels::Rgb16(p) => p
                .as_raw()
                .chunks_exact(3)
                .map(|c| y((c[0] >> 8) as u32, (c[1] >> 8) as u32, (c[2] >> 8) as u32))
                .collect(),
        };
        let full = Plane { w, h, px };
        let half = full.half();
        let quarter = half.half();
        Luma { levels: [full, half, quarter] }
    }

    /// Width and height of the full-size plane.
    pub fn size(&self) -> (usize, usize) {
        (self.levels[0].w, self.levels[0].h)
    }
}

/// Where each block of a frame was in an earlier one, and how well each pixel matches there.
pub struct Field {
    /// Blocks across.
    pub bw: usize,
    /// One vector a block, row by row, in quarter input pixels.
    pub v: Vec<(i32, i32)>,
    /// One weight an input pixel, row by row, 0 (no match: leave it) to [`FULL`] (a match).
    pub weight: Vec<u8>,
}

/// The weight of a pixel that matches.
pub const FULL: u8 = 64;

/// Mean absolute luma difference (over 3×3 pixels, after motion) at and under which a pixel
/// counts as the same content, and at and over which it counts as different; weights fall
/// linearly between. x264 at crf 16 leaves about one level of noise; 10 rather than 6 took the
/// flicker of moving parts from 1.18 to 1.12 (tools/flicker.py, BENCHMARKS.md) for 0.1 dB of
/// input consistency.
const SAME: u32 = 2;
const DIFFERENT: u32 = 10;

impl Field {
    /// The share of pixels that found no match (0 to 1).
    pub fn unmatched(&self) -> f64 {
        self.weight.iter().filter(|&&w| w == 0).count() as f64 / self.weight.len().max(1) as f64
    }

    /// Whether any pixel matched at all.
    pub fn any(&self) -> bool {
        self.weight.iter().any(|&w| w > 0)
    }
}

/// The motion of `cur`'s blocks into `earlier` (same size), and each pixel's weight.
pub fn search(cur: &Luma, earlier: &Luma) -> Field {
    let (w, h) = cur.size();
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    let mut v = vec![(0i32, 0i32); bw * bh];
    let b = BLOCK as i32;
    for by in 0..bh {
        for bx in 0..bw {
            let (x, y) = ((bx * BLOCK) as i32, (by * BLOCK) as i32);
            // Quarter size: a window of 6 samples (24 input pixels) about the block, ±REACH.
            let (c2, e2) = (&cur.levels[2], &earlier.levels[2]);
            let (x2, y2) = (x / 4 - 1, y / 4 - 1);
            let r = REACH / 4;
            let mut best = (c2.sad(e2, x2, y2, 6, 0, 0), 0, 0);
            for dy in -r..=r {
                for dx in -r..=r {
                    let s = c2.sad(e2, x2, y2, 6, dx, dy);
                    if s < best.0 {
                        best = (s, dx, dy);
                    }
                }
            }
            // Half size: a window of 8 (16 input pixels) about the block, ±1 about twice that.
            let (c1, e1) = (&cur.levels[1], &earlier.levels[1]);
            let (x1, y1) = (x / 2 - b / 4, y / 2 - b / 4);
            let (cx, cy) = (best.1 * 2, best.2 * 2);
            let mut best = (u32::MAX, 0, 0);
            for (dx, dy) in around(cx, cy).chain([(0, 0)]) {
                let s = c1.sad(e1, x1, y1, b, dx, dy);
                if s < best.0 {
                    best = (s, dx, dy);
                }
            }
            // Full size: the block itself, ±1 about twice that, and the neighbours' vectors.
            let (c0, e0) = (&cur.levels[0], &earlier.levels[0]);
            let mut candidates: Vec<(i32, i32)> = around(best.1 * 2, best.2 * 2).collect();
            if bx > 0 {
                let (qx, qy) = v[by * bw + bx - 1];
                candidates.push((qx >> 2, qy >> 2));
            }
            if by > 0 {
                let (qx, qy) = v[(by - 1) * bw + bx];
                candidates.push((qx >> 2, qy >> 2));
            }
            let zero = c0.sad(e0, x, y, b, 0, 0);
            let mut best = (zero, 0, 0);
            for (dx, dy) in candidates {
                let s = c0.sad(e0, x, y, b, dx, dy);
                if s < best.0 {
                    best = (s, dx, dy);
                }
            }
            if zero <= best.0 + ZERO_BIAS {
                best = (zero, 0, 0);
            }
            // Half, then quarter pixels about it.
            let mut q = (best.0, best.1 * 4, best.2 * 4);
            if q.1 != 0 || q.2 != 0 || zero > 0 {
                for step in [2, 1] {
                    let (qx, qy) = (q.1, q.2);
                    for (dx, dy) in around(0, 0).filter(|&d| d != (0, 0)) {
                        let s = c0.sad_quarter(e0, x, y, b, qx + dx * step, qy + dy * step);
                        if s < q.0 {
                            q = (s, qx + dx * step, qy + dy * step);
                        }
                    }
                }
            }
            // Flat or noisy blocks find "better" fractions by chance: the zero vector stays
            // unless the match is clearly better.
            if zero <= q.0 + ZERO_BIAS {
                q = (zero, 0, 0);
            }
            v[by * bw + bx] = (q.1, q.2);
        }
    }
    let weight = weights(cur, earlier, &v, bw);
    Field { bw, v, weight }
}

/// The nine positions at and about (x, y).
fn around(x: i32, y: i32) -> impl Iterator<Item = (i32, i32)> {
    (-1..=1).flat_map(move |dy| (-1..=1).map(move |dx| (x + dx, y + dy)))
}

/// Each pixel's weight: its 3×3 mean absolute difference from `earlier` moved by its block's
/// vector, mapped from [`SAME`]…[`DIFFERENT`] to [`FULL`]…0.
fn weights(cur: &Luma, earlier: &Luma, v: &[(i32, i32)], bw: usize) -> Vec<u8> {
    let (c, e) = (&cur.levels[0], &earlier.levels[0]);
    let (w, h) = (c.w, c.h);
    // Absolute differences in sixteenths of a level, block by block.
    let mut diff = vec![0u32; w * h];
    for by in 0..h.div_ceil(BLOCK) {
        for bx in 0..bw {
            let (qx, qy) = v[by * bw + bx];
            let (x0, y0) = (bx * BLOCK, by * BLOCK);
            let (x1, y1) = ((x0 + BLOCK).min(w), (y0 + BLOCK).min(h));
            let (ix, iy) = (x0 as i32 + (qx >> 2), y0 as i32 + (qy >> 2));
            let inside = ix >= 0 && iy >= 0 && ix + BLOCK as i32 + 1 < e.w as i32 && iy + BLOCK as i32 + 1 < e.h as i32;
            let (fx, fy) = ((qx & 3) as u32, (qy & 3) as u32);
            let (w00, w10, w01, w11) = ((4 - fx) * (4 - fy), fx * (4 - fy), (4 - fx) * fy, fx * fy);
            for y in y0..y1 {
                for x in x0..x1 {
                    let moved = if inside {
                        // `quarter`'s sums, without its clamping (all four samples inside).
                        let (sx, sy) = ((ix + (x - x0) as i32) as usize, (iy + (y - y0) as i32) as usize);
                        let (r0, r1) = (&e.px[sy * e.w + sx..], &e.px[(sy + 1) * e.w + sx..]);
                        w00 * r0[0] as u32 + w10 * r0[1] as u32 + w01 * r1[0] as u32 + w11 * r1[1] as u32
                    } else {
                        e.quarter(x as i32, y as i32, qx, qy)
                    };
                    diff[y * w + x] = (c.px[y * w + x] as u32 * 16).abs_diff(moved);
                }
            }
        }
    }
    // The 3×3 sums (fewer neighbours at the edges, scaled to nine), rows then columns.
    let mut rows = vec![0u32; w * h];
    for y in 0..h {
        let d = &diff[y * w..][..w];
        for x in 0..w {
            rows[y * w + x] = d[x.saturating_sub(1)..(x + 2).min(w)].iter().sum();
        }
    }
    let across = |x: usize| ((x + 2).min(w) - x.saturating_sub(1)) as u32;
    let mut out = vec![0u8; w * h];
    let (same, different) = (SAME * 16 * 9, DIFFERENT * 16 * 9);
    for y in 0..h {
        let (top, bottom) = (y.saturating_sub(1), (y + 2).min(h));
        let down = (bottom - top) as u32;
        for x in 0..w {
            let s: u32 = (top..bottom).map(|j| rows[j * w + x]).sum();
            let n = across(x) * down;
            let s = if n == 9 { s } else { s * 9 / n };
            out[y * w + x] = if s <= same {
                FULL
            } else if s >= different {
                0
            } else {
                ((different - s) * FULL as u32 / (different - same)) as u8
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    /// A textured picture, moved by (dx, dy) whole pixels.
    fn texture(w: u32, h: u32, dx: i32, dy: i32) -> Pixels {
        Pixels::Rgb8(RgbImage::from_fn(w, h, |x, y| {
            let (x, y) = (x as i32 - dx, y as i32 - dy);
            let v = ((x * 37 + y * 11) ^ (x * y)).rem_euclid(251) as u8;
            Rgb([v, v / 2, 255 - v])
        }))
    }

    #[test]
    fn a_shifted_picture_is_found_where_it_was() {
        let earlier = Luma::of(&texture(64, 48, 0, 0));
        let cur = Luma::of(&texture(64, 48, 3, -2));
        let f = search(&cur, &earlier);
        // Inner blocks (the edges see pixels that came in) point 3 left and 2 down, in quarters.
        let inner = f.v[f.bw + 2];
        assert_eq!(inner, (-12, 8));
        assert!(f.weight[20 * 64 + 30] == FULL);
    }

    #[test]
    fn the_same_picture_stays_put_and_another_matches_nowhere() {
        let a = Luma::of(&texture(40, 40, 0, 0));
        let f = search(&a, &a);
        assert!(f.v.iter().all(|&v| v == (0, 0)));
        assert_eq!(f.unmatched(), 0.0);
        let flat = Luma::of(&Pixels::Rgb8(RgbImage::from_pixel(40, 40, Rgb([0, 0, 0]))));
        let g = search(&flat, &a);
        assert!(g.unmatched() > 0.9, "{}", g.unmatched());
    }
}

//! Tiling: split a picture into tiles with `pad` pixels of context on every side (reflected at
//! the picture's border, as Real-ESRGAN's pre-padding does; the edge repeated along a side too
//! short to reflect), and stitch the model's outputs back by keeping only each tile's centre.
//! Pure functions, so seams can be tested without a model.

use crate::planes::Planes;

/// One tile: the region of the input it is responsible for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    /// Left edge, in input pixels (without the context pad).
    pub x: u32,
    /// Top edge, in input pixels.
    pub y: u32,
    /// Width in input pixels, at most the plan's `tile`.
    pub w: u32,
    /// Height in input pixels, at most the plan's `tile`.
    pub h: u32,
}

/// How a `width`×`height` picture is cut into tiles of at most `tile`×`tile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePlan {
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// Largest tile side in pixels (never 0: [`TilePlan::new`] turns 0 into the longer side).
    pub tile: u32,
}

impl TilePlan {
    /// A plan with tiles of at most `tile` pixels a side; 0 means one tile for the whole picture.
    pub fn new(width: u32, height: u32, tile: u32) -> Self {
        let tile = if tile == 0 { width.max(height) } else { tile };
        TilePlan { width, height, tile }
    }

    /// Tiles in reading order, of nearly equal sizes (no thin leftover strip at the end).
    pub fn tiles(&self) -> Vec<Tile> {
        let cuts = |len: u32| -> Vec<(u32, u32)> {
            let n = len.div_ceil(self.tile).max(1);
            (0..n).map(|i| (len * i / n, len * (i + 1) / n - len * i / n)).collect()
        };
        let (xs, ys) = (cuts(self.width), cuts(self.height));
        ys.iter().flat_map(|&(y, h)| xs.iter().map(move |&(x, w)| Tile { x, y, w, h })).collect()
    }
}

/// Index `i` reflected into `0..n` (numpy's 'reflect': the edge pixel is not repeated).
pub fn reflect(i: i64, n: i64) -> usize {
    if n <= 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let m = i.rem_euclid(period);
    (if m >= n { period - m } else { m }) as usize
}

/// Index `i` of a border `pad` wide around `0..n`: reflected when the side is longer than the
/// pad, as Real-ESRGAN does (torch's reflect padding needs that), else the nearest edge pixel.
/// Reflecting a side shorter than the pad would repeat the picture over and over, and a network
/// sees a two-pixel picture turned into one-pixel stripes as texture to blend: a red and a
/// blue pixel came out purple.
pub fn border_index(i: i64, n: i64, pad: u32) -> usize {
    if n > pad as i64 {
        reflect(i, n)
    } else {
        i.clamp(0, (n - 1).max(0)) as usize
    }
}

/// The reflected border Real-ESRGAN's runners put around a whole picture (`pre_pad`): a network
/// with padded convolutions sees this much mirrored picture before its own zeros.
pub const BORDER: u32 = 10;

/// The tile's region grown by `context` px on every side, but never more than `border` px past
/// the picture's edge (read there with [`border_index`]): the whole picture is one such region,
/// so a tile whose `context` covers the network's reach sees what the whole picture's run sees
/// around it, and makes the same pixels. Returns the region and its context columns and rows on
/// the left and the top. With `context == border` every tile
/// is grown by `context` on every side.
pub fn extract_framed(src: &Planes, t: Tile, context: u32, border: u32) -> (Planes, u32, u32) {
    let (b, c) = (border as i64, context as i64);
    let x0 = (t.x as i64 - c).max(-b);
    let y0 = (t.y as i64 - c).max(-b);
    let x1 = (t.x as i64 + t.w as i64 + c).min(src.width as i64 + b);
    let y1 = (t.y as i64 + t.h as i64 + c).min(src.height as i64 + b);
    let (w, h) = ((x1 - x0) as u32, (y1 - y0) as u32);
    let mut out = Planes::new(w, h, src.channels);
    let xs: Vec<usize> = (x0..x1).map(|i| border_index(i, src.width as i64, border)).collect();
    for ch in 0..src.channels {
        let (sp, op) = (src.plane(ch), out.plane_mut(ch));
        for (j, y) in (y0..y1).enumerate() {
            let sy = border_index(y, src.height as i64, border);
            let srow = &sp[sy * src.width as usize..][..src.width as usize];
            for (o, &sx) in op[j * w as usize..][..w as usize].iter_mut().zip(&xs) {
                *o = srow[sx];
            }
        }
    }
    (out, (t.x as i64 - x0) as u32, (t.y as i64 - y0) as u32)
}

/// Where a region for a network with strided convolutions may start: a multiple of this many
/// pixels from the picture's corner, so its strided grid is the whole picture's grid.
pub const STRIDE_ALIGN: u32 = 4;

/// The tile's region grown by at least `context` px on every side, but never past the picture's
/// border (a network that pads the border itself, as Real-CUGAN's and waifu2x's runners do, must
/// see the border where it is), starting at a multiple of [`STRIDE_ALIGN`] (their stride-2
/// convolutions then sample the same grid as on the whole picture). Returns the region and how
/// many context columns and rows it has on the left and the top.
pub fn extract_within(src: &Planes, t: Tile, context: u32) -> (Planes, u32, u32) {
    let start = |v: u32| v.saturating_sub(context) / STRIDE_ALIGN * STRIDE_ALIGN;
    let (x0, y0) = (start(t.x), start(t.y));
    let (x1, y1) = ((t.x + t.w + context).min(src.width), (t.y + t.h + context).min(src.height));
    let (w, h) = (x1 - x0, y1 - y0);
    let mut out = Planes::new(w, h, src.channels);
    for c in 0..src.channels {
        let (sp, op) = (src.plane(c), out.plane_mut(c));
        for j in 0..h as usize {
            let row = &sp[(y0 as usize + j) * src.width as usize + x0 as usize..][..w as usize];
            op[j * w as usize..][..w as usize].copy_from_slice(row);
        }
    }
    (out, t.x - x0, t.y - y0)
}

/// Copies the tile's own part of a model output (after `left`, `top` context px, ×`scale`)
/// into `dst`.
pub fn place_from(dst: &mut Planes, out: &Planes, t: Tile, (left, top): (u32, u32), scale: u32) {
    let (ox, oy) = ((left * scale) as usize, (top * scale) as usize);
    let (w, h) = ((t.w * scale) as usize, (t.h * scale) as usize);
    let (dx, dy) = ((t.x * scale) as usize, (t.y * scale) as usize);
    let (dw, ow) = (dst.width as usize, out.width as usize);
    for c in 0..dst.channels {
        let src = out.plane(c);
        let d = dst.plane_mut(c);
        for j in 0..h {
            d[(dy + j) * dw + dx..][..w].copy_from_slice(&src[(oy + j) * ow + ox..][..w]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference for [`extract_framed`]: the tile's region grown by `pad` on every side, read
    /// with [`border_index`] outside the picture (the engine's tiles before contexts followed reach).
    fn extract(src: &Planes, t: Tile, pad: u32) -> Planes {
        let (w, h) = (t.w + 2 * pad, t.h + 2 * pad);
        let mut out = Planes::new(w, h, src.channels);
        let xs: Vec<usize> =
            (0..w as i64).map(|i| border_index(t.x as i64 - pad as i64 + i, src.width as i64, pad)).collect();
        for c in 0..src.channels {
            let (sp, op) = (src.plane(c), out.plane_mut(c));
            for j in 0..h as usize {
                let sy = border_index(t.y as i64 - pad as i64 + j as i64, src.height as i64, pad);
                let srow = &sp[sy * src.width as usize..][..src.width as usize];
                for (o, &sx) in op[j * w as usize..][..w as usize].iter_mut().zip(&xs) {
                    *o = srow[sx];
                }
            }
        }
        out
    }

    #[test]
    fn reflect_matches_numpy() {
        let r: Vec<usize> = (-3..8).map(|i| reflect(i, 5)).collect();
        assert_eq!(r, vec![3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
        assert_eq!(reflect(-7, 1), 0);
        assert_eq!(reflect(-5, 2), 1);
    }

    #[test]
    fn sides_shorter_than_the_pad_repeat_their_edge() {
        // 5 > pad 3: reflected; 2 <= pad 3: the edge pixel repeated, not 0 1 0 1 stripes.
        let r: Vec<usize> = (-3..8).map(|i| border_index(i, 5, 3)).collect();
        assert_eq!(r, vec![3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
        let r: Vec<usize> = (-3..5).map(|i| border_index(i, 2, 3)).collect();
        assert_eq!(r, vec![0, 0, 0, 0, 1, 1, 1, 1]);
        let mut src = Planes::new(2, 1, 1);
        src.data = vec![0.25, 0.75];
        let e = extract(&src, Tile { x: 0, y: 0, w: 2, h: 1 }, 3);
        assert_eq!((e.width, e.height), (8, 7));
        assert!(e.data.chunks(8).all(|row| row == [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75]));
    }

    #[test]
    fn a_framed_tile_sees_what_the_whole_picture_sees_around_it() {
        let mut src = Planes::new(30, 20, 1);
        for (i, v) in src.data.iter_mut().enumerate() {
            *v = i as f32;
        }
        let whole = Tile { x: 0, y: 0, w: 30, h: 20 };
        // The whole picture framed is the whole picture with its border, as `extract` makes it.
        let (all, left, top) = extract_framed(&src, whole, 18, 10);
        assert_eq!((left, top), (10, 10));
        assert_eq!(all, extract(&src, whole, 10));
        // A corner tile: 18 px of its neighbours inside, 10 px of border outside.
        let t = Tile { x: 0, y: 0, w: 10, h: 10 };
        let (x, left, top) = extract_framed(&src, t, 18, 10);
        assert_eq!((x.width, x.height, left, top), (38, 38, 10, 10));
        for j in 0..x.height as usize {
            for i in 0..x.width as usize {
                assert_eq!(x.data[j * x.width as usize + i], all.data[j * all.width as usize + i], "{i},{j}");
            }
        }
        // With context == border, it is `extract`.
        let t = Tile { x: 10, y: 5, w: 10, h: 10 };
        assert_eq!(extract_framed(&src, t, 6, 6), (extract(&src, t, 6), 6, 6));
    }

    #[test]
    fn tiles_cover_every_pixel_once() {
        let plan = TilePlan::new(101, 37, 32);
        let mut seen = vec![0u8; 101 * 37];
        for t in plan.tiles() {
            assert!(t.w <= 32 && t.h <= 32 && t.w > 0 && t.h > 0);
            for y in t.y..t.y + t.h {
                for x in t.x..t.x + t.w {
                    seen[(y * 101 + x) as usize] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
    }

    #[test]
    fn split_and_stitch_with_a_pointwise_model_is_exact() {
        // A pointwise "model" (nearest x2) makes any tiling exact: checks the bookkeeping.
        let mut src = Planes::new(23, 17, 3);
        for (i, v) in src.data.iter_mut().enumerate() {
            *v = (i % 251) as f32 / 251.0;
        }
        let x2 = |p: &Planes| {
            let mut o = Planes::new(p.width * 2, p.height * 2, p.channels);
            let (oa, ow) = (o.area(), o.width as usize);
            for c in 0..p.channels {
                for y in 0..o.height as usize {
                    for x in 0..ow {
                        o.data[c * oa + y * ow + x] = p.data[c * p.area() + (y / 2) * p.width as usize + x / 2];
                    }
                }
            }
            o
        };
        let whole = x2(&src);
        for (tile, pad) in [(8, 3), (5, 0), (40, 10)] {
            let mut dst = Planes::new(46, 34, 3);
            for t in TilePlan::new(23, 17, tile).tiles() {
                place_from(&mut dst, &x2(&extract(&src, t, pad)), t, (pad, pad), 2);
            }
            assert_eq!(dst, whole, "tile {tile} pad {pad}");
            let mut dst = Planes::new(46, 34, 3);
            for t in TilePlan::new(23, 17, tile).tiles() {
                let (x, left, top) = extract_within(&src, t, pad);
                place_from(&mut dst, &x2(&x), t, (left, top), 2);
            }
            assert_eq!(dst, whole, "within: tile {tile} context {pad}");
            for border in [0, pad / 2, pad] {
                let mut dst = Planes::new(46, 34, 3);
                for t in TilePlan::new(23, 17, tile).tiles() {
                    let (x, left, top) = extract_framed(&src, t, pad, border);
                    place_from(&mut dst, &x2(&x), t, (left, top), 2);
                }
                assert_eq!(dst, whole, "framed: tile {tile} context {pad} border {border}");
            }
        }
    }
}

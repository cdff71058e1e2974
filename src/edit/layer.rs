//! Premultiplied RGBA layers composited over a picture: the one `over` that watermarks, text and
//! drawn annotations share (its own file, so that text and marks need not import each other).

use crate::planes::Planes;

/// Premultiplied `layer` at (`x`, `y`) over the premultiplied RGBA `target`.
pub fn over(target: &mut Planes, layer: &Planes, (x, y): (i64, i64)) {
    let (ta, la) = (target.area(), layer.area());
    let (tw, th) = (target.width as i64, target.height as i64);
    for ly in 0..layer.height as i64 {
        for lx in 0..layer.width as i64 {
            let (px, py) = (x + lx, y + ly);
            if px < 0 || py < 0 || px >= tw || py >= th {
                continue;
            }
            let (t, l) = ((py * tw + px) as usize, (ly * layer.width as i64 + lx) as usize);
            let alpha = layer.data[3 * la + l];
            for c in 0..4 {
                target.data[c * ta + t] = layer.data[c * la + l] + target.data[c * ta + t] * (1.0 - alpha);
            }
        }
    }
}

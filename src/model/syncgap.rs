//! Tiling for squeeze-excite networks (Real-CUGAN, waifu2x CUNet), whose blocks scale their
//! channels by a mean taken over the whole picture: a tile alone would take its own mean and
//! come out differently. As realcugan-ncnn-vulkan's accurate "syncgap", the means are gathered
//! over the whole picture first, stage by stage, from the tiles: the `-se.onnx` twin of each
//! network (tools/ncnn2onnx.py --se-split) takes each pooled mean as an input `se<k>` and gives
//! the feature map it pools as an output `feat<k>`. For stage k every tile runs with the means
//! of stages < k and adds up its own part of `feat<k>` (the part that lies over the tile itself,
//! or over the picture's padded border for border tiles), so the sums cover the whole picture's
//! feature map once; then every tile runs with all the means and keeps its own output.
//! A tiled picture costs stages + 1 network runs per tile (models/README.md).

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::TensorRef;

use crate::config::Device;
use crate::error::{Error, Result};
use crate::model::network::ort_error;
use crate::model::runtime;
use crate::planes::Planes;
use crate::tile::{self, Tile};

/// The two-pass twin of one network: its session and its framing from the file's metadata.
pub struct SeNet {
    name: String,
    session: Session,
    /// Pooled means, with their channel counts, in order.
    stages: Vec<usize>,
    /// The border the graph pads around its input, and the multiple its size is aligned to.
    pad: u32,
    align: u32,
    /// For each stage: the feature map's stride `r` and how many padded-input pixels its valid
    /// convolutions lose `a` (feature size = (padded size - a) / r), found by probing.
    geometry: Vec<(f64, f64)>,
}

/// The `-se.onnx` file beside a network's file.
pub fn twin_path(file: &Path) -> PathBuf {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    file.with_file_name(format!("{stem}-se.onnx"))
}

impl SeNet {
    /// Loads the twin of `file` (an error naming it when missing: tools/setup.sh makes both).
    pub fn load(name: &str, file: &Path, device: Device, threads: usize) -> Result<SeNet> {
        let path = twin_path(file);
        if !path.is_file() {
            return Err(Error::model(
                name,
                format!("{} missing (tiles of this network need it); run tools/setup.sh", path.display()),
            ));
        }
        let session = runtime::builder(device, threads)?
            .commit_from_file(&path)
            .map_err(|e| Error::model_ort(name, "not a loadable ONNX model", e))?;
        let meta = session.metadata().map_err(|e| Error::model_ort(name, "reading the metadata", e))?;
        let frame = meta.custom("frame").unwrap_or_default();
        // "reflect 18 align 2[ residual]"
        let words: Vec<&str> = frame.split_whitespace().collect();
        let (pad, align) = match words[..] {
            [_, p, "align", a, ..] => (p.parse().ok(), a.parse().ok()),
            _ => (None, None),
        };
        let (Some(pad), Some(align)) = (pad, align) else {
            return Err(Error::model(name, format!("{}: no 'frame' metadata", path.display())));
        };
        drop(meta);
        let mut stages = Vec::new();
        for i in session.inputs().iter().skip(1) {
            let c = match i.dtype() {
                ort::value::ValueType::Tensor { shape, .. } if shape.len() == 4 && shape[1] > 0 => shape[1] as usize,
                _ => return Err(Error::model(name, format!("input {} is not a [1, C, 1, 1] mean", i.name()))),
            };
            stages.push(c);
        }
        let mut net = SeNet { name: name.to_string(), session, stages, pad, align, geometry: Vec::new() };
        net.geometry = net.probe()?;
        Ok(net)
    }

    /// The padded length the graph gives its network for `n` input pixels.
    fn padded(&self, n: u32) -> f64 {
        (n + 2 * self.pad + (self.align - n % self.align) % self.align) as f64
    }

    /// Each stage's stride and loss, from the feature sizes of two square inputs.
    fn probe(&mut self) -> Result<Vec<(f64, f64)>> {
        let zeros: Vec<Vec<f32>> = self.stages.iter().map(|&c| vec![0.0; c]).collect();
        let (n1, n2) = (64, 96);
        let mut sizes = Vec::new();
        for n in [n1, n2] {
            let x = Planes::new(n, n, 3);
            sizes.push(
                (0..self.stages.len())
                    .map(|k| self.run(&x, &zeros, &format!("feat{k}")))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        let (l1, l2) = (self.padded(n1), self.padded(n2));
        Ok((0..self.stages.len())
            .map(|k| {
                let (f1, f2) = (sizes[0][k].height as f64, sizes[1][k].height as f64);
                let r = (l2 - l1) / (f2 - f1).max(1.0);
                (r, l1 - r * f1)
            })
            .collect())
    }

    /// Runs `x` with the means `se`, giving output `what` (`output` or `feat<k>`).
    fn run(&mut self, x: &Planes, se: &[Vec<f32>], what: &str) -> Result<Planes> {
        let name = self.name.clone();
        let err = |e: ort::Error| ort_error(&name, "running the network (two-pass tiles)", e);
        let (w, h) = (x.width as usize, x.height as usize);
        let mut inputs: Vec<(String, ort::session::SessionInputValue<'_>)> = Vec::new();
        inputs.push((
            "input".into(),
            TensorRef::from_array_view(([1usize, 3, h, w], &x.data[..3 * w * h])).map_err(err)?.into(),
        ));
        for (k, m) in se.iter().enumerate() {
            inputs.push((
                format!("se{k}"),
                TensorRef::from_array_view(([1usize, m.len(), 1, 1], &m[..])).map_err(err)?.into(),
            ));
        }
        let outputs = self.session.run(inputs).map_err(err)?;
        let v = outputs.get(what).ok_or_else(|| Error::model(&name, format!("no output {what}")))?;
        let (shape, data) = v.try_extract_tensor::<f32>().map_err(err)?;
        let [1, c, oh, ow] = shape[..] else {
            return Err(Error::model(&name, format!("{what} has shape {shape:?}")));
        };
        Ok(Planes { width: ow as u32, height: oh as u32, channels: c as usize, data: data.to_vec() })
    }
}

/// The feature rows (or columns) `j0..j1` of a tile whose centres lie over the tile's own
/// pixels `own0..own1` (a side at the picture's border also owns what lies beyond it): with the
/// extracted region starting at picture pixel `origin`, feature `j` of a stage with stride `r`
/// and loss `a` is centred on picture pixel origin - pad + a/2 + r·j + (r-1)/2. Regions start
/// at multiples of the stride, so every feature of the whole picture is some tile's, once.
#[allow(clippy::too_many_arguments)]
fn own_range(
    feat: usize,
    (r, a): (f64, f64),
    origin: u32,
    pad: u32,
    own: (u32, u32),
    first: bool,
    last: bool,
) -> (usize, usize) {
    let centre = |j: usize| origin as f64 - pad as f64 + a / 2.0 + r * j as f64 + (r - 1.0) / 2.0;
    let mine = |j: usize| (first || centre(j) >= own.0 as f64) && (last || centre(j) < own.1 as f64);
    let j0 = (0..feat).find(|&j| mine(j)).unwrap_or(feat);
    let j1 = (j0..feat).find(|&j| !mine(j)).unwrap_or(feat);
    (j0, j1)
}

/// Upscales `src` by `scale` tile by tile into `out` with the means of the whole picture.
/// `tick(n)` is called with the number of tiles finished in the last pass (and 0 during the
/// gathering passes); when it returns false the work stops with [`Error::Cancelled`].
pub fn run_tiled(
    net: &mut SeNet,
    src: &Planes,
    tiles: &[Tile],
    context: u32,
    scale: u32,
    out: &mut Planes,
    tick: &mut dyn FnMut(u64) -> bool,
) -> Result<()> {
    let mut means: Vec<Vec<f32>> = net.stages.iter().map(|&c| vec![0.0; c]).collect();
    for k in 0..net.stages.len() {
        let mut sums = vec![0f64; net.stages[k]];
        let mut count = 0f64;
        for &t in tiles {
            let (x, left, top) = tile::extract_within(src, t, context);
            let feat = net.run(&x, &means, &format!("feat{k}"))?;
            let (fw, fh) = (feat.width as usize, feat.height as usize);
            let g = net.geometry[k];
            let (y0, y1) = own_range(fh, g, t.y - top, net.pad, (t.y, t.y + t.h), t.y == 0, t.y + t.h == src.height);
            let (x0, x1) = own_range(fw, g, t.x - left, net.pad, (t.x, t.x + t.w), t.x == 0, t.x + t.w == src.width);
            for (c, s) in sums.iter_mut().enumerate() {
                let plane = &feat.data[c * fw * fh..][..fw * fh];
                *s += (y0..y1)
                    .map(|y| plane[y * fw + x0..y * fw + x1].iter().map(|&v| v as f64).sum::<f64>())
                    .sum::<f64>();
            }
            count += ((y1 - y0) * (x1 - x0)) as f64;
            if !tick(0) {
                return Err(Error::Cancelled);
            }
        }
        means[k] = sums.iter().map(|s| (s / count.max(1.0)) as f32).collect();
    }
    for (i, &t) in tiles.iter().enumerate() {
        let (x, left, top) = tile::extract_within(src, t, context);
        let y = net.run(&x, &means, "output")?;
        tile::place_from(out, &y, t, (left, top), scale);
        if !tick(i as u64 + 1) {
            return Err(Error::Cancelled);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_ranges_cover_the_feature_map_once() {
        // A 100 px side: whole picture padded by 18 (136), stride 2, loss 8: 64 features.
        // Tiles 0..50 and 50..100 with 20 px of context (the second region starts at 28).
        let g = (2.0, 8.0);
        let whole = own_range(64, g, 0, 18, (0, 100), true, true);
        assert_eq!(whole, (0, 64));
        let (a0, a1) = own_range(46, g, 0, 18, (0, 50), true, false);
        let (b0, b1) = own_range(50, g, 28, 18, (50, 100), false, true);
        // The second region's feature j is the whole picture's j + 14.
        assert_eq!((a0, a1 - a0 + b1 - b0), (0, 64), "{a0}..{a1} {b0}..{b1}");
        assert_eq!(a1, b0 + 14);
    }
}

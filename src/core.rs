//! The still-image core: one RGB picture in, a larger RGB picture out. Plans the model passes for
//! the asked scale, tiles each pass, and finishes with Lanczos. The image path and the video
//! pipeline both call [`Upscaler`].

use crate::config::{Config, Device, Precision};
use crate::error::{Error, Result};
use crate::model::{self, runtime, ModelSpec, Network};
use crate::planes::Planes;
use crate::resize::{self, Filter};
use crate::tile::{self, TilePlan};

/// Bytes of working memory a network needs per input pixel, a conservative estimate for the
/// ESRGAN family (RRDB at 64 features with its ×4 upsampling tail).
const BYTES_PER_INPUT_PIXEL: u64 = 16 * 1024;

/// Upscales RGB pictures with one model, as configured.
pub struct Upscaler {
    nets: Vec<Network>,
    /// Indices into `nets`, run in order.
    passes: Vec<usize>,
    classic: Option<Filter>,
    cfg: Config,
    device: Device,
    device_note: Option<String>,
}

impl Upscaler {
    /// Loads the model named in `cfg` on its device and plans the passes for `cfg.scale`.
    pub fn new(cfg: &Config) -> Result<Self> {
        cfg.validate()?;
        let mut up = Upscaler {
            nets: Vec::new(),
            passes: Vec::new(),
            classic: None,
            cfg: cfg.clone(),
            device: Device::Cpu,
            device_note: None,
        };
        if let Some(f) = Filter::from_name(&cfg.model) {
            up.classic = Some(f);
            return Ok(up);
        }
        // int8 runs on the CPU only: `auto` then means the CPU (an explicit GPU is refused below).
        let (device, note) = if cfg.precision == Precision::Int8 && cfg.device == Device::Auto {
            (Device::Cpu, Some("cpu (int8 runs on the CPU)".to_string()))
        } else {
            runtime::choose_device(cfg.device)?
        };
        let precision = match cfg.precision {
            Precision::Auto if matches!(device, Device::Cuda(_)) => Precision::Fp16,
            Precision::Auto => Precision::Fp32,
            Precision::Int8 if device != Device::Cpu => {
                return Err(Error::Device {
                    device: device.to_string(),
                    msg: "--precision int8 runs on the CPU only; use fp16 or fp32 on a GPU".into(),
                })
            }
            p => p,
        };
        let spec = match model::resolve(&cfg.model, cfg.model_dir.as_deref(), precision) {
            // Auto precision on a GPU without fp16 files installed: fp32, and say so.
            Err(e) if precision == Precision::Fp16 && cfg.precision == Precision::Auto => {
                up.device_note = Some(format!("fp32 ({e})"));
                model::resolve(&cfg.model, cfg.model_dir.as_deref(), Precision::Fp32)?
            }
            r => r?,
        };
        let ModelSpec::Net { name, variants } = spec else { unreachable!("classic filters are handled above") };
        let native: Vec<u32> = variants.iter().filter_map(|v| v.0).collect();
        if native.is_empty() {
            // A model given by path: its scale is found by probing, then passes are planned.
            let net = Network::load(&name, &variants[0].1, device, cfg.threads, None)?;
            up.passes = vec![0; plan_passes(&[net.scale()], cfg.scale).len()];
            up.nets.push(net);
        } else {
            for s in plan_passes(&native, cfg.scale) {
                let i = match up.nets.iter().position(|n| n.scale() == s) {
                    Some(i) => i,
                    None => {
                        let src = &variants.iter().find(|v| v.0 == Some(s)).expect("planned from these").1;
                        up.nets.push(Network::load(&name, src, device, cfg.threads, Some(s))?);
                        up.nets.len() - 1
                    }
                };
                up.passes.push(i);
            }
        }
        up.device = device;
        up.device_note = match (note, up.device_note.take()) {
            (Some(n), Some(p)) => Some(format!("{n}, {p}")),
            (n, p) => n.or(p),
        };
        Ok(up)
    }

    /// Independent copies of this upscaler for the video path to run on alternate frames, or
    /// none when one is best. On the CPU with the thread count left to the runtime (`threads`
    /// 0) and at least two cores, two copies with half the cores each: one network run per
    /// core group, with no barrier between them, where a single run splits every operator
    /// over all cores and waits at each operator's end (and for idle threads to wake). On two
    /// cores ONNX Runtime ran realesr-animevideov3 at 160×120 at 8.7–9.0 frames/s this way
    /// against 6.3–7.6 with one two-thread session (BENCHMARKS.md).
    pub fn frame_workers(&self) -> Result<Vec<Upscaler>> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if self.device != Device::Cpu || self.passes.is_empty() || self.cfg.threads != 0 || cores < 2 {
            return Ok(Vec::new());
        }
        let cfg = Config { device: Device::Cpu, threads: cores / 2, ..self.cfg.clone() };
        (0..2).map(|_| Upscaler::new(&cfg)).collect()
    }

    /// The device the model runs on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// When the device was chosen automatically: which, and why.
    pub fn device_note(&self) -> Option<&str> {
        self.device_note.as_deref()
    }

    /// The model's scale factors per pass (empty for a classic filter).
    pub fn passes(&self) -> Vec<u32> {
        self.passes.iter().map(|&i| self.nets[i].scale()).collect()
    }

    /// The output size for a `w`×`h` input.
    pub fn output_size(&self, w: u32, h: u32) -> (u32, u32) {
        self.cfg.output_size(w, h)
    }

    /// Upscales a 3-plane RGB picture.
    pub fn upscale(&mut self, img: &Planes) -> Result<Planes> {
        let (tw, th) = self.output_size(img.width, img.height);
        if let Some(f) = self.classic {
            return Ok(resize::resize(img, tw, th, f));
        }
        let mut cur = None;
        for k in 0..self.passes.len() {
            let src = cur.as_ref().unwrap_or(img);
            let next = self.run_tiled(self.passes[k], src)?;
            cur = Some(next);
        }
        match cur {
            Some(out) if (out.width, out.height) == (tw, th) => Ok(out),
            out => Ok(resize::resize(out.as_ref().unwrap_or(img), tw, th, Filter::Lanczos)),
        }
    }

    /// Upscales an 8-bit RGB buffer (the video path's frames).
    pub fn upscale_rgb8(&mut self, img: &image::RgbImage) -> Result<image::RgbImage> {
        Ok(self.upscale(&Planes::from_buffer(img))?.to_rgb8())
    }

    /// The tile size used for a `w`×`h` input: the configured one, or one that fits in memory.
    pub fn tile_size(&self, w: u32, h: u32) -> u32 {
        if self.cfg.tile != 0 {
            return self.cfg.tile;
        }
        auto_tile(w, h, self.cfg.tile_pad, available_memory())
    }

    fn run_tiled(&mut self, net: usize, img: &Planes) -> Result<Planes> {
        let pad = self.cfg.tile_pad;
        let tile = self.tile_size(img.width, img.height);
        let net = &mut self.nets[net];
        let s = net.scale();
        let mut out = Planes::new(img.width * s, img.height * s, 3);
        for t in TilePlan::new(img.width, img.height, tile).tiles() {
            let y = net.run(&tile::extract(img, t, pad))?;
            tile::place(&mut out, &y, t, pad, s);
        }
        Ok(out)
    }
}

/// Chooses native passes whose product is `target`: one pass if a native scale equals it, else
/// the cheapest pair (smaller pass first), else the largest native scale repeated until the
/// product reaches the target (the finishing resize brings it down).
pub fn plan_passes(native: &[u32], target: u32) -> Vec<u32> {
    if native.contains(&target) {
        return vec![target];
    }
    let mut pairs: Vec<(u32, u32)> = native
        .iter()
        .flat_map(|&a| native.iter().map(move |&b| (a, b)))
        .filter(|(a, b)| a * b == target && a <= b)
        .collect();
    pairs.sort_by_key(|&(a, _)| a);
    if let Some(&(a, b)) = pairs.first() {
        return vec![a, b];
    }
    let big = native.iter().copied().max().unwrap_or(1);
    let mut passes = vec![big];
    while big > 1 && passes.iter().product::<u32>() < target {
        passes.push(big);
    }
    passes
}

/// A tile size for a `w`×`h` input so that one tile's working memory fits in a quarter of
/// `available` bytes (at most 4 GiB): the whole picture when it fits, else square tiles in
/// multiples of 16.
pub fn auto_tile(w: u32, h: u32, pad: u32, available: u64) -> u32 {
    let budget = (available / 4).min(4 << 30);
    let whole = (w + 2 * pad) as u64 * (h + 2 * pad) as u64 * BYTES_PER_INPUT_PIXEL;
    if whole <= budget {
        return 0;
    }
    let side = ((budget / BYTES_PER_INPUT_PIXEL) as f64).sqrt() as u32;
    (side.saturating_sub(2 * pad) / 16 * 16).max(64)
}

/// The room under the cgroup memory limit, else `MemAvailable` ([`crate::memory`]).
fn available_memory() -> u64 {
    crate::memory::available_memory()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_compose() {
        assert_eq!(plan_passes(&[2, 3, 4], 4), vec![4]);
        assert_eq!(plan_passes(&[2, 3, 4], 6), vec![2, 3]);
        assert_eq!(plan_passes(&[2, 3, 4], 8), vec![2, 4]);
        assert_eq!(plan_passes(&[4], 2), vec![4]);
        assert_eq!(plan_passes(&[4], 8), vec![4, 4]);
        assert_eq!(plan_passes(&[2], 8), vec![2, 2, 2]);
    }

    #[test]
    fn auto_tile_fits_memory() {
        assert_eq!(auto_tile(320, 240, 10, 64 << 30), 0);
        let t = auto_tile(8000, 6000, 10, 8 << 30);
        assert!(t >= 64 && t % 16 == 0 && ((t + 20) as u64).pow(2) * BYTES_PER_INPUT_PIXEL <= 2 << 30, "{t}");
    }
}

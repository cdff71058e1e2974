//! The engine every front end calls: a model family loaded once per device and precision, any
//! asked scale (2, 3, 4, 6, 8, outscale, W×H) served from it without reloading, the CPU frame
//! workers built once. [`Engine::upscaler`] hands out an [`Upscaler`] for one job's settings: it
//! plans the passes, tiles each one (reporting tiles, stopping within one tile of a cancel) and
//! finishes with Lanczos. Still images, video and the server all go through it.

use std::sync::{Mutex, OnceLock};

use crate::config::{Config, Device, Precision};
use crate::error::{DeviceProblem, Error, Result};
use crate::memory::available_memory;
use crate::model::network::{fixed_shape, retry_smaller};
use crate::model::syncgap::{self, SeNet};
use crate::model::{self, runtime, Framing, ModelSpec, Network, Source};
use crate::planes::Planes;
use crate::progress::{Event, NoProgress, Progress, Unit};
use crate::resize::{self, Filter};
use crate::tile::{self, TilePlan};

/// Bytes of working memory a network needs per input pixel, a conservative estimate for the
/// ESRGAN family (RRDB at 64 features with its ×4 upsampling tail).
const BYTES_PER_INPUT_PIXEL: u64 = 16 * 1024;

/// Loaded networks of one model family on one device, shared by every job that asks for them.
pub struct Engine {
    model: String,
    denoise: i32,
    classic: Option<Filter>,
    /// How the networks meet the picture's border and the tiles' neighbours.
    framing: Framing,
    /// The networks pool over the whole picture (tiles take the two-pass path).
    squeeze_excite: bool,
    /// Native scale and where its weights come from.
    variants: Vec<(u32, Source)>,
    device: Device,
    precision: Precision,
    threads: usize,
    note: Option<String>,
    /// Sessions with the engine's thread setting: still images, and video on one session.
    main: Slot,
    /// The CPU frame workers, made on first use: sessions with a share of the cores each.
    workers: OnceLock<Vec<Slot>>,
}

/// A set of sessions run by one thread at a time, one per native scale, loaded on first use.
struct Slot {
    threads: usize,
    nets: Mutex<Vec<Network>>,
    /// Two-pass twins of squeeze-excite networks, by native scale, loaded when a picture needs tiles.
    se: Mutex<Vec<(u32, SeNet)>>,
}

impl Slot {
    fn new(threads: usize) -> Self {
        Slot { threads, nets: Mutex::new(Vec::new()), se: Mutex::new(Vec::new()) }
    }
}

impl Engine {
    /// Loads `cfg.model` on `cfg.device` at `cfg.precision` with `cfg.threads` (the networks
    /// for `cfg.scale` now, others on first use). A GPU that was asked for and cannot be had is
    /// an error; `auto` says what it chose in [`Engine::device_note`].
    pub fn new(cfg: &Config) -> Result<Self> {
        cfg.validate()?;
        let mut engine = Engine {
            model: cfg.model.clone(),
            denoise: cfg.denoise,
            classic: None,
            framing: Framing::Outer,
            squeeze_excite: false,
            variants: Vec::new(),
            device: Device::Cpu,
            precision: Precision::Fp32,
            threads: cfg.threads,
            note: None,
            main: Slot::new(cfg.threads),
            workers: OnceLock::new(),
        };
        if let Some(f) = Filter::from_name(&cfg.model) {
            if cfg.denoise != 0 {
                let what = format!("0 for the classic resizer {} (denoise levels belong to networks)", cfg.model);
                return Err(Error::Config(crate::error::ConfigError::new("denoise", cfg.denoise, what)));
            }
            engine.classic = Some(f);
            return Ok(engine);
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
                    problem: DeviceProblem::Unsupported,
                    msg: "precision int8 runs on the CPU only; use fp16 or fp32 on a GPU".into(),
                })
            }
            p => p,
        };
        let mut fallback = None;
        let dir = cfg.model_dir.as_deref();
        let spec = match model::resolve_level(&cfg.model, cfg.denoise, dir, precision) {
            // Auto precision on a GPU without fp16 files installed: fp32, and say so.
            Err(e) if precision == Precision::Fp16 && cfg.precision == Precision::Auto => {
                fallback = Some(format!("fp32 ({})", e.report()));
                model::resolve_level(&cfg.model, cfg.denoise, dir, Precision::Fp32)?
            }
            r => r?,
        };
        let ModelSpec::Net { name, variants, framing, squeeze_excite } = spec else {
            return Err(Error::model(&cfg.model, "resolved to a classic filter unexpectedly"));
        };
        engine.framing = framing;
        engine.squeeze_excite = squeeze_excite;
        engine.device = device;
        engine.precision = if fallback.is_some() { Precision::Fp32 } else { precision };
        engine.note = match (note, fallback) {
            (Some(n), Some(p)) => Some(format!("{n}, {p}")),
            (n, p) => n.or(p),
        };
        let nets = engine.main.nets.get_mut().unwrap_or_else(|e| e.into_inner());
        for (scale, src) in variants {
            match scale {
                Some(s) => engine.variants.push((s, src)),
                None => {
                    // A model given by path: its scale is found by probing.
                    let net = Network::load(&name, &src, device, cfg.threads, None)?;
                    engine.variants.push((net.scale(), src));
                    nets.push(net);
                }
            }
        }
        // The networks this configuration needs, loaded now so a bad model fails before any work.
        engine.upscaler(cfg)?.load()?;
        Ok(engine)
    }

    /// An upscaler for one job's scale, size and tiling (`cfg.scale`, `outscale`, `width`,
    /// `height`, `tile`, `tile_pad`), on this engine's networks. `cfg.model` must be the
    /// engine's own.
    pub fn upscaler(&self, cfg: &Config) -> Result<Upscaler<'_>> {
        cfg.validate()?;
        if cfg.model != self.model || (self.classic.is_none() && cfg.denoise != self.denoise) {
            return Err(Error::Conflict(format!(
                "this engine runs model {} at denoise {}, the job asks for {} at denoise {}",
                self.model, self.denoise, cfg.model, cfg.denoise
            )));
        }
        let native: Vec<u32> = self.variants.iter().map(|v| v.0).collect();
        if self.classic.is_none() && cfg.scale == 1 && !native.contains(&1) {
            let with: Vec<&str> =
                model::families().iter().filter(|f| f.scales().contains(&1)).map(|f| f.name).collect();
            return Err(Error::Config(crate::error::ConfigError::new(
                "scale",
                1,
                format!(
                    "2, 3, 4, 6 or 8: {} has no 1x network at denoise {} (1x clean-up: {} with --denoise)",
                    self.model,
                    self.denoise,
                    with.join(", ")
                ),
            )));
        }
        let passes = if self.classic.is_some() { Vec::new() } else { plan_passes(&native, cfg.scale) };
        Ok(Upscaler { engine: self, slot: &self.main, passes, cfg: cfg.clone() })
    }

    /// The device the model runs on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The precision the networks run at.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// When the device or precision was chosen automatically: which, and why.
    pub fn device_note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Sessions loaded so far, frame workers included: one per native scale used per slot.
    pub fn sessions(&self) -> usize {
        let count = |s: &Slot| s.nets.lock().unwrap_or_else(|e| e.into_inner()).len();
        count(&self.main) + self.workers.get().map_or(0, |w| w.iter().map(count).sum())
    }

    /// The model's name or path, as asked.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The denoise level of the loaded variants.
    pub fn denoise(&self) -> i32 {
        self.denoise
    }

    /// The two-pass twin of the x`scale` network (squeeze-excite families), loaded on first use.
    fn twin<'n>(&self, twins: &'n mut Vec<(u32, SeNet)>, scale: u32, threads: usize) -> Result<&'n mut SeNet> {
        if let Some(i) = twins.iter().position(|t| t.0 == scale) {
            return Ok(&mut twins[i].1);
        }
        let Some((_, Source::File(file))) = self.variants.iter().find(|v| v.0 == scale) else {
            return Err(Error::model(&self.model, format!("no x{scale} network file for two-pass tiles")));
        };
        twins.push((scale, SeNet::load(&self.model, file, self.device, threads)?));
        Ok(&mut twins.last_mut().expect("just pushed").1)
    }

    fn network<'n>(&self, nets: &'n mut Vec<Network>, scale: u32, threads: usize) -> Result<&'n mut Network> {
        if let Some(i) = nets.iter().position(|n| n.scale() == scale) {
            return Ok(&mut nets[i]);
        }
        let src = &self.variants.iter().find(|v| v.0 == scale).ok_or_else(|| {
            Error::model(&self.model, format!("no x{scale} network (planned from the native scales)"))
        })?;
        nets.push(Network::load(&self.model, &src.1, self.device, threads, Some(scale))?);
        Ok(nets.last_mut().expect("just pushed"))
    }
}

/// One job's view of an [`Engine`]: the passes for its scale, its output size and tiling, and
/// the engine's sessions to run them on.
pub struct Upscaler<'e> {
    engine: &'e Engine,
    slot: &'e Slot,
    /// Native scale of each pass, in order.
    passes: Vec<u32>,
    cfg: Config,
}

impl<'e> Upscaler<'e> {
    /// Loads the networks of the planned passes into this upscaler's sessions, if not yet there.
    fn load(&self) -> Result<()> {
        let mut nets = self.slot.nets.lock().unwrap_or_else(|e| e.into_inner());
        for &s in &self.passes {
            self.engine.network(&mut nets, s, self.slot.threads)?;
        }
        Ok(())
    }

    /// Independent upscalers for the video path to run on alternate frames, or none when one
    /// is best. On the CPU with the thread count left to the runtime (`threads` 0) and at least
    /// two cores, two sessions with half the cores each: one network run per core group, with
    /// no barrier between them, where a single run splits every operator over all cores and
    /// waits at each operator's end. Built once per engine and shared by every video after.
    /// On a GPU, two sessions too: one frame's copies and conversions overlap the other's
    /// network run (not measured on a GPU yet: BENCHMARKS.md).
    pub fn frame_workers(&self) -> Result<Vec<Upscaler<'e>>> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let e = self.engine;
        let gpu = matches!(e.device, Device::Cuda(_));
        if self.passes.is_empty() || (!gpu && (e.threads != 0 || cores < 2)) {
            return Ok(Vec::new());
        }
        let threads = if gpu { e.threads } else { cores / 2 };
        let slots = e.workers.get_or_init(|| (0..2).map(|_| Slot::new(threads)).collect());
        slots
            .iter()
            .map(|slot| {
                let up = Upscaler { engine: e, slot, passes: self.passes.clone(), cfg: self.cfg.clone() };
                up.load()?;
                Ok(up)
            })
            .collect()
    }

    /// An upscaler for another job's settings on the same sessions (a frame worker stays one).
    pub fn for_job(&self, cfg: &Config) -> Result<Upscaler<'e>> {
        let up = self.engine.upscaler(cfg)?;
        Ok(Upscaler { slot: self.slot, ..up })
    }

    /// The device the model runs on.
    pub fn device(&self) -> Device {
        self.engine.device
    }

    /// When the device was chosen automatically: which, and why.
    pub fn device_note(&self) -> Option<&str> {
        self.engine.device_note()
    }

    /// The model's scale factors per pass (empty for a classic filter).
    pub fn passes(&self) -> Vec<u32> {
        self.passes.clone()
    }

    /// The output size for a `w`×`h` input.
    pub fn output_size(&self, w: u32, h: u32) -> (u32, u32) {
        self.cfg.output_size(w, h)
    }

    /// The tile size used for a `w`×`h` input: the configured one, or one that fits in memory.
    pub fn tile_size(&self, w: u32, h: u32) -> u32 {
        self.tile_within(w, h, available_memory())
    }

    /// [`Upscaler::tile_size`] with the memory available already read.
    fn tile_within(&self, w: u32, h: u32, available: u64) -> u32 {
        if self.cfg.tile != 0 {
            return self.cfg.tile;
        }
        auto_tile(w, h, self.cfg.tile_pad, available)
    }

    /// Tiles a `w`×`h` picture goes through, summed over the passes (0 for a classic filter).
    pub fn tile_count(&self, w: u32, h: u32) -> u64 {
        self.count_within(w, h, available_memory())
    }

    fn count_within(&self, w: u32, h: u32, available: u64) -> u64 {
        let (mut w, mut h, mut n) = (w, h, 0);
        for &s in &self.passes {
            n += TilePlan::new(w, h, self.tile_within(w, h, available)).tiles().len() as u64;
            (w, h) = (w * s, h * s);
        }
        n
    }

    /// Upscales a 3-plane RGB picture.
    pub fn upscale(&mut self, img: &Planes) -> Result<Planes> {
        self.upscale_with(img, &NoProgress)
    }

    /// Upscales a 3-plane RGB picture, sending a tile-progress event after every tile; when
    /// `progress` returns `false` it stops there with [`Error::Cancelled`].
    pub fn upscale_with(&mut self, img: &Planes, progress: &dyn Progress) -> Result<Planes> {
        let (tw, th) = self.output_size(img.width, img.height);
        if let Some(f) = self.engine.classic {
            return Ok(resize::resize(img, tw, th, f));
        }
        // Memory is read once a picture (the cgroup files and /proc/meminfo), not once a pass.
        let available = available_memory();
        let total = self.count_within(img.width, img.height, available);
        let mut done = 0;
        let mut nets = self.slot.nets.lock().unwrap_or_else(|e| e.into_inner());
        let mut cur: Option<Planes> = None;
        // On a GPU every tile of a video runs at one shape (padded to a multiple of 16, cropped
        // after) with bound, reused buffers: the provider tunes its kernels once.
        let gpu = matches!(self.engine.device, Device::Cuda(_));
        for &s in &self.passes {
            let src = cur.as_ref().unwrap_or(img);
            let first = self.tile_within(src.width, src.height, available);
            let net = self.engine.network(&mut nets, s, self.slot.threads)?;
            let pad = self.cfg.tile_pad;
            let framing = self.engine.framing;
            let se = self.engine.squeeze_excite;
            // Out of memory, the frame runs again with smaller tiles (never dropped); the smaller
            // size stays for the next frames, so this is said once.
            let (out, tile) = retry_smaller(first, src.width, src.height, |tile| {
                let mut out = Planes::new(src.width * s, src.height * s, 3);
                let tiles = TilePlan::new(src.width, src.height, tile).tiles();
                if let (Framing::Own { context }, true, true) = (framing, se, tiles.len() > 1) {
                    let mut twins = self.slot.se.lock().unwrap_or_else(|e| e.into_inner());
                    let twin = self.engine.twin(&mut twins, s, self.slot.threads)?;
                    let start = done;
                    syncgap::run_tiled(twin, src, &tiles, context, s, &mut out, &mut |n| {
                        done = start + n;
                        progress.event(&Event::Progress { done, total: Some(total.max(done)), unit: Unit::Tiles })
                    })?;
                    return Ok(out);
                }
                let (fw, fh) = tiles.iter().fold((0, 0), |(w, h), t| (w.max(t.w + 2 * pad), h.max(t.h + 2 * pad)));
                let (fw, fh) = fixed_shape(fw, fh, 16);
                for t in tiles {
                    if let Framing::Own { context } = framing {
                        // The network pads the picture's border itself; a tile gets its
                        // neighbours' pixels as context and keeps its own part of the output.
                        let (x, left, top) = tile::extract_within(src, t, context);
                        let y = net.run(&x)?;
                        tile::place_from(&mut out, &y, t, (left, top), s);
                    } else {
                        let x = tile::extract(src, t, pad);
                        let y = if gpu { net.run_fixed(&x, fw, fh)? } else { net.run(&x)? };
                        tile::place(&mut out, &y, t, pad, s);
                    }
                    done += 1;
                    if !progress.event(&Event::Progress { done, total: Some(total.max(done)), unit: Unit::Tiles }) {
                        return Err(Error::Cancelled);
                    }
                }
                Ok(out)
            })?;
            if tile != first {
                self.cfg.tile = tile;
                let was = if first == 0 { "the whole picture".to_string() } else { format!("tiles of {first}") };
                progress.event(&Event::Note {
                    message: format!("out of memory with {was}: tiles of {tile} from now on (see --tile)"),
                });
            }
            cur = Some(out);
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
        assert!(t >= 64 && t.is_multiple_of(16) && ((t + 20) as u64).pow(2) * BYTES_PER_INPUT_PIXEL <= 2 << 30, "{t}");
    }
}

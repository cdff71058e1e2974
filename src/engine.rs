//! The engine every front end calls: a model family loaded once per device and precision, any
//! asked scale (2, 3, 4, 6, 8, outscale, W×H) served from it without reloading, the CPU frame
//! workers built once. [`Engine::upscaler`] hands out an [`Upscaler`] for one job's settings: it
//! plans the passes, tiles each one (reporting tiles, stopping within one tile of a cancel) and
//! finishes with Lanczos. Still images, video and the server all go through it.

use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Config, Device, Precision};
use crate::error::{Conflict, DeviceProblem, Error, Result};
use crate::memory::available_memory;
use crate::model::network::{fixed_shape, retry_smaller};
use crate::model::runtime::{Execution, Runtime};
use crate::model::syncgap::{self, SeNet};
use crate::model::{self, openvino_choice, runtime, tile_speed, Framing, ModelSpec, Network, Source};
use crate::planes::Planes;
use crate::progress::{Event, NoProgress, Progress, Unit};
use crate::resize::{self, Filter};
use crate::tile::{self, TilePlan};

/// Bytes of working memory a network needs per input pixel, a conservative estimate for the
/// ESRGAN family (RRDB at 64 features with its ×4 upsampling tail).
const BYTES_PER_INPUT_PIXEL: u64 = 16 * 1024;

/// One network file a job's passes use: its native scale and the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFile {
    /// The network's native scale factor (2, 4, …).
    pub scale: u32,
    /// SHA-256 of the file's bytes, 64 lowercase hex digits.
    pub sha256: String,
}

/// What an [`Upscaler`] resolved for inputs of one size: every choice another machine must make
/// the same way to make the same pixels (a segment plan stores it, see `crate::segments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    /// Where the networks run (`None` for a classic resizer).
    pub device: Option<Device>,
    /// The networks' precision, never `auto` (`None` for a classic resizer).
    pub precision: Option<Precision>,
    /// The runtime and precision the networks ran with (`None` for a classic resizer): a worker
    /// pins it with [`Engine::with_execution`] so segments never mix runtimes or precisions.
    #[serde(default)]
    pub execution: Option<Execution>,
    /// Native scale of each pass, in order (empty for a classic resizer).
    pub passes: Vec<u32>,
    /// Tile side in input pixels, the same for every pass (never 0: automatic is resolved).
    pub tile: u32,
    /// The network files of the passes, each once, in pass order.
    pub model_files: Vec<ModelFile>,
}

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
    /// The runtime and precision the networks run with (`None` for a classic filter).
    execution: Option<Execution>,
    threads: usize,
    note: Option<String>,
    /// The tile side the networks run fastest at on this CPU (0: no limit), timed once per
    /// machine and network (`model::tile_speed`).
    speed_tile: u32,
    /// Sessions with the engine's thread setting: still images, and video on one session.
    main: Slot,
    /// The CPU frame workers, made on first use: sessions with a share of the cores each.
    workers: OnceLock<Vec<Slot>>,
    /// The SHA-256 of each network file asked for so far (each file is read once).
    hashes: Mutex<Vec<ModelFile>>,
    /// The fp32 twin that deep sources run on where `auto` chose bf16 (made on first use,
    /// [`Upscaler::for_depth`]).
    deep: OnceLock<Box<Engine>>,
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
        Self::build(cfg, None)
    }

    /// [`Engine::new`] with the runtime and precision pinned (no probe): what a job's plan
    /// recorded from the engine that planned it, so every segment runs the same arithmetic.
    pub fn with_execution(cfg: &Config, execution: Execution) -> Result<Self> {
        Self::build(cfg, Some(execution))
    }

    fn build(cfg: &Config, pinned: Option<Execution>) -> Result<Self> {
        cfg.validate()?;
        let asked = pinned.map_or(cfg.precision, |e| e.precision);
        let mut engine = Engine {
            model: cfg.model_name().to_string(),
            denoise: cfg.denoise,
            classic: None,
            framing: Framing::Outer { reach: tile::BORDER },
            squeeze_excite: false,
            variants: Vec::new(),
            device: Device::Cpu,
            execution: None,
            threads: cfg.threads,
            speed_tile: 0,
            note: None,
            main: Slot::new(cfg.threads),
            workers: OnceLock::new(),
            hashes: Mutex::new(Vec::new()),
            deep: OnceLock::new(),
        };
        if let Some(f) = Filter::from_name(cfg.model_name()) {
            if cfg.denoise != 0 {
                let what =
                    format!("0 for the classic resizer {} (denoise levels belong to networks)", cfg.model_name());
                return Err(Error::Config(crate::error::ConfigError::new("denoise", cfg.denoise, what)));
            }
            engine.classic = Some(f);
            return Ok(engine);
        }
        // int8, bf16 and OpenVINO run on the CPU only: `auto` then means the CPU (an explicit
        // GPU is refused below).
        let cpu_only = matches!(asked, Precision::Int8 | Precision::Bf16)
            || pinned.is_some_and(|e| e.runtime == Runtime::OpenVino);
        let (device, note) = if cpu_only && cfg.device == Device::Auto {
            (Device::Cpu, Some(format!("cpu ({asked} runs on the CPU)")))
        } else {
            runtime::choose_device(cfg.device)?
        };
        let precision = match asked {
            Precision::Auto if matches!(device, Device::Cuda(_)) => Precision::Fp16,
            p @ (Precision::Int8 | Precision::Bf16) if device != Device::Cpu => {
                return Err(Error::Device {
                    device: device.to_string(),
                    problem: DeviceProblem::Unsupported,
                    msg: format!("precision {p} runs on the CPU only; use fp16 or fp32 on a GPU"),
                })
            }
            p => p,
        };
        // bf16 and auto on the CPU run the fp32 files (OpenVINO converts them when compiling).
        let files = match precision {
            Precision::Auto | Precision::Bf16 => Precision::Fp32,
            p => p,
        };
        let mut fallback = None;
        let spec = match model::resolve_level(cfg.model_name(), cfg.denoise, cfg.model_dir.as_deref(), files) {
            // Auto precision on a GPU without fp16 files installed: fp32, and say so.
            Err(e) if precision == Precision::Fp16 && cfg.precision == Precision::Auto => {
                fallback = Some(format!("fp32 ({})", e.report()));
                model::resolve_level(cfg.model_name(), cfg.denoise, cfg.model_dir.as_deref(), Precision::Fp32)?
            }
            r => r?,
        };
        let ModelSpec::Net { name, variants, framing, squeeze_excite } = spec else {
            return Err(Error::model(cfg.model_name(), "resolved to a classic filter unexpectedly"));
        };
        engine.framing = framing;
        engine.squeeze_excite = squeeze_excite;
        engine.device = device;
        let precision = if fallback.is_some() { Precision::Fp32 } else { precision };
        // On the CPU: the runtime and precision, measured once per machine and model
        // (model::openvino_choice), or as pinned; the largest native scale is what is timed.
        let (execution, chosen) = match (pinned, device) {
            (Some(e), _) => (e, Some(format!("{e} (pinned)"))),
            (None, Device::Cpu) => {
                let Some((scale, src)) = variants.iter().max_by_key(|v| v.0) else {
                    return Err(Error::model(&name, "no network files"));
                };
                let r = openvino_choice::resolve(&name, src, *scale, precision, cfg.threads)?;
                let slower = if precision == Precision::Int8 { int8_against_auto(cfg, &name, &r) } else { None };
                (r.execution, Some([Some(r.note), slower].into_iter().flatten().collect::<Vec<_>>().join(", ")))
            }
            (None, _) => (Execution { runtime: Runtime::OnnxRuntime, precision }, None),
        };
        if execution.precision == Precision::Bf16 && !openvino_choice::cpu_has_bf16() {
            return Err(crate::error::ConfigError::new("precision", "bf16", "a CPU with AVX512_BF16 or AMX").into());
        }
        engine.execution = Some(execution);
        // The automatic tile's speed side (model::tile_speed), timed once per machine and
        // network: on the CPU, where no tile is set or pinned and tiles are one pass each.
        let mut tiles = None;
        if device == Device::Cpu && pinned.is_none() && cfg.tile == 0 && !squeeze_excite {
            if let Some((scale, src)) = variants.iter().max_by_key(|v| v.0) {
                let (context, _) = tile_context(cfg.tile_pad, framing);
                // A network that cannot be timed (its run fails at these sizes) keeps the
                // memory's tile; a real fault shows when the job runs it.
                tiles = Some(match tile_speed::resolve(&name, src, *scale, execution, context, cfg.threads) {
                    Ok(r) => {
                        engine.speed_tile = r.tile;
                        r.note
                    }
                    Err(e) => format!("tiles from memory alone (timing tiles failed: {})", e.report()),
                });
            }
        }
        engine.note = [note, fallback, chosen, tiles].into_iter().flatten().reduce(|a, b| format!("{a}, {b}"));
        let nets = engine.main.nets.get_mut().unwrap_or_else(|e| e.into_inner());
        for (scale, src) in variants {
            match scale {
                Some(s) => engine.variants.push((s, src)),
                None => {
                    // A model given by path: its scale is found by probing.
                    let net = Network::load_with(&name, &src, device, cfg.threads, None, execution)?;
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
        if cfg.model_name() != self.model || (self.classic.is_none() && cfg.denoise != self.denoise) {
            let at = |m: &str, d: i32| if d == 0 { m.to_string() } else { format!("{m} at denoise {d}") };
            return Err(Conflict::Model {
                engine: at(&self.model, self.denoise),
                job: at(cfg.model_name(), cfg.denoise),
            }
            .into());
        }
        let native: Vec<u32> = self.variants.iter().map(|v| v.0).collect();
        if self.classic.is_none() && cfg.scale == 1 && !native.contains(&1) {
            let with: Vec<&str> =
                model::families().iter().filter(|f| f.scales().contains(&1)).map(|f| f.name).collect();
            return Err(Error::Config(crate::error::ConfigError::new(
                "scale",
                1,
                format!(
                    "2, 3, 4, 6 or 8: {} has no 1x network at denoise {} (1x clean-up: {} at a denoise level)",
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

    /// The precision the networks run at (fp32 for a classic filter).
    pub fn precision(&self) -> Precision {
        self.execution.map_or(Precision::Fp32, |e| e.precision)
    }

    /// The runtime and precision the networks run with, as resolved (`None` for a classic
    /// filter). Said in [`Engine::device_note`]; a plan records it ([`Engine::with_execution`]).
    pub fn execution(&self) -> Option<Execution> {
        self.execution
    }

    /// The device when chosen automatically, and on the CPU the runtime and precision: which,
    /// and why.
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

    /// The native-scale `scale` network file's SHA-256, read once per engine.
    fn model_file(&self, scale: u32) -> Result<ModelFile> {
        let mut hashes = self.hashes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = hashes.iter().find(|f| f.scale == scale) {
            return Ok(f.clone());
        }
        let src = &self.variants.iter().find(|v| v.0 == scale).ok_or_else(|| {
            Error::model(&self.model, format!("no x{scale} network (planned from the native scales)"))
        })?;
        let sha256 = match &src.1 {
            Source::Embedded(b) => hex(&Sha256::digest(b)),
            Source::File(p) => {
                let mut f = std::fs::File::open(p).map_err(|e| Error::io(p, e))?;
                let mut h = Sha256::new();
                std::io::copy(&mut f, &mut h).map_err(|e| Error::io(p, e))?;
                hex(&h.finalize())
            }
        };
        hashes.push(ModelFile { scale, sha256 });
        Ok(hashes[hashes.len() - 1].clone())
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
        let execution =
            self.execution.unwrap_or(Execution { runtime: Runtime::OnnxRuntime, precision: Precision::Fp32 });
        nets.push(Network::load_with(&self.model, &src.1, self.device, threads, Some(scale), execution)?);
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

    /// Independent upscalers for the video path, each taking the next frame from one shared
    /// queue as soon as it is free (`video::workers`), or none when one is best. On the CPU with the thread count left to the runtime (`threads` 0) and at least
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

    /// This upscaler for a source of `bits` per sample: where it would band such a source
    /// (`precision auto` that chose bf16, for more than 8 bits), the same job on the engine's
    /// fp32 twin, made once per engine; else itself. The one statement of the deep-source rule
    /// ([`openvino_choice::for_depth`]), asked by pictures, videos and plans alike; the note
    /// saying why (or that an asked bf16 may band) goes to `progress`, naming `input`.
    pub fn for_depth(&self, input: &std::path::Path, bits: u32, progress: &dyn Progress) -> Result<Upscaler<'e>> {
        let e = self.engine;
        let largest = e.variants.iter().max_by_key(|v| v.0).map(|(s, src)| (e.model.as_str(), *s, src));
        let rule = openvino_choice::for_depth(self.cfg.precision, self.cfg.threads, largest, e.execution, bits)?;
        if let Some(n) = &rule.note {
            progress.note(&format!("{}: {n}", input.display()));
        }
        let Some(execution) = rule.execution else { return self.for_job(&self.cfg) };
        let twin = match self.engine.deep.get() {
            Some(t) => t,
            None => {
                let cfg = Config { device: Device::Cpu, ..self.cfg.clone() };
                let t = Engine::with_execution(&cfg, execution)?;
                self.engine.deep.get_or_init(|| Box::new(t))
            }
        };
        twin.upscaler(&self.cfg)
    }

    /// The device the model runs on.
    pub fn device(&self) -> Device {
        self.engine.device
    }

    /// The job's settings this upscaler was made for.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// When the device was chosen automatically: which, and why.
    pub fn device_note(&self) -> Option<&str> {
        self.engine.device_note()
    }

    /// The runtime and precision its networks run with (`None` for a classic filter).
    pub fn execution(&self) -> Option<Execution> {
        self.engine.execution()
    }

    /// The model's name (a built-in name, a classic filter or an `.onnx` path) and the precision
    /// it runs at, for the provenance an output carries (`crate::provenance`).
    pub fn model(&self) -> (&str, Precision) {
        (&self.engine.model, self.engine.precision())
    }

    /// Each pass's network file (native scale, SHA-256), in pass order, hashed once per engine;
    /// empty for a classic filter.
    pub fn pass_files(&self) -> Result<Vec<ModelFile>> {
        self.passes.iter().map(|&s| self.engine.model_file(s)).collect()
    }

    /// The model's scale factors per pass (empty for a classic filter).
    pub fn passes(&self) -> Vec<u32> {
        self.passes.clone()
    }

    /// The output size for a `w`×`h` input.
    pub fn output_size(&self, w: u32, h: u32) -> (u32, u32) {
        self.cfg.output_size(w, h)
    }

    /// What this upscaler resolved for `w`×`h` inputs: device, precision, passes, the network
    /// files by SHA-256, and one tile side for every pass — the configured one, else the
    /// automatic one of the largest pass input, or that input's longer side when it fits whole
    /// (such a tile is the whole picture). An upscaler made with that tile side makes the same
    /// pixels on any machine that resolves the same.
    pub fn resolved(&self, w: u32, h: u32) -> Result<Resolved> {
        let net = self.engine.classic.is_none();
        let grow: u32 = self.passes.iter().take(self.passes.len().saturating_sub(1)).product();
        let (bw, bh) = (w * grow.max(1), h * grow.max(1));
        let tile = match self.tile_within(bw, bh, available_memory()) {
            0 => bw.max(bh).max(16),
            t => t,
        };
        let mut model_files: Vec<ModelFile> = Vec::new();
        for &s in &self.passes {
            if !model_files.iter().any(|f| f.scale == s) {
                model_files.push(self.engine.model_file(s)?);
            }
        }
        Ok(Resolved {
            device: net.then_some(self.engine.device),
            precision: net.then_some(self.engine.precision()),
            execution: self.engine.execution(),
            passes: self.passes.clone(),
            tile,
            model_files,
        })
    }

    /// Context px each tile gets of its neighbours, and the reflected border around the
    /// picture: `--tile-pad` for both when given, else the family's reach and
    /// [`tile::BORDER`] (a network that frames itself gets its own context and no border).
    pub fn context(&self) -> (u32, u32) {
        tile_context(self.cfg.tile_pad, self.engine.framing)
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
        match (self.engine.speed_tile, auto_tile(w, h, self.context().0, available)) {
            (0, memory) => memory,
            (speed, 0) => speed,
            (speed, memory) => speed.min(memory),
        }
    }

    /// Tiles a `w`×`h` picture goes through, summed over the passes (1 for a classic filter:
    /// the whole picture at once).
    pub fn tile_count(&self, w: u32, h: u32) -> u64 {
        self.count_within(w, h, available_memory())
    }

    fn count_within(&self, w: u32, h: u32, available: u64) -> u64 {
        if self.passes.is_empty() {
            return 1;
        }
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
        // Memory is read once a picture (the cgroup files and /proc/meminfo), not once a pass;
        // what the picture will hold is checked against it before anything is allocated.
        let available = available_memory();
        self.check_memory(img.width, img.height, 3, 1, available)?;
        if let Some(f) = self.engine.classic {
            let out = resize::resize(img, tw, th, f);
            progress.event(&Event::Progress { done: 1, total: Some(1), unit: Unit::Tiles });
            return Ok(out);
        }
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
            let (context, border) = self.context();
            let framing = self.engine.framing;
            let se = self.engine.squeeze_excite;
            // Out of memory, the frame runs again with smaller tiles (never dropped); the smaller
            // size stays for the next frames, so this is said once.
            let (out, tile) = retry_smaller(first, src.width, src.height, |tile| {
                let mut out = Planes::try_new(src.width * s, src.height * s, 3)?;
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
                let (fw, fh) =
                    tiles.iter().fold((0, 0), |(w, h), t| (w.max(t.w + 2 * context), h.max(t.h + 2 * context)));
                let (fw, fh) = fixed_shape(fw, fh, 16);
                for t in tiles {
                    if let Framing::Own { context } = framing {
                        // The network pads the picture's border itself; a tile gets its
                        // neighbours' pixels as context and keeps its own part of the output.
                        let (x, left, top) = tile::extract_within(src, t, context);
                        let y = net.run(&x)?;
                        tile::place_from(&mut out, &y, t, (left, top), s);
                    } else {
                        let (x, left, top) = tile::extract_framed(src, t, context, border);
                        let y = if gpu { net.run_fixed(&x, fw, fh)? } else { net.run(&x)? };
                        tile::place_from(&mut out, &y, t, (left, top), s);
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
                progress
                    .event(&Event::Note { message: format!("out of memory with {was}: tiles of {tile} from now on") });
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

    /// [`Upscaler::upscale_rgb8`] for 16-bit RGB (video frames of sources deeper than 8 bits).
    pub fn upscale_rgb16(
        &mut self,
        img: &image::ImageBuffer<image::Rgb<u16>, Vec<u16>>,
    ) -> Result<image::ImageBuffer<image::Rgb<u16>, Vec<u16>>> {
        Ok(self.upscale(&Planes::from_buffer(img))?.to_rgb16())
    }
}

/// Context px each tile gets of its neighbours and the picture's reflected border for a
/// network framed as `framing`: `tile_pad` for both when given, else the family's reach and
/// [`tile::BORDER`]; a network that frames itself gets its own context and no border.
fn tile_context(tile_pad: Option<u32>, framing: Framing) -> (u32, u32) {
    match (tile_pad, framing) {
        (_, Framing::Own { context }) => (context, 0),
        (Some(pad), Framing::Outer { .. }) => (pad, pad),
        (None, Framing::Outer { reach }) => (reach, tile::BORDER),
    }
}

/// `--precision int8` against what `auto` resolves to for the same network (timed the same
/// way, kept in the same cache): the note where int8 is the slower one here, else `None` (also
/// when the fp32 files are not there to compare with).
fn int8_against_auto(cfg: &Config, name: &str, int8: &openvino_choice::Resolved) -> Option<String> {
    let spec = model::resolve_level(name, cfg.denoise, cfg.model_dir.as_deref(), Precision::Fp32).ok()?;
    let ModelSpec::Net { variants, .. } = spec else { return None };
    let (scale, src) = variants.iter().max_by_key(|v| v.0)?;
    let auto = openvino_choice::resolve(name, src, *scale, Precision::Auto, cfg.threads).ok()?;
    openvino_choice::int8_slower_note(int8, &auto)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
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
    fn model_files_are_named_by_sha256() {
        assert_eq!(hex(&Sha256::digest(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn auto_tile_fits_memory() {
        assert_eq!(auto_tile(320, 240, 10, 64 << 30), 0);
        let t = auto_tile(8000, 6000, 10, 8 << 30);
        assert!(t >= 64 && t.is_multiple_of(16) && ((t + 20) as u64).pow(2) * BYTES_PER_INPUT_PIXEL <= 2 << 30, "{t}");
    }
}

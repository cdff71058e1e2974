//! OpenVINO on x86 CPUs, the second runtime behind [`crate::model::Network`]: its C library
//! (from the PyPI `openvino` wheel that `tools/setup.sh` unpacks into `.cache/openvino`) loaded
//! once per process, and one network compiled once per input shape at a chosen precision
//! (fp32, bf16, or the int8 file's own). Compiled models are kept in a cache folder, so a
//! second run starts without compiling again.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use openvino::{Core, DeviceType, ElementType, Model, PartialShape, RwPropertyKey};

use crate::config::Precision;
use crate::error::{one_line, Error, Result};
use crate::model::runtime::Source;
use crate::planes::Planes;

/// The OpenVINO version `tools/setup.sh` installs (the PyPI wheel's libraries).
pub const OPENVINO_VERSION: &str = "2026.4.1";
/// The C library's file name in that wheel.
const LIBRARY: &str = "libopenvino_c.so.2641";
/// Compiled shapes kept per network: a video has one, a tiled picture up to four per pass.
const MAX_SHAPES: usize = 4;

static LOADED: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();

/// Where the library is looked for, in order: `$UPSCALE_OPENVINO_DIR` (then only there), an
/// `openvino/` folder next to the executable, the set-up's `.cache/openvino` in the source tree.
pub fn library_candidates() -> Vec<PathBuf> {
    if let Some(d) = std::env::var_os("UPSCALE_OPENVINO_DIR").filter(|d| !d.is_empty()) {
        return vec![PathBuf::from(d).join(LIBRARY)];
    }
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        // Test and bench binaries live in target/<profile>/deps.
        if let Some(up) = dir.parent().filter(|_| dir.ends_with("deps")) {
            dirs.push(up.join("openvino"));
        }
        dirs.push(dir.join("openvino"));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/openvino"));
    dirs.into_iter().map(|d| d.join(LIBRARY)).collect()
}

/// Loads the OpenVINO C library on first use; the error says where it was looked for.
pub fn load() -> std::result::Result<&'static Path, String> {
    LOADED
        .get_or_init(|| {
            let candidates = library_candidates();
            let Some(path) = candidates.iter().find(|p| p.is_file()) else {
                let looked: Vec<_> = candidates.iter().map(|p| p.display().to_string()).collect();
                return Err(format!(
                    "OpenVINO {OPENVINO_VERSION} not found (looked at {}); run tools/setup.sh, or set \
                     UPSCALE_OPENVINO_DIR to the openvino/libs folder of the openvino=={OPENVINO_VERSION} wheel",
                    looked.join(", ")
                ));
            };
            openvino_sys::library::load_from(path.clone())
                .map_err(|e| one_line(&format!("{}: {e}", path.display())))?;
            Ok(path.clone())
        })
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

/// Where compiled models are kept between runs: `$UPSCALE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/upscale`, else `~/.cache/upscale`; `None` when there is no such place.
pub fn cache_root() -> Option<PathBuf> {
    let var = |k| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("UPSCALE_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("upscale")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/upscale")))
}

/// One network on OpenVINO's CPU plugin: the model read once, compiled once per input shape.
pub struct OvSession {
    name: String,
    core: Core,
    model: Model,
    compiled: Vec<Compiled>,
    /// Compiled models are read from and written to the cache folder.
    cached: bool,
}

/// A model compiled for one input shape, with its request (which owns the input and output).
struct Compiled {
    width: usize,
    height: usize,
    request: openvino::InferRequest,
    _model: openvino::CompiledModel,
}

impl OvSession {
    /// Reads `source` for the CPU at `precision` (fp32 and int8 run the file's own arithmetic
    /// with fp32 between quantized layers; bf16 converts fp32 weights when compiling) on
    /// `threads` threads (0 = all cores).
    pub fn load(name: &str, source: &Source, precision: Precision, threads: usize) -> Result<Self> {
        let fail = |what: &str, e: &dyn std::fmt::Display| Error::model(name, format!("OpenVINO: {what}: {e}"));
        load().map_err(|e| Error::model(name, e))?;
        let mut core = Core::new().map_err(|e| fail("cannot start", &e))?;
        let hint = match precision {
            Precision::Bf16 => "bf16",
            Precision::Fp32 | Precision::Int8 => "f32",
            p => return Err(Error::model(name, format!("OpenVINO runs fp32, bf16 or int8 here, not {p}"))),
        };
        let threads = threads.to_string();
        let mut props = vec![
            (RwPropertyKey::HintInferencePrecision, hint),
            (RwPropertyKey::HintPerformanceMode, "LATENCY"),
            (RwPropertyKey::NumStreams, "1"),
            // Frame workers share the cores: a thread pinned per worker would put both on one.
            (RwPropertyKey::HintEnableCpuPinning, "NO"),
        ];
        if threads != "0" {
            props.push((RwPropertyKey::InferenceNumThreads, threads.as_str()));
        }
        let cache = cache_root().map(|d| d.join(format!("openvino-{OPENVINO_VERSION}")));
        let cache = cache.filter(|d| std::fs::create_dir_all(d).is_ok()).map(|d| d.display().to_string());
        if let Some(d) = &cache {
            props.push((RwPropertyKey::CacheDir, d.as_str()));
        }
        core.set_properties(&DeviceType::CPU, props).map_err(|e| fail("setting the CPU plugin's properties", &e))?;
        let model = match source {
            Source::Embedded(bytes) => core.read_model_from_buffer(bytes, None),
            Source::File(p) => core.read_model_from_file(&p.to_string_lossy(), ""),
        }
        .map_err(|e| fail("not a loadable ONNX model", &e))?;
        let (ins, outs) = (model.get_inputs_len(), model.get_outputs_len());
        if ins.as_ref().map_or(true, |&n| n != 1) || outs.as_ref().map_or(true, |&n| n == 0) {
            return Err(Error::model(
                name,
                format!("expected one image input and an image output, found {ins:?} inputs and {outs:?} outputs"),
            ));
        }
        Ok(OvSession { name: name.to_string(), core, model, compiled: Vec::new(), cached: cache.is_some() })
    }

    /// Runs the network on the first 3 planes of `input`; returns the output's width, height
    /// and NCHW data. The first run at a shape compiles for it (or reads it from the cache folder).
    pub fn run(&mut self, input: &Planes) -> Result<(usize, usize, Vec<f32>)> {
        let (w, h) = (input.width as usize, input.height as usize);
        let i = match self.compiled.iter().position(|c| (c.width, c.height) == (w, h)) {
            Some(i) => i,
            None => {
                let c = self.compile(w, h)?;
                if self.compiled.len() >= MAX_SHAPES {
                    self.compiled.remove(0);
                }
                self.compiled.push(c);
                self.compiled.len() - 1
            }
        };
        let name = &self.name;
        let c = &mut self.compiled[i];
        let mut t = c.request.get_input_tensor().map_err(|e| ov_error(name, "getting the input", &e))?;
        let raw = t.get_raw_data_mut().map_err(|e| ov_error(name, "getting the input", &e))?;
        let src = &input.data[..3 * w * h];
        if raw.len() != src.len() * 4 {
            return Err(Error::model(name, format!("OpenVINO input holds {} bytes, not {}", raw.len(), src.len() * 4)));
        }
        for (d, v) in raw.chunks_exact_mut(4).zip(src) {
            d.copy_from_slice(&v.to_ne_bytes());
        }
        c.request.infer().map_err(|e| ov_error(name, "running the network", &e))?;
        let out = c.request.get_output_tensor().map_err(|e| ov_error(name, "getting the output", &e))?;
        let shape = out.get_shape().map_err(|e| ov_error(name, "getting the output", &e))?;
        let dims = shape.get_dimensions().to_vec();
        let [1, 3, oh, ow] = dims[..] else {
            return Err(Error::model(name, format!("output shape {dims:?}, expected [1, 3, H, W]")));
        };
        if out.get_element_type().ok() != Some(ElementType::F32) {
            return Err(Error::model(name, "OpenVINO output is not float32"));
        }
        let raw = out.get_raw_data().map_err(|e| ov_error(name, "getting the output", &e))?;
        let data = raw.chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect();
        Ok((ow as usize, oh as usize, data))
    }

    fn compile(&mut self, w: usize, h: usize) -> Result<Compiled> {
        let name = &self.name;
        let shape = PartialShape::new_static(4, &[1, 3, h as i64, w as i64])
            .map_err(|e| ov_error(name, "making the input shape", &e))?;
        self.model.reshape_single_input(&shape).map_err(|e| ov_error(name, &format!("reshaping to {w}x{h}"), &e))?;
        let mut compiled = match self.core.compile_model(&self.model, DeviceType::CPU) {
            Ok(c) => c,
            Err(e) if self.cached && !is_out_of_memory(&e.to_string()) => {
                // Processes compiling the same shape at once race on the cache folder's file
                // (OpenVINO: "cannot set permissions: No such file or directory [….blob]"): this
                // session compiles without the cache from now on. Any other failure fails again.
                self.cached = false;
                self.core
                    .set_property(&DeviceType::CPU, &RwPropertyKey::CacheDir, "")
                    .map_err(|e| ov_error(name, "turning the compile cache off", &e))?;
                self.core
                    .compile_model(&self.model, DeviceType::CPU)
                    .map_err(|e| ov_error(name, &format!("compiling for {w}x{h}"), &e))?
            }
            Err(e) => return Err(ov_error(name, &format!("compiling for {w}x{h}"), &e)),
        };
        let request = compiled.create_infer_request().map_err(|e| ov_error(name, "making a request", &e))?;
        Ok(Compiled { width: w, height: h, request, _model: compiled })
    }
}

/// Whether OpenVINO's message says it ran out of memory.
fn is_out_of_memory(msg: &str) -> bool {
    const SIGNS: [&str; 4] = ["bad_alloc", "out of memory", "Cannot allocate", "Failed to allocate"];
    SIGNS.iter().any(|s| msg.contains(s))
}

/// An OpenVINO failure as our error: running out of memory is [`Error::OutOfMemory`] (the
/// frame is retried with smaller tiles), anything else [`Error::Model`].
fn ov_error(model: &str, what: &str, e: &dyn std::fmt::Display) -> Error {
    let msg = one_line(&e.to_string());
    if is_out_of_memory(&msg) {
        Error::OutOfMemory { model: model.to_string(), source: ort::Error::new(format!("OpenVINO: {msg}")) }
    } else {
        Error::model(model, format!("OpenVINO: {what}: {msg}"))
    }
}

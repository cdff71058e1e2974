//! One ONNX super-resolution network in one session of a runtime (ONNX Runtime, or OpenVINO on
//! x86 CPUs: [`Execution`]): NCHW float RGB in [0, 1] in, the same `scale` times larger out.
//! The session is the only thing that differs between runtimes; tiling, frame workers, cancel
//! and running out of memory work the same on both. Checks the model's shape contract when
//! loading and finds its scale by probing. For a GPU, [`Network::run_fixed`] keeps one input shape per video
//! (padded, cropped after) with bound, reused buffers; running out of memory is its own error,
//! [`Error::OutOfMemory`], which [`retry_smaller`] answers with smaller tiles.

use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::{IoBinding, Session};
use ort::value::{Tensor, TensorElementType, TensorRef, ValueType};

use crate::config::{Device, Precision};
use crate::error::{Error, Result};
use crate::model::openvino::OvSession;
use crate::model::runtime::{self, Execution, Runtime, Source};
use crate::planes::Planes;

/// A loaded network.
pub struct Network {
    name: String,
    backend: Backend,
    scale: u32,
    device: Device,
    execution: Execution,
}

/// The runtime's session.
enum Backend {
    Ort(Box<OrtSession>),
    OpenVino(OvSession),
}

/// An ONNX Runtime session with its buffers for [`Network::run_fixed`].
struct OrtSession {
    session: Session,
    bound: Option<Bound>,
    pinned: bool,
}

/// Buffers bound to the session for one input shape, reused run after run.
struct Bound {
    width: usize,
    height: usize,
    binding: IoBinding,
    input: Tensor<f32>,
}

impl Network {
    /// Loads a network into ONNX Runtime, checks it takes and gives 3-channel float NCHW, and
    /// finds its scale by running it once on a small input when `scale` is not given.
    pub fn load(name: &str, source: &Source, device: Device, threads: usize, scale: Option<u32>) -> Result<Self> {
        let precision = Precision::Fp32;
        Self::load_with(name, source, device, threads, scale, Execution { runtime: Runtime::OnnxRuntime, precision })
    }

    /// [`Network::load`] on the runtime of `execution` (OpenVINO runs on the CPU only, at its
    /// precision; ONNX Runtime runs the file as it is).
    pub fn load_with(
        name: &str,
        source: &Source,
        device: Device,
        threads: usize,
        scale: Option<u32>,
        execution: Execution,
    ) -> Result<Self> {
        let backend = match execution.runtime {
            Runtime::OnnxRuntime => Backend::Ort(Box::new(load_ort(name, source, device, threads)?)),
            Runtime::OpenVino if device == Device::Cpu => {
                Backend::OpenVino(OvSession::load(name, source, execution.precision, threads)?)
            }
            Runtime::OpenVino => {
                return Err(Error::model(name, format!("OpenVINO runs on the CPU here, not on {device}")));
            }
        };
        let mut net = Network { name: name.to_string(), backend, scale: scale.unwrap_or(1), device, execution };
        if scale.is_none() {
            net.scale = net.probe_scale()?;
        }
        Ok(net)
    }

    /// The runtime and precision this network runs at.
    pub fn execution(&self) -> Execution {
        self.execution
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Output size ÷ input size.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    fn probe_scale(&mut self) -> Result<u32> {
        let probe = Planes::new(32, 32, 3);
        let out = self.run(&probe)?;
        // An output as large as the input (an identity or a restoration model) is refused too:
        // run as x1 it would quietly turn `-s 4` into a plain Lanczos enlargement.
        if out.width % 32 != 0 || out.width != out.height || out.width <= 32 {
            let same = if out.width == 32 && out.height == 32 { " (no enlargement)" } else { "" };
            return Err(Error::model(
                &self.name,
                format!("not a super-resolution model: a 32x32 input gave {}x{}{same}", out.width, out.height),
            ));
        }
        Ok(out.width / 32)
    }

    /// Runs the network on a 3-plane picture.
    pub fn run(&mut self, input: &Planes) -> Result<Planes> {
        let name = self.name.clone();
        let (w, h) = (input.width as usize, input.height as usize);
        let (ow, oh, data) = match &mut self.backend {
            Backend::Ort(o) => {
                let err = |e: ort::Error| ort_error(&name, "running the network", e);
                let tensor = TensorRef::from_array_view(([1usize, 3, h, w], &input.data[..3 * w * h])).map_err(err)?;
                let outputs = o.session.run(ort::inputs![tensor]).map_err(err)?;
                let (shape, data) = outputs[0].try_extract_tensor::<f32>().map_err(err)?;
                let dims: Vec<i64> = shape.iter().copied().collect();
                let [1, 3, oh, ow] = dims[..] else {
                    return Err(Error::model(&name, format!("output shape {dims:?}, expected [1, 3, H, W]")));
                };
                (ow as usize, oh as usize, data.to_vec())
            }
            Backend::OpenVino(ov) => ov.run(input)?,
        };
        if self.scale > 1 && (ow != w * self.scale as usize || oh != h * self.scale as usize) {
            return Err(Error::model(&name, format!("{w}x{h} input gave {ow}x{oh}, not x{}", self.scale)));
        }
        if data.iter().any(|v| !v.is_finite()) {
            return Err(Error::model(&name, "output holds NaN or infinite values"));
        }
        Ok(Planes { width: ow as u32, height: oh as u32, channels: 3, data })
    }
}

/// An ONNX Runtime session for `device`, checked to take and give 3-channel float NCHW.
fn load_ort(name: &str, source: &Source, device: Device, threads: usize) -> Result<OrtSession> {
    let bad = |msg: String| Error::model(name, msg);
    let mut b = runtime::builder(device, threads)?;
    let session = match source {
        Source::Embedded(bytes) => b.commit_from_memory(bytes),
        Source::File(path) => b.commit_from_file(path),
    }
    .map_err(|e| Error::model_ort(name, "not a loadable ONNX model", e))?;
    if session.inputs().len() != 1 || session.outputs().is_empty() {
        return Err(bad(format!(
            "expected one image input and an image output, found {} inputs and {} outputs",
            session.inputs().len(),
            session.outputs().len()
        )));
    }
    for (what, outlet) in [("input", &session.inputs()[0]), ("output", &session.outputs()[0])] {
        check_nchw3(outlet.dtype()).map_err(|m| bad(format!("{what} '{}': {m}", outlet.name())))?;
    }
    Ok(OrtSession { session, bound: None, pinned: false })
}

impl Network {
    /// Runs the network on `input` padded to `width`×`height` (its edge pixels repeated) and
    /// returns the output cropped to `input`'s size × scale. Every run at one shape reuses the
    /// same bound buffers (page-locked on a GPU, so the copies to and from the device are
    /// direct), and a GPU provider tunes its kernels for that one shape only once.
    pub fn run_fixed(&mut self, input: &Planes, width: u32, height: u32) -> Result<Planes> {
        let name = self.name.clone();
        let err = |e: ort::Error| ort_error(&name, "running the network at a fixed shape", e);
        if input.width > width || input.height > height || input.channels < 3 {
            return Err(Error::model(
                &name,
                format!("a {}x{} input does not fit the fixed {width}x{height} shape", input.width, input.height),
            ));
        }
        let (w, h, s) = (width as usize, height as usize, self.scale as usize);
        let device = self.device;
        let o = match &mut self.backend {
            Backend::Ort(o) => o,
            Backend::OpenVino(_) => {
                // OpenVINO compiles per shape anyway: the padded picture is its one shape.
                let mut padded = Planes::new(width, height, 3);
                pad_into(input, &mut padded.data, w, h);
                let out = self.run(&padded)?;
                return Ok(crop(&out, input.width * self.scale, input.height * self.scale));
            }
        };
        if o.bound.as_ref().is_none_or(|b| (b.width, b.height) != (w, h)) {
            o.bound = None;
            // Page-locked host memory on a GPU (direct copies), else ordinary memory.
            let pinned = match device {
                Device::Cuda(n) => MemoryInfo::new(
                    AllocationDevice::CUDA_PINNED,
                    n as i32,
                    AllocatorType::Device,
                    MemoryType::CPUInput,
                )
                .and_then(|info| Allocator::new(&o.session, info))
                .ok(),
                _ => None,
            };
            o.pinned = pinned.is_some();
            let alloc = pinned.unwrap_or_default();
            let mut binding = o.session.create_binding().map_err(err)?;
            let output = Tensor::<f32>::new(&alloc, [1usize, 3, h * s, w * s]).map_err(err)?;
            binding.bind_output(o.session.outputs()[0].name(), output).map_err(err)?;
            let input = Tensor::<f32>::new(&alloc, [1usize, 3, h, w]).map_err(err)?;
            o.bound = Some(Bound { width: w, height: h, binding, input });
        }
        let input_name = o.session.inputs()[0].name().to_string();
        let Some(b) = o.bound.as_mut() else {
            return Err(Error::model(&name, "no buffers bound"));
        };
        pad_into(input, b.input.extract_tensor_mut().1, w, h);
        b.binding.bind_input(input_name, &b.input).map_err(err)?;
        let outputs = o.session.run_binding(&b.binding).map_err(err)?;
        let (_, data) = outputs[0].try_extract_tensor::<f32>().map_err(err)?;
        let (ow, oh) = (input.width as usize * s, input.height as usize * s);
        let mut out = Planes::new(ow as u32, oh as u32, 3);
        for c in 0..3 {
            for y in 0..oh {
                out.data[(c * oh + y) * ow..][..ow].copy_from_slice(&data[(c * h * s + y) * w * s..][..ow]);
            }
        }
        if out.data.iter().any(|v| !v.is_finite()) {
            return Err(Error::model(&name, "output holds NaN or infinite values"));
        }
        Ok(out)
    }
}

impl Network {
    /// Whether [`Network::run_fixed`]'s buffers are page-locked (a GPU that offers them).
    pub fn pinned_buffers(&self) -> bool {
        matches!(&self.backend, Backend::Ort(o) if o.pinned)
    }
}

/// The shape a video's tiles run at: `w`×`h` rounded up to a multiple of `multiple`.
pub fn fixed_shape(w: u32, h: u32, multiple: u32) -> (u32, u32) {
    let m = multiple.max(1);
    (w.div_ceil(m) * m, h.div_ceil(m) * m)
}

/// The top-left `w`×`h` of a 3-plane picture.
fn crop(p: &Planes, w: u32, h: u32) -> Planes {
    let (pw, ph, w, h) = (p.width as usize, p.height as usize, w as usize, h as usize);
    let mut out = Planes::new(w as u32, h as u32, 3);
    for c in 0..3 {
        for y in 0..h {
            out.data[(c * h + y) * w..][..w].copy_from_slice(&p.data[(c * ph + y) * pw..][..w]);
        }
    }
    out
}

/// Copies the first 3 planes of `src` into `dst` (3 planes of `w`×`h`), repeating the last
/// column and row into the padding.
fn pad_into(src: &Planes, dst: &mut [f32], w: usize, h: usize) {
    let (sw, sh) = (src.width as usize, src.height as usize);
    for c in 0..3 {
        let plane = src.plane(c);
        for y in 0..h {
            let row = &plane[y.min(sh - 1) * sw..][..sw];
            let d = &mut dst[(c * h + y) * w..][..w];
            d[..sw].copy_from_slice(row);
            d[sw..].fill(row[sw - 1]);
        }
    }
}

/// An ONNX Runtime failure as our error: running out of memory (its arena's cap, the GPU's
/// memory, a cuDNN/cuBLAS workspace) is [`Error::OutOfMemory`], anything else [`Error::Model`].
/// ONNX Runtime has no error code for it, so its messages are what tell.
pub fn ort_error(model: &str, what: &str, e: ort::Error) -> Error {
    let msg = e.to_string();
    const SIGNS: [&str; 7] = [
        "Failed to allocate memory",
        "Available memory of",
        "out of memory",
        "cudaErrorMemoryAllocation",
        "CUBLAS_STATUS_ALLOC_FAILED",
        "CUDNN_STATUS_ALLOC_FAILED",
        "bad_alloc",
    ];
    if SIGNS.iter().any(|s| msg.contains(s)) {
        Error::OutOfMemory { model: model.to_string(), source: e }
    } else {
        Error::model_ort(model, what, e)
    }
}

/// Whether `e` is a network running out of memory (the frame can be retried with smaller tiles).
pub fn is_out_of_memory(e: &Error) -> bool {
    matches!(e, Error::OutOfMemory { .. })
}

/// The next tile size to try after running out of memory with tiles of `tile` (0 = the whole
/// `w`×`h` picture): half, in multiples of 16, down to 32; `None` below that.
pub fn smaller_tile(tile: u32, w: u32, h: u32) -> Option<u32> {
    let cur = if tile == 0 { w.max(h) } else { tile.min(w.max(h)) };
    let next = cur / 2 / 16 * 16;
    (next >= 32).then_some(next)
}

/// Runs `run` with tiles of `tile` and, each time it runs out of memory, again with a
/// [`smaller_tile`], so the frame is never dropped. Returns the result and the tile size that
/// worked: the caller keeps it for the next frames and says once that it shrank (it differs
/// from `tile`). Other errors, and running out of memory at the smallest tile, are returned.
pub fn retry_smaller<T>(tile: u32, w: u32, h: u32, mut run: impl FnMut(u32) -> Result<T>) -> Result<(T, u32)> {
    let mut t = tile;
    loop {
        match run(t) {
            Ok(v) => return Ok((v, t)),
            Err(e) if is_out_of_memory(&e) => match smaller_tile(t, w, h) {
                Some(n) => t = n,
                None => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
}

/// Checks a model input/output is a float tensor of shape [N, 3, H, W] (dimensions may be dynamic).
fn check_nchw3(t: &ValueType) -> std::result::Result<(), String> {
    let ValueType::Tensor { ty, shape, .. } = t else {
        return Err("not a tensor".into());
    };
    if *ty != TensorElementType::Float32 {
        return Err(format!("element type {ty:?}, expected float32"));
    }
    let dims: Vec<i64> = shape.iter().copied().collect();
    if dims.len() == 4 && dims[3] == 3 && dims[1] != 3 {
        return Err(format!("shape {dims:?} is channels-last (NHWC), expected [N, 3, H, W] (NCHW RGB)"));
    }
    if dims.len() != 4 || !(dims[1] == 3 || dims[1] == -1) {
        return Err(format!("shape {dims:?}, expected [N, 3, H, W] (NCHW RGB)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oom() -> Error {
        Error::OutOfMemory {
            model: "m".into(),
            source: ort::Error::new("Failed to allocate memory for requested buffer"),
        }
    }

    #[test]
    fn out_of_memory_retries_with_halved_tiles_until_it_fits() {
        let mut tried = Vec::new();
        let (v, tile) = retry_smaller(0, 1920, 1080, |t| {
            tried.push(t);
            if t == 0 || t > 300 {
                Err(oom())
            } else {
                Ok(t * 2)
            }
        })
        .unwrap();
        assert_eq!(tried, vec![0, 960, 480, 240]);
        assert_eq!((v, tile), (480, 240));
    }

    #[test]
    fn other_errors_and_the_smallest_tile_are_not_retried() {
        let mut n = 0;
        let e = retry_smaller(0, 64, 64, |_| -> Result<()> {
            n += 1;
            Err(Error::model("m", "bad"))
        });
        assert!(matches!(e, Err(Error::Model { .. })) && n == 1);
        let mut tried = Vec::new();
        let e = retry_smaller(128, 1000, 1000, |t| -> Result<()> {
            tried.push(t);
            Err(oom())
        });
        assert!(e.as_ref().is_err_and(is_out_of_memory), "{e:?}");
        assert_eq!(tried, vec![128, 64, 32]);
        assert_eq!(smaller_tile(40, 1000, 1000), None);
    }

    #[test]
    fn shapes_round_up_and_padding_repeats_the_edge() {
        assert_eq!(fixed_shape(1918, 1080, 16), (1920, 1088));
        assert_eq!(fixed_shape(64, 48, 16), (64, 48));
        let mut p = Planes::new(2, 2, 3);
        p.data = (0..12).map(|v| v as f32).collect();
        let mut d = vec![-1.0; 3 * 3 * 4];
        pad_into(&p, &mut d, 4, 3);
        assert_eq!(&d[..12], &[0.0, 1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 2.0, 3.0, 3.0, 3.0]);
        assert_eq!(&d[24..], &[8.0, 9.0, 9.0, 9.0, 10.0, 11.0, 11.0, 11.0, 10.0, 11.0, 11.0, 11.0]);
    }
}

//! Finding and loading the ONNX Runtime shared library (`load-dynamic`), once per process, and
//! choosing the execution provider for a session. ONNX Runtime's own log is silenced: the
//! library never prints, and what goes wrong comes back as an error instead.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ort::environment::Environment;
use ort::logging::LogLevel;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};

use crate::config::Device;
use crate::error::{one_line, DeviceProblem, Error, Result};

/// The ONNX Runtime version the `ort` bindings expect.
pub const ORT_VERSION: &str = "1.31.1";

static ENV: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();

/// Where the library is looked for, in order: `$ORT_DYLIB_PATH`, next to the executable, the
/// set-up's cache in the source tree (`.cache/onnxruntime`).
pub fn library_candidates() -> Vec<PathBuf> {
    let mut c = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        c.push(PathBuf::from(p));
        return c;
    }
    let names = [format!("libonnxruntime.so.{ORT_VERSION}"), "libonnxruntime.so".to_string()];
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        // Test and bench binaries live in target/<profile>/deps.
        if let Some(up) = dir.parent().filter(|_| dir.ends_with("deps")) {
            dirs.push(up.to_path_buf());
        }
        dirs.push(dir);
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/onnxruntime"));
    for d in dirs {
        for n in &names {
            c.push(d.join(n));
        }
    }
    c
}

/// The process-wide ONNX Runtime environment, loading the library on first use.
pub fn environment() -> Result<&'static Environment> {
    ENV.get_or_init(|| {
        let candidates = library_candidates();
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            let looked: Vec<_> = candidates.iter().map(|p| p.display().to_string()).collect();
            return Err(format!(
                "libonnxruntime.so {ORT_VERSION} not found (looked at {}); run tools/setup.sh, \
                 or set ORT_DYLIB_PATH to the library from the onnxruntime {ORT_VERSION} wheel",
                looked.join(", ")
            ));
        };
        let fail = |e: &dyn std::fmt::Display| one_line(&format!("{}: {e}", path.display()));
        let env = ort::init_from(path)
            .map_err(|e| fail(&e))?
            .with_name("upscale")
            // Its log (coloured `[E:onnxruntime:...]` lines on stderr by default) is dropped:
            // failures reach the caller as errors, reported once by the binary.
            .with_logger(Arc::new(|_: LogLevel, _: &str, _: &str, _: &str, _: &str| {}))
            .build()
            .map_err(|e| fail(&e))?;
        // And not even formatted, below fatal.
        env.set_log_level(LogLevel::Fatal);
        Ok(env)
    })
    .as_ref()
    .map_err(|e| Error::runtime(e, None))
}

/// A session builder for `device` with `threads` intra-op threads (0 = ONNX Runtime's choice).
/// A GPU that was asked for and cannot be had is an error, never a silent CPU run.
pub fn builder(device: Device, threads: usize) -> Result<SessionBuilder> {
    let env = environment()?;
    let rt = |e: ort::Error| Error::runtime("cannot make a session", Some(e));
    let mut b = ort::session::Session::builder(env).map_err(rt)?;
    b = b.with_log_level(LogLevel::Fatal).map_err(|e| rt(e.into()))?;
    b = b.with_optimization_level(GraphOptimizationLevel::Level3).map_err(|e| rt(e.into()))?;
    // Idle intra-op threads sleep instead of spinning: in the video pipeline the decoder and
    // encoder threads need those cores between the network's operators and runs.
    b = b.with_intra_op_spinning(false).map_err(|e| rt(e.into()))?;
    if threads > 0 {
        b = b.with_intra_threads(threads).map_err(|e| rt(e.into()))?;
    }
    if let Device::Cuda(n) = device {
        let ep = ort::ep::CUDA::default().with_device_id(n as i32).build().error_on_failure();
        b = b.with_execution_providers([ep]).map_err(|e| Error::Device {
            device: device.to_string(),
            problem: DeviceProblem::NoProvider,
            msg: format!(
                "CUDA execution provider unavailable: {} (the CPU build of ONNX Runtime has none: \
                 run tools/setup.sh --gpu and set ORT_DYLIB_PATH to .cache/onnxruntime-gpu/libonnxruntime.so; \
                 it needs the NVIDIA driver, CUDA 13, cuBLAS 13, cuDNN 9, cuFFT, cuRAND and NVRTC)",
                one_line(&e.to_string())
            ),
        })?;
    }
    Ok(b)
}

/// Resolves `auto` to a concrete device: CUDA device 0 when its execution provider can be
/// registered, else the CPU. Returns the device and, for `auto`, a note saying which and why.
pub fn choose_device(device: Device) -> Result<(Device, Option<String>)> {
    if device != Device::Auto {
        return Ok((device, None));
    }
    match builder(Device::Cuda(0), 0) {
        Ok(_) => Ok((Device::Cuda(0), Some("cuda:0 (a CUDA device is usable)".into()))),
        Err(Error::Device { problem, .. }) => {
            let why = match problem {
                DeviceProblem::NoProvider => "this ONNX Runtime library has no CUDA execution provider",
                _ => "no usable CUDA device",
            };
            Ok((Device::Cpu, Some(format!("cpu ({why})"))))
        }
        Err(e) => Err(e),
    }
}

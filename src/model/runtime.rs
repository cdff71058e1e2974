//! Finding and loading the ONNX Runtime shared library (`load-dynamic`), once per process, and
//! choosing the execution provider for a session. ONNX Runtime's own log is silenced: the
//! library never prints, and what goes wrong comes back as an error instead.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ort::environment::Environment;
use ort::logging::LogLevel;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};

use crate::config::{Device, Precision};
use crate::error::{one_line, DeviceProblem, Error, Result};
use crate::model::arena;
use crate::model::cuda::{self, Problem};

/// Where a network's bytes come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Compiled into the binary.
    Embedded(&'static [u8]),
    /// A file on disk.
    File(std::path::PathBuf),
}

/// The ONNX Runtime version the `ort` bindings expect.
pub const ORT_VERSION: &str = "1.31.1";

static ENV: OnceLock<std::result::Result<(Environment, PathBuf), String>> = OnceLock::new();

/// Where the library is looked for, in order: `$ORT_DYLIB_PATH`, next to the executable, the
/// set-up's cache in the source tree (`.cache/onnxruntime`).
pub fn library_candidates() -> Vec<PathBuf> {
    let mut c = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
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
        Ok((env, path.clone()))
    })
    .as_ref()
    .map(|(env, _)| env)
    .map_err(|e| Error::runtime(e, None))
}

/// The ONNX Runtime library this process loaded, once [`environment`] succeeded.
pub fn loaded_library() -> Option<PathBuf> {
    ENV.get().and_then(|r| r.as_ref().ok()).map(|(_, p)| p.clone())
}

/// A session builder for `device` with `threads` intra-op threads (0 = ONNX Runtime's choice).
/// A GPU that was asked for and cannot be had is an error naming what is missing, never a
/// silent CPU run.
pub fn builder(device: Device, threads: usize) -> Result<SessionBuilder> {
    match try_builder(device, threads)? {
        Ok(b) => Ok(b),
        Err(p) => {
            let problem = if matches!(p, Problem::CpuBuild { .. }) {
                DeviceProblem::NoProvider
            } else {
                DeviceProblem::Unavailable
            };
            Err(Error::Device { device: device.to_string(), problem, msg: p.to_string() })
        }
    }
}

/// [`builder`], with a GPU that cannot be had as a typed [`Problem`] (the outer error is for
/// ONNX Runtime itself failing).
fn try_builder(device: Device, threads: usize) -> Result<std::result::Result<SessionBuilder, Problem>> {
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
    let limit = arena::limit();
    if let Device::Cuda(n) = device {
        if let Err(p) = cuda_usable(n) {
            return Ok(Err(p));
        }
        let mut ep = ort::ep::CUDA::default().with_device_id(n as i32);
        // Extra provider options for measurements, e.g. "prefer_nhwc=1,cudnn_conv_algo_search=HEURISTIC".
        for kv in std::env::var("UPSCALE_CUDA_OPTIONS").unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, "1"));
            ep = ort::ep::ArbitrarilyConfigurableExecutionProvider::with_arbitrary_config(ep, k.trim(), v.trim());
        }
        if let Some(bytes) = limit {
            ep = ep
                .with_memory_limit(bytes as usize)
                .with_arena_extend_strategy(ort::ep::ArenaExtendStrategy::SameAsRequested);
        }
        match b.with_execution_providers([ep.build().error_on_failure()]) {
            Ok(b) => return Ok(Ok(b)),
            Err(e) => return Ok(Err(Problem::Provider(one_line(&e.to_string())))),
        }
    }
    if limit.is_some() {
        arena::register_cpu_arena(env)?;
        b = b.with_env_allocators().map_err(|e| rt(e.into()))?;
    }
    Ok(Ok(b))
}

/// Whether CUDA device `n` can be used with the loaded ONNX Runtime: the CUDA build, NVIDIA's
/// CUDA 13 libraries (loaded from [`cuda::library_dirs`] or the system), the driver, the device.
pub fn cuda_usable(n: u32) -> std::result::Result<(), Problem> {
    let library = loaded_library().unwrap_or_default();
    if !<ort::ep::CUDA as ort::ep::ExecutionProvider>::is_available().unwrap_or(false) {
        return Err(Problem::CpuBuild { library });
    }
    cuda::check(n)
}

/// Resolves `auto` to a concrete device: CUDA device 0 when its execution provider can be
/// registered, else the CPU. Returns the device and, for `auto`, a note saying which and why.
pub fn choose_device(device: Device) -> Result<(Device, Option<String>)> {
    if device != Device::Auto {
        return Ok((device, None));
    }
    match try_builder(Device::Cuda(0), 0)? {
        Ok(_) => Ok((Device::Cuda(0), Some("cuda:0 (a CUDA device is usable)".into()))),
        Err(p) => Ok((Device::Cpu, Some(format!("cpu ({})", p.cause())))),
    }
}

/// Which inference library runs a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// ONNX Runtime (CPU or CUDA execution provider).
    OnnxRuntime,
    /// OpenVINO's CPU plugin (x86 CPUs; bf16 and int8 where the processor has them).
    OpenVino,
}

impl Runtime {
    /// `onnxruntime` or `openvino`, as in notes, plans and `UPSCALE_RUNTIME`.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::OnnxRuntime => "onnxruntime",
            Runtime::OpenVino => "openvino",
        }
    }
}

impl std::fmt::Display for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Runtime::OnnxRuntime => "ONNX Runtime",
            Runtime::OpenVino => "OpenVINO",
        })
    }
}

/// What an engine resolved to run with: the runtime and the precision, never `auto`. Reported
/// by [`crate::Engine::execution`] and recorded in a job's plan so every segment runs the same;
/// [`crate::Engine::with_execution`] pins it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Execution {
    /// The inference library that runs the network.
    pub runtime: Runtime,
    /// The precision it computes in (never [`Precision::Auto`]).
    pub precision: Precision,
}

impl std::fmt::Display for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.runtime, self.precision)
    }
}

//! A cap on the memory ONNX Runtime may take for a network's tensors (the CUDA arena's
//! `gpu_mem_limit` on a GPU, an environment-wide CPU arena with `max_mem` on the CPU). Meant for
//! sharing a card with other work and for forcing the out-of-memory path in tests.

use std::ffi::{c_char, CStr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType};
use ort::AsPointer;

use crate::error::{Error, Result};

static LIMIT: AtomicU64 = AtomicU64::new(0);

/// Caps every session built from now on at `bytes` of tensor memory (0: no cap, the default;
/// `$UPSCALE_MEMORY_LIMIT` in bytes sets it for the process). On the CPU the first capped
/// session fixes the cap for the process: ONNX Runtime's shared arena cannot be resized.
pub fn set_limit(bytes: u64) {
    LIMIT.store(bytes, Ordering::Relaxed);
}

/// The cap in bytes, if any.
pub fn limit() -> Option<u64> {
    match LIMIT.load(Ordering::Relaxed) {
        0 => std::env::var("UPSCALE_MEMORY_LIMIT").ok().and_then(|v| v.trim().parse().ok()).filter(|&b| b > 0),
        b => Some(b),
    }
}

/// Registers, once, a CPU arena capped at [`limit`] in `env`, for sessions that use the
/// environment's allocators.
pub fn register_cpu_arena(env: &Environment) -> Result<()> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let bytes = limit().unwrap_or(0) as usize;
        let info = MemoryInfo::new(AllocationDevice::CPU, 0, AllocatorType::Arena, MemoryType::Default)
            .map_err(|e| e.to_string())?;
        let api = ort::api();
        // max_mem in bytes; arena_extend_strategy 1 = kSameAsRequested (no doubling past the cap).
        let keys: [*const c_char; 2] = [c"max_mem".as_ptr(), c"arena_extend_strategy".as_ptr()];
        let values: [usize; 2] = [bytes, 1];
        let mut cfg = std::ptr::null_mut();
        // SAFETY: ONNX Runtime C API calls with valid pointers; the config is released after use.
        unsafe {
            status((api.CreateArenaCfgV2)(keys.as_ptr(), values.as_ptr(), keys.len(), &mut cfg))?;
            let r = status((api.CreateAndRegisterAllocator)(env.ptr().cast_mut(), info.ptr(), cfg));
            (api.ReleaseArenaCfg)(cfg);
            r
        }
    })
    .clone()
    .map_err(|e| Error::runtime(format!("cannot cap the CPU arena: {e}"), None))
}

/// An ONNX Runtime status as a result, releasing it.
unsafe fn status(s: ort::sys::OrtStatusPtr) -> std::result::Result<(), String> {
    if s.0.is_null() {
        return Ok(());
    }
    let api = ort::api();
    let msg = CStr::from_ptr((api.GetErrorMessage)(s.0)).to_string_lossy().into_owned();
    (api.ReleaseStatus)(s.0);
    Err(msg)
}

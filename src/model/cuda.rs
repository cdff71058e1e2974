//! NVIDIA's CUDA 13 libraries for the CUDA build of ONNX Runtime, without a system CUDA: loaded
//! (dlopen, global) from the set-up's cache before the execution provider is registered, so the
//! provider's own references resolve to them. Whatever is missing (libraries, the driver, the
//! device) comes back as a typed [`Problem`] naming it and the one fix for it.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What the CUDA execution provider needs, in load order: the library and its PyPI wheel.
pub const REQUIRED: [(&str, &str); 7] = [
    ("libcudart.so.13", "nvidia-cuda-runtime"),
    ("libcublasLt.so.13", "nvidia-cublas"),
    ("libcublas.so.13", "nvidia-cublas"),
    ("libcurand.so.10", "nvidia-curand"),
    ("libcufft.so.12", "nvidia-cufft"),
    ("libnvrtc.so.13", "nvidia-cuda-nvrtc"),
    ("libcudnn.so.9", "nvidia-cudnn-cu13"),
];

/// Libraries the required ones open by name at run time, loaded first when a folder has them
/// (a name ending in '.' is a file-name prefix).
const COMPANIONS: [(&str, &[&str]); 3] = [
    ("libcufft.so.12", &["libnvJitLink.so.13"]),
    ("libnvrtc.so.13", &["libnvrtc-builtins.so."]),
    (
        "libcudnn.so.9",
        &[
            "libcudnn_graph.so.9",
            "libcudnn_ops.so.9",
            "libcudnn_cnn.so.9",
            "libcudnn_adv.so.9",
            "libcudnn_heuristic.so.9",
            "libcudnn_engines_precompiled.so.9",
            "libcudnn_engines_tensor_ir.so.9",
            "libcudnn_ext.so.9",
            "libcudnn_engines_runtime_compiled.so.9",
        ],
    ),
];

/// The oldest driver API version CUDA 13 runs on (13.0: driver 580).
const CUDA_13: c_int = 13000;

/// Why a CUDA device cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The ONNX Runtime library loaded is the CPU build: no CUDA execution provider in it.
    CpuBuild {
        /// The ONNX Runtime library that was loaded.
        library: PathBuf,
    },
    /// CUDA libraries the provider needs cannot be loaded (soname, wheel).
    MissingLibraries {
        /// Each library not found: its soname and the PyPI wheel that has it (from [`REQUIRED`]).
        missing: Vec<(&'static str, &'static str)>,
        /// The folders searched ([`library_dirs`]).
        looked: Vec<PathBuf>,
    },
    /// No NVIDIA driver: `libcuda.so.1` cannot be loaded.
    NoDriver {
        /// The dynamic loader's error.
        detail: String,
    },
    /// The driver is older than CUDA 13 (`version` as 1000 × major + 10 × minor).
    OldDriver {
        /// The driver's CUDA version (`cuDriverGetVersion`: 12080 is 12.8).
        version: i32,
    },
    /// The driver sees no such device.
    NoDevice {
        /// The device index asked for (`cuda:N`).
        index: u32,
        /// Devices the driver sees (0 when it could not count them).
        count: u32,
        /// The driver's error name when counting failed; empty otherwise.
        detail: String,
    },
    /// ONNX Runtime refused the provider for another reason (its message).
    Provider(String),
}

impl Problem {
    /// The cause alone, for `--device auto`'s note.
    pub fn cause(&self) -> String {
        match self {
            Problem::CpuBuild { .. } => "the ONNX Runtime library is the CPU build".into(),
            Problem::MissingLibraries { missing, .. } => {
                format!("missing {}", missing.iter().map(|m| m.0).collect::<Vec<_>>().join(", "))
            }
            Problem::NoDriver { .. } => "no NVIDIA driver (libcuda.so.1)".into(),
            Problem::OldDriver { version } => {
                format!("the NVIDIA driver supports CUDA {} only", cuda_version(*version))
            }
            Problem::NoDevice { count: 0, .. } => "the NVIDIA driver sees no CUDA device".into(),
            Problem::NoDevice { index, count, .. } => format!("no device {index} (the driver sees {count})"),
            Problem::Provider(m) => format!("CUDA execution provider refused: {m}"),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::CpuBuild { library } => write!(
                f,
                "{} is the CPU build of ONNX Runtime, which has no CUDA execution provider; run \
                 tools/setup.sh --gpu (it puts the CUDA build beside the binary), or set ORT_DYLIB_PATH \
                 to .cache/onnxruntime-gpu/libonnxruntime.so",
                library.display()
            ),
            Problem::MissingLibraries { missing, looked } => {
                let mut wheels: Vec<&str> = missing.iter().map(|m| m.1).collect();
                wheels.dedup();
                write!(
                    f,
                    "the CUDA build of ONNX Runtime needs {} (PyPI {}), not found in {} nor on the system \
                     library path; run tools/setup.sh --gpu (it fetches NVIDIA's CUDA 13 wheels into \
                     .cache/cuda13), or set UPSCALE_CUDA_LIBS to the folder holding them",
                    missing.iter().map(|m| m.0).collect::<Vec<_>>().join(", "),
                    wheels.join(", "),
                    if looked.is_empty() {
                        "no folder".to_string()
                    } else {
                        looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                    }
                )
            }
            Problem::NoDriver { detail } => write!(
                f,
                "no NVIDIA driver: libcuda.so.1 cannot be loaded ({detail}); install the NVIDIA driver \
                 (580 or newer, for CUDA 13), or choose the cpu device"
            ),
            Problem::OldDriver { version } => write!(
                f,
                "the NVIDIA driver supports CUDA {} only, CUDA 13 needs driver 580 or newer; update the \
                 driver, or choose the cpu device",
                cuda_version(*version)
            ),
            Problem::NoDevice { count: 0, detail, .. } => {
                write!(f, "the NVIDIA driver sees no CUDA device ({detail}); choose the cpu device")
            }
            Problem::NoDevice { index, count, .. } => write!(
                f,
                "no CUDA device {index}: the driver sees {count} (cuda:0 to cuda:{}); choose one of those",
                count - 1
            ),
            Problem::Provider(m) => write!(f, "CUDA execution provider unavailable: {m}"),
        }
    }
}

fn cuda_version(v: i32) -> String {
    format!("{}.{}", v / 1000, v % 1000 / 10)
}

/// Folders searched for the CUDA libraries: `$UPSCALE_CUDA_LIBS` (`:`-separated) when set, else
/// `cuda/` beside the executable and the set-up's `.cache/cuda13`. A folder laid out as a Python
/// `site-packages` (`nvidia/*/lib`: `nvidia/cu13/lib`, `nvidia/cudnn/lib` as NVIDIA's wheels
/// install) counts too.
pub fn library_dirs() -> Vec<PathBuf> {
    let roots: Vec<PathBuf> = match std::env::var_os("UPSCALE_CUDA_LIBS") {
        Some(v) => std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect(),
        None => {
            let mut r = Vec::new();
            if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
                if let Some(up) = dir.parent().filter(|_| dir.ends_with("deps")) {
                    r.push(up.join("cuda"));
                }
                r.push(dir.join("cuda"));
            }
            r.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/cuda13"));
            r
        }
    };
    let mut dirs = Vec::new();
    for r in roots {
        dirs.push(r.clone());
        let mut subs: Vec<PathBuf> = std::fs::read_dir(r.join("nvidia"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path().join("lib"))).filter(|p| p.is_dir()).collect())
            .unwrap_or_default();
        subs.sort();
        dirs.extend(subs);
    }
    dirs
}

/// What loading found, once per process.
struct Loaded {
    driver: Result<Driver, String>,
    missing: Vec<(&'static str, &'static str)>,
    looked: Vec<PathBuf>,
}

/// The driver's entry points used to count devices.
struct Driver {
    version: Option<unsafe extern "C" fn(*mut c_int) -> c_int>,
    init: Option<unsafe extern "C" fn(c_uint) -> c_int>,
    count: Option<unsafe extern "C" fn(*mut c_int) -> c_int>,
    error_name: Option<unsafe extern "C" fn(c_int, *mut *const c_char) -> c_int>,
}

static LOADED: OnceLock<Loaded> = OnceLock::new();

/// Loads the CUDA libraries (once) and checks the driver and device `index`.
pub fn check(index: u32) -> Result<(), Problem> {
    let l = LOADED.get_or_init(load);
    if !l.missing.is_empty() {
        return Err(Problem::MissingLibraries { missing: l.missing.clone(), looked: l.looked.clone() });
    }
    let d = l.driver.as_ref().map_err(|e| Problem::NoDriver { detail: e.clone() })?;
    let mut v = 0;
    // SAFETY: driver API entry points with their documented signatures, out-pointers to locals.
    unsafe {
        if let Some(f) = d.version {
            if f(&mut v) == 0 && v > 0 && v < CUDA_13 {
                return Err(Problem::OldDriver { version: v });
            }
        }
        let code = d.init.map_or(-1, |f| f(0));
        let mut n: c_int = 0;
        let code = if code == 0 { d.count.map_or(-1, |f| f(&mut n)) } else { code };
        if code != 0 {
            return Err(Problem::NoDevice { index, count: 0, detail: d.describe(code) });
        }
        if index >= n as u32 {
            return Err(Problem::NoDevice { index, count: n as u32, detail: String::new() });
        }
    }
    Ok(())
}

impl Driver {
    fn describe(&self, code: c_int) -> String {
        let mut name: *const c_char = std::ptr::null();
        // SAFETY: cuGetErrorName writes a pointer to a static string or leaves it null.
        let named = self.error_name.is_some_and(|f| unsafe { f(code, &mut name) } == 0 && !name.is_null());
        if named {
            // SAFETY: non-null, NUL-terminated static string from the driver.
            format!("cuInit: {}", unsafe { CStr::from_ptr(name) }.to_string_lossy())
        } else {
            format!("cuInit: error {code}")
        }
    }
}

/// Finds every required library (in the folders, else on the system path) and, only when all
/// are there and the driver loads, loads them with their companions in dependency order: a
/// machine without a driver never maps the 2 GB of CUDA libraries.
fn load() -> Loaded {
    let looked = library_dirs();
    let driver = open("libcuda.so.1").map(|h| Driver {
        version: sym(h, "cuDriverGetVersion"),
        init: sym(h, "cuInit"),
        count: sym(h, "cuDeviceGetCount"),
        error_name: sym(h, "cuGetErrorName"),
    });
    let mut missing = Vec::new();
    let mut found = Vec::new();
    for (lib, wheel) in REQUIRED {
        match find(&looked, lib) {
            Some(p) => found.push((lib, wheel, Some(p))),
            None if open(lib).is_ok() => found.push((lib, wheel, None)),
            None => missing.push((lib, wheel)),
        }
    }
    if missing.is_empty() && driver.is_ok() {
        for (lib, wheel, path) in found {
            for (parent, companions) in COMPANIONS {
                if parent == lib {
                    for p in companions.iter().filter_map(|c| find(&looked, c)) {
                        let _ = open(&p.to_string_lossy());
                    }
                }
            }
            if let Some(p) = path {
                if open(&p.to_string_lossy()).is_err() {
                    missing.push((lib, wheel));
                }
            }
        }
    }
    Loaded { driver: driver.map_err(|e| e.to_string()), missing, looked }
}

/// The first file in `dirs` named `name`, or starting with it when it ends in '.'.
fn find(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter().find_map(|d| {
        if !name.ends_with('.') {
            return Some(d.join(name)).filter(|p| p.is_file());
        }
        let mut hits: Vec<PathBuf> = std::fs::read_dir(d)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().is_some_and(|f| f.to_string_lossy().starts_with(name)))
            .collect();
        hits.sort();
        hits.pop()
    })
}

/// dlopen with global symbols, so later libraries' references resolve to it; kept for good.
fn open(name: &str) -> Result<*mut c_void, String> {
    let c = CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: a NUL-terminated path; the handle is never closed.
    let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    if h.is_null() {
        // SAFETY: dlerror returns a thread-local message or null.
        let e = unsafe { libc::dlerror() };
        return Err(if e.is_null() {
            format!("{name}: cannot be loaded")
        } else {
            // SAFETY: `e` is not null: dlerror's message, a C string valid until the next dl call on this thread,
            // copied at once.
            unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
        });
    }
    Ok(h)
}

fn sym<F: Copy>(h: *mut c_void, name: &str) -> Option<F> {
    let c = CString::new(name).ok()?;
    // SAFETY: looks a symbol up in a live handle; the caller names the function's true type.
    let p = unsafe { libc::dlsym(h, c.as_ptr()) };
    // SAFETY: `p` is a non-null address from dlsym, and `F` is the symbol's function pointer type (pointer-sized), as
    // the caller promises.
    (!p.is_null()).then(|| unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_is_missing_and_one_fix() {
        let m = Problem::MissingLibraries {
            missing: vec![("libcublasLt.so.13", "nvidia-cublas"), ("libcublas.so.13", "nvidia-cublas")],
            looked: vec![PathBuf::from("/x/.cache/cuda13")],
        };
        let s = m.to_string();
        assert!(s.contains("libcublasLt.so.13, libcublas.so.13 (PyPI nvidia-cublas)"), "{s}");
        assert!(s.contains("/x/.cache/cuda13") && s.contains("tools/setup.sh --gpu"), "{s}");
        assert!(!s.contains("CPU build"), "{s}");
        assert_eq!(Problem::OldDriver { version: 12040 }.cause(), "the NVIDIA driver supports CUDA 12.4 only");
        let d = Problem::NoDevice { index: 2, count: 1, detail: String::new() }.to_string();
        assert!(d.contains("no CUDA device 2: the driver sees 1 (cuda:0 to cuda:0)"), "{d}");
    }

    #[test]
    fn site_packages_layout_is_searched() {
        let t = std::env::temp_dir().join(format!("upscale-cuda-dirs-{}", std::process::id()));
        std::fs::create_dir_all(t.join("nvidia/cu13/lib")).unwrap();
        std::fs::write(t.join("nvidia/cu13/lib/libnvrtc-builtins.so.13.5"), b"").unwrap();
        let dirs = vec![t.clone(), t.join("nvidia/cu13/lib")];
        assert_eq!(find(&dirs, "libnvrtc-builtins.so."), Some(t.join("nvidia/cu13/lib/libnvrtc-builtins.so.13.5")));
        assert_eq!(find(&dirs, "libcudart.so.13"), None);
        std::fs::remove_dir_all(&t).unwrap();
    }
}

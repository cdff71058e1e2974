//! Networks by name: a family of the table (`registry.rs`: Real-ESRGAN, Real-CUGAN, waifu2x,
//! SPAN, general-x4v3; realesr-animevideov3 built into the binary, the others converted into a
//! model folder by the set-up), a classic resizer, or an `.onnx` path, resolved to files; and
//! the runtimes they run on (ONNX Runtime on CPU or CUDA, OpenVINO on the CPU).

pub(crate) mod arena;
pub(crate) mod cuda;
pub(crate) mod network;
pub(crate) mod openvino;
pub(crate) mod openvino_choice;
pub(crate) mod registry;
pub(crate) mod runtime;
pub(crate) mod syncgap;
pub(crate) mod tile_speed;

use std::path::{Path, PathBuf};

use crate::config::Precision;
pub use crate::config::{DEFAULT_MODEL, DEFAULT_PICTURE_MODEL};
use crate::error::{ConfigError, Error, Result};
use crate::resize::Filter;
pub use network::Network;
pub use registry::{families, family, Family, Framing, Location, Variant};
pub use runtime::Source;

const ANIMEVIDEO_X2: &[u8] = include_bytes!("../../models/realesr-animevideov3-x2.onnx");
const ANIMEVIDEO_X3: &[u8] = include_bytes!("../../models/realesr-animevideov3-x3.onnx");
const ANIMEVIDEO_X4: &[u8] = include_bytes!("../../models/realesr-animevideov3-x4.onnx");
const ANIMEVIDEO_X2_INT8: &[u8] = include_bytes!("../../models/realesr-animevideov3-x2-int8.onnx");
const ANIMEVIDEO_X3_INT8: &[u8] = include_bytes!("../../models/realesr-animevideov3-x3-int8.onnx");
const ANIMEVIDEO_X4_INT8: &[u8] = include_bytes!("../../models/realesr-animevideov3-x4-int8.onnx");

/// The families whose files the set-up converts into a model folder (all but the built-in one).
pub fn cached_models() -> Vec<&'static str> {
    families().iter().filter(|f| f.location == registry::Location::Cache).map(|f| f.name).collect()
}

/// The large Real-ESRGAN models of the first release, converted by `tools/setup.sh`.
pub const CACHED_MODELS: [&str; 2] = ["realesrgan-x4plus", "realesrgan-x4plus-anime"];

/// What a model name resolves to.
#[derive(Debug, Clone)]
pub enum ModelSpec {
    /// A classic interpolation filter, any scale.
    Classic(Filter),
    /// A network: its native scales with their sources (`None` = scale found by probing), at
    /// one denoise level, and how the engine frames it.
    Net {
        /// The family name, or the path of an `.onnx` file as given.
        name: String,
        /// Native scale (`None` for a file, found by probing) and the weights of each network.
        variants: Vec<(Option<u32>, Source)>,
        /// How the engine pads the picture and tiles for it.
        framing: Framing,
        /// The networks pool over the whole picture, so tiles take the two-pass path.
        squeeze_excite: bool,
    },
}

/// Folders searched for the large models: `dir` (from the config) or else `$UPSCALE_MODEL_DIR`
/// when given (and then only that one); otherwise `models/` next to the executable, the source
/// tree's `.cache/models` (where the set-up puts them), and `~/.cache/upscale/models`.
pub fn model_dirs(dir: Option<&Path>) -> Vec<PathBuf> {
    if let Some(d) = dir.map(Path::to_path_buf).or_else(|| std::env::var_os("UPSCALE_MODEL_DIR").map(PathBuf::from)) {
        return vec![d];
    }
    let mut d = Vec::new();
    if let Some(exe) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        d.push(exe.join("models"));
    }
    d.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/models"));
    if let Some(home) = std::env::var_os("HOME") {
        d.push(PathBuf::from(home).join(".cache/upscale/models"));
    }
    d
}

/// The first `file` found in the model folders, or an error saying how to install it.
fn find_cached(name: &str, file: &str, dir: Option<&Path>) -> Result<PathBuf> {
    let dirs = model_dirs(dir);
    dirs.iter().map(|d| d.join(file)).find(|p| p.is_file()).ok_or_else(|| {
        Error::model(
            name,
            format!(
                "not installed (looked for {file} in {}); run tools/setup.sh, which converts the \
                 official weights into .cache/models, or set UPSCALE_MODEL_DIR",
                dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

/// Resolves a model name or `.onnx` path for a precision (`Auto` counts as fp32) at denoise
/// level 0. See [`resolve_level`].
pub fn resolve(name: &str, dir: Option<&Path>, precision: Precision) -> Result<ModelSpec> {
    resolve_level(name, 0, dir, precision)
}

fn embedded(file: &str, int8: bool) -> Option<&'static [u8]> {
    Some(match (file, int8) {
        ("realesr-animevideov3-x2", false) => ANIMEVIDEO_X2,
        ("realesr-animevideov3-x3", false) => ANIMEVIDEO_X3,
        ("realesr-animevideov3-x4", false) => ANIMEVIDEO_X4,
        ("realesr-animevideov3-x2", true) => ANIMEVIDEO_X2_INT8,
        ("realesr-animevideov3-x3", true) => ANIMEVIDEO_X3_INT8,
        ("realesr-animevideov3-x4", true) => ANIMEVIDEO_X4_INT8,
        _ => return None,
    })
}

/// Resolves a family name (at denoise `level`: -1 conservative, 0 none, 1-3) or an `.onnx`
/// path for a precision (`Auto` counts as fp32). Built-in families resolve to their fp32 files,
/// their half-precision files (`<file>-fp16.onnx`, made by the set-up) or their int8 files; a
/// level or precision the family lacks is an error naming what it has. A path is used as it is
/// (at level 0 only).
pub fn resolve_level(name: &str, level: i32, dir: Option<&Path>, precision: Precision) -> Result<ModelSpec> {
    if let Some(f) = Filter::from_name(name) {
        return Ok(ModelSpec::Classic(f));
    }
    if let Some(fam) = family(name) {
        let at = fam.at_level(level);
        if at.is_empty() {
            let have: Vec<String> = fam.denoise_levels().iter().map(i32::to_string).collect();
            return Err(Error::Config(ConfigError::new(
                "denoise",
                level,
                format!("{} for {name} ({})", have.join(", "), fam.levels_by_scale()),
            )));
        }
        if precision == Precision::Int8 && !fam.int8 {
            let with: Vec<&str> = families().iter().filter(|f| f.int8).map(|f| f.name).collect();
            return Err(Error::model(
                name,
                format!(
                    "no int8 version (int8 is made for {} only: the other families were not quantised, \
                     models/README.md); choose precision fp32",
                    with.join(", ")
                ),
            ));
        }
        let fp16 = precision == Precision::Fp16;
        if fp16 && !fam.fp16 {
            return Err(Error::model(name, "no fp16 files (made for the Real-ESRGAN families only); use fp32"));
        }
        let variants = at
            .iter()
            .map(|v| {
                let int8 = precision == Precision::Int8;
                let src = match embedded(v.file, int8).filter(|_| !fp16) {
                    Some(bytes) => Source::Embedded(bytes),
                    None => {
                        let suffix = if fp16 {
                            "-fp16"
                        } else if int8 {
                            "-int8"
                        } else {
                            ""
                        };
                        Source::File(find_cached(name, &format!("{}{suffix}.onnx", v.file), dir)?)
                    }
                };
                Ok((Some(v.scale), src))
            })
            .collect::<Result<_>>()?;
        return Ok(ModelSpec::Net {
            name: name.into(),
            variants,
            framing: fam.framing,
            squeeze_excite: fam.squeeze_excite,
        });
    }
    let path = Path::new(name);
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("onnx")) || path.is_file() {
        if !path.is_file() {
            return Err(Error::model(name, "no such file"));
        }
        if level != 0 {
            return Err(Error::Config(ConfigError::new("denoise", level, format!("0 for a model file ({name})"))));
        }
        return Ok(ModelSpec::Net {
            name: name.into(),
            variants: vec![(None, Source::File(path.to_path_buf()))],
            framing: Framing::Outer { reach: crate::tile::BORDER },
            squeeze_excite: false,
        });
    }
    let names: Vec<&str> = families().iter().map(|f| f.name).chain(Filter::ALL.iter().map(|f| f.name())).collect();
    Err(Error::model(
        name,
        format!("unknown model; built-in models are {}, or give a path to an .onnx file", names.join(", ")),
    ))
}

/// One row of `upscale models`.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    /// The name given to `-m` (a family or a classic filter).
    pub name: String,
    /// Native scales, ascending (empty for a classic filter, which takes any).
    pub scales: Vec<u32>,
    /// Bytes of weights, when present.
    pub size: Option<u64>,
    /// Where it is (or would be).
    pub location: String,
    /// Every file the family needs is found (always true for a classic filter).
    pub present: bool,
    /// The family's registry entry (`None` for a classic filter).
    pub family: Option<&'static Family>,
}

/// Every built-in model and whether it is present.
pub fn list(dir: Option<&Path>) -> Vec<ModelEntry> {
    let mut rows = Vec::new();
    for fam in families() {
        let scales = fam.scales();
        let (mut size, mut present, mut location) = (0u64, true, String::new());
        for v in &fam.variants {
            if let Some(b) = embedded(v.file, false) {
                size += b.len() as u64 + embedded(v.file, true).map_or(0, |b| b.len() as u64);
                location = "built into the binary (fp32 and int8)".into();
                continue;
            }
            match find_cached(fam.name, &format!("{}.onnx", v.file), dir) {
                Ok(p) => {
                    size += std::fs::metadata(&p).map_or(0, |m| m.len());
                    if location.is_empty() {
                        location = p.parent().map_or(String::new(), |d| d.display().to_string());
                    }
                }
                Err(_) => present = false,
            }
        }
        if !present {
            location = "missing: run tools/setup.sh".into();
        }
        rows.push(ModelEntry {
            name: fam.name.into(),
            scales,
            size: present.then_some(size),
            location,
            present,
            family: Some(fam),
        });
    }
    for f in Filter::ALL {
        rows.push(ModelEntry {
            name: f.name().into(),
            scales: Vec::new(),
            size: None,
            location: "classic interpolation".into(),
            present: true,
            family: None,
        });
    }
    rows
}

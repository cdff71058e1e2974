//! The model registry: built-in names (the embedded realesr-animevideov3, the large Real-ESRGAN
//! models converted into a cache by the set-up, the classic resizers), `.onnx` paths, and where
//! each one lives.

pub mod cuda;
pub mod memory;
pub mod network;
pub mod openvino;
pub mod openvino_choice;
pub mod runtime;

use std::path::{Path, PathBuf};

use crate::config::Precision;
use crate::error::{Error, Result};
use crate::resize::Filter;
pub use network::{Network, Source};

/// The model used when none is named.
pub const DEFAULT_MODEL: &str = "realesr-animevideov3";

const ANIMEVIDEO_X2: &[u8] = include_bytes!("../../models/realesr-animevideov3-x2.onnx");
const ANIMEVIDEO_X3: &[u8] = include_bytes!("../../models/realesr-animevideov3-x3.onnx");
const ANIMEVIDEO_X4: &[u8] = include_bytes!("../../models/realesr-animevideov3-x4.onnx");
const ANIMEVIDEO_X2_INT8: &[u8] = include_bytes!("../../models/realesr-animevideov3-x2-int8.onnx");
const ANIMEVIDEO_X3_INT8: &[u8] = include_bytes!("../../models/realesr-animevideov3-x3-int8.onnx");
const ANIMEVIDEO_X4_INT8: &[u8] = include_bytes!("../../models/realesr-animevideov3-x4-int8.onnx");

/// The large official models, converted by `tools/setup.sh` into a model folder.
pub const CACHED_MODELS: [&str; 2] = ["realesrgan-x4plus", "realesrgan-x4plus-anime"];

/// What a model name resolves to.
#[derive(Debug, Clone)]
pub enum ModelSpec {
    /// A classic interpolation filter, any scale.
    Classic(Filter),
    /// A network: its native scales with their sources (`None` = scale found by probing).
    Net { name: String, variants: Vec<(Option<u32>, Source)> },
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

/// Resolves a model name or `.onnx` path for a precision (`Auto` counts as fp32). Built-in
/// networks resolve to their half-precision files (`<name>-fp16.onnx`, made by the set-up) or
/// their int8 files (built in, realesr-animevideov3 only); a path is used as it is.
pub fn resolve(name: &str, dir: Option<&Path>, precision: Precision) -> Result<ModelSpec> {
    if let Some(f) = Filter::from_name(name) {
        return Ok(ModelSpec::Classic(f));
    }
    let fp16 = precision == Precision::Fp16;
    if name == DEFAULT_MODEL && !fp16 {
        let [x2, x3, x4] = if precision == Precision::Int8 {
            [ANIMEVIDEO_X2_INT8, ANIMEVIDEO_X3_INT8, ANIMEVIDEO_X4_INT8]
        } else {
            [ANIMEVIDEO_X2, ANIMEVIDEO_X3, ANIMEVIDEO_X4]
        };
        let variants =
            vec![(Some(2), Source::Embedded(x2)), (Some(3), Source::Embedded(x3)), (Some(4), Source::Embedded(x4))];
        return Ok(ModelSpec::Net { name: name.into(), variants });
    }
    if precision == Precision::Int8 && CACHED_MODELS.contains(&name) {
        return Err(Error::model(
            name,
            format!("no int8 version (int8 is built in for {DEFAULT_MODEL} only); use --precision fp32"),
        ));
    }
    if name == DEFAULT_MODEL {
        let variants = [2, 3, 4]
            .into_iter()
            .map(|s| Ok((Some(s), Source::File(find_cached(name, &format!("{name}-x{s}-fp16.onnx"), dir)?))))
            .collect::<Result<_>>()?;
        return Ok(ModelSpec::Net { name: name.into(), variants });
    }
    if CACHED_MODELS.contains(&name) {
        let file = if fp16 { format!("{name}-fp16.onnx") } else { format!("{name}.onnx") };
        let p = find_cached(name, &file, dir)?;
        return Ok(ModelSpec::Net { name: name.into(), variants: vec![(Some(4), Source::File(p))] });
    }
    let path = Path::new(name);
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("onnx")) || path.is_file() {
        if !path.is_file() {
            return Err(Error::model(name, "no such file"));
        }
        return Ok(ModelSpec::Net { name: name.into(), variants: vec![(None, Source::File(path.to_path_buf()))] });
    }
    Err(Error::model(
        name,
        format!(
            "unknown model; built-in models are {DEFAULT_MODEL}, {}, nearest, bilinear, bicubic, lanczos, or give a path to an .onnx file",
            CACHED_MODELS.join(", ")
        ),
    ))
}

/// One row of `upscale models`.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    pub name: String,
    /// Native scales, e.g. "2,3,4", or "any".
    pub scales: String,
    /// Bytes of weights, when present.
    pub size: Option<u64>,
    /// Where it is (or would be).
    pub location: String,
    pub present: bool,
}

/// Every built-in model and whether it is present.
pub fn list(dir: Option<&Path>) -> Vec<ModelEntry> {
    let mut rows = vec![ModelEntry {
        name: DEFAULT_MODEL.into(),
        scales: "2,3,4".into(),
        size: Some(
            [ANIMEVIDEO_X2, ANIMEVIDEO_X3, ANIMEVIDEO_X4, ANIMEVIDEO_X2_INT8, ANIMEVIDEO_X3_INT8, ANIMEVIDEO_X4_INT8]
                .iter()
                .map(|m| m.len() as u64)
                .sum(),
        ),
        location: "built into the binary (fp32 and int8)".into(),
        present: true,
    }];
    for name in CACHED_MODELS {
        let (size, location, present) = match resolve(name, dir, Precision::Fp32) {
            Ok(ModelSpec::Net { variants, .. }) => match &variants[0].1 {
                Source::File(p) => (std::fs::metadata(p).ok().map(|m| m.len()), p.display().to_string(), true),
                Source::Embedded(b) => (Some(b.len() as u64), "built in".into(), true),
            },
            _ => (None, "missing: run tools/setup.sh".into(), false),
        };
        rows.push(ModelEntry { name: name.into(), scales: "4".into(), size, location, present });
    }
    for f in Filter::ALL {
        rows.push(ModelEntry {
            name: f.name().into(),
            scales: "any".into(),
            size: None,
            location: "classic interpolation".into(),
            present: true,
        });
    }
    rows
}

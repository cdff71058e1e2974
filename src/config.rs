//! The one configuration struct: the command line is turned into a [`Config`] once, and every
//! part of the library reads its settings from it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, Conflict};

/// The network for videos when none is named, and for an engine built from a config that names
/// none: realesr-animevideov3, built into the binary (nothing to install), the fastest network
/// here, with int8 files.
pub const DEFAULT_MODEL: &str = "realesr-animevideov3";

/// The network for pictures when none is named: realesr-general-x4v3, a general photo network
/// (SRVGGNetCompact, 1.2 M parameters) that runs in seconds on a CPU, where the video default
/// paints photographs like anime and realesrgan-x4plus takes minutes (README).
pub const DEFAULT_PICTURE_MODEL: &str = "realesr-general-x4v3";

pub use crate::planes::MAX_SIDE;

/// JPEG quality when none is asked: 95. The detail a network makes is fine texture, the first
/// thing a JPEG quantizer throws away; at 95 the 8×8 blocks stay invisible where 75 (the
/// encoder's own default) shows them on an upscaled photo, for about twice the bytes.
pub const DEFAULT_QUALITY: u8 = 95;

/// The largest `tile_pad`: more context than this costs more than it can change.
pub const MAX_TILE_PAD: u32 = 128;

/// The scale factors a network path takes: 2, 3 and 4 by native passes, 6 and 8 composed (1 only
/// with a 1x clean-up network, [`Config::scale`]). Stated here once.
pub const SCALES: [u32; 5] = [2, 3, 4, 6, 8];

/// What an input file holds; each kind has its own default network ([`Kind::default_model`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A still picture, upscaled tile by tile.
    Image,
    /// A video (anything not a picture), upscaled frame by frame through FFmpeg.
    Video,
}

impl Kind {
    /// The network used for this kind when none is named: [`DEFAULT_PICTURE_MODEL`] for
    /// pictures, [`DEFAULT_MODEL`] for videos. The one statement of the rule: the command line,
    /// the page and the API pick the same network for the same file.
    pub fn default_model(self) -> &'static str {
        match self {
            Kind::Image => DEFAULT_PICTURE_MODEL,
            Kind::Video => DEFAULT_MODEL,
        }
    }

    /// `image` or `video`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Video => "video",
        }
    }
}

/// Where the model runs. Written as its name (`auto`, `cpu`, `cuda:N`) in files (a segment plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Device {
    /// The GPU when one is usable, else the CPU (the choice is reported, not silent).
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device N. Failure to get it is an error, never a CPU run.
    Cuda(u32),
}

impl std::str::FromStr for Device {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| ConfigError::new("device", format!("'{s}'"), "auto, cpu, cuda or cuda:N")),
        }
    }
}

impl From<Device> for String {
    fn from(d: Device) -> String {
        d.to_string()
    }
}

impl TryFrom<String> for Device {
    type Error = ConfigError;
    fn try_from(s: String) -> Result<Self, ConfigError> {
        s.parse()
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Auto => f.write_str("auto"),
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// Numeric precision of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// The fastest that holds quality on this machine: fp16 on a GPU; on the CPU the fastest of
    /// ONNX Runtime fp32, OpenVINO fp32 and (where the CPU has AVX512_BF16 or AMX and the output
    /// stays >= 50 dB from fp32) OpenVINO bf16, timed once per machine and model
    /// (`model::openvino_choice`). Never int8.
    #[default]
    Auto,
    /// Single precision (the reference): ONNX Runtime on a GPU; on the CPU ONNX Runtime or
    /// OpenVINO fp32, whichever was timed faster on this machine.
    Fp32,
    /// Half-precision weights and compute (the `-fp16` model files made by the set-up).
    Fp16,
    /// bfloat16 compute on the CPU through OpenVINO (fp32 weights, converted when compiled):
    /// needs a CPU with AVX512_BF16 or AMX, else a configuration error. 52-57 dB from fp32.
    Bf16,
    /// 8-bit convolutions on the CPU (realesr-animevideov3 only: the built-in `-int8` files
    /// made by `tools/quantize_int8.py`), on whichever runtime is faster for them: an
    /// approximation of fp32, 38.6-42.9 dB against the reference where fp32 is at 90 dB
    /// (tools/reference_table.md).
    Int8,
}

impl Precision {
    /// The name used on the command line and in plans: `auto`, `fp32`, `fp16`, `bf16`, `int8`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::Fp32 => "fp32",
            Precision::Fp16 => "fp16",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Precision {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        [Precision::Auto, Precision::Fp32, Precision::Fp16, Precision::Bf16, Precision::Int8]
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| ConfigError::new("precision", format!("'{s}'"), "auto, fp32, fp16, bf16 or int8"))
    }
}

/// When to deinterlace video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deinterlace {
    /// From the stream's field order.
    #[default]
    Auto,
    /// Every frame, whatever the stream says.
    On,
    /// Never (frames are upscaled as they are coded).
    Off,
}

/// What happens to high dynamic range video (PQ or HLG transfer). Written as `keep` or `sdr`
/// in files (a segment plan carries it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tonemap {
    /// Kept as it is: the same transfer, primaries, matrix and mastering metadata.
    #[default]
    Keep,
    /// Tone-mapped to SDR (BT.709 transfer and primaries) by FFmpeg's zscale and tonemap filters.
    Sdr,
}

/// Temporal stabilisation of a video's network output (`crate::video::temporal`). Written as
/// `on` or `off` in files (a segment plan carries it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Temporal {
    /// Each frame averaged with the network's pictures of the frames before, moved by the input's
    /// motion, where the input matched: what stood still stays still.
    #[default]
    On,
    /// Every frame as the network made it on its own.
    Off,
}

/// Video encoding settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VideoConfig {
    /// FFmpeg encoder name. Default: libx264 (libvpx-vp9 for .webm).
    pub codec: Option<String>,
    /// Constant rate factor. Default: the encoder's own.
    pub crf: Option<u32>,
    /// Encoder preset. Default: the encoder's own.
    pub preset: Option<String>,
    /// Output pixel format. Default: the input's when the encoder takes it, else yuv420p.
    pub pix_fmt: Option<String>,
    /// Extra encoder options (`key=value`).
    pub encoder_opts: Vec<(String, String)>,
    /// Leave audio out. Default: false (audio is copied).
    pub no_audio: bool,
    /// Deinterlacing. Default: auto.
    pub deinterlace: Deinterlace,
    /// Frames in flight between stages. Default: 4. This machine's (not carried by a plan).
    #[serde(skip)]
    pub queue_depth: usize,
    /// Stop at the first damaged packet or frame (an error) instead of going on with the
    /// decoder's concealment and a warning per damaged range. Default: false.
    pub strict: bool,
    /// Write the video as segments in `<output>.upscale-work/` and continue an interrupted job
    /// from there (chosen in [`crate::jobs::run_job`], see `crate::segments`). Default: false.
    /// Not carried by a plan (it is how the plan is driven).
    #[serde(skip)]
    pub resume: bool,
    /// With `resume`: each segment holds this many frames (the last fewer), cut at any frame;
    /// 0 = `crate::segments::plan::DEFAULT_SEGMENT_SECS` worth. A resumed job keeps the plan it
    /// started with. Default: 0. Not carried by a plan (its cut points are).
    #[serde(skip)]
    pub segment_frames: u64,
    /// HDR sources: kept, or tone-mapped to SDR. Default: kept.
    pub tonemap: Tonemap,
    /// Temporal stabilisation of a network's frames. Default: on (classic resizers have
    /// nothing to stabilise).
    pub temporal: Temporal,
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            codec: None,
            crf: None,
            preset: None,
            pix_fmt: None,
            encoder_opts: Vec::new(),
            no_audio: false,
            deinterlace: Deinterlace::Auto,
            queue_depth: 4,
            strict: false,
            resume: false,
            segment_frames: 0,
            tonemap: Tonemap::Keep,
            temporal: Temporal::On,
        }
    }
}

/// Everything a run needs to know. The engine reads `model`, `denoise`, `device`, `precision`,
/// `threads` and `model_dir` once ([`crate::Engine::new`]); every job reads the rest, so one
/// engine serves jobs of any scale.
///
/// A segment plan stores this struct as it is (serde), less the fields marked as this
/// machine's: adding a setting is adding a field here (and its range to [`Config::validate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Model name (a family, a classic resizer) or path to an `.onnx` file. Default: none, which
    /// is the input's kind's network ([`Kind::default_model`], applied when a job is made:
    /// [`Config::for_kind`]); an engine built from a config without one runs [`DEFAULT_MODEL`].
    pub model: Option<String>,
    /// Scale factor: 2, 3, 4 (native passes), 6 or 8 (composed passes), or 1 (a 1x clean-up
    /// network, with `denoise`, where the family has one). Default: 4.
    pub scale: u32,
    /// Denoise level of the family's trained variants: -1 conservative (the lightest), 0 none,
    /// 1-3 stronger. A level the family lacks is a configuration error. Default: 0.
    pub denoise: i32,
    /// Final factor, reached by Lanczos after the model. Default: none (= `scale`).
    pub outscale: Option<f64>,
    /// Exact output width (aspect kept when only one of width/height is set). Default: none.
    pub width: Option<u32>,
    /// Exact output height. Default: none.
    pub height: Option<u32>,
    /// Execution device. Default: auto.
    pub device: Device,
    /// Network precision. Default: auto (fp16 on a GPU; on the CPU the fastest that holds
    /// quality, see [`Precision::Auto`]; never int8).
    pub precision: Precision,
    /// Tile size in input pixels; 0 = chosen from the image size and available memory. Default: 0.
    pub tile: u32,
    /// Context around each tile and reflected border around the picture, in input pixels.
    /// Default: none — each tile gets the network's reach (its family's row: tiles then make the
    /// whole picture's pixels) and the picture a [`crate::tile::BORDER`]-px border, as
    /// Real-ESRGAN's runners pad it; a custom `.onnx` file gets [`crate::tile::BORDER`] for both.
    pub tile_pad: Option<u32>,
    /// JPEG quality of picture outputs, 1-100 (PNG, TIFF, BMP and WebP are written losslessly).
    /// Default: [`DEFAULT_QUALITY`].
    pub quality: u8,
    /// Replace existing outputs. Default: false.
    pub overwrite: bool,
    /// Descend into sub-folders. Default: false. Not carried by a plan.
    #[serde(skip)]
    pub recursive: bool,
    /// Threads for the runtime; 0 = all cores (video on the CPU: two upscalers with half each).
    /// Default: 0. This machine's (not carried by a plan).
    #[serde(skip)]
    pub threads: usize,
    /// Largest accepted input in pixels (decompression-bomb guard). Default: 2^28 (16384²).
    pub max_pixels: u64,
    /// Where the large models live. Default: see [`crate::model::model_dirs`].
    pub model_dir: Option<PathBuf>,
    /// Name the program, network, weights' sha256, scale and precision in every output (PNG
    /// `Software`, EXIF `Software`, the video container's `encoder` tag). Default: true.
    pub provenance: bool,
    /// Video settings.
    pub video: VideoConfig,
    /// Edits applied after scaling (crop, rotate, flip, colour, resize, watermark). Default: none.
    pub edit: crate::edit::EditSpec,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            model: None,
            scale: 4,
            denoise: 0,
            outscale: None,
            width: None,
            height: None,
            device: Device::Auto,
            precision: Precision::Auto,
            tile: 0,
            tile_pad: None,
            quality: DEFAULT_QUALITY,
            overwrite: false,
            recursive: false,
            threads: 0,
            max_pixels: 1 << 28,
            model_dir: None,
            provenance: true,
            video: VideoConfig::default(),
            edit: crate::edit::EditSpec::default(),
        }
    }
}

impl Config {
    /// Checks every value: the one place a setting's range is stated. The error names the
    /// field, the value and the accepted range ([`ConfigError`]), or the settings that cannot go
    /// together ([`Conflict`]), as settings: front ends add their own names for them.
    pub fn validate(&self) -> Result<(), crate::error::Error> {
        let bad =
            |field, value: &dyn std::fmt::Display, expected: &str| Err(ConfigError::new(field, value, expected).into());
        if self.scale != 1 && !SCALES.contains(&self.scale) {
            return bad("scale", &self.scale, "2, 3, 4, 6 or 8 (1 with a denoising network)");
        }
        if !(-1..=3).contains(&self.denoise) {
            return bad("denoise", &self.denoise, "-1 (conservative), 0 (none), 1, 2 or 3");
        }
        if let Some(f) = self.outscale {
            if !(f > 0.0 && f <= 64.0) {
                return bad("outscale", &f, "a factor in (0, 64]");
            }
        }
        for (name, v) in [("width", self.width), ("height", self.height)] {
            if let Some(v) = v.filter(|&v| v == 0 || v > MAX_SIDE) {
                return bad(name, &v, &format!("1 to {MAX_SIDE}"));
            }
        }
        if self.outscale.is_some() && (self.width.is_some() || self.height.is_some()) {
            return Err(Conflict::Settings { setting: "outscale", others: &["width", "height"] }.into());
        }
        if self.tile != 0 && self.tile < 16 {
            return bad("tile", &self.tile, "0 (automatic) or at least 16");
        }
        if !(1..=100).contains(&self.quality) {
            return bad("quality", &self.quality, "1 to 100");
        }
        if let Some(pad) = self.tile_pad.filter(|&p| p > MAX_TILE_PAD) {
            return bad("tile_pad", &pad, &format!("0 to {MAX_TILE_PAD}"));
        }
        if self.video.queue_depth == 0 {
            return bad("video.queue_depth", &0, "at least 1");
        }
        if let Some(crf) = self.video.crf.filter(|&c| c > 63) {
            return bad("video.crf", &crf, "0 to 63");
        }
        self.edit.check()?;
        if self.video.resume && !self.edit.is_empty() {
            return Err(crate::error::Error::from(crate::error::Conflict::Settings {
                setting: "resume",
                others: &["edit"],
            }));
        }
        Ok(())
    }

    /// The network this config runs: the one named, else [`DEFAULT_MODEL`] (a config with no
    /// kind; a job's config has its kind's default made explicit by [`Config::for_kind`]).
    pub fn model_name(&self) -> &str {
        self.model.as_deref().unwrap_or(DEFAULT_MODEL)
    }

    /// This config for an input of `kind`: the network named, else the kind's default
    /// ([`Kind::default_model`]). Every job is made through it (the one place the default is
    /// applied).
    pub fn for_kind(&self, kind: Kind) -> Config {
        let model = Some(self.model.clone().unwrap_or_else(|| kind.default_model().to_string()));
        Config { model, ..self.clone() }
    }

    /// The scale to ask for when only an exact size is given: the smallest of [`SCALES`] that
    /// reaches `width`×`height` (either may be absent) from an input of `w`×`h`; the largest
    /// when none does.
    pub fn scale_reaching(w: u32, h: u32, width: Option<u32>, height: Option<u32>) -> u32 {
        let need = f64::max(
            width.map_or(0.0, |t| t as f64 / w.max(1) as f64),
            height.map_or(0.0, |t| t as f64 / h.max(1) as f64),
        );
        SCALES.into_iter().find(|&s| s as f64 >= need).unwrap_or(SCALES[SCALES.len() - 1])
    }

    /// The output size for an input of `w`×`h`, after the model and the final resize.
    pub fn output_size(&self, w: u32, h: u32) -> (u32, u32) {
        let round = |v: f64| (v.round() as u32).max(1);
        match (self.width, self.height, self.outscale) {
            (Some(tw), Some(th), _) => (tw, th),
            (Some(tw), None, _) => (tw, round(h as f64 * tw as f64 / w as f64)),
            (None, Some(th), _) => (round(w as f64 * th as f64 / h as f64), th),
            (None, None, Some(f)) => (round(w as f64 * f), round(h as f64 * f)),
            (None, None, None) => (w * self.scale, h * self.scale),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_bad_value() {
        let c = Config { scale: 5, ..Config::default() };
        let crate::error::Error::Config(e) = c.validate().unwrap_err() else { panic!("not a config error") };
        assert_eq!((e.field, e.value.as_str()), ("scale", "5"));
        assert_eq!(e.to_string(), "scale 5: expected 2, 3, 4, 6 or 8 (1 with a denoising network)");
        assert!(Config::default().validate().is_ok());
    }

    /// Messages are for people: a range reads "1 to 65535", never Rust's "1..=65535" (#28, a
    /// page detail).
    #[test]
    fn ranges_in_messages_are_written_for_people() {
        let mut bad = vec![
            Config { width: Some(0), ..Config::default() },
            Config { quality: 0, ..Config::default() },
            Config { tile_pad: Some(999), ..Config::default() },
        ];
        let mut crf = Config::default();
        crf.video.crf = Some(70);
        bad.push(crf);
        for c in bad {
            let text = c.validate().unwrap_err().to_string();
            assert!(!text.contains("..=") && text.contains(" to "), "{text}");
        }
    }

    #[test]
    fn default_video_config_is_valid() {
        // Regression: VideoConfig::default() had queue_depth 0, which validate() refuses.
        let c = Config { video: VideoConfig::default(), ..Config::default() };
        assert!(c.validate().is_ok());
        assert_eq!(VideoConfig::default().queue_depth, 4);
    }

    #[test]
    fn output_size_keeps_aspect() {
        let c = Config { width: Some(300), ..Config::default() };
        assert_eq!(c.output_size(100, 50), (300, 150));
        let c = Config { outscale: Some(1.5), ..Config::default() };
        assert_eq!(c.output_size(100, 50), (150, 75));
        assert_eq!(Config::default().output_size(10, 7), (40, 28));
    }

    #[test]
    fn device_parses() {
        assert_eq!("cuda:1".parse::<Device>().unwrap(), Device::Cuda(1));
        assert!("tpu".parse::<Device>().is_err());
    }
}

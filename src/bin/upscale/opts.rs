//! The options every command shares (clap), turned once into the library's `Config`, and the
//! library's errors worded in the command line's terms (settings named by their flags).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use upscale::config::{Config, Deinterlace, Device, Precision, Temporal, Tonemap, VideoConfig};
use upscale::edit::{Color, Crop, EditError, EditSpec, FilterStep, Mark, Operation, Position, Rotation, Watermark};
use upscale::error::Conflict;
use upscale::Error;

#[derive(Args, Debug, Clone)]
pub struct Opts {
    /// Scale: 2, 3, 4 (native passes), 6 or 8 (composed passes); 1 with --denoise runs a 1x
    /// clean-up network where the family has one (waifu2x-cunet).
    #[arg(short, long, default_value_t = 4)]
    pub scale: u32,
    /// Denoise level of the family's trained variants: -1 conservative, 0 none, 1-3 stronger
    /// (`upscale models` lists each family's levels).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub denoise: i32,
    /// Final scale factor (any > 0), reached with Lanczos after the model.
    #[arg(long)]
    pub outscale: Option<f64>,
    /// Exact output width (aspect kept when --height is not given).
    #[arg(long)]
    pub width: Option<u32>,
    /// Exact output height (aspect kept when --width is not given).
    #[arg(long)]
    pub height: Option<u32>,
    /// Network family (`upscale models` lists them: realesr-general-x4v3, realcugan, waifu2x-cunet,
    /// span, realesr-animevideov3, ...), a classic resizer (nearest, bilinear, bicubic, lanczos) or
    /// a path to an .onnx super-resolution model. Default: realesr-general-x4v3 for pictures,
    /// realesr-animevideov3 for videos.
    #[arg(short, long)]
    pub model: Option<String>,
    /// auto, cpu, cuda or cuda:N.
    #[arg(short, long, default_value = "auto")]
    pub device: String,
    /// Network precision: auto (fp16 on a GPU; on the CPU the fastest measured that stays at
    /// least 50 dB from fp32: bf16 through OpenVINO where the CPU has AVX512_BF16 or AMX), fp32,
    /// fp16, bf16 (CPU with AVX512_BF16 or AMX), or int8 (CPU; realesr-animevideov3, span,
    /// waifu2x-upconv7-anime: an approximation at 38-50 dB of fp32).
    #[arg(long, value_enum, default_value_t = PrecisionArg::Auto)]
    pub precision: PrecisionArg,
    /// Tile size in input pixels (0 = whole picture, or tiles chosen from available memory).
    #[arg(short, long, default_value_t = 0)]
    pub tile: u32,
    /// Context around each tile and reflected border around the picture [default: the
    /// network's reach around tiles, 10 px around the picture]
    #[arg(long)]
    pub tile_pad: Option<u32>,
    /// JPEG quality of picture outputs, 1-100 (PNG, TIFF, BMP and WebP are lossless). Default:
    /// 95, which keeps the texture the network made (75, the usual default, blurs it into 8x8
    /// blocks).
    #[arg(long, default_value_t = upscale::config::DEFAULT_QUALITY)]
    pub quality: u8,
    /// Replace existing outputs (an input is never overwritten).
    #[arg(short = 'y', long)]
    pub overwrite: bool,
    /// Descend into sub-folders.
    #[arg(short, long)]
    pub recursive: bool,
    /// No progress and no notes on stderr (errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,
    /// Progress display: bar (on a terminal) or json (one object a line on stderr).
    #[arg(long, value_enum, default_value_t = ProgressKind::Bar)]
    pub progress: ProgressKind,
    /// ONNX Runtime threads (0 = all cores; for video on the CPU, two networks with half the
    /// cores each take frames from one queue, unless one all-core network is faster on the
    /// first frames).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Largest accepted input picture in pixels (guards against decompression bombs).
    #[arg(long, default_value_t = 1 << 28)]
    pub max_pixels: u64,
    /// Folder with the large models (default: see README).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// Video encoder (FFmpeg name). Default: libx264 (.mp4/.mkv/.mov), libvpx-vp9 (.webm).
    #[arg(long)]
    pub codec: Option<String>,
    /// Video constant rate factor.
    #[arg(long)]
    pub crf: Option<u32>,
    /// Video encoder preset.
    #[arg(long)]
    pub preset: Option<String>,
    /// Video output pixel format.
    #[arg(long)]
    pub pix_fmt: Option<String>,
    /// Encoder option KEY=VALUE (repeatable).
    #[arg(long, value_parser = parse_kv)]
    pub encoder_opt: Vec<(String, String)>,
    /// Leave audio out of video outputs.
    #[arg(long)]
    pub no_audio: bool,
    /// Deinterlacing of video: auto (from the stream's field order), on, off.
    #[arg(long, value_enum, default_value_t = DeinterlaceArg::Auto)]
    pub deinterlace: DeinterlaceArg,
    /// Stop at the first damaged video packet (an error) instead of concealing it and warning.
    #[arg(long)]
    pub strict: bool,
    /// Video: work in segments in <OUTPUT>.upscale-work/ and, when run again, continue an
    /// interrupted job from there; the segments are joined without re-encoding at the end.
    #[arg(long)]
    pub resume: bool,
    /// With --resume: segments of this many frames, cut at any frame (0: 30 seconds' worth, as
    /// `job plan`).
    #[arg(long, default_value_t = 0)]
    pub segment_frames: u64,
    /// Leave out what outputs otherwise say about how they were made (program, network and its
    /// sha256, scale, precision).
    #[arg(long)]
    pub no_provenance: bool,
    /// HDR video (PQ, HLG): keep it as it is (default), or tone-map it to SDR (BT.709).
    #[arg(long, value_enum, default_value_t = TonemapArg::Keep)]
    pub tonemap: TonemapArg,
    /// Video: stabilise the network's frames over time, so that what stands still in the input
    /// stays still (on, the default), or upscale every frame on its own (off).
    #[arg(long, value_enum, default_value_t = TemporalArg::On)]
    pub temporal: TemporalArg,
    #[command(flatten)]
    pub edit: EditArgs,
}

/// The page's edit operations, applied after scaling in the page's order (crop, rotate, flip,
/// colour, filters, annotations, watermark): the same code and the same pixels as the page's
/// Apply. `--edit` takes the page's whole list (annotations included) instead of the flags.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Edit (after scaling, in this order)")]
pub struct EditArgs {
    /// Keep the rectangle X,Y,W,H (pixels of the scaled picture).
    #[arg(long, value_name = "X,Y,W,H", value_parser = parse_crop)]
    pub crop: Option<Crop>,
    /// Turn clockwise by 90, 180 or 270 degrees.
    #[arg(long, value_parser = parse_rotate)]
    pub rotate: Option<Rotation>,
    /// Mirror: h (left-right) or v (top-bottom); repeatable.
    #[arg(long, value_enum)]
    pub flip: Vec<FlipArg>,
    /// Brightness added, -1 to 1 (0: as is).
    #[arg(long, allow_hyphen_values = true)]
    pub brightness: Option<f32>,
    /// Contrast about mid-grey, 0 to 3 (1: as is).
    #[arg(long)]
    pub contrast: Option<f32>,
    /// Saturation, 0 to 3 (1: as is; 0: grey).
    #[arg(long)]
    pub saturation: Option<f32>,
    /// A filter after the colour: grayscale, sepia, invert (AMOUNT 0-1, default 1), blur (the
    /// Gaussian's radius in pixels, 0-50), sharpen (0-5), vignette (0-1); repeatable, in order.
    #[arg(long, value_name = "NAME[=AMOUNT]", value_parser = parse_filter)]
    pub filter: Vec<FilterStep>,
    /// A line of text (any script a font on this machine has: DejaVu Sans Mono Bold for Latin,
    /// the Noto fonts for the rest), or @FILE for a PNG, JPEG or WebP picture.
    #[arg(long)]
    pub watermark: Option<String>,
    /// bottom-right (default), bottom-left, top-left, top-right or center.
    #[arg(long, requires = "watermark", value_parser = parse_position)]
    pub watermark_position: Option<Position>,
    /// The watermark's height in pixels (default: 1/20 of the shorter side for text, 1/8 for a picture).
    #[arg(long, requires = "watermark")]
    pub watermark_size: Option<u32>,
    /// 0 to 1 (default 0.8).
    #[arg(long, requires = "watermark")]
    pub watermark_opacity: Option<f32>,
    /// The page's list of operations as JSON, `[{"op":"crop",…},{"op":"rect",…}]` or
    /// `{"operations":[…]}`, or @FILE holding it: every step, annotations (text, arrow, line,
    /// rect, ellipse) included (docs/CLI.md); instead of the edit flags above.
    #[arg(long, value_name = "JSON|@FILE")]
    pub edit: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlipArg {
    H,
    V,
}

fn parse_crop(s: &str) -> Result<Crop, String> {
    let v: Vec<u32> = s
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("'{s}': expected X,Y,W,H (four whole numbers)"))?;
    match v[..] {
        [x, y, width, height] => Ok(Crop { x, y, width, height }),
        _ => Err(format!("'{s}': expected X,Y,W,H (four whole numbers)")),
    }
}

fn parse_rotate(s: &str) -> Result<Rotation, String> {
    s.parse::<u32>()
        .ok()
        .and_then(|d| Rotation::try_from(d).ok())
        .ok_or_else(|| format!("'{s}': expected 90, 180 or 270"))
}

fn parse_filter(s: &str) -> Result<FilterStep, String> {
    s.parse().map_err(|e: upscale::edit::EditError| e.to_string())
}

fn parse_position(s: &str) -> Result<Position, String> {
    s.parse().map_err(|e: upscale::edit::EditError| e.to_string())
}

/// `--edit`'s JSON: the page's list alone or as the API's request body.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    operations: Vec<Operation>,
}

impl EditArgs {
    /// The library's edit for these flags (a picture watermark is read from its file now), or
    /// for `--edit`'s list.
    pub fn spec(&self) -> upscale::Result<EditSpec> {
        if let Some(list) = &self.edit {
            return self.listed(list);
        }
        let color =
            (self.brightness.is_some() || self.contrast.is_some() || self.saturation.is_some()).then(|| Color {
                brightness: self.brightness.unwrap_or(0.0),
                contrast: self.contrast.unwrap_or(1.0),
                saturation: self.saturation.unwrap_or(1.0),
            });
        let watermarks = match &self.watermark {
            None => Vec::new(),
            Some(w) => {
                let mark = match w.strip_prefix('@') {
                    Some(file) => Mark::Image(
                        std::fs::read(file).map_err(|e| upscale::Error::Io { path: file.into(), source: e })?,
                    ),
                    None => Mark::Text(w.clone()),
                };
                vec![Watermark {
                    mark,
                    position: self.watermark_position.unwrap_or_default(),
                    size: self.watermark_size,
                    opacity: self.watermark_opacity,
                }]
            }
        };
        Ok(EditSpec {
            crop: self.crop,
            rotate: self.rotate,
            flip_horizontal: self.flip.contains(&FlipArg::H),
            flip_vertical: self.flip.contains(&FlipArg::V),
            color,
            filters: self.filter.clone(),
            resize: None,
            annotations: Vec::new(),
            watermarks,
        })
    }

    /// `--edit JSON|@FILE`: the page's operations, alone (a usage error with another edit flag).
    fn listed(&self, list: &str) -> upscale::Result<EditSpec> {
        let usage = |m: String| Error::from(EditError::Invalid(format!("--edit: {m}")));
        let flags = self.crop.is_some()
            || self.rotate.is_some()
            || !self.flip.is_empty()
            || self.brightness.is_some()
            || self.contrast.is_some()
            || self.saturation.is_some()
            || !self.filter.is_empty()
            || self.watermark.is_some();
        if flags {
            return Err(usage(
                "the list holds every step: put the crop, rotate, flip, colour, filter and watermark in it \
                 instead of their flags"
                    .into(),
            ));
        }
        let (json, from) = match list.strip_prefix('@') {
            Some(file) => (
                std::fs::read_to_string(file).map_err(|e| Error::Io { path: file.into(), source: e })?,
                format!("{file}: "),
            ),
            None => (list.to_string(), String::new()),
        };
        let ops = if json.trim_start().starts_with('[') {
            serde_json::from_str::<Vec<Operation>>(&json).map_err(|e| usage(format!("{from}{e}")))?
        } else {
            serde_json::from_str::<EditBody>(&json).map_err(|e| usage(format!("{from}{e}")))?.operations
        };
        EditSpec::from_operations(&ops).map_err(|e| usage(format!("{from}{e}")))
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum TonemapArg {
    Keep,
    Sdr,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum TemporalArg {
    On,
    Off,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressKind {
    Bar,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum PrecisionArg {
    Auto,
    Fp32,
    Fp16,
    Bf16,
    Int8,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum DeinterlaceArg {
    Auto,
    On,
    Off,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).ok_or_else(|| format!("'{s}': expected KEY=VALUE"))
}

impl Opts {
    /// The library's configuration for these options.
    pub fn config(&self) -> upscale::Result<Config> {
        let device: Device = self.device.parse().map_err(upscale::Error::Config)?;
        let cfg = Config {
            model: self.model.clone(),
            scale: self.scale,
            denoise: self.denoise,
            outscale: self.outscale,
            width: self.width,
            height: self.height,
            device,
            precision: match self.precision {
                PrecisionArg::Auto => Precision::Auto,
                PrecisionArg::Fp32 => Precision::Fp32,
                PrecisionArg::Fp16 => Precision::Fp16,
                PrecisionArg::Bf16 => Precision::Bf16,
                PrecisionArg::Int8 => Precision::Int8,
            },
            tile: self.tile,
            tile_pad: self.tile_pad,
            quality: self.quality,
            overwrite: self.overwrite,
            recursive: self.recursive,
            threads: self.threads,
            max_pixels: self.max_pixels,
            model_dir: self.model_dir.clone(),
            provenance: !self.no_provenance,
            video: VideoConfig {
                codec: self.codec.clone(),
                crf: self.crf,
                preset: self.preset.clone(),
                pix_fmt: self.pix_fmt.clone(),
                encoder_opts: self.encoder_opt.clone(),
                no_audio: self.no_audio,
                deinterlace: match self.deinterlace {
                    DeinterlaceArg::Auto => Deinterlace::Auto,
                    DeinterlaceArg::On => Deinterlace::On,
                    DeinterlaceArg::Off => Deinterlace::Off,
                },
                strict: self.strict,
                resume: self.resume,
                segment_frames: self.segment_frames,
                tonemap: match self.tonemap {
                    TonemapArg::Keep => Tonemap::Keep,
                    TonemapArg::Sdr => Tonemap::Sdr,
                },
                temporal: match self.temporal {
                    TemporalArg::On => Temporal::On,
                    TemporalArg::Off => Temporal::Off,
                },
                ..Config::default().video
            },
            edit: self.edit.spec()?,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// The command-line flag for a configuration field (`video.crf` → `--crf`).
pub fn flag(field: &str) -> String {
    let f = field.strip_prefix("video.").unwrap_or(field);
    format!("--{}", f.replace('_', "-"))
}

/// An error as one line in the command line's terms: the settings it is about named by their
/// flags (the library's own message names settings, for every front end alike).
pub fn flags(e: &Error) -> String {
    match e {
        Error::Config(c) => format!("{} {}: expected {}", flag(c.field), c.value, c.expected),
        Error::Conflict(Conflict::Settings { setting, others }) => {
            let others: Vec<String> = others.iter().map(|o| flag(o)).collect();
            format!("{} cannot be combined with {}", flag(setting), others.join("/"))
        }
        e => match e.setting() {
            Some(s) => format!("{} (see {})", e.report(), flag(s)),
            None => e.report(),
        },
    }
}

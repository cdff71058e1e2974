//! The command line (clap), turned once into the library's `Config`. See ../shared/CLI.md: the
//! flags here are a contract other programs rely on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use upscale::config::{Config, Deinterlace, Device, Precision, VideoConfig};

#[derive(Parser, Debug)]
#[command(
    name = "upscale",
    version,
    about = "Enlarge images and video with Real-ESRGAN networks (ONNX Runtime) or classic resizers"
)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Images, videos or folders (the kind is found from the content).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output file; a folder for several inputs or a folder input.
    /// Default: <stem>_x<scale>.<ext> beside the input, <folder>_x<scale>/ for a folder.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub opts: Opts,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the network families: purpose, scales, denoise levels, licence, speed, presence.
    Models {
        /// Folder with the large models (default: see README).
        #[arg(long)]
        model_dir: Option<PathBuf>,
        /// Also time every installed family on this machine (a 160x120 picture, all cores).
        #[arg(long)]
        measure: bool,
    },
    /// Write one picture: the input enlarged by nearest, bicubic, Lanczos and the model, side by side.
    Compare {
        image: PathBuf,
        /// Default: <stem>_compare.png beside the input.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        opts: Box<Opts>,
    },
    /// One video over many machines: plan, run one segment, status, join, emit scheduler steps.
    Job {
        #[command(subcommand)]
        command: crate::job::JobCommand,
    },
    /// The local web page: upload, scale, compare, edit, download (and its HTTP API).
    #[cfg(feature = "serve")]
    Serve(crate::serve::ServeArgs),
}

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
    /// Network precision: auto (fp16 on a GPU, fp32 on the CPU), fp32, fp16, or int8 (CPU,
    /// realesr-animevideov3: about twice as fast, an approximation at ~41 dB of fp32).
    #[arg(long, value_enum, default_value_t = PrecisionArg::Auto)]
    pub precision: PrecisionArg,
    /// Tile size in input pixels (0 = whole picture, or tiles chosen from available memory).
    #[arg(short, long, default_value_t = 0)]
    pub tile: u32,
    /// Context around each tile, and reflected border around the picture.
    #[arg(long, default_value_t = 10)]
    pub tile_pad: u32,
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
    /// ONNX Runtime threads (0 = all cores; for video on the CPU, two networks on alternate
    /// frames with half the cores each).
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
    /// With --resume: segments of at least this many frames, cut at the next keyframe (0: about
    /// ten seconds' worth).
    #[arg(long, default_value_t = 0)]
    pub segment_frames: u64,
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
            model: self.model.clone().unwrap_or_else(|| upscale::config::DEFAULT_MODEL.to_string()),
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
                PrecisionArg::Int8 => Precision::Int8,
            },
            tile: self.tile,
            tile_pad: self.tile_pad,
            overwrite: self.overwrite,
            recursive: self.recursive,
            threads: self.threads,
            max_pixels: self.max_pixels,
            model_dir: self.model_dir.clone(),
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
                ..Config::default().video
            },
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// The command-line flag for a configuration field.
fn flag(field: &str) -> String {
    let f = field.strip_prefix("video.").unwrap_or(field);
    format!("--{}", f.replace('_', "-"))
}

/// An error as one line in the command line's terms: configuration fields named by their flags.
pub fn flags(e: &upscale::Error) -> String {
    match e {
        upscale::Error::Config(c) => format!("{} {}: expected {}", flag(c.field), c.value, c.expected),
        upscale::Error::Conflict(m) => m
            .split(' ')
            .map(|w| {
                w.split('/')
                    .map(|p| if ["outscale", "width", "height"].contains(&p) { flag(p) } else { p.to_string() })
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect::<Vec<_>>()
            .join(" "),
        e => e.report(),
    }
}

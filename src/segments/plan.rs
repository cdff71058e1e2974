//! The plan of a segmented job, fixed before any work: the input (by content), the cut points
//! (keyframes, from a demux-only pass) with each segment's frames, and every setting resolved —
//! model files by SHA-256, precision, device, tile, scale, encoder and its options, the FFmpeg
//! version — so that no two workers can make segments that differ. Written once, atomically,
//! as `plan.json`; workers only read it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};

use super::identity::{self, InputId};
pub use super::keyframes::Cut;
use super::keyframes::{self, FrameList};
use crate::config::{Config, Deinterlace, Device, Precision, VideoConfig};
use crate::error::{Error, Result};
use crate::model::{self, ModelSpec, Source};

/// The format of `plan.json` this build reads and writes.
pub const VERSION: u32 = 1;
pub const PLAN_FILE: &str = "plan.json";

/// A planned job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    pub input: PlannedInput,
    pub video: VideoFacts,
    pub settings: Settings,
    pub segments: Vec<SegmentPlan>,
}

/// Where the input was and what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedInput {
    /// Absolute path on the planning machine.
    pub path: PathBuf,
    /// The same file seen from the work folder (tried first: other machines may mount the
    /// shared folder elsewhere).
    pub from_work: Option<PathBuf>,
    #[serde(flatten)]
    pub id: InputId,
}

/// The input's video stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoFacts {
    pub stream: usize,
    /// Numerator and denominator of the stream's time base (every timestamp here is in it).
    pub time_base: (i32, i32),
    pub width: u32,
    pub height: u32,
    pub frames: u64,
}

/// One segment: the frames whose timestamps are `start_pts..=last_pts`, starting at a keyframe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentPlan {
    pub index: usize,
    pub frames: u64,
    pub start_pts: i64,
    pub last_pts: i64,
    /// The next segment's first timestamp (`None` for the last).
    pub end_pts: Option<i64>,
    pub start_seconds: f64,
}

/// Every setting that shapes the video, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The network family (or classic resizer, or .onnx path).
    pub model: String,
    /// The family's denoise level (-1 conservative, 0 none, 1-3).
    #[serde(default)]
    pub denoise: i32,
    pub model_dir: Option<PathBuf>,
    /// `x<scale> <sha256>` of each model file the passes use (none for a classic resizer).
    pub model_files: Vec<String>,
    /// fp32, fp16 or int8 ("-" for a classic resizer).
    pub precision: String,
    /// cpu or cuda:N ("-" for a classic resizer): every worker runs on this kind.
    pub device: String,
    pub scale: u32,
    pub outscale: Option<f64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub output_size: (u32, u32),
    /// Tile side in input pixels (never 0: automatic was resolved here).
    pub tile: u32,
    pub tile_pad: u32,
    pub codec: String,
    pub crf: Option<u32>,
    pub preset: Option<String>,
    pub pix_fmt: Option<String>,
    pub encoder_opts: Vec<(String, String)>,
    pub no_audio: bool,
    /// off, on, or auto (frames flagged interlaced only).
    pub deinterlace: String,
    pub strict: bool,
    pub max_pixels: u64,
    pub overwrite: bool,
    /// FFmpeg's version and libavcodec's.
    pub ffmpeg: String,
}

/// The FFmpeg libraries this process runs.
pub fn ffmpeg_version() -> String {
    let v = unsafe { std::ffi::CStr::from_ptr(ffmpeg::ffi::av_version_info()) };
    let c = unsafe { ffmpeg::ffi::avcodec_version() };
    format!("{} (libavcodec {}.{}.{})", v.to_string_lossy(), c >> 16, (c >> 8) & 255, c & 255)
}

fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::Auto => "auto",
        Precision::Fp32 => "fp32",
        Precision::Fp16 => "fp16",
        Precision::Int8 => "int8",
    }
}

fn default_codec(output: &Path) -> &'static str {
    let webm = output.extension().is_some_and(|e| e.eq_ignore_ascii_case("webm"));
    if webm {
        "libvpx-vp9"
    } else {
        "libx264"
    }
}

/// `x<scale> <sha256>` of each model file the passes for `scale` use, and their native scales.
pub fn model_files(cfg: &Config, precision: Precision) -> Result<(Vec<String>, Vec<u32>)> {
    let ModelSpec::Net { variants, .. } =
        model::resolve_level(&cfg.model, cfg.denoise, cfg.model_dir.as_deref(), precision)?
    else {
        return Ok((Vec::new(), Vec::new()));
    };
    let native: Vec<u32> = variants.iter().filter_map(|v| v.0).collect();
    let passes = if native.is_empty() { vec![cfg.scale] } else { crate::engine::plan_passes(&native, cfg.scale) };
    let mut files = Vec::new();
    for (scale, src) in &variants {
        if scale.is_some_and(|s| !passes.contains(&s)) {
            continue;
        }
        let sha = match src {
            Source::Embedded(b) => identity::sha256(b),
            Source::File(p) => identity::sha256_file(p)?,
        };
        files.push(format!("x{} {sha}", scale.map_or("?".into(), |s| s.to_string())));
    }
    Ok((files, passes))
}

impl Settings {
    /// Resolves `cfg` for an input of `w`×`h` written to `output`, on this machine.
    pub fn resolve(cfg: &Config, output: &Path, (w, h): (u32, u32), deinterlace: Deinterlace) -> Result<Settings> {
        let classic = crate::resize::Filter::from_name(&cfg.model).is_some();
        let (device, precision) = if classic {
            ("-".to_string(), "-".to_string())
        } else {
            let device = if cfg.precision == Precision::Int8 && cfg.device == Device::Auto {
                Device::Cpu
            } else {
                crate::model::runtime::choose_device(cfg.device)?.0
            };
            let mut p = match cfg.precision {
                Precision::Auto if matches!(device, Device::Cuda(_)) => Precision::Fp16,
                Precision::Auto => Precision::Fp32,
                p => p,
            };
            // Auto on a GPU without the fp16 files: fp32, as the upscaler does.
            if cfg.precision == Precision::Auto && p == Precision::Fp16 && model_files(cfg, p).is_err() {
                p = Precision::Fp32;
            }
            (device.to_string(), precision_name(p).to_string())
        };
        let p = match precision.as_str() {
            "fp16" => Precision::Fp16,
            "int8" => Precision::Int8,
            _ => Precision::Fp32,
        };
        let (model_files, passes) = model_files(cfg, p)?;
        // One tile side for every pass: the automatic one of the largest pass input, or that
        // input's longer side when it fits whole (a tile that large is the whole picture).
        let grow: u32 = passes.iter().take(passes.len().saturating_sub(1)).product();
        let (bw, bh) = (w * grow.max(1), h * grow.max(1));
        let tile = match cfg.tile {
            0 => match crate::engine::auto_tile(bw, bh, cfg.tile_pad, crate::memory::available_memory()) {
                0 => bw.max(bh).max(16),
                t => t,
            },
            t => t,
        };
        let v = &cfg.video;
        Ok(Settings {
            model: cfg.model.clone(),
            denoise: cfg.denoise,
            model_dir: cfg.model_dir.clone(),
            model_files,
            precision,
            device,
            scale: cfg.scale,
            outscale: cfg.outscale,
            width: cfg.width,
            height: cfg.height,
            output_size: cfg.output_size(w, h),
            tile,
            tile_pad: cfg.tile_pad,
            codec: v.codec.clone().unwrap_or_else(|| default_codec(output).to_string()),
            crf: v.crf,
            preset: v.preset.clone(),
            pix_fmt: v.pix_fmt.clone(),
            encoder_opts: v.encoder_opts.clone(),
            no_audio: v.no_audio,
            deinterlace: format!("{deinterlace:?}").to_lowercase(),
            strict: v.strict,
            max_pixels: cfg.max_pixels,
            overwrite: cfg.overwrite,
            ffmpeg: ffmpeg_version(),
        })
    }

    /// The configuration a worker runs with: every value pinned.
    pub fn config(&self) -> Config {
        let precision = match self.precision.as_str() {
            "fp16" => Precision::Fp16,
            "int8" => Precision::Int8,
            "fp32" => Precision::Fp32,
            _ => Precision::Auto,
        };
        let deinterlace = match self.deinterlace.as_str() {
            "on" => Deinterlace::On,
            "off" => Deinterlace::Off,
            _ => Deinterlace::Auto,
        };
        let base = Config::default();
        Config {
            model: self.model.clone(),
            denoise: self.denoise,
            scale: self.scale,
            outscale: self.outscale,
            width: self.width,
            height: self.height,
            device: self.device.parse().unwrap_or(Device::Cpu),
            precision,
            tile: self.tile,
            tile_pad: self.tile_pad,
            overwrite: self.overwrite,
            max_pixels: self.max_pixels,
            model_dir: self.model_dir.clone(),
            video: VideoConfig {
                codec: Some(self.codec.clone()),
                crf: self.crf,
                preset: self.preset.clone(),
                pix_fmt: self.pix_fmt.clone(),
                encoder_opts: self.encoder_opts.clone(),
                no_audio: self.no_audio,
                deinterlace,
                strict: self.strict,
                ..base.video.clone()
            },
            ..base
        }
    }

    /// Checks what depends on the machine against this machine: the FFmpeg libraries and the
    /// model files (by content, at the pinned precision). The message names what differs.
    pub fn check_here(&self) -> std::result::Result<(), String> {
        let here = ffmpeg_version();
        if here != self.ffmpeg {
            return Err(format!("FFmpeg differs: the plan has {}, this machine {here}", self.ffmpeg));
        }
        let cfg = self.config();
        let (files, _) = model_files(&cfg, cfg.precision).map_err(|e| e.to_string())?;
        if files != self.model_files {
            return Err(format!(
                "model files differ: the plan has [{}], this machine [{}]",
                self.model_files.join(", "),
                files.join(", ")
            ));
        }
        Ok(())
    }

    /// What differs between these settings and `other`, as `name was A, now B` (each
    /// difference, the settings asked for before those derived from them).
    pub fn difference(&self, other: &Settings) -> Option<String> {
        let (a, b) = (serde_json::to_value(self).ok()?, serde_json::to_value(other).ok()?);
        let (a, b) = (a.as_object()?, b.as_object()?);
        let show = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        let mut diffs: Vec<(bool, String)> = a
            .iter()
            .filter(|(k, v)| b.get(*k) != Some(v))
            .map(|(k, v)| {
                let derived = ["output_size", "model_files", "tile"].contains(&k.as_str());
                let now = b.get(k).map_or("(none)".into(), show);
                (derived, format!("{} was {}, now {now}", k.replace('_', "-"), show(v)))
            })
            .collect();
        diffs.sort_by_key(|d| d.0);
        (!diffs.is_empty()).then(|| diffs.into_iter().map(|d| d.1).collect::<Vec<_>>().join("; "))
    }
}

/// How the deinterlacer will decide, pinned: a stream flagged interlaced is `On`; an `Auto`
/// whose first frame is progressive is `Off` (one frame is decoded to know); else as asked.
fn resolve_deinterlace(input: &Path, asked: Deinterlace, stream_interlaced: bool) -> Result<Deinterlace> {
    if asked != Deinterlace::Auto {
        return Ok(asked);
    }
    if stream_interlaced {
        return Ok(Deinterlace::On);
    }
    Ok(if first_frame_interlaced(input)? { Deinterlace::Auto } else { Deinterlace::Off })
}

/// Decodes the first video frame of `input`: is it flagged interlaced?
fn first_frame_interlaced(input: &Path) -> Result<bool> {
    use ffmpeg::{codec, media, Packet};
    let err = |e: ffmpeg::Error| Error::ffmpeg(input, "cannot decode", e);
    let mut ictx = ffmpeg::format::input(&input).map_err(err)?;
    let st = ictx.streams().best(media::Type::Video).ok_or_else(|| Error::video(input, "no video stream"))?;
    let index = st.index();
    let mut dec =
        codec::context::Context::from_parameters(st.parameters()).map_err(err)?.decoder().video().map_err(err)?;
    let mut frame = ffmpeg::frame::Video::empty();
    let mut eof = false;
    loop {
        if !eof {
            let mut p = Packet::empty();
            match p.read(&mut ictx) {
                Ok(()) if p.stream() != index => continue,
                Ok(()) => {
                    let _ = dec.send_packet(&p);
                }
                Err(ffmpeg::Error::Eof) => {
                    eof = true;
                    let _ = dec.send_eof();
                }
                Err(_) => continue,
            }
        }
        match dec.receive_frame(&mut frame) {
            Ok(()) => return Ok(frame.is_interlaced()),
            Err(_) if eof => return Ok(false),
            Err(_) => {}
        }
    }
}

/// A path from folder `from` to `to` (both absolute), through `..` where needed.
fn relative(from: &Path, to: &Path) -> Option<PathBuf> {
    let (a, b): (Vec<_>, Vec<_>) = (from.components().collect(), to.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return None;
    }
    let mut p = PathBuf::new();
    for _ in common..a.len() {
        p.push("..");
    }
    for c in &b[common..] {
        p.push(c);
    }
    Some(p)
}

impl Plan {
    /// Plans `input` → `output` (whose work folder is `work`) cut by `cut`, with `cfg`.
    pub fn make(input: &Path, output: &Path, work: &Path, cfg: &Config, cut: Cut) -> Result<Plan> {
        crate::video::init_ffmpeg(input)?;
        let abs = input.canonicalize().map_err(|e| Error::io(input, e))?;
        let id = InputId::of(&abs)?;
        let mut dec = crate::video::decode::Decoder::open(&abs, &cfg.video)?;
        dec.limit_pixels(cfg.max_pixels)?;
        let info = dec.info().clone();
        drop(dec);
        let list = FrameList::scan(&abs)?;
        if list.stream != info.index {
            return Err(Error::video(input, "the demuxer and the decoder chose different video streams"));
        }
        let deinterlace = resolve_deinterlace(&abs, cfg.video.deinterlace, info.interlaced)?;
        let settings = Settings::resolve(cfg, output, (info.width, info.height), deinterlace)?;
        let starts = keyframes::cut_points(&list.frames, list.time_base, cut);
        let tb = list.time_base;
        let segments = starts
            .iter()
            .enumerate()
            .map(|(index, &s)| {
                let e = starts.get(index + 1).copied().unwrap_or(list.frames.len());
                SegmentPlan {
                    index,
                    frames: (e - s) as u64,
                    start_pts: list.frames[s].0,
                    last_pts: list.frames[e - 1].0,
                    end_pts: list.frames.get(e).filter(|_| e < list.frames.len()).map(|f| f.0),
                    start_seconds: keyframes::seconds(list.frames[s].0 - list.frames[0].0, tb),
                }
            })
            .collect();
        let work_abs = std::path::absolute(work).unwrap_or_else(|_| work.to_path_buf());
        Ok(Plan {
            version: VERSION,
            input: PlannedInput { from_work: relative(&work_abs, &abs), path: abs, id },
            video: VideoFacts {
                stream: info.index,
                time_base: (tb.numerator(), tb.denominator()),
                width: info.width,
                height: info.height,
                frames: list.frames.len() as u64,
            },
            settings,
            segments,
        })
    }

    /// Reads `work/plan.json`; a missing, unreadable or foreign file is an error naming it.
    pub fn load(work: &Path) -> Result<Plan> {
        let path = work.join(PLAN_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::video(&path, format!("not a plan: {e}")))?;
        let version = v.get("version").and_then(|v| v.as_u64());
        if version != Some(VERSION as u64) {
            return Err(Error::video(
                &path,
                format!(
                    "plan version {}, this upscale reads version {VERSION}",
                    version.map_or("(none)".into(), |v| v.to_string())
                ),
            ));
        }
        let plan: Plan = serde_json::from_value(v).map_err(|e| Error::video(&path, format!("damaged plan: {e}")))?;
        if plan.segments.is_empty() || plan.segments.iter().enumerate().any(|(i, s)| s.index != i) {
            return Err(Error::video(&path, "damaged plan: segments out of order"));
        }
        Ok(plan)
    }

    /// Writes `work/plan.json` through a temporary file, flushed and renamed; an existing plan
    /// is never replaced.
    pub fn save(&self, work: &Path) -> Result<()> {
        let path = work.join(PLAN_FILE);
        let tmp = work.join(format!(".{PLAN_FILE}.{}.tmp", std::process::id()));
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::video(&path, format!("plan: {e}")))? + "\n";
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
        // A hard link does not replace an existing plan (a rename would).
        let placed = written.and_then(|()| std::fs::hard_link(&tmp, &path));
        let _ = std::fs::remove_file(&tmp);
        placed.map_err(|e| Error::io(&path, e))
    }

    pub fn time_base(&self) -> ffmpeg::Rational {
        ffmpeg::Rational(self.video.time_base.0, self.video.time_base.1)
    }

    /// The input as this machine sees it: beside the work folder as planned, else at its
    /// planned absolute path.
    pub fn input_path(&self, work: &Path) -> PathBuf {
        match &self.input.from_work {
            Some(rel) if work.join(rel).is_file() => work.join(rel),
            _ => self.input.path.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_out_of_the_work_folder() {
        let r = relative(Path::new("/data/out/x.mkv.upscale-work"), Path::new("/data/in/x.mkv"));
        assert_eq!(r, Some(PathBuf::from("../../in/x.mkv")));
    }

    #[test]
    fn a_changed_setting_is_named() {
        let cfg = Config { model: "lanczos".into(), ..Config::default() };
        let a = Settings::resolve(&cfg, Path::new("o.mkv"), (64, 48), Deinterlace::Off).unwrap();
        let mut b = a.clone();
        assert_eq!(a.difference(&b), None);
        b.scale = 3;
        b.output_size = (192, 144);
        assert_eq!(a.difference(&b).as_deref(), Some("scale was 4, now 3; output-size was [256,192], now [192,144]"));
        assert_eq!(a.config().video.codec.as_deref(), Some("libx264"));
        assert_eq!(a.tile, 64 * 4 / 4);
    }
}

//! The plan of a segmented job, fixed before any work: the input (by content), the cut points
//! (any frame: N equal shares) with each segment's frames, and every setting resolved — the
//! engine's own report of its device, precision, passes, tile and model files by SHA-256
//! ([`Resolved`]), scale, encoder and its options, the FFmpeg version — so that no two workers
//! can make segments that differ. Written once, atomically, as `plan.json`; workers only read it
//! and build their upscaler from it alone ([`Settings::config`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};

use super::identity::InputId;
pub use super::keyframes::Cut;
use super::keyframes::{self, FrameList};
use crate::config::{Config, Deinterlace, VideoConfig};
use crate::engine::{Resolved, Upscaler};
use crate::error::{ConfigError, Error, Result};
use crate::output::Pending;
use crate::progress::Progress;

/// The format of `plan.json` this build reads and writes.
pub const VERSION: u32 = 4;
/// The plan's file name inside the work folder.
pub const PLAN_FILE: &str = "plan.json";

/// Segment length when neither a count nor a length is asked, in seconds of input, for
/// `job plan` and `--resume` alike: short enough that an interrupted `--resume` loses little,
/// long enough that a two-hour film stays under Slurm's default array size (1001 tasks) and a
/// worker's model loading is a small part of its step.
pub const DEFAULT_SEGMENT_SECS: f64 = 30.0;

/// A planned job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The file's format, [`VERSION`] when written; [`Plan::load`] refuses any other.
    pub version: u32,
    /// The input, by path and by content.
    pub input: PlannedInput,
    /// The input's video stream: index, time base, size, frame count.
    pub video: VideoFacts,
    /// Every setting the workers run with.
    pub settings: Settings,
    /// The segments in order (`segments[i].index == i`), together every frame exactly once.
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
    /// Its identity by content (size and head/tail hash), checked by every worker.
    #[serde(flatten)]
    pub id: InputId,
}

/// The input's video stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoFacts {
    /// Index of the video stream in the container.
    pub stream: usize,
    /// Numerator and denominator of the stream's time base (every timestamp here is in it).
    pub time_base: (i32, i32),
    /// Frame width in pixels, as the decoder reports it.
    pub width: u32,
    /// Frame height in pixels, as the decoder reports it.
    pub height: u32,
    /// Frames in the stream, counted by demuxing (every packet that makes a frame).
    pub frames: u64,
}

/// One segment: the frames whose timestamps are `start_pts..=last_pts`. Its worker decodes from
/// the keyframe at or before `start_pts` and drops what precedes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentPlan {
    /// Its place in the plan, from 0: the index a worker step is given.
    pub index: usize,
    /// Frames it holds (at least 1).
    pub frames: u64,
    /// Timestamp of its first frame, in the stream's time base.
    pub start_pts: i64,
    /// Timestamp of its last frame, in the stream's time base.
    pub last_pts: i64,
    /// The next segment's first timestamp (`None` for the last).
    pub end_pts: Option<i64>,
    /// Time of its first frame after the input's first frame, in seconds (for people).
    pub start_seconds: f64,
    /// With temporal stabilisation, the frames before its first that its worker also decodes
    /// and upscales, as the stabiliser's context, without encoding them; `None` without.
    pub history: Option<HistoryPlan>,
}

/// A segment's history frames: the [`crate::video::temporal::HISTORY`] frames before its first
/// (fewer at the input's start), so that its frames equal the run on one machine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HistoryPlan {
    /// Timestamp of the first history frame.
    pub first_pts: i64,
    /// Timestamp of the frame before it (what the decoder skips through, and the context a
    /// deinterlacer reads); `None` when the history starts at the input's first frame.
    pub before_pts: Option<i64>,
}

/// Every setting that shapes the video: the job's own [`Config`] as resolved for this input
/// (the network named, the encoder and the deinterlacing pinned; this machine's fields, such as
/// threads, are not carried), and what the planning engine resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The job's settings, as [`Config`] writes itself (a new setting travels without an edit
    /// here).
    pub job: Config,
    /// What the engine resolved: device, precision, passes, tile, model files by SHA-256.
    #[serde(flatten)]
    pub engine: Resolved,
    /// Output frame size in pixels (width, height), as the planning upscaler made it.
    pub output_size: (u32, u32),
    /// FFmpeg's version and libavcodec's.
    pub ffmpeg: String,
    /// The line the joined output names itself with (`crate::provenance`), made by the planning
    /// engine; `None` with `provenance` off.
    pub provenance_line: Option<String>,
}

/// The FFmpeg libraries this process runs.
pub fn ffmpeg_version() -> String {
    // SAFETY: both return static data of the loaded libraries (a NUL-terminated string, a number).
    let v = unsafe { std::ffi::CStr::from_ptr(ffmpeg::ffi::av_version_info()) };
    // SAFETY: as above.
    let c = unsafe { ffmpeg::ffi::avcodec_version() };
    format!("{} (libavcodec {}.{}.{})", v.to_string_lossy(), c >> 16, (c >> 8) & 255, c & 255)
}

impl Settings {
    /// `cfg` resolved for a `w`×`h` input written to `output` through `up` (made from `cfg`):
    /// the network named, the container's default encoder and the `deinterlace` found pinned,
    /// with what `up` resolved. The one conversion from a job's settings to a plan's.
    pub fn resolve(
        cfg: &Config,
        up: &Upscaler<'_>,
        output: &Path,
        (w, h): (u32, u32),
        deinterlace: Deinterlace,
    ) -> Result<Settings> {
        let output_size = up.output_size(w, h);
        let provenance =
            if cfg.provenance { Some(crate::provenance::describe(up, (w, h), output_size)?) } else { None };
        let mut job = cfg.for_kind(crate::config::Kind::Video);
        let codec = job.video.codec.take().unwrap_or_else(|| crate::video::encode::default_codec(output).to_string());
        job.video = VideoConfig { codec: Some(codec), deinterlace, ..job.video };
        // This machine's settings (the fields `Config` does not write) are not the plan's: the
        // job as the plan file holds it, read back.
        let job: Config = serde_json::to_value(&job)
            .and_then(serde_json::from_value)
            .map_err(|e| Error::video(output, format!("the settings cannot be planned: {e}")))?;
        Ok(Settings {
            job,
            engine: up.resolved(w, h)?,
            output_size,
            ffmpeg: ffmpeg_version(),
            provenance_line: provenance,
        })
    }

    /// The configuration a worker runs with, from the plan alone: the job's, with device,
    /// precision and tile pinned as the planning engine resolved them.
    pub fn config(&self) -> Config {
        let base = Config::default();
        Config {
            device: self.engine.device.unwrap_or(base.device),
            precision: self.engine.precision.unwrap_or(base.precision),
            tile: self.engine.tile,
            ..self.job.clone()
        }
    }

    /// Checks this machine's FFmpeg libraries against the plan's; the message names both.
    pub fn check_ffmpeg(&self) -> std::result::Result<(), String> {
        let here = ffmpeg_version();
        if here != self.ffmpeg {
            return Err(format!("FFmpeg differs: the plan has {}, this machine {here}", self.ffmpeg));
        }
        Ok(())
    }

    /// What differs between these settings and `other`, as `name was A, now B` (each
    /// difference, the settings asked for before those derived from them).
    pub fn difference(&self, other: &Settings) -> Option<String> {
        let (a, b) = (leaves(serde_json::to_value(self).ok()?), leaves(serde_json::to_value(other).ok()?));
        let show = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        let mut diffs: Vec<(bool, String)> = a
            .iter()
            .filter(|(k, v)| b.get(*k) != Some(v))
            .map(|(k, v)| {
                let derived = ["output_size", "model_files", "passes", "tile"].contains(&k.as_str());
                let now = b.get(k).map_or("(none)".into(), show);
                (derived, format!("{} was {}, now {now}", k.replace('_', "-"), show(v)))
            })
            .collect();
        diffs.sort_by_key(|d| d.0);
        (!diffs.is_empty()).then(|| diffs.into_iter().map(|d| d.1).collect::<Vec<_>>().join("; "))
    }
}

/// The values of a settings object by their paths (`scale`, `video.crf`, `passes`): the job's
/// own settings without their `job.` prefix.
fn leaves(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    fn walk(prefix: &str, v: serde_json::Value, out: &mut serde_json::Map<String, serde_json::Value>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let name = match prefix {
                        "" | "job" => k,
                        p => format!("{p}.{k}"),
                    };
                    walk(&name, v, out);
                }
            }
            v => {
                out.insert(prefix.to_string(), v);
            }
        }
    }
    let mut out = serde_json::Map::new();
    walk("", v, &mut out);
    out
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
    /// Plans `input` → `output` (whose work folder is `work`) cut by `cut`, with `cfg` and the
    /// upscaler `up` made from it (which reports what it resolved). A count of segments that
    /// the input's frames cannot give is a [`ConfigError`] on `segments`.
    ///
    /// The plan records what this input will run with: for a source of more than 8 bits, an
    /// `up` whose `auto` precision chose bf16 is replaced by fp32, as the one-machine run does
    /// ([`Upscaler::for_depth`]; the note saying why goes to `progress`).
    pub fn make(
        input: &Path,
        output: &Path,
        work: &Path,
        cfg: &Config,
        up: &Upscaler<'_>,
        cut: Cut,
        progress: &dyn Progress,
    ) -> Result<Plan> {
        let cut = cut.check()?;
        let abs = input.canonicalize().map_err(|e| Error::io(input, e))?;
        let id = InputId::of(&abs)?;
        let info = crate::video::open(&abs, cfg)?.info().clone();
        let up = &up.for_depth(input, crate::video::depth(&info), progress)?;
        let list = FrameList::scan(&abs)?;
        if list.stream != info.index {
            return Err(Error::video(input, "the demuxer and the decoder chose different video streams"));
        }
        if let Cut::Count(n) = cut {
            if n == 0 || n > list.frames.len() {
                let have = list.frames.len();
                let e = ConfigError::new("segments", n, format!("1 to {have} (the input has {have} frames)"));
                return Err(e.into());
            }
        }
        let deinterlace = resolve_deinterlace(&abs, cfg.video.deinterlace, info.interlaced)?;
        let settings = Settings::resolve(cfg, up, output, (info.width, info.height), deinterlace)?;
        let starts = keyframes::cut_points(&list.frames, list.time_base, cut);
        let stabilised = crate::video::stabilises(&settings.job, up);
        let tb = list.time_base;
        let segments = starts
            .iter()
            .enumerate()
            .map(|(index, &s)| {
                let e = starts.get(index + 1).copied().unwrap_or(list.frames.len());
                let h = s.saturating_sub(crate::video::temporal::HISTORY);
                let history = (stabilised && s > 0).then(|| HistoryPlan {
                    first_pts: list.frames[h].0,
                    before_pts: h.checked_sub(1).map(|b| list.frames[b].0),
                });
                SegmentPlan {
                    index,
                    frames: (e - s) as u64,
                    start_pts: list.frames[s].0,
                    last_pts: list.frames[e - 1].0,
                    end_pts: list.frames.get(e).map(|f| f.0),
                    start_seconds: keyframes::seconds(list.frames[s].0 - list.frames[0].0, tb),
                    history,
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
        let tmp = Pending::at(work.join(format!(".{PLAN_FILE}.{}.tmp", std::process::id())), &path);
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::video(&path, format!("plan: {e}")))? + "\n";
        std::fs::File::create(tmp.path())
            .and_then(|mut f| {
                f.write_all(text.as_bytes())?;
                f.sync_all()
            })
            .map_err(|e| Error::io(&path, e))?;
        // Put in place without replacing an existing plan.
        if !tmp.commit_new()? {
            return Err(Error::io(&path, std::io::ErrorKind::AlreadyExists.into()));
        }
        Ok(())
    }

    /// The video stream's time base, in which every timestamp of the plan is.
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

    /// A plan carries every setting of the job but this machine's (threads, …), without a list
    /// of fields here: a new `Config` field travels as it is.
    #[test]
    fn a_plan_carries_the_jobs_settings_but_this_machines() {
        let mut cfg =
            Config { model: Some("lanczos".into()), scale: 3, threads: 3, recursive: true, ..Config::default() };
        cfg.video.crf = Some(20);
        cfg.video.tonemap = crate::config::Tonemap::Sdr;
        cfg.video.encoder_opts = vec![("tune".into(), "film".into())];
        cfg.video.queue_depth = 9;
        let engine = crate::Engine::new(&cfg).unwrap();
        let up = engine.upscaler(&cfg).unwrap();
        let s = Settings::resolve(&cfg, &up, Path::new("o.webm"), (64, 48), Deinterlace::On).unwrap();
        let back: Settings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        let run = back.config();
        assert_eq!((run.scale, run.video.crf, run.video.tonemap), (3, Some(20), crate::config::Tonemap::Sdr));
        assert_eq!(run.video.encoder_opts, cfg.video.encoder_opts);
        assert_eq!(run.video.codec.as_deref(), Some("libvpx-vp9"), "the container's default, pinned");
        assert_eq!(run.video.deinterlace, Deinterlace::On, "as found, pinned");
        assert_eq!((run.threads, run.recursive, run.video.queue_depth), (0, false, 4), "this machine's, not carried");
        assert_eq!(run.tile, s.engine.tile, "the engine's tile, pinned");
    }

    #[test]
    fn a_changed_setting_is_named() {
        let cfg = Config { model: Some("lanczos".into()), ..Config::default() };
        let engine = crate::Engine::new(&cfg).unwrap();
        let up = engine.upscaler(&cfg).unwrap();
        let a = Settings::resolve(&cfg, &up, Path::new("o.mkv"), (64, 48), Deinterlace::Off).unwrap();
        let mut b = a.clone();
        assert_eq!(a.difference(&b), None);
        b.job.scale = 3;
        b.output_size = (192, 144);
        assert_eq!(a.difference(&b).as_deref(), Some("scale was 4, now 3; output-size was [256,192], now [192,144]"));
        assert_eq!(a.config().video.codec.as_deref(), Some("libx264"));
        assert_eq!(a.engine.tile, 64);
        // Typed in the file: read back as written.
        let text = serde_json::to_string(&a).unwrap();
        assert!(text.contains("\"deinterlace\":\"off\"") && text.contains("\"device\":null"), "{text}");
        assert_eq!(serde_json::from_str::<Settings>(&text).unwrap(), a);
    }
}

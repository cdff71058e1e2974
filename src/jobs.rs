//! Jobs, for every front end: inputs (files, folders, mixed) planned into jobs (one input
//! file, its output path, its kind found from the content, its settings), and [`run_job`], which
//! runs one on an [`Engine`] for images and videos alike and says how it ended.

use std::path::{Path, PathBuf};

use crate::config::Config;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::engine::{Engine, Upscaler};
use crate::engines::Engines;
use crate::error::{Error, Result};
use crate::formats;
pub use crate::outcome::Outcome;
use crate::progress::{Event, Progress, Unit};
use crate::still;

pub use crate::budget::check_size;
pub use crate::config::Kind;
pub use crate::output::temp_path;

/// One file to upscale.
#[derive(Debug, Clone)]
pub struct Job {
    /// The file read.
    pub input: PathBuf,
    /// The file written (its format from its extension); never the input.
    pub output: PathBuf,
    /// Picture or video, found from the content ([`kind_of`]).
    pub kind: Kind,
    /// Scale, size, tiling, overwrite, pixel limit and video settings of this job, with its
    /// network always named (the kind's default when none was asked: [`Config::for_kind`]).
    pub settings: Config,
    /// Create the output's folder when missing (jobs planned from a folder or several inputs);
    /// otherwise a missing folder is an error.
    pub create_dirs: bool,
}

impl Job {
    /// A job reading `input` (of `kind`) into `output` with `cfg`, the network being the one
    /// named or the kind's default: how every front end makes one.
    pub fn new(input: PathBuf, output: PathBuf, kind: Kind, cfg: &Config) -> Job {
        Job { input, output, kind, settings: cfg.for_kind(kind), create_dirs: false }
    }
}

/// Runs one job on `engine`: a still image tile by tile, a video frame by frame, with events
/// sent to `progress` (which may cancel: a still image then writes nothing and the result is
/// [`Error::Cancelled`]; a video is finished short as [`Outcome::Interrupted`]).
pub fn run_job(job: &Job, engine: &Engine, progress: &dyn Progress) -> Result<Outcome> {
    run_on(job, engine.upscaler(&job.settings)?, progress)
}

/// Runs `job.settings.edit` alone on `job.input` into `job.output` (no model): a picture or a
/// video, with the events of [`run_job`].
pub fn run_edit(job: &Job, progress: &dyn Progress) -> Result<Outcome> {
    let cfg = &job.settings;
    match job.kind {
        #[cfg(feature = "video")]
        Kind::Image if formats::named_as(&job.output, Kind::Video) => {
            crate::video::animation::upscale_file(&job.input, &job.output, None, cfg, progress).map(|()| Outcome::Done)
        }
        Kind::Image => still::edit_file(&job.input, &job.output, cfg, progress).map(|()| Outcome::Done),
        #[cfg(feature = "video")]
        Kind::Video => crate::video::edit::edit_file(&job.input, &job.output, cfg, progress),
        #[cfg(not(feature = "video"))]
        Kind::Video => Err(Error::decode(&job.input, "a video, and this build has no video support (feature `video`)")),
    }
}

/// [`run_job`] on a given upscaler (one of the engine's frame workers, for images in parallel).
fn run_on(job: &Job, mut up: Upscaler<'_>, progress: &dyn Progress) -> Result<Outcome> {
    let cfg = &job.settings;
    if job.create_dirs {
        if let Some(p) = job.output.parent().filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
            std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))?;
        }
    }
    match job.kind {
        // An animated picture written as a video (`-o x.mp4`).
        #[cfg(feature = "video")]
        Kind::Image if formats::named_as(&job.output, Kind::Video) => {
            crate::video::animation::upscale_file(&job.input, &job.output, Some(&mut up), cfg, progress)?;
            Ok(Outcome::Done)
        }
        #[cfg(not(feature = "video"))]
        Kind::Image if formats::named_as(&job.output, Kind::Video) => Err(Error::Output {
            path: job.output.clone(),
            msg: "a video, and this build has no video support (feature `video`)".into(),
        }),
        Kind::Image => {
            // The start (with the tile count, known once the picture's size is) comes from still.
            still::upscale_file(&job.input, &job.output, &mut up, cfg, progress)?;
            Ok(Outcome::Done)
        }
        // `resume`: through segments in a work folder, continuing what an earlier run left.
        #[cfg(feature = "video")]
        Kind::Video if cfg.video.resume => {
            crate::segments::resume::upscale_file(&job.input, &job.output, &mut up, cfg, progress)
        }
        #[cfg(feature = "video")]
        Kind::Video => crate::video::upscale_file(&job.input, &job.output, &mut up, cfg, progress),
        #[cfg(not(feature = "video"))]
        Kind::Video => Err(Error::decode(&job.input, "a video, and this build has no video support (feature `video`)")),
    }
}

/// What a run of several jobs came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Jobs whose output was written in full.
    pub done: usize,
    /// Jobs that ended in an error (each reported as it happened).
    pub failed: usize,
    /// Stopped on request: the jobs after the interrupted one were not started.
    pub interrupted: bool,
}

/// Loads the engine of every job into `engines` before any work, so that a network, device or
/// runtime this machine cannot give fails the run as a configuration error with nothing started;
/// and refuses a single job whose result cannot fit in memory (`budget::check_file`).
/// In a batch such a file fails on its own when its turn comes, and the rest go on.
pub fn prepare(jobs: &[Job], engines: &Engines, progress: &dyn Progress) -> Result<()> {
    for job in jobs {
        engines.get(&job.settings, progress)?;
    }
    if let [job] = jobs {
        let engine = engines.get(&job.settings, progress)?;
        let up = engine.upscaler(&job.settings)?;
        crate::budget::check_file(&job.input, &job.output, job.kind, &job.settings, &up)?;
    }
    Ok(())
}

/// Runs `jobs`, each on the engine of its network from `engines` (loaded on first use): each
/// failure is reported as an error event and the rest go on; a stop request ends the run after
/// the work in progress. Still images go first, several at once on the engine's CPU frame
/// workers when they share a network (small pictures leave a core idle between a single
/// session's operators); then the videos, one after the other, each using every core. Sends
/// file-done, error and file-progress events, and the summary at the end.
pub fn run_all(jobs: &[Job], engines: &Engines, progress: &dyn Progress) -> Summary {
    let total = jobs.len() as u64;
    let engine_for = |job: &Job| engines.get(&job.settings, progress);
    let tally = Tally { sum: Mutex::new(Summary::default()), finished: AtomicU64::new(0), total };
    if jobs.len() > 1 {
        progress.event(&Event::Start { file: None, total: Some(total), unit: Unit::Files, estimated: false });
    }
    let (images, videos): (Vec<&Job>, Vec<&Job>) = jobs.iter().partition(|j| j.kind == Kind::Image);
    let shared = images.first().filter(|first| {
        images.len() > 1
            && images
                .iter()
                .all(|j| (&j.settings.model, j.settings.denoise) == (&first.settings.model, first.settings.denoise))
    });
    let engine = shared.and_then(|first| engine_for(first).ok());
    let workers = match (shared, &engine) {
        (Some(first), Some(e)) => e.upscaler(&first.settings).and_then(|u| u.frame_workers()).unwrap_or_default(),
        _ => Vec::new(),
    };
    if workers.len() > 1 {
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for w in &workers {
                let (next, images, tally) = (&next, &images, &tally);
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = images.get(i).filter(|_| !tally.interrupted()) else { break };
                    tally.record(job, w.for_job(&job.settings).and_then(|up| run_on(job, up, progress)), progress);
                });
            }
        });
    } else {
        for job in &images {
            if tally.interrupted() {
                break;
            }
            tally.record(job, engine_for(job).and_then(|e| run_job(job, &e, progress)), progress);
        }
    }
    for job in &videos {
        if tally.interrupted() {
            break;
        }
        tally.record(job, engine_for(job).and_then(|e| run_job(job, &e, progress)), progress);
    }
    let sum = *tally.sum.lock().unwrap_or_else(|e| e.into_inner());
    progress.event(&Event::Summary { done: sum.done, failed: sum.failed, interrupted: sum.interrupted });
    sum
}

/// The running count of [`run_all`], shared by its workers.
struct Tally {
    sum: Mutex<Summary>,
    finished: AtomicU64,
    total: u64,
}

impl Tally {
    fn interrupted(&self) -> bool {
        self.sum.lock().unwrap_or_else(|e| e.into_inner()).interrupted
    }

    /// Counts one job's result and reports it.
    fn record(&self, job: &Job, result: Result<Outcome>, progress: &dyn Progress) {
        let mut stop = false;
        match result {
            Ok(outcome) => {
                let interrupted = outcome != Outcome::Done;
                // An interrupted `--resume` job keeps its segments and writes no output yet.
                let written = job.output.exists();
                if written {
                    let (input, output) = (job.input.clone(), job.output.clone());
                    progress.event(&Event::FileDone { input, output, interrupted });
                }
                self.sum.lock().unwrap_or_else(|e| e.into_inner()).done += usize::from(written && !interrupted);
                stop = interrupted;
            }
            Err(Error::Cancelled) => stop = true,
            Err(e) => {
                self.sum.lock().unwrap_or_else(|e| e.into_inner()).failed += 1;
                progress.failed(&job.input, &e);
            }
        }
        let done = self.finished.fetch_add(1, Ordering::SeqCst) + 1;
        if !stop && self.total > 1 {
            stop = !progress.event(&Event::Progress { done, total: Some(self.total), unit: Unit::Files });
        }
        if stop {
            self.sum.lock().unwrap_or_else(|e| e.into_inner()).interrupted = true;
        }
    }
}

/// The kind of a file, from its first bytes: an image format we read, else a video; content
/// that is neither image nor anything else recognisable is judged by an image extension.
pub fn kind_of(path: &Path) -> Kind {
    if still::is_image(path) || (formats::named_as(path, Kind::Image) && !looks_like_video(path)) {
        Kind::Image
    } else {
        Kind::Video
    }
}

/// What a file is, found from its content ([`identify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identified {
    /// Picture or video.
    pub kind: Kind,
    /// A picture's format (`None` for a video).
    pub format: Option<still::Format>,
    /// Its size as shown: a picture's with its EXIF orientation applied, a video's frames.
    pub size: (u32, u32),
}

/// Identifies `path` by its content ([`kind_of`]) and reads its size from the picture's header
/// or the video's stream, refusing one over `max_pixels` ([`Error::TooLarge`]): the page's check
/// of an upload, on the same rule as the command line's. A picture that cannot be read is a
/// [`Error::Decode`]; a file that is neither picture nor readable video, the video reader's error.
pub fn identify(path: &Path, max_pixels: u64) -> Result<Identified> {
    match kind_of(path) {
        Kind::Image => {
            let format = still::sniff(path)?;
            let (w, h) = still::dimensions(path)?;
            if w as u64 * h as u64 > max_pixels {
                return Err(Error::TooLarge {
                    path: path.into(),
                    width: w as u64,
                    height: h as u64,
                    limit: max_pixels,
                });
            }
            Ok(Identified { kind: Kind::Image, format: Some(format), size: (w, h) })
        }
        #[cfg(feature = "video")]
        Kind::Video => {
            let r = crate::video::probe::scan(path, 0, max_pixels)?;
            Ok(Identified { kind: Kind::Video, format: None, size: (r.width, r.height) })
        }
        #[cfg(not(feature = "video"))]
        Kind::Video => Err(Error::decode(path, "not a picture, and this build has no video support (feature `video`)")),
    }
}

/// Whether the first bytes are a common video container's (MP4/MOV, Matroska/WebM, AVI, MPEG
/// program stream, FLV, Ogg, ASF), so a video named `.png` still goes to the video path.
fn looks_like_video(path: &Path) -> bool {
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).unwrap_or(0);
    let h = &head[..n];
    (h.len() >= 8 && matches!(&h[4..8], b"ftyp" | b"moov" | b"mdat" | b"free" | b"wide" | b"skip"))
        || h.starts_with(&[0x1A, 0x45, 0xDF, 0xA3])
        || (h.starts_with(b"RIFF") && h.get(8..11) == Some(b"AVI"))
        || h.starts_with(&[0, 0, 1, 0xBA])
        || h.starts_with(b"FLV")
        || h.starts_with(b"OggS")
        || h.starts_with(&[0x30, 0x26, 0xB2, 0x75])
}

/// The suffix naming the scale: `x4`, or `x1.5` for `--outscale 1.5`.
fn scale_tag(cfg: &Config) -> String {
    match (cfg.outscale, cfg.width, cfg.height) {
        (Some(f), _, _) => format!("x{f}"),
        (None, None, None) => format!("x{}", cfg.scale),
        (None, w, h) => {
            format!("{}x{}", w.map_or("auto".into(), |v| v.to_string()), h.map_or("auto".into(), |v| v.to_string()))
        }
    }
}

/// The output name for an input file: the same stem plus `_<tag>` when a tag is given, the same
/// extension (PNG for image formats we do not write, MKV for a video without one).
fn output_name(input: &Path, kind: Kind, tag: Option<&str>) -> PathBuf {
    // The stem is kept as it is, bytes that are not UTF-8 included.
    let mut name = input.file_stem().map(|s| s.to_os_string()).unwrap_or_default();
    if let Some(t) = tag {
        name.push(format!("_{t}"));
    }
    let ext = input.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let ext = match kind {
        Kind::Image if still::output_format(Path::new(&format!("x.{ext}"))).is_err() => "png".to_string(),
        // A video named like a picture (`clip.png`) is not written as one.
        Kind::Video if ext.is_empty() || formats::named_as(input, Kind::Image) => "mkv".to_string(),
        _ => ext,
    };
    name.push(format!(".{ext}"));
    input.with_file_name(name)
}

/// Whether `p` is named like a picture or a video we read.
fn has_media_extension(p: &Path) -> bool {
    formats::of_path(p).is_some()
}

/// Files under `dir` worth upscaling, sorted: pictures by content, and every file named like a
/// picture or a video (a damaged one then fails as a job of its own and is reported, never left
/// out unsaid). The rest go to `skipped`.
fn walk(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>, skipped: &mut Vec<PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if recursive {
                walk(&p, recursive, out, skipped)?;
            }
        } else if has_media_extension(&p) || still::is_image(&p) {
            out.push(p);
        } else {
            skipped.push(p);
        }
    }
    Ok(())
}

/// The jobs planned for some inputs, and the files found in their folders that are neither
/// pictures nor videos (by name or content), left out: a front end says how many.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The jobs, in the order of the inputs (files of a folder sorted by path).
    pub jobs: Vec<Job>,
    /// Files in the input folders that are neither pictures nor videos, not upscaled.
    pub skipped: Vec<PathBuf>,
}

/// [`plan_all`] without the files left out.
pub fn plan(inputs: &[PathBuf], output: Option<&Path>, cfg: &Config) -> Result<Vec<Job>> {
    plan_all(inputs, output, cfg).map(|p| p.jobs)
}

/// Plans the jobs for `inputs` and an optional `-o`: one file to a file; a folder, or several
/// inputs, to a folder (same names, structure kept under each input folder).
pub fn plan_all(inputs: &[PathBuf], output: Option<&Path>, cfg: &Config) -> Result<Planned> {
    let tag = scale_tag(cfg);
    let single_file = inputs.len() == 1 && !inputs[0].is_dir();
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
        if meta.is_dir() {
            let base = match output {
                Some(o) if inputs.len() == 1 => o.to_path_buf(),
                Some(o) => o.join(input.file_name().unwrap_or_default()),
                None => {
                    let name =
                        input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
                    input.with_file_name(format!("{name}_{tag}"))
                }
            };
            let mut files = Vec::new();
            walk(input, cfg.recursive, &mut files, &mut skipped)?;
            for f in files {
                let kind = kind_of(&f);
                let rel = f.strip_prefix(input).unwrap_or(&f);
                let name = output_name(rel, kind, None);
                jobs.push(Job { create_dirs: true, ..Job::new(f, base.join(name), kind, cfg) });
            }
        } else {
            let kind = kind_of(input);
            let out = match output {
                // `-o` an existing folder for one file: the file goes into it, under its own name.
                Some(o) if single_file && o.is_dir() => {
                    o.join(output_name(Path::new(input.file_name().unwrap_or_default()), kind, None))
                }
                Some(o) if single_file => o.to_path_buf(),
                Some(o) => o.join(output_name(Path::new(input.file_name().unwrap_or_default()), kind, None)),
                None => output_name(input, kind, Some(&tag)),
            };
            jobs.push(Job { create_dirs: !single_file, ..Job::new(input.clone(), out, kind, cfg) });
        }
    }
    if jobs.is_empty() {
        // Only folders were given and none holds anything to upscale (a folder named
        // `clip.mp4` included): nothing would be written, so that is a failure.
        let names: Vec<_> = inputs.iter().map(|i| i.display().to_string()).collect();
        let hint = if cfg.recursive { "" } else { " (add -r to look in subfolders)" };
        return Err(Error::Decode {
            path: names.join(", ").into(),
            msg: format!("a folder with no images or videos in it{hint}"),
        });
    }
    Ok(Planned { jobs, skipped })
}

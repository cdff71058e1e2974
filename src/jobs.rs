//! Jobs, for every front end: inputs (files, folders, mixed) planned into jobs (one input
//! file, its output path, its kind found from the content, its settings), and [`run_job`], which
//! runs one on an [`Engine`] for images and videos alike and says how it ended.

use std::path::{Path, PathBuf};

use crate::config::Config;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::engine::{Engine, Upscaler};
use crate::error::{Error, Result};
pub use crate::outcome::Outcome;
use crate::progress::{Event, Progress, Unit};
use crate::still;

/// What an input file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A still picture, upscaled tile by tile ([`crate::still`]).
    Image,
    /// A video (anything not a picture), upscaled frame by frame through FFmpeg.
    Video,
}

/// One file to upscale.
#[derive(Debug, Clone)]
pub struct Job {
    /// The file read.
    pub input: PathBuf,
    /// The file written (its format from its extension); never the input.
    pub output: PathBuf,
    /// Picture or video, found from the content ([`kind_of`]).
    pub kind: Kind,
    /// Scale, size, tiling, overwrite, pixel limit and video settings of this job (the model,
    /// device and precision are the engine's).
    pub settings: Config,
    /// Create the output's folder when missing (jobs planned from a folder or several inputs);
    /// otherwise a missing folder is an error.
    pub create_dirs: bool,
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

/// Runs `jobs` on `engine`: each failure is reported as an error event and the rest go on; a
/// stop request ends the run after the work in progress. Still images go first, several at once
/// on the engine's CPU frame workers when it has them (small pictures leave a core idle between
/// a single session's operators); then the videos, one after the other, each using every core.
/// Sends file-done, error and file-progress events, and the summary at the end.
pub fn run_all(jobs: &[Job], engine: &Engine, progress: &dyn Progress) -> Summary {
    run_all_engines(jobs, &[engine], progress)
}

/// [`run_all`] with one engine per model: each job runs on the engine of its `settings.model`
/// (the first engine when none matches), e.g. pictures and videos with their own defaults.
pub fn run_all_engines(jobs: &[Job], engines: &[&Engine], progress: &dyn Progress) -> Summary {
    let total = jobs.len() as u64;
    let Some(&first_engine) = engines.first() else {
        return Summary::default();
    };
    let engine_for =
        |job: &Job| engines.iter().copied().find(|e| e.model() == job.settings.model).unwrap_or(first_engine);
    let tally = Tally { sum: Mutex::new(Summary::default()), finished: AtomicU64::new(0), total };
    if jobs.len() > 1 {
        progress.event(&Event::Start { file: None, total: Some(total), unit: Unit::Files, estimated: false });
    }
    let (images, videos): (Vec<&Job>, Vec<&Job>) = jobs.iter().partition(|j| j.kind == Kind::Image);
    let workers = match images.first() {
        Some(first) if images.len() > 1 && images.iter().all(|j| j.settings.model == first.settings.model) => {
            engine_for(first).upscaler(&first.settings).and_then(|u| u.frame_workers()).unwrap_or_default()
        }
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
            tally.record(job, run_job(job, engine_for(job), progress), progress);
        }
    }
    for job in &videos {
        if tally.interrupted() {
            break;
        }
        tally.record(job, run_job(job, engine_for(job), progress), progress);
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

/// Extensions taken as video inside folders (single files are judged by content).
const VIDEO_EXTENSIONS: &[&str] =
    &["mp4", "m4v", "mkv", "mov", "avi", "webm", "mpg", "mpeg", "ts", "m2ts", "mts", "vob", "dv", "flv", "wmv", "ogv"];

/// Extensions of the image formats we read: a file with one whose content is no known format
/// (empty, damaged, not an image at all) goes to the image reader, whose error says why.
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff"];

/// The kind of a file, from its first bytes: an image format we read, else a video; content
/// that is neither image nor anything else recognisable is judged by an image extension.
pub fn kind_of(path: &Path) -> Kind {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if still::is_image(path) || (ext.is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str())) && !looks_like_video(path))
    {
        Kind::Image
    } else {
        Kind::Video
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
        Kind::Video if ext.is_empty() || IMAGE_EXTENSIONS.contains(&ext.as_str()) => "mkv".to_string(),
        _ => ext,
    };
    name.push(format!(".{ext}"));
    input.with_file_name(name)
}

/// Whether `p` is named like a picture or a video we read.
fn has_media_extension(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()) || VIDEO_EXTENSIONS.contains(&e.as_str()))
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
                jobs.push(Job { output: base.join(name), input: f, kind, settings: cfg.clone(), create_dirs: true });
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
            jobs.push(Job {
                input: input.clone(),
                output: out,
                kind,
                settings: cfg.clone(),
                create_dirs: !single_file,
            });
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

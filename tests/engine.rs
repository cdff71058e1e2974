//! The library as the server and the scheduler steps call it: one `Engine`, `run_job` for an
//! image and a video with a recording `Progress`, any scale without reloading, tile progress and
//! cancel, and the frame workers built once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use upscale::jobs::{self, Job, Kind, Outcome};
use upscale::progress::{Event, Progress, Recorder, Unit};
use upscale::{Config, Device, Engine, Error, Planes};

mod common;
use common::{ffmpeg, s, with_tone};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/coffee.png")
}

fn cfg(scale: u32) -> Config {
    Config { scale, device: Device::Cpu, ..Config::default() }
}

fn job(input: &Path, output: &Path, kind: Kind, settings: Config) -> Job {
    Job { input: input.into(), output: output.into(), kind, settings, create_dirs: false }
}

#[test]
fn an_image_job_reports_start_tiles_and_writes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    image::open(sample()).unwrap().crop_imm(0, 0, 96, 64).save(&input).unwrap();
    let out = dir.path().join("out.png");
    // Tiles of 32: 3x2 tiles for the one x2 pass.
    let settings = Config { tile: 32, ..cfg(2) };
    let engine = Engine::new(&settings).unwrap();
    let rec = Recorder::default();
    let sum = jobs::run_all(&[job(&input, &out, Kind::Image, settings)], &upscale::Engines::holding(engine), &rec);
    assert_eq!((sum.done, sum.failed, sum.interrupted), (1, 0, false));
    assert_eq!(image::image_dimensions(&out).unwrap(), (192, 128));
    let ev = rec.events();
    // The start carries the tile count of every pass (issue 19), known from the picture's size.
    assert_eq!(ev[0], Event::Start { file: Some(input.clone()), total: Some(6), unit: Unit::Tiles, estimated: false });
    let tiles: Vec<(u64, Option<u64>)> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Progress { done, total, unit: Unit::Tiles } => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(tiles, (1..=6).map(|d| (d, Some(6))).collect::<Vec<_>>());
    assert!(matches!(&ev[ev.len() - 2], Event::FileDone { output, interrupted: false, .. } if *output == out));
    assert_eq!(ev.last(), Some(&Event::Summary { done: 1, failed: 0, interrupted: false }));
}

#[test]
fn a_video_job_reports_frames_and_keeps_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.mp4");
    ffmpeg(&with_tone(&["-t", "0.5", "-c:v", "libx264", "-c:a", "aac", "-shortest", s(&input)]));
    let out = dir.path().join("out.mkv");
    let settings = Config { model: Some("bicubic".into()), ..cfg(2) };
    let engine = Engine::new(&settings).unwrap();
    let rec = Recorder::default();
    let outcome = jobs::run_job(&job(&input, &out, Kind::Video, settings), &engine, &rec).unwrap();
    assert_eq!(outcome, Outcome::Done);
    let ev = rec.events();
    assert!(matches!(&ev[0], Event::Start { unit: Unit::Frames, total: Some(12), .. }), "{ev:?}");
    let last = ev.iter().rev().find_map(|e| match e {
        Event::Progress { done, unit: Unit::Frames, .. } => Some(*done),
        _ => None,
    });
    assert_eq!(last, Some(12), "{ev:?}");
    assert_eq!(common::frame_times(&out).len(), 12);
}

/// Cancels at the `after`-th progress event.
struct CancelAfter {
    after: u64,
    seen: AtomicU64,
}

impl Progress for CancelAfter {
    fn event(&self, e: &Event) -> bool {
        if matches!(e, Event::Progress { .. }) {
            return self.seen.fetch_add(1, Ordering::SeqCst) + 1 < self.after;
        }
        true
    }
}

#[test]
fn a_cancel_stops_a_picture_within_one_tile_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    image::open(sample()).unwrap().crop_imm(0, 0, 128, 128).save(&input).unwrap();
    let out = dir.path().join("out.png");
    let settings = Config { tile: 32, ..cfg(4) };
    let engine = Engine::new(&settings).unwrap();
    let stop = CancelAfter { after: 2, seen: AtomicU64::new(0) };
    let r = jobs::run_job(&job(&input, &out, Kind::Image, settings), &engine, &stop);
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    // 16 tiles were planned; the network ran for exactly two.
    assert_eq!(stop.seen.load(Ordering::SeqCst), 2);
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "a temporary file was left");
}

#[test]
fn one_engine_serves_every_scale_without_reloading() {
    let engine = Engine::new(&cfg(4)).unwrap();
    assert_eq!(engine.sessions(), 1);
    let pic = Planes::new(24, 16, 3);
    for (scale, sessions) in [(2, 2), (4, 2), (8, 2), (3, 3), (6, 3), (2, 3)] {
        let out = engine.upscaler(&cfg(scale)).unwrap().upscale(&pic).unwrap();
        assert_eq!((out.width, out.height), (24 * scale, 16 * scale));
        assert_eq!(engine.sessions(), sessions, "after x{scale}");
    }
    let exact = Config { width: Some(50), height: Some(31), ..cfg(2) };
    let out = engine.upscaler(&exact).unwrap().upscale(&pic).unwrap();
    assert_eq!((out.width, out.height, engine.sessions()), (50, 31, 3));
    // The frame workers are made once and reused by every later video.
    let up = engine.upscaler(&cfg(2)).unwrap();
    let n = up.frame_workers().unwrap().len();
    let after_first = engine.sessions();
    let again = up.frame_workers().unwrap().len();
    assert_eq!((n, engine.sessions()), (again, after_first));
    // Another model is another engine, said clearly.
    let other = Config { model: Some("bicubic".into()), ..cfg(2) };
    assert!(matches!(engine.upscaler(&other), Err(Error::Conflict(_))));
}

#[test]
fn a_folder_of_images_runs_on_the_frame_workers_with_the_same_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let src = image::open(sample()).unwrap();
    let settings = cfg(2);
    let mut jobs = Vec::new();
    for k in 0..4u32 {
        let input = dir.path().join(format!("in{k}.png"));
        src.crop_imm(k * 20, 0, 40, 30).save(&input).unwrap();
        jobs.push(job(&input, &dir.path().join(format!("out{k}.png")), Kind::Image, settings.clone()));
    }
    let engines = upscale::Engines::holding(Engine::new(&settings).unwrap());
    let rec = Recorder::default();
    let sum = jobs::run_all(&jobs, &engines, &rec);
    assert_eq!((sum.done, sum.failed), (4, 0));
    let engine = engines.get(&settings, &rec).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The main session, plus one per frame worker when there are cores for them.
    assert_eq!(engine.sessions(), if cores >= 2 { 3 } else { 1 });
    let files = rec.events().iter().filter(|e| matches!(e, Event::FileDone { .. })).count();
    assert_eq!(files, 4);
    // Each picture as the single-image path makes it.
    let single = Engine::new(&Config { threads: 1, ..settings.clone() }).unwrap();
    for j in &jobs {
        let want = single
            .upscaler(&settings)
            .unwrap()
            .upscale(&upscale::internals::still::load(&j.input, 1 << 28).unwrap().rgb)
            .unwrap();
        let got = image::open(&j.output).unwrap().to_rgb8();
        let p = upscale::internals::planes::psnr(want.to_rgb8().as_raw(), got.as_raw());
        assert!(p >= 60.0, "{}: {p:.1} dB", j.output.display());
    }
}

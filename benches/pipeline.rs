//! How much the video pipeline costs over the model alone: on the same frames, the model only
//! (`Upscaler::upscale_rgb8` on frames decoded beforehand, on the same frame workers as the
//! pipeline: two single-core copies taking frames in turn on 2 cores), decode + encode only (the
//! pipeline with the `nearest` resizer standing in for the model), and the whole pipeline.
//!
//! `cargo bench --bench pipeline` (needs the ffmpeg CLI and ../shared/media/tos.mp4, or a clip
//! named in `UPSCALE_BENCH_CLIP`). Prints frames per second and pipeline / model-only. What it
//! measures is set by comma-separated lists in the environment:
//! - `UPSCALE_BENCH_FRAMES` (default `48,24`): frames at 160×120 and at 320×240 (0 skips a size);
//! - `UPSCALE_BENCH_PADS` (default `10,0`): border padding; 10 is the default, 0 is what the
//!   official Real-ESRGAN video script does by default;
//! - `UPSCALE_BENCH_PRECISIONS` (default `fp32`; `int8` too);
//! - `UPSCALE_BENCH_PRESETS` (default empty: the encoder's own default, x264 medium).
//!
//! - `UPSCALE_BENCH_CLIPS`: ready clips (with their audio and subtitles) to time as they are
//!   instead: for each clip and padding one line `yardstick clip=… frames=… pad=… model_single=…
//!   model_workers=… pipeline=…` (frames per second; the model alone on one all-core session and
//!   on the frame workers). `tools/bench_yardstick.sh` drives this beside a plain Python loop.
//!
//! The machine these run on is a shared VM whose speed drifts by 10 % and more within a minute,
//! so each figure is the median of `UPSCALE_BENCH_REPS` (default 3) runs, model only and
//! pipeline interleaved. The pipeline's time includes starting its frame workers and filling and
//! draining its stages; the model only is timed after a warm-up.

use std::path::Path;
use std::time::Instant;

use upscale::config::Precision;
use upscale::progress::NoProgress;
use upscale::{Config, Device, Engine};
use upscale_test_support::bench::{cpu_seconds, list, median};
use upscale_test_support::ffmpeg;

/// One measured setting.
#[derive(Clone, Copy)]
struct Setting<'a> {
    pad: u32,
    precision: Precision,
    preset: Option<&'a str>,
}

fn config(model: &str, s: Setting) -> Config {
    let mut c = Config {
        model: Some(model.into()),
        scale: 4,
        device: Device::Cpu,
        overwrite: true,
        tile_pad: Some(s.pad),
        precision: s.precision,
        ..Config::default()
    };
    c.video.preset = s.preset.map(str::to_string);
    c
}

fn pipeline_fps(clip: &Path, out: &Path, model: &str, s: Setting, frames: usize) -> f64 {
    let cfg = config(model, s);
    let engine = Engine::new(&cfg).expect("model loads");
    let mut up = engine.upscaler(&cfg).expect("settings are valid");
    let t = Instant::now();
    let _ = upscale::internals::video::upscale_file(clip, out, &mut up, &cfg, &NoProgress).expect("pipeline runs");
    frames as f64 / t.elapsed().as_secs_f64()
}

/// Frames per second and CPU seconds per frame of `f` on `frames` frames.
fn timed(frames: usize, f: impl FnOnce()) -> Rate {
    let (t, c) = (Instant::now(), cpu_seconds());
    f();
    Rate { fps: frames as f64 / t.elapsed().as_secs_f64(), cpu: (cpu_seconds() - c) / frames as f64 }
}

#[derive(Clone, Copy)]
struct Rate {
    fps: f64,
    /// CPU seconds per frame.
    cpu: f64,
}

/// The model alone on `pics`: one all-core session in turn, and the frame workers together.
fn model_fps(cfg: &Config, pics: &[image::RgbImage]) -> (Rate, Rate) {
    let engine = Engine::new(cfg).expect("model loads");
    let mut up = engine.upscaler(cfg).expect("settings are valid");
    up.upscale_rgb8(&pics[0]).expect("warm-up");
    let single = timed(pics.len(), || {
        for p in pics {
            std::hint::black_box(up.upscale_rgb8(p).expect("model runs"));
        }
    });
    let mut workers = up.frame_workers().expect("workers load");
    if workers.is_empty() {
        return (single, single);
    }
    for w in &mut workers {
        w.upscale_rgb8(&pics[0]).expect("warm-up");
    }
    let n = workers.len();
    let multi = timed(pics.len(), || {
        std::thread::scope(|sc| {
            for (k, w) in workers.iter_mut().enumerate() {
                sc.spawn(move || {
                    for p in pics.iter().skip(k).step_by(n) {
                        std::hint::black_box(w.upscale_rgb8(p).expect("model runs"));
                    }
                });
            }
        })
    });
    (single, multi)
}

/// `UPSCALE_BENCH_CLIPS`: each clip as it is, model alone both ways and the pipeline.
fn yardstick(clips: &[String], pads: &[u32], reps: usize, dir: &Path) {
    for (i, clip) in clips.iter().enumerate() {
        let pattern = dir.join(format!("y{i}_%05d.png"));
        ffmpeg(&["-i", clip, "-map", "0:v:0", "-pix_fmt", "rgb24", pattern.to_str().unwrap()]);
        let pics: Vec<image::RgbImage> = (1..)
            .map(|k| dir.join(format!("y{i}_{k:05}.png")))
            .take_while(|p| p.exists())
            .map(|p| image::open(p).expect("decoded frame").to_rgb8())
            .collect();
        let frames = pics.len();
        for &pad in pads {
            let s = Setting { pad, precision: Precision::Fp32, preset: None };
            let cfg = config("realesr-animevideov3", s);
            let out = dir.join(format!("y{i}.mp4"));
            let mut runs = Vec::new();
            for _ in 0..reps {
                let (a, b) = model_fps(&cfg, &pics);
                let engine = Engine::new(&cfg).expect("model loads");
                let mut up = engine.upscaler(&cfg).expect("settings are valid");
                let c = timed(frames, || {
                    let _ = upscale::internals::video::upscale_file(Path::new(clip), &out, &mut up, &cfg, &NoProgress)
                        .expect("pipeline runs");
                });
                runs.push([a, b, c]);
            }
            let m = |k: usize| median(runs.iter().map(|r| r[k].fps).collect());
            let c = |k: usize| median(runs.iter().map(|r| r[k].cpu).collect());
            println!(
                "yardstick clip={clip} frames={frames} pad={pad} model_single={:.3} model_workers={:.3} pipeline={:.3} \
                 cpu_single={:.4} cpu_workers={:.4} cpu_pipeline={:.4}",
                m(0),
                m(1),
                m(2),
                c(0),
                c(1),
                c(2)
            );
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let source = std::env::var("UPSCALE_BENCH_CLIP")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/media/tos.mp4").to_string());
    let dir = tempfile::tempdir().expect("temp dir");
    let reps: usize =
        std::env::var("UPSCALE_BENCH_REPS").map_or(3, |r| r.parse().expect("UPSCALE_BENCH_REPS: a count"));
    let counts: Vec<usize> = list("UPSCALE_BENCH_FRAMES", "48,24")
        .iter()
        .map(|p| p.parse().expect("UPSCALE_BENCH_FRAMES: frame counts"))
        .collect();
    let pads: Vec<u32> =
        list("UPSCALE_BENCH_PADS", "10,0").iter().map(|p| p.parse().expect("UPSCALE_BENCH_PADS: pixels")).collect();
    let precisions: Vec<Precision> = list("UPSCALE_BENCH_PRECISIONS", "fp32")
        .iter()
        .map(|p| match p.as_str() {
            "fp32" => Precision::Fp32,
            "int8" => Precision::Int8,
            other => panic!("UPSCALE_BENCH_PRECISIONS: fp32 or int8, not {other}"),
        })
        .collect();
    let clips = list("UPSCALE_BENCH_CLIPS", "");
    if !clips.is_empty() {
        return yardstick(&clips, &pads, reps, dir.path());
    }
    let presets = list("UPSCALE_BENCH_PRESETS", "");
    let presets: Vec<Option<&str>> =
        if presets.is_empty() { vec![None] } else { presets.iter().map(|p| Some(p.as_str())).collect() };
    println!("pipeline benchmark: realesr-animevideov3 x4, {source} from 3 s, CPU, median of {reps}");
    for ((w, h), &frames) in [(160, 120), (320, 240)].into_iter().zip(&counts) {
        if frames == 0 {
            continue;
        }
        let clip = dir.path().join(format!("clip{w}.mp4"));
        // Real footage, away from the opening titles (looped when more frames are asked for than
        // the source has after 3 s), scaled down; default x264 settings.
        ffmpeg(&[
            "-stream_loop",
            "-1",
            "-ss",
            "3",
            "-i",
            &source,
            "-frames:v",
            &frames.to_string(),
            "-an",
            "-vf",
            &format!("scale={w}:{h}"),
            "-c:v",
            "libx264",
            "-crf",
            "18",
            clip.to_str().unwrap(),
        ]);
        let pattern = dir.path().join(format!("f{w}_%04d.png"));
        ffmpeg(&["-i", clip.to_str().unwrap(), "-pix_fmt", "rgb24", pattern.to_str().unwrap()]);
        let pics: Vec<image::RgbImage> = (1..=frames)
            .map(|k| image::open(dir.path().join(format!("f{w}_{k:04}.png"))).expect("decoded frame").to_rgb8())
            .collect();

        for &precision in &precisions {
            for &pad in &pads {
                for &preset in &presets {
                    let s = Setting { pad, precision, preset };
                    let cfg = config("realesr-animevideov3", s);
                    let engine = Engine::new(&cfg).expect("model loads");
                    let up = engine.upscaler(&cfg).expect("settings are valid");
                    // The model alone as the pipeline runs it: on its frame workers, frames in turn.
                    let mut workers = up.frame_workers().expect("workers load");
                    if workers.is_empty() {
                        workers.push(up);
                    }
                    for w in &mut workers {
                        w.upscale_rgb8(&pics[0]).expect("warm-up");
                    }
                    let n = workers.len();
                    let out = dir.path().join(format!("out{w}.mp4"));
                    let (mut model, mut codec, mut full) = (Vec::new(), Vec::new(), Vec::new());
                    for _ in 0..reps {
                        let t = Instant::now();
                        std::thread::scope(|sc| {
                            for (k, w) in workers.iter_mut().enumerate() {
                                let pics = &pics;
                                sc.spawn(move || {
                                    for p in pics.iter().skip(k).step_by(n) {
                                        std::hint::black_box(w.upscale_rgb8(p).expect("model runs"));
                                    }
                                });
                            }
                        });
                        model.push(frames as f64 / t.elapsed().as_secs_f64());
                        codec.push(pipeline_fps(&clip, &out, "nearest", s, frames));
                        full.push(pipeline_fps(&clip, &out, "realesr-animevideov3", s, frames));
                    }
                    let (model, codec, full) = (median(model), median(codec), median(full));
                    println!(
                        "{w}x{h} -> {}x{}, {frames} frames, {precision:?}, tile pad {pad}, preset {}: \
                         model only {model:.2} fps, decode+encode only {codec:.1} fps, pipeline {full:.2} fps, \
                         pipeline/model-only {:.3}",
                        w * 4,
                        h * 4,
                        preset.unwrap_or("default"),
                        full / model
                    );
                }
            }
        }
    }
}

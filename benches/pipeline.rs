//! How much the video pipeline costs over the model alone: on the same frames, the model only
//! (`Upscaler::upscale_rgb8` on frames decoded beforehand, on the same frame workers as the
//! pipeline: two single-core copies taking frames in turn on 2 cores), decode + encode only (the pipeline
//! with the `nearest` resizer standing in for the model), and the whole pipeline.
//!
//! `cargo bench --bench pipeline` (needs the ffmpeg CLI and ../shared/media/tos.mp4, or a clip
//! named in `UPSCALE_BENCH_CLIP`). Prints frames per second and pipeline / model-only, with the
//! default 10 px border padding and with none (`--tile-pad 0`, what the official Real-ESRGAN
//! video script does by default; `UPSCALE_BENCH_PADS=10` measures only the default). The machine
//! these run on is a shared VM whose speed drifts by 10 % and more within a minute, so each figure
//! is the median of `UPSCALE_BENCH_REPS` (default 3) runs, model only and pipeline interleaved.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use upscale::progress::NoProgress;
use upscale::{Config, Device, Upscaler};

fn ffmpeg(args: &[&str]) {
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ffmpeg {args:?} failed");
}

fn config(model: &str, pad: u32) -> Config {
    Config { model: model.into(), scale: 4, device: Device::Cpu, overwrite: true, tile_pad: pad, ..Config::default() }
}

fn pipeline_fps(clip: &Path, out: &Path, model: &str, pad: u32, frames: usize) -> f64 {
    let cfg = config(model, pad);
    let mut up = Upscaler::new(&cfg).expect("model loads");
    let t = Instant::now();
    upscale::video::upscale_file(clip, out, &mut up, &cfg, &NoProgress).expect("pipeline runs");
    frames as f64 / t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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
    let pads: Vec<u32> = std::env::var("UPSCALE_BENCH_PADS")
        .unwrap_or_else(|_| "10,0".into())
        .split(',')
        .map(|p| p.trim().parse().expect("UPSCALE_BENCH_PADS: comma-separated pixel counts"))
        .collect();
    println!("pipeline benchmark: realesr-animevideov3 x4, {source} from 3 s, CPU, median of {reps}");
    for (w, h, frames) in [(160, 120, 48), (320, 240, 24)] {
        let clip = dir.path().join(format!("clip{w}.mp4"));
        // Real footage, away from the opening titles, scaled down; default x264 settings.
        ffmpeg(&[
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
        let pattern = dir.path().join(format!("f{w}_%03d.png"));
        ffmpeg(&["-i", clip.to_str().unwrap(), "-pix_fmt", "rgb24", pattern.to_str().unwrap()]);
        let pics: Vec<image::RgbImage> = (1..=frames)
            .map(|k| image::open(dir.path().join(format!("f{w}_{k:03}.png"))).expect("decoded frame").to_rgb8())
            .collect();

        for &pad in &pads {
            let up = Upscaler::new(&config("realesr-animevideov3", pad)).expect("model loads");
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
                std::thread::scope(|s| {
                    for (k, w) in workers.iter_mut().enumerate() {
                        let pics = &pics;
                        s.spawn(move || {
                            for p in pics.iter().skip(k).step_by(n) {
                                std::hint::black_box(w.upscale_rgb8(p).expect("model runs"));
                            }
                        });
                    }
                });
                model.push(frames as f64 / t.elapsed().as_secs_f64());
                codec.push(pipeline_fps(&clip, &out, "nearest", pad, frames));
                full.push(pipeline_fps(&clip, &out, "realesr-animevideov3", pad, frames));
            }
            let (model, codec, full) = (median(model), median(codec), median(full));
            println!(
                "{w}x{h} -> {}x{}, {frames} frames, tile pad {pad}: model only {model:.2} fps, \
                 decode+encode only {codec:.1} fps, pipeline {full:.2} fps, pipeline/model-only {:.3}",
                w * 4,
                h * 4,
                full / model
            );
        }
    }
}

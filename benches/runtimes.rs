//! ONNX Runtime fp32 (today's CPU path) against OpenVINO fp32, bf16 and int8 and what `auto`
//! picks, in one run: the model alone on a clip's decoded frames (the better of one all-core
//! session and the frame workers), the whole video pipeline on the clip, and a 1-megapixel photo
//! ×4 with each shipped network. Settings are interleaved and repeated (`UPSCALE_BENCH_REPS`,
//! default 2; medians), since the machine is shared. `tools/bench_yardstick.sh` drives it.
//!
//! - `UPSCALE_BENCH_CLIPS`: comma-separated clips (default samples/pan.mp4);
//! - `UPSCALE_BENCH_PHOTO`: a real photo, scaled to 1 MP here (default: a frame of tos.mp4);
//! - `UPSCALE_BENCH_NETWORKS`: networks for the photo (default: every one the registry ships);
//!   `UPSCALE_BENCH_PHOTO_REPS` (default 1).
//!
//! Prints one `runtimes …` line per figure: seconds or frames per second, the ratio to ONNX
//! Runtime fp32 measured in the same round, and PSNR against its output.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use upscale::config::Precision;
use upscale::model::openvino_choice::psnr;
use upscale::model::runtime::{Execution, Runtime};
use upscale::progress::NoProgress;
use upscale::{Config, Device, Engine, Planes};

const ORT_FP32: Execution = Execution { runtime: Runtime::OnnxRuntime, precision: Precision::Fp32 };

fn ffmpeg(args: &[&str]) {
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ffmpeg {args:?} failed");
}

fn list(var: &str, default: &str) -> Vec<String> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The settings compared: today's ONNX Runtime fp32 first (the base of every ratio), OpenVINO at
/// each precision the CPU and model allow, and `auto` as resolved on this machine.
fn settings(model: &str) -> Vec<(String, Option<Execution>)> {
    let ov = |precision| Some(Execution { runtime: Runtime::OpenVino, precision });
    let mut s = vec![("onnxruntime fp32".to_string(), Some(ORT_FP32)), ("openvino fp32".into(), ov(Precision::Fp32))];
    if upscale::model::openvino_choice::cpu_has_bf16() {
        s.push(("openvino bf16".into(), ov(Precision::Bf16)));
    }
    if upscale::model::resolve(model, None, Precision::Int8).is_ok() {
        s.push(("onnxruntime int8".into(), Some(Execution { runtime: Runtime::OnnxRuntime, precision: Precision::Int8 })));
        s.push(("openvino int8".into(), ov(Precision::Int8)));
    }
    s.push(("auto".into(), None));
    s
}

/// Which earlier setting `auto` resolves to on this machine, if one (then it is not run twice).
fn same_as_auto(cfg: &Config, sets: &[(String, Option<Execution>)]) -> Option<usize> {
    let auto = engine(cfg, None).execution();
    sets.iter().position(|(_, e)| e.is_some() && *e == auto)
}

fn engine(cfg: &Config, exec: Option<Execution>) -> Engine {
    match exec {
        Some(e) => Engine::with_execution(cfg, e),
        None => Engine::new(&Config { precision: Precision::Auto, ..cfg.clone() }),
    }
    .expect("model loads")
}

/// Model alone (best of one session and the workers, frames per second) and its outputs.
fn model_alone(cfg: &Config, exec: Option<Execution>, pics: &[image::RgbImage]) -> (f64, Vec<f32>, String) {
    let e = engine(cfg, exec);
    let what = e.execution().map_or("-".into(), |x| x.to_string());
    let mut up = e.upscaler(cfg).expect("settings");
    up.upscale_rgb8(&pics[0]).expect("warm-up");
    let t = Instant::now();
    let mut outs = Vec::new();
    for p in pics {
        outs.extend(up.upscale_rgb8(p).expect("runs").into_raw().into_iter().map(|b| b as f32 / 255.0));
    }
    let single = pics.len() as f64 / t.elapsed().as_secs_f64();
    let mut workers = up.frame_workers().expect("workers");
    let mut multi = 0.0;
    if !workers.is_empty() {
        for w in &mut workers {
            w.upscale_rgb8(&pics[0]).expect("warm-up");
        }
        let n = workers.len();
        let t = Instant::now();
        std::thread::scope(|sc| {
            for (k, w) in workers.iter_mut().enumerate() {
                sc.spawn(move || {
                    for p in pics.iter().skip(k).step_by(n) {
                        std::hint::black_box(w.upscale_rgb8(p).expect("runs"));
                    }
                });
            }
        });
        multi = pics.len() as f64 / t.elapsed().as_secs_f64();
    }
    (single.max(multi), outs, what)
}

fn pipeline(cfg: &Config, exec: Option<Execution>, clip: &Path, out: &Path, frames: usize) -> f64 {
    let e = engine(cfg, exec);
    let mut up = e.upscaler(cfg).expect("settings");
    let t = Instant::now();
    upscale::video::upscale_file(clip, out, &mut up, cfg, &NoProgress).expect("pipeline runs");
    frames as f64 / t.elapsed().as_secs_f64()
}

fn clips(dir: &Path, reps: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let default = root.join("samples/pan.mp4").display().to_string();
    let cfg = Config { scale: 4, device: Device::Cpu, overwrite: true, ..Config::default() };
    for (i, clip) in list("UPSCALE_BENCH_CLIPS", &default).iter().enumerate() {
        let pattern = dir.join(format!("c{i}_%05d.png"));
        ffmpeg(&["-i", clip, "-map", "0:v:0", "-pix_fmt", "rgb24", pattern.to_str().unwrap()]);
        let pics: Vec<image::RgbImage> = (1..)
            .map(|k| dir.join(format!("c{i}_{k:05}.png")))
            .take_while(|p| p.exists())
            .map(|p| image::open(p).expect("frame").to_rgb8())
            .collect();
        let (w, h) = pics[0].dimensions();
        let sets = settings(&cfg.model);
        let (mut model, mut pipe) = (vec![Vec::new(); sets.len()], vec![Vec::new(); sets.len()]);
        let (mut dbs, mut names) = (vec![f64::NAN; sets.len()], vec![String::new(); sets.len()]);
        let mut reference = Vec::new();
        let out = dir.join("out.mp4");
        let auto = same_as_auto(&cfg, &sets);
        for _ in 0..reps {
            for (k, (_, exec)) in sets.iter().enumerate() {
                if let Some(j) = auto.filter(|_| exec.is_none()) {
                    // `auto` resolved to a setting already timed in this round: its figures.
                    let (m, p, d, n) = (model[j].last().copied(), pipe[j].last().copied(), dbs[j], names[j].clone());
                    model[k].extend(m);
                    pipe[k].extend(p);
                    (dbs[k], names[k]) = (d, n);
                    continue;
                }
                let (fps, outs, what) = model_alone(&cfg, *exec, &pics);
                if k == 0 {
                    reference = outs;
                } else {
                    dbs[k] = psnr(&reference, &outs);
                }
                names[k] = what;
                model[k].push(fps);
                pipe[k].push(pipeline(&cfg, *exec, Path::new(clip), &out, pics.len()));
            }
        }
        let (m0, p0) = (median(model[0].clone()), median(pipe[0].clone()));
        for (k, (label, _)) in sets.iter().enumerate() {
            let (m, p) = (median(model[k].clone()), median(pipe[k].clone()));
            println!(
                "runtimes clip={} {w}x{h} frames={} setting=\"{label}\" ran=\"{}\" model_fps={m:.3} model_x={:.2} \
                 pipeline_fps={p:.3} pipeline_x={:.2} db={:.1}",
                Path::new(clip).file_name().unwrap().to_string_lossy(),
                pics.len(),
                names[k],
                m / m0,
                p / p0,
                if k == 0 { f64::INFINITY } else { dbs[k] }
            );
            println!(
                "row clip | {} {w}x{h} ({} frames) | {label} ({}) | {m:.2} | {:.2} | {p:.2} | {:.2} | {} |",
                Path::new(clip).file_name().unwrap().to_string_lossy(),
                pics.len(),
                names[k],
                m / m0,
                p / p0,
                if k == 0 { "-".to_string() } else { format!("{:.1} dB", dbs[k]) }
            );
        }
    }
}

fn photo(dir: &Path, reps: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = match std::env::var("UPSCALE_BENCH_PHOTO") {
        Ok(p) => p,
        Err(_) => {
            let p = dir.join("photo.png");
            let tos = root.join("../shared/media/tos.mp4");
            ffmpeg(&["-ss", "6", "-i", tos.to_str().unwrap(), "-frames:v", "1", p.to_str().unwrap()]);
            p.display().to_string()
        }
    };
    // 1 megapixel (1152x864 = 0.995 MP... so 1155x866), aspect 4:3.
    let img = image::open(&path).expect("photo").resize_exact(1155, 866, image::imageops::FilterType::Lanczos3);
    let pic = Planes::from_buffer(&img.to_rgb8());
    // Each shipped network, the smallest first (the largest takes minutes a setting).
    let mut shipped: Vec<_> = upscale::model::list(None).into_iter().filter(|m| m.scales != "any" && m.present).collect();
    shipped.sort_by_key(|m| m.size);
    let nets: Vec<String> = match std::env::var("UPSCALE_BENCH_NETWORKS") {
        Ok(_) => list("UPSCALE_BENCH_NETWORKS", ""),
        Err(_) => shipped.into_iter().map(|m| m.name).collect(),
    };
    for net in nets {
        let cfg = Config { model: net.clone(), scale: 4, device: Device::Cpu, ..Config::default() };
        let sets = settings(&net);
        let mut secs = vec![Vec::new(); sets.len()];
        let (mut dbs, mut names) = (vec![f64::NAN; sets.len()], vec![String::new(); sets.len()]);
        let mut reference = Vec::new();
        let auto = same_as_auto(&cfg, &sets);
        for _ in 0..reps {
            for (k, (_, exec)) in sets.iter().enumerate() {
                if let Some(j) = auto.filter(|_| exec.is_none()) {
                    let s = secs[j].last().copied();
                    secs[k].extend(s);
                    (dbs[k], names[k]) = (dbs[j], names[j].clone());
                    continue;
                }
                let e = engine(&cfg, *exec);
                names[k] = e.execution().map_or("-".into(), |x| x.to_string());
                let mut up = e.upscaler(&cfg).expect("settings");
                let t = Instant::now();
                let out = up.upscale_with(&pic, &NoProgress).expect("runs");
                secs[k].push(t.elapsed().as_secs_f64());
                if k == 0 {
                    reference = out.data;
                } else {
                    dbs[k] = psnr(&reference, &out.data);
                }
            }
        }
        let s0 = median(secs[0].clone());
        for (k, (label, _)) in sets.iter().enumerate() {
            let s = median(secs[k].clone());
            println!(
                "runtimes photo=1MP network={net} setting=\"{label}\" ran=\"{}\" seconds={s:.2} x={:.2} db={:.1}",
                names[k],
                s0 / s,
                if k == 0 { f64::INFINITY } else { dbs[k] }
            );
            println!(
                "row photo | {net} | {label} ({}) | {s:.2} | {:.2} | {} |",
                names[k],
                s0 / s,
                if k == 0 { "-".to_string() } else { format!("{:.1} dB", dbs[k]) }
            );
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let reps = std::env::var("UPSCALE_BENCH_REPS").map_or(2, |r| r.parse().expect("UPSCALE_BENCH_REPS"));
    let photo_reps = std::env::var("UPSCALE_BENCH_PHOTO_REPS").map_or(1, |r| r.parse().expect("PHOTO_REPS"));
    let parts = list("UPSCALE_BENCH_PARTS", "clips,photo");
    if parts.iter().any(|p| p == "clips") {
        clips(dir.path(), reps);
    }
    if parts.iter().any(|p| p == "photo") {
        photo(dir.path(), photo_reps);
    }
}

//! ONNX Runtime fp32 (today's CPU path) against OpenVINO fp32, bf16 and int8 and what `auto`
//! picks, in one run: the model alone on a clip's decoded frames (on the frame workers, as the
//! pipeline runs it), the whole video pipeline on the clip, and a photo ×4 with each shipped
//! network (1 megapixel for the default network; the large ones on a smaller crop, given per
//! megapixel). Settings are interleaved and repeated (`UPSCALE_BENCH_REPS`, default 2; medians),
//! since the machine is shared; CPU seconds per frame are printed beside the wall clock, as they
//! depend less on the neighbours' load. `tools/bench_yardstick.sh` drives it.
//!
//! - `UPSCALE_BENCH_CLIPS`: comma-separated clips (default samples/pan.mp4);
//! - `UPSCALE_BENCH_PARTS`: `clips,photo` (default both);
//! - `UPSCALE_BENCH_PHOTO_MP` (default 1.0) and `UPSCALE_BENCH_LARGE_MP` (default 0.1): the
//!   photo's size for the default networks (pictures and videos) and for the others (a frame of
//!   tos.mp4, scaled);
//! - `UPSCALE_BENCH_NETWORKS`: networks for the photo (default: every one the registry ships);
//!   `UPSCALE_BENCH_PHOTO_REPS` rounds for it (default: `UPSCALE_BENCH_REPS`).
//!
//! Prints one `row …` line per figure (a Markdown table row): figures, the ratio to ONNX Runtime
//! fp32 in the same rounds, and PSNR against its output.

use std::path::Path;
use std::time::Instant;

use upscale::config::Precision;
use upscale::internals::model::openvino_choice::psnr;
use upscale::internals::model::runtime::{Execution, Runtime};
use upscale::progress::NoProgress;
use upscale::{Config, Device, Engine, Planes};
use upscale_test_support::bench::{cpu_seconds, list, median, number};
use upscale_test_support::ffmpeg;

const ORT_FP32: Execution = Execution { runtime: Runtime::OnnxRuntime, precision: Precision::Fp32 };

/// Wall seconds and CPU seconds of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (t, c) = (Instant::now(), cpu_seconds());
    let v = f();
    (v, t.elapsed().as_secs_f64(), cpu_seconds() - c)
}

/// The settings compared: today's ONNX Runtime fp32 first (the base of every ratio), OpenVINO at
/// each precision the CPU and model allow, and `auto` as resolved on this machine (`None`).
fn settings(model: &str) -> Vec<(String, Option<Execution>)> {
    let ov = |precision| Some(Execution { runtime: Runtime::OpenVino, precision });
    let mut s = vec![("onnxruntime fp32".to_string(), Some(ORT_FP32)), ("openvino fp32".into(), ov(Precision::Fp32))];
    if upscale::internals::model::openvino_choice::cpu_has_bf16() {
        s.push(("openvino bf16".into(), ov(Precision::Bf16)));
    }
    if upscale::internals::model::resolve(model, None, Precision::Int8).is_ok() {
        s.push(("openvino int8".into(), ov(Precision::Int8)));
    }
    s.push(("auto".into(), None));
    s
}

fn engine(cfg: &Config, exec: Option<Execution>) -> Engine {
    match exec {
        Some(e) => Engine::with_execution(cfg, e),
        None => Engine::new(&Config { precision: Precision::Auto, ..cfg.clone() }),
    }
    .expect("model loads")
}

/// Which earlier setting `auto` resolves to on this machine, if one (then it is not run twice).
fn same_as_auto(cfg: &Config, sets: &[(String, Option<Execution>)]) -> Option<usize> {
    let auto = engine(cfg, None).execution();
    sets.iter().position(|(_, e)| e.is_some() && *e == auto)
}

/// One setting's figures over the rounds.
#[derive(Clone, Default)]
struct Figures {
    ran: String,
    a: Vec<f64>,
    a_cpu: Vec<f64>,
    b: Vec<f64>,
    b_cpu: Vec<f64>,
    db: f64,
}

/// The model alone on the frame workers (as the pipeline runs it): frames per second, CPU
/// seconds per frame, and the frames it made.
fn model_alone(cfg: &Config, e: &Engine, pics: &[image::RgbImage]) -> (f64, f64, Vec<f32>) {
    let up = e.upscaler(cfg).expect("settings");
    let mut workers = up.frame_workers().expect("workers");
    if workers.is_empty() {
        workers.push(up);
    }
    for w in &mut workers {
        w.upscale_rgb8(&pics[0]).expect("warm-up");
    }
    let n = workers.len();
    let (outs, wall, cpu) = timed(|| {
        std::thread::scope(|sc| {
            let handles: Vec<_> = workers
                .iter_mut()
                .enumerate()
                .map(|(k, w)| {
                    sc.spawn(move || {
                        pics.iter().skip(k).step_by(n).map(|p| w.upscale_rgb8(p).expect("runs")).collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("worker")).collect::<Vec<_>>()
        })
    });
    let mut frames = Vec::new();
    for i in 0..pics.len() {
        frames.extend(outs[i % n][i / n].as_raw().iter().map(|&b| b as f32 / 255.0));
    }
    (pics.len() as f64 / wall, cpu / pics.len() as f64, frames)
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
        let sets = settings(cfg.model_name());
        let auto = same_as_auto(&cfg, &sets);
        let mut f = vec![Figures::default(); sets.len()];
        let mut reference = Vec::new();
        let out = dir.join("out.mp4");
        for _ in 0..reps {
            for (k, (_, exec)) in sets.iter().enumerate() {
                if let Some(j) = auto.filter(|_| exec.is_none()) {
                    // `auto` resolved to a setting timed in this round: its figures.
                    f[k] = Figures { ran: format!("= {}", f[j].ran), ..f[j].clone() };
                    continue;
                }
                let e = engine(&cfg, *exec);
                f[k].ran = e.execution().map_or("-".into(), |x| x.to_string());
                let (fps, cpu, frames) = model_alone(&cfg, &e, &pics);
                if k == 0 {
                    reference = frames;
                } else {
                    f[k].db = psnr(&reference, &frames);
                }
                f[k].a.push(fps);
                f[k].a_cpu.push(cpu);
                let mut up = e.upscaler(&cfg).expect("settings");
                let (_, wall, cpu) = timed(|| {
                    upscale::internals::video::upscale_file(Path::new(clip), &out, &mut up, &cfg, &NoProgress)
                });
                f[k].b.push(pics.len() as f64 / wall);
                f[k].b_cpu.push(cpu / pics.len() as f64);
            }
        }
        let name = Path::new(clip).file_name().unwrap().to_string_lossy().into_owned();
        let (m0, p0) = (median(f[0].a.clone()), median(f[0].b.clone()));
        let (mc0, pc0) = (median(f[0].a_cpu.clone()), median(f[0].b_cpu.clone()));
        for (k, (label, _)) in sets.iter().enumerate() {
            let (m, p) = (median(f[k].a.clone()), median(f[k].b.clone()));
            let (mc, pc) = (median(f[k].a_cpu.clone()), median(f[k].b_cpu.clone()));
            println!(
                "row clip | {name} {w}x{h} ({} frames) | {label} ({}) | {m:.2} ({:.2}×) | {mc:.2} ({:.2}×) | {p:.2} ({:.2}×) | {pc:.2} ({:.2}×) | {} |",
                pics.len(),
                f[k].ran,
                m / m0,
                mc0 / mc,
                p / p0,
                pc0 / pc,
                if k == 0 { "-".to_string() } else { format!("{:.1} dB", f[k].db) }
            );
        }
    }
}

fn photo(dir: &Path, reps: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = dir.join("photo.png");
    let tos = root.join("../shared/media/tos.mp4");
    ffmpeg(&["-ss", "6", "-i", tos.to_str().unwrap(), "-frames:v", "1", path.to_str().unwrap()]);
    let source = image::open(&path).expect("photo");
    let mut shipped: Vec<_> =
        upscale::model::list(None).into_iter().filter(|m| !m.scales.is_empty() && m.present).collect();
    shipped.sort_by_key(|m| m.size);
    let nets: Vec<String> = match std::env::var("UPSCALE_BENCH_NETWORKS") {
        Ok(_) => list("UPSCALE_BENCH_NETWORKS", ""),
        Err(_) => shipped.into_iter().map(|m| m.name).collect(),
    };
    for net in nets {
        // The defaults (pictures: realesr-general-x4v3; videos: realesr-animevideov3) at full size.
        let mp = if net == upscale::config::DEFAULT_PICTURE_MODEL || net == upscale::model::DEFAULT_MODEL {
            number("UPSCALE_BENCH_PHOTO_MP", 1.0)
        } else {
            number("UPSCALE_BENCH_LARGE_MP", 0.1)
        };
        // Aspect 4:3 at `mp` megapixels.
        let w = (mp * 1e6 * 4.0 / 3.0).sqrt().round() as u32;
        let h = (w as f64 * 0.75).round() as u32;
        let pic = Planes::from_buffer(&source.resize_exact(w, h, image::imageops::FilterType::Lanczos3).to_rgb8());
        let mp = (w * h) as f64 / 1e6;
        let cfg = Config { model: Some(net.clone()), scale: 4, device: Device::Cpu, ..Config::default() };
        let sets = settings(&net);
        let auto = same_as_auto(&cfg, &sets);
        let mut f = vec![Figures::default(); sets.len()];
        let mut reference = Vec::new();
        for _ in 0..reps {
            for (k, (_, exec)) in sets.iter().enumerate() {
                if let Some(j) = auto.filter(|_| exec.is_none()) {
                    f[k] = Figures { ran: format!("= {}", f[j].ran), ..f[j].clone() };
                    continue;
                }
                let e = engine(&cfg, *exec);
                f[k].ran = e.execution().map_or("-".into(), |x| x.to_string());
                let mut up = e.upscaler(&cfg).expect("settings");
                let (out, wall, cpu) = timed(|| up.upscale_with(&pic, &NoProgress).expect("runs"));
                f[k].a.push(wall / mp);
                f[k].a_cpu.push(cpu / mp);
                if k == 0 {
                    reference = out.data;
                } else {
                    f[k].db = psnr(&reference, &out.data);
                }
            }
        }
        let (s0, c0) = (median(f[0].a.clone()), median(f[0].a_cpu.clone()));
        for (k, (label, _)) in sets.iter().enumerate() {
            let (s, c) = (median(f[k].a.clone()), median(f[k].a_cpu.clone()));
            println!(
                "row photo | {net} ({w}x{h}) | {label} ({}) | {s:.1} ({:.2}×) | {c:.1} ({:.2}×) | {} |",
                f[k].ran,
                s0 / s,
                c0 / c,
                if k == 0 { "-".to_string() } else { format!("{:.1} dB", f[k].db) }
            );
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let reps = number("UPSCALE_BENCH_REPS", 2.0) as usize;
    let parts = list("UPSCALE_BENCH_PARTS", "clips,photo");
    if parts.iter().any(|p| p == "clips") {
        clips(dir.path(), reps);
    }
    if parts.iter().any(|p| p == "photo") {
        photo(dir.path(), number("UPSCALE_BENCH_PHOTO_REPS", reps as f64) as usize);
    }
}

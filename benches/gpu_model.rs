//! Model-only throughput on one device, no FFmpeg, no tiling: frames/s and achieved TFLOP/s of
//! realesr-animevideov3 ×4 and realesrgan-x4plus at video sizes, fp32 and fp16, through the
//! bound fixed-shape path (`Network::run_fixed`) with one or two frames in flight (one session
//! each), against a matrix-multiply peak measured on the same card for the ratio. Then the
//! out-of-memory retry under a forced memory cap. Built for `tools/gpu_run.sh`; runs on the CPU
//! at small sizes for its dry run.
//!
//! Settings (environment): UPSCALE_BENCH_DEVICE (cpu, cuda[:N]; default cuda),
//! UPSCALE_BENCH_MODELS, UPSCALE_BENCH_PRECISIONS (fp32,fp16), UPSCALE_BENCH_SIZES
//! (720x480,1920x1080), UPSCALE_BENCH_INFLIGHT (1,2), UPSCALE_BENCH_FRAMES (least timed frames,
//! 5), UPSCALE_BENCH_SECONDS (least timed seconds, 2), UPSCALE_BENCH_PEAK_TFLOPS (the measured
//! peak), UPSCALE_BENCH_JSON (a file for one JSON line per row), UPSCALE_BENCH_OOM
//! (`LIMIT_BYTES:WxH`, the retry check; empty skips it).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use upscale::config::Precision;
use upscale::internals::model::{self, arena, network, Network, Source};
use upscale::{Config, Device, Engine, Planes};
use upscale_test_support::bench::list;

/// FLOPs per input pixel, as printed by tools/ncnn2onnx.py (models/README.md).
fn flops_per_pixel(model: &str) -> u64 {
    match model {
        "realesr-animevideov3" => 1_241_760,
        "realesrgan-x4plus" => 35_892_400,
        m => panic!("no FLOP count for {m}"),
    }
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}

/// The ×4 network file for a model and precision: built in, or in the model folders.
fn source(model: &str, precision: Precision) -> Result<Source, String> {
    if model == model::DEFAULT_MODEL && precision == Precision::Fp32 {
        let Ok(model::ModelSpec::Net { variants, .. }) = model::resolve(model, None, precision) else {
            return Err("built-in model missing".into());
        };
        return Ok(variants.into_iter().find(|v| v.0 == Some(4)).expect("x4 built in").1);
    }
    let stem = if model == model::DEFAULT_MODEL { format!("{model}-x4") } else { model.to_string() };
    let file = if precision == Precision::Fp16 { format!("{stem}-fp16.onnx") } else { format!("{stem}.onnx") };
    let dirs = model::model_dirs(None);
    dirs.iter().map(|d| d.join(&file)).find(|p| p.is_file()).map(Source::File).ok_or_else(|| {
        format!("{file} not in {}", dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "))
    })
}

fn photo(w: u32, h: u32) -> Planes {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/coffee.png");
    let img = image::open(path).expect("samples/coffee.png").resize_exact(w, h, image::imageops::FilterType::Lanczos3);
    Planes::from_buffer(&img.to_rgb8())
}

fn psnr(a: &Planes, b: &Planes) -> f64 {
    let mse = a.data.iter().zip(&b.data).map(|(x, y)| ((x - y) as f64).powi(2)).sum::<f64>() / a.data.len() as f64;
    10.0 * (1.0 / mse.max(1e-20)).log10()
}

struct Row {
    json: String,
    text: String,
}

/// One model, precision, size and number of frames in flight.
fn measure(
    model: &str,
    precision: Precision,
    (w, h): (u32, u32),
    inflight: usize,
    device: Device,
    refs: &mut HashMap<(String, u32, u32), Planes>,
) -> Result<Row, String> {
    let src = source(model, precision)?;
    let (frames_min, secs_min): (u64, f64) = (
        env("UPSCALE_BENCH_FRAMES", "5").parse().map_err(|e| format!("UPSCALE_BENCH_FRAMES: {e}"))?,
        env("UPSCALE_BENCH_SECONDS", "2").parse().map_err(|e| format!("UPSCALE_BENCH_SECONDS: {e}"))?,
    );
    let threads = if device == Device::Cpu && inflight > 1 {
        std::thread::available_parallelism().map_or(1, |n| n.get()) / inflight
    } else {
        0
    };
    let t0 = Instant::now();
    let mut nets = (0..inflight)
        .map(|_| Network::load(model, &src, device, threads, Some(4)).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let load_s = t0.elapsed().as_secs_f64();
    // Two different real pictures, alternated, so no run sees the same input twice in a row.
    let inputs = [photo(w, h), photo(w + 1, h + 1)];
    let inputs = [inputs[0].clone(), crop(&inputs[1], w, h)];
    let t1 = Instant::now();
    let first = nets[0].run_fixed(&inputs[0], w, h).map_err(|e| e.to_string())?;
    let first_s = t1.elapsed().as_secs_f64();
    let pinned = nets[0].pinned_buffers();
    for n in &mut nets[1..] {
        n.run_fixed(&inputs[1], w, h).map_err(|e| e.to_string())?;
    }
    let key = (model.to_string(), w, h);
    let vs_fp32 = match (precision, refs.get(&key)) {
        (Precision::Fp32, _) => {
            refs.insert(key, first);
            None
        }
        (_, Some(r)) => Some(psnr(&first, r)),
        _ => None,
    };
    // Warm-up, then timed frames: each worker takes frames until both bounds are passed.
    let done = AtomicU64::new(0);
    let start = Instant::now();
    let errors: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = nets
            .iter_mut()
            .enumerate()
            .map(|(i, net)| {
                let (done, inputs) = (&done, &inputs);
                s.spawn(move || -> Result<(), String> {
                    net.run_fixed(&inputs[i % 2], w, h).map_err(|e| e.to_string())?;
                    loop {
                        let k = done.load(Ordering::Relaxed);
                        if k >= frames_min && start.elapsed().as_secs_f64() >= secs_min {
                            return Ok(());
                        }
                        net.run_fixed(&inputs[(k % 2) as usize], w, h).map_err(|e| e.to_string())?;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().expect("worker").err()).collect()
    });
    if let Some(e) = errors.into_iter().next() {
        return Err(e);
    }
    let secs = start.elapsed().as_secs_f64();
    let frames = done.load(Ordering::Relaxed);
    let fps = frames as f64 / secs;
    let flops = flops_per_pixel(model) * (w * h) as u64;
    let tflops = fps * flops as f64 / 1e12;
    let peak: Option<f64> = std::env::var("UPSCALE_BENCH_PEAK_TFLOPS").ok().and_then(|v| v.parse().ok());
    let ratio = peak.map(|p| tflops / p);
    let opt = |v: Option<f64>, d: usize| v.map_or("null".to_string(), |v| format!("{v:.d$}"));
    let p = format!("{precision:?}").to_lowercase();
    let options = std::env::var("UPSCALE_CUDA_OPTIONS").unwrap_or_default().replace('"', "'");
    let json = format!(
        "{{\"model\":\"{model}\",\"precision\":\"{p}\",\"width\":{w},\"height\":{h},\"device\":\"{device}\",\
         \"inflight\":{inflight},\"frames\":{frames},\"seconds\":{secs:.3},\"fps\":{fps:.4},\
         \"flops_per_frame\":{flops},\"tflops\":{tflops:.4},\"peak_tflops\":{},\"ratio_to_peak\":{},\
         \"load_s\":{load_s:.3},\"first_run_s\":{first_s:.3},\"psnr_vs_fp32_db\":{},\"cuda_options\":\"{options}\",\"pinned_buffers\":{pinned}}}",
        opt(peak, 2),
        opt(ratio, 4),
        opt(vs_fp32, 2)
    );
    let text = format!(
        "{model:<22} {p:<5} {w:>5}x{h:<5} {inflight:>2} {frames:>6} {fps:>9.3} {tflops:>9.4} {:>7} {load_s:>7.2} {first_s:>8.2} {:>8}",
        ratio.map_or("-".into(), |r| format!("{:.1}%", r * 100.0)),
        vs_fp32.map_or("-".into(), |d| format!("{d:.1}"))
    );
    Ok(Row { json, text })
}

/// The top-left `w`×`h` of `p`.
fn crop(p: &Planes, w: u32, h: u32) -> Planes {
    let mut o = Planes::new(w, h, 3);
    for c in 0..3 {
        for y in 0..h as usize {
            let s = &p.plane(c)[y * p.width as usize..][..w as usize];
            o.plane_mut(c)[y * w as usize..][..w as usize].copy_from_slice(s);
        }
    }
    o
}

/// The retry check: a whole-picture run under a memory cap must come back complete with a
/// smaller tile, never an error or a dropped frame.
fn oom_check(spec: &str, device: Device) -> Row {
    let parsed = spec.split_once(':').and_then(|(l, s)| {
        let (w, h) = s.split_once('x')?;
        Some((l.parse::<u64>().ok()?, w.parse::<u32>().ok()?, h.parse::<u32>().ok()?))
    });
    let Some((limit, w, h)) = parsed else {
        return Row { json: format!("{{\"oom_check\":\"bad spec {spec}\"}}"), text: format!("oom: bad spec {spec}") };
    };
    arena::set_limit(limit);
    let cfg = Config { device, tile: 0, precision: Precision::Fp32, ..Config::default() };
    let t0 = Instant::now();
    let result = Engine::new(&cfg).and_then(|e| {
        let mut u = e.upscaler(&cfg)?;
        let out = u.upscale(&photo(w, h))?;
        Ok((out, u.tile_size(w, h)))
    });
    let secs = t0.elapsed().as_secs_f64();
    let (ok, tile, msg) = match result {
        Ok((out, tile)) => {
            (out.data.iter().all(|v| v.is_finite()) && (out.width, out.height) == (w * 4, h * 4), tile, String::new())
        }
        Err(e) => (false, 0, format!("{} (out of memory: {})", e, network::is_out_of_memory(&e))),
    };
    let retried = ok && tile > 0;
    Row {
        json: format!(
            "{{\"oom_check\":{{\"limit_bytes\":{limit},\"width\":{w},\"height\":{h},\"device\":\"{device}\",\
             \"complete\":{ok},\"retried_with_tile\":{tile},\"seconds\":{secs:.2},\"error\":\"{}\"}}}}",
            msg.replace('\\', "\\\\").replace('"', "'")
        ),
        text: format!(
            "oom retry: cap {} MiB, {w}x{h} whole picture -> {}",
            limit >> 20,
            if retried {
                format!("complete with tile {tile} ({secs:.1} s)")
            } else {
                format!("FAILED: tile {tile} {msg}")
            }
        ),
    }
}

fn main() {
    let device: Device = match env("UPSCALE_BENCH_DEVICE", "cuda").parse() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: UPSCALE_BENCH_DEVICE: {e}");
            std::process::exit(2);
        }
    };
    let json_path = std::env::var_os("UPSCALE_BENCH_JSON").map(PathBuf::from);
    let mut json = json_path.map(|p| std::fs::File::create(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())));
    let mut emit = |r: &Row| {
        println!("{}", r.text);
        if let Some(f) = json.as_mut() {
            writeln!(f, "{}", r.json).expect("write JSON");
        }
    };
    println!(
        "{:<22} {:<5} {:>11} {:>2} {:>6} {:>9} {:>9} {:>7} {:>7} {:>8} {:>8}",
        "model", "prec", "input", "n", "frames", "frames/s", "TFLOP/s", "of peak", "load s", "first s", "dB/fp32"
    );
    // The retry check first: it must not be the part a time limit cuts off.
    let oom = env("UPSCALE_BENCH_OOM", "");
    if !oom.is_empty() {
        emit(&oom_check(&oom, device));
        arena::set_limit(0);
    }
    let mut refs = HashMap::new();
    let mut failed = false;
    for size in list("UPSCALE_BENCH_SIZES", "720x480,1920x1080") {
        let Some((w, h)) = size.split_once('x').and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?))) else {
            eprintln!("error: UPSCALE_BENCH_SIZES: '{size}' is not WxH");
            std::process::exit(2);
        };
        for model in list("UPSCALE_BENCH_MODELS", "realesr-animevideov3,realesrgan-x4plus") {
            for p in list("UPSCALE_BENCH_PRECISIONS", "fp32,fp16") {
                let precision = match p.as_str() {
                    "fp32" => Precision::Fp32,
                    "fp16" => Precision::Fp16,
                    _ => {
                        eprintln!("error: UPSCALE_BENCH_PRECISIONS: '{p}' (fp32 or fp16)");
                        std::process::exit(2);
                    }
                };
                for n in list("UPSCALE_BENCH_INFLIGHT", "1,2") {
                    let n: usize = n.parse().unwrap_or(1).max(1);
                    match measure(&model, precision, (w, h), n, device, &mut refs) {
                        Ok(r) => emit(&r),
                        Err(e) => {
                            failed = true;
                            let msg = e.replace('\\', "\\\\").replace('"', "'");
                            emit(&Row {
                                json: format!(
                                    "{{\"model\":\"{model}\",\"precision\":\"{p}\",\"width\":{w},\"height\":{h},\
                                     \"inflight\":{n},\"error\":\"{msg}\"}}"
                                ),
                                text: format!("{model:<22} {p:<5} {w:>5}x{h:<5} {n:>2} error: {e}"),
                            });
                        }
                    }
                }
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

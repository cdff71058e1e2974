//! Model-only CPU throughput against the CPU's peak: every installed family's largest network
//! at the precision `auto` picks on this machine (or `UPSCALE_BENCH_PRECISIONS`, e.g.
//! `auto,fp32,int8`), one run on a real photo, no tiling, no I/O. Prints, per network, the
//! runtime and precision, milliseconds per run (median of at least 5), the TFLOP/s it reaches
//! (its FLOPs per input pixel from models/families.json, tools/flops.py) and its share of this
//! CPU's peak for that precision: cores × clock × operations per core per cycle
//! ([`ops_per_cycle`]).
//!
//! `cargo bench --bench model` (`UPSCALE_BENCH_FAMILIES=a,b` for some only).

use std::time::Instant;

use upscale::config::Precision;
use upscale::internals::model::openvino_choice::{cpu_flags, cpu_name};
use upscale::internals::model::runtime::Runtime;
use upscale::internals::model::{self, families, ModelSpec, Network};
use upscale::{Config, Device, Engine, Planes};

/// Operations (a multiply-add counted as two) one core completes per cycle at `precision`, for
/// this CPU's `flags`, as issue 29 states them: AMX tiles bf16 1024, int8 2048; AVX-512 fp32 64
/// (two 512-bit FMA units), bf16 128 (AVX512_BF16), int8 256 (VNNI); AVX2 alone fp32 32, int8
/// 64. AMD's Zen 4 runs AVX-512 on 256-bit pipes but boosts above the clock /proc/cpuinfo names,
/// so there these are a bound, not a promise.
fn ops_per_cycle(precision: Precision, flags: &[String]) -> f64 {
    let has = |f: &str| flags.iter().any(|x| x == f);
    let wide = if has("avx512f") { 2.0 } else { 1.0 };
    match precision {
        Precision::Bf16 if has("amx_bf16") => 1024.0,
        Precision::Int8 if has("amx_int8") => 2048.0,
        Precision::Bf16 => 64.0 * wide,
        Precision::Int8 if has("avx512_vnni") || has("avx_vnni") => 128.0 * wide,
        Precision::Int8 => 64.0,
        _ => 32.0 * wide,
    }
}

/// The clock in GHz as /proc/cpuinfo reports it (a VM reports its nominal clock).
fn ghz() -> f64 {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split_once(':'))
        .and_then(|(_, v)| v.trim().parse::<f64>().ok())
        .map_or(f64::NAN, |mhz| mhz / 1000.0)
}

fn photo(side: u32) -> Planes {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/coffee.png");
    let img =
        image::open(path).expect("samples/coffee.png").resize_exact(side, side, image::imageops::FilterType::Lanczos3);
    Planes::from_buffer(&img.to_rgb8())
}

/// A side for which one run takes about a second or less (and the tile-sized shapes AMX likes).
fn side_for(flops: u64) -> u32 {
    match flops {
        0..=3_000_000 => 256,
        3_000_001..=15_000_000 => 128,
        _ => 96,
    }
}

fn main() {
    let precisions: Vec<Precision> = std::env::var("UPSCALE_BENCH_PRECISIONS")
        .unwrap_or_else(|_| "auto".into())
        .split(',')
        .map(|p| p.trim().parse().expect("precision: auto, fp32, bf16 or int8"))
        .collect();
    let only = std::env::var("UPSCALE_BENCH_FAMILIES").unwrap_or_default();
    let flags = cpu_flags();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let clock = ghz();
    let shown: Vec<&str> = ["avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"]
        .into_iter()
        .filter(|f| flags.iter().any(|x| x == f))
        .collect();
    println!("model bench: {} ({cores} cores at {clock:.2} GHz; {})", cpu_name(), shown.join(" "));
    println!("family                     scale  execution          side      ms  TFLOP/s  peak TFLOP/s  share");
    for fam in families() {
        if !only.is_empty() && !only.split(',').any(|n| n == fam.name) {
            continue;
        }
        let scale = fam.scales().into_iter().max().unwrap_or(4);
        let Some(variant) = fam.variants.iter().filter(|v| v.scale == scale).min_by_key(|v| v.denoise.abs()) else {
            continue;
        };
        for &asked in &precisions {
            if asked == Precision::Int8 && !fam.int8 {
                continue;
            }
            let cfg = Config {
                model: Some(fam.name.into()),
                scale,
                denoise: variant.denoise,
                device: Device::Cpu,
                precision: asked,
                tile: 64,
                ..Config::default()
            };
            let engine = match Engine::new(&cfg) {
                Ok(e) => e,
                Err(e) => {
                    println!("{:26} x{scale}  not run: {}", fam.name, e.report());
                    continue;
                }
            };
            let execution = engine.execution().expect("a network");
            let files = if execution.precision == Precision::Int8 { Precision::Int8 } else { Precision::Fp32 };
            let ModelSpec::Net { variants, .. } =
                model::resolve_level(fam.name, variant.denoise, None, files).expect("resolved above")
            else {
                unreachable!("a network")
            };
            let (_, src) = variants.into_iter().find(|v| v.0 == Some(scale)).expect("the largest scale");
            let mut net = Network::load_with(fam.name, &src, Device::Cpu, 0, Some(scale), execution).expect("loads");
            let side = side_for(variant.flops);
            let input = photo(side);
            net.run(&input).expect("warm-up run");
            let mut times = Vec::new();
            let start = Instant::now();
            while times.len() < 5 || (times.len() < 20 && start.elapsed().as_secs_f64() < 3.0) {
                let t = Instant::now();
                net.run(&input).expect("runs");
                times.push(t.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            let tflops = variant.flops as f64 * (side * side) as f64 / median / 1e12;
            let peak = cores as f64 * clock * 1e9 * ops_per_cycle(execution.precision, &flags) / 1e12;
            let runtime = if execution.runtime == Runtime::OpenVino { "OpenVINO" } else { "ONNX Runtime" };
            println!(
                "{:26} x{scale}  {:18} {side:4} {:7.1} {tflops:8.3} {peak:13.3} {:5.1} %",
                fam.name,
                format!("{runtime} {}", execution.precision),
                median * 1e3,
                100.0 * tflops / peak
            );
        }
    }
}

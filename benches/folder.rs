//! Folder throughput against the model alone (issue 12's goal: ≥ 0.9): the same small pictures
//! (160×120 frames of ../shared/media/tos.mp4) upscaled ×4 by `jobs::run_all` (decode, upscale
//! on the engine's frame workers, PNG encode, rename) and by the frame workers alone on pictures
//! decoded beforehand, in the same run. Prints pictures per second and the ratio.
//! `UPSCALE_BENCH_IMAGES` sets the count (default 48).

use std::path::Path;
use std::time::Instant;

use upscale::jobs::{self, Job, Kind};
use upscale::progress::NoProgress;
use upscale::{Config, Device, Engine};

fn main() {
    let n: usize = std::env::var("UPSCALE_BENCH_IMAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(48);
    let media = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/media/tos.mp4");
    let dir = tempfile::tempdir().expect("temp dir");
    let pattern = dir.path().join("in%03d.png");
    let st = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-ss", "3", "-i"])
        .arg(&media)
        .args(["-vf", "scale=160:120", "-frames:v", &n.to_string()])
        .arg(&pattern)
        .status()
        .expect("ffmpeg runs");
    assert!(st.success(), "frames from {}", media.display());
    let cfg = Config { scale: 4, device: Device::Cpu, overwrite: true, ..Config::default() };
    let engines = upscale::Engines::holding(Engine::new(&cfg).expect("model loads"));
    let engine = engines.get(&cfg, &NoProgress).expect("loaded");
    let inputs: Vec<_> = (1..=n).map(|k| dir.path().join(format!("in{k:03}.png"))).collect();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out dir");
    let list: Vec<Job> = inputs
        .iter()
        .map(|i| Job {
            input: i.clone(),
            output: out.join(i.file_name().expect("name")),
            kind: Kind::Image,
            settings: cfg.clone(),
            create_dirs: false,
        })
        .collect();
    let pics: Vec<_> =
        inputs.iter().map(|p| upscale::internals::still::load(p, 1 << 28).expect("decodes").rgb).collect();
    let up = engine.upscaler(&cfg).expect("settings");
    let mut workers = up.frame_workers().expect("workers load");
    if workers.is_empty() {
        workers.push(up);
    }
    for w in &mut workers {
        w.upscale(&pics[0]).expect("warm-up");
    }
    let (mut model, mut folder) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = Instant::now();
        let k = workers.len();
        std::thread::scope(|s| {
            for (i, w) in workers.iter_mut().enumerate() {
                let pics = &pics;
                s.spawn(move || {
                    for p in pics.iter().skip(i).step_by(k) {
                        std::hint::black_box(w.upscale(p).expect("runs"));
                    }
                });
            }
        });
        model.push(n as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        let sum = jobs::run_all(&list, &engines, &NoProgress);
        assert_eq!(sum.done, n);
        folder.push(n as f64 / t.elapsed().as_secs_f64());
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (m, f) = (med(model), med(folder));
    println!("{n} pictures 160x120 -> 640x480, {} frame workers", workers.len());
    println!("model alone   {m:.2} pictures/s");
    println!("folder        {f:.2} pictures/s   ratio {:.3}", f / m);
}

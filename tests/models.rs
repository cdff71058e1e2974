//! The network families (models/families.json, read by src/model/registry.rs): each test case of
//! the table against its package's ncnn CPU output on a real picture (tests/data/families, made
//! by tools/make_family_fixtures.py from the same cases), tiles against the whole picture for
//! the squeeze-excite ones (pictures and video), --denoise and -s 1 on the command line,
//! `upscale models`, job plans, and the table's sha256 against the converted files.

use std::path::{Path, PathBuf};

use upscale::config::Precision;
use upscale::internals::planes::psnr;
use upscale::model::{families, family, Framing};
use upscale::{Config, Engine, Planes};

mod common;
use common::{s, upscale_run, Run};

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/families").join(p)
}

fn media(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/media").join(p)
}

fn cfg(model: &str, scale: u32, denoise: i32) -> Config {
    Config { model: Some(model.into()), scale, denoise, device: upscale::Device::Cpu, threads: 2, ..Config::default() }
}

fn planes(path: &Path) -> Planes {
    Planes::from_buffer(&image::open(path).expect("open").to_rgb8())
}

fn run(c: &Config, img: &Planes) -> image::RgbImage {
    let engine = Engine::new(c).expect("tools/setup.sh converts the families into .cache/models");
    let mut up = engine.upscaler(c).unwrap();
    up.upscale(img).expect("upscale").to_rgb8()
}

/// A frame of a real clip (ffmpeg), `w` px wide.
fn frame(clip: &str, w: u32, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{clip}.png"));
    let st = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-ss", "5", "-i", s(&media(clip)), "-frames:v", "1", "-vf"])
        .arg(format!("scale={w}:-2"))
        .arg(&out)
        .status()
        .expect("ffmpeg runs (tools/setup.sh installs it)");
    assert!(st.success(), "ffmpeg could not take a frame of {clip}");
    out
}

fn upscale(args: &[&str]) -> Run {
    let mut a = args.to_vec();
    a.push("-q");
    upscale_run(&a)
}

#[test]
fn every_family_matches_its_packages_ncnn_cpu_output() {
    // The test cases are the table's (models/families.json: a variant's `test` picture).
    let cases: Vec<_> =
        families().iter().flat_map(|f| f.variants.iter().filter_map(move |v| Some((f.name, *v, v.test?)))).collect();
    assert!(!cases.is_empty(), "models/families.json names no test case");
    for (name, v, pic) in cases {
        let (scale, level) = (v.scale, v.denoise);
        let ours = run(&cfg(name, scale, level), &planes(&fixture(&format!("{pic}_in.png"))));
        let reference = image::open(fixture(&format!("{name}_x{scale}_d{level}_ref.png"))).unwrap().to_rgb8();
        assert_eq!(ours.dimensions(), reference.dimensions(), "{name} x{scale}");
        let p = psnr(ours.as_raw(), reference.as_raw());
        assert!(p >= 45.0, "{name} x{scale} denoise {level}: {p:.2} dB against the ncnn reference");
    }
}

/// PSNR of two network outputs in [0, 1] before they are rounded to 8 bits.
fn psnr_float(a: &Planes, b: &Planes) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let mse = a.data.iter().zip(&b.data).map(|(x, y)| (x.clamp(0.0, 1.0) - y.clamp(0.0, 1.0)) as f64).map(|d| d * d);
    10.0 * (1.0 / (mse.sum::<f64>() / a.data.len() as f64).max(1e-30)).log10()
}

/// The `w`×`h` centre of a real frame of `clip`.
fn crop(clip: &str, w: u32, h: u32, dir: &Path) -> Planes {
    let path = frame(clip, 640, dir);
    let img = image::open(&path).unwrap().to_rgb8();
    let (fw, fh) = img.dimensions();
    Planes::from_buffer(&image::imageops::crop_imm(&img, (fw - w) / 2, (fh - h) / 2, w, h).to_image())
}

#[test]
fn int8_families_hold_38_db_from_their_packages_reference_at_every_level() {
    // Every cache family with int8 files (models/families.json `int8`, made by tools/setup.sh with
    // tools/quantize_int8.py) at --precision int8, every variant, on the fixture picture of its
    // test case: >= 38 dB from the package's ncnn output (tests/data/families; the fp32 files
    // hold 45 dB) where the variant has one, and for all of them not fp32's output (the int8 file
    // really ran) yet >= 38 dB from it.
    use upscale::internals::model::registry::Location;
    let fams: Vec<_> = families().iter().filter(|f| f.int8 && f.location == Location::Cache).collect();
    assert!(!fams.is_empty(), "models/families.json gives no cache family int8 files");
    for f in fams {
        let pic = f.variants.iter().find_map(|v| v.test).unwrap_or_else(|| panic!("{}: no test case", f.name));
        let img = planes(&fixture(&format!("{pic}_in.png")));
        for v in &f.variants {
            let (name, scale, level) = (f.name, v.scale, v.denoise);
            let int8 = run(&Config { precision: Precision::Int8, ..cfg(name, scale, level) }, &img);
            let fp32 = run(&Config { precision: Precision::Fp32, ..cfg(name, scale, level) }, &img);
            assert_eq!(int8.dimensions(), fp32.dimensions(), "{name} x{scale} d{level}");
            let from_fp32 = psnr(int8.as_raw(), fp32.as_raw());
            assert!((38.0..60.0).contains(&from_fp32), "{name} x{scale} d{level} int8: {from_fp32:.2} dB from fp32");
            if v.test.is_some() {
                let reference = image::open(fixture(&format!("{name}_x{scale}_d{level}_ref.png"))).unwrap().to_rgb8();
                let p = psnr(int8.as_raw(), reference.as_raw());
                assert!(p >= 38.0, "{name} x{scale} d{level} int8: {p:.2} dB from the ncnn reference");
            }
        }
    }
}

#[test]
fn tiles_of_32_make_the_whole_pictures_pixels_for_every_family() {
    // Each family's default tile context follows its reach (models/families.json), so tiles of
    // 32, the smallest worth running, agree with the whole picture at fp32 and at the precision
    // `auto` picks. The pictures are wider than a tile and both its contexts, so the inner tiles'
    // context is cut short on the left and right (and top and bottom where they are also taller);
    // realesrgan-x4plus (reach 80) is cut short left and right only, to keep its run short.
    let dir = tempfile::tempdir().unwrap();
    for fam in families() {
        let scale = fam.cost_scale;
        let level = if fam.denoise_levels().contains(&0) { 0 } else { fam.denoise_levels()[0] };
        let (w, h) = match fam.framing {
            Framing::Outer { reach } if reach > 64 => (2 * reach + 40, 40),
            Framing::Outer { reach } => (2 * reach + 40, 2 * reach + 40),
            Framing::Own { context } => ((2 * context + 40).max(96), (2 * context + 40).max(72)),
        };
        let clip = if fam.purposes[0] == "photo" { "tos.mp4" } else { "sintel.mp4" };
        let img = crop(clip, w, h, dir.path());
        for precision in [Precision::Fp32, Precision::Auto] {
            let c = Config { precision, ..cfg(fam.name, scale, level) };
            let engine = Engine::new(&c).expect("tools/setup.sh converts the families into .cache/models");
            let whole = engine.upscaler(&Config { tile: w.max(h), ..c.clone() }).unwrap().upscale(&img).unwrap();
            let tiled = engine.upscaler(&Config { tile: 32, ..c.clone() }).unwrap().upscale(&img).unwrap();
            let p = psnr_float(&whole, &tiled);
            let at = engine.execution().unwrap();
            assert!(
                p >= 50.0,
                "{} x{scale} ({at}), {w}x{h} in tiles of 32: {p:.2} dB from the whole picture",
                fam.name
            );
        }
    }
}

#[test]
fn a_tiled_video_equals_the_whole_frames() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    let st = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-ss", "5", "-i", s(&media("sintel.mp4")), "-frames:v", "2"])
        .args(["-vf", "scale=80:-2", "-an", "-c:v", "libx264", "-qp", "0", s(&clip)])
        .status()
        .expect("ffmpeg runs");
    assert!(st.success());
    let mut frames = Vec::new();
    for tile in ["0", "32"] {
        let out = dir.path().join(format!("t{tile}.mkv"));
        let r = upscale(&[s(&clip), "-m", "realcugan", "-s", "2", "-t", tile, "--encoder-opt", "qp=0", "-o", s(&out)]);
        assert!(r.status.success(), "{}", r.stderr);
        let raw = std::process::Command::new("ffmpeg")
            .args(["-loglevel", "error", "-i", s(&out), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .output()
            .expect("ffmpeg decodes");
        assert!(raw.status.success() && !raw.stdout.is_empty());
        frames.push(raw.stdout);
    }
    assert_eq!(frames[0].len(), frames[1].len());
    let p = psnr(&frames[0], &frames[1]);
    assert!(p >= 50.0, "video, tiles of 32 against whole frames: {p:.2} dB");
}

#[test]
fn denoise_levels_a_family_lacks_are_configuration_errors_naming_its_levels() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("sintel_in.png");
    let out = dir.path().join("o.png");
    let r = upscale(&[s(&input), "-m", "span", "--denoise", "2", "-o", s(&out)]);
    assert_eq!(r.status.code(), Some(2), "{}", r.stderr);
    assert!(r.stderr.starts_with("error: --denoise 2: expected 0 for span"), "{}", r.stderr);
    let r = upscale(&[s(&input), "-m", "realcugan-pro", "--denoise", "1", "-s", "2", "-o", s(&out)]);
    assert_eq!(r.status.code(), Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("-1, 0, 3 for realcugan-pro"), "{}", r.stderr);
    let r = upscale(&[s(&input), "-m", "realcugan", "--denoise", "4", "-o", s(&out)]);
    assert_eq!(r.status.code(), Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("--denoise 4"), "{}", r.stderr);
    let r = upscale(&[s(&input), "-m", "realcugan", "-s", "1", "--denoise", "1", "-o", s(&out)]);
    assert_eq!(r.status.code(), Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("no 1x network") && r.stderr.contains("waifu2x-cunet"), "{}", r.stderr);
    let r = upscale(&[s(&input), "-m", "bicubic", "--denoise", "1", "-o", s(&out)]);
    assert_eq!(r.status.code(), Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("--denoise 1: expected 0 for the classic resizer bicubic"), "{}", r.stderr);
    let r = upscale(&[s(&input), "-m", "realcugan", "--precision", "int8", "-o", s(&out)]);
    assert!(!r.status.success() && r.stderr.contains("no int8 version"), "{}", r.stderr);
    assert!(!out.exists());
}

#[test]
fn scale_1_with_denoise_cleans_without_enlarging() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clean.png");
    let r = upscale(&[s(&fixture("sintel_in.png")), "-m", "waifu2x-cunet", "-s", "1", "--denoise", "2", "-o", s(&out)]);
    assert!(r.status.success(), "{}", r.stderr);
    let ours = image::open(&out).unwrap().to_rgb8();
    let reference = image::open(fixture("waifu2x-cunet_x1_d2_ref.png")).unwrap().to_rgb8();
    assert_eq!(ours.dimensions(), image::image_dimensions(fixture("sintel_in.png")).unwrap());
    let p = psnr(ours.as_raw(), reference.as_raw());
    assert!(p >= 45.0, "waifu2x-cunet 1x denoise 2: {p:.2} dB against the ncnn reference");
}

#[test]
fn models_lists_every_family_with_purpose_scales_levels_and_licence() {
    let r = upscale_run(&["models"]);
    assert!(r.status.success(), "{}", r.stderr);
    for f in families() {
        let line = r.stdout.lines().find(|l| l.starts_with(&format!("{} ", f.name))).unwrap_or_else(|| {
            panic!("{} missing from upscale models:\n{}", f.name, r.stdout);
        });
        assert!(line.contains(f.purposes[0]) && line.contains(f.licence), "{line}");
        assert!(line.contains("yes"), "{} not installed: {line}", f.name);
    }
    let cugan = r.stdout.lines().find(|l| l.starts_with("realcugan ")).unwrap();
    assert!(cugan.contains("2,3,4") && cugan.contains("-1, 0, 1, 2, 3") && cugan.contains("MIT"), "{cugan}");
    assert!(r.stdout.contains("default for pictures") && r.stdout.contains("default for videos"));
}

#[test]
fn job_plans_record_the_family_and_denoise_level() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    let st = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i", s(&media("bbb.mp4")), "-frames:v", "4", "-vf", "scale=64:-2"])
        .args(["-an", s(&clip)])
        .status()
        .expect("ffmpeg runs");
    assert!(st.success());
    let out = dir.path().join("out.mkv");
    let r =
        upscale_run(&["job", "plan", s(&clip), "-o", s(&out), "--segments", "2", "-m", "realcugan", "--denoise", "3"]);
    assert!(r.status.success(), "{}", r.stderr);
    let plan = std::fs::read_to_string(dir.path().join("out.mkv.upscale-work/plan.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&plan).unwrap();
    let settings = &v["settings"];
    assert_eq!(settings["job"]["model"], "realcugan", "{plan}");
    assert_eq!(settings["job"]["denoise"], 3, "{plan}");
    // x4 at denoise 3: the x4 network's file is the one recorded.
    let sha = family("realcugan").unwrap().variants.iter().find(|v| v.scale == 4 && v.denoise == 3).unwrap().sha256;
    assert!(plan.contains(sha), "{plan}");
}

#[test]
fn the_registry_names_the_files_the_converter_makes() {
    let dirs = upscale::model::model_dirs(None);
    for f in families() {
        for v in &f.variants {
            if f.location == upscale::internals::model::registry::Location::Embedded {
                continue;
            }
            let p = dirs.iter().map(|d| d.join(format!("{}.onnx", v.file))).find(|p| p.is_file());
            let p = p.unwrap_or_else(|| panic!("{}.onnx not installed: run tools/setup.sh", v.file));
            let bytes = std::fs::read(&p).unwrap();
            let sha: String = {
                use sha2::Digest;
                sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
            };
            assert_eq!(sha, v.sha256, "{}: converted file differs from the registry", p.display());
        }
    }
}

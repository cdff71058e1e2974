//! Image-path tests: the converted weights against the ncnn reference, tiling, scales, formats,
//! folders, compare, models and bad input. They run the real library or the real binary on
//! inputs made here or committed under tests/data.

use std::path::{Path, PathBuf};
use std::process::Command;

use image::{DynamicImage, GenericImageView, ImageBuffer, ImageEncoder, Luma, LumaA, Rgba};
use upscale::internals::planes::psnr;
use upscale::{Config, Engine, Planes};

mod common;
use common::{crc32, s, upscale_run, Run};

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(p)
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/coffee.png")
}

/// `upscale ARGS -q`, killed as a hang after common::HANG_LIMIT.
fn upscale(args: &[&str]) -> Run {
    let mut a = args.to_vec();
    a.push("-q");
    upscale_run(&a)
}

fn stderr(o: &Run) -> String {
    o.stderr.clone()
}

/// A one-line `error:` naming `name`, a non-zero exit, no panic.
fn assert_clean_error(o: &Run, name: &str) {
    let e = stderr(o);
    assert!(!o.status.success(), "expected failure, got success: {e}");
    assert!(e.lines().any(|l| l.starts_with("error:") && l.contains(name)), "no error line naming {name}: {e}");
    assert!(!e.contains("panicked") && !e.contains("RUST_BACKTRACE"), "panic: {e}");
}

fn cfg(model: &str, scale: u32) -> Config {
    Config { model: Some(model.into()), scale, device: upscale::Device::Cpu, ..Config::default() }
}

fn rgb_planes(path: &Path) -> Planes {
    Planes::from_buffer(&image::open(path).expect("open").to_rgb8())
}

#[test]
fn animevideov3_matches_the_ncnn_reference_at_every_scale() {
    let input = rgb_planes(&data("reference/astronaut_in.png"));
    for scale in [2, 3, 4] {
        let engine_up = Engine::new(&cfg("realesr-animevideov3", scale)).expect("model loads");
        let mut up = engine_up.upscaler(&cfg("realesr-animevideov3", scale)).unwrap();
        let ours = up.upscale(&input).expect("upscale").to_rgb8();
        let reference = image::open(data(&format!("reference/astronaut_ref_x{scale}.png"))).expect("ref").to_rgb8();
        assert_eq!(ours.dimensions(), reference.dimensions(), "x{scale} size");
        let p = psnr(ours.as_raw(), reference.as_raw());
        assert!(p >= 45.0, "x{scale}: {p:.2} dB against the ncnn reference");
    }
}

#[test]
fn large_models_match_the_ncnn_reference() {
    for model in upscale::internals::model::CACHED_MODELS {
        let refp = data(&format!("reference/coffee_ref_{model}.png"));
        let engine_up = Engine::new(&cfg(model, 4)).expect("tools/setup.sh converts the large models");
        let mut up = engine_up.upscaler(&cfg(model, 4)).unwrap();
        let ours = up.upscale(&rgb_planes(&data("reference/coffee_in.png"))).expect("upscale").to_rgb8();
        let reference = image::open(&refp).expect("ref").to_rgb8();
        let p = psnr(ours.as_raw(), reference.as_raw());
        assert!(p >= 45.0, "{model}: {p:.2} dB against the ncnn reference");
    }
}

#[test]
fn tiled_run_equals_untiled_run() {
    let input = rgb_planes(&sample());
    let whole = Engine::new(&cfg("realesr-animevideov3", 4))
        .unwrap()
        .upscaler(&cfg("realesr-animevideov3", 4))
        .unwrap()
        .upscale(&input)
        .unwrap()
        .to_rgb8();
    for tile in [48, 64] {
        let c = Config { tile, ..cfg("realesr-animevideov3", 4) };
        let tiled = Engine::new(&c).unwrap().upscaler(&c).unwrap().upscale(&input).unwrap().to_rgb8();
        let p = psnr(whole.as_raw(), tiled.as_raw());
        assert!(p >= 50.0, "tile {tile}: {p:.2} dB against the untiled run");
    }
}

#[test]
fn model_by_path_probes_its_scale_and_matches_the_builtin() {
    // One runtime for both: `auto` times the runtimes per model file, and two files may pick
    // two runtimes (whose last bits differ) on a machine where they run about as fast.
    use upscale::internals::model::runtime::{Execution, Runtime};
    let ort = Execution { runtime: Runtime::OnnxRuntime, precision: upscale::config::Precision::Fp32 };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/realesr-animevideov3-x4.onnx");
    let engine_by_path = Engine::with_execution(&cfg(s(&path), 4), ort).expect("loads by path");
    let mut by_path = engine_by_path.upscaler(&cfg(s(&path), 4)).unwrap();
    assert_eq!(by_path.passes(), vec![4]);
    let input = rgb_planes(&data("reference/astronaut_in.png"));
    let a = by_path.upscale(&input).unwrap();
    let b = Engine::with_execution(&cfg("realesr-animevideov3", 4), ort)
        .unwrap()
        .upscaler(&cfg("realesr-animevideov3", 4))
        .unwrap()
        .upscale(&input)
        .unwrap();
    assert_eq!(a.to_rgb8(), b.to_rgb8());
}

#[test]
fn a_file_that_is_not_a_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.onnx");
    std::fs::write(&fake, b"this is not a network").unwrap();
    let o = upscale(&[s(&sample()), "-m", s(&fake), "-o", s(&dir.path().join("o.png"))]);
    assert_clean_error(&o, "fake.onnx");
    assert!(stderr(&o).contains("not a loadable ONNX model"), "{}", stderr(&o));
    assert!(!dir.path().join("o.png").exists());
    let o = upscale(&[s(&sample()), "-m", "no-such-model"]);
    assert_clean_error(&o, "no-such-model");
}

#[test]
fn every_scale_gives_the_right_size() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = image::image_dimensions(sample()).unwrap();
    let small = dir.path().join("small.png");
    image::open(sample()).unwrap().crop_imm(0, 0, 40, 30).save(&small).unwrap();
    for scale in ["2", "3", "4", "6", "8"] {
        let out = dir.path().join(format!("x{scale}.png"));
        let o = upscale(&[s(&small), "-s", scale, "-o", s(&out)]);
        assert!(o.status.success(), "{}", stderr(&o));
        let k: u32 = scale.parse().unwrap();
        assert_eq!(image::image_dimensions(&out).unwrap(), (40 * k, 30 * k), "x{scale}");
    }
    let cases: [(&[&str], (u32, u32)); 4] = [
        (&["--outscale", "1.5"], ((w as f64 * 1.5).round() as u32, (h as f64 * 1.5).round() as u32)),
        (&["--width", "500"], (500, (h as f64 * 500.0 / w as f64).round() as u32)),
        (&["--height", "300"], ((w as f64 * 300.0 / h as f64).round() as u32, 300)),
        (&["--width", "321", "--height", "123"], (321, 123)),
    ];
    for (i, (args, want)) in cases.iter().enumerate() {
        let out = dir.path().join(format!("c{i}.png"));
        let sample = sample();
        let mut a = vec![s(&sample), "-o", s(&out)];
        a.extend_from_slice(args);
        let o = upscale(&a);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_eq!(image::image_dimensions(&out).unwrap(), *want, "{args:?}");
    }
}

#[test]
fn the_model_beats_nothing_but_stays_close_to_classic_resizers() {
    // Sanity of the whole chain on a real photo: downscale 4x, upscale back, compare with the
    // original. GAN models score about like bicubic (see STACK.md): both must be far above noise.
    let orig = image::open(sample()).unwrap().crop_imm(0, 0, 200, 132).to_rgb8();
    let small = image::imageops::resize(&orig, 50, 33, image::imageops::FilterType::Triangle);
    let input = Planes::from_buffer(&small);
    for model in ["realesr-animevideov3", "bicubic", "lanczos", "nearest", "bilinear"] {
        let out =
            Engine::new(&cfg(model, 4)).unwrap().upscaler(&cfg(model, 4)).unwrap().upscale(&input).unwrap().to_rgb8();
        assert_eq!(out.dimensions(), (200, 132));
        let p = psnr(out.as_raw(), orig.as_raw());
        assert!(p > 18.0 && p < 40.0, "{model}: {p:.2} dB");
    }
}

fn write_png_palette(path: &Path, w: u32, h: u32) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(f), w, h);
    enc.set_color(png::ColorType::Indexed);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_palette(vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 250]);
    let mut wr = enc.write_header().unwrap();
    let idx: Vec<u8> = (0..w * h).map(|i| ((i % w) * 4 / w) as u8).collect();
    wr.write_image_data(&idx).unwrap();
}

/// A JPEG with an EXIF orientation tag inserted after SOI.
fn write_jpeg_with_orientation(path: &Path, img: &image::RgbImage, orientation: u16) {
    let mut jpg = Vec::new();
    DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut std::io::Cursor::new(&mut jpg), image::ImageFormat::Jpeg)
        .unwrap();
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpg[2..]);
    std::fs::write(path, out).unwrap();
}

#[test]
fn pictures_keep_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let photo = image::open(sample()).unwrap().crop_imm(20, 20, 32, 24).to_rgb8();
    // Alpha: a ramp that must survive, upscaled.
    let rgba = ImageBuffer::from_fn(32, 24, |x, y| {
        let p = photo.get_pixel(x, y);
        Rgba([p[0], p[1], p[2], if x < 16 { 255 } else { 0 }])
    });
    rgba.save(d("alpha.png")).unwrap();
    let o = upscale(&[s(&d("alpha.png")), "-s", "2", "-o", s(&d("alpha_x2.png"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = image::open(d("alpha_x2.png")).unwrap();
    assert_eq!(out.color(), image::ColorType::Rgba8);
    let a = out.to_rgba8();
    assert_eq!((a.get_pixel(4, 20)[3], a.get_pixel(60, 20)[3]), (255, 0), "alpha follows the picture");

    // 16-bit stays 16-bit, grey stays grey (and grey with alpha too).
    DynamicImage::ImageRgb8(photo.clone()).into_rgb16().save(d("deep.png")).unwrap();
    DynamicImage::ImageRgb8(photo.clone()).into_luma8().save(d("gray.png")).unwrap();
    DynamicImage::ImageRgb8(photo.clone()).into_luma16().save(d("gray16.png")).unwrap();
    ImageBuffer::from_fn(32, 24, |x, _| LumaA([x as u8 * 8, 200u8])).save(d("grayalpha.png")).unwrap();
    for (name, want) in [
        ("deep", image::ColorType::Rgb16),
        ("gray", image::ColorType::L8),
        ("gray16", image::ColorType::L16),
        ("grayalpha", image::ColorType::La8),
    ] {
        let out = d(&format!("{name}_x2.png"));
        let o = upscale(&[s(&d(&format!("{name}.png"))), "-s", "2", "-o", s(&out)]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let img = image::open(&out).unwrap();
        assert_eq!((img.color(), img.dimensions()), (want, (64, 48)), "{name}");
    }
    // 16-bit keeps levels between 8-bit steps: a smooth ramp must not come back quantised to 256.
    let ramp = ImageBuffer::from_fn(64, 16, |x, _| Luma([(x * 1024) as u16]));
    ramp.save(d("ramp16.png")).unwrap();
    let o = upscale(&[s(&d("ramp16.png")), "-m", "bicubic", "-s", "2", "-o", s(&d("ramp16_x2.png"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = image::open(d("ramp16_x2.png")).unwrap().into_luma16();
    assert!(r.pixels().any(|p| p[0] % 257 != 0), "16-bit output holds only 8-bit levels");

    // Palette PNG and CMYK JPEG are converted, not rejected.
    write_png_palette(&d("palette.png"), 32, 24);
    let cmyk: Vec<u8> = (0..32 * 24).flat_map(|i| [(i % 32 * 8) as u8, 40, 200, 10]).collect();
    jpeg_encoder::Encoder::new_file(d("cmyk.jpg"), 95)
        .unwrap()
        .encode(&cmyk, 32, 24, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    for name in ["palette.png", "cmyk.jpg"] {
        let out = d(&format!("{name}_x2.png"));
        let o = upscale(&[s(&d(name)), "-s", "2", "-o", s(&out)]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        assert_eq!(image::image_dimensions(&out).unwrap(), (64, 48), "{name}");
    }
    let pal = image::open(d("palette.png_x2.png")).unwrap().to_rgb8();
    assert!(pal.get_pixel(4, 24)[0] > 200 && pal.get_pixel(4, 24)[1] < 60, "palette colours kept");

    // EXIF orientation 6 (rotate 90° clockwise): a 32x24 picture is displayed 24x32.
    write_jpeg_with_orientation(&d("rotated.jpg"), &photo, 6);
    let o = upscale(&[s(&d("rotated.jpg")), "-s", "2", "-o", s(&d("rotated_x2.png"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(image::image_dimensions(d("rotated_x2.png")).unwrap(), (48, 64));
}

#[test]
fn every_format_in_and_out() {
    let dir = tempfile::tempdir().unwrap();
    let photo = image::open(sample()).unwrap().crop_imm(0, 0, 24, 16).to_rgb8();
    for ext in ["png", "jpg", "webp", "tif", "bmp"] {
        let input = dir.path().join(format!("in.{ext}"));
        photo.save(&input).unwrap();
        for out_ext in ["png", "jpg", "webp", "tif", "bmp"] {
            let out = dir.path().join(format!("{ext}_to.{out_ext}"));
            let o = upscale(&[s(&input), "-s", "2", "-o", s(&out)]);
            assert!(o.status.success(), "{ext} -> {out_ext}: {}", stderr(&o));
            let fmt = image::ImageReader::open(&out).unwrap().with_guessed_format().unwrap().format();
            assert_eq!(fmt, image::ImageFormat::from_extension(out_ext), "{ext} -> {out_ext}");
            let back = image::open(&out).unwrap().to_rgb8();
            let reference = image::imageops::resize(&photo, 48, 32, image::imageops::FilterType::CatmullRom);
            let p = psnr(back.as_raw(), reference.as_raw());
            assert!(p > 20.0, "{ext} -> {out_ext}: {p:.1} dB against bicubic: not the same picture");
        }
    }
    // The kind of input comes from the content: a PNG named .jpg is read as PNG.
    let wrong = dir.path().join("really_png.jpg");
    std::fs::copy(dir.path().join("in.png"), &wrong).unwrap();
    let o = upscale(&[s(&wrong), "-s", "2", "-o", s(&dir.path().join("w.png"))]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn folders_keep_structure_and_report_failures_without_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("photos");
    std::fs::create_dir_all(src.join("sub/deeper")).unwrap();
    let photo = image::open(sample()).unwrap().crop_imm(0, 0, 20, 16);
    photo.save(src.join("a.png")).unwrap();
    photo.save(src.join("sub/b.jpg")).unwrap();
    photo.save(src.join("sub/deeper/c.webp")).unwrap();
    let mut broken = std::fs::read(src.join("a.png")).unwrap();
    broken.truncate(60);
    std::fs::write(src.join("sub/broken.png"), &broken).unwrap();
    std::fs::write(src.join("notes.txt"), "not an image").unwrap();

    let out = dir.path().join("out");
    let o = upscale(&[s(&src), "-r", "-s", "2", "-o", s(&out)]);
    assert_clean_error(&o, "broken.png");
    for f in ["a.png", "sub/b.jpg", "sub/deeper/c.webp"] {
        assert_eq!(image::image_dimensions(out.join(f)).unwrap(), (40, 32), "{f}");
    }
    assert!(!out.join("sub/broken.png").exists() && !out.join("notes.txt").exists());
    let leftovers: Vec<_> = walk(&out).into_iter().filter(|p| p.to_string_lossy().contains(".partial-")).collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // Without -r only the top level; without -o the output folder is <folder>_x2.
    let o = upscale(&[s(&src), "-s", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("photos_x2/a.png").is_file());
    assert!(!dir.path().join("photos_x2/sub").exists());

    // A summary and a progress line per file in JSON mode.
    let o = common::run_cmd(Command::new(env!("CARGO_BIN_EXE_upscale")).args([
        s(&src),
        "-r",
        "-s",
        "2",
        "-y",
        "-o",
        s(&out),
        "--progress",
        "json",
    ]));
    let e = stderr(&o);
    assert!(e.contains("\"event\":\"summary\",\"done\":3,\"failed\":1"), "{e}");
    assert_eq!(e.matches("\"event\":\"file_done\"").count(), 3, "{e}");
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(d).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            v.extend(walk(&p));
        }
        v.push(p);
    }
    v
}

#[test]
fn compare_writes_one_labelled_grid() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.png");
    image::open(sample()).unwrap().crop_imm(0, 0, 50, 40).save(&small).unwrap();
    let out = dir.path().join("grid.png");
    let o =
        common::run_cmd(Command::new(env!("CARGO_BIN_EXE_upscale")).args(["compare", s(&small), "-o", s(&out), "-q"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let g = image::open(&out).unwrap().to_rgb8();
    // Four 200x160 panels, 4 px apart, under a 24 px label strip.
    assert_eq!(g.dimensions(), (4 * 200 + 3 * 4, 160 + 24));
    let panel = |i: u32| image::imageops::crop_imm(&g, i * 204, 24, 200, 160).to_image();
    let nearest = panel(0);
    let model = panel(3);
    let p = psnr(nearest.as_raw(), model.as_raw());
    assert!(p < 40.0 && p > 15.0, "panels differ as resizers do: {p:.1} dB");
    let label_white =
        (0..200).flat_map(|x| (0..24).map(move |y| (x, y))).filter(|&(x, y)| g.get_pixel(x, y)[0] == 255).count();
    assert!(label_white > 50, "a label is drawn");
}

#[test]
fn models_lists_every_model() {
    let o = common::run_cmd(Command::new(env!("CARGO_BIN_EXE_upscale")).arg("models"));
    assert!(o.status.success());
    let out = o.stdout.clone();
    for m in ["realesr-animevideov3", "realesrgan-x4plus", "realesrgan-x4plus-anime", "nearest", "bicubic", "lanczos"] {
        assert!(out.lines().any(|l| l.starts_with(m)), "{m} missing: {out}");
    }
    // A large model that is not installed: says how to get it.
    let empty = tempfile::tempdir().unwrap();
    let o = common::run_cmd(
        Command::new(env!("CARGO_BIN_EXE_upscale"))
            .args(["-m", "realesrgan-x4plus", s(&sample()), "-o", s(&empty.path().join("o.png"))])
            .env("UPSCALE_MODEL_DIR", empty.path()),
    );
    assert_clean_error(&o, "realesrgan-x4plus");
    assert!(stderr(&o).contains("tools/setup.sh"), "{}", stderr(&o));
    let o = common::run_cmd(
        Command::new(env!("CARGO_BIN_EXE_upscale")).arg("models").env("UPSCALE_MODEL_DIR", empty.path()),
    );
    let out = o.stdout.clone();
    assert!(out.lines().any(|l| l.starts_with("realesrgan-x4plus ") && l.contains(" no ")), "{out}");
}

#[test]
fn bad_input_is_one_clear_error_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    std::fs::write(d("text.png"), "hello, I am text").unwrap();
    std::fs::write(d("empty.jpg"), "").unwrap();
    // A PNG whose header claims 60000x60000: refused from the header, before allocating.
    let mut bomb = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bomb)
        .write_image(&[0u8; 3], 1, 1, image::ExtendedColorType::Rgb8)
        .unwrap();
    bomb[16..20].copy_from_slice(&60000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&60000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(d("bomb.png"), &bomb).unwrap();
    for name in ["text.png", "empty.jpg", "bomb.png"] {
        let out = d(&format!("{name}.out.png"));
        let o = upscale(&[s(&d(name)), "-o", s(&out)]);
        assert_clean_error(&o, name);
        assert!(!out.exists(), "{name}: output written");
    }
    assert!(stderr(&upscale(&[s(&d("bomb.png")), "-o", s(&d("b.png"))])).contains("60000x60000"));
    let o = upscale(&[s(&d("missing.png")), "-o", s(&d("m.png"))]);
    assert_clean_error(&o, "missing.png");
}

#[test]
fn outputs_are_never_overwritten_without_y_and_inputs_never() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    image::open(sample()).unwrap().crop_imm(0, 0, 16, 16).save(&input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let out = dir.path().join("out.png");
    std::fs::write(&out, "keep me").unwrap();
    let o = upscale(&[s(&input), "-s", "2", "-o", s(&out)]);
    assert_clean_error(&o, "out.png");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    let o = upscale(&[s(&input), "-s", "2", "-o", s(&out), "-y"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(image::image_dimensions(&out).unwrap(), (32, 32));
    let o = upscale(&[s(&input), "-s", "2", "-o", s(&input), "-y"]);
    assert_clean_error(&o, "in.png");
    assert_eq!(std::fs::read(&input).unwrap(), before, "input changed");
    // Default name beside the input.
    let o = upscale(&[s(&input), "-s", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("in_x2.png").is_file());
}

#[test]
fn cuda_without_a_gpu_is_an_error_not_a_cpu_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.png");
    let o = upscale(&[s(&sample()), "-d", "cuda", "-o", s(&out)]);
    if o.status.success() {
        // A machine with a usable CUDA runtime: the GPU's picture must match the CPU's.
        let cpu = dir.path().join("cpu.png");
        let c = upscale(&[s(&sample()), "-d", "cpu", "-o", s(&cpu)]);
        assert!(c.status.success(), "{}", stderr(&c));
        let (a, b) = (image::open(&out).unwrap().to_rgb8(), image::open(&cpu).unwrap().to_rgb8());
        assert_eq!(a.dimensions(), b.dimensions());
        let p = psnr(a.as_raw(), b.as_raw());
        assert!(p >= 35.0, "CUDA output {p:.1} dB from the CPU's");
        return;
    }
    assert_clean_error(&o, "cuda");
    assert!(stderr(&o).contains("CUDA"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn fp16_models_agree_with_fp32() {
    let input = rgb_planes(&sample());
    let run = |precision| {
        let c = Config { precision, ..cfg("realesr-animevideov3", 4) };
        Engine::new(&c)
            .expect("fp16 files are made by tools/setup.sh")
            .upscaler(&c)
            .unwrap()
            .upscale(&input)
            .unwrap()
            .to_rgb8()
    };
    let (full, half) = (run(upscale::config::Precision::Fp32), run(upscale::config::Precision::Fp16));
    let p = psnr(full.as_raw(), half.as_raw());
    assert!(p >= 40.0 && p.is_finite(), "fp16 against fp32: {p:.2} dB");
}

#[test]
fn int8_models_stay_close_to_the_reference_and_are_really_int8() {
    let input = rgb_planes(&data("reference/astronaut_in.png"));
    for scale in [2, 3, 4] {
        let run = |precision| {
            let c = Config { precision, ..cfg("realesr-animevideov3", scale) };
            Engine::new(&c).expect("int8 files are built in").upscaler(&c).unwrap().upscale(&input).unwrap().to_rgb8()
        };
        let (full, int8) = (run(upscale::config::Precision::Fp32), run(upscale::config::Precision::Int8));
        let reference = image::open(data(&format!("reference/astronaut_ref_x{scale}.png"))).expect("ref").to_rgb8();
        assert_eq!(int8.dimensions(), reference.dimensions(), "x{scale} size");
        let against_ref = psnr(int8.as_raw(), reference.as_raw());
        // 38.7-39.2 dB here (an AVX-512 VNNI machine); other int8 kernels round differently.
        assert!(against_ref >= 37.0, "x{scale} int8 against the ncnn reference: {against_ref:.2} dB");
        // Not the fp32 network under another name: 8-bit activations leave a visible trace.
        let against_fp32 = psnr(int8.as_raw(), full.as_raw());
        assert!(against_fp32 < 60.0, "x{scale} int8 equals fp32 ({against_fp32:.2} dB)");
    }
}

#[test]
fn int8_is_refused_where_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.png");
    let o = upscale(&[s(&sample()), "--precision", "int8", "-d", "cuda", "-o", s(&out)]);
    assert_clean_error(&o, "int8");
    assert!(stderr(&o).contains("CPU only"), "{}", stderr(&o));
    let o = upscale(&[s(&sample()), "--precision", "int8", "-m", "realesrgan-x4plus", "-o", s(&out)]);
    assert_clean_error(&o, "realesrgan-x4plus");
    assert!(stderr(&o).contains("no int8 version"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn a_missing_onnx_runtime_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.png");
    let o = common::run_cmd(
        Command::new(env!("CARGO_BIN_EXE_upscale"))
            .args([s(&sample()), "-o", s(&out)])
            .env("ORT_DYLIB_PATH", dir.path().join("libonnxruntime.so")),
    );
    assert_clean_error(&o, "libonnxruntime.so");
    assert!(stderr(&o).contains("tools/setup.sh"), "{}", stderr(&o));
    assert!(!out.exists());
    // Classic resizers need no runtime at all.
    let o = common::run_cmd(
        Command::new(env!("CARGO_BIN_EXE_upscale"))
            .args([s(&sample()), "-m", "lanczos", "-s", "2", "-o", s(&out)])
            .env("ORT_DYLIB_PATH", dir.path().join("libonnxruntime.so")),
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The DC step of a JPEG's first quantization table: 2 at quality 95 with the IJG tables the
/// encoder scales, 8 at 75, 16 at 50.
fn dc_step(jpeg: &[u8]) -> u16 {
    let at = jpeg.windows(2).position(|w| w == [0xFF, 0xDB]).expect("a DQT segment");
    let precision16 = jpeg[at + 4] >> 4 == 1;
    if precision16 {
        u16::from_be_bytes([jpeg[at + 5], jpeg[at + 6]])
    } else {
        jpeg[at + 5] as u16
    }
}

/// #28 (output quality): a JPEG result keeps the detail by default (quality 95, not the
/// encoder's 75), `--quality` sets it, and a quality out of range is a usage error naming the
/// flag. PNG stays lossless whatever the setting.
#[test]
fn jpeg_outputs_keep_the_detail_by_default_and_take_a_quality() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("in.png");
    image::open(sample()).unwrap().crop_imm(40, 30, 96, 64).save(&input).unwrap();
    let run = |out: &str, extra: &[&str]| {
        let o = upscale(&[&[s(&input), "-o", s(&d.join(out)), "-m", "bicubic", "-s", "2"], extra].concat());
        assert!(o.status.success(), "{out}: {}", o.stderr);
        std::fs::read(d.join(out)).unwrap()
    };
    let (default, q50) = (run("default.jpg", &[]), run("q50.jpg", &["--quality", "50"]));
    run("lossless.png", &["--quality", "50"]);
    assert_eq!(dc_step(&default), 2, "quality 95 by default");
    assert_eq!(dc_step(&q50), 16, "quality 50 as asked");
    assert!(q50.len() < default.len(), "{} vs {} bytes", q50.len(), default.len());
    let png = image::open(d.join("lossless.png")).unwrap().to_rgb8();
    let db = |b: &[u8]| psnr(png.as_raw(), image::load_from_memory(b).unwrap().to_rgb8().as_raw());
    let (hi, lo) = (db(&default), db(&q50));
    assert!(hi >= 40.0 && hi > lo + 3.0, "default {hi:.1} dB, quality 50 {lo:.1} dB from the lossless result");
    let bad = upscale(&[s(&input), "-o", s(&d.join("bad.jpg")), "-m", "bicubic", "--quality", "0"]);
    assert_clean_error(&bad, "--quality");
    assert_eq!(bad.status.code(), Some(2), "{}", bad.stderr);
    assert!(!d.join("bad.jpg").exists());
}

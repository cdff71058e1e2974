//! The GPU path as far as a machine without a GPU can take it: the refusals that name what is
//! missing (CPU build; CUDA build without NVIDIA's libraries; without the driver), and the
//! out-of-memory retry with smaller tiles under a forced memory cap.

use std::path::{Path, PathBuf};
use std::process::Command;

use upscale::config::Precision;
use upscale::internals::model::runtime::{Execution, Runtime};
use upscale::internals::model::{self, arena, Network};
use upscale::{Config, Device, Engine, Event, Planes, Progress};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// An ONNX Runtime library the set-up fetched; a missing one fails the test, naming the fix.
fn library(dir: &str) -> PathBuf {
    let p = Path::new(ROOT).join(".cache").join(dir).join("libonnxruntime.so.1.31.1");
    assert!(p.is_file(), "{} missing: run tools/setup.sh (it fetches both builds of ONNX Runtime)", p.display());
    p
}

/// Runs `upscale -d DEVICE in.png -o out.png` with `env`; returns (exit ok, stderr lines, output written).
fn upscale(device: &str, env: &[(&str, &Path)]) -> (bool, Vec<String>, bool) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    image::RgbImage::from_fn(24, 16, |x, y| image::Rgb([(x * 10) as u8, (y * 15) as u8, 128])).save(&input).unwrap();
    let output = dir.path().join("out.png");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_upscale"));
    cmd.args(["-d", device, "-s", "2"]).arg(&input).arg("-o").arg(&output);
    cmd.env_remove("LD_LIBRARY_PATH").env_remove("UPSCALE_CUDA_LIBS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).lines().map(str::to_string).collect();
    (out.status.success(), err, output.exists())
}

/// The one `error:` line of a refused run.
fn refusal(ok: bool, err: &[String], written: bool) -> String {
    assert!(!ok && !written, "not refused: {err:?}");
    assert_eq!(err.len(), 1, "one line: {err:?}");
    assert!(err[0].starts_with("error: device cuda:0: "), "{err:?}");
    err[0].clone()
}

#[test]
fn cuda_with_the_cpu_build_is_refused_in_one_line() {
    let (ok, err, written) = upscale("cuda", &[("ORT_DYLIB_PATH", &library("onnxruntime"))]);
    let e = refusal(ok, &err, written);
    assert!(e.contains("is the CPU build of ONNX Runtime") && e.contains("tools/setup.sh --gpu"), "{e}");
}

#[test]
fn cuda_build_without_nvidia_libraries_names_them_and_the_fix() {
    let (empty, gpu) = (tempfile::tempdir().unwrap(), library("onnxruntime-gpu"));
    let env = [("ORT_DYLIB_PATH", gpu.as_path()), ("UPSCALE_CUDA_LIBS", empty.path())];
    let (ok, err, written) = upscale("cuda", &env);
    let e = refusal(ok, &err, written);
    // A system CUDA 13 (ldconfig) would satisfy these: the test expects a machine without one.
    for lib in ["libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libcudnn.so.9", "libnvrtc.so.13"] {
        assert!(e.contains(lib), "{lib} not named: {e}");
    }
    assert!(e.contains("tools/setup.sh --gpu") && e.contains("UPSCALE_CUDA_LIBS") && !e.contains("CPU build"), "{e}");
    assert!(!e.contains("onnxruntime_src") && !e.contains(".cc:"), "ONNX Runtime's source path leaked: {e}");
    // `auto` runs on the CPU instead, and says why.
    let (ok, err, written) = upscale("auto", &env);
    assert!(ok && written, "{err:?}");
    assert!(err.iter().any(|l| l.contains("cpu (missing libcudart.so.13, libcublasLt.so.13")), "{err:?}");
}

#[test]
#[ignore = "needs tools/setup.sh --gpu (NVIDIA's CUDA 13 wheels, 1.3 GB) and a machine without the NVIDIA driver"]
fn cuda_libraries_without_the_driver_name_the_driver() {
    let cuda = Path::new(ROOT).join(".cache/cuda13");
    assert!(cuda.join("libcublasLt.so.13").is_file(), "run tools/setup.sh --gpu");
    let gpu = library("onnxruntime-gpu");
    let env = [("ORT_DYLIB_PATH", gpu.as_path()), ("UPSCALE_CUDA_LIBS", cuda.as_path())];
    let e = {
        let (ok, err, written) = upscale("cuda", &env);
        refusal(ok, &err, written)
    };
    assert!(e.contains("no NVIDIA driver: libcuda.so.1") && e.contains("install the NVIDIA driver"), "{e}");
    assert!(!e.contains("libcublas"), "{e}");
    // One library taken away: only it is named.
    let partial = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(&cuda).unwrap().map(|f| f.unwrap().path()) {
        if f.file_name().is_some_and(|n| n != "libcublasLt.so.13") {
            std::os::unix::fs::symlink(&f, partial.path().join(f.file_name().unwrap())).unwrap();
        }
    }
    let env = [("ORT_DYLIB_PATH", gpu.as_path()), ("UPSCALE_CUDA_LIBS", partial.path())];
    let (ok, err, written) = upscale("cuda", &env);
    let e = refusal(ok, &err, written);
    assert!(e.contains("needs libcublasLt.so.13 (PyPI nvidia-cublas), not found in"), "{e}");
}

#[test]
fn fixed_shapes_pad_crop_and_reuse_their_buffers() {
    let Ok(model::ModelSpec::Net { variants, .. }) = model::resolve(model::DEFAULT_MODEL, None, Default::default())
    else {
        panic!("built-in model")
    };
    let src = &variants.iter().find(|v| v.0 == Some(2)).expect("x2").1;
    let mut net = Network::load("animevideov3", src, Device::Cpu, 2, Some(2)).unwrap();
    let (a, b) = (photo(50, 37), photo(43, 41));
    let (ra, rb) = (net.run(&a).unwrap(), net.run(&b).unwrap());
    let (w, h) = upscale::internals::model::network::fixed_shape(50, 41, 16);
    assert_eq!((w, h), (64, 48));
    for _ in 0..2 {
        let (fa, fb) = (net.run_fixed(&a, w, h).unwrap(), net.run_fixed(&b, w, h).unwrap());
        assert_eq!((fa.width, fa.height, fb.width, fb.height), (100, 74, 86, 82));
        // Only the padding differs from a run at the exact size: far from it, identical.
        assert!(psnr(&fa, &ra) > 30.0 && psnr(&fb, &rb) > 30.0, "{} {}", psnr(&fa, &ra), psnr(&fb, &rb));
        assert!(psnr(&crop(&fa, 60, 50), &crop(&ra, 60, 50)) > 60.0);
    }
    assert!(net.run_fixed(&photo(65, 10), w, h).is_err(), "larger than the shape");
}

fn crop(p: &Planes, w: u32, h: u32) -> Planes {
    let mut o = Planes::new(w, h, 3);
    for c in 0..3 {
        for y in 0..h as usize {
            o.plane_mut(c)[y * w as usize..][..w as usize]
                .copy_from_slice(&p.plane(c)[y * p.width as usize..][..w as usize]);
        }
    }
    o
}

fn photo(w: u32, h: u32) -> Planes {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/coffee.png");
    let img = image::open(path).expect("samples/coffee.png").resize_exact(w, h, image::imageops::FilterType::Lanczos3);
    Planes::from_buffer(&img.to_rgb8())
}

fn psnr(a: &Planes, b: &Planes) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let mse = a.data.iter().zip(&b.data).map(|(x, y)| ((x - y) as f64).powi(2)).sum::<f64>() / a.data.len() as f64;
    10.0 * (1.0 / mse.max(1e-20)).log10()
}

#[test]
fn out_of_memory_retries_the_frame_with_smaller_tiles() {
    let cfg = Config { device: Device::Cpu, tile: 0, threads: 2, ..Config::default() };
    let img = photo(256, 192);
    let tiled = Config { tile: 64, ..cfg.clone() };
    // The cap is ONNX Runtime's arena (OpenVINO, which `auto` may pick on this CPU, has none).
    let ort = Execution { runtime: Runtime::OnnxRuntime, precision: Precision::Fp32 };
    let reference = Engine::with_execution(&tiled, ort).unwrap().upscaler(&tiled).unwrap().upscale(&img).unwrap();
    arena::set_limit(48 << 20);
    let engine = Engine::with_execution(&cfg, ort).unwrap();
    let mut capped = engine.upscaler(&cfg).unwrap();
    assert_eq!(capped.tile_size(256, 192), 0, "starts with the whole picture");
    let notes = Notes::default();
    let out = capped.upscale_with(&img, &notes).unwrap();
    // Out of memory with the whole picture: the frame came back complete with smaller tiles,
    // and the smaller size is kept for the next frames.
    let t = capped.tile_size(256, 192);
    assert!(t > 0 && t < 256, "{t}");
    assert!(psnr(&out, &reference) > 45.0);
    // Said once: the next frame starts with the smaller tiles.
    capped.upscale_with(&img, &notes).unwrap();
    let said = notes.0.lock().unwrap().clone();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].starts_with("out of memory with the whole picture: tiles of "), "{said:?}");
}

/// The notes a run sent.
#[derive(Default)]
struct Notes(std::sync::Mutex<Vec<String>>);

impl Progress for Notes {
    fn event(&self, e: &Event) -> bool {
        if let Event::Note { message } = e {
            self.0.lock().unwrap().push(message.clone());
        }
        true
    }
}

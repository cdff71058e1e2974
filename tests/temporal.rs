//! Temporal stabilisation (issue #27), on real footage from ../shared/media made into clips with
//! the ffmpeg CLI and read back as RGB: what stands still stays still, what moves keeps its
//! detail, a hard cut starts afresh, and `--temporal off` is every frame on its own. The outputs
//! are FFV1 in RGB (lossless), so the frames compared are the program's.

use std::path::Path;

mod common;
use common::{ffmpeg, ffmpeg_out, s, shared_media, upscale_run};

/// The default video network, ×2 on the CPU, written losslessly in RGB.
const NETWORK: &[&str] =
    &["-m", "realesr-animevideov3", "-s", "2", "-d", "cpu", "--codec", "ffv1", "--pix-fmt", "bgr0", "-q", "-y"];

/// A frame of real footage (`name` at `at` seconds), `w`×`h`, as a PNG.
fn still(name: &str, at: &str, w: u32, h: u32, out: &Path) {
    let src = shared_media(name);
    let scale = format!("scale={w}:{h}:flags=area");
    ffmpeg(&["-ss", at, "-i", s(&src), "-frames:v", "1", "-vf", &scale, s(out)]);
}

/// Every frame of `path` as RGB samples, with the frame size.
fn frames(path: &Path) -> (Vec<Vec<u8>>, (usize, usize)) {
    let size =
        common::ffprobe(path, &["-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0"]);
    let mut wh = size.trim().split(',').map(|v| v.parse::<usize>().unwrap());
    let (w, h) = (wh.next().unwrap(), wh.next().unwrap());
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i", s(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success());
    (out.stdout.chunks_exact(w * h * 3).map(<[u8]>::to_vec).collect(), (w, h))
}

fn mse(a: &[u8], b: &[u8]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>() / a.len() as f64
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    10.0 * (255.0f64 * 255.0 / mse(a, b).max(1e-12)).log10()
}

/// Mean squared change from each frame to the next.
fn change(f: &[Vec<u8>]) -> f64 {
    f.windows(2).map(|p| mse(&p[0], &p[1])).sum::<f64>() / (f.len() - 1) as f64
}

/// Mean squared change from each frame to the next, the next moved `dx` pixels back (a pan),
/// over the columns both hold (edges left out).
fn change_panned(f: &[Vec<u8>], (w, h): (usize, usize), dx: usize) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for p in f.windows(2) {
        for y in 0..h {
            for x in 8..w - dx - 8 {
                for c in 0..3 {
                    let a = p[0][(y * w + x + dx) * 3 + c] as f64;
                    let b = p[1][(y * w + x) * 3 + c] as f64;
                    sum += (a - b).powi(2);
                    n += 1;
                }
            }
        }
    }
    sum / n as f64
}

/// Upscales `input` with the network and `--temporal on|off`; the frames written.
fn upscale(input: &Path, temporal: &str, out: &Path) -> (Vec<Vec<u8>>, (usize, usize)) {
    let r = upscale_run(&[&[s(input), "-o", s(out), "--temporal", temporal], NETWORK].concat());
    assert!(r.status.success(), "{}", r.stderr);
    frames(out)
}

/// The input's frames scaled back down by area averaging, against the input's own frames (dB).
fn consistency(out: &Path, input: &Path, (w, h): (usize, usize)) -> f64 {
    let small = out.with_extension("small.mkv");
    let scale = format!("scale={w}:{h}:flags=area");
    ffmpeg(&["-i", s(out), "-vf", &scale, "-c:v", "ffv1", "-pix_fmt", "bgr0", s(&small)]);
    let (a, _) = frames(&small);
    let (b, _) = frames(input);
    a.iter().zip(&b).map(|(x, y)| psnr(x, y)).sum::<f64>() / a.len() as f64
}

/// A still shot with grain (the same picture every frame, fresh noise in each, x264 at crf 16):
/// the network's frames change from one to the next by several times what stabilised ones do.
/// A pan (the picture moving one input pixel a frame): stabilised frames change less along the
/// motion, keep the network's detail (close to the unstabilised frames) and stay as faithful to
/// the input (area-averaged back down) within 0.5 dB.
#[test]
fn still_parts_hold_still_and_moving_parts_keep_their_detail() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (png, wide) = (d.join("still.png"), d.join("wide.png"));
    still("tos.mp4", "1", 160, 90, &png);
    still("sintel.mp4", "1", 200, 90, &wide);

    let grain = d.join("grain.mp4");
    ffmpeg(&[
        "-loop",
        "1",
        "-i",
        s(&png),
        "-vf",
        "noise=alls=3:allf=t",
        "-frames:v",
        "12",
        "-c:v",
        "libx264",
        "-crf",
        "16",
        "-pix_fmt",
        "yuv420p",
        s(&grain),
    ]);
    let (off, _) = upscale(&grain, "off", &d.join("grain_off.mkv"));
    let (on, _) = upscale(&grain, "on", &d.join("grain_on.mkv"));
    assert_eq!((off.len(), on.len()), (12, 12));
    assert_eq!(on[0], off[0], "the first frame has nothing before it");
    let (c_off, c_on) = (change(&off), change(&on));
    assert!(c_on * 2.5 < c_off, "still shot: change between frames {c_on:.3} stabilised, {c_off:.3} not");

    let pan = d.join("pan.mp4");
    ffmpeg(&[
        "-loop",
        "1",
        "-i",
        s(&wide),
        "-vf",
        "crop=160:90:n:0",
        "-frames:v",
        "12",
        "-c:v",
        "libx264",
        "-crf",
        "16",
        "-pix_fmt",
        "yuv420p",
        s(&pan),
    ]);
    let (off_path, on_path) = (d.join("pan_off.mkv"), d.join("pan_on.mkv"));
    let (off, size) = upscale(&pan, "off", &off_path);
    let (on, _) = upscale(&pan, "on", &on_path);
    assert_eq!(size, (320, 180));
    let (p_off, p_on) = (change_panned(&off, size, 2), change_panned(&on, size, 2));
    assert!(p_on < p_off * 0.8, "pan: change along the motion {p_on:.3} stabilised, {p_off:.3} not");
    for (k, (a, b)) in on.iter().zip(&off).enumerate() {
        let db = psnr(a, b);
        assert!(db >= 33.0, "frame {k}: stabilised {db:.1} dB from the network's own: smeared");
    }
    let (k_off, k_on) = (consistency(&off_path, &pan, (160, 90)), consistency(&on_path, &pan, (160, 90)));
    assert!(k_on >= k_off - 0.5, "input consistency {k_on:.2} dB stabilised, {k_off:.2} dB not");
}

/// A hard cut from one shot to another: the first frame after it is exactly the network's own
/// (nothing of the shot before is carried over, no ghost), and stabilisation starts again after
/// it. `--temporal off` is the network's frames as they are.
#[test]
fn a_hard_cut_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a, b) = (d.join("a.png"), d.join("b.png"));
    still("tos.mp4", "1", 160, 90, &a);
    still("sintel.mp4", "1", 160, 90, &b);
    let clip = d.join("cut.mp4");
    ffmpeg(&[
        "-loop", "1", "-i", s(&a), "-loop", "1", "-i", s(&b), "-filter_complex",
        "[0]trim=end_frame=6,setpts=N/25/TB[x];[1]trim=end_frame=6,setpts=N/25/TB[y];[x][y]concat=n=2:v=1,noise=alls=3:allf=t",
        "-r", "25", "-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p", s(&clip),
    ]);
    let (off, _) = upscale(&clip, "off", &d.join("off.mkv"));
    let (on, _) = upscale(&clip, "on", &d.join("on.mkv"));
    assert_eq!((off.len(), on.len()), (12, 12));
    assert_eq!(on[0], off[0]);
    assert_eq!(on[6], off[6], "the first frame after the cut carries something of the shot before");
    for k in [1, 2, 5, 7, 8, 11] {
        assert_ne!(on[k], off[k], "frame {k} was not stabilised");
    }
    // Stabilised frames after the cut come from the second shot alone.
    for k in 7..12 {
        let (x, y) = (psnr(&on[k], &off[k]), psnr(&on[k], &off[5]));
        assert!(x > y + 10.0, "frame {k}: {x:.1} dB from its own, {y:.1} dB from the shot before");
    }
    let probe = ffmpeg_out(&["-i", s(&d.join("on.mkv")), "-map", "0:v", "-f", "framemd5", "-"]);
    assert_eq!(probe.lines().filter(|l| !l.starts_with('#')).count(), 12);
}

//! Animated pictures on the command line (issue 28, point 4): a 10-frame GIF, an APNG and an
//! animated WebP made here (different content per frame; the WebP by FFmpeg's libwebp_anim) are
//! upscaled; the output is decoded and checked for its frame count, delays, loop count and size,
//! and each of its frames is compared by PSNR with the single-picture upscale of that input frame
//! (and found unlike the other frames' upscales).

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, Delay, Frame, RgbaImage};
use upscale::internals::planes::psnr;

use common::{ffmpeg, s, upscale_run, Run};

const FRAMES: u32 = 10;
const W: u32 = 48;
const H: u32 = 32;

/// Frame `i`: a texture whose colours turn with `i`, a bright square moving across it, and
/// (with `alpha`) a transparent band that moves the other way.
fn frame(i: u32, alpha: bool) -> RgbaImage {
    RgbaImage::from_fn(W, H, |x, y| {
        let t = i as f32 * 0.6;
        let v = |k: f32| (127.5 + 110.0 * ((x as f32 * 0.31 + t * k).sin() * (y as f32 * 0.23 - t).cos())) as u8;
        let inside = (x + 48 - i * 4) % 48 < 10 && (8..22).contains(&y);
        let a = if alpha && (x + i * 3) % 48 < 6 { 0 } else { 255 };
        if inside {
            image::Rgba([250, 250 - (i * 20) as u8, 30, a])
        } else {
            image::Rgba([v(1.0), v(2.0), v(3.0), a])
        }
    })
}

/// `upscale ARGS --progress json`, which must succeed.
fn run_ok(args: &[&str]) -> Run {
    let mut a = args.to_vec();
    a.extend(["--progress", "json"]);
    let r = upscale_run(&a);
    assert!(r.status.success(), "upscale {args:?} failed: {}", r.stderr);
    r
}

/// The frames of an animation: composited pictures and delays.
/// The loop count is the number of plays, none for without end.
fn decode(path: &Path) -> (Vec<RgbaImage>, Vec<Delay>, Option<u32>) {
    let bytes = std::fs::read(path).unwrap();
    let r = Cursor::new(bytes);
    let (frames, loops) = match image::guess_format(r.get_ref()).unwrap() {
        image::ImageFormat::Gif => {
            let d = GifDecoder::new(r).unwrap();
            let loops = d.loop_count();
            (d.into_frames().collect_frames().unwrap(), loops)
        }
        image::ImageFormat::Png => {
            let d = PngDecoder::new(r).unwrap().apng().unwrap();
            let loops = d.loop_count();
            (d.into_frames().collect_frames().unwrap(), loops)
        }
        image::ImageFormat::WebP => {
            let d = WebPDecoder::new(r).unwrap();
            let loops = d.loop_count();
            (d.into_frames().collect_frames().unwrap(), loops)
        }
        f => panic!("{}: {f:?} is not an animated format", path.display()),
    };
    let loops = match loops {
        image::metadata::LoopCount::Infinite => None,
        image::metadata::LoopCount::Finite(n) => Some(n.get()),
    };
    let delays = frames.iter().map(Frame::delay).collect();
    (frames.into_iter().map(Frame::into_buffer).collect(), delays, loops)
}

/// The single-picture upscale of each of `frames` with `args` (one folder run of the CLI).
fn references(dir: &Path, frames: &[RgbaImage], args: &[&str]) -> Vec<RgbaImage> {
    let src = dir.join("single");
    let out = dir.join("single_out");
    std::fs::create_dir_all(&src).unwrap();
    for (i, f) in frames.iter().enumerate() {
        f.save(src.join(format!("f{i:02}.png"))).unwrap();
    }
    run_ok(&[&[s(&src), "-o", s(&out)], args].concat());
    (0..frames.len())
        .map(|i| {
            let name = std::fs::read_dir(&out)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("f{i:02}")))
                .unwrap_or_else(|| panic!("no reference for frame {i} in {}", out.display()));
            image::open(name).unwrap().into_rgba8()
        })
        .collect()
}

/// Each output frame matches its own reference at `min_db` or better and every other frame's
/// reference at least 6 dB worse (the frames are different, and in order).
fn assert_frames_match(got: &[RgbaImage], want: &[RgbaImage], min_db: f64) {
    assert_eq!(got.len(), want.len());
    let (mut worst_own, mut best_other) = (f64::INFINITY, 0.0f64);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.dimensions(), want[i].dimensions(), "frame {i}");
        let own = psnr(g.as_raw(), want[i].as_raw());
        assert!(own >= min_db, "frame {i}: {own:.1} dB from its own single-picture upscale");
        for (j, other) in want.iter().enumerate().filter(|(j, _)| *j != i) {
            let p = psnr(g.as_raw(), other.as_raw());
            assert!(p < own - 6.0, "frame {i} is as close to frame {j}'s upscale ({p:.1} dB) as to its own ({own:.1})");
            best_other = best_other.max(p);
        }
        worst_own = worst_own.min(own);
    }
    eprintln!(
        "frames against their own upscale: {worst_own:.1} dB or better; against others': {best_other:.1} dB at best"
    );
}

/// The JSON events of a run: a start counting `FRAMES` frames and a progress event per frame.
fn assert_frames_counted(r: &Run) {
    let events: Vec<serde_json::Value> = r.stderr.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let start = events.iter().find(|e| e["event"] == "start").expect("a start event");
    assert_eq!((start["unit"].as_str(), start["total"].as_u64()), (Some("frames"), Some(FRAMES as u64)), "{start}");
    let done: Vec<u64> = events
        .iter()
        .filter(|e| e["event"] == "progress" && e["unit"] == "frames")
        .filter_map(|e| e["done"].as_u64())
        .collect();
    assert_eq!(done, (1..=FRAMES as u64).collect::<Vec<_>>(), "{}", r.stderr);
    assert!(!events.iter().any(|e| e["unit"] == "tiles"), "tiles counted in an animation: {}", r.stderr);
}

fn write_gif(path: &Path, alpha: bool) {
    let mut enc = GifEncoder::new(std::fs::File::create(path).unwrap());
    enc.set_repeat(Repeat::Finite(2)).unwrap();
    for i in 0..FRAMES {
        let delay = Delay::from_numer_denom_ms(40 + 10 * i, 1);
        enc.encode_frame(Frame::from_parts(frame(i, alpha), 0, 0, delay)).unwrap();
    }
}

#[test]
fn a_gif_keeps_its_ten_frames_delays_and_loop_count() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("walk.gif");
    write_gif(&input, false);
    let (inputs, in_delays, _) = decode(&input);
    assert_eq!(inputs.len(), FRAMES as usize);
    // Without -o: a GIF in, a GIF out.
    let r = run_ok(&[s(&input), "-s", "2"]);
    assert_frames_counted(&r);
    let out = dir.path().join("walk_x2.gif");
    let (got, delays, loops) = decode(&out);
    assert_eq!(got.len(), FRAMES as usize);
    assert_eq!(delays, in_delays);
    assert_eq!(loops, Some(2));
    assert!(got.iter().all(|f| f.dimensions() == (2 * W, 2 * H)));
    // A palette of 256 colours per frame: close to the reference, not equal.
    assert_frames_match(&got, &references(dir.path(), &inputs, &["-s", "2"]), 26.0);
}

#[test]
fn an_apng_keeps_alpha_delays_and_plays_and_each_frame_is_edited() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("spin.png");
    {
        let mut enc = png::Encoder::new(std::fs::File::create(&input).unwrap(), W, H);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_animated(FRAMES, 3).unwrap();
        let mut w = enc.write_header().unwrap();
        for i in 0..FRAMES {
            w.set_frame_delay(1, 8 + i as u16).unwrap();
            w.write_image_data(frame(i, true).as_raw()).unwrap();
        }
        w.finish().unwrap();
    }
    let (inputs, in_delays, _) = decode(&input);
    assert_eq!(inputs.len(), FRAMES as usize);
    assert!(inputs[0].pixels().any(|p| p[3] == 0), "the input has transparency");
    let edit = ["--rotate", "90", "--flip", "h"];
    let out = dir.path().join("spin_big.png");
    let r = run_ok(&[&[s(&input), "-s", "2", "-o", s(&out)][..], &edit].concat());
    assert_frames_counted(&r);
    let (got, delays, loops) = decode(&out);
    assert_eq!(got.len(), FRAMES as usize);
    let ratio = |d: &Delay| d.numer_denom_ms();
    let same = |a: (u32, u32), b: (u32, u32)| a.0 as u64 * b.1 as u64 == b.0 as u64 * a.1 as u64;
    for (d, e) in delays.iter().zip(&in_delays) {
        assert!(same(ratio(d), ratio(e)), "delay {:?} for {:?}", ratio(d), ratio(e));
    }
    assert_eq!(loops, Some(3));
    assert!(got.iter().all(|f| f.dimensions() == (2 * H, 2 * W)), "rotated and doubled");
    assert!(got[0].pixels().any(|p| p[3] == 0) && got[0].pixels().any(|p| p[3] == 255), "alpha kept");
    // Lossless: the same pixels as the single-picture upscale with the same edit, alpha included.
    let mut args = vec!["-s", "2"];
    args.extend(edit);
    assert_frames_match(&got, &references(dir.path(), &inputs, &args), 45.0);
}

#[test]
fn an_animated_webp_keeps_its_frames_and_loops() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..FRAMES {
        frame(i, false).save(dir.path().join(format!("in{i:02}.png"))).unwrap();
    }
    let input = dir.path().join("clip.webp");
    let pattern = dir.path().join("in%02d.png");
    ffmpeg(&["-framerate", "8", "-i", s(&pattern), "-c:v", "libwebp_anim", "-lossless", "1", "-loop", "4", s(&input)]);
    let (inputs, in_delays, _) = decode(&input);
    assert_eq!(inputs.len(), FRAMES as usize, "FFmpeg's animated WebP");
    let r = run_ok(&[s(&input), "-s", "2"]);
    assert_frames_counted(&r);
    let (got, delays, loops) = decode(&dir.path().join("clip_x2.webp"));
    assert_eq!(got.len(), FRAMES as usize);
    assert_eq!(delays, in_delays);
    assert_eq!(loops, Some(4));
    assert!(got.iter().all(|f| f.dimensions() == (2 * W, 2 * H)));
    assert_frames_match(&got, &references(dir.path(), &inputs, &["-s", "2"]), 45.0);
}

#[test]
fn a_gif_as_jpeg_says_only_its_first_frame_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("walk.gif");
    write_gif(&input, false);
    let out = dir.path().join("walk.jpg");
    let r = run_ok(&[s(&input), "-s", "2", "-o", s(&out)]);
    let note = r.stderr.lines().find(|l| l.contains("\"note\"") && l.contains("first of the 10 frames"));
    assert!(note.is_some(), "no note about the frames left out: {}", r.stderr);
    let got = image::open(&out).unwrap().into_rgb8();
    assert_eq!(got.dimensions(), (2 * W, 2 * H));
    // A GIF output of any GIF is accepted (it used to be refused).
    let gif_out = dir.path().join("named.gif");
    run_ok(&[s(&input), "-s", "2", "-o", s(&gif_out)]);
    assert_eq!(decode(&gif_out).0.len(), FRAMES as usize);
}

#[test]
fn an_animation_too_large_for_memory_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("walk.gif");
    write_gif(&input, true);
    let out: PathBuf = dir.path().join("huge.gif");
    let r = upscale_run(&[s(&input), "-m", "nearest", "--width", "65535", "--height", "65535", "-o", s(&out), "-q"]);
    assert_eq!(r.status.code(), Some(2), "{}", r.stderr);
    common::assert_one_error(&r, "walk.gif", "65535x65535");
    assert!(r.stderr.contains("each animation frame"), "{}", r.stderr);
    assert!(!out.exists());
}

#[test]
fn the_page_api_keeps_the_animation_and_its_edit_too() {
    use common::serve::Server;
    use std::time::Duration;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("walk.gif");
    write_gif(&input, false);
    let (inputs, in_delays, _) = decode(&input);
    let srv = Server::start(tmp.path(), &[]);
    // "Same format": a GIF in, a GIF out, sent as one.
    let id = srv.submit("walk.gif", &std::fs::read(&input).unwrap(), &[("scale", "2")]);
    let j = srv.wait(&id, Duration::from_secs(300));
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(j["name"], "walk_x2.gif");
    let r = srv.get(&format!("/api/jobs/{id}/result"));
    assert_eq!(r.header("content-type"), Some("image/gif"));
    let served = tmp.path().join("served.gif");
    std::fs::write(&served, &r.body).unwrap();
    let (got, delays, loops) = decode(&served);
    assert_eq!((got.len(), &delays, loops), (FRAMES as usize, &in_delays, Some(2)));
    assert_frames_match(&got, &references(tmp.path(), &inputs, &["-s", "2"]), 26.0);
    // The page's Apply on it: every frame turned, still an animation.
    let ops = r#"{"operations":[{"op":"rotate","degrees":90}]}"#;
    let r = srv.req("POST", &format!("/api/jobs/{id}/edit"), &[("Content-Type", "application/json")], ops.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let eid = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(srv.wait(&eid, Duration::from_secs(60))["state"], "done");
    let edited = tmp.path().join("edited.gif");
    std::fs::write(&edited, srv.get(&format!("/api/jobs/{eid}/result")).body).unwrap();
    let (turned, delays, _) = decode(&edited);
    assert_eq!((turned.len(), delays), (FRAMES as usize, in_delays));
    assert!(turned.iter().all(|f| f.dimensions() == (2 * H, 2 * W)));
}

/// Unequal delays (ms) for the video tests: every frame's own, none alike in a row.
const VIDEO_DELAYS: [u32; FRAMES as usize] = [100, 50, 200, 30, 70, 120, 40, 90, 60, 250];

/// The start of each frame and the end of the last, in ms, from `delays`.
fn timeline(delays: &[f64]) -> Vec<f64> {
    let mut at = vec![0.0];
    for d in delays {
        at.push(at.last().unwrap() + d);
    }
    at
}

/// What ffprobe reads of a video output: its streams' kinds, the video's codec, size and pixel
/// format, the frames it decodes (counted), each frame's start and the video's end, in ms.
struct Probed {
    kinds: Vec<String>,
    codec: String,
    size: (u32, u32),
    pix_fmt: String,
    frames: u64,
    starts: Vec<f64>,
    end: f64,
}

fn probe_video(path: &Path) -> Probed {
    let streams = common::ffprobe(path, &["-show_entries", "stream=codec_type", "-of", "csv=p=0"]);
    let v = common::ffprobe(
        path,
        &[
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,width,height,pix_fmt,nb_read_frames",
            "-of",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&v).unwrap();
    let st = &v["streams"][0];
    let end = common::ffprobe(path, &["-show_entries", "format=duration", "-of", "csv=p=0"]);
    Probed {
        kinds: streams.lines().map(|l| l.trim().trim_end_matches(',').to_string()).filter(|l| !l.is_empty()).collect(),
        codec: st["codec_name"].as_str().unwrap_or("").to_string(),
        size: (st["width"].as_u64().unwrap() as u32, st["height"].as_u64().unwrap() as u32),
        pix_fmt: st["pix_fmt"].as_str().unwrap_or("").to_string(),
        frames: st["nb_read_frames"].as_str().and_then(|n| n.parse().ok()).unwrap_or(0),
        starts: common::frame_times(path).iter().map(|t| t * 1000.0).collect(),
        end: end.trim().parse::<f64>().unwrap() * 1000.0,
    }
}

/// Each frame starts at the sum of the delays before it and the video ends after the last
/// frame's own delay (its duration kept), within `tolerance_ms`.
fn assert_times(p: &Probed, delays: &[f64], tolerance_ms: f64) {
    let want = timeline(delays);
    assert_eq!(p.starts.len(), delays.len(), "{:?}", p.starts);
    for (i, (got, want)) in p.starts.iter().zip(&want).enumerate() {
        assert!((got - want).abs() <= tolerance_ms, "frame {i} starts at {got} ms, not {want}: {:?}", p.starts);
    }
    let durations: Vec<f64> = p.starts.windows(2).map(|w| w[1] - w[0]).chain([p.end - p.starts[9]]).collect();
    for (i, (got, want)) in durations.iter().zip(delays).enumerate() {
        assert!((got - want).abs() <= 2.0 * tolerance_ms, "frame {i} lasts {got} ms, not {want}: {durations:?}");
    }
}

/// The decoded frames of a video as 8-bit RGB, each `size`.
fn video_frames(path: &Path, (w, h): (u32, u32)) -> Vec<image::RgbImage> {
    let out = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-i",
            s(path),
            "-map",
            "0:v",
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let one = (w * h * 3) as usize;
    assert_eq!(out.stdout.len() % one, 0);
    out.stdout.chunks(one).map(|c| image::RgbImage::from_raw(w, h, c.to_vec()).unwrap()).collect()
}

/// RGBA references laid on black, as a video holds them.
fn on_black(frames: &[RgbaImage]) -> Vec<RgbaImage> {
    frames
        .iter()
        .map(|f| {
            let mut f = f.clone();
            for p in f.pixels_mut() {
                let a = u32::from(p[3]);
                for c in 0..3 {
                    p[c] = ((u32::from(p[c]) * a + 127) / 255) as u8;
                }
                p[3] = 255;
            }
            f
        })
        .collect()
}

fn rgba(frames: Vec<image::RgbImage>) -> Vec<RgbaImage> {
    frames.into_iter().map(|f| image::DynamicImage::ImageRgb8(f).into_rgba8()).collect()
}

#[test]
fn a_gif_as_mp4_has_every_frame_at_its_own_time() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("walk.gif");
    {
        let mut enc = GifEncoder::new(std::fs::File::create(&input).unwrap());
        enc.set_repeat(Repeat::Infinite).unwrap();
        for (i, d) in VIDEO_DELAYS.iter().enumerate() {
            enc.encode_frame(Frame::from_parts(frame(i as u32, false), 0, 0, Delay::from_numer_denom_ms(*d, 1)))
                .unwrap();
        }
    }
    let (inputs, _, _) = decode(&input);
    let out = dir.path().join("walk.mp4");
    let r = run_ok(&[s(&input), "-s", "2", "-o", s(&out)]);
    assert_frames_counted(&r);
    assert!(r.stderr.contains("a video holds no loop count"), "no note about the loop: {}", r.stderr);
    let p = probe_video(&out);
    assert_eq!(p.kinds, ["video"], "one video stream and nothing else");
    assert_eq!((p.codec.as_str(), p.pix_fmt.as_str()), ("h264", "yuv420p"));
    assert_eq!(p.size, (2 * W, 2 * H));
    assert_eq!(p.frames, FRAMES as u64);
    // Variable frame rate: 0, 100, 150, 350 … ms (MP4's time base here is 1/16000 s).
    let delays: Vec<f64> = VIDEO_DELAYS.iter().map(|&d| d as f64).collect();
    assert_times(&p, &delays, 0.5);
    // H.264 4:2:0 at x264's default quality on 96x64 frames of fine colour texture is lossy:
    // measured 28.6-34.9 dB from each frame's single-picture upscale. The codec, not the timing,
    // costs that: on a like clip scaled by lanczos this path gave 28.0-35.1 dB and the ffmpeg
    // tool's libx264 at its defaults on the same pictures as a constant-rate clip 30.0-34.8 dB
    // (4:4:4: 32.4-37.0 dB). 26 dB leaves room for another x264 build; another frame's upscale
    // is at best 12.4 dB away, so each frame is in its place.
    let got = rgba(video_frames(&out, (2 * W, 2 * H)));
    assert_frames_match(&got, &references(dir.path(), &inputs, &["-s", "2"]), 26.0);
}

#[test]
fn an_apng_as_lossless_mkv_is_each_frames_upscale_laid_on_black() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("spin.png");
    // Delays of 1/9 s, 1/10 s, …: not whole milliseconds.
    {
        let mut enc = png::Encoder::new(std::fs::File::create(&input).unwrap(), W, H);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_animated(FRAMES, 1).unwrap();
        let mut w = enc.write_header().unwrap();
        for i in 0..FRAMES {
            w.set_frame_delay(1, 9 + i as u16).unwrap();
            w.write_image_data(frame(i, true).as_raw()).unwrap();
        }
        w.finish().unwrap();
    }
    let (inputs, _, _) = decode(&input);
    let out = dir.path().join("spin.mkv");
    // FFV1 in RGB: lossless, so the frames can be compared exactly.
    let r = run_ok(&[s(&input), "-s", "2", "-o", s(&out), "--codec", "ffv1", "--pix-fmt", "bgr0"]);
    assert_frames_counted(&r);
    assert!(r.stderr.contains("a video holds no transparency"), "no note about alpha: {}", r.stderr);
    assert!(!r.stderr.contains("loop count"), "a source played once is no loss: {}", r.stderr);
    let p = probe_video(&out);
    assert_eq!(
        (p.kinds.as_slice(), p.codec.as_str(), p.pix_fmt.as_str()),
        (&["video".to_string()][..], "ffv1", "bgr0")
    );
    assert_eq!((p.size, p.frames), ((2 * W, 2 * H), FRAMES as u64));
    // Matroska keeps milliseconds: each start within half of one of the exact sums.
    let delays: Vec<f64> = (0..FRAMES).map(|i| 1000.0 / (9 + i) as f64).collect();
    assert_times(&p, &delays, 0.5);
    let want = on_black(&references(dir.path(), &inputs, &["-s", "2"]));
    let got = rgba(video_frames(&out, (2 * W, 2 * H)));
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.as_raw(), w.as_raw(), "frame {i} differs from its upscale laid on black");
    }
}

#[test]
fn an_animation_into_a_format_that_is_not_written_is_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("walk.gif");
    write_gif(&input, false);
    for name in ["walk.avi", "walk.xyz"] {
        let out = dir.path().join(name);
        let r = upscale_run(&[s(&input), "-m", "lanczos", "-s", "2", "-o", s(&out)]);
        assert_eq!(r.status.code(), Some(1), "{}", r.stderr);
        let cause = if name.ends_with("avi") { "a video (.mp4, .mkv, .webm, .mov)" } else { "extension" };
        common::assert_one_error(&r, name, cause);
        assert!(!out.exists());
    }
    // A codec the container cannot hold is refused before any frame is upscaled.
    let out = dir.path().join("walk.webm");
    let r = upscale_run(&[s(&input), "-s", "2", "-o", s(&out), "--codec", "libx264", "--progress", "json"]);
    assert_eq!(r.status.code(), Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("walk.webm: codec 'libx264' cannot be stored in a webm file"), "{}", r.stderr);
    assert!(!r.stderr.contains(r#""event":"start""#), "frames were started: {}", r.stderr);
    assert!(!out.exists());
    // A still picture has no frames to make a video of.
    let still = dir.path().join("still.png");
    frame(0, false).save(&still).unwrap();
    let out = dir.path().join("still.mp4");
    let r = upscale_run(&[s(&still), "-m", "lanczos", "-s", "2", "-o", s(&out)]);
    common::assert_one_error(&r, "still.mp4", "a still picture");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "nothing written beside the inputs: {left:?}");
}

#[test]
fn ctrl_c_during_an_animation_to_video_leaves_no_output() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long.gif");
    {
        let mut enc = GifEncoder::new(std::fs::File::create(&input).unwrap());
        for i in 0..200 {
            enc.encode_frame(Frame::from_parts(frame(i % FRAMES, false), 0, 0, Delay::from_numer_denom_ms(50, 1)))
                .unwrap();
        }
    }
    let out = dir.path().join("long.mp4");
    let err = dir.path().join("stderr");
    let mut child = Command::new(common::bin())
        .args([s(&input), "-o", s(&out), "-s", "2", "-d", "cpu", "--progress", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !std::fs::read_to_string(&err).unwrap().contains(r#""event":"progress","done":2,"#) {
        assert!(child.try_wait().unwrap().is_none(), "finished before it could be interrupted");
        assert!(start.elapsed() < common::HANG_LIMIT, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains(r#""interrupted":true"#), "{stderr}");
    assert!(!stderr.contains(r#""event":"progress","done":200,"#), "it ran to the end: {stderr}");
    // Nothing that could pass for the video, finished or not.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "only the input and stderr: {left:?}");
}

//! Integration tests of the video path: the real binary on small clips made with the ffmpeg CLI
//! (or cut from ../shared/media beside the crate), outputs checked with ffprobe. Nothing here asserts timing.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::{ffmpeg, ffprobe, frame_times, s, with_tone};

const BIN: &str = env!("CARGO_BIN_EXE_upscale");
const MODEL: &[&str] = &["-m", "realesr-animevideov3", "-s", "2", "-d", "cpu"];

/// The `-show_entries` values of the first video stream, e.g. `stream=pix_fmt`, one a line.
/// Only the top-level stream section counts: for MPEG-TS, ffprobe lists each stream a second
/// time inside its program.
fn video_entry(path: &Path, entry: &str) -> String {
    let flat = ffprobe(path, &["-select_streams", "v:0", "-show_entries", entry, "-of", "flat"]);
    let values: Vec<&str> = flat
        .lines()
        .filter(|l| l.starts_with("streams.stream.0."))
        .filter_map(|l| Some(l.split_once('=')?.1.trim_matches('"')))
        .collect();
    values.join("\n")
}

/// `type:codec` of every stream, in order.
fn streams(path: &Path) -> Vec<String> {
    ffprobe(path, &["-show_entries", "stream=codec_type,codec_name", "-of", "csv=p=0"])
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.reverse();
            f.join(":")
        })
        .collect()
}

/// The MD5 of every packet of the first stream of `kind` (`a`, `s`), copied out untouched.
fn packets_md5(path: &Path, kind: &str) -> String {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args(["-map", &format!("0:{kind}:0"), "-c", "copy", "-f", "md5", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `pts,duration` of every packet of the first stream of `kind`, as stored.
fn packet_times(path: &Path, kind: &str) -> String {
    ffprobe(path, &["-select_streams", &format!("{kind}:0"), "-show_entries", "packet=pts,duration", "-of", "csv=p=0"])
}

fn packet_count(path: &Path, kind: &str) -> usize {
    ffprobe(path, &["-select_streams", &format!("{kind}:0"), "-show_entries", "packet=pts", "-of", "csv=p=0"])
        .lines()
        .count()
}

fn upscale(args: &[&str]) -> Output {
    Command::new(BIN).args(args).arg("-q").output().expect("the binary runs")
}

fn ok(out: &Output) {
    assert!(out.status.success(), "upscale failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Files in `dir` other than `keep` (temporary leftovers).
fn others(dir: &Path, keep: &[&Path]) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !keep.iter().any(|k| k == p))
        .collect()
}

fn assert_same_times(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "frame counts differ: {a:?} vs {b:?}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() < 0.0015, "frame {i}: {x} s vs {y} s");
    }
}

/// A clip with moving content: `secs` seconds of testsrc2 at `size`, `rate`, plus extra args.
fn make_clip(out: &Path, size: &str, rate: u32, secs: &str, extra: &[&str]) {
    let src = format!("testsrc2=size={size}:rate={rate}");
    let mut args = vec!["-f", "lavfi", "-i", &src, "-t", secs];
    args.extend_from_slice(extra);
    args.push(s(out));
    ffmpeg(&args);
}

#[test]
fn frames_timestamps_and_audio_are_kept_in_mp4() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in.mp4"), dir.path().join("out.mp4"));
    ffmpeg(&with_tone(&["-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", s(&inp)]));
    let mut args = MODEL.to_vec();
    args.extend([s(&inp), "-o", s(&out)]);
    ok(&upscale(&args));
    assert_eq!(streams(&out), ["video:h264", "audio:aac"]);
    assert_eq!(video_entry(&out, "stream=width,height"), "320\n240");
    let (a, b) = (frame_times(&inp), frame_times(&out));
    assert_eq!(a.len(), 24);
    assert_same_times(&a, &b);
    assert_eq!(packet_count(&inp, "a"), packet_count(&out, "a"));
    assert_eq!(packets_md5(&inp, "a"), packets_md5(&out, "a"));
    assert_eq!(others(dir.path(), &[&inp, &out]), Vec::<PathBuf>::new());
}

#[test]
fn variable_frame_rate_timestamps_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("vfr.mkv"), dir.path().join("out.mkv"));
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=24:duration=0.5",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=7:duration=0.6",
        "-filter_complex",
        "[0:v][1:v]concat=n=2:v=1:a=0,settb=1/1000[v]",
        "-map",
        "[v]",
        "-fps_mode",
        "passthrough",
        "-enc_time_base",
        "-1",
        "-c:v",
        "libx264",
        s(&inp),
    ]);
    let mut args = MODEL.to_vec();
    args.extend([s(&inp), "-o", s(&out)]);
    ok(&upscale(&args));
    let (a, b) = (frame_times(&inp), frame_times(&out));
    let gaps: Vec<f64> = a.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().any(|g| (g - 1.0 / 24.0).abs() < 0.002) && gaps.iter().any(|g| (g - 1.0 / 7.0).abs() < 0.002),
        "the input is not VFR: {a:?}"
    );
    assert_same_times(&a, &b);
}

#[test]
fn chapters_metadata_and_subtitles_are_copied() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, out) = (d.join("in.mkv"), d.join("out.mkv"));
    std::fs::write(
        d.join("meta.txt"),
        ";FFMETADATA1\ntitle=Hello\nartist=Someone\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\n\
         END=500\ntitle=One\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=500\nEND=1000\ntitle=Two\n",
    )
    .unwrap();
    std::fs::write(
        d.join("s.srt"),
        "1\n00:00:00,000 --> 00:00:00,500\nHello\n\n2\n00:00:00,500 --> 00:00:01,000\nWorld\n",
    )
    .unwrap();
    ffmpeg(&with_tone(&[
        "-i",
        s(&d.join("s.srt")),
        "-i",
        s(&d.join("meta.txt")),
        "-map",
        "0",
        "-map",
        "1",
        "-map",
        "2",
        "-map_metadata",
        "3",
        "-map_chapters",
        "3",
        "-t",
        "1",
        "-c:v",
        "libx264",
        "-c:a",
        "libopus",
        "-c:s",
        "srt",
        s(&inp),
    ]));
    let mut args = MODEL.to_vec();
    args.extend([s(&inp), "-o", s(&out)]);
    ok(&upscale(&args));
    assert_eq!(streams(&out), ["video:h264", "audio:opus", "subtitle:subrip"]);
    let chapters =
        |p: &Path| ffprobe(p, &["-show_entries", "chapter=start_time,end_time:chapter_tags=title", "-of", "csv=p=0"]);
    assert_eq!(chapters(&inp), chapters(&out));
    assert!(chapters(&out).contains("Two"));
    let tags = ffprobe(&out, &["-show_entries", "format_tags=title,artist", "-of", "csv=p=0"]);
    assert!(tags.contains("Hello") && tags.contains("Someone"), "{tags}");
    assert_eq!(packets_md5(&inp, "a"), packets_md5(&out, "a"));
    assert_eq!(packets_md5(&inp, "s"), packets_md5(&out, "s"));
    // Opus in Matroska: FFmpeg 5.1's muxer would shift every stream by the pre-skip (7 ms).
    assert_eq!(packet_times(&inp, "a"), packet_times(&out, "a"));
    assert_eq!(packet_times(&inp, "s"), packet_times(&out, "s"));
    assert_same_times(&frame_times(&inp), &frame_times(&out));
}

#[test]
fn ten_bit_colour_tags_and_aspect_ratio_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in.mp4"), dir.path().join("out.mp4"));
    make_clip(
        &inp,
        "160x120",
        24,
        "0.5",
        &[
            "-vf",
            "setsar=4/3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p10le",
            "-colorspace",
            "bt709",
            "-color_primaries",
            "bt709",
            "-color_trc",
            "bt709",
            "-color_range",
            "tv",
        ],
    );
    let mut args = MODEL.to_vec();
    args.extend([s(&inp), "-o", s(&out)]);
    ok(&upscale(&args));
    let facts = "stream=pix_fmt,sample_aspect_ratio,color_space,color_range,color_primaries,\
                 color_transfer";
    assert_eq!(video_entry(&inp, facts), video_entry(&out, facts));
    assert!(video_entry(&out, facts).contains("yuv420p10le"));
    assert!(video_entry(&out, facts).contains("4:3"));
}

#[test]
fn rotation_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, inp, out) = (dir.path().join("plain.mp4"), dir.path().join("in.mp4"), dir.path().join("out.mp4"));
    make_clip(&plain, "160x120", 24, "0.3", &["-c:v", "libx264"]);
    // FFmpeg 5.1's CLI cannot tag a rotation: write a 90° matrix into the track header.
    let mut b = std::fs::read(&plain).unwrap();
    let i = b.windows(4).position(|w| w == b"tkhd").unwrap();
    assert_eq!(b[i + 4], 0, "tkhd version 0");
    let m: [u32; 9] = [0, 0x10000, 0, 0xFFFF_0000, 0, 0, 0, 0, 0x4000_0000];
    for (k, v) in m.iter().enumerate() {
        b[i + 44 + 4 * k..i + 48 + 4 * k].copy_from_slice(&v.to_be_bytes());
    }
    std::fs::write(&inp, b).unwrap();
    let rot = |p: &Path| video_entry(p, "stream_side_data=rotation");
    assert_eq!(rot(&inp), "-90");
    let mut args = MODEL.to_vec();
    args.extend([s(&inp), "-o", s(&out)]);
    ok(&upscale(&args));
    assert_eq!(rot(&out), "-90");
    assert_eq!(video_entry(&out, "stream=width,height"), "320\n240");
}

/// Interlaced MPEG-2 in a transport stream: combed frames in, progressive frames out, as many,
/// at the same times; `--deinterlace off` leaves the combing.
#[test]
fn interlaced_mpeg2_ts_is_deinterlaced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inp = d.join("in.ts");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=50",
        "-f",
        "lavfi",
        "-i",
        "sine=sample_rate=48000",
        "-t",
        "1",
        "-vf",
        "tinterlace=interleave_top,setfield=tff",
        "-c:v",
        "mpeg2video",
        "-flags",
        "+ilme+ildct",
        "-top",
        "1",
        "-q:v",
        "2",
        "-c:a",
        "mp2",
        s(&inp),
    ]);
    let idet = |p: &Path| {
        let o = Command::new("ffmpeg")
            .args(["-hide_banner", "-i", s(p), "-vf", "idet", "-f", "null", "-"])
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&o.stderr).into_owned();
        let line = e.lines().find(|l| l.contains("Multi frame detection")).unwrap_or_default().to_string();
        let num = |k: &str| -> u32 {
            line.split(k).nth(1).and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok()).unwrap_or(0)
        };
        (num("TFF:") + num("BFF:"), num("Progressive:"))
    };
    assert_eq!(video_entry(&inp, "stream=field_order"), "tt");
    assert!(idet(&inp).0 >= 20, "the input is not combed: {:?}", idet(&inp));
    for (mode, combed) in [("auto", false), ("off", true)] {
        let out = d.join(format!("{mode}.mkv"));
        let mut args = MODEL.to_vec();
        args.extend(["--deinterlace", mode, s(&inp), "-o", s(&out)]);
        ok(&upscale(&args));
        let (inter, prog) = idet(&out);
        if combed {
            assert!(inter > prog, "{mode}: {inter} interlaced, {prog} progressive");
        } else {
            assert!(prog >= 20 && inter == 0, "{mode}: {inter} interlaced, {prog} progressive");
            assert_eq!(video_entry(&out, "stream=field_order"), "progressive");
        }
        assert_same_times(&frame_times(&inp), &frame_times(&out));
        assert_eq!(packets_md5(&inp, "a"), packets_md5(&out, "a"));
    }
}

#[test]
fn webm_defaults_to_vp9_and_no_audio_drops_audio() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in.mkv"), dir.path().join("out.webm"));
    ffmpeg(&with_tone(&["-t", "0.5", "-c:v", "libx264", "-c:a", "libopus", s(&inp)]));
    let mut args = MODEL.to_vec();
    args.extend(["--no-audio", s(&inp), "-o", s(&out)]);
    ok(&upscale(&args));
    assert_eq!(streams(&out), ["video:vp9"]);
    assert_eq!(frame_times(&out).len(), frame_times(&inp).len());
}

/// Errors that can be known without a frame: one `error:` line naming the output and the cause,
/// a failure status, and no file left behind (neither the output nor a temporary).
#[test]
fn impossible_encoder_settings_fail_before_any_frame() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("in.mp4");
    make_clip(&inp, "160x120", 24, "0.3", &["-c:v", "libx264"]);
    let cases: &[(&str, &[&str], &str)] = &[
        ("a.mp4", &["--codec", "nosuchcodec"], "codec 'nosuchcodec': no such encoder"),
        ("b.mp4", &["--codec", "ffv1"], "codec 'ffv1' cannot be stored in a mp4 file"),
        ("c.mp4", &["--codec", "aac"], "not a video encoder"),
        ("d.mp4", &["--pix-fmt", "rgb24"], "does not take pixel format 'rgb24'"),
        ("e.mp4", &["--pix-fmt", "nosuchfmt"], "pixel format 'nosuchfmt': unknown"),
        ("f.mp4", &["--encoder-opt", "nosuchopt=1"], "unknown encoder option 'nosuchopt'"),
        ("g.mp4", &["--preset", "nosuchpreset"], "codec 'libx264'"),
        ("h.nosuchext", &[], "h.nosuchext"),
    ];
    for (name, extra, msg) in cases {
        let out = dir.path().join(name);
        let mut args = MODEL.to_vec();
        args.extend_from_slice(extra);
        args.extend([s(&inp), "-o", s(&out)]);
        let o = upscale(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{name}: succeeded");
        let line = err.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
        assert!(line.contains(msg) && line.contains(name), "{name}: expected '{msg}' in: {err}");
        assert!(!err.contains("panic"), "{err}");
        assert_eq!(others(dir.path(), &[&inp]), Vec::<PathBuf>::new(), "{name}");
    }
}

/// Issue 11: `--width 321` gives 321 pixels, not 320 (the encoder used to round the size down to
/// 4:2:0's grid after the resize, silently): an odd size is written in 4:4:4, and a pixel format
/// asked for that cannot hold it is refused before any frame, naming the size and the multiple.
#[test]
fn odd_width_and_height_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("in.mp4");
    make_clip(&inp, "32x24", 10, "0.3", &["-c:v", "libx264", "-pix_fmt", "yuv420p"]);
    for (name, size) in [("odd.mp4", ["--width", "321"]), ("odd.webm", ["--height", "121"])] {
        let out = dir.path().join(name);
        let mut args = MODEL.to_vec();
        args.extend(size);
        args.extend([s(&inp), "-o", s(&out)]);
        ok(&upscale(&args));
        let want = if name.ends_with("mp4") { "321\n241\nyuv444p" } else { "161\n121\nyuv444p" };
        assert_eq!(video_entry(&out, "stream=width,height,pix_fmt"), want, "{name}");
        assert_eq!(frame_times(&out).len(), frame_times(&inp).len(), "{name}");
    }
    let out = dir.path().join("refused.mp4");
    let mut args = MODEL.to_vec();
    args.extend(["--width", "321", "--pix-fmt", "yuv420p", s(&inp), "-o", s(&out)]);
    let o = upscale(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    let line = err.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
    assert!(line.contains("321") && line.contains("multiple of 2") && line.contains("yuv420p"), "{err}");
    assert!(!out.exists() && !err.contains("panic"), "{err}");
}

#[test]
fn existing_output_is_kept_without_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in.mp4"), dir.path().join("out.mp4"));
    make_clip(&inp, "160x120", 24, "0.2", &["-c:v", "libx264"]);
    std::fs::write(&out, b"keep me").unwrap();
    let mut args = MODEL.to_vec();
    args.extend([s(&inp), "-o", s(&out)]);
    let o = upscale(&args);
    assert!(!o.status.success());
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
}

/// Twenty seconds of video with audio: long enough to be interrupted midway by the real model.
fn long_clip(inp: &Path) {
    ffmpeg(&with_tone(&["-t", "20", "-c:v", "libx264", "-c:a", "aac", s(inp)]));
}

/// Runs the real model on `inp` with `--progress json`, sends `signal` (a `kill` name) once 5
/// frames are written, and waits for the end: the exit status, stderr, and the process id.
fn signal_at_frame_5(inp: &Path, out: &Path, signal: &str) -> (std::process::ExitStatus, String, u32) {
    let mut child = Command::new(BIN)
        .args(MODEL)
        .args(["--progress", "json", s(inp), "-o", s(out)])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = Vec::new();
    let mut sent = false;
    for line in stderr.lines() {
        let line = line.unwrap();
        let done = line.split("\"done\":").nth(1).and_then(|r| r.split([',', '}']).next()?.parse::<u64>().ok());
        if !sent && done.is_some_and(|d| d >= 5) {
            let k = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().unwrap();
            assert!(k.success());
            sent = true;
        }
        lines.push(line);
    }
    let status = child.wait().unwrap();
    let err = lines.join("\n");
    assert!(sent, "no progress seen: {err}");
    (status, err, pid)
}

/// The first SIGINT (Ctrl-C) or SIGTERM finishes a playable file of the frames done, renamed
/// into place, and says so.
fn interrupt_finishes_a_playable_file(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in.mp4"), dir.path().join("out.mp4"));
    long_clip(&inp);
    let total = frame_times(&inp).len();
    let (status, err, _) = signal_at_frame_5(&inp, &out, signal);
    assert!(!status.success(), "{signal}: {err}");
    assert!(status.code().is_some(), "{signal}: killed by the signal instead of finishing: {err}");
    assert!(err.contains("interrupted: wrote"), "{signal}: {err}");
    let n = frame_times(&out).len();
    assert!(n >= 5 && n < total, "{signal}: {n} of {total} frames");
    assert!(err.contains(&format!("wrote {n} of {total} frames")), "{signal}: {err}");
    let check = Command::new("ffmpeg").args(["-v", "error", "-i", s(&out), "-f", "null", "-"]).output().unwrap();
    assert!(check.status.success() && check.stderr.is_empty(), "{signal}: the output does not play cleanly");
    assert_eq!(others(dir.path(), &[&inp, &out]), Vec::<PathBuf>::new());
}

#[test]
fn interrupt_finishes_a_shorter_playable_file() {
    interrupt_finishes_a_playable_file("INT");
}

#[test]
fn sigterm_finishes_a_shorter_playable_file() {
    interrupt_finishes_a_playable_file("TERM");
}

/// SIGKILL cannot be caught: nothing is at the output path, and the only thing left is the
/// temporary file (`still::temp_path`: `.upscale.partial-<pid>-<name>`, hidden, the process id
/// in it), an MP4 without its index (written only by the trailer), so nothing plays it as a
/// complete file.
#[test]
fn sigkill_leaves_nothing_at_the_output_path() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in.mp4"), dir.path().join("out.mp4"));
    long_clip(&inp);
    let (status, err, pid) = signal_at_frame_5(&inp, &out, "KILL");
    assert_eq!(status.signal(), Some(9), "{err}");
    assert!(!out.exists(), "a file is at the output path after SIGKILL");
    let partial = dir.path().join(format!(".upscale.partial-{pid}-out.mp4"));
    assert_eq!(others(dir.path(), &[&inp]), vec![partial.clone()]);
    let probe = Command::new("ffprobe").args(["-v", "error"]).arg(&partial).output().unwrap();
    assert!(!probe.status.success(), "the partial file opens as a complete video");
    assert!(String::from_utf8_lossy(&probe.stderr).contains("moov atom not found"));
}

/// A frame through the pipeline and the same decoded frame through the image path agree (the
/// output is lossless 4:4:4, so only the YUV rounding is between them). Frame by frame, so
/// with `--temporal off` (stabilised frames also hold the frames before: tests/temporal.rs).
#[test]
fn pipeline_frames_match_the_image_path() {
    pipeline_matches_image_path("fp32", upscale::config::Precision::Fp32);
}

#[test]
fn int8_pipeline_frames_match_the_int8_image_path() {
    pipeline_matches_image_path("int8", upscale::config::Precision::Int8);
}

fn pipeline_matches_image_path(arg: &str, precision: upscale::config::Precision) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, out) = (d.join("in.mkv"), d.join("out.mkv"));
    make_clip(&inp, "160x120", 24, "0.25", &["-c:v", "ffv1", "-pix_fmt", "bgr0"]);
    let mut args = MODEL.to_vec();
    args.extend(["--precision", arg, "--temporal", "off", "--codec", "ffv1", "--pix-fmt", "yuv444p"]);
    args.extend([s(&inp), "-o", s(&out)]);
    ok(&upscale(&args));
    let n = frame_times(&inp).len();
    assert_eq!(frame_times(&out).len(), n);
    for (f, pat) in [(&inp, "in%02d.png"), (&out, "out%02d.png")] {
        ffmpeg(&["-i", s(f), "-pix_fmt", "rgb24", s(&d.join(pat))]);
    }
    let cfg = upscale::Config {
        model: Some("realesr-animevideov3".into()),
        scale: 2,
        device: upscale::Device::Cpu,
        precision,
        ..upscale::Config::default()
    };
    let engine = upscale::Engine::new(&cfg).unwrap();
    let mut up = engine.upscaler(&cfg).unwrap();
    for k in [1, n] {
        let frame = image::open(d.join(format!("in{k:02}.png"))).unwrap().to_rgb8();
        let want = up.upscale_rgb8(&frame).unwrap();
        let got = image::open(d.join(format!("out{k:02}.png"))).unwrap().to_rgb8();
        assert_eq!(want.dimensions(), got.dimensions());
        let p = upscale::internals::planes::psnr(want.as_raw(), got.as_raw());
        assert!(p >= 40.0, "{arg} frame {k}: {p:.1} dB");
    }
}

/// Real footage: one second of Big Buck Bunny (H.264 + AAC) keeps its frames, duration,
/// streams and audio packets.
#[test]
fn bbb_one_second_keeps_everything() {
    let src = &common::shared_media("bbb.mp4");
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("bbb1.mp4"), dir.path().join("out.mp4"));
    ffmpeg(&["-i", s(src), "-t", "1", "-c", "copy", s(&inp)]);
    let mut args = MODEL.to_vec();
    args.extend([s(&inp), "-o", s(&out)]);
    ok(&upscale(&args));
    let kinds = |p: &Path| -> Vec<String> {
        streams(p).into_iter().map(|s| s.split(':').next().unwrap_or("").to_string()).collect()
    };
    assert_eq!(kinds(&inp), kinds(&out));
    assert_same_times(&frame_times(&inp), &frame_times(&out));
    let dur = |p: &Path| -> f64 {
        ffprobe(p, &["-show_entries", "format=duration", "-of", "csv=p=0"]).trim().parse().unwrap()
    };
    assert!((dur(&inp) - dur(&out)).abs() < 0.05, "{} vs {}", dur(&inp), dur(&out));
    assert_eq!(packet_count(&inp, "a"), packet_count(&out, "a"));
    assert_eq!(packets_md5(&inp, "a"), packets_md5(&out, "a"));
    assert_eq!(video_entry(&out, "stream=width,height"), "640\n352");
}

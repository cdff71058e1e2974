//! `--resume`: a job killed part-way and run again ends in the very frames of an uninterrupted
//! run, without redoing its finished segments; a work folder of another job is refused. Inputs
//! are made with the ffmpeg CLI, outputs checked with ffmpeg/ffprobe; the kills are triggered by
//! the job's own `--progress json` lines, never by timing.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::{ffmpeg_out, s, with_tone};

const BIN: &str = env!("CARGO_BIN_EXE_upscale");
/// A deterministic, lossless encoding: decoded frames equal what was encoded.
const ARGS: &[&str] =
    &["-m", "realesr-animevideov3", "-s", "2", "-d", "cpu", "--codec", "libx264", "--encoder-opt", "qp=0"];
const RESUME: &[&str] = &["--resume", "--segment-frames", "24"];

/// testsrc2 160x120 at 24 fps with a sine AAC track, keyframes every 20 frames (not on the
/// segment boundaries, so resuming has to seek back and decode up to the boundary).
fn make_clip(out: &Path, secs: &str) {
    ffmpeg_out(&with_tone(&[
        "-t",
        secs,
        "-c:v",
        "libx264",
        "-g",
        "20",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        s(out),
    ]));
}

/// One line per decoded video frame: timestamps, size and the MD5 of its pixels.
fn frame_md5s(path: &Path) -> Vec<String> {
    let out = ffmpeg_out(&["-i", s(path), "-map", "0:v", "-f", "framemd5", "-"]);
    out.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect()
}

fn video_pts(path: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end_matches(',').to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn audio_md5(path: &Path) -> String {
    ffmpeg_out(&["-i", s(path), "-map", "0:a", "-c", "copy", "-f", "md5", "-"]).trim().to_string()
}

/// The `done` count of a `--progress json` progress line.
fn done(line: &str) -> Option<u64> {
    line.contains("\"event\":\"progress\"").then_some(())?;
    line.split("\"done\":").nth(1)?.split([',', '}']).next()?.parse().ok()
}

/// Runs the binary with `--progress json`; with `kill_at`, SIGKILLs it once it reports that
/// many frames done. Returns its stderr lines and whether it exited successfully.
fn run(args: &[&str], kill_at: Option<u64>) -> (Vec<String>, bool) {
    let mut child = Command::new(BIN)
        .args(args)
        .args(["--progress", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut killed = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if !killed && kill_at.is_some_and(|k| done(&line).is_some_and(|d| d >= k)) {
            child.kill().unwrap();
            killed = true;
        }
        lines.push(line);
    }
    let status = child.wait().unwrap();
    assert_eq!(killed, kill_at.is_some(), "not killed: {lines:#?}");
    (lines, status.success())
}

/// A file's identity and modification time: unchanged when it was not rewritten.
fn stamp(p: &Path) -> (u64, i64, i64) {
    let m = std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.ino(), m.mtime(), m.mtime_nsec())
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn killed_job_resumes_to_the_frames_of_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, reference, out) = (d.join("in.mp4"), d.join("ref.mp4"), d.join("out.mp4"));
    let work = d.join("out.mp4.upscale-work");
    make_clip(&inp, "4");
    let (lines, ok) = run(&[ARGS, &[s(&inp), "-o", s(&reference)]].concat(), None);
    assert!(ok, "{lines:#?}");
    let job = [ARGS, RESUME, &[s(&inp), "-o", s(&out)]].concat();
    let seg = |i: usize| work.join(format!("segment-{i:05}.packets"));

    // Killed inside the third segment: two are finished, nothing is at the output path.
    let (lines, ok) = run(&job, Some(50));
    assert!(!ok);
    assert!(!out.exists(), "{lines:#?}");
    assert!(seg(0).exists() && seg(1).exists() && !seg(2).exists(), "{:?}", listing(&work));
    let first_two = (stamp(&seg(0)), stamp(&seg(1)));

    // Resumed, and killed again one segment later: the finished segments were not rewritten.
    let (lines, ok) = run(&job, Some(74));
    assert!(!ok && !out.exists());
    assert!(lines.iter().any(|l| l.contains("resuming after frame 48: 2 segments done")), "{lines:#?}");
    assert_eq!(lines.iter().find_map(|l| done(l)), Some(48), "{lines:#?}");
    assert_eq!((stamp(&seg(0)), stamp(&seg(1))), first_two);
    assert!(seg(2).exists(), "{:?}", listing(&work));

    // Resumed to the end.
    let (lines, ok) = run(&job, None);
    assert!(ok, "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("resuming after frame 72: 3 segments done")), "{lines:#?}");
    assert_eq!(lines.iter().find_map(|l| done(l)), Some(72), "{lines:#?}");

    let (want, got) = (frame_md5s(&reference), frame_md5s(&out));
    assert_eq!(got.len(), 96);
    assert_eq!(want, got, "decoded frames differ from the uninterrupted run's");
    assert_eq!(video_pts(&inp), video_pts(&out));
    assert_eq!(audio_md5(&inp), audio_md5(&out));
    assert!(!work.exists(), "{:?}", listing(&work));
    assert_eq!(listing(d), ["in.mp4", "out.mp4", "ref.mp4"]);
}

#[test]
fn work_folder_of_other_settings_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, out) = (d.join("in.mp4"), d.join("out.mp4"));
    let work = d.join("out.mp4.upscale-work");
    make_clip(&inp, "2");
    let job = |scale: &str| -> Vec<String> {
        let mut a: Vec<String> = ARGS.iter().map(|a| a.to_string()).collect();
        a[3] = scale.into();
        a.extend(["--resume", "--segment-frames", "2", s(&inp), "-o", s(&out)].map(String::from));
        a
    };
    let args = job("2");
    let (lines, _) = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), Some(2));
    let manifest = std::fs::read(work.join("manifest")).unwrap_or_else(|e| panic!("{e}: {lines:#?}"));

    let o = Command::new(BIN).args(job("3")).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("out.mp4") && errors[0].contains("scale was 2, now 3"), "{err}");
    assert!(errors[0].contains("remove it, or run without --resume"), "{err}");
    assert!(!err.contains("panic"), "{err}");
    assert!(!out.exists());
    assert_eq!(std::fs::read(work.join("manifest")).unwrap(), manifest, "the work folder was changed");
}

/// Matroska keeps no decoding timestamps and H.264 with B-frames needs them: the segments hold
/// the encoder's packets themselves, so the joined file decodes cleanly, frame for frame at the
/// one-pass run's times (a classic resizer keeps this quick).
#[test]
fn segments_of_b_frame_h264_join_into_matroska() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, one, out) = (d.join("in.mkv"), d.join("one.mkv"), d.join("out.mkv"));
    ffmpeg_out(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=30",
        "-f",
        "lavfi",
        "-i",
        "sine=sample_rate=48000",
        "-t",
        "2",
        "-c:v",
        "libx264",
        "-bf",
        "3",
        "-c:a",
        "libopus",
        s(&inp),
    ]);
    let base = ["-m", "lanczos", "-s", "2", "-q", s(&inp), "-o"];
    for (o, extra) in [(&one, &[][..]), (&out, &["--resume", "--segment-frames", "7"][..])] {
        let r = Command::new(BIN).args(base).arg(o).args(extra).output().unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let decode = Command::new("ffmpeg").args(["-v", "error", "-i", s(&out), "-f", "null", "-"]).output().unwrap();
    assert!(decode.status.success() && decode.stderr.is_empty(), "{}", String::from_utf8_lossy(&decode.stderr));
    let has_b = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v", "-show_entries", "frame=pict_type", "-of", "csv=p=0", s(&out)])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&has_b.stdout).contains('B'), "no B-frames: the case is not tested");
    assert_eq!(video_pts(&one), video_pts(&out));
    assert_eq!(video_pts(&out).len(), 60);
    assert_eq!(audio_md5(&inp), audio_md5(&out));
    assert_eq!(listing(d), ["in.mkv", "one.mkv", "out.mkv"]);
}

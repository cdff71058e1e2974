//! Segments on one machine. `--resume`: a job killed part-way and run again ends in the very
//! frames of an uninterrupted run, without redoing its finished segments; a work folder of
//! another job is refused. `upscale job` run by hand: every index (from `--index` or the
//! schedulers' variables), a second run a no-op, exit 2 for what no retry fixes, a join that
//! names a segment out of place, VFR and MP4. Inputs are made with the ffmpeg CLI, outputs
//! checked with ffmpeg/ffprobe; the kills are triggered by the job's own `--progress json`
//! lines, never by timing.

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
const RESUME: &[&str] = &["--resume", "--segment-frames", "40"];

/// testsrc2 160x120 at 24 fps with a sine AAC track, keyframes every 20 frames: with
/// `--segment-frames 40` the segments are cut at frames 40 and 80.
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
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    (v["event"] == "progress").then_some(())?;
    v["done"].as_u64()
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

    // Killed inside the second segment: the first is finished, nothing is at the output path.
    let (lines, ok) = run(&job, Some(50));
    assert!(!ok);
    assert!(!out.exists(), "{lines:#?}");
    let plan = std::fs::read_to_string(work.join("plan.json")).unwrap();
    assert_eq!(plan.matches("\"frames\": 40,").count(), 2, "segments of 40, 40 and 16 frames: {plan}");
    assert!(seg(0).exists() && !seg(1).exists(), "{:?}", listing(&work));
    let first = stamp(&seg(0));

    // Resumed, and killed again in the last segment: the finished one was not rewritten.
    let (lines, ok) = run(&job, Some(85));
    assert!(!ok && !out.exists());
    assert!(lines.iter().any(|l| l.contains("resuming after frame 40: 1 of 3 segments done")), "{lines:#?}");
    assert_eq!(lines.iter().find_map(|l| done(l)), Some(40), "{lines:#?}");
    assert_eq!(stamp(&seg(0)), first);
    assert!(seg(1).exists() && !seg(2).exists(), "{:?}", listing(&work));

    // Resumed to the end.
    let (lines, ok) = run(&job, None);
    assert!(ok, "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("resuming after frame 80: 2 of 3 segments done")), "{lines:#?}");
    assert_eq!(lines.iter().find_map(|l| done(l)), Some(80), "{lines:#?}");

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
    let plan = std::fs::read(work.join("plan.json")).unwrap_or_else(|e| panic!("{e}: {lines:#?}"));

    let o = Command::new(BIN).args(job("3")).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("out.mp4") && errors[0].contains("scale was 2, now 3"), "{err}");
    assert!(errors[0].contains("remove it, or work without resuming"), "{err}");
    assert!(!err.contains("panic"), "{err}");
    assert!(!out.exists());
    assert_eq!(std::fs::read(work.join("plan.json")).unwrap(), plan, "the work folder was changed");
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

/// Runs the binary; returns (exit code, stdout, stderr).
fn upscale(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let o = Command::new(BIN)
        .args(args)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .env_remove("BATCH_TASK_INDEX")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
}

/// The one `error:` line of a failed step's stderr.
fn error_line(err: &str) -> &str {
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(!err.contains("panic"), "{err}");
    lines[0]
}

/// A variable-frame-rate MP4 (frame durations of 25, 40 and 55 ms; B-frames; AAC) cut in three
/// by `job plan`, each index run as a scheduler would start it, then joined into MP4: frame for
/// frame and at the very timestamps of a one-pass run, audio bit-identical. A second run of an
/// index does nothing; what no retry can fix is exit 2 with one error line; the join refuses a
/// segment that is not the planned one, naming it.
#[test]
fn job_steps_by_hand_join_a_vfr_clip_into_mp4() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, one, out) = (d.join("in.mp4"), d.join("one.mp4"), d.join("out.mp4"));
    ffmpeg_out(&with_tone(&[
        "-t",
        "3",
        "-vf",
        "settb=1/1000,setpts=N*40+if(mod(N\\,5)\\,0\\,15)",
        "-fps_mode",
        "passthrough",
        "-enc_time_base",
        "1:1000",
        "-video_track_timescale",
        "1000",
        "-c:v",
        "libx264",
        "-g",
        "15",
        "-bf",
        "2",
        "-c:a",
        "aac",
        "-shortest",
        s(&inp),
    ]));
    let pts = video_pts(&inp);
    let gaps: std::collections::BTreeSet<String> =
        pts.windows(2).map(|w| format!("{:.3}", w[1].parse::<f64>().unwrap() - w[0].parse::<f64>().unwrap())).collect();
    assert!(gaps.len() >= 2, "not variable frame rate: {gaps:?}");
    let opts = ["-m", "lanczos", "-s", "2", "--encoder-opt", "qp=0"];
    let (code, _, err) = upscale(&[&opts[..], &["-q", s(&inp), "-o", s(&one)]].concat(), &[]);
    assert_eq!(code, 0, "{err}");

    let (code, printed, err) =
        upscale(&[&["job", "plan", s(&inp), "-o", s(&out), "--segments", "3"], &opts[..]].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let work = d.join("out.mp4.upscale-work");
    let w = s(&work);
    assert_eq!(printed, format!("{w}\n3\n"));
    // A plan is never replaced.
    let (code, _, err) =
        upscale(&[&["job", "plan", s(&inp), "-o", s(&out), "--segments", "2"], &opts[..]].concat(), &[]);
    assert!(code == 2 && error_line(&err).contains("already planned"), "{code} {err}");

    let (code, _, err) = upscale(&["job", "run", w, "-q"], &[("SLURM_ARRAY_TASK_ID", "0")]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = upscale(&["job", "run", w, "-q"], &[("JOB_COMPLETION_INDEX", "2")]);
    assert_eq!(code, 0, "{err}");
    let (_, missing, _) = upscale(&["job", "status", w, "--missing"], &[]);
    assert_eq!(missing, "1\n");
    // The join refuses while a segment is missing, naming it.
    let (code, _, err) = upscale(&["job", "join", w], &[]);
    assert!(code == 1 && error_line(&err).contains("segment 1 (segment-00001.packets) is not done"), "{err}");
    assert!(!out.exists());
    let (code, _, err) = upscale(&["job", "run", w, "--index", "1", "-q"], &[]);
    assert_eq!(code, 0, "{err}");
    let seg = |i: usize| work.join(format!("segment-{i:05}.packets"));
    let before = stamp(&seg(1));
    let (code, _, err) = upscale(&["job", "run", w, "--index", "1"], &[]);
    assert!(code == 0 && err.contains("segment 1: done before"), "{err}");
    assert_eq!(stamp(&seg(1)), before, "a done segment was rewritten");

    // Exit 2: no index, an index out of range, a plan this build cannot read or whose FFmpeg
    // differs; nothing of the work folder changes.
    let (code, _, err) = upscale(&["job", "run", w], &[]);
    assert!(code == 2 && error_line(&err).contains("no index"), "{code} {err}");
    let (code, _, err) = upscale(&["job", "run", w, "--index", "3"], &[]);
    assert!(code == 2 && error_line(&err).contains("index 3 out of range: the plan has 3 segments"), "{err}");
    let plan = std::fs::read_to_string(work.join("plan.json")).unwrap();
    let other = d.join("other.mp4.upscale-work");
    std::fs::create_dir(&other).unwrap();
    let ffmpeg = plan.lines().find(|l| l.contains("\"ffmpeg\"")).unwrap();
    let comma = if ffmpeg.trim_end().ends_with(',') { "," } else { "" };
    std::fs::write(other.join("plan.json"), plan.replace(ffmpeg, &format!("    \"ffmpeg\": \"4.4\"{comma}"))).unwrap();
    let (code, _, err) = upscale(&["job", "run", s(&other), "--index", "0"], &[]);
    assert!(code == 2 && error_line(&err).contains("FFmpeg differs: the plan has 4.4"), "{code} {err}");
    std::fs::write(other.join("plan.json"), "{\"version\": 7}").unwrap();
    let (code, _, err) = upscale(&["job", "run", s(&other), "--index", "0"], &[]);
    assert!(code == 2 && error_line(&err).contains("plan version 7"), "{code} {err}");

    // A segment that is not the planned one (here: another segment's file) is refused by name.
    let keep = std::fs::read(seg(1)).unwrap();
    std::fs::copy(seg(2), seg(1)).unwrap();
    let (code, _, err) = upscale(&["job", "join", w], &[]);
    let e = error_line(&err);
    assert!(code == 1 && e.contains("segment-00001.packets: segment 1: a gap: it holds"), "{err}");
    assert!(!out.exists());
    std::fs::write(seg(1), keep).unwrap();

    let (code, _, err) = upscale(&["job", "join", w], &[]);
    assert_eq!(code, 0, "{err}");
    let (want, got) = (frame_md5s(&one), frame_md5s(&out));
    assert_eq!(got.len(), pts.len());
    assert_eq!(want, got, "decoded frames differ from the one-pass run's");
    assert_eq!(video_pts(&out), pts);
    assert_eq!(audio_md5(&inp), audio_md5(&out));
    let (_, status, _) = upscale(&["job", "status", w], &[]);
    assert!(status.starts_with("3 of 3 segments done"), "{status}");
}

/// An interlaced clip is deinterlaced (bwdif, which reads the frames on both sides): each
/// segment's worker starts a keyframe early and reads one frame past its end, so the frames at
/// the cuts come out as in a one-pass run.
#[test]
fn interlaced_segments_deinterlace_as_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, one, out) = (d.join("in.mkv"), d.join("one.mkv"), d.join("out.mkv"));
    ffmpeg_out(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=50",
        "-t",
        "3",
        "-vf",
        "tinterlace=interleave_top,setfield=tff",
        "-c:v",
        "libx264",
        "-flags",
        "+ildct+ilme",
        "-x264opts",
        "tff=1",
        "-g",
        "15",
        s(&inp),
    ]);
    let opts = ["-m", "lanczos", "-s", "2", "--encoder-opt", "qp=0", "-q"];
    let (code, _, err) = upscale(&[&opts[..], &[s(&inp), "-o", s(&one)]].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) =
        upscale(&[&["job", "plan", s(&inp), "-o", s(&out), "--segments", "3"], &opts[..]].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let work = d.join("out.mkv.upscale-work");
    let plan = std::fs::read_to_string(work.join("plan.json")).unwrap();
    assert!(plan.contains("\"deinterlace\": \"on\""), "{plan}");
    for i in ["2", "0", "1"] {
        let (code, _, err) = upscale(&["job", "run", s(&work), "--index", i, "-q"], &[]);
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = upscale(&["job", "join", s(&work), "-q"], &[]);
    assert_eq!(code, 0, "{err}");
    let (want, got) = (frame_md5s(&one), frame_md5s(&out));
    assert_eq!(got.len(), 75);
    assert_eq!(want, got, "frames at the cuts differ from the one-pass run's");
}

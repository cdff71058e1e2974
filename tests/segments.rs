//! Segments cut at any frame, and the defects found while using segments and folders (issue 21),
//! each with the real tools: clips made with the ffmpeg CLI, outputs read back with
//! ffmpeg/ffprobe, workers killed with SIGKILL when their own `--progress json` says how far they
//! are (never by timing).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::{ffmpeg_out, s};

const BIN: &str = env!("CARGO_BIN_EXE_upscale");
/// The real model on the CPU, and a lossless encoding: decoded frames are what was encoded.
const MODEL: &[&str] =
    &["-m", "realesr-animevideov3", "-s", "2", "-d", "cpu", "--codec", "libx264", "--encoder-opt", "qp=0"];
/// A classic resizer where the model adds nothing to what is tested.
const LANCZOS: &[&str] = &["-m", "lanczos", "-s", "2", "--codec", "libx264", "--encoder-opt", "qp=0"];
/// Every variable `job run` reads its index from.
const INDEX_VARIABLES: &[&str] =
    &["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "BATCH_TASK_INDEX"];

/// Runs the binary with none of the schedulers' index variables but `env`; returns (exit code,
/// stdout, stderr).
fn upscale(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for v in INDEX_VARIABLES {
        cmd.env_remove(v);
    }
    let o = cmd.envs(env.iter().copied()).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let r = (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr));
    assert!(!r.2.contains("panicked"), "{}", r.2);
    r
}

/// The one `error:` line of a failed step's stderr.
fn error_line(err: &str) -> &str {
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    lines[0]
}

/// One line per decoded video frame: timestamps, size and the MD5 of its pixels.
fn frame_md5s(path: &Path) -> Vec<String> {
    let out = ffmpeg_out(&["-i", s(path), "-map", "0:v", "-f", "framemd5", "-"]);
    out.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect()
}

/// The indices (in presentation order) of the keyframes of `path`'s video.
fn keyframes(path: &Path) -> Vec<usize> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=key_frame", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // One line per frame, and lines for side data (x264's SEI on each encode's first frame).
    let flags = text.lines().map(|l| l.trim_end_matches(',')).filter(|l| *l == "0" || *l == "1");
    flags.enumerate().filter(|(_, k)| *k == "1").map(|(i, _)| i).collect()
}

/// 75 frames of 10-bit HEVC with one keyframe (x265's interval is 250 frames, scene cuts off):
/// what every short clip from x265 looks like.
fn one_keyframe_clip(out: &Path) {
    ffmpeg_out(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=96x64:rate=25",
        "-frames:v",
        "75",
        "-c:v",
        "libx265",
        "-pix_fmt",
        "yuv420p10le",
        "-x265-params",
        "scenecut=0:log-level=error",
        s(out),
    ]);
    assert_eq!(keyframes(out), [0], "the input must have one keyframe");
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// The `done` count of a `--progress json` progress line.
fn done(line: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    (v["event"] == "progress").then_some(())?;
    v["done"].as_u64()
}

/// Runs the binary with `--progress json` and SIGKILLs it once it reports `kill_at` frames
/// done; fails the test if it ended before. Returns its stderr lines.
fn run_killed(args: &[&str], kill_at: u64) -> Vec<String> {
    let mut cmd = Command::new(BIN);
    for v in INDEX_VARIABLES {
        cmd.env_remove(v);
    }
    let mut child =
        cmd.args(args).args(["--progress", "json"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = Vec::new();
    let mut killed = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if !killed && done(&line).is_some_and(|d| d >= kill_at) {
            child.kill().unwrap();
            killed = true;
        }
        lines.push(line);
    }
    let status = child.wait().unwrap();
    assert!(killed && !status.success(), "not killed: {lines:#?}");
    lines
}

/// A clip with a single keyframe planned in 4 segments gives 4 equal shares (each worker decodes
/// from the keyframe before its first frame and drops what precedes it); each segment starts with
/// a keyframe of its own in the output, the join is a remux, and the frames are those of the
/// one-machine run. Asking for more segments than frames is refused, saying why.
#[test]
fn a_one_keyframe_clip_cuts_into_equal_segments_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, one, out) = (d.join("in.mkv"), d.join("one.mkv"), d.join("out.mkv"));
    one_keyframe_clip(&inp);
    let (code, _, err) = upscale(&[MODEL, &["-q", s(&inp), "-o", s(&one)]].concat(), &[]);
    assert_eq!(code, 0, "{err}");

    let (code, printed, err) =
        upscale(&[&["job", "plan", s(&inp), "-o", s(&out), "--segments", "4"], MODEL].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let work = d.join("out.mkv.upscale-work");
    assert_eq!(printed, format!("{}\n4\n", work.display()));
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("plan.json")).unwrap()).unwrap();
    let frames: Vec<u64> = plan["segments"].as_array().unwrap().iter().map(|s| s["frames"].as_u64().unwrap()).collect();
    assert_eq!(frames, [18, 19, 19, 19]);
    // What the engine resolved, typed: read back by every worker.
    // The precision is `auto` for a 10-bit source: fp32 (bf16, `auto`'s choice for 8-bit video
    // on a CPU with AVX512_BF16/AMX, would band 10-bit steps), as the one-machine run resolves
    // it, recorded with its runtime so every worker runs the same arithmetic.
    let settings = &plan["settings"];
    assert_eq!(settings["device"].as_str(), Some("cpu"));
    assert_eq!(settings["precision"].as_str(), Some("fp32"), "{settings}");
    assert_eq!(settings["execution"]["precision"].as_str(), Some("fp32"), "{settings}");
    assert_eq!(plan["settings"]["passes"], serde_json::json!([2]));
    assert_eq!(plan["settings"]["model_files"][0]["sha256"].as_str().map(str::len), Some(64));

    for i in ["3", "1", "0", "2"] {
        let (code, _, err) = upscale(&["job", "run", s(&work), "--index", i, "-q"], &[]);
        assert_eq!(code, 0, "index {i}: {err}");
    }
    let (code, _, err) = upscale(&["job", "join", s(&work), "-q"], &[]);
    assert_eq!(code, 0, "{err}");
    let (want, got) = (frame_md5s(&one), frame_md5s(&out));
    assert_eq!(got.len(), 75);
    assert_eq!(want, got, "decoded frames differ from the one-machine run's");
    assert_eq!(keyframes(&out), [0, 18, 37, 56], "each segment starts with a keyframe");

    // More segments than frames: said, not changed; nothing is planned.
    let other = d.join("other.mkv");
    let (code, _, err) =
        upscale(&[&["job", "plan", s(&inp), "-o", s(&other), "--segments", "76"], LANCZOS].concat(), &[]);
    let e = error_line(&err);
    assert!(code == 2 && e.contains("--segments 76") && e.contains("75 frames"), "{code} {err}");
    assert!(!d.join("other.mkv.upscale-work").exists());
}

/// A worker killed with SIGKILL leaves its partial file; the next run of that index removes it
/// (and says so), while a live worker's file would be left alone (see `store.rs`'s unit test).
#[test]
fn a_killed_workers_partial_file_is_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, out) = (d.join("in.mkv"), d.join("out.mkv"));
    one_keyframe_clip(&inp);
    let (code, _, err) = upscale(&[&["job", "plan", s(&inp), "-o", s(&out), "--segments", "2"], MODEL].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let work = d.join("out.mkv.upscale-work");
    let partials = || listing(&work).into_iter().filter(|n| n.contains(".partial-")).collect::<Vec<_>>();

    let lines = run_killed(&["job", "run", s(&work), "--index", "1"], 3);
    let left = partials();
    assert_eq!(left.len(), 1, "{left:?} {lines:#?}");
    assert!(left[0].starts_with("segment-00001.partial-"), "{left:?}");

    let (code, _, err) = upscale(&["job", "run", s(&work), "--index", "1"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("removed {}, left by a worker that stopped", left[0])), "{err}");
    assert_eq!(partials(), Vec::<String>::new());
    assert_eq!(listing(&work), ["plan.json", "segment-00001.packets"]);
}

/// `job run` takes its index from AWS Batch's and Google Cloud Batch's array variables too.
#[test]
fn batch_array_variables_select_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, out) = (d.join("in.mkv"), d.join("out.mkv"));
    one_keyframe_clip(&inp);
    let (code, _, err) = upscale(&[&["job", "plan", s(&inp), "-o", s(&out), "--segments", "3"], LANCZOS].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let w = d.join("out.mkv.upscale-work");
    let w = s(&w);
    let (code, _, err) = upscale(&["job", "run", w, "-q"], &[("AWS_BATCH_JOB_ARRAY_INDEX", "2")]);
    assert_eq!(code, 0, "{err}");
    let (_, missing, _) = upscale(&["job", "status", w, "--missing"], &[]);
    assert_eq!(missing, "0,1\n");
    let (code, _, err) = upscale(&["job", "run", w, "-q"], &[("BATCH_TASK_INDEX", "0")]);
    assert_eq!(code, 0, "{err}");
    let (_, missing, _) = upscale(&["job", "status", w, "--missing"], &[]);
    assert_eq!(missing, "1\n");
}

/// `--resume` follows the plan it started with: a job begun with `--tile 32` and killed, then
/// resumed without `--tile` (automatic: the whole picture), ends in the frames of an
/// uninterrupted `--tile 32` run, not in a mix of both tilings.
#[test]
fn resume_keeps_the_plans_tile() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, tiled, whole, out) = (d.join("in.mkv"), d.join("tiled.mkv"), d.join("whole.mkv"), d.join("out.mkv"));
    ffmpeg_out(&["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "30", "-c:v", "libx264", s(&inp)]);
    for (o, tile) in [(&tiled, &["--tile", "32"][..]), (&whole, &[][..])] {
        let (code, _, err) = upscale(&[MODEL, tile, &["-q", s(&inp), "-o", s(o)]].concat(), &[]);
        assert_eq!(code, 0, "{err}");
    }
    assert_ne!(frame_md5s(&tiled), frame_md5s(&whole), "tiling changes no pixel: the case is not tested");

    let job = [MODEL, &["--resume", "--segment-frames", "10", s(&inp), "-o", s(&out)]].concat();
    run_killed(&[&job[..], &["--tile", "32"]].concat(), 13);
    assert!(d.join("out.mkv.upscale-work/segment-00000.packets").exists());
    let (code, _, err) = upscale(&[&job[..], &["-q"]].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(frame_md5s(&out), frame_md5s(&tiled), "the resumed part was not made with the plan's tile");
}

/// A damaged file named like a picture in a folder is an error of its own (an `error` event,
/// exit 1), never left out unsaid; a file that is neither picture nor video by name or content
/// is left out, and a note says so.
#[test]
fn a_damaged_picture_in_a_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir(&inp).unwrap();
    ffmpeg_out(&["-f", "lavfi", "-i", "testsrc2=size=32x24", "-frames:v", "1", s(&inp.join("good.png"))]);
    let junk: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    std::fs::write(inp.join("bad.png"), &junk).unwrap();
    std::fs::write(inp.join("notes.txt"), b"shot list").unwrap();

    let (code, _, err) = upscale(&["-m", "lanczos", "-s", "2", s(&inp), "-o", s(&out), "--progress", "json"], &[]);
    assert_eq!(code, 1, "{err}");
    let events: Vec<serde_json::Value> = err.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let errors: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "error").collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0]["file"].as_str().unwrap().ends_with("bad.png"), "{err}");
    let summary = events.iter().find(|e| e["event"] == "summary").unwrap();
    assert_eq!((summary["done"].as_u64(), summary["failed"].as_u64()), (Some(1), Some(1)), "{err}");
    let note = events.iter().filter(|e| e["event"] == "note").map(|e| e["message"].as_str().unwrap());
    assert!(note.clone().any(|m| m.contains("1 file(s) left out") && m.contains("notes.txt")), "{err}");
    assert!(out.join("good.png").exists());
    assert!(!out.join("bad.png").exists());
}

/// With temporal stabilisation (on by default for a network), each frame depends on the three
/// before it: a worker decodes and upscales those before its first as history, never encoded.
/// Real footage cut into 5 segments (cuts every 6 frames, all inside one GOP) joins into the
/// frames of the one-machine run, and those differ from `--temporal off`'s, so the
/// stabiliser was at work across every cut.
#[test]
fn stabilised_segments_equal_the_one_machine_run_at_every_cut() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, one, off, out) = (d.join("in.mp4"), d.join("one.mkv"), d.join("off.mkv"), d.join("out.mkv"));
    let src = common::shared_media("sintel.mp4");
    ffmpeg_out(&[
        "-ss",
        "0.2",
        "-i",
        s(&src),
        "-frames:v",
        "30",
        "-vf",
        "scale=128:72:flags=area",
        "-an",
        "-c:v",
        "libx264",
        "-crf",
        "16",
        s(&inp),
    ]);
    assert_eq!(keyframes(&inp), [0], "the input must have one keyframe");
    let (code, _, err) = upscale(&[MODEL, &["-q", s(&inp), "-o", s(&one)]].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = upscale(&[MODEL, &["-q", s(&inp), "-o", s(&off), "--temporal", "off"]].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = upscale(&[&["job", "plan", s(&inp), "-o", s(&out), "--segments", "5"], MODEL].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let work = d.join("out.mkv.upscale-work");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["settings"]["job"]["video"]["temporal"].as_str(), Some("on"), "{plan}");
    let history: Vec<&serde_json::Value> = plan["segments"].as_array().unwrap().iter().map(|s| &s["history"]).collect();
    assert!(history[0].is_null() && history[1..].iter().all(|h| h["first_pts"].is_i64()), "{history:?}");
    for i in ["4", "2", "0", "3", "1"] {
        let (code, _, err) = upscale(&["job", "run", s(&work), "--index", i, "-q"], &[]);
        assert_eq!(code, 0, "index {i}: {err}");
    }
    let (code, _, err) = upscale(&["job", "join", s(&work), "-q"], &[]);
    assert_eq!(code, 0, "{err}");
    let (want, got, unstabilised) = (frame_md5s(&one), frame_md5s(&out), frame_md5s(&off));
    assert_eq!(got.len(), 30);
    assert_eq!(want, got, "decoded frames differ from the one-machine run's");
    let differ = want.iter().zip(&unstabilised).filter(|(a, b)| a != b).count();
    assert!(differ >= 25, "only {differ} of 30 frames differ from --temporal off: the stabiliser was not at work");
}

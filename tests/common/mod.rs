//! Helpers the integration tests share: running the binary with a hang limit, one-error
//! assertions, the ffmpeg/ffprobe CLIs to make and read clips, temporary paths as the `&str`
//! arguments commands take, PNG chunk checksums. Each test file uses what it needs.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_upscale");

/// A run that takes longer than this is a hang: the process is killed and the test fails. Not
/// a timing assertion: a slow machine passes, only a process that never ends fails.
pub const HANG_LIMIT: Duration = Duration::from_secs(300);

/// A finished run of a command.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` with stdout and stderr in files (no pipe to fill up), killing it after
/// [`HANG_LIMIT`]. A death by a signal or a panic message fails the test.
pub fn run_cmd(cmd: &mut Command) -> Run {
    let logs = tempfile::tempdir().unwrap();
    let (out, err) = (logs.path().join("stdout"), logs.path().join("stderr"));
    cmd.stdin(Stdio::null()).stdout(File::create(&out).unwrap()).stderr(File::create(&err).unwrap());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > HANG_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            let e = std::fs::read_to_string(&err).unwrap_or_default();
            panic!("hang: killed after {HANG_LIMIT:?}: {cmd:?}\nstderr: {e}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    let (stdout, stderr) = (read(&out), read(&err));
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "panic: {stderr}");
    assert!(status.code().is_some(), "killed by a signal ({status:?}): {stderr}");
    Run { status, stdout, stderr }
}

/// `upscale ARGS`.
pub fn upscale_run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    run_cmd(&mut cmd)
}

/// Exactly one non-blank line on stderr, an `error:` line naming `name` and containing `cause`
/// (case-insensitive), and a non-zero exit.
pub fn assert_one_error(r: &Run, name: &str, cause: &str) {
    let e = &r.stderr;
    assert!(!r.status.success(), "expected failure, got success: {e}");
    let lines: Vec<&str> = e.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected exactly one line on stderr, got {}:\n{e}", lines.len());
    let l = lines[0];
    assert!(l.starts_with("error: "), "not an error line: {l}");
    assert!(l.contains(name), "error line does not name {name}: {l}");
    assert!(l.to_lowercase().contains(&cause.to_lowercase()), "error line does not say '{cause}': {l}");
}

/// ffprobe's stdout for `ARGS PATH`; a failure fails the test.
pub fn ffprobe(path: &Path, args: &[&str]) -> String {
    let out = Command::new("ffprobe").args(["-v", "quiet"]).args(args).arg(path).output().expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe {args:?} {}", path.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `pts_time` of every decodable video frame as ffprobe prints it (with the decoder's
/// concealment of damaged input).
pub fn frame_time_strings(path: &Path) -> Vec<String> {
    ffprobe(path, &["-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0"])
        .lines()
        .map(|l| l.split(',').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Presentation time of every decoded video frame, in seconds.
pub fn frame_times(path: &Path) -> Vec<f64> {
    frame_time_strings(path).iter().filter_map(|l| l.parse().ok()).collect()
}

/// Runs `ffmpeg -y ARGS` quietly and returns its stdout; a failure fails the test with ffmpeg's
/// own message.
pub fn ffmpeg_out(args: &[&str]) -> String {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `ffmpeg -y ARGS` quietly (making a test input).
pub fn ffmpeg(args: &[&str]) {
    ffmpeg_out(args);
}

/// A temporary path as a command argument (tempfile paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// A clip of real footage in ../shared/media beside the crate. Its absence fails the test:
/// these tests are about real footage and must not pass without it.
pub fn shared_media(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/media").join(name);
    assert!(
        p.is_file(),
        "{} is missing: the tests read real footage from ../shared/media beside the repository",
        p.display()
    );
    p
}

/// The two inputs most test clips start from: testsrc2 (moving, 160x120 at 24 fps) and a
/// 440 Hz tone at 48 kHz, followed by `rest` (duration, codecs, output): ffmpeg arguments.
pub fn with_tone<'a>(rest: &[&'a str]) -> Vec<&'a str> {
    let mut args =
        vec!["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=24", "-f", "lavfi", "-i", "sine=sample_rate=48000"];
    args.extend_from_slice(rest);
    args
}

/// CRC-32 (IEEE) for a PNG chunk.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

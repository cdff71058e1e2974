//! The ffmpeg and ffprobe command-line tools, to make test clips and to read outputs. A missing
//! tool fails the test.

use std::path::Path;
use std::process::Command;

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

/// The two inputs most test clips start from: testsrc2 (moving, 160x120 at 24 fps) and a
/// 440 Hz tone at 48 kHz, followed by `rest` (duration, codecs, output): ffmpeg arguments.
pub fn with_tone<'a>(rest: &[&'a str]) -> Vec<&'a str> {
    let mut args =
        vec!["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=24", "-f", "lavfi", "-i", "sine=sample_rate=48000"];
    args.extend_from_slice(rest);
    args
}

/// One line per decoded video frame of `path` (timestamps, size and the MD5 of its pixels), as
/// ffmpeg's `framemd5` writes them: equal lists are equal frames.
pub fn frame_md5s(path: &Path) -> Vec<String> {
    ffmpeg_out(&["-i", path.to_str().expect("utf-8 path"), "-map", "0:v", "-f", "framemd5", "-"])
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

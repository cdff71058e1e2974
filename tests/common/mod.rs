//! Helpers the integration tests share: running the ffmpeg CLI to make inputs, temporary paths
//! as the `&str` arguments commands take, PNG chunk checksums. Each test file uses what it needs.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

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
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

//! Helpers the integration tests share, as a library of their own (`upscale-test-support`, a
//! dev-dependency): a test crate that uses three of them compiles no unused code, so none needs
//! `allow(dead_code)`, and every test file keeps its own crate (one area each, built and run
//! alone with `cargo test --test NAME`). Test files reach them as `mod common; use common::…`.

pub mod bench;
pub mod browser;
mod media;
mod paths;
mod run;
pub mod serve;

pub use media::{ffmpeg, ffmpeg_out, ffprobe, frame_md5s, frame_time_strings, frame_times, with_tone};
pub use paths::{repo_root, s, shared_media};
pub use run::{assert_one_error, bin, run_cmd, upscale_run, Run, HANG_LIMIT};

/// CRC-32 (IEEE) for a PNG chunk.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

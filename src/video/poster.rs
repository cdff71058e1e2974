//! A video's first picture as a PNG (its poster): a "before" any browser shows, whatever the
//! codec (HEVC in Matroska, FFV1, …), decoded by the video path's own decoder stage and written
//! through `still`.

use std::path::Path;

use crossbeam_channel::bounded;
use image::DynamicImage;

use super::decode::Decoder;
use super::items::{Control, Item, Pixels};
use crate::config::{Tonemap, VideoConfig};
use crate::error::{Error, Result};
use crate::progress::NoProgress;

/// Writes the first picture of `input`'s video stream to `dest` as an 8-bit PNG, at the
/// stream's size, deinterlaced as `auto` would and an HDR source tone-mapped to SDR as a screen
/// shows it (kept as it is where FFmpeg cannot tone-map). A stream or frame over `max_pixels` is
/// [`Error::TooLarge`]; a file with no picture that decodes is [`Error::Video`] naming it.
/// `dest` appears only when complete. Returns the size written.
pub fn poster(input: &Path, dest: &Path, max_pixels: u64) -> Result<(u32, u32)> {
    super::init_ffmpeg(input)?;
    let sdr = VideoConfig { tonemap: Tonemap::Sdr, ..VideoConfig::default() };
    let img = match first_picture(input, &sdr, max_pixels) {
        Err((e, true)) if !matches!(e, Error::TooLarge { .. }) => {
            first_picture(input, &VideoConfig::default(), max_pixels).map_err(|(e, _)| e)?
        }
        other => other.map_err(|(e, _)| e)?,
    };
    crate::still::write_png(img, dest)
}

/// The first picture the decoder stage gives with `cfg`; an error says whether it was to be
/// tone-mapped.
fn first_picture(input: &Path, cfg: &VideoConfig, max_pixels: u64) -> std::result::Result<DynamicImage, (Error, bool)> {
    let mut dec = Decoder::open(input, cfg).map_err(|e| (e, false))?;
    let tonemapped = dec.info().tonemap_from.is_some();
    dec.limit_pixels(max_pixels).map_err(|e| (e, tonemapped))?;
    let (tx, rx) = bounded::<Item>(1);
    let ctl = Control::default();
    // Only the video stream is decoded (no stream is copied); once the first picture is taken
    // the receiver is dropped, which ends the decoder quietly.
    let (first, ran) = std::thread::scope(|s| {
        let taker = s.spawn(move || {
            rx.iter().find_map(|item| match item {
                Item::Frame(p) => Some(p.rgb),
                Item::Packet(..) => None,
            })
        });
        let ran = dec.run(tx, &ctl, &NoProgress);
        (taker.join(), ran)
    });
    let internal = || Error::video(input, "internal error: the poster's frame taker stopped");
    match (first.map_err(|_| (internal(), false))?, ran) {
        (Some(Pixels::Rgb8(p)), _) => Ok(DynamicImage::ImageRgb8(p)),
        (Some(Pixels::Rgb16(p)), _) => Ok(DynamicImage::ImageRgb16(p)),
        (None, Err(e)) => Err((e, tonemapped)),
        (None, Ok(())) => Err((Error::video(input, "no picture in the video stream could be decoded"), false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn ffmpeg(args: &[&str], out: &Path) {
        let o = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-threads", "1"])
            .args(args)
            .arg(out)
            .output()
            .expect("ffmpeg runs");
        assert!(o.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&o.stderr));
    }

    /// FFV1 is lossless: the poster is exactly the first frame ffmpeg itself decodes to RGB.
    #[test]
    fn the_poster_is_the_first_frame() {
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("clip.mkv");
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=48x32:rate=10",
                "-frames:v",
                "5",
                "-c:v",
                "ffv1",
                "-pix_fmt",
                "rgb24",
            ],
            &clip,
        );
        let dest = dir.path().join("poster.png");
        assert_eq!(poster(&clip, &dest, 1 << 20).unwrap(), (48, 32));
        let reference = dir.path().join("first.png");
        ffmpeg(&["-i", clip.to_str().unwrap(), "-frames:v", "1"], &reference);
        assert_eq!(image::open(&dest).unwrap().to_rgb8(), image::open(&reference).unwrap().to_rgb8());
    }

    /// A 10-bit PQ clip: the poster is tone-mapped to SDR (darker mid-tones than the PQ code
    /// values read as if they were SDR), 8 bits a sample, at the stream's size.
    #[test]
    fn an_hdr_poster_is_tone_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("hdr.mkv");
        ffmpeg(
            &["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-frames:v", "3", "-c:v", "libx265"]
                .into_iter()
                .chain(["-x265-params", "log-level=error", "-pix_fmt", "yuv420p10le"])
                .chain(["-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc"])
                .collect::<Vec<_>>(),
            &clip,
        );
        let dest = dir.path().join("poster.png");
        assert_eq!(poster(&clip, &dest, 1 << 20).unwrap(), (64, 48));
        let mapped = image::open(&dest).unwrap();
        assert_eq!(mapped.color(), image::ColorType::Rgb8);
        let untouched = first_picture(&clip, &VideoConfig::default(), 1 << 20).unwrap().into_rgb8();
        assert!(mapped.to_rgb8() != untouched, "the PQ picture was not tone-mapped");
    }

    #[test]
    fn no_poster_for_what_is_not_a_video_or_is_too_large() {
        let dir = tempfile::tempdir().unwrap();
        let noise = dir.path().join("noise.mkv");
        std::fs::write(&noise, (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<_>>())
            .unwrap();
        let dest = dir.path().join("poster.png");
        let e = poster(&noise, &dest, 1 << 20).unwrap_err();
        assert!(matches!(e, Error::Video { .. }) && e.to_string().contains("noise.mkv"), "{e:?}");
        let clip = dir.path().join("clip.mp4");
        ffmpeg(&["-f", "lavfi", "-i", "testsrc2=size=48x32:rate=10", "-frames:v", "2", "-c:v", "libx264"], &clip);
        assert!(matches!(poster(&clip, &dest, 48 * 32 - 1), Err(Error::TooLarge { width: 48, height: 32, .. })));
        assert!(!dest.exists());
    }
}

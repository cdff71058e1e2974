//! A picture result too large for a browser to show whole (an exact width of 30000, say): a
//! PNG scaled down to fit a square of `fit` pixels, made once per size from the result and kept
//! in the job's folder, for the page's Compare and Edit views (`GET /api/jobs/{id}/result?fit=N`).

use std::path::{Path, PathBuf};

/// The smallest and largest `fit` accepted.
pub const FIT: std::ops::RangeInclusive<u32> = 64..=8192;

/// The scaled copy of `result` (a picture) fitting in `fit`×`fit`, made in `dir` if it is not
/// there yet; a picture that already fits is copied at its own size. The message says why not.
pub fn scaled(result: &Path, dir: &Path, fit: u32) -> Result<PathBuf, String> {
    let dest = dir.join(format!("view-{fit}.png"));
    if dest.exists() {
        return Ok(dest);
    }
    let reader = image::ImageReader::open(result)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| format!("cannot open the result: {e}"))?;
    let mut reader = reader;
    // The result is one this server made, within its own limits: no decoder limit of its own.
    reader.no_limits();
    let img = reader.decode().map_err(|e| format!("cannot decode the result: {e}"))?;
    let img = if img.width() > fit || img.height() > fit { img.thumbnail(fit, fit) } else { img };
    let img: image::DynamicImage =
        if img.color().has_alpha() { img.into_rgba8().into() } else { img.into_rgb8().into() };
    // Written under another name and renamed: a second request never reads half a file.
    let part = dir.join(format!("view-{fit}.png.part"));
    let written = img.save_with_format(&part, image::ImageFormat::Png).map_err(|e| format!("cannot write: {e}"));
    match written.and_then(|()| std::fs::rename(&part, &dest).map_err(|e| format!("cannot write: {e}"))) {
        Ok(()) => Ok(dest),
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            Err(e)
        }
    }
}

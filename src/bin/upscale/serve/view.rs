//! A picture result too large for a browser to show whole (an exact width of 30000, say): a
//! PNG scaled down to fit a square of `fit` pixels, made once per size from the result and kept
//! in the job's folder, for the page's Compare and Edit views (`GET /api/jobs/{id}/result?fit=N`).

use std::path::{Path, PathBuf};

/// The smallest and largest `fit` accepted.
pub const FIT: std::ops::RangeInclusive<u32> = 64..=8192;

/// The scaled copy of `result` (a picture) fitting in `fit`×`fit`, made in `dir` if it is not
/// there yet (`upscale::still::write_fitted_png`: written whole, then renamed, so a second
/// request never reads half a file). The message says why not.
pub fn scaled(result: &Path, dir: &Path, fit: u32) -> Result<PathBuf, String> {
    let dest = dir.join(format!("view-{fit}.png"));
    if !dest.exists() {
        upscale::still::write_fitted_png(result, &dest, fit).map_err(|e| e.report())?;
    }
    Ok(dest)
}

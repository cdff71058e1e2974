//! What every output says about how it was made: the program and its version, the network and
//! the sha256 of its weights, the scale and the precision. Pictures carry it as PNG `Software`
//! text or EXIF `Software`, videos as the container's `encoder` tag; `--no-provenance`
//! (`Config::provenance` false) leaves it out.

use crate::engine::Upscaler;
use crate::error::Result;

/// The program's name and version, as outputs name it.
pub const PROGRAM: &str = concat!("upscale ", env!("CARGO_PKG_VERSION"));

/// One line naming the program, the network (each pass's native scale and sha256), the
/// precision and the sizes: `upscale 0.1.0; model realesr-animevideov3 x4 sha256:…; precision
/// fp32; 64x48 -> 256x192`. A classic filter is named without weights or precision.
pub fn describe(up: &Upscaler, (iw, ih): (u32, u32), (ow, oh): (u32, u32)) -> Result<String> {
    let (model, precision) = up.model();
    let files = up.pass_files()?;
    let sizes = format!("{iw}x{ih} -> {ow}x{oh}");
    if files.is_empty() {
        return Ok(format!("{PROGRAM}; filter {model}; {sizes}"));
    }
    let passes = files.iter().map(|f| format!("x{} sha256:{}", f.scale, f.sha256)).collect::<Vec<_>>().join(", ");
    let precision = format!("{precision:?}").to_ascii_lowercase();
    Ok(format!("{PROGRAM}; model {model} {passes}; precision {precision}; {sizes}"))
}

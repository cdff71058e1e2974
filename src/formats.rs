//! The file formats by name, stated once: what a folder's files are taken as, what pictures are
//! written as, and what the page offers for results. Content decides a single file's kind
//! (`jobs::identify`); these lists decide names.

/// Extensions of the picture formats read (a file named so whose content is no known format goes
/// to the picture reader, whose error says why).
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff"];

/// Extensions taken as video inside folders.
pub const VIDEO_EXTENSIONS: &[&str] =
    &["mp4", "m4v", "mkv", "mov", "avi", "webm", "mpg", "mpeg", "ts", "m2ts", "mts", "vob", "dv", "flv", "wmv", "ogv"];

/// The picture formats the page offers for a result (each one a browser shows).
pub const IMAGE_OUTPUTS: &[&str] = &["png", "jpg", "webp"];

/// The video containers the page offers for a result.
pub const VIDEO_OUTPUTS: &[&str] = &["mp4", "mkv", "webm"];

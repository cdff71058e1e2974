//! The file formats by name, stated once: for each, its extensions (the usual one first), its
//! MIME type, whether pictures of it are written, and whether the page offers it for results.
//! Content decides a single file's kind (`jobs::identify`); this table decides names: what a
//! folder's files are taken as, output names, the encoder a picture is saved with, and what the
//! server sends.

use crate::config::Kind;

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFormat {
    /// Extensions, lowercase, without the dot; the first is the one written.
    pub extensions: &'static [&'static str],
    /// Picture or video.
    pub kind: Kind,
    /// The MIME type the server sends it with.
    pub mime: &'static str,
    /// Pictures of this format are written (a picture format) or it is a container the encoder
    /// writes (a video format).
    pub written: bool,
    /// The page offers it as a result's format.
    pub offered: bool,
}

const fn row(
    extensions: &'static [&'static str],
    kind: Kind,
    mime: &'static str,
    written: bool,
    offered: bool,
) -> FileFormat {
    FileFormat { extensions, kind, mime, written, offered }
}

/// Every format known by name.
pub const FORMATS: &[FileFormat] = &[
    row(&["png"], Kind::Image, "image/png", true, true),
    row(&["jpg", "jpeg"], Kind::Image, "image/jpeg", true, true),
    row(&["webp"], Kind::Image, "image/webp", true, true),
    row(&["tiff", "tif"], Kind::Image, "image/tiff", true, false),
    row(&["bmp"], Kind::Image, "image/bmp", true, false),
    row(&["gif"], Kind::Image, "image/gif", true, true),
    row(&["mp4", "m4v"], Kind::Video, "video/mp4", true, true),
    row(&["mkv"], Kind::Video, "video/x-matroska", true, true),
    row(&["webm"], Kind::Video, "video/webm", true, true),
    row(&["mov"], Kind::Video, "video/quicktime", true, false),
    row(&["avi"], Kind::Video, "video/x-msvideo", false, false),
    row(&["mpg", "mpeg", "vob"], Kind::Video, "video/mpeg", false, false),
    row(&["ts", "m2ts", "mts"], Kind::Video, "video/mp2t", false, false),
    row(&["dv"], Kind::Video, "video/dv", false, false),
    row(&["flv"], Kind::Video, "video/x-flv", false, false),
    row(&["wmv"], Kind::Video, "video/x-ms-wmv", false, false),
    row(&["ogv"], Kind::Video, "video/ogg", false, false),
];

/// The row of extension `ext` (any case).
pub fn by_extension(ext: &str) -> Option<&'static FileFormat> {
    let ext = ext.to_ascii_lowercase();
    FORMATS.iter().find(|f| f.extensions.contains(&ext.as_str()))
}

/// The row of `path`'s extension.
pub fn of_path(path: &std::path::Path) -> Option<&'static FileFormat> {
    path.extension().and_then(|e| e.to_str()).and_then(by_extension)
}

/// Whether `path` is named like a `kind` file.
pub fn named_as(path: &std::path::Path, kind: Kind) -> bool {
    of_path(path).is_some_and(|f| f.kind == kind)
}

/// The usual extensions of the formats the page offers for `kind` results.
pub fn offered(kind: Kind) -> Vec<&'static str> {
    FORMATS.iter().filter(|f| f.kind == kind && f.offered).map(|f| f.extensions[0]).collect()
}

/// The MIME type for `path`, `application/octet-stream` for a name outside the table.
pub fn mime(path: &std::path::Path) -> &'static str {
    of_path(path).map_or("application/octet-stream", |f| f.mime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_extension_is_one_rows_and_the_page_offers_what_browsers_show() {
        let all: Vec<&str> = FORMATS.iter().flat_map(|f| f.extensions.iter().copied()).collect();
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "an extension in two rows");
        assert_eq!(offered(Kind::Image), ["png", "jpg", "webp", "gif"]);
        assert_eq!(offered(Kind::Video), ["mp4", "mkv", "webm"]);
        assert_eq!(mime(std::path::Path::new("a.JPEG")), "image/jpeg");
        assert!(named_as(std::path::Path::new("x.m2ts"), Kind::Video));
        assert!(!named_as(std::path::Path::new("x.txt"), Kind::Image));
    }
}

//! Sending files: a result or an upload streamed from disk with byte ranges (a `<video>` seeks
//! with them), the download name sanitized from the client's, and the zip of several results.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The name of the browser-viewable PNG of an upload, in the job's folder: a TIFF's copy, or a
/// video's first picture (the "before" side of the comparison).
pub const PREVIEW: &str = "preview.png";

/// The MIME type of a file the server sends: the library's format table, and the zip of
/// several results.
pub fn content_type(path: &Path) -> &'static str {
    if path.extension().is_some_and(|e| e == "zip") {
        return "application/zip";
    }
    upscale::formats::mime(path)
}

/// A client's file name made safe: letters and digits of any script, `-`, `_`, `.` and spaces
/// kept (the rest, quotes, controls and separators included, become `_`), no leading dots, no
/// path, at most 100 characters; never empty.
pub fn sanitize(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut s: String =
        base.chars().map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') { c } else { '_' }).collect();
    s = s.trim_start_matches(['.', ' ']).trim_end().to_string();
    if s.chars().count() > 100 {
        let ext =
            Path::new(&s).extension().map(|e| e.to_string_lossy().into_owned()).filter(|e| e.chars().count() <= 8);
        s = s.chars().take(90).collect();
        if let Some(e) = ext {
            s = format!("{s}.{e}");
        }
    }
    if s.is_empty() || s.chars().all(|c| c == '_' || c == '.') {
        s = "file".into();
    }
    s
}

/// `Content-Disposition` for a download named `name` (already sanitized): the name as
/// `filename`, and when it is not plain ASCII an ASCII stand-in there for old clients and the
/// name itself as `filename*=UTF-8''…` (RFC 6266, RFC 5987).
pub fn disposition(name: &str) -> String {
    if name.is_ascii() {
        return format!("attachment; filename=\"{name}\"");
    }
    let ascii: String = name.chars().map(|c| if c.is_ascii() && c != '"' && c != '\\' { c } else { '_' }).collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The stem of a sanitized name.
pub fn stem(name: &str) -> String {
    Path::new(name).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into())
}

/// Streams `path` (a whole file, or the one byte range asked), as an attachment named
/// `download` or shown inline when `download` is `None`.
pub async fn send(path: &Path, download: Option<&str>, headers: &HeaderMap) -> Response {
    let Ok(mut file) = tokio::fs::File::open(path).await else {
        return super::reply::error(StatusCode::NOT_FOUND, "this file is gone (deleted or expired)");
    };
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let disposition = match download {
        Some(n) => disposition(n),
        None => "inline".into(),
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(|r| parse_range(r, len));
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, content_type(path))
        .header(header::CONTENT_DISPOSITION, disposition)
        .header(header::ACCEPT_RANGES, "bytes")
        // A file is never a document of this site: no script runs in it if opened directly.
        .header(header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox");
    let resp = match range {
        Some((start, end)) => {
            if file.seek(SeekFrom::Start(start)).await.is_err() {
                return super::reply::error(StatusCode::INTERNAL_SERVER_ERROR, "the file could not be read");
            }
            let n = end - start + 1;
            let body = Body::from_stream(tokio_util::io::ReaderStream::new(file.take(n)));
            builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"))
                .header(header::CONTENT_LENGTH, n)
                .body(body)
        }
        None => {
            builder.header(header::CONTENT_LENGTH, len).body(Body::from_stream(tokio_util::io::ReaderStream::new(file)))
        }
    };
    resp.unwrap_or_else(|_| super::reply::error(StatusCode::INTERNAL_SERVER_ERROR, "the file could not be sent"))
}

/// `bytes=START-[END]` or `bytes=-SUFFIX` within a file of `len` bytes.
fn parse_range(r: &str, len: u64) -> Option<(u64, u64)> {
    let spec = r.strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (len.saturating_sub(n), len - 1)
    } else {
        let s: u64 = a.parse().ok()?;
        let e = if b.is_empty() { len - 1 } else { b.parse::<u64>().ok()?.min(len - 1) };
        (s, e)
    };
    (start <= end && start < len).then_some((start, end))
}

/// Writes the `(path, name)` files into a zip (stored: the results are compressed already)
/// at `out`, names made unique.
pub fn write_zip(files: &[(PathBuf, String)], out: &Path) -> std::io::Result<()> {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(out)?);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(true);
    let mut used = std::collections::HashSet::new();
    for (path, name) in files {
        let mut unique = name.clone();
        let mut n = 2;
        while !used.insert(unique.clone()) {
            unique =
                format!("{}-{n}.{}", stem(name), Path::new(name).extension().unwrap_or_default().to_string_lossy());
            n += 1;
        }
        zip.start_file(unique, opts).map_err(std::io::Error::other)?;
        std::io::copy(&mut std::fs::File::open(path)?, &mut zip)?;
    }
    zip.finish().map_err(std::io::Error::other)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_reach_a_path() {
        assert_eq!(sanitize("../../etc/passwd"), "passwd");
        assert_eq!(sanitize("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(sanitize(".."), "file");
        assert_eq!(sanitize(".hidden.png"), "hidden.png");
        assert_eq!(sanitize("a\"b;c\r\n.png"), "a_b_c__.png");
        assert_eq!(sanitize(""), "file");
        assert!(sanitize(&"x".repeat(500)).len() <= 100);
        // Any script is kept; a long non-ASCII name is cut at a character, not a byte.
        assert_eq!(sanitize("Ünïcødé 写真.png"), "Ünïcødé 写真.png");
        assert_eq!(sanitize(&format!("{}.png", "写".repeat(200))).chars().count(), 94);
    }

    #[test]
    fn download_names_keep_their_unicode() {
        assert_eq!(disposition("a b_x2.png"), "attachment; filename=\"a b_x2.png\"");
        assert_eq!(
            disposition("Ünï 写真_x2.png"),
            "attachment; filename=\"_n_ ___x2.png\"; filename*=UTF-8''%C3%9Cn%C3%AF%20%E5%86%99%E7%9C%9F_x2.png"
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
    }
}

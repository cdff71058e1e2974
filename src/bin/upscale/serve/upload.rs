//! `POST /api/jobs`: the multipart upload streamed to a job folder (size limit enforced while
//! reading), the kind of file found from its content, the pixel limit checked, the settings
//! validated, and the job queued.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use upscale::config::Kind as Media;
use upscale::formats;
use upscale::jobs::{Identified, Job};
use upscale::still::Format;
use upscale::Config;

use super::files::{sanitize, stem};
use super::queue::{Entry, Origin, State as JobState};
use super::reply::error;
use super::App;

/// The form fields other than the file.
#[derive(Default)]
struct Fields {
    model: Option<String>,
    denoise: Option<String>,
    scale: Option<String>,
    width: Option<String>,
    height: Option<String>,
    format: Option<String>,
    quality: Option<String>,
    temporal: Option<String>,
    /// `now` (default) or `later`: held until `POST /api/jobs/{id}/start`.
    start: Option<String>,
}

/// Removes the job folder unless the upload became a job.
struct Cleanup(Option<PathBuf>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

pub async fn create(State(app): State<Arc<App>>, headers: HeaderMap, mut form: Multipart) -> Response {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.max_upload) {
        return too_big(&app);
    }
    // A place in the store before any work: `--max-jobs` holds under concurrent uploads.
    let Some(slot) = app.store.reserve() else {
        return error(StatusCode::TOO_MANY_REQUESTS, "too many jobs held: delete some first");
    };
    let Ok((id, dir)) = app.store.new_dir() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "cannot create the job folder");
    };
    let mut cleanup = Cleanup(Some(dir.clone()));
    let upload = dir.join("upload");
    let mut fields = Fields::default();
    let mut original = None;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return multipart_error(&app, e),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            if original.is_some() {
                return error(StatusCode::BAD_REQUEST, "one file per job");
            }
            original = Some(sanitize(field.file_name().unwrap_or("upload")));
            let Ok(mut out) = tokio::fs::File::create(&upload).await else {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "cannot write the upload");
            };
            let mut size = 0u64;
            loop {
                match field.chunk().await {
                    Ok(Some(bytes)) => {
                        size += bytes.len() as u64;
                        if size > app.max_upload {
                            return too_big(&app);
                        }
                        if out.write_all(&bytes).await.is_err() {
                            return error(StatusCode::INSUFFICIENT_STORAGE, "cannot write the upload");
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return multipart_error(&app, e),
                }
            }
            if out.flush().await.is_err() || size == 0 {
                return error(StatusCode::BAD_REQUEST, "the file is empty or could not be stored");
            }
        } else {
            let text = match field.text().await {
                Ok(t) if t.len() <= 256 => t.trim().to_string(),
                Ok(_) => return error(StatusCode::BAD_REQUEST, format!("field '{name}' is too long")),
                Err(e) => return multipart_error(&app, e),
            };
            let slot = match name.as_str() {
                "model" => &mut fields.model,
                "denoise" => &mut fields.denoise,
                "scale" => &mut fields.scale,
                "width" => &mut fields.width,
                "height" => &mut fields.height,
                "format" => &mut fields.format,
                "quality" => &mut fields.quality,
                "temporal" => &mut fields.temporal,
                "start" => &mut fields.start,
                other => return error(StatusCode::BAD_REQUEST, format!("unknown field '{}'", sanitize(other))),
            };
            *slot = Some(text).filter(|t| !t.is_empty());
        }
    }
    let Some(original) = original else {
        return error(StatusCode::BAD_REQUEST, "no 'file' field in the form");
    };
    let state = match fields.start.as_deref() {
        None | Some("now") => JobState::Queued,
        Some("later") => JobState::Held,
        Some(s) => return error(StatusCode::BAD_REQUEST, format!("start '{}': expected now or later", sanitize(s))),
    };
    let max_pixels = app.args.max_pixels;
    let up = upload.clone();
    let shown = original.clone();
    let kind = tokio::task::spawn_blocking(move || identify(&up, &shown, max_pixels)).await;
    let Found { media, ext, size, still } = match kind {
        Ok(Ok(k)) => k,
        Ok(Err((status, msg))) => return error(status, msg),
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "the file check failed"),
    };
    let cfg = match settings(&app, &fields, size) {
        Ok(c) => c.for_kind(media),
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    // What the result will hold, against the memory this server may use: refused now, with the
    // upload removed, rather than failing (or worse) in the worker.
    if let Err(e) = upscale::jobs::check_size(media, size, &cfg) {
        eprintln!("upscale: refused {original}: {}", e.report());
        return error(StatusCode::PAYLOAD_TOO_LARGE, e.to_string());
    }
    // The whole picture (or the video's first one) decoded now: a damaged file is refused in
    // words, and the page gets its browser-viewable "before".
    let (up, preview, shown, max) = (upload.clone(), dir.join(super::files::PREVIEW), original.clone(), max_pixels);
    match tokio::task::spawn_blocking(move || check_and_preview(&up, still, &preview, &shown, max)).await {
        Ok(Ok(())) => {}
        Ok(Err((status, msg))) => return error(status, msg),
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "the file could not be checked"),
    }
    let offered = |f: &str| formats::by_extension(f).is_some_and(|r| r.offered && r.kind == media);
    let format = match (fields.format.as_deref().map(str::to_ascii_lowercase), media) {
        (Some(f), _) if offered(&f) => f,
        (Some(f), _) => {
            let list = formats::offered(media);
            return error(
                StatusCode::BAD_REQUEST,
                format!("format '{}' does not fit this file: expected one of {}", sanitize(&f), list.join(", ")),
            );
        }
        (None, Media::Image) if offered(ext) => ext.to_string(),
        (None, Media::Image) => "png".into(),
        (None, Media::Video) => "mp4".into(),
    };
    let input = dir.join(format!("input.{ext}"));
    let output = dir.join(format!("result.{format}"));
    if std::fs::rename(&upload, &input).is_err() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "cannot store the upload");
    }
    let tag = match (cfg.width, cfg.height) {
        (None, None) => format!("x{}", cfg.scale),
        (w, h) => {
            format!("{}x{}", w.map_or("auto".into(), |v| v.to_string()), h.map_or("auto".into(), |v| v.to_string()))
        }
    };
    let name = format!("{}_{tag}.{format}", stem(&original));
    let job = Job::new(input, output, media, &cfg);
    cleanup.0 = None;
    app.store.submit(slot, Arc::new(Entry::in_state(id.clone(), name, original, Origin::Upload, dir, job, state)));
    (StatusCode::CREATED, [(header::LOCATION, format!("/api/jobs/{id}"))], Json(json!({ "id": id }))).into_response()
}

fn too_big(app: &App) -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the file is larger than this server's upload limit of {} MiB", app.args.max_upload_mib),
    )
}

/// A form that cannot be read: the parser's words go to the server's log, the person gets a
/// sentence.
fn multipart_error(app: &App, e: axum::extract::multipart::MultipartError) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_big(app);
    }
    eprintln!("upscale: upload refused: {}", e.body_text());
    error(e.status(), "the upload could not be read: the form was malformed or cut short; try again")
}

/// Decodes the whole picture (`still`: its format) or the video's first picture once, so that
/// a damaged file is refused now, in words (the decoder's own in the server's log), and writes
/// `preview` (the page's "before") for what a browser may not show: a TIFF, and every video (a
/// browser plays neither HEVC nor FFV1, and a PNG of the first picture is what the page can
/// always show).
fn check_and_preview(
    path: &Path,
    still: Option<Format>,
    preview: &Path,
    shown: &str,
    max_pixels: u64,
) -> Result<(), Refusal> {
    let done = match still {
        Some(f) if f.browser_viewable() => upscale::still::verify(path, max_pixels).map(|_| ()),
        Some(_) => upscale::still::write_preview_png(path, preview, max_pixels).map(|_| ()),
        None => upscale::video::poster(path, preview, max_pixels).map(|_| ()),
    };
    let what = if still.is_some() { "picture" } else { "video" };
    match done {
        Ok(()) => Ok(()),
        Err(upscale::Error::TooLarge { width, height, .. }) => Err(over_pixels(shown, width, height, max_pixels)),
        Err(e @ (upscale::Error::Encode { .. } | upscale::Error::Io { .. })) => {
            eprintln!("upscale: {shown}: cannot write its preview: {}", hide(&e, path, shown));
            Err((StatusCode::INTERNAL_SERVER_ERROR, format!("the {what}'s preview could not be made")))
        }
        Err(e) => {
            eprintln!("upscale: {shown}: {}", hide(&e, path, shown));
            Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{shown}: the {what}'s data is damaged or cut short and cannot be read"),
            ))
        }
    }
}

/// Why an upload is refused: the status and the message.
type Refusal = (StatusCode, String);

/// What an upload is, from its content.
struct Found {
    media: Media,
    /// The extension of its format (`video` for any video).
    ext: &'static str,
    /// Its size as shown (EXIF orientation applied).
    size: (u32, u32),
    /// A picture's format.
    still: Option<Format>,
}

/// Image (with the extension of its format) or video, from the content (the library's rule,
/// `upscale::jobs::identify`), and the pixel limit; refusals worded for the page.
fn identify(path: &Path, shown: &str, max_pixels: u64) -> Result<Found, Refusal> {
    match upscale::jobs::identify(path, max_pixels) {
        Ok(Identified { kind, format, size }) => {
            Ok(Found { media: kind, ext: format.map_or("video", Format::extension), size, still: format })
        }
        Err(upscale::Error::TooLarge { width, height, .. }) => Err(over_pixels(shown, width, height, max_pixels)),
        Err(e) => {
            eprintln!("upscale: {shown}: {}", hide(&e, path, shown));
            let picture = upscale::still::sniff(path).is_ok();
            Err(if picture {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("{shown}: not a picture that can be read (damaged or cut short)"),
                )
            } else {
                (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "{shown}: not a picture or video that can be read (an unknown format, damaged or cut short)"
                    ),
                )
            })
        }
    }
}

/// A picture or video frame over the pixel limit.
fn over_pixels(shown: &str, w: u64, h: u64, max: u64) -> Refusal {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("{shown}: the picture is {w}x{h}, over the limit of {max} pixels this server takes"),
    )
}

fn hide(e: &upscale::Error, path: &Path, shown: &str) -> String {
    e.report().replace(&path.display().to_string(), shown)
}

/// The job's configuration from the form: a built-in or installed model by name (never a
/// path; none: the kind's default, applied when the job is made), scale 2/3/4/6/8 or an exact
/// size (reached from the smallest scale at least as large, when no scale is given, for an
/// input of `size`).
fn settings(app: &App, f: &Fields, size: (u32, u32)) -> Result<Config, String> {
    let mut cfg = Config {
        device: app.device,
        threads: app.args.threads,
        max_pixels: app.args.max_pixels,
        model_dir: app.args.model_dir.clone(),
        overwrite: true,
        ..Config::default()
    };
    let known = upscale::model::list(app.args.model_dir.as_deref());
    if let Some(m) = &f.model {
        match known.iter().find(|e| &e.name == m) {
            Some(e) if e.present => cfg.model = Some(e.name.clone()),
            Some(_) => return Err(format!("the model '{m}' is not installed on this server")),
            None => {
                let names: Vec<_> = known.iter().filter(|e| e.present).map(|e| e.name.as_str()).collect();
                return Err(format!("unknown model '{}': expected one of {}", sanitize(m), names.join(", ")));
            }
        }
    }
    // The family's trained denoise level (-1 conservative, 0 none, 1-3): the engine refuses a
    // level the family lacks, naming the ones it has.
    if let Some(d) = &f.denoise {
        cfg.denoise =
            d.parse::<i32>().map_err(|_| format!("denoise '{}': expected a whole number from -1 to 3", sanitize(d)))?;
    }
    let num = |name: &str, v: &Option<String>| -> Result<Option<u32>, String> {
        v.as_deref()
            .map(|s| s.parse::<u32>().map_err(|_| format!("{name} '{}': expected a whole number", sanitize(s))))
            .transpose()
    };
    cfg.width = num("width", &f.width)?;
    if let Some(q) = num("quality", &f.quality)? {
        cfg.quality = u8::try_from(q).map_err(|_| format!("quality {q}: expected 1 to 100"))?;
    }
    cfg.height = num("height", &f.height)?;
    // Videos: temporal stabilisation, on unless asked off (pictures have no time to stabilise).
    cfg.video.temporal = match f.temporal.as_deref() {
        None | Some("on") => upscale::config::Temporal::On,
        Some("off") => upscale::config::Temporal::Off,
        Some(t) => return Err(format!("temporal '{}': expected on or off", sanitize(t))),
    };
    match num("scale", &f.scale)? {
        Some(s) => cfg.scale = s,
        None if cfg.width.is_some() || cfg.height.is_some() => {
            cfg.scale = Config::scale_reaching(size.0, size.1, cfg.width, cfg.height);
        }
        None => {}
    }
    // The one statement of the size limits (1..=65535, Config::validate), as the page shows them.
    cfg.validate().map_err(|e| e.report())?;
    Ok(cfg)
}

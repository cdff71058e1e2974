//! The HTTP API (a contract: docs/CLI.md and README) and the page's own files.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::files;
use super::queue::{Entry, Origin, State as JobState};
use super::reply::error;
use super::upload;
use super::App;
use upscale::config::{Kind, MAX_SIDE, SCALES};
use upscale::edit::{EditError, EditSpec, Operation};
use upscale::formats;
use upscale::jobs::Job;

/// Largest JSON body (edit operations, with a watermark picture in base64; cancel).
const MAX_JSON: usize = 8 << 20;

pub fn router(app: Arc<App>) -> Router {
    let upload_limit = usize::try_from(app.max_upload).unwrap_or(usize::MAX).saturating_add(64 * 1024);
    Router::new()
        .route("/", get(|| async { asset("index.html") }))
        .route("/app.js", get(|| async { asset("app.js") }))
        .route("/draw.js", get(|| async { asset("draw.js") }))
        .route("/compare.js", get(|| async { asset("compare.js") }))
        .route("/app.css", get(|| async { asset("app.css") }))
        .route("/favicon.svg", get(|| async { asset("favicon.svg") }))
        .route("/favicon.ico", get(|| async { asset("favicon.svg") }))
        .route("/api/models", get(models))
        .route("/api/presets", get(presets))
        .route("/api/instance", get(instance))
        .route("/api/jobs", post(upload::create).layer(DefaultBodyLimit::max(upload_limit)).get(list))
        .route("/api/jobs/{id}", get(status).delete(delete))
        .route("/api/jobs/{id}/events", get(events))
        .route("/api/jobs/{id}/cancel", post(cancel))
        .route("/api/jobs/{id}/start", post(start))
        .route("/api/jobs/{id}/result", get(result))
        .route("/api/jobs/{id}/input", get(input))
        .route("/api/jobs/{id}/preview", get(preview))
        .route("/api/jobs/{id}/edit", post(edit_job))
        .route("/api/jobs/{id}/compare", post(super::compare::compare))
        .route("/api/zip", get(zip))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "there is nothing at this address") })
        .layer(DefaultBodyLimit::max(MAX_JSON))
        .with_state(app)
}

/// The page, compiled into the binary.
fn asset(name: &str) -> Response {
    let (body, ty): (&'static str, &str) = match name {
        "index.html" => (include_str!("assets/index.html"), "text/html; charset=utf-8"),
        "app.js" => (include_str!("assets/app.js"), "text/javascript; charset=utf-8"),
        "draw.js" => (include_str!("assets/draw.js"), "text/javascript; charset=utf-8"),
        "compare.js" => (include_str!("assets/compare.js"), "text/javascript; charset=utf-8"),
        "favicon.svg" => (include_str!("assets/favicon.svg"), "image/svg+xml"),
        _ => (include_str!("assets/app.css"), "text/css; charset=utf-8"),
    };
    ([(header::CONTENT_TYPE, ty)], body).into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such job")
}

async fn models(State(app): State<Arc<App>>) -> Response {
    let list: Vec<_> = upscale::model::list(app.args.model_dir.as_deref())
        .into_iter()
        .filter(|m| m.present)
        .map(|m| json!({"name": m.name, "scales": m.scales}))
        .collect();
    Json(json!({
        "models": list,
        "default": Kind::Video.default_model(),
        "defaults": { "image": Kind::Image.default_model(), "video": Kind::Video.default_model() },
        "scales": SCALES,
        "image_formats": formats::offered(Kind::Image),
        "video_formats": formats::offered(Kind::Video),
        "max_upload_mib": app.args.max_upload_mib,
        "max_upload_bytes": app.max_upload,
        "max_pixels": app.args.max_pixels,
        "max_side": MAX_SIDE,
        "max_jobs": app.args.max_jobs,
        "keep_secs": app.args.keep_secs,
        "instance": app.instance,
    }))
    .into_response()
}

/// Which run of the server this is: a page that sees it change knows its jobs are gone.
async fn instance(State(app): State<Arc<App>>) -> Response {
    Json(json!({ "instance": app.instance })).into_response()
}

/// The named presets the page offers, each on a network this server has (`super::presets`).
async fn presets(State(app): State<Arc<App>>) -> Response {
    Json(super::presets::available(app.args.model_dir.as_deref())).into_response()
}

async fn list(State(app): State<Arc<App>>) -> Response {
    let mut jobs = app.store.all();
    jobs.sort_by_key(|j| j.created);
    Json(json!({ "jobs": jobs.iter().map(|j| j.to_json()).collect::<Vec<_>>() })).into_response()
}

async fn status(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match app.store.get(&id) {
        Some(j) => Json(j.to_json()).into_response(),
        None => not_found(),
    }
}

async fn delete(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match app.store.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found(),
    }
}

async fn cancel(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match app.store.get(&id) {
        Some(j) => {
            j.cancel();
            Json(j.to_json()).into_response()
        }
        None => not_found(),
    }
}

/// The optional body of `POST /api/jobs/{id}/start`: another network than the one the job was
/// uploaded with (after comparing them).
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    #[serde(default)]
    model: Option<String>,
}

/// `POST /api/jobs/{id}/start`: a job uploaded with `start=later` goes to the queue, with the
/// network `model` if one is given (its default denoise level then); 409 when it is not held
/// (started already, cancelled or finished), 400 for a network this server lacks.
async fn start(State(app): State<Arc<App>>, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    let Some(j) = app.store.get(&id) else {
        return not_found();
    };
    let req: StartRequest = match body.iter().all(u8::is_ascii_whitespace) {
        true => StartRequest::default(),
        false => match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(_) => return error(StatusCode::BAD_REQUEST, "expected {} or {\"model\": name}"),
        },
    };
    let chosen = match req.model {
        None => None,
        Some(m) if j.job.settings.model.as_deref() == Some(m.as_str()) => None,
        Some(m) => {
            let known = upscale::model::list(app.args.model_dir.as_deref());
            if !known.iter().any(|e| e.name == m && e.present) {
                let names: Vec<_> = known.iter().filter(|e| e.present).map(|e| e.name.as_str()).collect();
                let shown: String = m.chars().filter(|c| !c.is_control()).take(80).collect();
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("unknown model '{shown}': expected one of {}", names.join(", ")),
                );
            }
            let mut cfg = j.job.settings.clone();
            cfg.model = Some(m);
            cfg.denoise = upscale::Config::default().denoise;
            Some(cfg)
        }
    };
    if !app.store.start(&j, chosen) {
        return error(StatusCode::CONFLICT, format!("the job is {}, not waiting to start", j.state().name()));
    }
    Json(j.to_json()).into_response()
}

/// Server-sent events: the job's events so far, then each new one, until it is finished.
async fn events(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let Some(j) = app.store.get(&id) else {
        return not_found();
    };
    let rx = j.tick.subscribe();
    let stopping = app.stopping.clone();
    let stream = futures_util::stream::unfold((j, 0usize, rx, stopping, Vec::new()), |st| async move {
        let (j, mut next, mut rx, mut stopping, mut pending) = st;
        loop {
            if let Some(e) = pending.pop() {
                // The one place the events become JSON.
                let data = serde_json::to_string::<upscale::Event>(&e).unwrap_or_default();
                return Some((Ok::<_, Infallible>(Event::default().data(data)), (j, next, rx, stopping, pending)));
            }
            rx.borrow_and_update();
            let (new, finished) = j.events_from(next);
            if !new.is_empty() {
                next += new.len();
                pending = new.into_iter().rev().collect();
                continue;
            }
            if finished || *stopping.borrow() {
                return None;
            }
            tokio::select! {
                r = rx.changed() => if r.is_err() { return None },
                _ = stopping.changed() => {},
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

async fn result(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<Inline>,
    h: HeaderMap,
) -> Response {
    let Some(j) = app.store.get(&id) else {
        return not_found();
    };
    if j.state() != JobState::Done {
        return error(StatusCode::CONFLICT, format!("the job is {}", j.state().name()));
    }
    let Some(fit) = q.fit else {
        return files::send(&j.job.output, (q.inline.is_none()).then_some(j.name.as_str()), &h).await;
    };
    let fit = fit.parse::<u32>().unwrap_or(0);
    if !super::view::FIT.contains(&fit) || j.job.kind != Kind::Image {
        let (lo, hi) = (super::view::FIT.start(), super::view::FIT.end());
        return error(StatusCode::BAD_REQUEST, format!("fit: a picture's result scaled to {lo} to {hi} pixels a side"));
    }
    let (output, dir) = (j.job.output.clone(), j.dir.clone());
    match tokio::task::spawn_blocking(move || super::view::scaled(&output, &dir, fit)).await {
        Ok(Ok(view)) => files::send(&view, None, &h).await,
        Ok(Err(e)) => {
            eprintln!("upscale: scaled view of {id}: {e}");
            error(StatusCode::INTERNAL_SERVER_ERROR, "the result could not be scaled for the page")
        }
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the result could not be scaled for the page"),
    }
}

#[derive(serde::Deserialize)]
struct Inline {
    inline: Option<String>,
    /// A picture's result scaled down to fit this many pixels a side (`super::view`).
    fit: Option<String>,
}

/// The uploaded file, shown inline (the "before" side of the comparison): a picture's PNG
/// preview when the browser cannot show its format; a video as it came (its first picture is at
/// `/preview`).
async fn input(State(app): State<Arc<App>>, Path(id): Path<String>, h: HeaderMap) -> Response {
    match app.store.get(&id) {
        Some(j) => {
            let preview = j.dir.join(files::PREVIEW);
            let still = j.job.kind == Kind::Image && preview.exists();
            files::send(if still { &preview } else { &j.job.input }, None, &h).await
        }
        None => not_found(),
    }
}

/// A still picture of the upload that every browser shows: the PNG made at upload (a TIFF's
/// copy, a video's first picture), else the uploaded picture itself; 404 for an edit's entry.
async fn preview(State(app): State<Arc<App>>, Path(id): Path<String>, h: HeaderMap) -> Response {
    let Some(j) = app.store.get(&id) else { return not_found() };
    let made = j.dir.join(files::PREVIEW);
    match (&j.origin, j.job.kind) {
        (Origin::Upload, _) if made.exists() => files::send(&made, None, &h).await,
        (Origin::Upload, Kind::Image) => files::send(&j.job.input, None, &h).await,
        _ => error(StatusCode::NOT_FOUND, "this job has no preview"),
    }
}

/// The request body of `POST /api/jobs/{id}/edit`: the page's list of operations.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EditRequest {
    operations: Vec<Operation>,
}

async fn edit_job(State(app): State<Arc<App>>, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    let Some(src) = app.store.get(&id) else {
        return not_found();
    };
    let req: EditRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("upscale: edit of {id} refused: {e}");
            return error(
                StatusCode::BAD_REQUEST,
                "the edit operations could not be read (see the API's list of operations)",
            );
        }
    };
    let (true, Some(size)) = (src.state() == JobState::Done, src.size()) else {
        return error(StatusCode::CONFLICT, "only a finished result can be edited");
    };
    let spec = match EditSpec::from_operations(&req.operations) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    // Everything the size decides (crop inside, memory, a watermark that fits) is refused now,
    // before anything is queued, allocated or drawn.
    let checked = tokio::task::spawn_blocking({
        let spec = spec.clone();
        move || upscale::edit::preflight(&spec, size, 4)
    })
    .await;
    match checked {
        Ok(Ok((w, h))) if w as u64 * h as u64 <= app.args.max_pixels => {}
        Ok(Ok((w, h))) => {
            let limit = app.args.max_pixels;
            return error(
                StatusCode::BAD_REQUEST,
                format!("the result would be {w}x{h}, over the limit of {limit} pixels"),
            );
        }
        Ok(Err(e)) => {
            let status = match e {
                EditError::Invalid(_) => StatusCode::BAD_REQUEST,
                EditError::OverBudget { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            return error(status, e.to_string());
        }
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "the edit check failed"),
    }
    let Some(slot) = app.store.reserve() else {
        return error(StatusCode::TOO_MANY_REQUESTS, "too many jobs held: delete some first");
    };
    let Ok((new_id, dir)) = app.store.new_dir() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "cannot create the job folder");
    };
    let from = &src.job.output;
    let ext = from.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
    let input = dir.join(format!("input.{ext}"));
    let output = dir.join(format!("result.{ext}"));
    if std::fs::hard_link(from, &input).or_else(|_| std::fs::copy(from, &input).map(|_| ())).is_err() {
        let _ = std::fs::remove_dir_all(&dir);
        return error(StatusCode::INTERNAL_SERVER_ERROR, "cannot copy the result");
    }
    let name = format!("{}_edited.{ext}", files::stem(&src.name));
    let settings =
        upscale::Config { edit: spec, overwrite: true, max_pixels: app.args.max_pixels, ..Default::default() };
    let job = Job::new(input, output, src.job.kind, &settings);
    let entry = Entry::new(new_id.clone(), name, src.name.clone(), Origin::Edit { source: src.id.clone() }, dir, job);
    app.store.submit(slot, Arc::new(entry));
    (StatusCode::CREATED, [(header::LOCATION, format!("/api/jobs/{new_id}"))], Json(json!({ "id": new_id })))
        .into_response()
}

#[derive(serde::Deserialize)]
struct Ids {
    ids: String,
}

/// `GET /api/zip?ids=a,b,c`: the finished results among them in one zip.
async fn zip(State(app): State<Arc<App>>, Query(q): Query<Ids>, h: HeaderMap) -> Response {
    let chosen: Vec<(std::path::PathBuf, String)> = q
        .ids
        .split(',')
        .filter_map(|id| app.store.get(id.trim()))
        .filter(|j| j.state() == JobState::Done)
        .map(|j| (j.job.output.clone(), j.name.clone()))
        .collect();
    if chosen.is_empty() {
        return error(StatusCode::NOT_FOUND, "no finished results among those ids");
    }
    let Ok(hex) = super::queue::random_hex(16) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "no random source for the zip's name");
    };
    let out = app.store.root.join(format!("{hex}.zip"));
    let path = out.clone();
    let written = tokio::task::spawn_blocking(move || files::write_zip(&chosen, &path)).await;
    if !matches!(written, Ok(Ok(()))) {
        let _ = std::fs::remove_file(&out);
        return error(StatusCode::INTERNAL_SERVER_ERROR, "cannot write the zip");
    }
    let resp = files::send(&out, Some("upscaled.zip"), &h).await;
    // The open file stays readable; the name goes now.
    let _ = std::fs::remove_file(&out);
    resp
}

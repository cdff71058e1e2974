//! The page's comparison of networks: `POST /api/jobs/{id}/compare` runs 1 to 4 networks on an
//! uploaded picture (or a region of it) through the library's `compare_picture`, on the
//! server's one engine cache, and answers the labelled side-by-side grid as a PNG: a preview in
//! seconds of what each network makes of a detail, before (or beside) the whole run.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::queue::Origin;
use super::reply::error;
use super::App;
use upscale::config::Kind;
use upscale::{CompareSpec, Error};

/// The most networks the page compares at once.
const MAX_MODELS: usize = 4;

/// The request's body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompareRequest {
    /// Network names, as `/api/models` lists them.
    models: Vec<String>,
    /// A rectangle of the uploaded picture, in its pixels; none for the whole picture.
    #[serde(default)]
    region: Option<Region>,
    /// Nearest, bicubic and Lanczos too.
    #[serde(default)]
    classic: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Region {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
}

/// `POST /api/jobs/{id}/compare`: the grid as `image/png`; 400 for a request that cannot be
/// read, an unknown network or a region outside the picture, 404 for no such job, 409 for a
/// video or an edit, 413 when the grid cannot fit in memory.
pub async fn compare(State(app): State<Arc<App>>, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    let Some(entry) = app.store.get(&id) else {
        return error(StatusCode::NOT_FOUND, "no such job");
    };
    if entry.job.kind != Kind::Image || !matches!(entry.origin, Origin::Upload) {
        return error(StatusCode::CONFLICT, "networks are compared on an uploaded picture");
    }
    let req: CompareRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("upscale: comparison on {id} refused: {e}");
            return error(
                StatusCode::BAD_REQUEST,
                "the comparison could not be read: expected {\"models\": [names], \"region\": {\"x\",\"y\",\"width\",\"height\"}}",
            );
        }
    };
    if !(1..=MAX_MODELS).contains(&req.models.len()) {
        return error(StatusCode::BAD_REQUEST, format!("{} networks: compare 1 to {MAX_MODELS}", req.models.len()));
    }
    let known = upscale::model::list(app.args.model_dir.as_deref());
    for m in &req.models {
        // Networks only: the classic resizers come with `classic`.
        if !known.iter().any(|e| &e.name == m && e.present && e.family.is_some()) {
            let names: Vec<_> =
                known.iter().filter(|e| e.present && e.family.is_some()).map(|e| e.name.as_str()).collect();
            let shown: String = m.chars().filter(|c| !c.is_control()).take(80).collect();
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown network '{shown}': expected one of {}", names.join(", ")),
            );
        }
    }
    // Panels at the job's scale (an exact size is the whole picture's, not a region's).
    let mut cfg = entry.job.settings.clone();
    (cfg.width, cfg.height) = (None, None);
    let spec = CompareSpec {
        models: req.models,
        region: req.region.map(|r| (r.x, r.y, r.width, r.height)),
        classic: req.classic,
    };
    let (input, engines) = (entry.job.input.clone(), app.engines.clone());
    let made = tokio::task::spawn_blocking(move || -> upscale::Result<Vec<u8>> {
        let pic = upscale::still::load(&input, cfg.max_pixels)?;
        let grid = upscale::compare_picture(&pic.rgb, &cfg, &spec, &engines, &upscale::progress::NoProgress)?;
        let mut png = std::io::Cursor::new(Vec::new());
        grid.write_to(&mut png, image::ImageFormat::Png)
            .map_err(|e| Error::Encode { path: "the comparison".into(), msg: e.to_string() })?;
        Ok(png.into_inner())
    })
    .await;
    match made {
        Ok(Ok(png)) => {
            ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response()
        }
        Ok(Err(e @ Error::Memory { .. })) => error(StatusCode::PAYLOAD_TOO_LARGE, e.report()),
        Ok(Err(e @ (Error::Config(_) | Error::Conflict(_)))) => error(StatusCode::BAD_REQUEST, e.report()),
        Ok(Err(e)) => {
            eprintln!("upscale: comparison on {id} failed: {}", e.report());
            error(StatusCode::INTERNAL_SERVER_ERROR, "the comparison could not be made (see the server's log)")
        }
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the comparison could not be made"),
    }
}

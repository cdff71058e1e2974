//! `upscale serve` under a careless or hostile request (issue 19), against the real binary: a
//! 30 KB upload asking for a 65535x65535 result is refused (413, JSON, the upload removed) and
//! the server answers after, under a memory limit; the work folder is private (0700, files
//! 0600); a killed server's folder is swept by the next start, a live one's never; download
//! names keep their Unicode; a TIFF and a video no browser plays get a PNG "before"; every
//! refusal is `{"error": …}` in words for a person (no flag names, no decoder internals).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use upscale_test_support::serve::*;

fn coffee() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/coffee.png")).unwrap()
}

/// The `upscale-serve-*` folders in `tmp`.
fn work_dirs(tmp: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("upscale-serve-"))
        .collect();
    v.sort();
    v
}

/// A JSON refusal with `status`, whose message is for a person.
fn assert_json_error(r: &Resp, status: u16, what: &str) -> String {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert!(r.header("content-type").is_some_and(|t| t.starts_with("application/json")), "{what}: {:?}", r.headers);
    let msg = r.json()["error"].as_str().unwrap_or_else(|| panic!("{what}: no error text: {}", r.text())).to_string();
    for bad in ["--", "Corrupt", "deflate", "InvalidCode", "multer", "boundary", "Failed to"] {
        assert!(!msg.contains(bad), "{what}: '{bad}' in a message for a person: {msg}");
    }
    assert!(!msg.trim().is_empty());
    msg
}

#[test]
fn a_result_of_65535_squared_is_refused_and_the_server_answers_after() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    // Under an address-space limit, as a container's would be (the budget reads it).
    let st = Command::new("prlimit")
        .arg(format!("--pid={}", srv.child.id()))
        .arg(format!("--as={}", 6u64 << 30))
        .status()
        .expect("prlimit (util-linux) is needed to set a memory limit");
    assert!(st.success());
    let fields = [("model", "nearest"), ("width", "65535"), ("height", "65535")];
    let r = srv.upload("coffee.png", &coffee(), &fields);
    let msg = assert_json_error(&r, 413, "65535x65535");
    assert!(msg.contains("65535x65535") && msg.contains("memory") && msg.contains("available"), "{msg}");
    // The upload is gone, the server is up and still does the work it can.
    let dir = &work_dirs(tmp.path())[0];
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().filter(|e| e.file_name() != ".lock").collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(srv.get("/api/models").status, 200);
    let id = srv.submit("coffee.png", &photo(40, 30), &[("model", "nearest"), ("scale", "2")]);
    assert_eq!(srv.wait(&id, Duration::from_secs(120))["state"], "done");
}

#[test]
fn the_work_folder_and_its_files_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let id = srv.submit("a.png", &photo(40, 30), &[("model", "nearest"), ("scale", "2")]);
    assert_eq!(srv.wait(&id, Duration::from_secs(120))["state"], "done");
    let dirs = work_dirs(tmp.path());
    assert_eq!(dirs.len(), 1);
    let mut seen = 0;
    let mut todo = dirs.clone();
    while let Some(d) = todo.pop() {
        assert_eq!(std::fs::metadata(&d).unwrap().permissions().mode() & 0o777, 0o700, "{}", d.display());
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                todo.push(e.path());
            } else {
                assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{}", e.path().display());
                seen += 1;
            }
        }
    }
    assert!(seen >= 3, "the upload, the result and the lock: {seen} files");
}

#[test]
fn a_killed_servers_folder_is_swept_by_the_next_start_and_a_live_ones_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = Server::start(tmp.path(), &[]);
    let id = a.submit("a.png", &photo(40, 30), &[("model", "nearest"), ("scale", "2")]);
    assert_eq!(a.wait(&id, Duration::from_secs(120))["state"], "done");
    let a_dir = work_dirs(tmp.path()).remove(0);
    a.child.kill().unwrap(); // SIGKILL: nothing cleaned up
    a.child.wait().unwrap();
    assert!(a_dir.join(&id).exists(), "a killed server leaves its files");
    let b = Server::start(tmp.path(), &[]);
    let dirs = work_dirs(tmp.path());
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert_ne!(dirs[0], a_dir);
    assert!(b.stderr.lock().unwrap().iter().any(|l| l.contains("removed") && l.contains(&*a_dir.to_string_lossy())));
    // A second server beside a live one leaves the live one's folder alone.
    let c = Server::start(tmp.path(), &[]);
    assert_eq!(work_dirs(tmp.path()).len(), 2);
    assert_eq!(b.get("/api/models").status, 200);
    drop(c);
}

#[test]
fn download_names_keep_their_unicode() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let id = srv.submit("Ünïcødé 写真.png", &photo(40, 30), &[("model", "nearest"), ("scale", "2")]);
    let j = srv.wait(&id, Duration::from_secs(120));
    assert_eq!(j["state"], "done");
    assert_eq!(j["original"], "Ünïcødé 写真.png");
    assert_eq!(j["name"], "Ünïcødé 写真_x2.png");
    let r = srv.get(&format!("/api/jobs/{id}/result"));
    assert_eq!(r.status, 200);
    let cd = r.header("content-disposition").unwrap();
    assert!(cd.contains("filename*=UTF-8''%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%E5%86%99%E7%9C%9F_x2.png"), "{cd}");
    assert!(cd.contains("filename=\"") && cd.is_ascii(), "{cd}");
}

#[test]
fn a_tiff_upload_gets_a_png_before_picture() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let img = image::load_from_memory(&photo(40, 30)).unwrap().to_rgb8();
    let mut tiff = std::io::Cursor::new(Vec::new());
    img.write_to(&mut tiff, image::ImageFormat::Tiff).unwrap();
    let id = srv.submit("scan.tif", tiff.get_ref(), &[("model", "nearest"), ("scale", "2")]);
    let r = srv.get(&format!("/api/jobs/{id}/input"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/png"));
    let shown = image::load_from_memory_with_format(&r.body, image::ImageFormat::Png).unwrap().to_rgb8();
    assert_eq!(shown, img, "the preview is the upload, pixel for pixel");
    assert_eq!(srv.wait(&id, Duration::from_secs(120))["state"], "done");
}

/// A clip of 6 frames made by ffmpeg from a crop of the bundled photograph (80x48: a real
/// picture's colours, not a test pattern's saturated edges, whose chroma every converter
/// rounds differently) with the video arguments `codec`; its path and bytes.
fn encoded_clip(dir: &Path, name: &str, codec: &[&str]) -> (PathBuf, Vec<u8>) {
    let still = dir.join(format!("{name}.source.png"));
    std::fs::write(&still, photo(80, 48)).unwrap();
    let path = dir.join(name);
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-i"])
        .arg(&still)
        .args(["-frames:v", "6", "-r", "10"])
        .args(codec)
        .arg(&path)
        .output()
        .expect("ffmpeg runs (the tests make their clips with it)");
    assert!(out.status.success(), "ffmpeg could not make {name}: {}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

/// Issue 19 point 5: every input gets a browser-viewable "before". Videos no browser plays
/// (HEVC in Matroska, FFV1) get their first picture as a PNG at `/preview`, made by the server
/// at upload; `/input` stays the video as it came.
#[test]
fn a_video_a_browser_cannot_play_gets_a_png_before_picture() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let hevc = ["-c:v", "libx265", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p"];
    for (name, codec) in [("clip.mkv", &hevc[..]), ("lossless.mkv", &["-c:v", "ffv1"][..])] {
        let (path, bytes) = encoded_clip(work.path(), name, codec);
        let id = srv.submit(name, &bytes, &[("model", "nearest"), ("scale", "2")]);
        let r = srv.get(&format!("/api/jobs/{id}/preview"));
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("image/png"), "{name}");
        let shown = image::load_from_memory_with_format(&r.body, image::ImageFormat::Png).unwrap().to_rgb8();
        assert_eq!(shown.dimensions(), (80, 48), "{name}");
        // The first picture, as ffmpeg itself decodes it.
        let first = work.path().join(format!("{name}.png"));
        let st = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
            .arg(&path)
            .args(["-frames:v", "1"])
            .arg(&first)
            .status()
            .expect("ffmpeg runs");
        assert!(st.success());
        let db = psnr(&shown, &image::open(&first).unwrap().to_rgb8());
        assert!(db >= 33.0, "{name}: the preview vs ffmpeg's first frame: {db:.1} dB");
        let r = srv.get(&format!("/api/jobs/{id}/input"));
        assert_eq!(r.status, 200, "{name}");
        assert!(r.body == bytes, "{name}: /input is the upload as it came");
        assert_eq!(srv.wait(&id, Duration::from_secs(300))["state"], "done", "{name}");
    }
    // A picture in a format browsers show is its own preview.
    let png = photo(40, 30);
    let id = srv.submit("p.png", &png, &[("model", "nearest"), ("scale", "2")]);
    let r = srv.get(&format!("/api/jobs/{id}/preview"));
    assert_eq!((r.status, r.header("content-type")), (200, Some("image/png")));
    assert!(r.body == png);
}

#[test]
fn every_refusal_is_json_in_words_for_a_person() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &["--max-upload-mib", "1"]);
    // Routes and methods that do not exist, ids that do not.
    assert_json_error(&srv.get("/nope"), 404, "unknown page");
    assert_json_error(&srv.get("/api/jobs/0123/result"), 404, "unknown job");
    assert_json_error(&srv.req("PUT", "/api/jobs", &[("Content-Type", "application/json")], b"{}"), 405, "PUT");
    assert_json_error(&srv.get("/api/zip"), 400, "zip without ids");
    // A form that is not one.
    let r = srv.req("POST", "/api/jobs", &[("Content-Type", "multipart/form-data")], b"garbage");
    assert_json_error(&r, 400, "no boundary");
    let r = srv.req("POST", "/api/jobs", &[("Content-Type", "multipart/form-data; boundary=x")], b"--x\r\nbroken");
    let msg = assert_json_error(&r, 400, "cut-short form");
    assert!(msg.contains("upload"), "{msg}");
    // Too large: the limit in MiB, no flag name.
    let r = srv.upload("big.png", &vec![0u8; 1_200_000], &[]);
    let msg = assert_json_error(&r, 413, "over the upload limit");
    assert!(msg.contains("1 MiB"), "{msg}");
    // A PNG whose header is right and whose data is damaged: refused at once, in words.
    let mut png = photo(40, 30);
    let n = png.len();
    for b in &mut png[60..n - 20] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    let msg = assert_json_error(&srv.upload("bad.png", &png, &[("model", "nearest")]), 422, "damaged PNG");
    assert!(msg.contains("bad.png") && msg.contains("damaged"), "{msg}");
    assert!(srv.logged("bad.png:", Duration::from_secs(10)), "the details go to the log");
    // Sizes: the limit stated once and true (65535 is accepted, 65536 refused saying 65535).
    let msg = assert_json_error(&srv.upload("a.png", &photo(8, 8), &[("width", "65536")]), 400, "width 65536");
    assert!(msg.contains("65535") && !msg.contains("65536 ") && !msg.contains("at most 65536"), "{msg}");
    let models = srv.json("/api/models");
    assert_eq!(models["max_side"], 65535);
    assert_eq!(models["max_upload_bytes"], 1 << 20);
    let r = srv.upload("a.png", &photo(8, 8), &[("model", "nearest"), ("width", "65535"), ("height", "8")]);
    assert_eq!(r.status, 201, "65535 is within the limit: {}", r.text());
    // Not a picture nor a video.
    let msg = assert_json_error(&srv.upload("notes.txt", b"just some text", &[]), 415, "text");
    assert!(msg.contains("notes.txt"), "{msg}");
    // Nothing of the refused uploads is left.
    let dir = &work_dirs(tmp.path())[0];
    let jobs = std::fs::read_dir(dir).unwrap().flatten().filter(|e| e.path().is_dir()).count();
    assert_eq!(jobs, 1, "only the accepted job's folder");
}

//! `upscale serve` in a real browser (Debian's chromium driven by `headless_chrome`): a photo and
//! a clip with audio uploaded through the file input at 2×, progress and done seen on the page,
//! the before/after slider shown and moved with the keyboard, a crop + rotate applied, the
//! results downloaded by the browser and checked (size, PSNR against the CLI, frames and audio
//! with ffprobe), all as a zip; then a picture pasted and one dropped; a Unicode watermark typed
//! in the editor and drawn; a clip the browser cannot play (FFV1) compared with its first
//! picture. Screenshots of each step go to target/serve-screenshots/.
//! Without /usr/bin/chromium the test fails saying so (tools/setup.sh installs it).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::Browser as Cdp;
use headless_chrome::{Browser, Tab};
use serde_json::Value;
use upscale_test_support::browser::{click, js, screenshot};
use upscale_test_support::serve::*;

fn browser() -> Browser {
    upscale_test_support::browser::start()
}

/// Where the screenshots go: target/serve-screenshots/.
fn shots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("serve-screenshots")
}

fn shot(tab: &Tab, name: &str) -> Vec<u8> {
    screenshot(tab, &shots(), name)
}

/// Polls `expr` until it is true.
fn until(tab: &Tab, expr: &str, limit: Duration, what: &str) {
    let t0 = Instant::now();
    while js(tab, &format!("!!({expr})")) != Value::Bool(true) {
        if t0.elapsed() > limit {
            shot(tab, "failed.png");
            panic!("{what}: not seen in {limit:?}; queue: {}", queue(tab));
        }
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// The queue as the page shows it.
fn queue(tab: &Tab) -> Value {
    js(
        tab,
        "[...document.querySelectorAll('#queue li')].map(li => ({id: li.dataset.id, state: li.dataset.state, \
         name: li.querySelector('.name').textContent, info: li.querySelector('.info').textContent}))",
    )
}

fn job_id(tab: &Tab, name_part: &str) -> String {
    let q = queue(tab);
    let j = q.as_array().unwrap().iter().find(|j| j["name"].as_str().unwrap().contains(name_part));
    j.unwrap_or_else(|| panic!("no job named like {name_part}: {q}"))["id"].as_str().unwrap().to_string()
}

/// Sets an input's value as a person would (the page listens to `input`).
fn set(tab: &Tab, id: &str, value: &str) {
    tab.evaluate(
        &format!("(() => {{ const e = document.getElementById('{id}'); e.value = '{value}'; e.dispatchEvent(new Event('input')); }})()"),
        false,
    )
    .expect("set a value");
}

/// Clicks the job's download link and waits for the browser to write the file.
fn download(tab: &Tab, id: &str, dir: &Path, name: &str) -> PathBuf {
    click(tab, &format!("#queue li[data-id='{id}'] .download"));
    wait_file(dir, name)
}

fn wait_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let t0 = Instant::now();
    while !path.exists() {
        assert!(t0.elapsed() < Duration::from_secs(60), "the browser did not download {name}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Written under a .crdownload name and renamed when complete.
    path
}

/// A browser tab on the server's page, its model list loaded, set to nearest ×2 (as a person
/// would choose them).
fn page_at_nearest_x2(browser: &Browser, srv: &Server) -> std::sync::Arc<Tab> {
    let tab = browser.new_tab().expect("a tab");
    tab.set_default_timeout(Duration::from_secs(30));
    tab.navigate_to(&format!("http://127.0.0.1:{}/", srv.port)).unwrap().wait_until_navigated().unwrap();
    until(&tab, "document.querySelectorAll('#model option').length > 1", Duration::from_secs(30), "the model list");
    set(&tab, "model", "nearest");
    click(&tab, "#scales input[value='2']");
    tab
}

/// Opens the editor on the job `id` and waits until it is shown, with no message.
fn open_editor(tab: &Tab, id: &str) {
    click(tab, &format!("#queue li[data-id='{id}'] .edit"));
    until(
        tab,
        "!document.getElementById('edit-panel').hidden && document.getElementById('edit-msg').textContent === ''",
        Duration::from_secs(30),
        "the editor",
    );
}

/// Applies the edit in the editor and returns the new job's id once it is done (within `limit`).
fn apply_edit(tab: &Tab, limit: Duration) -> String {
    let before: Vec<Value> = queue(tab).as_array().unwrap().iter().map(|j| j["id"].clone()).collect();
    click(tab, "#apply");
    until(
        tab,
        "document.getElementById('edit-msg').textContent.startsWith('queued')",
        Duration::from_secs(30),
        "the edit queued",
    );
    let q = queue(tab);
    let new = q.as_array().unwrap().iter().find(|j| !before.contains(&j["id"])).expect("a new job for the edit");
    let eid = new["id"].as_str().unwrap().to_string();
    until(
        tab,
        &format!("document.querySelector(\"#queue li[data-id='{eid}']\").dataset.state === 'done'"),
        limit,
        "the edit done",
    );
    eid
}

/// Edits the job open in the editor: crop (x, y, w, h) then rotate 90° clockwise, and applies.
fn crop_and_rotate(tab: &Tab, id: &str, crop: (u32, u32, u32, u32), logo: Option<&Path>, screenshot: &str) -> String {
    open_editor(tab, id);
    set(tab, "crop-x", &crop.0.to_string());
    set(tab, "crop-y", &crop.1.to_string());
    set(tab, "crop-w", &crop.2.to_string());
    set(tab, "crop-h", &crop.3.to_string());
    set(tab, "rotate", "90");
    if let Some(logo) = logo {
        tab.wait_for_element("#wm-image").unwrap().set_input_files(&[logo.to_str().unwrap()]).expect("choose a logo");
        until(tab, "editing && editing.logo", Duration::from_secs(10), "the logo loaded");
    }
    let size = js(tab, "document.getElementById('preview').dataset.size");
    assert_eq!(size, Value::String(format!("{}x{}", crop.3, crop.2)), "the preview shows the rotated crop");
    tab.find_element("#edit-panel").unwrap().scroll_into_view().unwrap();
    shot(tab, screenshot);
    apply_edit(tab, Duration::from_secs(300))
}

#[test]
fn upload_scale_compare_edit_and_download_in_a_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let work = tempfile::tempdir().unwrap();
    let photo_path = work.path().join("coffee.png");
    std::fs::write(&photo_path, photo(96, 64)).unwrap();
    let clip_path = work.path().join("clip.mp4");
    clip(&clip_path, "64x48", 10, 1.0);
    let (_, _, clip_frames, _) = probe(&clip_path);
    let downloads = work.path().join("downloads");
    std::fs::create_dir(&downloads).unwrap();

    let browser = browser();
    let tab = browser.new_tab().expect("a tab");
    tab.set_default_timeout(Duration::from_secs(30));
    tab.call_method(Cdp::SetDownloadBehavior {
        behavior: Cdp::SetDownloadBehaviorBehaviorOption::Allow,
        browser_context_id: None,
        download_path: Some(downloads.to_string_lossy().into_owned()),
        events_enabled: None,
    })
    .expect("allow downloads");
    tab.navigate_to(&format!("http://127.0.0.1:{}/", srv.port)).unwrap().wait_until_navigated().unwrap();
    until(&tab, "document.querySelectorAll('#model option').length > 1", Duration::from_secs(30), "the model list");
    // The network the CLI uses by default, so the results compare with the CLI's.
    set(&tab, "model", "realesr-animevideov3");
    shot(&tab, "1-page.png");

    // 2×, both files through the file input.
    click(&tab, "#scales input[value='2']");
    let input = tab.wait_for_element("#file").unwrap();
    input.set_input_files(&[photo_path.to_str().unwrap(), clip_path.to_str().unwrap()]).expect("choose files");
    until(
        &tab,
        "document.querySelectorAll('#queue li[data-id]:not([data-id=\"\"])').length === 2",
        Duration::from_secs(60),
        "two jobs",
    );
    shot(&tab, "2-queue.png");
    until(&tab, "[...document.querySelectorAll('#queue li')].some(li => li.dataset.state === 'running' || li.dataset.state === 'done')", Duration::from_secs(120), "a job running");
    until(
        &tab,
        "[...document.querySelectorAll('#queue li')].filter(li => li.dataset.state === 'done').length === 2",
        Duration::from_secs(600),
        "both jobs done",
    );
    let q = queue(&tab);
    let video_info = q.as_array().unwrap().iter().find(|j| j["name"] == "clip.mp4").unwrap()["info"].clone();
    assert_eq!(video_info, "clip_x2.mp4: 128×96", "{q}");
    shot(&tab, "3-done.png");

    // The slider, moved with the keyboard.
    let photo_id = job_id(&tab, "coffee.png");
    click(&tab, &format!("#queue li[data-id='{photo_id}'] .compare"));
    until(
        &tab,
        "document.getElementById('after') && document.getElementById('after').naturalWidth === 192",
        Duration::from_secs(30),
        "the upscaled picture shown",
    );
    until(&tab, "document.getElementById('before').naturalWidth === 96", Duration::from_secs(30), "the original shown");
    tab.find_element("#slider").unwrap().focus().unwrap();
    for _ in 0..20 {
        tab.press_key("ArrowLeft").unwrap();
    }
    assert_eq!(js(&tab, "document.getElementById('slider').value"), "30");
    assert_eq!(js(&tab, "document.getElementById('before-layer').style.clipPath"), "inset(0px 70% 0px 0px)");
    set(&tab, "zoom", "2");
    tab.evaluate("document.getElementById('zoom').dispatchEvent(new Event('change'))", false).unwrap();
    let widths = js(&tab, "[document.getElementById('after').getBoundingClientRect().width, document.getElementById('before').getBoundingClientRect().width]");
    assert_eq!(widths[0], widths[1], "zoom keeps both sides in step: {widths}");
    tab.find_element("#compare-panel").unwrap().scroll_into_view().unwrap();
    let compare_png = shot(&tab, "4-compare.png");
    let page_end =
        js(&tab, "Math.ceil(document.querySelector('footer').getBoundingClientRect().bottom + window.scrollY)");

    // Download the upscaled photo: same as the CLI's output for the same input.
    let got = download(&tab, &photo_id, &downloads, "coffee_x2.png");
    let served = image::open(&got).unwrap().to_rgb8();
    assert_eq!(served.dimensions(), (192, 128));
    let cli = cli_reference(&photo_path, &work.path().join("cli.png"), &["-s", "2", "-m", "realesr-animevideov3"]); // the page's model
    let db = psnr(&served, &cli);
    assert!(db >= 40.0, "browser download vs CLI: {db:.1} dB");

    // Crop + rotate, applied on the server, downloaded as a new file.
    let edited_id = crop_and_rotate(&tab, &photo_id, (20, 10, 150, 100), None, "5-edit-photo.png");
    let got = download(&tab, &edited_id, &downloads, "coffee_x2_edited.png");
    let edited = image::open(&got).unwrap().to_rgb8();
    let want = image::DynamicImage::ImageRgb8(served.clone()).crop_imm(20, 10, 150, 100).rotate90().to_rgb8();
    assert_eq!(edited.dimensions(), (100, 150));
    assert_eq!(edited, want, "the edit is exactly crop then rotate of the result");

    // The video: two synced players, then crop + rotate through FFmpeg.
    let clip_id = job_id(&tab, "clip.mp4");
    click(&tab, &format!("#queue li[data-id='{clip_id}'] .compare"));
    until(
        &tab,
        "document.getElementById('after').tagName === 'VIDEO' && document.getElementById('after').videoWidth === 128",
        Duration::from_secs(30),
        "the upscaled clip playable",
    );
    until(
        &tab,
        "document.getElementById('before').videoWidth === 64",
        Duration::from_secs(30),
        "the original clip playable",
    );
    click(&tab, "#play");
    until(&tab, "document.getElementById('after').currentTime > 0.2", Duration::from_secs(30), "the clip playing");
    click(&tab, "#play");
    until(
        &tab,
        "Math.abs(document.getElementById('after').currentTime - document.getElementById('before').currentTime) < 0.1",
        Duration::from_secs(10),
        "the players in step",
    );
    tab.find_element("#compare-panel").unwrap().scroll_into_view().unwrap();
    shot(&tab, "6-compare-video.png");
    let upscaled_clip = download(&tab, &clip_id, &downloads, "clip_x2.mp4");
    let (w, h, frames, audio) = probe(&upscaled_clip);
    assert_eq!((w, h, frames), (128, 96, clip_frames));
    assert!(audio.is_some(), "audio kept in the upscaled clip");
    // With a picture as watermark too (read by the page, overlaid by FFmpeg).
    let logo = work.path().join("logo.png");
    image::RgbImage::from_pixel(8, 8, image::Rgb([255, 0, 0])).save(&logo).unwrap();
    let edited_clip = crop_and_rotate(&tab, &clip_id, (8, 4, 100, 80), Some(&logo), "7-edit-video.png");
    let got = download(&tab, &edited_clip, &downloads, "clip_x2_edited.mp4");
    let (w, h, frames, audio) = probe(&got);
    assert_eq!((w, h, frames), (80, 100, clip_frames));
    assert!(audio.is_some(), "audio kept in the edited clip");
    assert_eq!(frame_times(&got), frame_times(&upscaled_clip), "every frame keeps its timestamp");

    // All four results as one zip.
    until(&tab, "!document.getElementById('zip').hidden", Duration::from_secs(10), "the zip link");
    click(&tab, "#zip");
    let zip_path = wait_file(&downloads, "upscaled.zip");
    std::thread::sleep(Duration::from_millis(500));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut names: Vec<String> = zip.file_names().map(String::from).collect();
    names.sort();
    assert_eq!(names, ["clip_x2.mp4", "clip_x2_edited.mp4", "coffee_x2.png", "coffee_x2_edited.png"]);
    let mut inside = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name("coffee_x2.png").unwrap(), &mut inside).unwrap();
    assert_eq!(image::load_from_memory(&inside).unwrap().to_rgb8(), served);
    shot(&tab, "8-all.png");

    // A picture pasted (Ctrl+V) and one dropped on the drop zone become jobs too.
    for (event, target) in [
        ("new ClipboardEvent('paste', {clipboardData: dt})", "document"),
        (
            "new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})",
            "document.getElementById('drop')",
        ),
    ] {
        let before = queue(&tab).as_array().unwrap().len();
        tab.evaluate(
            &format!(
                "(async () => {{ const b = await (await fetch('/api/jobs/{photo_id}/input')).blob(); \
                 const dt = new DataTransfer(); dt.items.add(new File([b], 'given.png', {{type: 'image/png'}})); \
                 {target}.dispatchEvent({event}); }})()"
            ),
            true,
        )
        .expect("paste or drop");
        until(
            &tab,
            &format!("document.querySelectorAll('#queue li').length === {}", before + 1),
            Duration::from_secs(30),
            event,
        );
        until(
            &tab,
            "[...document.querySelectorAll('#queue li')].every(li => li.dataset.state === 'done')",
            Duration::from_secs(120),
            "the given picture done",
        );
    }
    let given: Vec<Value> =
        queue(&tab).as_array().unwrap().iter().filter(|j| j["name"] == "given.png").cloned().collect();
    assert_eq!(given.len(), 2, "{given:?}");
    assert!(given.iter().all(|j| j["info"] == "given_x2.png: 192×128"), "{given:?}");

    // The README's picture (docs/serve.png), when asked for.
    if std::env::var_os("UPSCALE_README_SCREENSHOT").is_some() {
        let img = image::load_from_memory(&compare_png).unwrap();
        let h = page_end.as_u64().map_or(img.height(), |b| (b as u32 + 8).min(img.height()));
        let small = img.crop_imm(0, 0, img.width(), h).resize(720, 2000, image::imageops::FilterType::Lanczos3);
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/serve.png");
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        small.to_rgb8().save(&out).unwrap();
        let size = std::fs::metadata(&out).unwrap().len();
        assert!(size < 200_000, "docs/serve.png is {size} bytes: keep it under 200 KB");
    }
}

/// Sets the page's viewport to `width`×`height` CSS pixels, as a phone or a laptop shows it.
fn viewport(tab: &Tab, width: u32, height: u32) {
    use headless_chrome::protocol::cdp::Emulation::SetDeviceMetricsOverride;
    tab.call_method(SetDeviceMetricsOverride {
        width,
        height,
        device_scale_factor: 1.0,
        mobile: width < 600,
        scale: None,
        screen_width: None,
        screen_height: None,
        position_x: None,
        position_y: None,
        dont_set_visible_size: None,
        screen_orientation: None,
        viewport: None,
        display_feature: None,
        device_posture: None,
    })
    .expect("set the viewport");
    std::thread::sleep(Duration::from_millis(300));
}

/// Every text the cards' progress lines showed, kept by an observer in the page (issue 19: a
/// percent must be seen while a picture runs, a frame count while a video does).
const RECORD_INFO: &str = "window.__infos = []; new MutationObserver(() => { \
    for (const e of document.querySelectorAll('#queue .info')) { const t = e.textContent; \
    if (!window.__infos.includes(t)) window.__infos.push(t); } }) \
    .observe(document.getElementById('queue'), {subtree: true, childList: true, characterData: true});";

#[test]
fn the_page_shows_progress_warnings_and_presets_and_fits_a_phone() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &["--max-upload-mib", "5"]);
    let work = tempfile::tempdir().unwrap();
    let photo_path = work.path().join("photo.png");
    std::fs::write(&photo_path, photo(96, 64)).unwrap();
    let clip_path = work.path().join("clip.mp4");
    clip(&clip_path, "64x48", 10, 1.0);
    let (_, _, clip_frames, _) = probe(&clip_path);
    let big = work.path().join("big.png");
    std::fs::write(&big, vec![0u8; 6 << 20]).unwrap();

    let browser = browser();
    let tab = browser.new_tab().expect("a tab");
    tab.set_default_timeout(Duration::from_secs(30));
    tab.navigate_to(&format!("http://127.0.0.1:{}/", srv.port)).unwrap().wait_until_navigated().unwrap();
    until(&tab, "document.querySelectorAll('#preset option').length > 0", Duration::from_secs(30), "the presets");
    until(&tab, "document.getElementById('limits').textContent !== ''", Duration::from_secs(30), "the limits");

    // The presets, named for a person with the network beside, come from the server; pictures
    // default to the photo preset.
    let served = srv.json("/api/presets");
    let shown = js(&tab, "[...document.querySelectorAll('#preset option')].map(o => [o.value, o.textContent])");
    let list = served["presets"].as_array().unwrap();
    assert_eq!(shown.as_array().unwrap().len(), list.len(), "{shown}");
    for p in list {
        let label = format!("{} — {}", p["label"].as_str().unwrap(), p["model"].as_str().unwrap());
        assert!(shown.as_array().unwrap().iter().any(|o| o[1] == label.as_str()), "{label} not in {shown}");
    }
    assert!(list.iter().any(|p| p["label"] == "Video" && p["model"] == "realesr-animevideov3"), "{served}");
    assert_eq!(js(&tab, "document.getElementById('preset').value"), served["image_default"]);
    assert!(served["image_default"].as_str().unwrap().starts_with("photo"), "{served}");
    // The settings come before the drop zone.
    let order =
        js(&tab, "document.querySelector('.settings').compareDocumentPosition(document.getElementById('drop')) & 4");
    assert_eq!(order, 4, "the settings sit above the drop zone");
    // A favicon.
    assert_eq!(srv.get("/favicon.ico").status, 200);
    tab.evaluate(RECORD_INFO, false).unwrap();

    // Checked in the page before anything is sent: a blank exact size, a file over the limit.
    click(&tab, "#scales input[value='size']");
    let input = tab.wait_for_element("#file").unwrap();
    input.set_input_files(&[photo_path.to_str().unwrap()]).expect("choose a file");
    until(
        &tab,
        "document.querySelector('#queue li[data-state=failed]')",
        Duration::from_secs(10),
        "the blank size refused",
    );
    let info = js(&tab, "document.querySelector('#queue li[data-state=failed] .info').textContent");
    assert!(info.as_str().unwrap().contains("width, a height"), "{info}");
    click(&tab, "#queue li[data-state=failed] .delete");
    click(&tab, "#scales input[value='2']");
    input.set_input_files(&[big.to_str().unwrap()]).expect("choose a file");
    until(
        &tab,
        "document.querySelector('#queue li[data-state=failed]')",
        Duration::from_secs(10),
        "the big file refused",
    );
    let info = js(&tab, "document.querySelector('#queue li[data-state=failed] .info').textContent");
    assert!(info.as_str().unwrap().contains("upload limit of 5 MiB"), "{info}");
    click(&tab, "#queue li[data-state=failed] .delete");
    assert_eq!(srv.json("/api/jobs")["jobs"].as_array().unwrap().len(), 0, "nothing was sent");

    // A picture at 8x on the built-in network: two passes, two tiles: a percent between 0 and
    // 100 is shown while it runs; the card shows the scale, the network and before -> after.
    set(&tab, "model", "realesr-animevideov3");
    click(&tab, "#scales input[value='8']");
    input.set_input_files(&[photo_path.to_str().unwrap()]).expect("choose a file");
    until(&tab, "document.querySelector('#queue li[data-state=done]')", Duration::from_secs(300), "the picture done");
    let infos = js(&tab, "window.__infos");
    // How many tiles depends on this machine (the automatic tile is timed and capped by free
    // memory): any share strictly between 0 and 100 of a count of tiles.
    let midway = |t: &str| {
        let (pct, rest) = t.split_once(" % · ").unwrap_or(("", ""));
        pct.parse::<u32>().is_ok_and(|p| p > 0 && p < 100) && rest.contains(" tiles")
    };
    assert!(infos.as_array().unwrap().iter().any(|t| midway(t.as_str().unwrap())), "{infos}");
    until(
        &tab,
        "document.querySelector('#queue li[data-state=done] .sizes').textContent === '96×64 → 768×512'",
        Duration::from_secs(10),
        "the sizes on the card",
    );
    assert_eq!(js(&tab, "document.querySelector('#queue li[data-state=done] .scale').textContent"), "8×");
    assert_eq!(js(&tab, "document.querySelector('#queue li[data-state=done] .thumb').naturalWidth"), 96);

    // A video to WebM: its AAC audio cannot go in, and the card says so; the frame count shows.
    set(&tab, "video-format", "webm");
    click(&tab, "#scales input[value='2']");
    input.set_input_files(&[clip_path.to_str().unwrap()]).expect("choose the clip");
    until(
        &tab,
        "[...document.querySelectorAll('#queue li')].filter(li => li.dataset.state === 'done').length === 2",
        Duration::from_secs(300),
        "the clip done",
    );
    let infos = js(&tab, "window.__infos");
    let of = format!("/{clip_frames} frames");
    assert!(
        infos
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().contains(" % · ") && t.as_str().unwrap().contains(&of)),
        "{of} in {infos}"
    );
    until(
        &tab,
        "[...document.querySelectorAll('#queue .thumb')].some(t => t.tagName === 'IMG' && t.naturalWidth === 64 \
         && t.src.endsWith('/preview'))",
        Duration::from_secs(30),
        "the clip's thumbnail",
    );
    let warnings = js(&tab, "[...document.querySelectorAll('#queue .warnings li')].map(l => l.textContent)");
    assert!(warnings.as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("left out")), "{warnings}");
    // The final state from the server: no card left "running".
    assert_eq!(js(&tab, "document.querySelectorAll('#queue li[data-state=running]').length"), 0);

    // Compare with the sizes and sound, the editor with its values shown; then no horizontal
    // overflow at a phone's width and a laptop's.
    let clip_id = js(&tab, "[...document.querySelectorAll('#queue li')].find(li => li.querySelector('.name').textContent === 'clip.mp4').dataset.id");
    click(&tab, &format!("#queue li[data-id='{}'] .compare", clip_id.as_str().unwrap()));
    until(
        &tab,
        "document.getElementById('after') && document.getElementById('after').videoWidth === 128",
        Duration::from_secs(30),
        "the clip in Compare",
    );
    until(
        &tab,
        "document.getElementById('compare-sizes').textContent.includes('64×48 → 128×96')",
        Duration::from_secs(10),
        "the sizes in Compare",
    );
    click(&tab, "#mute");
    assert_eq!(js(&tab, "document.getElementById('after').muted"), false, "unmuted");
    let photo_id = js(&tab, "[...document.querySelectorAll('#queue li')].find(li => li.querySelector('.name').textContent === 'photo.png').dataset.id");
    click(&tab, &format!("#queue li[data-id='{}'] .edit", photo_id.as_str().unwrap()));
    until(&tab, "document.getElementById('edit-msg').textContent === ''", Duration::from_secs(30), "the editor");
    set(&tab, "crop-x", "100");
    set(&tab, "crop-w", "400");
    assert_eq!(js(&tab, "document.getElementById('crop-view').dataset.crop"), "100,0,400,512");
    set(&tab, "out-w", "200");
    assert_eq!(js(&tab, "document.getElementById('out-h').value"), "256", "the shape kept");
    set(&tab, "wm-opacity", "0.5");
    assert_eq!(js(&tab, "document.getElementById('wm-opacity-value').textContent"), "50 %");
    for (w, h, name) in [(390, 844, "phone-390.png"), (1280, 900, "laptop-1280.png")] {
        viewport(&tab, w, h);
        let fits = js(&tab, "[document.documentElement.scrollWidth, window.innerWidth]");
        assert!(fits[0].as_u64().unwrap() <= fits[1].as_u64().unwrap(), "{w} px: scrollWidth, innerWidth = {fits}");
        // Nor does any control stick out of the page (the stage scrolls inside its viewport).
        let out = js(
            &tab,
            "[...document.querySelectorAll('body *')].filter(e => !e.closest('#viewport') && e.getClientRects().length \
             && e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.id || e.className || e.tagName)",
        );
        assert_eq!(out, Value::Array(vec![]), "{w} px: sticking out");
        shot(&tab, name);
    }
}

/// Opens the editor on the job, types `text` as its watermark (size 20, opaque, bottom right)
/// as a person would, applies it and returns the new job's id once it is done.
fn watermark(tab: &Tab, id: &str, text: &str) -> String {
    open_editor(tab, id);
    set(tab, "wm-text", text);
    set(tab, "wm-size", "20");
    set(tab, "wm-opacity", "1");
    set(tab, "wm-pos", "bottom-right");
    apply_edit(tab, Duration::from_secs(120))
}

/// Issue 19 points 5 and 8 in the page: a watermark typed with non-ASCII characters is drawn with
/// their own glyphs (the result differs in the watermark's corner from the same edit typed with
/// "?" in their place, which is what the old 8x8 ASCII font drew, and nowhere else); a video the
/// browser cannot play (FFV1) is compared with its first picture, made by the server, as "before".
#[test]
fn a_unicode_watermark_typed_in_the_page_is_drawn_and_an_unplayable_video_has_a_before() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let work = tempfile::tempdir().unwrap();
    let photo_path = work.path().join("photo.png");
    std::fs::write(&photo_path, photo(96, 64)).unwrap();
    let browser = browser();
    let tab = page_at_nearest_x2(&browser, &srv);
    let input = tab.wait_for_element("#file").unwrap();
    input.set_input_files(&[photo_path.to_str().unwrap()]).expect("choose the photo");
    until(&tab, "document.querySelector('#queue li[data-state=done]')", Duration::from_secs(120), "the photo done");
    let photo_id = job_id(&tab, "photo.png");

    let unicode = watermark(&tab, &photo_id, "© Ünï 写真");
    tab.find_element("#edit-panel").unwrap().scroll_into_view().unwrap();
    shot(&tab, "watermark-unicode.png");
    click(&tab, "#edit-close");
    let question = watermark(&tab, &photo_id, "? ?n? ??");
    let result = |id: &str| {
        let r = srv.get(&format!("/api/jobs/{id}/result"));
        assert_eq!(r.status, 200);
        image::load_from_memory(&r.body).unwrap().to_rgb8()
    };
    let plain = result(&photo_id);
    let (u, q) = (result(&unicode), result(&question));
    assert_eq!((u.dimensions(), q.dimensions()), ((192, 128), (192, 128)));
    assert!(u != plain, "nothing drawn");
    // Pixels that differ between the two, and where they are: only in the bottom-right corner,
    // where the watermark is.
    let differing: Vec<(u32, u32)> =
        u.enumerate_pixels().filter(|(x, y, p)| q.get_pixel(*x, *y) != *p).map(|(x, y, _)| (x, y)).collect();
    assert!(differing.len() > 50, "the Unicode text looks like the '?' rendering: {} pixels differ", differing.len());
    assert!(
        differing.iter().all(|&(x, y)| x >= 192 / 3 && y >= 128 / 2),
        "differences outside the watermark's corner: {:?}",
        differing.iter().find(|&&(x, y)| x < 192 / 3 || y < 128 / 2)
    );

    // A lossless FFV1 clip: Chromium plays no FFV1, so Compare shows the server's first picture.
    let clip_path = work.path().join("lossless.mkv");
    let st = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10"])
        .args(["-frames:v", "5", "-c:v", "ffv1"])
        .arg(&clip_path)
        .status()
        .expect("ffmpeg runs");
    assert!(st.success());
    click(&tab, "#edit-close");
    input.set_input_files(&[clip_path.to_str().unwrap()]).expect("choose the clip");
    until(
        &tab,
        "[...document.querySelectorAll('#queue li')].some(li => li.querySelector('.name').textContent === 'lossless.mkv' \
         && li.dataset.state === 'done')",
        Duration::from_secs(120),
        "the clip done",
    );
    let clip_id = job_id(&tab, "lossless.mkv");
    let thumb = format!("#queue li[data-id='{clip_id}'] .thumb");
    until(
        &tab,
        &format!("document.querySelector(\"{thumb}\").naturalWidth === 64"),
        Duration::from_secs(30),
        "the clip's thumbnail",
    );
    click(&tab, &format!("#queue li[data-id='{clip_id}'] .compare"));
    until(
        &tab,
        "document.getElementById('after').tagName === 'VIDEO' && document.getElementById('after').videoWidth === 128",
        Duration::from_secs(30),
        "the upscaled clip playable",
    );
    until(
        &tab,
        "document.getElementById('before').tagName === 'IMG' && document.getElementById('before').naturalWidth === 64",
        Duration::from_secs(30),
        "the first picture as before",
    );
    until(
        &tab,
        "document.getElementById('compare-sizes').textContent.includes('64×48 → 128×96') \
         && document.getElementById('compare-sizes').textContent.includes('first picture')",
        Duration::from_secs(10),
        "the sizes and the note in Compare",
    );
    click(&tab, "#play");
    until(&tab, "document.getElementById('after').currentTime > 0.1", Duration::from_secs(30), "the result playing");
    tab.find_element("#compare-panel").unwrap().scroll_into_view().unwrap();
    shot(&tab, "compare-unplayable.png");
}

#[test]
fn after_a_restart_the_page_says_its_jobs_are_gone_and_clears_them() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let port = srv.port;
    let id = srv.submit("photo.png", &photo(40, 30), &[("model", "nearest"), ("scale", "2")]);
    srv.wait(&id, Duration::from_secs(120));
    let browser = browser();
    let tab = browser.new_tab().expect("a tab");
    tab.set_default_timeout(Duration::from_secs(30));
    tab.navigate_to(&format!("http://127.0.0.1:{port}/")).unwrap().wait_until_navigated().unwrap();
    until(&tab, "document.querySelector('#queue li[data-state=done]')", Duration::from_secs(30), "the job listed");
    // The server is killed (nothing cleaned up) and started again on the same address.
    drop(srv);
    let again = Server::start_on(tmp.path(), port, &[]);
    until(&tab, "!document.getElementById('banner').hidden && document.getElementById('banner').textContent.includes('restarted')", Duration::from_secs(30), "the restart told");
    assert_eq!(js(&tab, "document.querySelectorAll('#queue li').length"), 0, "the old cards cleared");
    shot(&tab, "restarted.png");
    drop(again);
}

/// #28 point 1 in the page: a filter chosen in the editor is previewed live with the server's
/// maths (the preview equals what Apply then gives, to rounding), and Apply gives the command
/// line's pixels.
#[test]
fn a_filter_chosen_in_the_page_previews_what_apply_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let work = tempfile::tempdir().unwrap();
    let photo_path = work.path().join("photo.png");
    // 360x240 at 2x is 720x480: the editor's preview is then the full result, pixel for pixel.
    let coffee = image::open(upscale_test_support::repo_root().join("samples/coffee.png")).unwrap();
    coffee.resize_exact(360, 240, image::imageops::FilterType::Lanczos3).to_rgb8().save(&photo_path).unwrap();
    let browser = browser();
    let tab = page_at_nearest_x2(&browser, &srv);
    tab.wait_for_element("#file").unwrap().set_input_files(&[photo_path.to_str().unwrap()]).expect("choose the photo");
    until(&tab, "document.querySelector('#queue li[data-state=done]')", Duration::from_secs(120), "the photo done");
    let id = job_id(&tab, "photo.png");
    open_editor(&tab, &id);
    let pixels = "document.getElementById('preview').getContext('2d').getImageData(0, 0, 720, 480).data";
    js(&tab, &format!("(window.plainPreview = Array.from({pixels})).length"));
    set(&tab, "filter", "sepia");
    set(&tab, "filter-amount", "0.7");
    assert_eq!(js(&tab, "document.getElementById('preview').dataset.size"), "720x480");
    let changed = js(&tab, &format!("Array.from({pixels}).some((v, i) => v !== window.plainPreview[i])"));
    assert_eq!(changed, Value::Bool(true), "the preview shows the filter");
    js(&tab, &format!("(window.filteredPreview = Array.from({pixels})).length"));
    tab.find_element("#edit-panel").unwrap().scroll_into_view().unwrap();
    shot(&tab, "filter-sepia.png");
    let eid = apply_edit(&tab, Duration::from_secs(120));
    let r = srv.get(&format!("/api/jobs/{eid}/result"));
    assert_eq!(r.status, 200);
    let applied = image::load_from_memory(&r.body).unwrap().to_rgb8();
    assert_eq!(applied.dimensions(), (720, 480));
    let preview: Vec<u8> = js(&tab, "window.filteredPreview")
        .as_array()
        .unwrap()
        .chunks(4)
        .flat_map(|p| p[..3].iter().map(|v| v.as_u64().unwrap() as u8).collect::<Vec<_>>())
        .collect();
    let db = psnr(&applied, &image::RgbImage::from_raw(720, 480, preview).unwrap());
    assert!(db >= 45.0, "the preview against Apply's result: {db:.1} dB");
    // The command line with the same filter gives the same pixels as Apply.
    let cli = cli_reference(
        &photo_path,
        &work.path().join("cli.png"),
        &["-m", "nearest", "-s", "2", "--filter", "sepia=0.7"],
    );
    assert!(cli == applied, "the page's Apply and the command line differ: {:.1} dB", psnr(&cli, &applied));
}

/// #28 page details: the settings chosen survive a reload; a file dropped beside the drop zone
/// does not make the browser leave the page; the queue is announced to screen readers.
#[test]
fn settings_survive_a_reload_and_a_stray_drop_keeps_the_page() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let browser = browser();
    let tab = browser.new_tab().expect("a tab");
    tab.set_default_timeout(Duration::from_secs(30));
    let url = format!("http://127.0.0.1:{}/", srv.port);
    tab.navigate_to(&url).unwrap().wait_until_navigated().unwrap();
    until(&tab, "document.querySelectorAll('#model option').length > 1", Duration::from_secs(30), "the model list");
    until(&tab, "document.querySelectorAll('#preset option').length > 1", Duration::from_secs(30), "the presets");
    set(&tab, "model", "nearest");
    set(&tab, "image-format", "jpg");
    set(&tab, "quality", "80");
    click(&tab, "#scales input[value='3']");
    let last_preset = js(&tab, "[...document.getElementById('preset').options].pop().value");
    set(&tab, "preset", last_preset.as_str().unwrap());
    tab.reload(false, None).unwrap().wait_until_navigated().unwrap();
    until(&tab, "document.querySelectorAll('#model option').length > 1", Duration::from_secs(30), "the model list");
    until(&tab, "document.querySelectorAll('#preset option').length > 1", Duration::from_secs(30), "the presets");
    let now = js(
        &tab,
        "[document.getElementById('model').value, document.getElementById('image-format').value, \
         document.getElementById('quality').value, document.querySelector('input[name=scale]:checked').value, \
         document.getElementById('preset').value]",
    );
    assert_eq!(now, serde_json::json!(["nearest", "jpg", "80", "3", last_preset]), "after a reload");
    // A drop beside the zone is taken by the page (the browser would otherwise open the file).
    let kept = js(
        &tab,
        "(() => { const e = new DragEvent('drop', { bubbles: true, cancelable: true }); \
         document.body.dispatchEvent(e); return e.defaultPrevented; })()",
    );
    assert_eq!(kept, Value::Bool(true), "a stray drop left to the browser");
    assert_eq!(js(&tab, "document.getElementById('queue').getAttribute('aria-live')"), "polite");
}

/// Where the result's pixel (`x`, `y`) is on the screen: the editor's preview shows the result
/// whole (`dataset.size` is its size in pixels).
fn on_preview(tab: &Tab, x: f64, y: f64) -> (f64, f64) {
    let r = js(
        tab,
        "(() => { const c = document.getElementById('preview'); const r = c.getBoundingClientRect(); \
         const [w, h] = c.dataset.size.split('x').map(Number); return [r.left, r.top, r.width / w, r.height / h]; })()",
    );
    let v: Vec<f64> = r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    (v[0] + (x + 0.25) * v[2], v[1] + (y + 0.25) * v[3])
}

/// A drag with the mouse from one result pixel to another (pressed, two moves, released), as
/// Chromium's input pipeline delivers it: pointer events on the preview.
fn mouse_drag(tab: &Tab, from: (f64, f64), to: (f64, f64)) {
    use headless_chrome::protocol::cdp::Input::DispatchMouseEvent;
    let (a, b) = (on_preview(tab, from.0, from.1), on_preview(tab, to.0, to.1));
    let mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
    for (kind, (x, y), buttons) in
        [("mousePressed", a, 1), ("mouseMoved", mid, 1), ("mouseMoved", b, 1), ("mouseReleased", b, 0)]
    {
        let e: DispatchMouseEvent = serde_json::from_value(serde_json::json!({
            "type": kind, "x": x, "y": y, "button": "left", "buttons": buttons, "clickCount": 1
        }))
        .unwrap();
        tab.call_method(e).expect("a mouse event");
    }
}

/// The same drag with one finger (touch start, moves, end).
fn touch_drag(tab: &Tab, from: (f64, f64), to: (f64, f64)) {
    use headless_chrome::protocol::cdp::Input::DispatchTouchEvent;
    let (a, b) = (on_preview(tab, from.0, from.1), on_preview(tab, to.0, to.1));
    let mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
    for (kind, points) in
        [("touchStart", vec![a]), ("touchMove", vec![mid]), ("touchMove", vec![b]), ("touchEnd", vec![])]
    {
        let points: Vec<Value> = points.iter().map(|(x, y)| serde_json::json!({"x": x, "y": y})).collect();
        let e: DispatchTouchEvent =
            serde_json::from_value(serde_json::json!({"type": kind, "touchPoints": points})).unwrap();
        tab.call_method(e).expect("a touch event");
    }
}

/// #28 point 2 in the page: a rectangle dragged with the mouse and a filled ellipse dragged with
/// a finger on the editor's preview become the API's annotation operations, the preview shows
/// them, and Apply gives the command line's pixels for the same list (`--edit`): the
/// rectangle's stroke red, its inside untouched, the ellipse's centre its fill.
#[test]
fn shapes_drawn_with_mouse_and_touch_in_the_page_are_what_apply_and_the_cli_give() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let work = tempfile::tempdir().unwrap();
    let photo_path = work.path().join("photo.png");
    // 360x240 at 2x is 720x480: the editor's preview is then the full result, pixel for pixel.
    let coffee = image::open(upscale_test_support::repo_root().join("samples/coffee.png")).unwrap();
    coffee.resize_exact(360, 240, image::imageops::FilterType::Lanczos3).to_rgb8().save(&photo_path).unwrap();
    let browser = browser();
    let tab = page_at_nearest_x2(&browser, &srv);
    tab.wait_for_element("#file").unwrap().set_input_files(&[photo_path.to_str().unwrap()]).expect("choose the photo");
    until(&tab, "document.querySelector('#queue li[data-state=done]')", Duration::from_secs(120), "the photo done");
    let id = job_id(&tab, "photo.png");
    open_editor(&tab, &id);
    tab.find_element("#preview").unwrap().scroll_into_view().unwrap();
    assert_eq!(js(&tab, "document.getElementById('preview').dataset.size"), "720x480");

    set(&tab, "draw-tool", "rect");
    set(&tab, "draw-width", "6");
    mouse_drag(&tab, (100.0, 80.0), (300.0, 240.0));
    until(&tab, "annotations.operations().length === 1", Duration::from_secs(5), "the rectangle drawn");
    set(&tab, "draw-tool", "ellipse");
    tab.evaluate("document.getElementById('draw-fill').checked = true", false).unwrap();
    set(&tab, "draw-fill-color", "#0000ff");
    touch_drag(&tab, (400.0, 100.0), (600.0, 300.0));
    until(&tab, "annotations.operations().length === 2", Duration::from_secs(5), "the ellipse drawn with a finger");
    let ops = js(&tab, "operations()");
    let (rect, ellipse) = (&ops[0], &ops[1]);
    assert_eq!((rect["op"].as_str(), ellipse["op"].as_str()), (Some("rect"), Some("ellipse")), "{ops}");
    let near = |v: &Value, want: f64| (v.as_f64().unwrap() - want).abs() <= 1.0;
    assert!(
        near(&rect["x"], 100.0)
            && near(&rect["y"], 80.0)
            && near(&rect["width"], 200.0)
            && near(&rect["height"], 160.0),
        "the rectangle is not where it was dragged: {rect}"
    );
    assert!(near(&ellipse["x"], 400.0) && near(&ellipse["width"], 200.0), "the ellipse: {ellipse}");
    assert_eq!((rect["color"].as_str(), rect["line"].as_u64()), (Some("#ff0000"), Some(6)));
    assert_eq!(ellipse["fill"].as_str(), Some("#0000ff"));
    // The preview shows the rectangle's stroke where it goes.
    let (rx, ry, rw, rh) = (
        rect["x"].as_u64().unwrap(),
        rect["y"].as_u64().unwrap(),
        rect["width"].as_u64().unwrap(),
        rect["height"].as_u64().unwrap(),
    );
    let (ex, ey, ew, eh) = (
        ellipse["x"].as_u64().unwrap(),
        ellipse["y"].as_u64().unwrap(),
        ellipse["width"].as_u64().unwrap(),
        ellipse["height"].as_u64().unwrap(),
    );
    let shown = js(
        &tab,
        &format!(
            "Array.from(document.getElementById('preview').getContext('2d').getImageData({rx}, {}, 1, 1).data)",
            ry + rh / 2
        ),
    );
    assert!(shown[0].as_u64() > Some(200) && shown[1].as_u64() < Some(60), "the preview at the left edge: {shown}");
    shot(&tab, "draw-shapes.png");

    let eid = apply_edit(&tab, Duration::from_secs(120));
    let r = srv.get(&format!("/api/jobs/{eid}/result"));
    assert_eq!(r.status, 200);
    let applied = image::load_from_memory(&r.body).unwrap().to_rgb8();
    let plain = image::load_from_memory(&srv.get(&format!("/api/jobs/{id}/result")).body).unwrap().to_rgb8();
    let (rx, ry, rw, rh) = (rx as u32, ry as u32, rw as u32, rh as u32);
    assert_eq!(applied.get_pixel(rx, ry + rh / 2).0, [255, 0, 0], "the left edge");
    assert_eq!(applied.get_pixel(rx + rw / 2, ry + rh).0, [255, 0, 0], "the bottom edge");
    for (x, y) in [(rx + 10, ry + 10), (rx + rw / 2, ry + rh / 2), (rx + rw - 10, ry + rh - 10)] {
        assert_eq!(applied.get_pixel(x, y), plain.get_pixel(x, y), "inside the rectangle at {x},{y}");
    }
    assert_eq!(applied.get_pixel((ex + ew / 2) as u32, (ey + eh / 2) as u32).0, [0, 0, 255], "the ellipse's fill");
    assert_eq!(applied.get_pixel(10, 470), plain.get_pixel(10, 470), "away from both");
    // The command line with the page's list gives the same pixels.
    let list = serde_json::to_string(&ops).unwrap();
    let cli = cli_reference(&photo_path, &work.path().join("cli.png"), &["-m", "nearest", "-s", "2", "--edit", &list]);
    assert!(cli == applied, "the page's Apply and --edit differ: {:.1} dB", psnr(&cli, &applied));
}

/// The page's Advanced setting for videos (#27): unticking "hold still what stands still" sends
/// `temporal=off`, so the served clip has the command line's `--temporal off` frames; the choice
/// is kept across a reload like the other settings.
#[test]
fn unticking_temporal_stabilisation_in_the_page_gives_the_cli_off_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let work = tempfile::tempdir().unwrap();
    let clip_path = work.path().join("clip.mp4");
    clip(&clip_path, "64x48", 10, 1.0);
    let browser = browser();
    let tab = browser.new_tab().expect("a tab");
    tab.set_default_timeout(Duration::from_secs(30));
    tab.navigate_to(&format!("http://127.0.0.1:{}/", srv.port)).unwrap().wait_until_navigated().unwrap();
    until(&tab, "document.querySelectorAll('#model option').length > 1", Duration::from_secs(30), "the model list");
    set(&tab, "model", "realesr-animevideov3");
    set(&tab, "video-format", "mkv");
    click(&tab, "#scales input[value='2']");
    click(&tab, "details.advanced summary");
    assert_eq!(js(&tab, "document.getElementById('temporal').checked"), Value::Bool(true), "on by default");
    click(&tab, "#temporal");
    assert_eq!(js(&tab, "document.getElementById('temporal').checked"), Value::Bool(false));
    tab.reload(false, None).unwrap().wait_until_navigated().unwrap();
    until(&tab, "document.querySelectorAll('#model option').length > 1", Duration::from_secs(30), "the model list");
    assert_eq!(js(&tab, "document.getElementById('temporal').checked"), Value::Bool(false), "kept across a reload");
    set(&tab, "model", "realesr-animevideov3");
    tab.wait_for_element("#file").unwrap().set_input_files(&[clip_path.to_str().unwrap()]).expect("choose the clip");
    until(&tab, "document.querySelector('#queue li[data-state=done]')", Duration::from_secs(300), "the clip done");
    let id = job_id(&tab, "clip.mp4");
    let served = work.path().join("served.mkv");
    std::fs::write(&served, srv.get(&format!("/api/jobs/{id}/result")).body).unwrap();
    let cli = |temporal: &str| {
        let out = work.path().join(format!("cli_{temporal}.mkv"));
        let st = std::process::Command::new(upscale_test_support::bin())
            .arg(&clip_path)
            .arg("-o")
            .arg(&out)
            .args(["-m", "realesr-animevideov3", "-s", "2", "-q", "--temporal", temporal])
            .status()
            .unwrap();
        assert!(st.success());
        upscale_test_support::frame_md5s(&out)
    };
    let got = upscale_test_support::frame_md5s(&served);
    assert_eq!(got.len(), 10);
    assert_eq!(got, cli("off"), "the page's clip is not the command line's --temporal off");
    assert_ne!(got, cli("on"), "on and off gave the same frames: the setting was not tested");
}

/// The card of the job whose name contains `name_part`, as a CSS selector.
fn card_of(tab: &Tab, name_part: &str) -> String {
    format!("#queue li[data-id='{}']", job_id(tab, name_part))
}

/// Issue 28 point 6 in the page: with "Preview first" a picture is uploaded and waits (held on
/// the server); "Compare networks" on its card shows two networks on a region dragged with the
/// mouse, in seconds, while the job still waits; "Run the whole file" then runs it. Point 7
/// (touch): on its result, a crop dragged with a finger on the editor's preview sets the crop.
#[test]
fn preview_first_compares_networks_on_a_region_then_runs_and_a_finger_crops() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let work = tempfile::tempdir().unwrap();
    let photo_path = work.path().join("waits.png");
    std::fs::write(&photo_path, photo(64, 48)).unwrap();
    let browser = browser();
    let tab = page_at_nearest_x2(&browser, &srv);
    click(&tab, "#preview-first");
    tab.wait_for_element("#file").unwrap().set_input_files(&[photo_path.to_str().unwrap()]).expect("choose the photo");
    until(&tab, "document.querySelector('#queue li[data-state=held]')", Duration::from_secs(30), "the upload held");
    let id = job_id(&tab, "waits.png");
    let card = card_of(&tab, "waits.png");
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(srv.json(&format!("/api/jobs/{id}"))["state"], "held", "the job started without Run");
    click(&tab, &format!("{card} .networks"));
    until(
        &tab,
        "document.querySelectorAll('input[name=model-choice]').length >= 2 && \
         !document.getElementById('models-panel').hidden && !document.getElementById('models-held').hidden",
        Duration::from_secs(30),
        "the networks panel for the waiting picture",
    );
    until(&tab, "document.getElementById('region-view').width !== 320", Duration::from_secs(10), "the picture drawn");
    // Two fast networks: the built-in one and the command line's default for pictures.
    for name in ["realesr-animevideov3", "realesr-general-x4v3"] {
        click(&tab, &format!("input[name=model-choice][value='{name}']"));
    }
    assert_eq!(js(&tab, "document.querySelectorAll('input[name=model-choice]:checked').length"), 2, "two networks");
    // A region dragged with the mouse on the picture: from (16, 12) to (40, 36) of 64x48.
    let r = js(&tab, "(() => { const r = document.getElementById('region-view').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()");
    let v: Vec<f64> = r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    let at = |x: f64, y: f64| (v[0] + x / 64.0 * v[2], v[1] + y / 48.0 * v[3]);
    for (kind, (x, y), buttons) in [
        ("mousePressed", at(16.0, 12.0), 1),
        ("mouseMoved", at(28.0, 24.0), 1),
        ("mouseMoved", at(40.0, 36.0), 1),
        ("mouseReleased", at(40.0, 36.0), 0),
    ] {
        let e: headless_chrome::protocol::cdp::Input::DispatchMouseEvent = serde_json::from_value(serde_json::json!({
            "type": kind, "x": x, "y": y, "button": "left", "buttons": buttons, "clickCount": 1
        }))
        .unwrap();
        tab.call_method(e).expect("a mouse event");
    }
    let region = js(&tab, "['x','y','w','h'].map(k => Number(document.getElementById('region-' + k).value))");
    let region: Vec<i64> = region.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    for (got, want) in region.iter().zip([16, 12, 24, 24]) {
        assert!((got - want).abs() <= 1, "the dragged region: {region:?}");
    }
    let t0 = Instant::now();
    click(&tab, "#models-run");
    until(&tab, "document.getElementById('models-grid').dataset.models", Duration::from_secs(120), "the grid");
    let first = t0.elapsed().as_secs_f64();
    // Again, the networks loaded: what a person waits for each further region.
    tab.evaluate("delete document.getElementById('models-grid').dataset.models", false).unwrap();
    let t0 = Instant::now();
    click(&tab, "#models-run");
    until(&tab, "document.getElementById('models-grid').dataset.models", Duration::from_secs(60), "the grid again");
    let secs = t0.elapsed().as_secs_f64();
    let grid = js(
        &tab,
        "[document.getElementById('models-grid').naturalWidth, document.getElementById('models-grid').naturalHeight]",
    );
    // Two panels of the 24x24 region at 2x side by side (and their labels).
    assert!(grid[0].as_u64().unwrap() >= 2 * 48 && grid[1].as_u64().unwrap() >= 48, "grid {grid}");
    assert_eq!(srv.json(&format!("/api/jobs/{id}"))["state"], "held", "comparing started the job");
    shot(&tab, "preview-first-networks.png");
    eprintln!("two networks on a 24x24 region of a held upload: {first:.1} s the first time, {secs:.1} s again");
    // Run with one of the networks compared, not the one it was added with (nearest).
    let offered = js(&tab, "[...document.getElementById('models-start-model').options].map(o => o.value).sort()");
    assert_eq!(offered, serde_json::json!(["", "realesr-animevideov3", "realesr-general-x4v3"]));
    set(&tab, "models-start-model", "realesr-animevideov3");
    click(&tab, "#models-start");
    until(
        &tab,
        &format!("document.querySelector(\"{card}\").dataset.state === 'done'"),
        Duration::from_secs(60),
        "run after the preview",
    );
    let j = srv.json(&format!("/api/jobs/{id}"));
    assert_eq!((j["state"].as_str(), j["width"].as_u64()), (Some("done"), Some(128)), "{j}");
    assert_eq!(j["model"], "realesr-animevideov3", "{j}");
    assert_eq!(js(&tab, &format!("document.querySelector(\"{card} .network\").textContent")), "realesr-animevideov3");

    // A crop dragged with one finger on the editor's preview (no drawing tool chosen).
    open_editor(&tab, &id);
    tab.find_element("#preview").unwrap().scroll_into_view().unwrap();
    assert_eq!(js(&tab, "document.getElementById('preview').style.touchAction"), "none");
    touch_drag(&tab, (20.0, 10.0), (100.0, 70.0));
    until(
        &tab,
        "document.getElementById('crop-w').value !== '128'",
        Duration::from_secs(5),
        "the crop dragged with a finger",
    );
    let crop = js(&tab, "['crop-x','crop-y','crop-w','crop-h'].map(k => Number(document.getElementById(k).value))");
    let crop: Vec<i64> = crop.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    for (got, want) in crop.iter().zip([20, 10, 80, 60]) {
        assert!((got - want).abs() <= 1, "the crop dragged with a finger: {crop:?}");
    }
    assert_eq!(js(&tab, "document.getElementById('preview').dataset.size"), "80x60");
}

/// Issue 28 point 7: with `--max-jobs 2`, four files dropped at once are not refused: two are
/// sent, two wait on the page for a place (the server's limit holds finished jobs too), and go
/// as soon as the finished ones are removed; all four finish. After a reload the cards still
/// say "2×" and the network chosen (point 4).
#[test]
fn a_batch_over_max_jobs_waits_for_places_and_every_file_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &["--max-jobs", "2"]);
    let work = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (1..=4)
        .map(|i| {
            let p = work.path().join(format!("batch{i}.png"));
            std::fs::write(&p, photo(24 + 8 * i, 16)).unwrap();
            p
        })
        .collect();
    let browser = browser();
    let tab = page_at_nearest_x2(&browser, &srv);
    until(&tab, "server.maxJobs === 2", Duration::from_secs(10), "the server's limit read");
    let paths: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    tab.wait_for_element("#file").unwrap().set_input_files(&paths).expect("choose four files");
    let count = |state: &str| js(&tab, &format!("document.querySelectorAll('#queue li[data-state={state}]').length"));
    until(
        &tab,
        "document.querySelectorAll('#queue li[data-state=done]').length === 2 && \
         document.querySelectorAll('#queue li[data-state=waiting]').length === 2",
        Duration::from_secs(60),
        "two done and two waiting",
    );
    // They keep waiting, in words, and none is refused.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!((count("done"), count("waiting"), count("failed")), (2.into(), 2.into(), 0.into()), "{}", queue(&tab));
    let info = js(&tab, "document.querySelector('#queue li[data-state=waiting] .info').textContent");
    assert!(info.as_str().unwrap().contains("at most 2 jobs"), "{info}");
    shot(&tab, "batch-waiting.png");
    let mut finished: Vec<String> = srv.json("/api/jobs")["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["original"].as_str().unwrap().to_string())
        .collect();
    // Removing the finished ones frees the places: the two waiting files go and finish.
    for _ in 0..2 {
        click(&tab, "#queue li[data-state=done] .delete");
        std::thread::sleep(Duration::from_millis(300));
    }
    until(
        &tab,
        "document.querySelectorAll('#queue li[data-state=done]').length === 2",
        Duration::from_secs(60),
        "the other two done",
    );
    assert_eq!(count("failed"), 0, "{}", queue(&tab));
    let jobs = srv.json("/api/jobs");
    for j in jobs["jobs"].as_array().unwrap() {
        assert_eq!(j["state"], "done", "{j}");
        finished.push(j["original"].as_str().unwrap().to_string());
    }
    finished.sort();
    assert_eq!(finished, ["batch1.png", "batch2.png", "batch3.png", "batch4.png"]);

    // A reload keeps the cards' labels (kept in this browser by job id).
    tab.reload(false, None).unwrap().wait_until_navigated().unwrap();
    until(
        &tab,
        "document.querySelectorAll('#queue li[data-state=done]').length === 2",
        Duration::from_secs(30),
        "the cards again",
    );
    let labels = js(&tab, "[...document.querySelectorAll('#queue li')].map(li => [li.querySelector('.scale').textContent, li.querySelector('.network').textContent])");
    assert_eq!(labels, serde_json::json!([["2×", "nearest"], ["2×", "nearest"]]), "after a reload");
}

/// Issue 28 point 7: an upload can be cancelled while it is sent; the server keeps nothing of
/// it. Chromium's network emulation slows the upload to 256 KiB/s so that there is time.
#[test]
fn an_upload_cancelled_in_the_page_leaves_nothing_on_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let work = tempfile::tempdir().unwrap();
    let big = work.path().join("slow.png");
    std::fs::write(&big, photo(96, 64).into_iter().chain(std::iter::repeat_n(0u8, 8 << 20)).collect::<Vec<u8>>())
        .unwrap();
    let browser = browser();
    let tab = page_at_nearest_x2(&browser, &srv);
    let enable: headless_chrome::protocol::cdp::Network::Enable =
        serde_json::from_value(serde_json::json!({})).unwrap();
    tab.call_method(enable).expect("network events");
    let slow: headless_chrome::protocol::cdp::Network::EmulateNetworkConditions = serde_json::from_value(
        serde_json::json!({"offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 262144}),
    )
    .unwrap();
    tab.call_method(slow).expect("slow uploads");
    tab.wait_for_element("#file").unwrap().set_input_files(&[big.to_str().unwrap()]).expect("choose the file");
    until(
        &tab,
        "(() => { const li = document.querySelector('#queue li[data-state=uploading]'); \
         return li && li.querySelector('progress').value > 0; })()",
        Duration::from_secs(30),
        "the upload under way",
    );
    // The server has begun to receive it.
    let t0 = Instant::now();
    while !leftovers(tmp.path()).iter().any(|p| p.ends_with("upload")) {
        assert!(t0.elapsed() < Duration::from_secs(30), "nothing reached the server: {:?}", leftovers(tmp.path()));
        std::thread::sleep(Duration::from_millis(50));
    }
    shot(&tab, "upload-cancel.png");
    click(&tab, "#queue li[data-state=uploading] .cancel");
    until(
        &tab,
        "document.querySelector('#queue li[data-state=cancelled]')",
        Duration::from_secs(10),
        "the upload cancelled",
    );
    let info = js(&tab, "document.querySelector('#queue li[data-state=cancelled] .info').textContent");
    assert_eq!(info, "upload cancelled");
    let t0 = Instant::now();
    while leftovers(tmp.path()).iter().any(|p| p.is_file()) {
        assert!(t0.elapsed() < Duration::from_secs(30), "the partial upload stayed: {:?}", leftovers(tmp.path()));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(srv.json("/api/jobs")["jobs"].as_array().unwrap().len(), 0);
}

/// Issue 28 point 7: a result 30000 pixels wide opens in Compare and Edit through the server's
/// scaled view: a picture on the stage (not an empty one), a note saying it is scaled, and the
/// editor ready (not "loading…" forever) with the result's real size.
#[test]
fn a_30000_wide_result_is_compared_and_edited_through_a_scaled_view() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let id = srv.submit("strip.png", &photo(100, 2), &[("width", "30000"), ("model", "nearest")]);
    assert_eq!(srv.wait(&id, Duration::from_secs(300))["state"], "done");
    let browser = browser();
    let tab = page_at_nearest_x2(&browser, &srv);
    let card = format!("#queue li[data-id='{id}']");
    until(
        &tab,
        &format!("document.querySelector(\"{card}\") && document.querySelector(\"{card}\").dataset.state === 'done'"),
        Duration::from_secs(30),
        "the card",
    );
    click(&tab, &format!("{card} .compare"));
    until(
        &tab,
        "document.getElementById('after') && document.getElementById('after').naturalWidth > 0",
        Duration::from_secs(60),
        "the result on the stage",
    );
    let shown = js(&tab, "[document.getElementById('after').naturalWidth, document.getElementById('stage').getBoundingClientRect().height]");
    assert_eq!(shown[0], 4096, "the scaled view: {shown}");
    assert!(shown[1].as_f64().unwrap() >= 4.0, "the stage is empty: {shown}");
    let note = js(&tab, "document.getElementById('compare-sizes').textContent");
    assert!(note.as_str().unwrap().contains("shown scaled") && note.as_str().unwrap().contains("30000×600"), "{note}");
    shot(&tab, "huge-compare.png");
    open_editor(&tab, &id);
    assert_eq!(js(&tab, "document.getElementById('preview').dataset.size"), "30000x600");
    let px = js(&tab, "(() => { const c = document.getElementById('preview'); return Array.from(c.getContext('2d').getImageData(c.width >> 1, c.height >> 1, 1, 1).data); })()");
    assert_eq!(px[3], 255, "the preview is drawn: {px}");
}

/// Every visible control on the page measured: its box in CSS pixels and, where it has a
/// border, the contrast of the border's colour with the background behind the control.
const MEASURE_CONTROLS: &str = "(() => {
  const lum = (c) => { const m = c.match(/[\\d.]+/g).map(Number); const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return { l: 0.2126 * f(m[0]) + 0.7152 * f(m[1]) + 0.0722 * f(m[2]), a: m.length > 3 ? m[3] : 1 }; };
  const behind = (el) => { for (let e = el.parentElement; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor; if (lum(c).a > 0.5) return c; } return 'rgb(255, 255, 255)'; };
  const name = (el) => el.id ? '#' + el.id : el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ')[0] : '') + (el.name ? '[' + el.name + '=' + el.value + ']' : '');
  const out = [];
  for (const el of document.querySelectorAll('button, a[href], input, select, summary, textarea, [role=button]')) {
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || cs.visibility === 'hidden' || Number(cs.opacity) === 0 || el.closest('[hidden]')) continue;
    let contrast = null;
    if (parseFloat(cs.borderTopWidth) > 0 && cs.borderTopStyle !== 'none' && lum(cs.borderTopColor).a > 0.5) {
      const [a, b] = [lum(cs.borderTopColor).l, lum(behind(el)).l];
      contrast = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }
    out.push({ name: name(el), w: r.width, h: r.height, contrast });
  }
  return out;
})()";

/// Issue 28 point 7 (WCAG 2.2 2.5.8 target size, 1.4.11 non-text contrast): on a phone 390 px
/// wide, with every panel open (settings with Advanced, a finished card, Compare, the networks
/// panel, Edit), each visible control is at least 24×24 CSS px and each control's border has at
/// least 3:1 contrast with what is behind it.
#[test]
fn on_a_phone_every_control_is_24_px_and_its_border_stands_out() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let work = tempfile::tempdir().unwrap();
    let photo_path = work.path().join("phone.png");
    std::fs::write(&photo_path, photo(64, 48)).unwrap();
    let browser = browser();
    let tab = page_at_nearest_x2(&browser, &srv);
    viewport(&tab, 390, 844);
    tab.wait_for_element("#file").unwrap().set_input_files(&[photo_path.to_str().unwrap()]).expect("choose the photo");
    until(&tab, "document.querySelector('#queue li[data-state=done]')", Duration::from_secs(60), "the photo done");
    let id = job_id(&tab, "phone.png");
    click(&tab, &format!("#queue li[data-id='{id}'] .compare"));
    until(
        &tab,
        "document.querySelectorAll('input[name=model-choice]').length > 0",
        Duration::from_secs(30),
        "the networks panel",
    );
    open_editor(&tab, &id);
    tab.evaluate("document.querySelector('details.advanced').open = true", false).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let measured = js(&tab, MEASURE_CONTROLS);
    let all = measured.as_array().unwrap();
    assert!(all.len() >= 40, "only {} controls measured: {measured}", all.len());
    let small: Vec<&Value> =
        all.iter().filter(|c| c["w"].as_f64().unwrap() < 24.0 || c["h"].as_f64().unwrap() < 24.0).collect();
    let faint: Vec<&Value> = all.iter().filter(|c| c["contrast"].as_f64().is_some_and(|k| k < 3.0)).collect();
    shot(&tab, "phone-controls.png");
    assert!(small.is_empty(), "controls under 24x24 CSS px at 390 px: {small:?}");
    assert!(faint.is_empty(), "control borders under 3:1: {faint:?}");
    let bordered = all.iter().filter(|c| c["contrast"].is_number()).count();
    assert!(bordered >= 20, "only {bordered} controls with a border measured: {measured}");
}

/// Issue 28 point 7: "Old scan" offers its network's clean-up levels and "1× clean only"; a
/// picture run so is the command line's `-s 1 --denoise 3` on that network (cleaned, the same
/// size). "Video" says under the list that its network is made for animation; the 1× choice
/// goes away with a preset that has none.
#[test]
fn old_scan_cleans_at_1x_at_the_level_chosen_and_video_says_it_is_for_animation() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let work = tempfile::tempdir().unwrap();
    let photo_path = work.path().join("scan.png");
    std::fs::write(&photo_path, photo(64, 48)).unwrap();
    let browser = browser();
    let tab = browser.new_tab().expect("a tab");
    tab.set_default_timeout(Duration::from_secs(30));
    tab.navigate_to(&format!("http://127.0.0.1:{}/", srv.port)).unwrap().wait_until_navigated().unwrap();
    until(
        &tab,
        "document.querySelector('#preset option[value=\"old-scan\"]')",
        Duration::from_secs(30),
        "the Old scan preset",
    );
    set(&tab, "preset", "video");
    tab.evaluate("document.getElementById('preset').dispatchEvent(new Event('change'))", false).unwrap();
    let note =
        js(&tab, "[document.getElementById('preset-note').hidden, document.getElementById('preset-note').textContent]");
    assert_eq!(note[0], false, "{note}");
    assert!(note[1].as_str().unwrap().contains("trained on animation"), "{note}");
    assert_eq!(js(&tab, "document.getElementById('scale-1').hidden"), true, "1× offered for Video");
    set(&tab, "preset", "old-scan");
    tab.evaluate("document.getElementById('preset').dispatchEvent(new Event('change'))", false).unwrap();
    assert_eq!(js(&tab, "document.getElementById('preset-note').hidden"), true);
    let levels =
        js(&tab, "[...document.getElementById('denoise').options].map(o => [o.value, o.textContent, o.selected])");
    assert_eq!(
        levels,
        serde_json::json!([
            ["-1", "conservative (-1)", false],
            ["0", "none (0)", false],
            ["1", "light (1)", false],
            ["2", "medium (2)", true],
            ["3", "strong (3)", false]
        ])
    );
    set(&tab, "denoise", "3");
    click(&tab, "#scale-1 input");
    tab.wait_for_element("#file").unwrap().set_input_files(&[photo_path.to_str().unwrap()]).expect("choose the scan");
    until(&tab, "document.querySelector('#queue li[data-state=done]')", Duration::from_secs(120), "the scan cleaned");
    let id = job_id(&tab, "scan.png");
    let j = srv.json(&format!("/api/jobs/{id}"));
    assert_eq!(
        (j["width"].as_u64(), j["height"].as_u64(), j["model"].as_str()),
        (Some(64), Some(48), Some("waifu2x-cunet")),
        "{j}"
    );
    let served = image::load_from_memory(&srv.get(&format!("/api/jobs/{id}/result")).body).unwrap().to_rgb8();
    let cli =
        cli_reference(&photo_path, &work.path().join("cli.png"), &["-s", "1", "-m", "waifu2x-cunet", "--denoise", "3"]);
    let db = psnr(&served, &cli);
    assert!(db >= 40.0, "the page's Old scan 1x strong vs the CLI's -s 1 --denoise 3: {db:.1} dB");
    let input = image::open(&photo_path).unwrap().to_rgb8();
    assert!(psnr(&served, &input) < 60.0, "the clean-up changed nothing");
    // Back to a preset without a 1× network: the choice goes, 2× is taken.
    set(&tab, "preset", "video");
    tab.evaluate("document.getElementById('preset').dispatchEvent(new Event('change'))", false).unwrap();
    assert_eq!(
        js(
            &tab,
            "[document.getElementById('scale-1').hidden, document.querySelector('input[name=scale]:checked').value]"
        ),
        serde_json::json!([true, "2"])
    );
}

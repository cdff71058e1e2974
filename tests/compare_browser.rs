//! The page's comparison of networks in a real browser (Debian's chromium driven by
//! `headless_chrome`, as tests/serve_browser.rs does): a photo uploaded at 2×, opened in the
//! Compare view, three networks checked, a region dragged on the picture with a finger (touch)
//! and then with the mouse, "Compare networks" pressed; the grid the page shows is read back
//! from the page and each of its panels compared by PSNR with the command line's run of that
//! network on the region cut out. Screenshots go to target/serve-screenshots/.
//! Without /usr/bin/chromium the test fails saying so (tools/setup.sh installs it).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::Input;
use headless_chrome::{Browser, Tab};
use serde_json::Value;
use upscale_test_support::browser::{click, js, screenshot};
use upscale_test_support::serve::*;

const NETWORKS: [&str; 3] = ["realesr-animevideov3", "waifu2x-upconv7-photo", "span"];

fn browser() -> Browser {
    upscale_test_support::browser::start()
}

fn shot(tab: &Tab, name: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("serve-screenshots");
    screenshot(tab, &dir, name);
}

/// Polls `expr` until it is true.
fn until(tab: &Tab, expr: &str, limit: Duration, what: &str) {
    let t0 = Instant::now();
    while js(tab, &format!("!!({expr})")) != Value::Bool(true) {
        if t0.elapsed() > limit {
            shot(tab, "compare-failed.png");
            let msg = js(tab, "(document.getElementById('models-msg') || {}).textContent");
            panic!("{what}: not seen in {limit:?}; message: {msg}");
        }
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// The point at fractions (`fx`, `fy`) of the region canvas, in the page's CSS pixels.
fn on_canvas(tab: &Tab, fx: f64, fy: f64) -> (f64, f64) {
    let r = js(tab, "(() => { const r = document.getElementById('region-view').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()");
    let v: Vec<f64> = r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    (v[0] + fx * v[2], v[1] + fy * v[3])
}

/// A mouse drag between two points, in steps.
fn mouse_drag(tab: &Tab, a: (f64, f64), b: (f64, f64)) {
    let ev = |t, (x, y): (f64, f64), buttons| Input::DispatchMouseEvent {
        Type: t,
        x,
        y,
        modifiers: None,
        timestamp: None,
        button: Some(Input::MouseButton::Left),
        buttons: Some(buttons),
        click_count: Some(1),
        force: None,
        tangential_pressure: None,
        tilt_x: None,
        tilt_y: None,
        twist: None,
        delta_x: None,
        delta_y: None,
        pointer_Type: None,
    };
    use Input::DispatchMouseEventTypeOption as T;
    tab.call_method(ev(T::MouseMoved, a, 0)).unwrap();
    tab.call_method(ev(T::MousePressed, a, 1)).unwrap();
    for i in 1..=5 {
        let f = i as f64 / 5.0;
        tab.call_method(ev(T::MouseMoved, (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f), 1)).unwrap();
    }
    tab.call_method(ev(T::MouseReleased, b, 0)).unwrap();
}

/// A one-finger drag between two points, in steps.
fn touch_drag(tab: &Tab, a: (f64, f64), b: (f64, f64)) {
    let pt = |(x, y): (f64, f64)| Input::TouchPoint {
        x,
        y,
        radius_x: None,
        radius_y: None,
        rotation_angle: None,
        force: None,
        tangential_pressure: None,
        tilt_x: None,
        tilt_y: None,
        twist: None,
        id: Some(1.0),
    };
    let ev = |t, points| Input::DispatchTouchEvent { Type: t, touch_points: points, modifiers: None, timestamp: None };
    use Input::DispatchTouchEventTypeOption as T;
    tab.call_method(ev(T::TouchStart, vec![pt(a)])).unwrap();
    for i in 1..=5 {
        let f = i as f64 / 5.0;
        tab.call_method(ev(T::TouchMove, vec![pt((a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f))])).unwrap();
    }
    tab.call_method(ev(T::TouchEnd, vec![])).unwrap();
}

/// The region fields as the page shows them.
fn region(tab: &Tab) -> Vec<i64> {
    let v = js(tab, "['x','y','w','h'].map(k => Number(document.getElementById('region-' + k).value))");
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

fn assert_near(got: &[i64], want: [i64; 4], what: &str) {
    assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 1), "{what}: region {got:?}, dragged {want:?}");
}

#[test]
fn three_networks_on_a_dragged_region_side_by_side_in_the_page() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path(), &[]);
    let work = tempfile::tempdir().unwrap();
    let photo_path: PathBuf = work.path().join("coffee.png");
    std::fs::write(&photo_path, photo(120, 90)).unwrap();

    let browser = browser();
    let tab = browser.new_tab().expect("a tab");
    tab.set_default_timeout(Duration::from_secs(30));
    tab.navigate_to(&format!("http://127.0.0.1:{}/", srv.port)).unwrap().wait_until_navigated().unwrap();
    until(&tab, "document.querySelectorAll('#model option').length > 1", Duration::from_secs(30), "the model list");
    // The job itself at nearest 2× (fast); the networks compared are chosen in the panel.
    js(&tab, "(() => { const e = document.getElementById('model'); e.value = 'nearest'; e.dispatchEvent(new Event('change')); })()");
    click(&tab, "#scales input[value='2']");
    tab.wait_for_element("#file").unwrap().set_input_files(&[photo_path.to_str().unwrap()]).expect("choose a file");
    until(&tab, "document.querySelector('#queue li[data-state=\"done\"]')", Duration::from_secs(120), "the job done");
    click(&tab, "#queue li[data-state='done'] .compare");
    until(
        &tab,
        "document.getElementById('models-panel') && !document.getElementById('models-panel').hidden \
         && document.querySelectorAll('input[name=model-choice]').length >= 3",
        Duration::from_secs(30),
        "the networks panel",
    );
    for m in NETWORKS {
        click(&tab, &format!("input[name=model-choice][value='{m}']"));
    }
    // A fourth may still be chosen, a fifth not.
    let disabled =
        js(&tab, "[...document.querySelectorAll('input[name=model-choice]')].filter(i => i.disabled).length");
    assert_eq!(disabled, Value::from(0));
    until(
        &tab,
        "window.getComputedStyle(document.getElementById('region-view')).width !== '0px'",
        Duration::from_secs(10),
        "the picture",
    );
    until(&tab, "document.getElementById('region-view').width === 320", Duration::from_secs(10), "the picture drawn");

    // A finger, then the mouse: the region follows each drag.
    touch_drag(&tab, on_canvas(&tab, 0.1, 0.1), on_canvas(&tab, 0.5, 0.6));
    assert_near(&region(&tab), [12, 9, 48, 45], "touch");
    mouse_drag(&tab, on_canvas(&tab, 0.75, 0.7), on_canvas(&tab, 0.25, 0.2));
    let r = region(&tab);
    assert_near(&r, [30, 18, 60, 45], "mouse");

    click(&tab, "#models-run");
    until(&tab, "document.getElementById('models-grid').dataset.models", Duration::from_secs(120), "the grid");
    tab.find_element("#models-panel").unwrap().scroll_into_view().unwrap();
    shot(&tab, "compare-networks.png");
    let msg = js(&tab, "document.getElementById('models-msg').textContent");
    assert!(msg.as_str().unwrap().contains(&format!("a {}×{} region", r[2], r[3])), "{msg}");

    // The grid as the page shows it, pixel by pixel.
    let px = js(
        &tab,
        "(() => { const i = document.getElementById('models-grid'); const c = document.createElement('canvas'); \
         c.width = i.naturalWidth; c.height = i.naturalHeight; const g = c.getContext('2d'); g.drawImage(i, 0, 0); \
         return [c.width, c.height, Array.from(g.getImageData(0, 0, c.width, c.height).data)]; })()",
    );
    let (gw, gh) = (px[0].as_u64().unwrap() as u32, px[1].as_u64().unwrap() as u32);
    let rgba: Vec<u8> = px[2].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u8).collect();
    let grid = image::DynamicImage::ImageRgba8(image::RgbaImage::from_raw(gw, gh, rgba).unwrap()).into_rgb8();
    let cell = (2 * r[2] as u32, 2 * r[3] as u32);
    assert_eq!((gw, gh), (3 * cell.0 + 2 * 4, cell.1 + 24), "three panels of the region at 2x");

    let cut = work.path().join("cut.png");
    image::open(&photo_path).unwrap().crop_imm(r[0] as u32, r[1] as u32, r[2] as u32, r[3] as u32).save(&cut).unwrap();
    for (i, m) in NETWORKS.iter().enumerate() {
        let want = cli_reference(&cut, &work.path().join(format!("{m}.png")), &["-s", "2", "-m", m]);
        let got = image::imageops::crop_imm(&grid, i as u32 * (cell.0 + 4), 24, cell.0, cell.1).to_image();
        let db = psnr(&got, &want);
        assert!(db >= 45.0, "{m}: the page's panel is {db:.1} dB from the command line's run on the region");
    }
}

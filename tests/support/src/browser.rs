//! The real browser the page tests drive (tests/serve_browser.rs, tests/compare_browser.rs):
//! Debian's chromium started through `headless_chrome`, and the few calls every such test
//! makes (a JS value as JSON, a click, a screenshot). Without /usr/bin/chromium a test fails
//! saying so (tools/setup.sh installs it), never passes silently.

use std::path::Path;
use std::time::Duration;

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value;

/// Where Debian puts chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium, headless, 1100×1400, without the sandbox (tests may run as root).
pub fn start() -> Browser {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the browser tests need Debian's chromium \
         (tools/setup.sh installs it: apt-get install --no-install-recommends chromium)"
    );
    let opts = LaunchOptions::default_builder()
        .path(Some(CHROMIUM.into()))
        .sandbox(false)
        .window_size(Some((1100, 1400)))
        .idle_browser_timeout(Duration::from_secs(900))
        .build()
        .expect("launch options");
    Browser::new(opts).expect("start chromium")
}

/// Evaluates a JS expression in the page, its value as JSON.
pub fn js(tab: &Tab, expr: &str) -> Value {
    let r = tab.evaluate(&format!("JSON.stringify({expr})"), false).expect("evaluate");
    serde_json::from_str(r.value.as_ref().and_then(Value::as_str).unwrap_or("null")).unwrap()
}

/// Clicks the element `selector` names, once it is there.
pub fn click(tab: &Tab, selector: &str) {
    tab.wait_for_element(selector).unwrap_or_else(|e| panic!("{selector}: {e}")).click().expect("click");
}

/// A screenshot of the page as PNG, also written to `dir/name`.
pub fn screenshot(tab: &Tab, dir: &Path, name: &str) -> Vec<u8> {
    std::fs::create_dir_all(dir).unwrap();
    let png = tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true).expect("screenshot");
    std::fs::write(dir.join(name), &png).unwrap();
    png
}

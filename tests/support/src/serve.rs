//! What the `upscale serve` tests share: the real binary started on 127.0.0.1:0 (the port read
//! from its stderr), a small HTTP/1.1 client on a raw TcpStream (so Host, Origin and bodies are
//! exactly what a test says), multipart bodies, and the image and video checks.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `upscale serve`.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub stderr: Arc<Mutex<Vec<String>>>,
    /// The TMPDIR it was given (its work folder lives inside).
    pub tmp: PathBuf,
}

impl Server {
    /// Starts `upscale serve --listen 127.0.0.1:0 ARGS` with TMPDIR set to `tmp`.
    pub fn start(tmp: &Path, args: &[&str]) -> Server {
        Server::start_on(tmp, 0, args)
    }

    /// Starts `upscale serve --listen 127.0.0.1:PORT ARGS` (0: any free port).
    pub fn start_on(tmp: &Path, port: u16, args: &[&str]) -> Server {
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(crate::bin())
            .args(["serve", "--listen", &listen, "--device", "cpu"])
            .args(args)
            .env("TMPDIR", tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start upscale serve");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let err = child.stderr.take().expect("stderr");
        let keep = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("upscale: serving on http://127.0.0.1:") {
                    let port: u16 = rest.split(['/', '?']).next().unwrap_or("").parse().unwrap_or(0);
                    let _ = tx.send(port);
                }
                keep.lock().unwrap().push(line);
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not say where it serves; stderr: {:?}", lines.lock().unwrap());
            }
        };
        Server { child, port, stderr: lines, tmp: tmp.to_path_buf() }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A request with this server's own Host (and, for state-changing methods, Origin).
    pub fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let host = self.host();
        let origin = self.origin();
        let mut h: Vec<(&str, &str)> = vec![("Host", &host)];
        if method != "GET" && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("origin")) {
            h.push(("Origin", &origin));
        }
        h.extend_from_slice(headers);
        request(self.port, method, path, &h, body)
    }

    pub fn get(&self, path: &str) -> Resp {
        self.req("GET", path, &[], b"")
    }

    pub fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    }

    /// Uploads `bytes` as `name` with the form `fields`; the response.
    pub fn upload(&self, name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> Resp {
        let (ct, body) = multipart(name, bytes, fields);
        self.req("POST", "/api/jobs", &[("Content-Type", &ct)], &body)
    }

    /// Uploads and returns the new job's id (201 expected).
    pub fn submit(&self, name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> String {
        let r = self.upload(name, bytes, fields);
        assert_eq!(r.status, 201, "upload {name}: {}", r.text());
        r.json()["id"].as_str().expect("id").to_string()
    }

    /// Polls the job until it is finished; its last status.
    pub fn wait(&self, id: &str, limit: Duration) -> serde_json::Value {
        let t0 = Instant::now();
        loop {
            let j = self.json(&format!("/api/jobs/{id}"));
            if ["done", "failed", "cancelled"].contains(&j["state"].as_str().unwrap_or("")) {
                return j;
            }
            assert!(t0.elapsed() < limit, "job {id} not finished in {limit:?}: {j}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls until the job is in `state`.
    pub fn wait_for(&self, id: &str, state: &str, limit: Duration) {
        let t0 = Instant::now();
        loop {
            let j = self.json(&format!("/api/jobs/{id}"));
            if j["state"] == state {
                return;
            }
            assert!(t0.elapsed() < limit, "job {id} never {state}: {j}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the server's log has a line containing `needle` within `limit` (its stderr is
    /// read by another thread: a line written before an answer may arrive just after it).
    pub fn logged(&self, needle: &str, limit: Duration) -> bool {
        let t0 = Instant::now();
        loop {
            if self.stderr.lock().unwrap().iter().any(|l| l.contains(needle)) {
                return true;
            }
            if t0.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGINT (Ctrl-C) and waits for the exit status.
    pub fn interrupt(mut self) -> std::process::ExitStatus {
        // SAFETY: kill takes plain values; the child is ours and not yet waited for.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "the server did not stop after SIGINT");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), the whole answer read.
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding")) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    s.write_all(head.as_bytes()).expect("send head");
    // The body goes from another thread while this one reads: the server may answer (413) and
    // close before the whole body is sent, and the answer must be read before the reset.
    let mut w = s.try_clone().expect("clone the stream");
    let body = body.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&body);
    });
    let resp = read_response(&mut s);
    let _ = s.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
    resp
}

/// Reads a response to the end of the connection, chunked bodies decoded.
pub fn read_response(s: &mut impl Read) -> Resp {
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| {
        panic!("no HTTP head in {:?}", String::from_utf8_lossy(&raw));
    });
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("status");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let mut body = raw[end + 4..].to_vec();
    if headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Resp { status, headers, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n =
            usize::from_str_radix(String::from_utf8_lossy(&b[..i]).split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        let start = i + 2;
        let stop = (start + n).min(b.len());
        out.extend_from_slice(&b[start..stop]);
        b = &b[(stop + 2).min(b.len())..];
    }
    out
}

/// A multipart/form-data body: the fields, then `file`. Returns (content type, body).
pub fn multipart(name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "----upscale-test-boundary-7d1f";
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(bytes);
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), b)
}

/// A crop of the bundled photograph (samples/coffee.png) as PNG bytes.
pub fn photo(w: u32, h: u32) -> Vec<u8> {
    let img = image::open(crate::repo_root().join("samples/coffee.png")).expect("samples/coffee.png");
    let crop = img.crop_imm(img.width() / 3, img.height() / 4, w, h).to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    crop.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The CLI's output for the same input (`upscale IN -o OUT ARGS`), decoded.
pub fn cli_reference(input: &Path, out: &Path, args: &[&str]) -> image::RgbImage {
    let st = Command::new(crate::bin())
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(["-q", "-y", "--device", "cpu"])
        .args(args)
        .status()
        .expect("run the CLI");
    assert!(st.success(), "the CLI failed on {}", input.display());
    image::open(out).expect("CLI output").to_rgb8()
}

/// PSNR in dB between two pictures of the same size (infinity when equal).
pub fn psnr(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let se: f64 = a.as_raw().iter().zip(b.as_raw()).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum();
    let mse = se / a.as_raw().len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// Makes a clip with lavfi: testsrc2 at `size`, `rate` fps, `secs` seconds, a 440 Hz tone (AAC).
pub fn clip(out: &Path, size: &str, rate: u32, secs: f64) {
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate={rate}:duration={secs}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:sample_rate=48000:duration={secs}"))
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
        .arg(out)
        .status()
        .expect("ffmpeg runs (the tests make their clips with it)");
    assert!(st.success(), "ffmpeg could not make {}", out.display());
}

/// ffprobe: (width, height, frames counted) of the video stream, and the audio codec if any.
pub fn probe(path: &Path) -> (u32, u32, u64, Option<String>) {
    let run = |args: &[&str]| {
        let o = Command::new("ffprobe").args(["-v", "error"]).args(args).arg(path).output().expect("ffprobe runs");
        assert!(o.status.success(), "ffprobe {}: {}", path.display(), String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let v = run(&[
        "-select_streams",
        "v:0",
        "-count_frames",
        "-show_entries",
        "stream=width,height,nb_read_frames",
        "-of",
        "csv=p=0",
    ]);
    let f: Vec<&str> = v.split(',').collect();
    let a = run(&["-select_streams", "a", "-show_entries", "stream=codec_name", "-of", "csv=p=0"]);
    (f[0].parse().unwrap(), f[1].parse().unwrap(), f[2].parse().unwrap(), (!a.is_empty()).then_some(a))
}

/// Every entry left under `dir`, recursively, except `.ses`: ONNX Runtime's session id file,
/// which it writes in the temporary folder of any process that loads it (the CLI too), and the
/// `.lock` a running server holds in its work folder.
pub fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten().filter(|e| e.file_name() != ".ses" && e.file_name() != ".lock") {
            out.push(e.path());
            if e.path().is_dir() {
                out.extend(leftovers(&e.path()));
            }
        }
    }
    out
}

/// The presentation times of the video frames, as ffprobe prints them.
pub fn frame_times(path: &Path) -> Vec<String> {
    let o = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
}

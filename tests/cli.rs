//! The command line's contract with programs that call it (docs/CLI.md): `--progress json`
//! is JSON and nothing else on stderr, through failures and a Ctrl-C; the exit codes 0, 1, 2,
//! 130; the README's first command works twice in a row.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use upscale::progress::Event;

mod common;
use common::{ffmpeg, s, upscale_run, HANG_LIMIT};

const BIN: &str = env!("CARGO_BIN_EXE_upscale");

fn sample() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/coffee.png"))
}

/// Every stderr line as an event; a line that is not one fails the test.
fn events(stderr: &str) -> Vec<Event> {
    stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON event ({e}): {l:?}\n{stderr}")))
        .collect()
}

#[test]
fn progress_json_is_only_json_through_failures() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in");
    std::fs::create_dir(&src).unwrap();
    for name in ["a.png", "b.png"] {
        image::open(sample()).unwrap().crop_imm(0, 0, 24, 16).save(src.join(name)).unwrap();
    }
    std::fs::write(src.join("c.png"), "not a picture").unwrap();
    let out = dir.path().join("out");
    let (a, b, c) = (src.join("a.png"), src.join("b.png"), src.join("c.png"));
    let r = upscale_run(&[s(&a), s(&c), s(&b), "-o", s(&out), "-s", "2", "-d", "cpu", "--progress", "json"]);
    assert_eq!(r.status.code(), Some(1), "{}", r.stderr);
    let ev = events(&r.stderr);
    let errors: Vec<_> = ev.iter().filter(|e| matches!(e, Event::Error { .. })).collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(
        matches!(errors[0], Event::Error { file: Some(f), message } if f.ends_with("c.png") && message.contains("c.png"))
    );
    assert_eq!(ev.last(), Some(&Event::Summary { done: 2, failed: 1, interrupted: false }));
    // A configuration error is JSON too, and exit status 2.
    let r = upscale_run(&[s(sample()), "-s", "5", "--progress", "json"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(matches!(&events(&r.stderr)[..], [Event::Error { message, .. }] if message.contains("--scale 5")));
}

#[test]
fn ctrl_c_with_progress_json_finishes_the_video_and_says_so_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.mp4");
    ffmpeg(&common::with_tone(&["-t", "20", "-c:v", "libx264", "-c:a", "aac", "-shortest", s(&input)]));
    let out = dir.path().join("out.mp4");
    let err = dir.path().join("stderr");
    let mut child = Command::new(BIN)
        .args([s(&input), "-o", s(&out), "-s", "2", "-d", "cpu", "--progress", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    // Interrupt once some frames are written.
    let start = Instant::now();
    while !std::fs::read_to_string(&err).unwrap().contains(r#""event":"progress","done":3"#) {
        assert!(child.try_wait().unwrap().is_none(), "finished before it could be interrupted");
        assert!(start.elapsed() < HANG_LIMIT, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    let ev = events(&stderr);
    assert!(ev.iter().any(|e| matches!(e, Event::Note { message } if message.contains("stopping"))), "{stderr}");
    assert!(ev.iter().any(|e| matches!(e, Event::FileDone { interrupted: true, .. })), "{stderr}");
    assert_eq!(ev.last(), Some(&Event::Summary { done: 0, failed: 0, interrupted: true }));
    let frames = common::frame_times(&out).len();
    assert!((3..480).contains(&frames), "{frames} frames");
}

#[test]
fn exit_codes_follow_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.png");
    let ok = upscale_run(&[s(sample()), "-m", "bicubic", "-s", "2", "-o", s(&out), "-q"]);
    assert_eq!(ok.status.code(), Some(0), "{}", ok.stderr);
    for bad in [&["-s", "5"][..], &["-t", "3"], &["--outscale", "2", "--width", "9"], &["-d", "tpu"]] {
        let mut args = vec![s(sample()), "-o", s(&out), "-y"];
        args.extend_from_slice(bad);
        let r = upscale_run(&args);
        assert_eq!(r.status.code(), Some(2), "{bad:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("error: --"), "{bad:?}: names the flag: {}", r.stderr);
    }
    let missing = upscale_run(&[s(&dir.path().join("missing.png")), "-q"]);
    assert_eq!(missing.status.code(), Some(1), "{}", missing.stderr);
}

/// The README's first command, run twice from the repository root: both succeed, and what it
/// writes is ignored by git.
#[test]
fn the_readmes_first_command_works_twice() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let first = readme.lines().skip_while(|l| !l.starts_with("```sh")).nth(1).expect("a sh block");
    let (setup, cmd) = first.split_once(" && ").expect("setup && command");
    assert_eq!(setup, "tools/setup.sh");
    let cmd = cmd.replacen("target/release/upscale", BIN, 1);
    for _ in 0..2 {
        let r = common::run_cmd(Command::new("sh").arg("-c").arg(&cmd).current_dir(root));
        assert!(r.status.success(), "{cmd}: {}", r.stderr);
    }
    let out = cmd.split_whitespace().skip_while(|w| *w != "-o").nth(1).expect("-o OUT");
    assert!(root.join(out).is_file());
    let ignored = Command::new("git").args(["check-ignore", "-q", out]).current_dir(root).status().unwrap();
    assert!(ignored.success(), "{out} is not ignored by git");
}

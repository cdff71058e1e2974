//! Running a command (the binary under test above all) with a hang limit, and the one-error
//! assertion every failure test makes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A run that takes longer than this is a hang: the process is killed and the test fails. Not
/// a timing assertion: a slow machine passes, only a process that never ends fails.
pub const HANG_LIMIT: Duration = Duration::from_secs(300);

/// The binary under test: `$CARGO_BIN_EXE_upscale` where cargo sets it for the run, else
/// `upscale` in the test executable's profile folder (target/<profile>/, where cargo builds
/// it before any integration test). Its absence fails the test.
pub fn bin() -> PathBuf {
    let p = std::env::var_os("CARGO_BIN_EXE_upscale").map(PathBuf::from).unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("the test executable's path");
        // target/<profile>/deps/<test>-<hash>
        exe.parent().and_then(Path::parent).expect("target/<profile>/deps").join("upscale")
    });
    assert!(p.is_file(), "the binary under test is missing: {}", p.display());
    p
}

/// A finished run of a command.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` with stdout and stderr in files (no pipe to fill up), killing it after
/// [`HANG_LIMIT`]. A death by a signal or a panic message fails the test.
pub fn run_cmd(cmd: &mut Command) -> Run {
    let logs = tempfile::tempdir().unwrap();
    let (out, err) = (logs.path().join("stdout"), logs.path().join("stderr"));
    cmd.stdin(Stdio::null()).stdout(File::create(&out).unwrap()).stderr(File::create(&err).unwrap());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > HANG_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            let e = std::fs::read_to_string(&err).unwrap_or_default();
            panic!("hang: killed after {HANG_LIMIT:?}: {cmd:?}\nstderr: {e}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    let (stdout, stderr) = (read(&out), read(&err));
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "panic: {stderr}");
    assert!(status.code().is_some(), "killed by a signal ({status:?}): {stderr}");
    Run { status, stdout, stderr }
}

/// `upscale ARGS`.
pub fn upscale_run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let mut cmd = Command::new(bin());
    cmd.args(args);
    run_cmd(&mut cmd)
}

/// Exactly one non-blank line on stderr, an `error:` line naming `name` and containing `cause`
/// (case-insensitive), and a non-zero exit.
pub fn assert_one_error(r: &Run, name: &str, cause: &str) {
    let e = &r.stderr;
    assert!(!r.status.success(), "expected failure, got success: {e}");
    let lines: Vec<&str> = e.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected exactly one line on stderr, got {}:\n{e}", lines.len());
    let l = lines[0];
    assert!(l.starts_with("error: "), "not an error line: {l}");
    assert!(l.contains(name), "error line does not name {name}: {l}");
    assert!(l.to_lowercase().contains(&cause.to_lowercase()), "error line does not say '{cause}': {l}");
}

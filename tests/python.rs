//! The Python package (python/, issue 30) as a user gets it: the wheel built by maturin, installed
//! into a fresh venv under target/python, and its pytest suite (python/tests) run on it against
//! this build's binary. A missing tool (python3 ≥ 3.9 with venv, maturin, pytest, numpy, tqdm,
//! Pillow; ffmpeg) fails the test naming it: tools/setup.sh installs them all.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{bin, repo_root};

/// Runs `cmd`, failing the test with its output when it does not succeed.
fn run(what: &str, cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// python3, at least 3.9 (the wheel is abi3 for 3.9 and later), with every module the build and
/// the tests need.
fn python() -> PathBuf {
    let py = PathBuf::from("python3");
    let check = "import sys; assert sys.version_info >= (3, 9), sys.version\n\
                 import ensurepip, venv, maturin, pytest, numpy, tqdm, PIL";
    let out = Command::new(&py).args(["-c", check]).output();
    let ok = out.as_ref().is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 >= 3.9 with venv, maturin, pytest, numpy, tqdm and Pillow is needed (tools/setup.sh installs \
         them): {}",
        out.map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).unwrap_or_else(|e| e.to_string())
    );
    py
}

/// The one wheel in `dir`.
fn the_wheel(dir: &Path) -> PathBuf {
    let wheels: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the wheel folder")
        .map(|e| e.expect("a wheel folder entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    assert_eq!(wheels.len(), 1, "one wheel expected in {}: {wheels:?}", dir.display());
    let name = wheels[0].file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    assert!(name.contains("-cp39-abi3-"), "not an abi3 wheel for CPython >= 3.9: {name}");
    wheels[0].clone()
}

#[test]
fn the_wheel_installed_in_a_fresh_venv_passes_the_pytest_suite() {
    let root = repo_root().canonicalize().expect("the repository");
    let py = python();
    let work = root.join("target/python");
    let (wheels, venv) = (work.join("wheels"), work.join("venv"));
    let _ = std::fs::remove_dir_all(&wheels);
    std::fs::create_dir_all(&wheels).expect("target/python/wheels");

    // The wheel, as `pip install ./python` builds it (release, abi3), on this repository's
    // target/ folder (python/ is a workspace member).
    run(
        "maturin build",
        Command::new(&py)
            .args(["-m", "maturin", "build", "--release", "-m", "python/Cargo.toml", "-o"])
            .arg(&wheels)
            .current_dir(&root),
    );
    let wheel = the_wheel(&wheels);

    // A fresh venv: the wheel installed without its dependencies from the network (numpy,
    // pytest, tqdm and Pillow come from the interpreter's own site-packages, where
    // tools/setup.sh put them).
    run(
        "python3 -m venv",
        Command::new(&py).args(["-m", "venv", "--clear", "--system-site-packages"]).arg(&venv).current_dir(&root),
    );
    let vpy = venv.join("bin/python");
    run(
        "pip install of the wheel",
        Command::new(&vpy)
            .args(["-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--force-reinstall"])
            .arg(&wheel),
    );

    // pytest from outside python/, so `import upscale` is the installed package (conftest.py
    // checks it), with the binary the pictures are compared against.
    let out = run(
        "pytest python/tests",
        Command::new(&vpy)
            .args(["-m", "pytest", "-p", "no:cacheprovider", "-ra", "-q"])
            .arg(root.join("python/tests"))
            .current_dir(&work)
            .env("UPSCALE_BIN", bin())
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    assert!(last.contains(" passed") && !last.contains("skipped"), "pytest: {last}\n{text}");
    eprintln!("pytest: {last}");
}

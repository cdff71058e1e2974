//! Bad output paths and full disks: below a file, in a missing or read-only folder, a folder as
//! output, a full disk and a file-size limit. Each is one clear error (or the file in the
//! folder) and no partial file is left.

use super::*;

/// A 64x48 noisy photo in `dir/in.png` (noisy, so its enlargement is a few hundred KB), and its
/// bytes.
fn noisy_input(dir: &Path) -> (PathBuf, Vec<u8>) {
    let mut img = photo(64, 48);
    let n = noise(64 * 48 * 3, 7);
    img.iter_mut().zip(n).for_each(|(p, r)| *p = p.wrapping_add(r % 64));
    let input = dir.join("in.png");
    img.save(&input).unwrap();
    let bytes = std::fs::read(&input).unwrap();
    (input, bytes)
}

#[test]
fn an_output_below_a_regular_file_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (input, before) = noisy_input(dir.path());
    let file = dir.path().join("file.txt");
    std::fs::write(&file, "I am a file").unwrap();
    let out = file.join("out.png");
    let r = upscale(&[s(&input), "-o", s(&out)]);
    assert_one_error(&r, "file.txt/out.png", "not a folder");
    assert_eq!(std::fs::read(&file).unwrap(), b"I am a file");
    assert_eq!(std::fs::read(&input).unwrap(), before, "input changed");
    assert_nothing_written(dir.path(), &out);
}

#[test]
fn an_output_in_a_missing_folder_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (input, before) = noisy_input(dir.path());
    let out = dir.path().join("no/such/folder/out.png");
    let r = upscale(&[s(&input), "-o", s(&out)]);
    assert_one_error(&r, "no/such/folder/out.png", "does not exist");
    assert!(!dir.path().join("no").exists(), "a folder was made for a single file");
    assert_eq!(std::fs::read(&input).unwrap(), before, "input changed");
}

#[test]
fn an_output_where_nothing_may_be_written_is_one_clear_error() {
    // Tests run as root, so a read-only folder would not stop them: /proc refuses new files to
    // everyone.
    let dir = tempfile::tempdir().unwrap();
    let (input, before) = noisy_input(dir.path());
    for out in ["/proc/upscale-test-out.png", "/proc/self/upscale-test-out.png"] {
        let r = upscale(&[s(&input), "-s", "2", "-o", out]);
        assert_one_error(&r, out, "cannot write");
        assert!(!Path::new(out).exists());
    }
    assert_eq!(std::fs::read(&input).unwrap(), before, "input changed");
}

#[test]
fn an_existing_folder_as_output_receives_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = noisy_input(dir.path());
    let folder = dir.path().join("results");
    std::fs::create_dir(&folder).unwrap();
    assert_success(&upscale(&[s(&input), "-s", "2", "-o", s(&folder)]), "-o folder");
    assert_eq!(image::image_dimensions(folder.join("in.png")).unwrap(), (128, 96));
    // A folder named like a picture is not replaced, even with -y.
    let trap = dir.path().join("trap.png");
    std::fs::create_dir(&trap).unwrap();
    std::fs::write(trap.join("keep.txt"), "keep").unwrap();
    assert_success(&upscale(&[s(&input), "-s", "2", "-y", "-o", s(&trap)]), "-o folder.png");
    assert_eq!(std::fs::read(trap.join("keep.txt")).unwrap(), b"keep");
    assert!(trap.join("in.png").is_file());
}

/// `upscale ARGS` under `prlimit --fsize=LIMIT`; with `ignore_xfsz` the signal a write past the
/// limit raises is ignored on the way (a shell `trap '' XFSZ`, inherited through exec), so the
/// write fails with EFBIG instead.
fn upscale_with_fsize(limit: u64, ignore_xfsz: bool, args: &[&str]) -> Run {
    let bin = env!("CARGO_BIN_EXE_upscale");
    let mut cmd = Command::new("sh");
    let trap = if ignore_xfsz { "trap '' XFSZ; " } else { "" };
    cmd.arg("-c").arg(format!("{trap}exec prlimit --fsize={limit} -- \"$0\" \"$@\" -q -d cpu")).arg(bin).args(args);
    run_cmd(&mut cmd)
}

/// prlimit (util-linux) must be there: these tests fail, never pass unchecked, without it.
fn require_prlimit() {
    let ok = Command::new("prlimit").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "prlimit (util-linux) is needed to set a file-size limit");
}

#[test]
fn a_full_disk_is_one_clear_error_and_leaves_no_partial_file() {
    require_prlimit();
    let dir = tempfile::tempdir().unwrap();
    let (input, before) = noisy_input(dir.path());
    for ext in ["png", "tif", "bmp"] {
        let out = dir.path().join(format!("out.{ext}"));
        let r = upscale_with_fsize(20_000, true, &[s(&input), "-m", "bicubic", "-o", s(&out)]);
        assert_one_error(&r, &format!("out.{ext}"), "cannot write");
        assert_nothing_written(dir.path(), &out);
    }
    assert_eq!(std::fs::read(&input).unwrap(), before, "input changed");
    // Several files into a folder: each fails alone, the summary says so, nothing left behind.
    let batch = dir.path().join("batch");
    let r = upscale_with_fsize(20_000, true, &[s(&input), s(&input), "-m", "bicubic", "-o", s(&batch)]);
    assert!(!r.status.success() && r.status.code().is_some(), "{:?}: {}", r.status, r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_nothing_written(dir.path(), &batch.join("in.png"));
}

#[test]
fn a_file_size_limit_is_an_error_not_a_kill() {
    // `ulimit -f` as a shell sets it: SIGXFSZ at its default action would kill the process
    // mid-write with no error line and the temporary file left behind.
    require_prlimit();
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = noisy_input(dir.path());
    let out = dir.path().join("out.png");
    let r = upscale_with_fsize(20_000, false, &[s(&input), "-m", "bicubic", "-o", s(&out)]);
    assert_one_error(&r, "out.png", "cannot write");
    assert_nothing_written(dir.path(), &out);
}

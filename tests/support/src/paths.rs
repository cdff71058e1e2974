//! Paths: the repository, the real footage beside it, and temporary paths as arguments.

use std::path::{Path, PathBuf};

/// The repository's root folder (this crate is tests/support in it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A temporary path as a command argument (tempfile paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// A clip of real footage in ../shared/media beside the repository. Its absence fails the
/// test: these tests are about real footage and must not pass without it.
pub fn shared_media(name: &str) -> PathBuf {
    let p = repo_root().join("../shared/media").join(name);
    assert!(
        p.is_file(),
        "{} is missing: the tests read real footage from ../shared/media beside the repository",
        p.display()
    );
    p
}

//! What identifies an input across machines that mount it at different paths: its size and a
//! SHA-256 of its first and last mebibyte (not its path or modification time).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Bytes hashed at each end of the input.
const END_BYTES: u64 = 1 << 20;

/// An input's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputId {
    /// The file's length in bytes.
    pub size: u64,
    /// SHA-256 of the size (8 bytes, little-endian), the first MiB and the last MiB, in hex.
    pub head_tail_sha256: String,
}

impl InputId {
    /// Reads `path`'s size, head and tail.
    pub fn of(path: &Path) -> Result<InputId> {
        let io = |e| Error::io(path, e);
        let mut f = std::fs::File::open(path).map_err(io)?;
        let size = f.metadata().map_err(io)?.len();
        let mut h = Sha256::new();
        h.update(size.to_le_bytes());
        let mut buf = vec![0u8; END_BYTES.min(size) as usize];
        f.read_exact(&mut buf).map_err(io)?;
        h.update(&buf);
        let tail = END_BYTES.min(size);
        f.seek(SeekFrom::Start(size - tail)).map_err(io)?;
        buf.resize(tail as usize, 0);
        f.read_exact(&mut buf).map_err(io)?;
        h.update(&buf);
        Ok(InputId { size, head_tail_sha256: hex(&h.finalize()) })
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_follows_content_not_path() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a.bin"), t.path().join("b.bin"));
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&a, &data).unwrap();
        std::fs::write(&b, &data).unwrap();
        assert_eq!(InputId::of(&a).unwrap(), InputId::of(&b).unwrap());
        let mut changed = data.clone();
        *changed.last_mut().unwrap() ^= 1;
        std::fs::write(&b, &changed).unwrap();
        assert_ne!(InputId::of(&a).unwrap(), InputId::of(&b).unwrap());
        std::fs::write(&b, b"tiny").unwrap();
        assert_eq!(InputId::of(&b).unwrap().size, 4);
    }
}

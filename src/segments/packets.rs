//! The file of one segment of a resumable job: the encoder's header and packets exactly as the
//! encoder gave them (data, timestamps in its time base, decoding timestamps, key flags), so the
//! join muxes what a one-pass run would have muxed. A container would not do: Matroska drops
//! decoding timestamps and rounds to milliseconds, MP4 rewrites H.264 headers and adds edit
//! lists. An end mark tells a complete file from a cut one.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;

use ffmpeg::packet::Flags;
use ffmpeg::Packet;

use crate::error::{Error, Result};
use crate::video::encode::PacketStore;

const MAGIC: &[u8; 8] = b"UPSCPKT1";
/// In place of a packet size: the end of the file.
const END: u32 = u32::MAX;
/// `None` timestamps on disk.
const NONE: i64 = i64::MIN;

/// Writes a segment file.
pub struct PacketWriter {
    file: BufWriter<File>,
    path: PathBuf,
}

/// A packet file at `path` as the encoder's [`PacketStore`] (errors name the file).
pub fn store(path: &Path, header: &[u8]) -> Result<Box<dyn PacketStore>> {
    Ok(Box::new(PacketWriter::create(path, header).map_err(|e| Error::io(path, e))?))
}

impl PacketStore for PacketWriter {
    fn write(&mut self, pkt: &Packet) -> Result<()> {
        PacketWriter::write(self, pkt).map_err(|e| Error::io(&self.path, e))
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let path = self.path.clone();
        PacketWriter::finish(*self).map_err(|e| Error::io(&path, e))
    }
}

impl PacketWriter {
    /// Creates `path` holding the encoder's global `header` (empty when it has none).
    pub fn create(path: &Path, header: &[u8]) -> io::Result<Self> {
        // The same file (inode) as the worker's, which holds a lock on it (see `store.rs`).
        let mut file = BufWriter::new(File::create(path)?);
        file.write_all(MAGIC)?;
        file.write_all(&(header.len() as u32).to_le_bytes())?;
        file.write_all(header)?;
        Ok(PacketWriter { file, path: path.to_path_buf() })
    }

    pub fn write(&mut self, pkt: &Packet) -> io::Result<()> {
        let data = pkt.data().unwrap_or(&[]);
        let size = u32::try_from(data.len()).ok().filter(|&n| n != END);
        let size = size.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "packet over 4 GiB"))?;
        self.file.write_all(&size.to_le_bytes())?;
        for v in [pkt.pts().unwrap_or(NONE), pkt.dts().unwrap_or(NONE), pkt.duration()] {
            self.file.write_all(&v.to_le_bytes())?;
        }
        self.file.write_all(&pkt.flags().bits().to_le_bytes())?;
        self.file.write_all(data)
    }

    /// Writes the end mark and puts the file on disk.
    pub fn finish(mut self) -> io::Result<()> {
        self.file.write_all(&END.to_le_bytes())?;
        self.file.into_inner().map_err(|e| e.into_error())?.sync_all()
    }
}

/// Reads a segment file.
pub struct PacketReader {
    file: BufReader<File>,
    header: Vec<u8>,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl PacketReader {
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut file = BufReader::new(File::open(path)?);
        let mut magic = [0u8; 8];
        file.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(invalid("not a segment file"));
        }
        let n = read_u32(&mut file)? as usize;
        let mut header = vec![0u8; n];
        file.read_exact(&mut header)?;
        Ok(PacketReader { file, header })
    }

    /// The encoder's global header.
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// The next packet; `None` at the end mark. A file cut short is an error.
    pub fn next(&mut self) -> io::Result<Option<Packet>> {
        let size = read_u32(&mut self.file)?;
        if size == END {
            return Ok(None);
        }
        let mut v = [0i64; 3];
        for x in &mut v {
            let mut b = [0u8; 8];
            self.file.read_exact(&mut b)?;
            *x = i64::from_le_bytes(b);
        }
        let mut b = [0u8; 4];
        self.file.read_exact(&mut b)?;
        let flags = i32::from_le_bytes(b);
        let mut data = vec![0u8; size as usize];
        self.file.read_exact(&mut data)?;
        let mut pkt = Packet::copy(&data);
        pkt.set_pts((v[0] != NONE).then_some(v[0]));
        pkt.set_dts((v[1] != NONE).then_some(v[1]));
        pkt.set_duration(v[2]);
        pkt.set_flags(Flags::from_bits_truncate(flags));
        Ok(Some(pkt))
    }
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip_and_a_cut_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.packets");
        let mut w = PacketWriter::create(&path, b"hdr").unwrap();
        let mut a = Packet::copy(b"key frame");
        a.set_pts(Some(1024));
        a.set_dts(Some(-512));
        a.set_duration(512);
        a.set_flags(Flags::KEY);
        let b = Packet::copy(b"");
        w.write(&a).unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap();
        let mut r = PacketReader::open(&path).unwrap();
        assert_eq!(r.header(), b"hdr");
        let got = r.next().unwrap().unwrap();
        assert_eq!((got.data(), got.pts(), got.dts(), got.duration()), (a.data(), Some(1024), Some(-512), 512));
        assert!(got.is_key());
        let got = r.next().unwrap().unwrap();
        assert_eq!((got.pts(), got.dts(), got.is_key()), (None, None, false));
        assert!(r.next().unwrap().is_none());

        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        let mut r = PacketReader::open(&path).unwrap();
        r.next().unwrap();
        r.next().unwrap();
        assert!(r.next().is_err());
    }
}

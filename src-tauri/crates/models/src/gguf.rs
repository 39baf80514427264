//! Reading a GGUF file's header (metadata and tensor table) without loading
//! the model, and writing a copy with changed metadata.
//!
//! The header is read with bounds on every count and length, so a corrupt or
//! hostile file gives an error rather than a huge allocation.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

const MAGIC: &[u8; 4] = b"GGUF";
const MAX_KV: u64 = 1 << 20;
const MAX_TENSORS: u64 = 1 << 20;
const MAX_STRING: u64 = 64 << 20;
const MAX_ARRAY: u64 = 1 << 28;
const MAX_DIMS: u32 = 8;
const MAX_ALIGNMENT: u64 = 1 << 20;
/// Arrays longer than this are counted, not kept (token lists hold 250k entries).
const KEEP_ARRAY: u64 = 64;

#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a GGUF file (it does not start with 'GGUF')")]
    NotGguf { path: String },
    #[error("{path} is GGUF version {version}; versions 2 and 3 are supported")]
    Version { path: String, version: u32 },
    #[error("{path} has a corrupt GGUF header: {reason}")]
    Corrupt { path: String, reason: String },
}

/// A metadata value. Long arrays keep their length only.
#[derive(Debug, Clone, PartialEq)]
pub enum GgufValue {
    Uint(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    String(String),
    Array { len: u64, items: Vec<GgufValue> },
}

impl GgufValue {
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Uint(v) => Some(*v),
            Self::Int(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }
}

/// One tensor's entry in the table.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<u64>,
    pub ggml_type: u32,
    pub offset: u64,
}

impl TensorInfo {
    /// Its element count; `None` when the dimensions multiply past `u64`.
    pub fn elements(&self) -> Option<u64> {
        self.dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d))
    }
}

/// Everything before the tensor data.
#[derive(Debug, Clone)]
pub struct GgufHeader {
    pub version: u32,
    pub metadata: BTreeMap<String, GgufValue>,
    pub tensors: Vec<TensorInfo>,
    /// Where the tensor data starts (aligned).
    pub data_offset: u64,
    pub alignment: u64,
    pub file_size: u64,
}

impl GgufHeader {
    pub fn get(&self, key: &str) -> Option<&GgufValue> {
        self.metadata.get(key)
    }
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(GgufValue::as_str)
    }
    pub fn u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(GgufValue::as_u64)
    }
    pub fn architecture(&self) -> &str {
        self.str("general.architecture").unwrap_or("")
    }
    /// `<architecture>.<key>`, e.g. `context_length`.
    pub fn arch_u64(&self, key: &str) -> Option<u64> {
        self.u64(&format!("{}.{key}", self.architecture()))
    }
    /// Elements in all tensors: the parameter count (each tensor's count was
    /// checked to fit when the header was read; the sum saturates).
    pub fn parameters(&self) -> u64 {
        self.tensors.iter().map(|t| t.elements().unwrap_or(u64::MAX)).fold(0, u64::saturating_add)
    }
}

struct Reader<R> {
    inner: R,
    path: String,
}

impl<R: Read> Reader<R> {
    fn corrupt(&self, reason: impl Into<String>) -> GgufError {
        GgufError::Corrupt { path: self.path.clone(), reason: reason.into() }
    }
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.corrupt("the file ends inside its header (truncated)")
            } else {
                GgufError::Io { path: self.path.clone(), source: e }
            }
        })?;
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn string(&mut self) -> Result<String, GgufError> {
        let len = self.u64()?;
        if len > MAX_STRING {
            return Err(self.corrupt(format!("a string claims {len} bytes")));
        }
        // Grows with what is really there: a truncated file cannot make us allocate what it claims.
        let mut buf = Vec::new();
        (&mut self.inner)
            .take(len)
            .read_to_end(&mut buf)
            .map_err(|e| GgufError::Io { path: self.path.clone(), source: e })?;
        if buf.len() as u64 != len {
            return Err(self.corrupt("the file ends inside a string (truncated)"));
        }
        String::from_utf8(buf).map_err(|_| self.corrupt("a string is not UTF-8"))
    }
    fn value(&mut self, ty: u32, depth: u32) -> Result<GgufValue, GgufError> {
        Ok(match ty {
            0 => GgufValue::Uint(u64::from(self.bytes::<1>()?[0])),
            1 => GgufValue::Int(i64::from(self.bytes::<1>()?[0] as i8)),
            2 => GgufValue::Uint(u64::from(u16::from_le_bytes(self.bytes()?))),
            3 => GgufValue::Int(i64::from(i16::from_le_bytes(self.bytes()?))),
            4 => GgufValue::Uint(u64::from(self.u32()?)),
            5 => GgufValue::Int(i64::from(i32::from_le_bytes(self.bytes()?))),
            6 => GgufValue::Float(f64::from(f32::from_le_bytes(self.bytes()?))),
            7 => GgufValue::Bool(self.bytes::<1>()?[0] != 0),
            8 => GgufValue::String(self.string()?),
            9 => {
                if depth > 2 {
                    return Err(self.corrupt("arrays nested too deeply"));
                }
                let item_ty = self.u32()?;
                let len = self.u64()?;
                if len > MAX_ARRAY {
                    return Err(self.corrupt(format!("an array claims {len} entries")));
                }
                let mut items = Vec::with_capacity(len.min(KEEP_ARRAY) as usize);
                for i in 0..len {
                    let v = self.value(item_ty, depth + 1)?;
                    if i < KEEP_ARRAY {
                        items.push(v);
                    }
                }
                GgufValue::Array { len, items }
            }
            10 => GgufValue::Uint(self.u64()?),
            11 => GgufValue::Int(i64::from_le_bytes(self.bytes()?)),
            12 => GgufValue::Float(f64::from_le_bytes(self.bytes()?)),
            other => return Err(self.corrupt(format!("unknown value type {other}"))),
        })
    }
}

/// Reads the header of the GGUF file at `path`.
pub fn read_header(path: &Path) -> Result<GgufHeader, GgufError> {
    let shown = path.display().to_string();
    let io = |e| GgufError::Io { path: shown.clone(), source: e };
    let file = switchboard_files::open_regular(path).map_err(|e| io(e.into()))?;
    let file_size = file.metadata().map_err(io)?.len();
    let mut r = Reader { inner: BufReader::with_capacity(1 << 16, file), path: shown.clone() };
    let magic = r.bytes::<4>().map_err(|_| GgufError::NotGguf { path: shown.clone() })?;
    if &magic != MAGIC {
        return Err(GgufError::NotGguf { path: shown });
    }
    let version = r.u32()?;
    if !(2..=3).contains(&version) {
        return Err(GgufError::Version { path: shown, version });
    }
    let n_tensors = r.u64()?;
    let n_kv = r.u64()?;
    if n_tensors > MAX_TENSORS || n_kv > MAX_KV {
        return Err(r.corrupt(format!("it claims {n_tensors} tensors and {n_kv} metadata entries")));
    }
    let mut metadata = BTreeMap::new();
    for _ in 0..n_kv {
        let key = r.string()?;
        let ty = r.u32()?;
        let value = r.value(ty, 0)?;
        metadata.insert(key, value);
    }
    let mut tensors = Vec::with_capacity(n_tensors.min(4096) as usize);
    for _ in 0..n_tensors {
        let name = r.string()?;
        let n_dims = r.u32()?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(r.corrupt(format!("tensor {name} has {n_dims} dimensions")));
        }
        let dims = (0..n_dims).map(|_| r.u64()).collect::<Result<Vec<_>, _>>()?;
        let ggml_type = r.u32()?;
        let offset = r.u64()?;
        let tensor = TensorInfo { name, dims, ggml_type, offset };
        if tensor.elements().is_none() {
            return Err(r.corrupt(format!(
                "tensor {} claims {:?} elements, more than any file holds",
                tensor.name, tensor.dims
            )));
        }
        tensors.push(tensor);
    }
    let alignment = metadata.get("general.alignment").and_then(GgufValue::as_u64).unwrap_or(32);
    if !alignment.is_power_of_two() || alignment > MAX_ALIGNMENT {
        return Err(r.corrupt(format!("general.alignment is {alignment}, not a power of two up to {MAX_ALIGNMENT}")));
    }
    let header_end = r.inner.stream_position().map_err(io)?;
    let data_offset = header_end
        .div_ceil(alignment)
        .checked_mul(alignment)
        .ok_or_else(|| r.corrupt("the tensor data would start beyond any file size"))?;
    if !tensors.is_empty() && data_offset > file_size {
        return Err(r.corrupt("the file ends before its tensor data (truncated)"));
    }
    Ok(GgufHeader { version, metadata, tensors, data_offset, alignment, file_size })
}

/// A metadata entry to write: only the scalar kinds tools set by hand.
#[derive(Debug, Clone, PartialEq)]
pub enum NewValue {
    U32(u32),
    String(String),
    Bool(bool),
}

/// Copies `src` to `dst` with `set` entries added or replaced in the metadata;
/// the tensor table and data are copied unchanged (re-aligned).
pub fn copy_with_metadata(src: &Path, dst: &Path, set: &[(&str, NewValue)]) -> Result<(), GgufError> {
    let header = read_header(src)?;
    let shown = src.display().to_string();
    let io = |e| GgufError::Io { path: shown.clone(), source: e };
    // Re-read the raw entries we keep, so values round-trip byte for byte.
    let mut file = File::open(src).map_err(io)?;
    let raw = raw_entries(&mut file, &shown)?;
    let mut out =
        BufWriter::new(File::create(dst).map_err(|e| GgufError::Io { path: dst.display().to_string(), source: e })?);
    let w = |out: &mut BufWriter<File>, bytes: &[u8]| {
        out.write_all(bytes).map_err(|e| GgufError::Io { path: dst.display().to_string(), source: e })
    };
    let replaced: Vec<&str> = set.iter().map(|(k, _)| *k).collect();
    let kept: Vec<&(String, Vec<u8>)> = raw.kv.iter().filter(|(k, _)| !replaced.contains(&k.as_str())).collect();
    let mut head = Vec::new();
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&header.version.to_le_bytes());
    head.extend_from_slice(&(header.tensors.len() as u64).to_le_bytes());
    head.extend_from_slice(&((kept.len() + set.len()) as u64).to_le_bytes());
    for (_, bytes) in kept {
        head.extend_from_slice(bytes);
    }
    for (key, value) in set {
        head.extend_from_slice(&(key.len() as u64).to_le_bytes());
        head.extend_from_slice(key.as_bytes());
        match value {
            NewValue::U32(v) => {
                head.extend_from_slice(&4u32.to_le_bytes());
                head.extend_from_slice(&v.to_le_bytes());
            }
            NewValue::Bool(v) => {
                head.extend_from_slice(&7u32.to_le_bytes());
                head.push(u8::from(*v));
            }
            NewValue::String(s) => {
                head.extend_from_slice(&8u32.to_le_bytes());
                head.extend_from_slice(&(s.len() as u64).to_le_bytes());
                head.extend_from_slice(s.as_bytes());
            }
        }
    }
    head.extend_from_slice(&raw.tensor_table);
    let padded = (head.len() as u64).div_ceil(header.alignment) * header.alignment;
    head.resize(padded as usize, 0);
    w(&mut out, &head)?;
    file.seek(SeekFrom::Start(header.data_offset)).map_err(io)?;
    std::io::copy(&mut file, &mut out).map_err(io)?;
    out.flush().map_err(|e| GgufError::Io { path: dst.display().to_string(), source: e })?;
    Ok(())
}

struct RawHeader {
    kv: Vec<(String, Vec<u8>)>,
    tensor_table: Vec<u8>,
}

/// The metadata entries and the tensor table as raw bytes.
fn raw_entries(file: &mut File, path: &str) -> Result<RawHeader, GgufError> {
    let header = read_header(Path::new(path))?;
    let mut r = Reader { inner: BufReader::new(file), path: path.to_string() };
    let _ = r.bytes::<24>()?; // magic, version, counts
    let pos = |r: &mut Reader<BufReader<&mut File>>| {
        r.inner.stream_position().map_err(|e| GgufError::Io { path: path.to_string(), source: e })
    };
    let mut spans = Vec::new();
    for _ in 0..header.metadata.len() {
        let start = pos(&mut r)?;
        let key = r.string()?;
        let ty = r.u32()?;
        r.value(ty, 0)?;
        spans.push((key, start, pos(&mut r)?));
    }
    let table_start = pos(&mut r)?;
    for _ in 0..header.tensors.len() {
        r.string()?;
        let n = r.u32()?;
        for _ in 0..n {
            r.u64()?;
        }
        r.u32()?;
        r.u64()?;
    }
    let table_end = pos(&mut r)?;
    let file = r.inner.into_inner();
    let mut read_span = |start: u64, end: u64| -> Result<Vec<u8>, GgufError> {
        let mut buf = vec![0u8; (end - start) as usize];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| GgufError::Io { path: path.to_string(), source: e })?;
        Ok(buf)
    };
    let kv = spans.into_iter().map(|(k, s, e)| Ok((k, read_span(s, e)?))).collect::<Result<Vec<_>, GgufError>>()?;
    let tensor_table = read_span(table_start, table_end)?;
    Ok(RawHeader { kv, tensor_table })
}

/// llama.cpp's `general.file_type` as people name quantisations.
pub fn file_type_name(file_type: u64) -> Option<&'static str> {
    Some(match file_type {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    /// A tiny valid GGUF: two metadata entries, one 2x3 F32 tensor.
    fn tiny() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"GGUF");
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&2u64.to_le_bytes());
        string(&mut b, "general.architecture");
        b.extend_from_slice(&8u32.to_le_bytes());
        string(&mut b, "llama");
        string(&mut b, "llama.context_length");
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(&2048u32.to_le_bytes());
        string(&mut b, "w");
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&2u64.to_le_bytes());
        b.extend_from_slice(&3u64.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        while b.len() % 32 != 0 {
            b.push(0);
        }
        for i in 0..6 {
            b.extend_from_slice(&(i as f32).to_le_bytes());
        }
        b
    }

    #[test]
    fn reads_metadata_and_tensors_and_round_trips_a_copy() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("t.gguf");
        std::fs::write(&src, tiny()).unwrap();
        let h = read_header(&src).unwrap();
        assert_eq!(h.architecture(), "llama");
        assert_eq!(h.arch_u64("context_length"), Some(2048));
        assert_eq!(h.parameters(), 6);
        assert_eq!(h.data_offset % 32, 0);

        let dst = dir.path().join("u.gguf");
        copy_with_metadata(
            &src,
            &dst,
            &[("llama.pooling_type", NewValue::U32(1)), ("llama.context_length", NewValue::U32(512))],
        )
        .unwrap();
        let c = read_header(&dst).unwrap();
        assert_eq!(c.arch_u64("pooling_type"), Some(1));
        assert_eq!(c.arch_u64("context_length"), Some(512), "replaced, not duplicated");
        assert_eq!(c.metadata.len(), 3);
        assert_eq!(c.tensors, h.tensors);
        let (a, b) = (std::fs::read(&src).unwrap(), std::fs::read(&dst).unwrap());
        assert_eq!(a[h.data_offset as usize..], b[c.data_offset as usize..], "tensor data unchanged");
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let err = read_header(&write("pdf.gguf", b"%PDF-1.7 ...")).unwrap_err();
        assert!(matches!(err, GgufError::NotGguf { .. }), "{err}");
        assert!(matches!(read_header(&write("empty.gguf", b"")).unwrap_err(), GgufError::NotGguf { .. }));
        let full = tiny();
        for cut in [10, 30, 60, 100] {
            let err = read_header(&write("cut.gguf", &full[..cut])).unwrap_err();
            assert!(err.to_string().contains("truncated"), "cut at {cut}: {err}");
        }
        let mut huge = full.clone();
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes()); // metadata count
        assert!(read_header(&write("huge.gguf", &huge)).unwrap_err().to_string().contains("claims"));
        let mut v9 = full.clone();
        v9[4..8].copy_from_slice(&9u32.to_le_bytes());
        assert!(matches!(read_header(&write("v9.gguf", &v9)).unwrap_err(), GgufError::Version { version: 9, .. }));
        assert!(matches!(read_header(&dir.path().join("missing.gguf")).unwrap_err(), GgufError::Io { .. }));
    }

    #[test]
    fn hostile_dimensions_lengths_and_alignments_are_refused_without_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        // The tensor's two dimensions sit at bytes 118..134 of `tiny()`.
        let mut dims = tiny();
        dims[118..126].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        dims[126..134].copy_from_slice(&4u64.to_le_bytes());
        let err = read_header(&write("dims.gguf", &dims)).unwrap_err();
        assert!(err.to_string().contains("elements"), "{err}");

        // A string claiming 60 MiB in a file of a few hundred bytes.
        let mut long = tiny();
        long[24..32].copy_from_slice(&(60u64 << 20).to_le_bytes());
        assert!(read_header(&write("long.gguf", &long)).unwrap_err().to_string().contains("truncated"));

        for alignment in [0u32, 3, 1 << 31] {
            let mut b = Vec::new();
            b.extend_from_slice(b"GGUF");
            b.extend_from_slice(&3u32.to_le_bytes());
            b.extend_from_slice(&0u64.to_le_bytes());
            b.extend_from_slice(&1u64.to_le_bytes());
            string(&mut b, "general.alignment");
            b.extend_from_slice(&4u32.to_le_bytes());
            b.extend_from_slice(&alignment.to_le_bytes());
            let err = read_header(&write("align.gguf", &b)).unwrap_err();
            assert!(err.to_string().contains("general.alignment"), "{alignment}: {err}");
        }
    }

    /// A seeded mutation loop over a valid header: flipped bytes, counts and
    /// lengths set to extremes, cuts. Debug builds check arithmetic, so an
    /// overflow would panic here; every outcome must be a header or an error.
    #[test]
    fn mutated_headers_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        let base = tiny();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let extremes = [0u64, 1, 0x7f, 0xff, u32::MAX as u64, u64::MAX, u64::MAX / 2, 1 << 40];
        let (mut ok, mut refused) = (0, 0);
        for _ in 0..4000 {
            let mut b = base.clone();
            for _ in 0..(1 + next() % 4) {
                let at = (next() as usize) % b.len();
                match next() % 4 {
                    0 => b[at] ^= 1 << (next() % 8),
                    1 => b[at] = next() as u8,
                    2 if at + 8 <= b.len() => {
                        b[at..at + 8].copy_from_slice(&extremes[(next() % 8) as usize].to_le_bytes())
                    }
                    _ => b.truncate(at.max(1)),
                }
            }
            std::fs::write(&path, &b).unwrap();
            match std::panic::catch_unwind(|| read_header(&path)) {
                Ok(Ok(h)) => {
                    let _ = (h.parameters(), h.data_offset);
                    ok += 1;
                }
                Ok(Err(_)) => refused += 1,
                Err(_) => panic!("read_header panicked on a mutated header: {:02x?}", b),
            }
        }
        assert!(refused > 1000 && ok > 10, "the mutations exercise both outcomes: {ok} read, {refused} refused");
    }
}

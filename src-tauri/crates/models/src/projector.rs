//! A tiny vision projector (mmproj GGUF) with random weights, for tests and
//! benchmarks: llama.cpp's multimodal library loads and runs it like a real
//! one (ViT -> 4x4 average pool -> RMSNorm -> projection, projector type
//! `gemma3`), so the whole image path runs for real. Its descriptions are noise.
//!
//! Layout: 224x224 images in 14x14 patches (16x16 patches, 16 image tokens),
//! two 64-wide encoder blocks, projection to the text model's width.

use std::io::Write;
use std::path::Path;

const WIDTH: u64 = 64;
const FFN: u64 = 128;
const BLOCKS: u64 = 2;
const HEADS: u32 = 4;
const IMAGE: u32 = 224;
const PATCH: u32 = 14;

enum Value {
    Str(&'static str),
    U32(u32),
    F32(f32),
    Bool(bool),
    F32s(Vec<f32>),
}

struct Tensor {
    name: String,
    /// ggml order: fastest-varying dimension first.
    ne: Vec<u64>,
    data: Vec<f32>,
}

/// Deterministic uniform values in [-scale, scale].
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// Writes the projector to `path`; its output width is `text_width` (the text
/// model's embedding width, 640 for Gemma 3 270M). `seed` picks the weights.
pub fn write_test_projector(path: &Path, text_width: u32, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut tensors = Vec::new();
    let mut random = |name: &str, ne: &[u64], fan_in: u64| {
        let n: u64 = ne.iter().product();
        let scale = 1.0 / (fan_in as f32).sqrt();
        Tensor { name: name.into(), ne: ne.to_vec(), data: (0..n).map(|_| rng.next() * scale).collect() }
    };
    let ones = |name: &str, n: u64| Tensor { name: name.into(), ne: vec![n], data: vec![1.0; n as usize] };
    let zeros = |name: &str, n: u64| Tensor { name: name.into(), ne: vec![n], data: vec![0.0; n as usize] };
    let patches = u64::from(IMAGE / PATCH) * u64::from(IMAGE / PATCH);
    let p = u64::from(PATCH);
    tensors.push(random("v.patch_embd.weight", &[p, p, 3, WIDTH], 3 * p * p));
    tensors.push(zeros("v.patch_embd.bias", WIDTH));
    tensors.push(random("v.position_embd.weight", &[WIDTH, patches], WIDTH));
    for i in 0..BLOCKS {
        for part in ["attn_q", "attn_k", "attn_v", "attn_out"] {
            tensors.push(random(&format!("v.blk.{i}.{part}.weight"), &[WIDTH, WIDTH], WIDTH));
            tensors.push(zeros(&format!("v.blk.{i}.{part}.bias"), WIDTH));
        }
        for ln in ["ln1", "ln2"] {
            tensors.push(ones(&format!("v.blk.{i}.{ln}.weight"), WIDTH));
            tensors.push(zeros(&format!("v.blk.{i}.{ln}.bias"), WIDTH));
        }
        tensors.push(random(&format!("v.blk.{i}.ffn_up.weight"), &[WIDTH, FFN], WIDTH));
        tensors.push(zeros(&format!("v.blk.{i}.ffn_up.bias"), FFN));
        tensors.push(random(&format!("v.blk.{i}.ffn_down.weight"), &[FFN, WIDTH], FFN));
        tensors.push(zeros(&format!("v.blk.{i}.ffn_down.bias"), WIDTH));
    }
    tensors.push(ones("v.post_ln.weight", WIDTH));
    tensors.push(zeros("v.post_ln.bias", WIDTH));
    tensors.push(random("mm.input_projection.weight", &[u64::from(text_width), WIDTH], WIDTH));
    tensors.push(ones("mm.soft_emb_norm.weight", WIDTH));

    let metadata: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::Str("clip")),
        ("general.type", Value::Str("mmproj")),
        ("general.name", Value::Str("Switchboard test projector (random weights)")),
        ("clip.projector_type", Value::Str("gemma3")),
        ("clip.has_vision_encoder", Value::Bool(true)),
        ("clip.use_gelu", Value::Bool(true)),
        ("clip.vision.embedding_length", Value::U32(WIDTH as u32)),
        ("clip.vision.feed_forward_length", Value::U32(FFN as u32)),
        ("clip.vision.block_count", Value::U32(BLOCKS as u32)),
        ("clip.vision.attention.head_count", Value::U32(HEADS)),
        ("clip.vision.projection_dim", Value::U32(text_width)),
        ("clip.vision.attention.layer_norm_epsilon", Value::F32(1e-6)),
        ("clip.vision.image_size", Value::U32(IMAGE)),
        ("clip.vision.patch_size", Value::U32(PATCH)),
        ("clip.vision.image_mean", Value::F32s(vec![0.5; 3])),
        ("clip.vision.image_std", Value::F32s(vec![0.5; 3])),
    ];
    write_gguf(path, &metadata, &tensors)
}

fn write_gguf(path: &Path, metadata: &[(&str, Value)], tensors: &[Tensor]) -> std::io::Result<()> {
    const ALIGN: u64 = 32;
    let mut out = Vec::new();
    let string = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    out.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (key, value) in metadata {
        string(&mut out, key);
        match value {
            Value::Str(s) => {
                out.extend_from_slice(&8u32.to_le_bytes());
                string(&mut out, s);
            }
            Value::U32(v) => {
                out.extend_from_slice(&4u32.to_le_bytes());
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::F32(v) => {
                out.extend_from_slice(&6u32.to_le_bytes());
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::Bool(v) => {
                out.extend_from_slice(&7u32.to_le_bytes());
                out.push(u8::from(*v));
            }
            Value::F32s(vs) => {
                out.extend_from_slice(&9u32.to_le_bytes());
                out.extend_from_slice(&6u32.to_le_bytes());
                out.extend_from_slice(&(vs.len() as u64).to_le_bytes());
                for v in vs {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
    let mut offset = 0u64;
    for t in tensors {
        string(&mut out, &t.name);
        out.extend_from_slice(&(t.ne.len() as u32).to_le_bytes());
        for d in &t.ne {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(&0u32.to_le_bytes()); // F32
        out.extend_from_slice(&offset.to_le_bytes());
        offset += (t.data.len() as u64 * 4).div_ceil(ALIGN) * ALIGN;
    }
    out.resize((out.len() as u64).div_ceil(ALIGN) as usize * ALIGN as usize, 0);
    for t in tensors {
        let start = out.len();
        for v in &t.data {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let padded = start + ((out.len() - start) as u64).div_ceil(ALIGN) as usize * ALIGN as usize;
        out.resize(padded, 0);
    }
    let tmp = path.with_extension("gguf.partial");
    std::fs::File::create(&tmp)?.write_all(&out)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projector_reads_back_as_a_projector_for_the_given_width() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mmproj-test.gguf");
        write_test_projector(&path, 640, 7).unwrap();
        let header = crate::gguf::read_header(&path).unwrap();
        assert_eq!(header.tensors.len(), 39);
        assert_eq!(header.str("clip.projector_type"), Some("gemma3"));
        let facts = crate::library::describe(&path).unwrap();
        assert!(facts.projector && !facts.embedding);
        assert_eq!(facts.projection_dim, Some(640));
        let proj = header.tensors.iter().find(|t| t.name == "mm.input_projection.weight").unwrap();
        assert_eq!(proj.dims, [640, 64]);
        // Deterministic per seed.
        let again = dir.path().join("again.gguf");
        write_test_projector(&again, 640, 7).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&again).unwrap());
    }
}

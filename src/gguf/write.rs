//! GGUF v3 writer.

use std::path::Path;

use super::GgmlType;
use super::GgufError;
use super::Value;
use super::DEFAULT_ALIGNMENT;
use super::MAGIC;

/// Tensor contents; converted to the stored type on write.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    /// Stored as IEEE half precision.
    F16(Vec<f32>),
}

impl TensorData {
    fn len(&self) -> usize {
        match self {
            Self::F32(v) | Self::F16(v) => v.len(),
        }
    }

    const fn ggml_type(&self) -> GgmlType {
        match self {
            Self::F32(_) => GgmlType::F32,
            Self::F16(_) => GgmlType::F16,
        }
    }

    fn append_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::F32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Self::F16(v) => v
                .iter()
                .for_each(|&x| out.extend_from_slice(&half::f16::from_f32(x).to_le_bytes())),
        }
    }
}

#[derive(Debug, Clone)]
struct Tensor {
    name: String,
    ne: Vec<u64>,
    data: TensorData,
}

/// Collects KVs and tensors, then writes a GGUF v3 file.
#[derive(Debug, Clone, Default)]
pub struct GgufWriter {
    kvs: Vec<(String, Value)>,
    tensors: Vec<Tensor>,
}

impl GgufWriter {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a key.
    pub fn kv(&mut self, key: &str, value: Value) -> &mut Self {
        self.kvs.retain(|(k, _)| k != key);
        self.kvs.push((key.into(), value));
        self
    }

    /// Removes a key, if present.
    pub fn remove_kv(&mut self, key: &str) -> &mut Self {
        self.kvs.retain(|(k, _)| k != key);
        self
    }

    /// Removes a tensor, if present (to make broken models for tests).
    pub fn remove_tensor(&mut self, name: &str) -> &mut Self {
        self.tensors.retain(|t| t.name != name);
        self
    }

    /// Adds a tensor of shape `ne` (ggml order: fastest dimension first).
    ///
    /// # Panics
    /// If the element count of `ne` differs from the data length (a bug in the caller).
    pub fn tensor(&mut self, name: &str, ne: &[u64], data: TensorData) -> &mut Self {
        let n: u64 = ne.iter().product();
        assert_eq!(n, data.len() as u64, "tensor {name}: shape {ne:?} vs data");
        self.tensors.push(Tensor {
            name: name.into(),
            ne: ne.to_vec(),
            data,
        });
        self
    }

    /// The value of a key added so far.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.kvs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Number of tensors added so far.
    #[must_use]
    pub fn tensor_count(&self) -> usize {
        self.tensors.len()
    }

    /// The whole file.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let align = match self.get("general.alignment").and_then(Value::as_u64) {
            Some(a) if a > 0 => a,
            _ => DEFAULT_ALIGNMENT,
        };
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.kvs.len() as u64).to_le_bytes());
        for (k, v) in &self.kvs {
            put_str(&mut out, k);
            out.extend_from_slice(&v.type_id().to_le_bytes());
            put_value(&mut out, v);
        }
        let mut offset = 0u64;
        let mut blob = Vec::new();
        for t in &self.tensors {
            put_str(&mut out, &t.name);
            out.extend_from_slice(&(t.ne.len() as u32).to_le_bytes());
            t.ne.iter()
                .for_each(|d| out.extend_from_slice(&d.to_le_bytes()));
            out.extend_from_slice(&t.data.ggml_type().0.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            t.data.append_to(&mut blob);
            pad(&mut blob, align);
            offset = blob.len() as u64;
        }
        pad(&mut out, align);
        out.extend_from_slice(&blob);
        out
    }

    /// Writes the file; returns its size in bytes.
    pub fn write_to(&self, path: &Path) -> Result<u64, GgufError> {
        let bytes = self.to_bytes();
        std::fs::write(path, &bytes).map_err(|source| GgufError::Io {
            path: path.into(),
            action: "cannot write",
            source,
        })?;
        Ok(bytes.len() as u64)
    }
}

fn pad(out: &mut Vec<u8>, align: u64) {
    let rem = out.len() as u64 % align;
    if rem != 0 {
        out.resize(out.len() + (align - rem) as usize, 0);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => out.push(u8::from(*x)),
        Value::Str(s) => put_str(out, s),
        Value::Array(ty, items) => {
            out.extend_from_slice(&ty.to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            items.iter().for_each(|i| put_value(out, i));
        }
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
    }
}

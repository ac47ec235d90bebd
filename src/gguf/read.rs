//! GGUF metadata reader and model identity.

use std::fs::File;
use std::io::BufReader;
use std::io::Read;
use std::path::Path;
use std::path::PathBuf;

use super::value::file_type_name;
use super::GgmlType;
use super::GgufError;
use super::Value;
use super::DEFAULT_ALIGNMENT;
use super::MAGIC;
use crate::digest::sha256_copy;
use crate::record::ModelInfo;

/// One tensor's header entry.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// Shape in ggml order (fastest dimension first).
    pub ne: Vec<u64>,
    pub ggml_type: GgmlType,
    /// Offset in the data blob.
    pub offset: u64,
}

impl TensorInfo {
    #[must_use]
    pub fn elements(&self) -> u64 {
        self.ne.iter().product()
    }
}

/// The header of a GGUF file: KVs and tensor infos (tensor data is not read).
#[derive(Debug, Clone)]
pub struct GgufFile {
    pub path: PathBuf,
    pub version: u32,
    pub kvs: Vec<(String, Value)>,
    pub tensors: Vec<TensorInfo>,
    /// Absolute offset of the data blob.
    pub data_offset: u64,
    pub file_size_bytes: u64,
}

impl GgufFile {
    /// Reads and checks the header of `path`: magic, version, KVs, tensor infos, and that
    /// every tensor's data lies inside the file.
    pub fn open(path: &Path) -> Result<Self, GgufError> {
        let file = File::open(path).map_err(|source| GgufError::Io {
            path: path.into(),
            action: "cannot open model file",
            source,
        })?;
        let len = file
            .metadata()
            .map_err(|source| GgufError::Io {
                path: path.into(),
                action: "cannot stat",
                source,
            })?
            .len();
        let mut c = Cursor {
            r: BufReader::new(file),
            pos: 0,
            len,
            path,
        };
        let magic = c.bytes(4.min(len), "magic")?;
        if magic != MAGIC {
            return Err(GgufError::NotGguf {
                path: path.into(),
                found: magic,
            });
        }
        let version = c.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::Version {
                path: path.into(),
                version,
            });
        }
        let n_tensors = c.u64("tensor count")?;
        let n_kv = c.u64("KV count")?;
        let kvs = c.kvs(n_kv)?;
        let tensors = c.tensor_infos(n_tensors)?;
        let align = alignment(path, &kvs)?;
        let data_offset = c.pos.div_ceil(align) * align;
        check_bounds(path, &tensors, data_offset, len)?;
        Ok(Self {
            path: path.into(),
            version,
            kvs,
            tensors,
            data_offset,
            file_size_bytes: len,
        })
    }

    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.kvs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// An integer key, as u64.
    #[must_use]
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Value::as_u64)
    }

    #[must_use]
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    #[must_use]
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Model identity; hashes the whole file.
    pub fn model_info(&self) -> Result<ModelInfo, GgufError> {
        let architecture = self
            .get_str("general.architecture")
            .ok_or_else(|| GgufError::BadKey {
                path: self.path.clone(),
                key: "general.architecture".into(),
                what: "missing or not a string (required)".into(),
            })?
            .to_owned();
        let file_type = self.get_u64("general.file_type").map(|v| v as u32);
        let quantization = match file_type.map(file_type_name) {
            Some(name) if name != "other" => name.to_owned(),
            _ => self.dominant_type(),
        };
        Ok(ModelInfo {
            path: self.path.display().to_string(),
            name: self.get_str("general.name").map(str::to_owned),
            architecture,
            file_type,
            quantization,
            param_count: self.tensors.iter().map(TensorInfo::elements).sum(),
            file_size_bytes: self.file_size_bytes,
            sha256: sha256_file(&self.path)?,
        })
    }

    fn dominant_type(&self) -> String {
        let mut by_type: Vec<(GgmlType, u64)> = Vec::new();
        for t in &self.tensors {
            let bytes = t.ggml_type.bytes(t.elements()).unwrap_or(0);
            match by_type.iter_mut().find(|(ty, _)| *ty == t.ggml_type) {
                Some((_, b)) => *b += bytes,
                None => by_type.push((t.ggml_type, bytes)),
            }
        }
        by_type
            .iter()
            .max_by_key(|(_, b)| *b)
            .map_or_else(|| "none".into(), |(ty, _)| type_name(*ty))
    }
}

fn type_name(ty: GgmlType) -> String {
    ty.layout()
        .map_or_else(|| format!("type{}", ty.0), |(n, _, _)| n.to_owned())
}

/// sha256 of a file, lowercase hex (streamed through [`sha256_copy`]).
pub fn sha256_file(path: &Path) -> Result<String, GgufError> {
    let io = |source| GgufError::Io {
        path: path.into(),
        action: "cannot hash",
        source,
    };
    let f = File::open(path).map_err(io)?;
    let (sha256, _) = sha256_copy(f, std::io::sink()).map_err(io)?;
    Ok(sha256)
}

/// `general.alignment`, or the default.
fn alignment(path: &Path, kvs: &[(String, Value)]) -> Result<u64, GgufError> {
    match kvs.iter().find(|(k, _)| k == "general.alignment") {
        Some((_, v)) => v
            .as_u64()
            .filter(|a| *a > 0)
            .ok_or_else(|| GgufError::BadKey {
                path: path.into(),
                key: "general.alignment".into(),
                what: format!("must be a positive integer, is {v:?}"),
            }),
        None => Ok(DEFAULT_ALIGNMENT),
    }
}

/// Every tensor's data lies inside the file of `len` bytes.
fn check_bounds(
    path: &Path,
    tensors: &[TensorInfo],
    data_offset: u64,
    len: u64,
) -> Result<(), GgufError> {
    for t in tensors {
        let bytes = t.ggml_type.bytes(t.elements()).unwrap_or(0);
        let end = data_offset.saturating_add(t.offset).saturating_add(bytes);
        if end > len {
            return Err(GgufError::TensorOutOfBounds {
                path: path.into(),
                tensor: t.name.clone(),
                end,
                len,
            });
        }
    }
    Ok(())
}

impl Cursor<'_> {
    /// `n_kv` key-value pairs.
    fn kvs(&mut self, n_kv: u64) -> Result<Vec<(String, Value)>, GgufError> {
        let mut kvs = Vec::new();
        for i in 0..n_kv {
            let key = self.string(&format!("key of KV {i}"))?;
            let ty = self.u32(&format!("type of {key}"))?;
            let v = self.value(ty, &key)?;
            kvs.push((key, v));
        }
        Ok(kvs)
    }

    /// `n_tensors` tensor infos: name, shape, type, offset.
    fn tensor_infos(&mut self, n_tensors: u64) -> Result<Vec<TensorInfo>, GgufError> {
        let mut tensors = Vec::new();
        for i in 0..n_tensors {
            let name = self.string(&format!("name of tensor {i}"))?;
            let n_dims = self.u32(&format!("n_dims of {name}"))?;
            if n_dims > 4 {
                return Err(
                    self.malformed(format!("tensor {name} has {n_dims} dimensions (max 4)"))
                );
            }
            let ne = (0..n_dims)
                .map(|_| self.u64(&format!("shape of {name}")))
                .collect::<Result<Vec<_>, _>>()?;
            let ggml_type = GgmlType(self.u32(&format!("type of {name}"))?);
            let offset = self.u64(&format!("offset of {name}"))?;
            tensors.push(TensorInfo {
                name,
                ne,
                ggml_type,
                offset,
            });
        }
        Ok(tensors)
    }
}

struct Cursor<'a> {
    r: BufReader<File>,
    pos: u64,
    len: u64,
    path: &'a Path,
}

impl Cursor<'_> {
    fn malformed(&self, what: String) -> GgufError {
        GgufError::Malformed {
            path: self.path.into(),
            offset: self.pos,
            what,
        }
    }

    fn need(&self, n: u64, what: &str) -> Result<(), GgufError> {
        if n > self.len.saturating_sub(self.pos) {
            return Err(GgufError::Truncated {
                path: self.path.into(),
                offset: self.pos,
                needed: n,
                what: what.into(),
                len: self.len,
            });
        }
        Ok(())
    }

    fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>, GgufError> {
        self.need(n, what)?;
        let mut buf = vec![0u8; n as usize];
        self.r
            .read_exact(&mut buf)
            .map_err(|source| GgufError::Io {
                path: self.path.into(),
                action: "cannot read",
                source,
            })?;
        self.pos += n;
        Ok(buf)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        let v = self.bytes(N as u64, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&v);
        Ok(a)
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String, GgufError> {
        let n = self.u64(what)?;
        let b = self.bytes(n, what)?;
        String::from_utf8(b).map_err(|_| self.malformed(format!("{what} is not UTF-8")))
    }

    fn value(&mut self, ty: u32, key: &str) -> Result<Value, GgufError> {
        Ok(match ty {
            0 => Value::U8(self.array::<1>(key)?[0]),
            1 => Value::I8(i8::from_le_bytes(self.array(key)?)),
            2 => Value::U16(u16::from_le_bytes(self.array(key)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(key)?)),
            4 => Value::U32(self.u32(key)?),
            5 => Value::I32(i32::from_le_bytes(self.array(key)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(key)?)),
            7 => Value::Bool(self.array::<1>(key)?[0] != 0),
            8 => Value::Str(self.string(key)?),
            9 => {
                let ety = self.u32(key)?;
                if ety == 9 {
                    return Err(self.malformed(format!("key {key}: nested arrays")));
                }
                let n = self.u64(key)?;
                // Every element takes at least one byte: a larger count is a truncated file.
                self.need(n, key)?;
                let items = (0..n)
                    .map(|_| self.value(ety, key))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::Array(ety, items)
            }
            10 => Value::U64(self.u64(key)?),
            11 => Value::I64(i64::from_le_bytes(self.array(key)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(key)?)),
            _ => return Err(self.malformed(format!("key {key}: unknown value type {ty}"))),
        })
    }
}

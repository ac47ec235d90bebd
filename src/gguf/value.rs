//! GGUF metadata values and ggml tensor types.

/// A metadata value. Arrays hold values of one type (not checked on write).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    Str(String),
    /// Element type id and elements.
    Array(u32, Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Value {
    /// The GGUF value type id (`gguf_type`).
    #[must_use]
    pub const fn type_id(&self) -> u32 {
        match self {
            Self::U8(_) => 0,
            Self::I8(_) => 1,
            Self::U16(_) => 2,
            Self::I16(_) => 3,
            Self::U32(_) => 4,
            Self::I32(_) => 5,
            Self::F32(_) => 6,
            Self::Bool(_) => 7,
            Self::Str(_) => 8,
            Self::Array(..) => 9,
            Self::U64(_) => 10,
            Self::I64(_) => 11,
            Self::F64(_) => 12,
        }
    }

    /// An array of strings.
    #[must_use]
    pub fn strs<S: AsRef<str>>(items: &[S]) -> Self {
        Self::Array(
            8,
            items.iter().map(|s| Self::Str(s.as_ref().into())).collect(),
        )
    }

    /// An array of f32.
    #[must_use]
    pub fn f32s(items: &[f32]) -> Self {
        Self::Array(6, items.iter().map(|&x| Self::F32(x)).collect())
    }

    /// An array of i32.
    #[must_use]
    pub fn i32s(items: &[i32]) -> Self {
        Self::Array(5, items.iter().map(|&x| Self::I32(x)).collect())
    }

    /// The value as an unsigned integer, if it is any non-negative integer.
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(v.into()),
            Self::U16(v) => Some(v.into()),
            Self::U32(v) => Some(v.into()),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A ggml tensor type: its id and storage (elements per block, bytes per block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GgmlType(pub u32);

impl GgmlType {
    pub const F32: Self = Self(0);
    pub const F16: Self = Self(1);

    /// `(name, block elements, block bytes)`, or `None` for a type this reader does not know.
    #[must_use]
    pub const fn layout(self) -> Option<(&'static str, u64, u64)> {
        Some(match self.0 {
            0 => ("F32", 1, 4),
            1 => ("F16", 1, 2),
            2 => ("Q4_0", 32, 18),
            3 => ("Q4_1", 32, 20),
            6 => ("Q5_0", 32, 22),
            7 => ("Q5_1", 32, 24),
            8 => ("Q8_0", 32, 34),
            9 => ("Q8_1", 32, 36),
            10 => ("Q2_K", 256, 84),
            11 => ("Q3_K", 256, 110),
            12 => ("Q4_K", 256, 144),
            13 => ("Q5_K", 256, 176),
            14 => ("Q6_K", 256, 210),
            15 => ("Q8_K", 256, 292),
            20 => ("IQ4_NL", 32, 18),
            23 => ("IQ4_XS", 256, 136),
            24 => ("I8", 1, 1),
            25 => ("I16", 1, 2),
            26 => ("I32", 1, 4),
            27 => ("I64", 1, 8),
            28 => ("F64", 1, 8),
            30 => ("BF16", 1, 2),
            _ => return None,
        })
    }

    /// Bytes of a tensor of `elements` elements, if the type is known.
    #[must_use]
    pub const fn bytes(self, elements: u64) -> Option<u64> {
        match self.layout() {
            Some((_, block, size)) => Some(elements.div_ceil(block) * size),
            None => None,
        }
    }
}

/// A model file type (`general.file_type`, llama.cpp's `llama_ftype`): what
/// `edgewatt quantize --type` accepts and what a model's identity reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileType {
    /// The name llama.cpp's `llama-quantize` uses (`Q4_K_M`).
    pub name: &'static str,
    /// The `llama_ftype` value.
    pub code: u32,
    /// Whether llama.cpp refuses it without an importance matrix (its very-low-bit types).
    pub needs_imatrix: bool,
    /// Whether its weights are quantized (not F32, F16 or BF16).
    pub quantized: bool,
    /// A short description: bits per weight and what they are.
    pub about: &'static str,
}

const fn ft(name: &'static str, code: u32, about: &'static str) -> FileType {
    FileType {
        name,
        code,
        needs_imatrix: false,
        quantized: code != 0 && code != 1 && code != 32,
        about,
    }
}

const fn ft_imatrix(name: &'static str, code: u32, about: &'static str) -> FileType {
    FileType {
        needs_imatrix: true,
        ..ft(name, code, about)
    }
}

/// Every file type llama.cpp (as vendored by `llama-cpp-sys-2`) writes for a dense
/// model, in its `llama_ftype` order. The ternary (TQ*) and MoE-only (MXFP4) types are
/// left out: they are for models trained for them.
pub const FILE_TYPES: &[FileType] = &[
    ft("F32", 0, "32-bit float, unquantized"),
    ft("F16", 1, "16-bit float"),
    ft("Q4_0", 2, "4.5 bpw, legacy"),
    ft("Q4_1", 3, "5.0 bpw, legacy"),
    ft("Q8_0", 7, "8.5 bpw, near lossless"),
    ft("Q5_0", 8, "5.5 bpw, legacy"),
    ft("Q5_1", 9, "6.0 bpw, legacy"),
    ft("Q2_K", 10, "2.6 bpw k-quant mix"),
    ft("Q3_K_S", 11, "3.4 bpw k-quant"),
    ft("Q3_K_M", 12, "3.7 bpw k-quant mix"),
    ft("Q3_K_L", 13, "4.0 bpw k-quant mix"),
    ft("Q4_K_S", 14, "4.5 bpw k-quant"),
    ft("Q4_K_M", 15, "4.8 bpw k-quant mix"),
    ft("Q5_K_S", 16, "5.5 bpw k-quant"),
    ft("Q5_K_M", 17, "5.7 bpw k-quant mix"),
    ft("Q6_K", 18, "6.6 bpw k-quant"),
    ft_imatrix("IQ2_XXS", 19, "2.06 bpw i-quant"),
    ft_imatrix("IQ2_XS", 20, "2.31 bpw i-quant"),
    ft_imatrix("Q2_K_S", 21, "2.5 bpw k-quant"),
    ft("IQ3_XS", 22, "3.3 bpw i-quant"),
    ft_imatrix("IQ3_XXS", 23, "3.06 bpw i-quant"),
    ft_imatrix("IQ1_S", 24, "1.56 bpw i-quant"),
    ft("IQ4_NL", 25, "4.5 bpw non-linear"),
    ft("IQ3_S", 26, "3.44 bpw i-quant"),
    ft("IQ3_M", 27, "3.66 bpw i-quant mix"),
    ft_imatrix("IQ2_S", 28, "2.5 bpw i-quant"),
    ft_imatrix("IQ2_M", 29, "2.7 bpw i-quant"),
    ft("IQ4_XS", 30, "4.25 bpw non-linear"),
    ft_imatrix("IQ1_M", 31, "1.75 bpw i-quant"),
    ft("BF16", 32, "16-bit bfloat"),
];

impl FileType {
    /// The file type named `name` (case-insensitive; `Q4_K` means `Q4_K_M` and `Q3_K` means
    /// `Q3_K_M`, `Q5_K` means `Q5_K_M`, as in `llama-quantize`).
    #[must_use]
    pub fn by_name(name: &str) -> Option<&'static FileType> {
        let name = name.to_ascii_uppercase();
        let name = match name.as_str() {
            "Q3_K" => "Q3_K_M",
            "Q4_K" => "Q4_K_M",
            "Q5_K" => "Q5_K_M",
            other => other,
        };
        FILE_TYPES.iter().find(|t| t.name == name)
    }

    /// The file type of `general.file_type` value `code`.
    #[must_use]
    pub fn by_code(code: u32) -> Option<&'static FileType> {
        FILE_TYPES.iter().find(|t| t.code == code)
    }
}

/// Name of a `general.file_type` value (llama.cpp `llama_ftype`), `other` if unknown.
#[must_use]
pub fn file_type_name(file_type: u32) -> &'static str {
    FileType::by_code(file_type).map_or("other", |t| t.name)
}

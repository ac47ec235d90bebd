//! `Record` as it is on disk: its variant indices are forever. The in-memory [`Record`]
//! has one `Run`; on disk a run is index 4 (Run v1, read only) or index 5 (Run v2, written).

use serde::Deserialize;
use serde::Serialize;

use super::run::wire::RunV1;
use super::run::wire::RunV2;
use super::Event;
use super::PowerBlock;
use super::Record;
use super::SampleBlock;
use super::Seal;

/// What a frame's record decodes as.
#[derive(Deserialize)]
#[serde(rename = "Record")]
pub(super) enum RecordWire {
    Samples(SampleBlock),
    Event(Event),
    Seal(Seal),
    Power(PowerBlock),
    RunV1(Box<RunV1>),
    RunV2(Box<RunV2>),
}

impl From<RecordWire> for Record {
    fn from(w: RecordWire) -> Self {
        match w {
            RecordWire::Samples(b) => Self::Samples(b),
            RecordWire::Event(e) => Self::Event(e),
            RecordWire::Seal(s) => Self::Seal(s),
            RecordWire::Power(b) => Self::Power(b),
            RecordWire::RunV1(r) => Self::Run(Box::new((*r).into())),
            RecordWire::RunV2(r) => Self::Run(Box::new((*r).into())),
        }
    }
}

/// No value: Run v1 is never written any more, but keeps its index.
#[derive(Serialize)]
enum NeverWritten {}

/// What a record encodes as (borrowing what it can).
#[derive(Serialize)]
#[serde(rename = "Record")]
enum RecordWireRef<'a> {
    Samples(&'a SampleBlock),
    Event(&'a Event),
    Seal(&'a Seal),
    Power(&'a PowerBlock),
    #[allow(dead_code)]
    RunV1(NeverWritten),
    RunV2(Box<RunV2>),
}

impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Samples(b) => RecordWireRef::Samples(b),
            Self::Event(e) => RecordWireRef::Event(e),
            Self::Seal(x) => RecordWireRef::Seal(x),
            Self::Power(b) => RecordWireRef::Power(b),
            Self::Run(r) => RecordWireRef::RunV2(Box::new(RunV2::from(&**r))),
        }
        .serialize(s)
    }
}

/// The kind of record a frame holds, told from the leading varints of its payload (the seq,
/// then the variant index, which is forever) without decoding the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Samples,
    Event,
    Seal,
    Power,
    /// Run v1 or v2.
    Run,
}

impl FrameKind {
    /// The seq and kind of a frame payload; `None` for bytes too short or a variant this
    /// version does not know.
    #[must_use]
    pub fn peek(payload: &[u8]) -> Option<(u64, Self)> {
        let (seq, rest) = postcard::take_from_bytes::<u64>(payload).ok()?;
        let (variant, _) = postcard::take_from_bytes::<u32>(rest).ok()?;
        let kind = match variant {
            0 => Self::Samples,
            1 => Self::Event,
            2 => Self::Seal,
            3 => Self::Power,
            4 | 5 => Self::Run,
            _ => return None,
        };
        Some((seq, kind))
    }
}

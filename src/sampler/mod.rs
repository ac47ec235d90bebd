//! Readers of /proc and /sys, and the fixed-rate tick loop that drives them.

mod sample;

pub use sample::group;
pub use sample::CpuTicks;
pub use sample::MemKb;
pub use sample::ProcCounters;
pub use sample::ProcRole;
pub use sample::Sample;
pub use sample::SampleLayout;
pub use sample::TrackedProc;

//! (filled in by the store/derive work)
pub mod energy;

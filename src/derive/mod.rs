//! (filled in by the store/derive work)

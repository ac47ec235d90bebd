//! Arbitrary bytes into the segment reader, the frame scanner and the frame decoder.
//! The body (shared with the stable test `store::damage::fuzz_body_over_seeded_inputs`)
//! panics only on a broken invariant.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    edgewatt::store::fuzzing::decode_segment(data);
});

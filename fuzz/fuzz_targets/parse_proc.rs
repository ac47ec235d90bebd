//! Arbitrary bytes into every /proc parser of the sampler's tick path. The body (shared
//! with the stable property tests of `sampler::parse`) panics only on a broken invariant.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    edgewatt::sampler::fuzzing::parse_proc(data);
});

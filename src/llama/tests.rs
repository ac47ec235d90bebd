//! Unit tests of the parts that need no model: framing, projectors.
//! Real inference is tested in tests/llama/.

use std::io::Cursor;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;
use crate::plan::Plan;
use crate::record::PhaseMark;
use crate::record::RunPhase;

#[test]
fn frames_are_a_length_then_json_and_read_back_in_order() {
    let mut buf = Vec::new();
    write_frame(&mut buf, &Reply::Ready { pid: 7 }).unwrap();
    let mark = PhaseMark {
        phase: RunPhase::Decode,
        mono_us: 99,
    };
    write_frame(&mut buf, &Reply::Phase(mark)).unwrap();
    let body = br#"{"Ready":{"pid":7}}"#;
    assert_eq!(&buf[..4], &(body.len() as u32).to_le_bytes());
    assert_eq!(&buf[4..4 + body.len()], body);
    let mut r = Cursor::new(buf);
    assert_eq!(
        read_frame::<Reply>(&mut r).unwrap(),
        Reply::Ready { pid: 7 }
    );
    assert_eq!(read_frame::<Reply>(&mut r).unwrap(), Reply::Phase(mark));
    assert!(matches!(
        read_frame::<Reply>(&mut r),
        Err(FrameError::Closed)
    ));
}

#[test]
fn torn_oversized_and_garbled_frames_are_errors() {
    let mut buf = Vec::new();
    write_frame(&mut buf, &Request::Shutdown).unwrap();
    let torn = &buf[..buf.len() - 1];
    assert!(matches!(
        read_frame::<Request>(&mut Cursor::new(torn)),
        Err(FrameError::Io(_))
    ));
    let huge = (MAX_FRAME_BYTES_FOR_TEST + 1).to_le_bytes();
    assert!(matches!(
        read_frame::<Request>(&mut Cursor::new(huge)),
        Err(FrameError::TooBig(n)) if n == MAX_FRAME_BYTES_FOR_TEST + 1
    ));
    let mut garbled = 3u32.to_le_bytes().to_vec();
    garbled.extend_from_slice(b"{x}");
    assert!(matches!(
        read_frame::<Request>(&mut Cursor::new(garbled)),
        Err(FrameError::Json(_))
    ));
}

const MAX_FRAME_BYTES_FOR_TEST: u32 = super::job::MAX_FRAME_BYTES;

#[test]
fn a_scheduled_job_and_its_run_say_plan_workload_warmup_and_repetition() {
    let plan = Plan::parse(
        "name = \"p\"\nwarmup = 1\nrepetitions = 2\n[[workload]]\nname = \"f16\"\n\
         model = \"m.gguf\"\n[[workload]]\nname = \"q4\"\nmodel = \"n.gguf\"\n\
         base_workload = \"f16\"\n",
        Path::new("p.toml"),
    )
    .unwrap();
    let schedule = plan.schedule();
    // Warm-ups of both cases, then repetitions 0 and 1 of each.
    let jobs: Vec<Job> = schedule
        .runs
        .iter()
        .map(|sr| job_for(&schedule, sr, Path::new("unused")))
        .collect();
    let tags: Vec<(&str, &str, Option<&str>, bool, u32)> = jobs
        .iter()
        .map(|j| {
            let base = j.base_workload.as_deref();
            (
                j.plan.as_str(),
                j.workload.as_str(),
                base,
                j.warmup,
                j.repetition,
            )
        })
        .collect();
    assert_eq!(
        tags,
        [
            ("p", "f16", None, true, 0),
            ("p", "q4", Some("f16"), true, 0),
            ("p", "f16", None, false, 0),
            ("p", "q4", Some("f16"), false, 0),
            ("p", "f16", None, false, 1),
            ("p", "q4", Some("f16"), false, 1),
        ]
    );
    assert_eq!(jobs[1].label, "q4/pp64/tg32/t4#warmup");
    let run = jobs[5].blank_run(77);
    assert_eq!((run.plan.as_str(), run.workload.as_str()), ("p", "q4"));
    assert_eq!(run.base_workload.as_deref(), Some("f16"));
    assert_eq!((run.warmup, run.repetition, run.worker_pid), (false, 1, 77));
    assert_eq!(
        (run.label, run.settings),
        (jobs[5].label.clone(), jobs[5].settings())
    );
}

#[test]
fn generated_projectors_take_the_width_of_the_text_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.gguf");
    let spec = crate::gguf::TextModelSpec {
        n_embd: 96,
        n_head: 6,
        n_head_kv: 3,
        ..crate::gguf::TextModelSpec::default()
    };
    crate::gguf::tiny_llama(&spec).write_to(&model).unwrap();
    let out = dir.path().join("state/generated");
    let p = super::bench::generated_projector(Path::new("generate:gemma3"), &model, &out);
    assert_eq!(p, out.join("gemma3-96.gguf"));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & !0o750, 0, "no access for others: {mode:o}");
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["gemma3-96.gguf"], "no temporary file left");
    let g = crate::gguf::GgufFile::open(&p).unwrap();
    assert_eq!(g.get_u64("clip.vision.projection_dim"), Some(96));
    assert_eq!(g.get_str("clip.projector_type"), Some("gemma3"));
    // Files and unknown kinds pass through; so does a model that cannot be read.
    let file = Path::new("/x/mmproj.gguf");
    assert_eq!(super::bench::generated_projector(file, &model, &out), file);
    let odd = Path::new("generate:llava");
    assert_eq!(super::bench::generated_projector(odd, &model, &out), odd);
    let q = Path::new("generate:qwen2vl");
    assert_eq!(
        super::bench::generated_projector(q, &dir.path().join("none.gguf"), &out),
        q
    );
    // A directory that cannot be made: the name passes through (the run fails naming it).
    let blocked = dir.path().join("m.gguf/generated");
    assert_eq!(super::bench::generated_projector(q, &model, &blocked), q);
}

//! Plans: the next run and the last outcome of each, and a bad plan or state file as a
//! condition.

use super::*;

#[test]
fn plans_show_their_next_run_and_last_outcome_and_a_bad_state_file_is_a_condition() {
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("p.toml");
    std::fs::write(
        &plan_path,
        "name = \"nightly\"\n[when]\nevery_s = 600\n[[workload]]\nname = \"llm\"\n\
         model = \"m.gguf\"\nprompt_tokens = [16]\ngen_tokens = 8\n",
    )
    .unwrap();
    let state = dir.path().join("state");
    let mut config = cfg(&state);
    config.plans = vec![plan_path.clone(), dir.path().join("missing.toml")];
    std::fs::create_dir(&state).unwrap();
    std::fs::write(
        state.join("schedule.json"),
        "{\"format\":1,\"plans\":{\"nightly\":{\"last_start_unix_s\":1700000010}}}\n",
    )
    .unwrap();
    let mut run = Run::for_test(
        9,
        16,
        8,
        &[(RunPhase::Load, 12 * S), (RunPhase::Done, 14 * S)],
    );
    run.plan = "nightly".into();
    run.label = "llm/pp16/tg8/t4".into();
    run.schedule_len = 1;
    let _w = session(&config, 30 * S, vec![Record::Run(Box::new(run))]);
    let st = status_at(&config, at(31 * S));
    let p = &st.plans[0];
    assert_eq!(p.name, "nightly");
    assert_eq!(p.last_start_unix_s, Some(1_700_000_010));
    assert_eq!(
        p.next,
        Some(NextRun::At {
            unix_s: 1_700_000_610,
            trigger: "every_s".into()
        })
    );
    let last = p.last_run.as_ref().unwrap();
    assert_eq!(
        (
            last.label.as_str(),
            last.outcome.as_str(),
            last.index,
            last.total
        ),
        ("llm/pp16/tg8/t4", "ok", 1, 1)
    );
    assert_eq!(last.unix_s, Some(1_700_000_012));
    assert_eq!(st.last_run.as_ref(), Some(last));
    assert!(st.plans[1].error.is_some());
    assert_eq!(kinds(&st), [ConditionKind::StateFile], "the missing plan");
    std::fs::write(state.join("schedule.json"), "{not json").unwrap();
    let st = status_at(&config, at(31 * S));
    assert_eq!(
        kinds(&st),
        [ConditionKind::StateFile, ConditionKind::StateFile]
    );
    assert!(
        st.conditions[0].message.contains("schedule.json: "),
        "{:?}",
        st.conditions
    );
    assert_eq!(st.plans[0].last_start_unix_s, None);
}

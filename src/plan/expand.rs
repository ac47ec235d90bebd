//! From a plan to cases (every combination of a workload's lists) and a run order.

use std::path::PathBuf;

use super::Plan;
use crate::synth::Rng;

/// The image of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseImage {
    Synthetic { width: u32, height: u32 },
    File(PathBuf),
}

/// One combination of settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub workload: String,
    /// The workload this one is a compressed variant of.
    pub base_workload: Option<String>,
    /// `workload/pp64` style name of what varies.
    pub label: String,
    pub model: PathBuf,
    pub mmproj: Option<PathBuf>,
    pub corpus: Option<PathBuf>,
    pub image: Option<CaseImage>,
    pub prompt_tokens: u32,
    pub gen_tokens: u32,
    pub image_min_tokens: i32,
    pub image_max_tokens: i32,
    pub threads: u32,
    pub n_ctx: u32,
    pub n_batch: u32,
    pub seed: u32,
    pub keep_loaded: bool,
}

/// One run of the schedule: a case, and whether it is a warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledRun {
    pub case: usize,
    /// 0-based repetition (or warm-up) number of this case.
    pub repetition: u32,
    pub warmup: bool,
}

/// Cases and the order to run them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The plan's name.
    pub plan: String,
    pub cases: Vec<Case>,
    pub runs: Vec<ScheduledRun>,
}

/// `WxH` → (W, H), both ≥ 1.
#[must_use]
pub fn parse_size(s: &str) -> Option<(u32, u32)> {
    let (w, h) = s.split_once('x')?;
    let (w, h) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w >= 1 && h >= 1).then_some((w, h))
}

impl Plan {
    /// Every case of every workload, in plan order.
    #[must_use]
    pub fn cases(&self) -> Vec<Case> {
        let mut out = Vec::new();
        for w in &self.workloads {
            let images: Vec<Option<CaseImage>> = if w.images.is_empty() {
                vec![None]
            } else {
                w.images
                    .iter()
                    .map(|s| {
                        Some(parse_size(s).map_or_else(
                            || CaseImage::File(s.into()),
                            |(width, height)| CaseImage::Synthetic { width, height },
                        ))
                    })
                    .collect()
            };
            for &threads in &w.threads {
                for &pp in &w.prompt_tokens {
                    for image in &images {
                        for &min in &w.image_min_tokens {
                            for &max in &w.image_max_tokens {
                                let mut label =
                                    format!("{}/pp{pp}/tg{}/t{threads}", w.name, w.gen_tokens);
                                match image {
                                    Some(CaseImage::Synthetic { width, height }) => {
                                        label += &format!("/img{width}x{height}");
                                    }
                                    Some(CaseImage::File(p)) => {
                                        label += &format!("/img:{}", p.display());
                                    }
                                    None => {}
                                }
                                if min >= 0 {
                                    label += &format!("/min{min}");
                                }
                                if max >= 0 {
                                    label += &format!("/max{max}");
                                }
                                out.push(Case {
                                    workload: w.name.clone(),
                                    base_workload: w.base_workload.clone(),
                                    label,
                                    model: w.model.clone(),
                                    mmproj: w.mmproj.clone(),
                                    corpus: w.corpus.clone(),
                                    image: image.clone(),
                                    prompt_tokens: pp,
                                    gen_tokens: w.gen_tokens,
                                    image_min_tokens: min,
                                    image_max_tokens: max,
                                    threads,
                                    n_ctx: w.n_ctx,
                                    n_batch: w.n_batch,
                                    seed: w.seed,
                                    keep_loaded: w.keep_loaded,
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// What to warn of when a case asks for more llama.cpp threads than the `cpus` the
    /// process may run on: its threads wait for each other by spinning, so a thread
    /// without a core stalls the rest (a 64-token run that takes 1 s on 2 threads of 2
    /// cores ran past its 300 s limit on 3 here). `None` if every case fits.
    #[must_use]
    pub fn more_threads_than(&self, cpus: usize) -> Option<String> {
        let most = self.workloads.iter().flat_map(|w| w.threads.iter()).max()?;
        (*most as usize > cpus).then(|| {
            format!(
                "plan {}: workloads ask for up to {most} threads and {cpus} CPUs are \
                 available: llama.cpp's threads spin while they wait for each other, so runs \
                 with more threads than CPUs may take far longer or reach the time limit \
                 (keep threads at most {cpus} on this machine)",
                self.name
            )
        })
    }

    /// Warm-ups of every case first (plan order), then the measured runs, shuffled
    /// with `shuffle_seed` if set.
    #[must_use]
    pub fn schedule(&self) -> Schedule {
        let cases = self.cases();
        let mut runs = Vec::new();
        for case in 0..cases.len() {
            runs.extend((0..self.warmup).map(|repetition| ScheduledRun {
                case,
                repetition,
                warmup: true,
            }));
        }
        let mut measured: Vec<ScheduledRun> = (0..self.repetitions)
            .flat_map(|repetition| {
                (0..cases.len()).map(move |case| ScheduledRun {
                    case,
                    repetition,
                    warmup: false,
                })
            })
            .collect();
        if let Some(seed) = self.shuffle_seed {
            let mut rng = Rng::new(seed);
            for i in (1..measured.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                measured.swap(i, j);
            }
        }
        runs.extend(measured);
        Schedule {
            plan: self.name.clone(),
            cases,
            runs,
        }
    }
}

#[cfg(feature = "llama")]
impl Case {
    /// The worker job of this case.
    #[must_use]
    pub fn job(&self) -> crate::llama::Job {
        use crate::llama::ImageSource;
        use crate::llama::Prompt;
        let mut job = crate::llama::Job::text(&self.model);
        job.label = self.label.clone();
        job.workload = self.workload.clone();
        job.base_workload = self.base_workload.clone();
        job.mmproj = self.mmproj.clone();
        job.image = self.image.as_ref().map(|i| match i {
            CaseImage::Synthetic { width, height } => ImageSource::Synthetic {
                width: *width,
                height: *height,
                seed: u64::from(self.seed),
            },
            CaseImage::File(p) => ImageSource::File(p.clone()),
        });
        job.prompt = Prompt::Corpus {
            path: self.corpus.clone(),
            tokens: self.prompt_tokens,
        };
        job.gen_tokens = self.gen_tokens;
        job.threads = self.threads;
        job.n_ctx = self.n_ctx;
        job.n_batch = self.n_batch;
        job.seed = self.seed;
        job.keep_loaded = self.keep_loaded;
        job.image_min_tokens = self.image_min_tokens;
        job.image_max_tokens = self.image_max_tokens;
        job
    }
}

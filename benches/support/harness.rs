//! A minimal, dependency-free benchmark harness for stable Rust: runs a
//! closure in timed samples and reports the median (and spread) per
//! iteration. Shared by the bench targets with `#[path]`.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Times `f` over `samples` samples of enough iterations to last about
/// `sample_time` each, after a warm-up, and prints one line:
/// name, median, min and max per iteration.
pub fn bench<T>(name: &str, mut f: impl FnMut() -> T) -> Duration {
    let sample_time = Duration::from_millis(100);
    let samples = 21;
    // Warm up and size the sample.
    let mut iters: u64 = 1;
    loop {
        let t = Instant::now();
        for _ in 0..iters {
            black_box(f());
        }
        if t.elapsed() >= sample_time / 4 || iters >= 1 << 30 {
            let per = t.elapsed().as_secs_f64() / iters as f64;
            iters = ((sample_time.as_secs_f64() / per.max(1e-9)) as u64).max(1);
            break;
        }
        iters *= 2;
    }
    let mut per_iter: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(f());
            }
            t.elapsed().as_secs_f64() / iters as f64
        })
        .collect();
    per_iter.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = per_iter[samples / 2];
    println!(
        "{name:<44} median {:>12}   min {:>12}   max {:>12}   ({samples} samples x {iters} iters)",
        fmt(median),
        fmt(per_iter[0]),
        fmt(per_iter[samples - 1]),
    );
    Duration::from_secs_f64(median)
}

fn fmt(secs: f64) -> String {
    if secs < 1e-6 {
        format!("{:.1} ns", secs * 1e9)
    } else if secs < 1e-3 {
        format!("{:.2} us", secs * 1e6)
    } else {
        format!("{:.2} ms", secs * 1e3)
    }
}

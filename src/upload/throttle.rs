//! Pacing: the bandwidth limit (a token bucket the request bodies draw from), the backoff
//! between retries, and the stop signal that cuts every wait short.

use std::io::Read;
use std::sync::Arc;
use std::sync::Condvar;
use std::sync::Mutex;
use std::time::Duration;

/// Bytes handed to the HTTP client per read of a request body.
pub const CHUNK_BYTES: usize = 16 << 10;

/// Asks a running upload to stop; every wait (backoff, bandwidth) returns at once then.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<(Mutex<bool>, Condvar)>);

impl Stop {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag and wakes every waiter.
    pub fn stop(&self) {
        let (flag, cv) = &*self.0;
        *flag
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        cv.notify_all();
    }

    #[must_use]
    pub fn stopped(&self) -> bool {
        *self
            .0
             .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits `d` unless stopped first; returns whether it was stopped.
    pub fn wait(&self, d: Duration) -> bool {
        let (flag, cv) = &*self.0;
        let guard = flag
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (guard, _) = cv
            .wait_timeout_while(guard, d, |stopped| !*stopped)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard
    }
}

/// A token bucket: `rate_bytes_s` on average, bursts of at most `burst_bytes`.
#[derive(Debug, Clone)]
pub struct RateLimit {
    rate_bytes_s: u64,
    burst_bytes: u64,
    /// Tokens at `at_us`; negative while in debt.
    tokens: i64,
    at_us: u64,
}

impl RateLimit {
    /// `rate_bytes_s` = 0 means no limit. The bucket holds a tenth of a second's worth
    /// (at least one chunk) and starts full.
    #[must_use]
    pub fn new(rate_bytes_s: u64) -> Self {
        let burst_bytes = (rate_bytes_s / 10).max(CHUNK_BYTES as u64);
        Self {
            rate_bytes_s,
            burst_bytes,
            tokens: i64::try_from(burst_bytes).unwrap_or(i64::MAX),
            at_us: 0,
        }
    }

    #[must_use]
    pub const fn limited(&self) -> bool {
        self.rate_bytes_s > 0
    }

    /// Takes `n` bytes at `now_us` (any monotonic µs) and returns how long to wait before
    /// sending them, µs.
    pub fn take(&mut self, n: u64, now_us: u64) -> u64 {
        if self.rate_bytes_s == 0 {
            return 0;
        }
        let elapsed_us = now_us.saturating_sub(self.at_us);
        self.at_us = self.at_us.max(now_us);
        let earned = u128::from(elapsed_us) * u128::from(self.rate_bytes_s) / 1_000_000;
        let cap = i128::from(self.burst_bytes);
        let tokens = (i128::from(self.tokens) + earned as i128).min(cap) - i128::from(n);
        self.tokens = i64::try_from(tokens).unwrap_or(i64::MIN);
        if tokens >= 0 {
            0
        } else {
            let debt = tokens.unsigned_abs();
            u64::try_from(debt * 1_000_000 / u128::from(self.rate_bytes_s)).unwrap_or(u64::MAX)
        }
    }
}

/// Delay before retry number `retry` (1 = the first retry): `initial_ms` doubled each
/// time, capped at `max_ms`, minus up to a quarter chosen by `spread` (a per-device
/// number), so a fleet that lost its server together does not come back in step.
#[must_use]
pub fn backoff_ms(retry: u32, initial_ms: u64, max_ms: u64, spread: u64) -> u64 {
    let doubled = initial_ms.saturating_mul(1u64 << retry.saturating_sub(1).min(32));
    let full = doubled.min(max_ms);
    let quarter = full / 4;
    if quarter == 0 {
        return full;
    }
    full - (spread.wrapping_mul(u64::from(retry) + 1) % (quarter + 1))
}

/// A request body read through the rate limit; a stop makes the next read fail.
pub struct Throttled<'a> {
    data: &'a [u8],
    pos: usize,
    limit: &'a mut RateLimit,
    stop: &'a Stop,
}

impl<'a> Throttled<'a> {
    pub fn new(data: &'a [u8], limit: &'a mut RateLimit, stop: &'a Stop) -> Self {
        Self {
            data,
            pos: 0,
            limit,
            stop,
        }
    }
}

impl Read for Throttled<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.stopped() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "upload stopped",
            ));
        }
        let n = buf.len().min(CHUNK_BYTES).min(self.data.len() - self.pos);
        if n == 0 {
            return Ok(0);
        }
        let wait_us = self.limit.take(n as u64, crate::clock::mono_us());
        if wait_us > 0 && self.stop.wait(Duration::from_micros(wait_us)) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "upload stopped",
            ));
        }
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_limit_never_waits() {
        let mut r = RateLimit::new(0);
        assert!(!r.limited());
        assert_eq!(r.take(1 << 30, 0), 0);
    }

    #[test]
    fn sending_n_bytes_takes_n_over_rate_past_the_burst() {
        // 100 KiB/s: the bucket holds 16 KiB (one chunk; a tenth of a second is less).
        let rate = 100 * 1024;
        let mut r = RateLimit::new(rate);
        let mut now_us = 1_000_000;
        let mut sent = 0u64;
        // Send 1 MiB in chunks, each as soon as allowed.
        while sent < 1 << 20 {
            now_us += r.take(CHUNK_BYTES as u64, now_us);
            sent += CHUNK_BYTES as u64;
        }
        let elapsed_us = now_us - 1_000_000;
        let ideal_us = ((1u64 << 20) - CHUNK_BYTES as u64) * 1_000_000 / rate;
        assert!(
            elapsed_us.abs_diff(ideal_us) <= 10,
            "{elapsed_us} vs {ideal_us}"
        );
    }

    #[test]
    fn idle_time_refills_only_up_to_the_burst() {
        let mut r = RateLimit::new(1_000_000);
        assert_eq!(r.burst_bytes, 100_000);
        assert_eq!(r.take(100_000, 0), 0);
        // A minute idle earns at most the burst again.
        assert_eq!(r.take(100_000, 60_000_000), 0);
        assert_eq!(r.take(50_000, 60_000_000), 50_000);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_spreads_by_a_quarter() {
        let plain: Vec<u64> = (1..=7).map(|n| backoff_ms(n, 1000, 30_000, 0)).collect();
        assert_eq!(plain, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
        for spread in [1, 7, 12_345, u64::MAX] {
            for n in 1..=7 {
                let d = backoff_ms(n, 1000, 30_000, spread);
                let full = plain[n as usize - 1];
                assert!(d <= full && d >= full - full / 4, "{n}: {d} of {full}");
            }
        }
        assert_eq!(backoff_ms(100, 1, u64::MAX, 0), 1 << 32);
    }

    #[test]
    fn a_stop_ends_waits_and_reads() {
        let stop = Stop::new();
        let waiter = {
            let stop = stop.clone();
            std::thread::spawn(move || stop.wait(Duration::from_secs(3600)))
        };
        stop.stop();
        assert!(waiter.join().unwrap(), "woken by the stop, not the hour");
        let mut limit = RateLimit::new(0);
        let data = [1u8; 10];
        let mut body = Throttled::new(&data, &mut limit, &stop);
        let err = body.read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Interrupted);
    }

    #[test]
    fn a_throttled_body_reads_its_bytes_in_chunks() {
        let stop = Stop::new();
        let mut limit = RateLimit::new(0);
        let data: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        let mut out = Vec::new();
        Throttled::new(&data, &mut limit, &stop)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }
}

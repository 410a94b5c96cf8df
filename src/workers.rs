//! Plain worker threads for the stages' coarse jobs (ingest jobs, check batches). Not
//! rayon: those jobs wait on Polars' own thread pool, and a rayon worker that waits on
//! another pool steals more of its own work meanwhile, so memory grows with the jobs
//! started rather than the jobs running.

use std::sync::{Condvar, Mutex, PoisonError};

/// Run `f` over `items` on `threads` plain threads, each taking the next item in order when
/// it is done. An item starts only while the sizes in flight (`size` of each running item)
/// stay within `limit`, or when nothing else runs. Results come back in item order.
pub fn in_order<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    size: impl Fn(&T) -> u64 + Sync,
    limit: u64,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    // (next item, size in flight)
    let state = Mutex::new((0usize, 0u64));
    let freed = Condvar::new();
    let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let mut st = state.lock().unwrap_or_else(PoisonError::into_inner);
                    let (i, n) = loop {
                        let (next, in_flight) = *st;
                        let Some(item) = items.get(next) else { return };
                        let n = size(item);
                        if in_flight == 0 || in_flight.saturating_add(n) <= limit {
                            *st = (next + 1, in_flight + n);
                            break (next, n);
                        }
                        st = freed.wait(st).unwrap_or_else(PoisonError::into_inner);
                    };
                    drop(st);
                    let r = f(i, &items[i]);
                    done.lock().unwrap_or_else(PoisonError::into_inner).push((i, r));
                    state.lock().unwrap_or_else(PoisonError::into_inner).1 -= n;
                    freed.notify_all();
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(PoisonError::into_inner);
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results come back in item order; two items run at once only while their sizes fit
    /// the limit together, and an item over the limit runs alone.
    #[test]
    fn in_order_keeps_order_and_the_size_limit() {
        let items: Vec<(u64, usize)> = [30, 30, 80, 10, 10, 150, 20, 60]
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s, i))
            .collect();
        let in_flight = Mutex::new((0u64, 0u64, 0usize)); // (bytes, max bytes seen, items)
        let out = in_order(
            &items,
            2,
            |it| it.0,
            100,
            |i, &(_, v)| {
                {
                    let mut g = in_flight.lock().unwrap();
                    g.0 += items[i].0;
                    g.1 = g.1.max(g.0);
                    g.2 += 1;
                    assert!(g.0 <= 100 || g.2 == 1, "{} bytes in flight with {} items", g.0, g.2);
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
                let mut g = in_flight.lock().unwrap();
                g.0 -= items[i].0;
                g.2 -= 1;
                v * 10
            },
        );
        assert_eq!(out, (0..items.len()).map(|i| i * 10).collect::<Vec<_>>());
        assert!(in_flight.lock().unwrap().1 >= 150, "the item over the limit ran");
    }
}

//! Work over many files or modules shared out to the machine's cores, with the results in
//! input order, so that what the compiler reports is the same whatever the number of cores.
//!
//! The work is split into one contiguous chunk per thread; each chunk's result comes back in
//! the chunk's place. Small jobs stay on the calling thread: a thread costs more than checking
//! a few files.

/// How many threads `work_bytes` of source text is worth splitting `items` across (1: do it
/// here). Below `PARALLEL_ABOVE_BYTES` the threads cost more than they save.
pub(crate) fn threads_for(items: usize, work_bytes: usize) -> usize {
    const PARALLEL_ABOVE_BYTES: usize = 256 * 1024;
    if work_bytes < PARALLEL_ABOVE_BYTES {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items)
        .max(1)
}

/// Runs `work` on contiguous chunks of `items`, one per thread, and returns the chunks'
/// results in order. `work` gets the index of its chunk's first item and the chunk.
pub(crate) fn map_chunks<T, R>(
    items: &[T],
    threads: usize,
    work: impl Fn(usize, &[T]) -> R + Sync,
) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let size = chunk_size(items.len(), threads);
    run_chunks(items.chunks(size).collect(), size, work)
}

/// [`map_chunks`] for work that changes its items in place.
pub(crate) fn map_chunks_mut<T, R>(
    items: &mut [T],
    threads: usize,
    work: impl Fn(usize, &mut [T]) -> R + Sync,
) -> Vec<R>
where
    T: Send,
    R: Send,
{
    let size = chunk_size(items.len(), threads);
    run_chunks(items.chunks_mut(size).collect(), size, work)
}

/// Items per chunk: all of them for one thread (or none to share).
fn chunk_size(items: usize, threads: usize) -> usize {
    items.div_ceil(threads.max(1)).max(1)
}

/// Runs `work` on each chunk, each on a thread of its own (one chunk: here), and returns the
/// results in chunk order.
///
/// The threads get the large stack the parser and checker need for deeply nested (but
/// accepted) input. A thread that cannot be started leaves its chunk to the calling thread; a
/// panic in a chunk is re-raised here, as it would have been without threads.
fn run_chunks<C, R>(chunks: Vec<C>, size: usize, work: impl Fn(usize, C) -> R + Sync) -> Vec<R>
where
    C: Send,
    R: Send,
{
    const STACK: usize = 64 * 1024 * 1024;
    if chunks.len() < 2 {
        return chunks.into_iter().map(|chunk| work(0, chunk)).collect();
    }
    // Each chunk waits in a slot its thread takes it from, so that the chunk is still here to
    // work on if the thread cannot be started.
    let slots: Vec<std::sync::Mutex<Option<C>>> = chunks
        .into_iter()
        .map(|chunk| std::sync::Mutex::new(Some(chunk)))
        .collect();
    let take = |slot: &std::sync::Mutex<Option<C>>| {
        slot.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    };
    std::thread::scope(|scope| {
        let (work, take) = (&work, &take);
        let handles: Vec<_> = slots
            .iter()
            .enumerate()
            .map(|(n, slot)| {
                let spawned = std::thread::Builder::new()
                    .stack_size(STACK)
                    .spawn_scoped(scope, move || take(slot).map(|chunk| work(n * size, chunk)));
                (n, slot, spawned)
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|(n, slot, spawned)| match spawned {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(_) => take(slot).map(|chunk| work(n * size, chunk)),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_input_order_whatever_the_thread_count() {
        let items: Vec<u32> = (0..103).collect();
        let serial: Vec<u32> = map_chunks(&items, 1, |first, part| {
            part.iter()
                .enumerate()
                .map(|(i, x)| x * 2 + (first + i) as u32)
                .collect::<Vec<_>>()
        })
        .concat();
        for threads in [2, 3, 7, 200] {
            let parallel: Vec<u32> = map_chunks(&items, threads, |first, part| {
                part.iter()
                    .enumerate()
                    .map(|(i, x)| x * 2 + (first + i) as u32)
                    .collect::<Vec<_>>()
            })
            .concat();
            assert_eq!(parallel, serial, "{threads} threads");
        }
        assert_eq!(serial[102], 102 * 3);
    }

    #[test]
    fn chunks_changed_in_place_are_the_callers_items() {
        let mut items: Vec<usize> = vec![0; 9];
        let firsts = map_chunks_mut(&mut items, 4, |first, part| {
            for (i, item) in part.iter_mut().enumerate() {
                *item = first + i;
            }
            first
        });
        assert_eq!(items, (0..9).collect::<Vec<_>>());
        assert_eq!(firsts, vec![0, 3, 6]);
    }

    #[test]
    fn a_panic_in_a_chunk_reaches_the_caller() {
        let items = [1, 2, 3, 4];
        let caught = std::panic::catch_unwind(|| {
            map_chunks(&items, 2, |_, part| {
                assert!(!part.contains(&4), "chunk with 4");
            })
        });
        assert!(caught.is_err());
    }

    #[test]
    fn small_work_stays_on_the_calling_thread() {
        assert_eq!(threads_for(500, 1024), 1);
        assert!(threads_for(1, 10 << 20) == 1);
    }
}

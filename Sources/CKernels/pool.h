#ifndef CKERNELS_POOL_H
#define CKERNELS_POOL_H

/// One part of a job split over the cores: `part` of `parts`, each part doing its own share.
typedef void (*pool_task)(void *context, int part, int parts);

/// Runs `task(context, p, parts)` once for every part p < parts, on the calling thread and this
/// library's helper threads (one per extra core), each thread taking the next part not yet taken, and
/// returns when all are done. When the machine has one core or another caller holds the helpers, the
/// caller runs every part itself.
void pool_run_parts(pool_task task, void *context, int parts);

/// `pool_run_parts` with one part per thread, or the whole job as one part when `split` is 0.
void pool_run(pool_task task, void *context, int split);

/// Threads a job can use: the caller and the helpers.
int pool_threads(void);

/// Items [first, last) of part `part` of `parts` when `count` items are split in multiples of `unit`.
void pool_slice(long count, long unit, int part, int parts, long *first, long *last);

#endif

#ifndef CKERNELS_POOL_H
#define CKERNELS_POOL_H

/// One part of a job split over the cores: `part` of `parts`, each part doing its own share.
typedef void (*pool_task)(void *context, int part, int parts);

/// Runs `task(context, p, parts)` for every part, part 0 on the calling thread and the others on this
/// library's helper threads (one per extra core), and returns when all are done. When `split` is 0, the
/// machine has one core, or another caller holds the helpers, the caller runs the whole job as one part.
void pool_run(pool_task task, void *context, int split);

/// Items [first, last) of part `part` of `parts` when `count` items are split in multiples of `unit`.
void pool_slice(long count, long unit, int part, int parts, long *first, long *last);

#endif

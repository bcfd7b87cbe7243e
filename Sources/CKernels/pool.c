#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define relax() _mm_pause()
#else
#define relax() ((void)0)
#endif

/// Decode streams gigabytes of weights per token and prefill multiplies trillions of numbers: one core
/// is not enough for either, so products are split over every core. The helpers are this file's own
/// threads, not a shared pool's: a product must not queue behind other work (or hold up timers and I/O
/// queued on a shared pool), and it must not wait for a free worker.
///
/// Parts are claimed, not assigned: every thread takes the next unclaimed part until none is left, and
/// a job is done when all its parts are, not when every helper has checked in. On a busy machine a
/// helper the kernel has not scheduled yet then costs nothing (the caller does its parts), where a
/// fixed split would stall the whole product until it runs. Decode runs a few hundred jobs per token
/// about 100 µs apart, so a helper spins briefly for the next one before it sleeps.
#define MAX_WORKERS 63
/// Pauses a thread spins before it sleeps: a helper for the next job, the caller for the helpers'
/// last parts (a few microseconds; a `pause` is about 40 ns here). Spinning longer starves the very
/// thread being waited for when the machine has more runnable threads than cores.
#define SPIN_PAUSES 200

static struct {
    pthread_once_t once;
    pthread_mutex_t caller; // one job at a time uses the helpers; a second caller computes alone
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    int workers;            // helper threads (cores − 1)
    _Atomic unsigned round; // bumped for each job
    /// The current job's round (high 32 bits) and next unclaimed part (low 32 bits): a claim succeeds
    /// only for the round it was made for, so a late helper cannot take a part of a later job.
    _Atomic uint64_t claim;
    _Atomic int finished;   // parts of the current job done
    pool_task task;
    void *context;
    int parts;
} pool = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
          0, 0, 0, 0, 0, 0, 0};

/// Runs parts of round `round` until none is left unclaimed.
static void work(unsigned round, pool_task task, void *context, int parts) {
    uint64_t seen = atomic_load_explicit(&pool.claim, memory_order_acquire);
    for (;;) {
        if ((unsigned)(seen >> 32) != round || (int)(uint32_t)seen >= parts) return;
        if (!atomic_compare_exchange_weak_explicit(&pool.claim, &seen, seen + 1, memory_order_acq_rel, memory_order_acquire)) continue;
        task(context, (int)(uint32_t)seen, parts);
        if (atomic_fetch_add_explicit(&pool.finished, 1, memory_order_acq_rel) + 1 == parts) {
            pthread_mutex_lock(&pool.lock); // the caller may be asleep waiting for this part
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
        seen = atomic_load_explicit(&pool.claim, memory_order_acquire);
    }
}

static void *worker(void *argument) {
    (void)argument;
    unsigned seen = 0;
    for (;;) {
        for (int i = 0; i < SPIN_PAUSES && atomic_load_explicit(&pool.round, memory_order_acquire) == seen; i++) relax();
        pthread_mutex_lock(&pool.lock);
        while (atomic_load_explicit(&pool.round, memory_order_relaxed) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
        seen = atomic_load_explicit(&pool.round, memory_order_relaxed);
        pool_task task = pool.task;
        void *context = pool.context;
        const int parts = pool.parts;
        pthread_mutex_unlock(&pool.lock);
        work(seen, task, context, parts);
    }
    return 0;
}

static void start_workers(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int wanted = (int)(cores > 1 ? cores - 1 : 0);
    if (wanted > MAX_WORKERS) wanted = MAX_WORKERS;
    for (int i = 0; i < wanted; i++) {
        pthread_t thread;
        if (pthread_create(&thread, 0, worker, 0) != 0) break;
        pthread_detach(thread);
        pool.workers++;
    }
}

int pool_threads(void) {
    pthread_once(&pool.once, start_workers);
    return pool.workers + 1;
}

void pool_run_parts(pool_task task, void *context, int parts) {
    if (parts <= 1 || pool_threads() == 1 || pthread_mutex_trylock(&pool.caller) != 0) {
        for (int part = 0; part < parts; part++) task(context, part, parts);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    const unsigned round = atomic_load_explicit(&pool.round, memory_order_relaxed) + 1;
    pool.task = task;
    pool.context = context;
    pool.parts = parts;
    atomic_store_explicit(&pool.finished, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.claim, (uint64_t)round << 32, memory_order_release);
    atomic_store_explicit(&pool.round, round, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    work(round, task, context, parts);
    // Whatever is left is being computed by a helper.
    for (int i = 0; i < SPIN_PAUSES && atomic_load_explicit(&pool.finished, memory_order_acquire) < parts; i++) relax();
    if (atomic_load_explicit(&pool.finished, memory_order_acquire) < parts) {
        pthread_mutex_lock(&pool.lock);
        while (atomic_load_explicit(&pool.finished, memory_order_acquire) < parts) pthread_cond_wait(&pool.done, &pool.lock);
        pthread_mutex_unlock(&pool.lock);
    }
    pthread_mutex_unlock(&pool.caller);
}

void pool_run(pool_task task, void *context, int split) {
    pool_run_parts(task, context, split ? pool_threads() : 1);
}

void pool_slice(long count, long unit, int part, int parts, long *first, long *last) {
    const long units = (count + unit - 1) / unit;
    *first = units * part / parts * unit;
    *last = part == parts - 1 ? count : units * (part + 1) / parts * unit;
    if (*first > count) *first = count;
    if (*last > count) *last = count;
}

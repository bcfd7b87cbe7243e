#include "pool.h"

#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

/// Decode streams gigabytes of weights per token and prefill multiplies trillions of numbers: one core
/// is not enough for either, so products are split over every core. The helpers are this file's own
/// threads, sleeping on a condition variable between jobs, not a shared pool's: a product must not queue
/// behind other work (or hold up timers and I/O queued on a shared pool), and it must not wait for a
/// free worker.
#define MAX_WORKERS 63

static struct {
    pthread_once_t once;
    pthread_mutex_t caller; // one job at a time uses the helpers; a second caller computes alone
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    int workers;            // helper threads (cores − 1)
    unsigned long round;    // bumped for each job
    int pending;            // helpers still working on this round
    pool_task task;
    void *context;
} pool = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
          PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0};

static void *worker(void *argument) {
    const int index = (int)(intptr_t)argument; // part `index`; the caller does part 0
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        while (pool.round == seen) pthread_cond_wait(&pool.wake, &pool.lock);
        seen = pool.round;
        pool_task task = pool.task;
        void *context = pool.context;
        pthread_mutex_unlock(&pool.lock);
        task(context, index, pool.workers + 1);
        pthread_mutex_lock(&pool.lock);
        if (--pool.pending == 0) pthread_cond_signal(&pool.done);
        pthread_mutex_unlock(&pool.lock);
    }
    return 0;
}

static void start_workers(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int wanted = (int)(cores > 1 ? cores - 1 : 0);
    if (wanted > MAX_WORKERS) wanted = MAX_WORKERS;
    for (int i = 0; i < wanted; i++) {
        pthread_t thread;
        if (pthread_create(&thread, 0, worker, (void *)(intptr_t)(i + 1)) != 0) break;
        pthread_detach(thread);
        pool.workers++;
    }
}

void pool_run(pool_task task, void *context, int split) {
    pthread_once(&pool.once, start_workers);
    if (!split || pool.workers == 0 || pthread_mutex_trylock(&pool.caller) != 0) {
        task(context, 0, 1);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    pool.task = task;
    pool.context = context;
    pool.pending = pool.workers;
    pool.round++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    task(context, 0, pool.workers + 1);
    pthread_mutex_lock(&pool.lock);
    while (pool.pending > 0) pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.caller);
}

void pool_slice(long count, long unit, int part, int parts, long *first, long *last) {
    const long units = (count + unit - 1) / unit;
    *first = units * part / parts * unit;
    *last = part == parts - 1 ? count : units * (part + 1) / parts * unit;
    if (*first > count) *first = count;
    if (*last > count) *last = count;
}

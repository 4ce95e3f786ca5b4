// A small persistent thread pool. Workers spin briefly before sleeping so that
// the many short jobs of a training step (one per matmul, one per recurrence)
// do not pay a futex wake-up each; waiting on a work queue spins the same way
// because the recurrence waits once per time step.
#define _GNU_SOURCE
#include "charrnn.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Spins before blocking: long enough to bridge the gap between two kernels of a step. */
#define SPIN_WAKE 20000
#define SPIN_BARRIER 4000

struct pool {
  int n;
  pthread_t *threads;
  pthread_mutex_t mu;
  pthread_cond_t start_cv, done_cv;
  atomic_uint generation; /* bumped for each job */
  atomic_int pending;     /* workers still running the current job */
  atomic_int slots;       /* places in the current job not yet taken by a worker */
  atomic_int quit;
  job_fn fn;
  void *arg;
};

typedef struct {
  pool_t *p;
  int tid;
} worker_t;

static void *worker_main(void *ptr) {
  worker_t w = *(worker_t *)ptr;
  free(ptr);
  pool_t *p = w.p;
  unsigned seen = 0;
  for (;;) {
    int spins = 0;
    while (atomic_load(&p->generation) == seen && !atomic_load(&p->quit) && spins < SPIN_WAKE) {
      CPU_RELAX();
      spins++;
    }
    if (atomic_load(&p->generation) == seen && !atomic_load(&p->quit)) {
      pthread_mutex_lock(&p->mu);
      while (atomic_load(&p->generation) == seen && !atomic_load(&p->quit)) pthread_cond_wait(&p->start_cv, &p->mu);
      pthread_mutex_unlock(&p->mu);
    }
    if (atomic_load(&p->quit)) break;
    seen = atomic_load(&p->generation);
    /* A worker that wakes after the caller has finished the job finds no place left and goes back to waiting. */
    if (atomic_fetch_sub(&p->slots, 1) > 0) {
      p->fn(p->arg, w.tid, p->n);
      if (atomic_fetch_sub(&p->pending, 1) == 1) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_signal(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
      }
    }
  }
  return NULL;
}

pool_t *pool_create(int threads) {
  if (threads < 1) threads = 1;
  pool_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->n = threads;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->start_cv, NULL);
  pthread_cond_init(&p->done_cv, NULL);
  p->threads = calloc((size_t)threads, sizeof(pthread_t));
  for (int i = 1; i < threads; i++) {
    worker_t *w = malloc(sizeof *w);
    w->p = p;
    w->tid = i;
    if (pthread_create(&p->threads[i], NULL, worker_main, w) != 0) {
      /* Run with the workers that did start. */
      free(w);
      p->n = i;
      break;
    }
  }
  return p;
}

void pool_destroy(pool_t *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->quit, 1);
  pthread_cond_broadcast(&p->start_cv);
  pthread_mutex_unlock(&p->mu);
  for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->start_cv);
  pthread_cond_destroy(&p->done_cv);
  free(p->threads);
  free(p);
}

int pool_threads(const pool_t *p) { return p->n; }

void pool_run(pool_t *p, job_fn fn, void *arg) {
  if (p->n == 1) {
    fn(arg, 0, 1);
    return;
  }
  p->fn = fn;
  p->arg = arg;
  /* pending before slots: a worker that takes a slot must find pending already counting it. */
  atomic_store(&p->pending, p->n - 1);
  atomic_store(&p->slots, p->n - 1);
  /* Bumped under the lock so a worker about to sleep cannot miss it. */
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add(&p->generation, 1);
  pthread_cond_broadcast(&p->start_cv);
  pthread_mutex_unlock(&p->mu);
  fn(arg, 0, p->n);
  /* Jobs hand out their work dynamically (workq_t), so by now the caller may have done all of
     it: withdraw the places no worker has taken rather than wait for sleeping workers to wake. */
  const int unclaimed = atomic_exchange(&p->slots, 0);
  if (unclaimed > 0) atomic_fetch_sub(&p->pending, unclaimed);
  int spins = 0;
  while (atomic_load(&p->pending) != 0 && spins < SPIN_WAKE) {
    CPU_RELAX();
    spins++;
  }
  if (atomic_load(&p->pending) != 0) {
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->pending) != 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
}

void workq_wait(workq_t *q, int count) {
  int spins = 0;
  while (__atomic_load_n(&q->done, __ATOMIC_ACQUIRE) < count) {
    if (++spins < SPIN_BARRIER) CPU_RELAX();
    else sched_yield(); /* the thread holding the item may have lost its core */
  }
}

static inline int affq_lo(const affq_t *q, int s) { return (int)((long)q->per_round * s / q->slots); }

void affq_init(affq_t *q, int per_round, int rounds, int slots) {
  memset(q, 0, sizeof *q);
  q->per_round = per_round;
  q->rounds = rounds;
  q->slots = slots < 1 ? 1 : slots > AFFQ_MAX_SLOTS ? AFFQ_MAX_SLOTS : slots;
}

/* An item of round r from share s, or -1 when that share of round r is all taken. */
static int affq_try(affq_t *q, int s, int r) {
  const int lo = affq_lo(q, s), len = affq_lo(q, s + 1) - lo;
  int v = __atomic_load_n(&q->cur[s], __ATOMIC_RELAXED);
  while (v < (r + 1) * len) {
    if (__atomic_compare_exchange_n(&q->cur[s], &v, v + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return r * q->per_round + lo + (v - r * len);
  }
  return -1;
}

int affq_take(affq_t *q, int tid, int *round) {
  const int home = tid % q->slots;
  for (; *round < q->rounds; ++*round) {
    for (int i = 0; i < q->slots; i++) {
      const int item = affq_try(q, (home + i) % q->slots, *round);
      if (item >= 0) return item;
    }
  }
  return -1;
}

/* ---- context ---- */

void *aligned_floats(size_t n) {
  void *ptr = NULL;
  size_t bytes = (n ? n : 1) * sizeof(float);
  bytes = (bytes + 63) & ~(size_t)63;
  if (posix_memalign(&ptr, 64, bytes) != 0) return NULL;
  return ptr;
}

ctx_t *ctx_create(int threads) {
  ctx_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->pool = pool_create(threads);
  if (!c->pool) {
    free(c);
    return NULL;
  }
  c->threads = pool_threads(c->pool);
  c->pack_a = calloc((size_t)c->threads, sizeof(float *));
  for (int i = 0; i < c->threads; i++) c->pack_a[i] = aligned_floats((size_t)GEMM_MC_MAX * GEMM_KC);
  return c;
}

void ctx_destroy(ctx_t *c) {
  if (!c) return;
  pool_destroy(c->pool);
  for (int i = 0; i < c->threads; i++) free(c->pack_a[i]);
  free(c->pack_a);
  free(c->ws);
  free(c);
}

float *ctx_workspace(ctx_t *c, size_t n) {
  if (n > c->ws_cap) {
    free(c->ws);
    size_t cap = n + n / 4;
    c->ws = aligned_floats(cap);
    c->ws_cap = c->ws ? cap : 0;
  }
  return c->ws;
}

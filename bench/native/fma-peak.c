// Sustained fp32 FMA peak of this CPU: each thread runs independent AVX-512 (or AVX2) FMA chains on registers
// (no memory traffic) for a fixed time. Prints GFLOP/s per thread count as JSON. Built by bench/train.bench.ts.
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static double cpuNow(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
typedef struct { long iters; double seconds; double cpu; float sink; } Job;

static void *work(void *arg) {
  Job *job = arg;
#ifdef __AVX512F__
  __m512 acc[CHAINS], a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
#else
  __m256 acc[CHAINS], a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps((float)i);
#endif
  double t0 = now(), c0 = cpuNow();
  for (long n = 0; n < job->iters; n++) {
    for (int i = 0; i < CHAINS; i++)
#ifdef __AVX512F__
      acc[i] = _mm512_fmadd_ps(acc[i], a, b);
#else
      acc[i] = _mm256_fmadd_ps(acc[i], a, b);
#endif
  }
  job->seconds = now() - t0;
  job->cpu = cpuNow() - c0;
  float s = 0;
  for (int i = 0; i < CHAINS; i++) {
#ifdef __AVX512F__
    s += _mm512_reduce_add_ps(acc[i]);
#else
    float v[8]; _mm256_storeu_ps(v, acc[i]); for (int k = 0; k < 8; k++) s += v[k];
#endif
  }
  job->sink = s;
  return NULL;
}

int main(int argc, char **argv) {
  int maxThreads = argc > 1 ? atoi(argv[1]) : 2;
  long iters = argc > 2 ? atol(argv[2]) : 200000000L;
#ifdef __AVX512F__
  const int lanes = 16;
#else
  const int lanes = 8;
#endif
  printf("{\"lanes\":%d", lanes);
  for (int t = 1; t <= maxThreads; t++) {
    double best = 0, bestCpu = 0;
    for (int trial = 0; trial < 3; trial++) {
      pthread_t th[64]; Job jobs[64];
      double t0 = now();
      for (int i = 0; i < t; i++) { jobs[i].iters = iters; pthread_create(&th[i], NULL, work, &jobs[i]); }
      for (int i = 0; i < t; i++) pthread_join(th[i], NULL);
      double wall = now() - t0;
      double gflops = (double)t * iters * CHAINS * lanes * 2 / wall / 1e9;
      double perCpu = 0;
      for (int i = 0; i < t; i++) perCpu += (double)iters * CHAINS * lanes * 2 / jobs[i].cpu / 1e9;
      if (gflops > best) best = gflops;
      if (perCpu > bestCpu) bestCpu = perCpu;
    }
    printf(",\"wall%d\":%.1f,\"cpu%d\":%.1f", t, best, t, bestCpu);
  }
  printf("}\n");
  return 0;
}

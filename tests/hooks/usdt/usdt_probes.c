// The USDT test binary (tests/hooks/usdt_test.cpp): `usdt_probes N` fires each probe N times with
// arguments derived from the iteration i, so a test can predict every value a program reads.
//
//   userbpf_test:small  (int8 -1-i, uint16 60000+i, int32 -100000*i)  from two call sites
//   userbpf_test:wide   (int64 -(2^40)*i-7, uint64 0xfedcba9876543210+i, const char* name, 42)
//   userbpf_test:none   no arguments
//   userbpf_test:stack  (usdt_stack.c, built -O0: arguments are stack operands)
//   userbpf_test:guarded (usdt_guarded.c: behind a semaphore)
//
// Prints "guarded=K": how many times the guarded probe's semaphore was set (0 unless attached).
//
//   usdt_probes N loop   runs until killed, N iterations at a time 1 ms apart, printing
//                        "guarded=K" after each batch (the attach tests start it unsupervised).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <unistd.h>

void fire_stack_probe(int i);
int fire_guarded_probe(int i);

static const char* const kNames[] = {"alpha", "beta", "gamma"};

__attribute__((noinline)) static const char* name_of(int i) {
  return kNames[i % 3];
}

__attribute__((noinline)) static void fire_small(int i) {
  int8_t a = (int8_t)(-1 - i);
  uint16_t b = (uint16_t)(60000 + i);
  int32_t c = -100000 * i;
  DTRACE_PROBE3(userbpf_test, small, a, b, c);
}

__attribute__((noinline)) static void fire_wide(int i) {
  int64_t d = -((int64_t)1 << 40) * i - 7;
  uint64_t e = 0xfedcba9876543210ull + (uint64_t)i;
  const char* name = name_of(i);
  DTRACE_PROBE4(userbpf_test, wide, d, e, name, 42);
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 3;
  const int forever = argc > 2 && strcmp(argv[2], "loop") == 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  do {
    int guarded = 0;
    for (int i = 0; i < n; ++i) {
      if (i % 2 == 0) {
        fire_small(i);
      } else {
        // The second site of the same probe, inside main's loop.
        int8_t a = (int8_t)(-1 - i);
        uint16_t b = (uint16_t)(60000 + i);
        int32_t c = -100000 * i;
        DTRACE_PROBE3(userbpf_test, small, a, b, c);
      }
      fire_wide(i);
      DTRACE_PROBE(userbpf_test, none);
      fire_stack_probe(i);
      guarded += fire_guarded_probe(i);
    }
    printf("guarded=%d\n", guarded);
    if (forever) usleep(1000);
  } while (forever);
  return 0;
}

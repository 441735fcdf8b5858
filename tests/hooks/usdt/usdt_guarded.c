// A probe behind a semaphore: the note records the semaphore's address and the program tests it
// before evaluating the arguments, so the probe costs nothing until a tracer counts it up (the
// kernel's uprobe reference counter, userbpf's usdt_semaphores.hpp).
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

unsigned short userbpf_test_guarded_semaphore __attribute__((unused))
__attribute__((section(".probes")));

// Returns 1 when the probe was enabled (and fired).
int fire_guarded_probe(int i) {
  if (__builtin_expect(userbpf_test_guarded_semaphore != 0, 0)) {
    DTRACE_PROBE2(userbpf_test, guarded, i, i * 7);
    return 1;
  }
  return 0;
}

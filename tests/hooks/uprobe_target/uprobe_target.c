// The uprobe tests' target: calls functions of its own and of a shared library a known number of
// times with known arguments, so the tests can check every call was seen once with its arguments
// and return value.
//
//   uprobe_target N [fork]   N rounds; with "fork" a child makes N rounds too (arguments offset
//                            by 100000) while the parent makes its own and waits for it.
//   uprobe_target N threads  4 threads make N rounds each (thread t's arguments offset by
//                            (t + 1) * 1000000), while the main thread waits for them.
//   uprobe_target N loop [threads]
//                            runs until killed (the attach tests start it unsupervised): N rounds
//                            at a time with consecutive arguments, 1 ms apart; with "threads" in
//                            4 threads at once (offsets as above).
//
// One round: target_add(i, 1000 + i) (returns 2i + 1000), lib_mul(i, 3), asm_add(i, 7) (a
// function with a fixed instruction layout, for probes at symbol+offset), and target_rec(4)
// (recursion: nested uretprobe frames return 0, 1, 3, 6, 10).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uprobe_lib.h"

__attribute__((noinline, noipa)) long target_add(long a, long b) {
  __asm__ volatile("");
  return a + b;
}

// Real recursion: the empty asm hides the inner result from the optimiser, which would otherwise
// turn the recursion into a loop (one return instead of five).
__attribute__((noinline, noipa)) long target_rec(long depth) {
  if (depth == 0) return 0;
  long inner = target_rec(depth - 1);
  __asm__ volatile("" : "+r"(inner));
  return depth + inner;
}

// asm_add: push %rbp (1 byte) at +0, mov %rsp,%rbp (3 bytes) at +1, lea (%rdi,%rsi),%rax at +4,
// so +1 and +4 are instruction boundaries, and at +4 rdi and rsi still hold the arguments.
long asm_add(long a, long b);
__asm__(
    ".text\n"
    ".globl asm_add\n"
    ".type asm_add, @function\n"
    "asm_add:\n"
    "  push %rbp\n"
    "  mov %rsp, %rbp\n"
    "  lea (%rdi,%rsi), %rax\n"
    "  pop %rbp\n"
    "  ret\n"
    ".size asm_add, .-asm_add\n");

static long rounds(long n, long base) {
  long sum = 0;
  for (long i = base; i < base + n; ++i) {
    sum += target_add(i, 1000 + i);
    sum += lib_mul((int)i, 3);
    sum += asm_add(i, 7);
    sum += target_rec(4);
  }
  return sum;
}

struct worker {
  pthread_t thread;
  long n;
  long base;
  int forever;
  long sum;
};

static void* work(void* arg) {
  struct worker* w = arg;
  do {
    w->sum += rounds(w->n, w->base);
    w->base += w->n;
    if (w->forever) usleep(1000);
  } while (w->forever);
  return NULL;
}

// Runs `count` workers (1 runs in the calling thread) and returns their sum.
static long run_workers(int count, long n, int forever) {
  struct worker workers[4];
  long sum = 0;
  for (int t = 0; t < count; ++t) {
    workers[t] = (struct worker){0, n, count == 1 ? 0 : (t + 1) * 1000000L, forever, 0};
    if (count > 1) pthread_create(&workers[t].thread, NULL, work, &workers[t]);
  }
  if (count == 1) work(&workers[0]);
  for (int t = 0; t < count; ++t) {
    if (count > 1) pthread_join(workers[t].thread, NULL);
    sum += workers[t].sum;
  }
  return sum;
}

int main(int argc, char** argv) {
  const long n = argc > 1 ? atol(argv[1]) : 10;
  const int with_fork = argc > 2 && strcmp(argv[2], "fork") == 0;
  if (argc > 2 && strcmp(argv[2], "loop") == 0) {
    const int threads = argc > 3 && strcmp(argv[3], "threads") == 0;
    printf("%ld\n", run_workers(threads ? 4 : 1, n, 1));
    return 0;
  }
  if (argc > 2 && strcmp(argv[2], "threads") == 0) {
    printf("%ld\n", run_workers(4, n, 0));
    return 0;
  }
  if (with_fork) {
    const pid_t child = fork();
    if (child == 0) {
      printf("%ld\n", rounds(n, 100000));
      return 0;
    }
    printf("%ld\n", rounds(n, 0));
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  printf("%ld\n", rounds(n, 0));
  return 0;
}

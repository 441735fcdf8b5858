// The uprobe tests' target: calls functions of its own and of a shared library a known number of
// times with known arguments, so the tests can check every call was seen once with its arguments
// and return value.
//
//   uprobe_target N [fork]   N rounds; with "fork" a child makes N rounds too (arguments offset
//                            by 100000) while the parent makes its own and waits for it.
//
// One round: target_add(i, 1000 + i) (returns 2i + 1000), lib_mul(i, 3), asm_add(i, 7) (a
// function with a fixed instruction layout, for probes at symbol+offset), and target_rec(4)
// (recursion: nested uretprobe frames return 0, 1, 3, 6, 10).
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

int main(int argc, char** argv) {
  const long n = argc > 1 ? atol(argv[1]) : 10;
  const int with_fork = argc > 2 && strcmp(argv[2], "fork") == 0;
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

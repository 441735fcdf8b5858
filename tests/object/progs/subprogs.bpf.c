// Subprograms in .text shared by two entry programs, nested calls, and a bpf_loop callback
// referenced through a function pointer (ld_imm64 BPF_PSEUDO_FUNC).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

int results[4];

static __noinline int square(int x) {
  return x * x;
}

static __noinline int sum_of_squares(int a, int b) {
  return square(a) + square(b);
}

__noinline int global_twice(int x) {
  return x * 2 + results[0];
}

struct loop_ctx {
  int sum;
};

static int loop_step(__u32 index, void *data) {
  struct loop_ctx *c = data;
  c->sum += index;
  return 0;
}

SEC("kprobe/do_sys_openat2")
int entry_one(void *ctx) {
  results[1] = sum_of_squares(3, 4);
  return 0;
}

SEC("kprobe/do_unlinkat")
int entry_two(void *ctx) {
  struct loop_ctx c = {0};
  bpf_loop(8, loop_step, &c, 0);
  results[2] = global_twice(c.sum) + square(5);
  return 0;
}

SEC("socket")
int no_calls(void *ctx) {
  return 0;
}

// bpf_get_stackid and bpf_get_stack from a kprobe, driven by the registers the test puts in the
// pt_regs context: rdi = flags, rsi = 0 for get_stackid / 1 for get_stack, rdx = get_stack's
// buffer size. rip and rbp start the user stack the helpers walk. get_stack writes into the
// array map `stack_out`; the program returns the helper's result.
#define __TARGET_ARCH_x86
#include <linux/bpf.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define MAX_FRAMES 8

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, 16);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, MAX_FRAMES * sizeof(__u64));
} stacks SEC(".maps");

struct stack_buffer {
  __u64 ips[2 * MAX_FRAMES];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct stack_buffer);
} stack_out SEC(".maps");

SEC("kprobe/stack_probe")
long stack_probe(struct pt_regs *ctx) {
  __u64 flags = PT_REGS_PARM1(ctx);
  if (PT_REGS_PARM2(ctx) == 0) return bpf_get_stackid(ctx, &stacks, flags);
  __u32 zero = 0;
  struct stack_buffer *out = bpf_map_lookup_elem(&stack_out, &zero);
  if (!out) return -1;
  __u32 size = PT_REGS_PARM3(ctx);
  if (size > sizeof(out->ips)) size = sizeof(out->ips);
  return bpf_get_stack(ctx, out->ips, size, flags);
}

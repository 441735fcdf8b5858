// Tail calls through a prog_array filled from the object (`.values`): a jump, a missing slot
// that falls through, and a program tail-calling itself until the 33-call limit.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct chain_args {
  __u32 slot;   // in: the slot entry jumps to
  __u32 runs;   // out: executions of self_loop
  __u64 trail;  // out: bits set by the programs that ran
};

SEC("syscall")
int jump_one(struct chain_args *a) {
  a->trail |= 2;
  return 7;
}

int self_loop(struct chain_args *a);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 4);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
  __array(values, int(struct chain_args *));
} jumps SEC(".maps") = {
    .values = {[1] = (void *)&jump_one, [2] = (void *)&self_loop},
};

SEC("syscall")
int self_loop(struct chain_args *a) {
  a->runs++;
  a->trail |= 4;
  bpf_tail_call(a, &jumps, 2);
  return 1000 + a->runs;
}

SEC("syscall")
int entry(struct chain_args *a) {
  a->trail |= 1;
  bpf_tail_call(a, &jumps, a->slot);
  a->trail |= 0x100;  // only after a tail call that fell through
  return -1;
}

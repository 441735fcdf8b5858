// CO-RE relocations of every family: field offset/size/existence/signedness/bitfield shifts,
// type id/existence/size, enum value existence/value. The types are declared here with
// preserve_access_index, as a vmlinux.h would declare them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct task {
  int pid;
  long long start_time;
  unsigned int flags : 3;
  unsigned int prio : 5;
  char comm[16];
} __attribute__((preserve_access_index));

enum state { STATE_RUNNING = 0, STATE_SLEEPING = 2 };

long long out[16];

SEC("raw_tp/sched_switch")
int core_reads(struct task *t) {
  out[0] = BPF_CORE_READ(t, pid);
  out[1] = bpf_core_field_exists(t->start_time);
  out[2] = bpf_core_field_size(t->comm);
  out[3] = BPF_CORE_READ_BITFIELD_PROBED(t, prio);
  out[4] = bpf_core_type_exists(struct task);
  out[5] = bpf_core_type_size(struct task);
  out[6] = bpf_core_enum_value_exists(enum state, STATE_SLEEPING);
  out[7] = bpf_core_enum_value(enum state, STATE_SLEEPING);
  out[8] = bpf_core_field_offset(t->start_time);
  out[9] = __builtin_preserve_field_info(t->pid, BPF_FIELD_SIGNED);
  return 0;
}

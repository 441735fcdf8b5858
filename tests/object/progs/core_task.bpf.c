// CO-RE against a real kernel: a minimal local task_struct (as a program written without a
// vmlinux.h would declare it), read through BPF_CORE_READ. The tests relocate it against the host
// kernel's vmlinux BTF and compare with what libbpf loads into that kernel.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct {
  int pid;
  int tgid;
  unsigned int flags;
  char comm[16];
  struct task_struct *real_parent;
  struct task_struct *group_leader;
} __attribute__((preserve_access_index));

long long out[8];

SEC("tracepoint/syscalls/sys_enter_getpid")
int core_task(void *ctx) {
  struct task_struct *t = (void *)bpf_get_current_task();
  out[0] = BPF_CORE_READ(t, pid);
  out[1] = BPF_CORE_READ(t, tgid);
  out[2] = BPF_CORE_READ(t, real_parent, tgid);
  out[3] = BPF_CORE_READ(t, flags);
  out[4] = BPF_CORE_READ(t, group_leader, pid);
  out[5] = bpf_core_field_size(t->comm);
  out[6] = bpf_core_field_offset(t->comm);
  return 0;
}

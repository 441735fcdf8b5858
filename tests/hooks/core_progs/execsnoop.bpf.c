// An execsnoop in the style of libbpf-tools: vmlinux.h (the runtime's, generated at build time),
// CO-RE reads of the task, `const volatile` configuration in .rodata set before load, events in a
// ring buffer. Each execve entry of a supervised process becomes one struct event.
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_STACK 8

struct event {
  int pid;
  int ppid;
  unsigned int uid;
  int stack_bytes;   // bpf_get_stack's answer for the user stack
  unsigned long ip;  // its first frame: where the syscall was made
  char comm[16];
  char filename[64];
};

// Keeps struct event in the object's BTF, for `run --event-type event`.
const struct event *unused_event __attribute__((unused));

const volatile int target_ppid = 0;  // 0: every process
const volatile unsigned int max_events = 100;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 64 * 1024);
} events SEC(".maps");

unsigned int seen = 0;

SEC("tracepoint/syscalls/sys_enter_execve")
int tracepoint__syscalls__sys_enter_execve(struct trace_event_raw_sys_enter *ctx) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  const int ppid = BPF_CORE_READ(task, real_parent, tgid);
  if (target_ppid && ppid != target_ppid) return 0;
  if (seen >= max_events) return 0;
  seen++;
  struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 0;
  e->pid = bpf_get_current_pid_tgid() >> 32;
  e->ppid = ppid;
  e->uid = (unsigned int)bpf_get_current_uid_gid();
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const char *)ctx->args[0]);
  unsigned long stack[MAX_STACK];
  e->stack_bytes = bpf_get_stack(ctx, stack, sizeof(stack), BPF_F_USER_STACK);
  e->ip = e->stack_bytes >= 8 ? stack[0] : 0;
  bpf_ringbuf_submit(e, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";

// Programs of the process-event and kprobe tests (tests/hooks/process_events_test.cpp): the
// sched_process_* tracepoints, kprobe/kretprobe on syscall wrappers, BPF_KSYSCALL, and the task
// model through bpf_get_current_task + BPF_CORE_READ. Each program appends what it saw to the
// `events` array; the test reads them back and checks them against what the scripts did.
#include <linux/types.h>
#include <linux/bpf.h>
// The kernel types above first: libbpf's headers need them.
#include "runtime_kernel.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

enum kind { EXEC = 1, FORK = 2, EXIT = 3, KSYSCALL_EXECVE = 4, KPROBE_OPENAT = 5,
            KRETPROBE_OPENAT = 6 };

// Must match struct Event in process_events_test.cpp.
struct event {
  __u32 kind;
  __s32 pid;        // from the record (exec: pid, fork: parent_pid, exit: pid)
  __s32 other;      // exec: old_pid, fork: child_pid, exit: prio
  __s32 cur_pid;    // bpf_get_current_pid_tgid
  __s32 cur_tgid;
  __s32 task_pid;   // the task model: current->pid, ->tgid, ->real_parent->tgid
  __s32 task_tgid;
  __s32 task_ppid;
  __s32 exit_code;  // exit: task->exit_code
  __s32 group_dead;
  __s64 value;      // kprobe: an argument; kretprobe: the return value
  char comm[16];    // bpf_get_current_comm
  char comm2[16];   // exec: task->comm; fork: parent_comm; exit: the record's comm
  char comm3[16];   // fork: child_comm
  char text[96];    // exec: filename; ksyscall/kprobe: the path argument
};

#define MAX_EVENTS 512

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_EVENTS);
  __type(key, __u32);
  __type(value, struct event);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} count SEC(".maps");

static struct event *next_event(__u32 kind) {
  __u32 zero = 0;
  __u32 *n = bpf_map_lookup_elem(&count, &zero);
  if (!n) return 0;
  // Events are dispatched one at a time (and -mcpu=v1 has no fetching atomics).
  __u32 i = *n;
  *n = i + 1;
  struct event *e = bpf_map_lookup_elem(&events, &i);
  if (!e) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  e->kind = kind;
  e->cur_pid = (__u32)id;
  e->cur_tgid = id >> 32;
  e->task_pid = BPF_CORE_READ(task, pid);
  e->task_tgid = BPF_CORE_READ(task, tgid);
  e->task_ppid = BPF_CORE_READ(task, real_parent, tgid);
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  return e;
}

// A __data_loc string of a tracepoint record: (length << 16) | offset.
static void read_data_loc(char *dst, __u32 size, void *record, __u32 loc) {
  bpf_probe_read_kernel_str(dst, size, (char *)record + (loc & 0xffff));
}

SEC("tp/sched/sched_process_exec")
int on_exec(struct trace_event_raw_sched_process_exec *ctx) {
  struct event *e = next_event(EXEC);
  if (!e) return 0;
  e->pid = ctx->pid;
  e->other = ctx->old_pid;
  read_data_loc(e->text, sizeof(e->text), ctx, ctx->__data_loc_filename);
  struct task_struct *task = bpf_get_current_task_btf();
  BPF_CORE_READ_STR_INTO(&e->comm2, task, comm);
  return 0;
}

SEC("tracepoint/sched/sched_process_fork")
int on_fork(struct trace_event_raw_sched_process_fork *ctx) {
  struct event *e = next_event(FORK);
  if (!e) return 0;
  e->pid = ctx->parent_pid;
  e->other = ctx->child_pid;
  read_data_loc(e->comm2, sizeof(e->comm2), ctx, ctx->__data_loc_parent_comm);
  read_data_loc(e->comm3, sizeof(e->comm3), ctx, ctx->__data_loc_child_comm);
  return 0;
}

SEC("tp/sched/sched_process_exit")
int on_exit(struct trace_event_raw_sched_process_exit *ctx) {
  struct event *e = next_event(EXIT);
  if (!e) return 0;
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  e->pid = ctx->pid;
  e->other = ctx->prio;
  e->group_dead = ctx->group_dead;
  e->exit_code = BPF_CORE_READ(task, exit_code);
  bpf_probe_read_kernel(e->comm2, sizeof(e->comm2), ctx->comm);
  return 0;
}

SEC("ksyscall/execve")
int BPF_KSYSCALL(on_ksyscall_execve, const char *filename) {
  struct event *e = next_event(KSYSCALL_EXECVE);
  if (!e) return 0;
  bpf_probe_read_user_str(e->text, sizeof(e->text), filename);
  return 0;
}

SEC("kprobe/__x64_sys_openat")
int on_kprobe_openat(struct pt_regs *ctx) {
  // The wrapper's first argument is the user's pt_regs; openat(dfd, filename, flags, mode).
  struct pt_regs *regs = (struct pt_regs *)PT_REGS_PARM1(ctx);
  struct event *e = next_event(KPROBE_OPENAT);
  if (!e) return 0;
  e->value = (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs);
  bpf_probe_read_user_str(e->text, sizeof(e->text), (void *)PT_REGS_PARM2_CORE_SYSCALL(regs));
  return 0;
}

SEC("kretprobe/__x64_sys_openat")
int BPF_KRETPROBE(on_kretprobe_openat, long ret) {
  struct event *e = next_event(KRETPROBE_OPENAT);
  if (!e) return 0;
  e->value = ret;
  return 0;
}

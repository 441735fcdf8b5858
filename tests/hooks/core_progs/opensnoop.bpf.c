// An opensnoop in the style of libbpf-tools: the file name and flags are kept at syscall entry
// in a hash map keyed by the thread, joined with the return value at exit, and sent through a
// perf event array; a sched tracepoint drops the entry of a thread that exits inside the call.
// CO-RE against the runtime's vmlinux.h, `const volatile` filters in .rodata.
// clang-format off
#include "vmlinux.h"
// clang-format on
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define NAME_MAX 96

struct args_t {
  const char* fname;
  int flags;
};

struct event {
  unsigned long long ts;
  int pid;
  int tid;
  int ppid;
  unsigned int uid;
  int ret;
  int flags;
  char comm[16];
  char fname[NAME_MAX];
};

// Keeps struct event in the object's BTF, for `run --event-type event`.
const struct event* unused_event __attribute__((unused));

const volatile int targ_tgid = 0;         // 0: every process
const volatile bool targ_failed = false;  // only failed opens

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 10240);
  __type(key, u32);
  __type(value, struct args_t);
} start SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(u32));
  __uint(value_size, sizeof(u32));
} events SEC(".maps");

static __always_inline bool trace_allowed(u32 tgid) {
  return !targ_tgid || targ_tgid == (int)tgid;
}

static __always_inline int enter(const char* fname, int flags) {
  u64 id = bpf_get_current_pid_tgid();
  if (!trace_allowed(id >> 32)) return 0;
  u32 tid = (u32)id;
  struct args_t args = {.fname = fname, .flags = flags};
  bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int tracepoint__syscalls__sys_enter_open(struct trace_event_raw_sys_enter* ctx) {
  return enter((const char*)ctx->args[0], (int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tracepoint__syscalls__sys_enter_openat(struct trace_event_raw_sys_enter* ctx) {
  return enter((const char*)ctx->args[1], (int)ctx->args[2]);
}

static __always_inline int leave(void* ctx, int ret) {
  u64 id = bpf_get_current_pid_tgid();
  u32 tid = (u32)id;
  struct args_t* ap = bpf_map_lookup_elem(&start, &tid);
  if (!ap) return 0;  // entered before we attached, or filtered out
  if (targ_failed && ret >= 0) goto cleanup;

  struct event event = {};
  struct task_struct* task = (struct task_struct*)bpf_get_current_task();
  event.ts = bpf_ktime_get_ns();
  event.pid = id >> 32;
  event.tid = tid;
  event.ppid = BPF_CORE_READ(task, real_parent, tgid);
  event.uid = (u32)bpf_get_current_uid_gid();
  event.ret = ret;
  event.flags = ap->flags;
  bpf_get_current_comm(&event.comm, sizeof(event.comm));
  bpf_probe_read_user_str(&event.fname, sizeof(event.fname), ap->fname);
  bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &event, sizeof(event));
cleanup:
  bpf_map_delete_elem(&start, &tid);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int tracepoint__syscalls__sys_exit_open(struct trace_event_raw_sys_exit* ctx) {
  return leave(ctx, (int)ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int tracepoint__syscalls__sys_exit_openat(struct trace_event_raw_sys_exit* ctx) {
  return leave(ctx, (int)ctx->ret);
}

SEC("tracepoint/sched/sched_process_exit")
int handle_exit(struct trace_event_raw_sched_process_exit* ctx) {
  u32 tid = (u32)bpf_get_current_pid_tgid();
  bpf_map_delete_elem(&start, &tid);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";

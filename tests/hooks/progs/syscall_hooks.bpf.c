// Programs of the hook tests (tests/hooks): every syscall hook point kind, recording what they see
// into maps the tests read back.
#include <linux/bpf.h>
// libbpf's helper declarations need the kernel types above.
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

#define NAME_LEN 64

// The sys_enter_* record as tracefs lays it out: common fields, __syscall_nr, arguments.
struct sys_enter_record {
  unsigned short common_type;
  unsigned char common_flags;
  unsigned char common_preempt_count;
  int common_pid;
  int syscall_nr;
  unsigned long args[6];
};

struct sys_exit_record {
  unsigned short common_type;
  unsigned char common_flags;
  unsigned char common_preempt_count;
  int common_pid;
  int syscall_nr;
  long ret;
};

// openat calls by file name.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, char[NAME_LEN]);
  __type(value, __u64);
} opens SEC(".maps");

// The name each thread is opening, from entry to exit.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, char[NAME_LEN]);
} pending SEC(".maps");

// openat's return value by file name (the last one).
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, char[NAME_LEN]);
  __type(value, __s64);
} results SEC(".maps");

// raw_tracepoint/sys_enter: entries per syscall number; [511]: records whose pid did not match
// the current task.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 512);
  __type(key, __u32);
  __type(value, __u64);
} raw_entries SEC(".maps");

// The pids (tgids) that called execve, and how often.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} execs SEC(".maps");

static void add(void* map, const void* key) {
  __u64 one = 1;
  __u64* count = bpf_map_lookup_elem(map, key);
  if (count)
    __sync_fetch_and_add(count, 1);
  else
    bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct sys_enter_record* ctx) {
  char name[NAME_LEN] = {};
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  if (bpf_probe_read_user_str(name, sizeof(name), (const void*)ctx->args[1]) < 0) return 0;
  add(&opens, name);
  bpf_map_update_elem(&pending, &tid, name, BPF_ANY);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct sys_exit_record* ctx) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  char* name = bpf_map_lookup_elem(&pending, &tid);
  if (!name) return 0;
  __s64 ret = ctx->ret;
  bpf_map_update_elem(&results, name, &ret, BPF_ANY);
  bpf_map_delete_elem(&pending, &tid);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int enter_execve(struct sys_enter_record* ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  add(&execs, &tgid);
  return 0;
}

SEC("raw_tracepoint/sys_enter")
int raw_enter(struct bpf_raw_tracepoint_args* ctx) {
  __u32 nr = (__u32)ctx->args[1] & 511;
  unsigned long orig_rax = 0;
  // struct pt_regs: orig_rax is the 16th word.
  bpf_probe_read_kernel(&orig_rax, sizeof(orig_rax), (char*)ctx->args[0] + 15 * 8);
  if (orig_rax != ctx->args[1]) nr = 511;
  __u64* count = bpf_map_lookup_elem(&raw_entries, &nr);
  if (count) __sync_fetch_and_add(count, 1);
  return 0;
}

SEC("kprobe/do_nanosleep")
int not_a_syscall_hook(void* ctx) {
  return 0;
}

// Programs of the attach tests (tests/hooks/attach_test.cpp): per process (tgid), the openat
// calls made and failed and the forks, so a test can check that the events of an attached
// process carry its pid and that its syscalls kept succeeding.
#include <linux/bpf.h>
// libbpf's helper declarations need the kernel types above.
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

struct sys_exit_record {
  unsigned short common_type;
  unsigned char common_flags;
  unsigned char common_preempt_count;
  int common_pid;
  int syscall_nr;
  long ret;
};

#define COUNT_MAP(name)              \
  struct {                           \
    __uint(type, BPF_MAP_TYPE_HASH); \
    __uint(max_entries, 4096);       \
    __type(key, __u32);              \
    __type(value, __u64);            \
  } name SEC(".maps")

COUNT_MAP(opens);        // openat entries by tgid
COUNT_MAP(open_errors);  // openat exits with an error (ENOSYS above all) by tgid
COUNT_MAP(forks);        // sched_process_fork by the forking tgid

static void add(void* map, __u32 key) {
  __u64 one = 1;
  __u64* count = bpf_map_lookup_elem(map, &key);
  if (count)
    __sync_fetch_and_add(count, 1);
  else
    bpf_map_update_elem(map, &key, &one, BPF_NOEXIST);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int count_open(void* ctx) {
  add(&opens, bpf_get_current_pid_tgid() >> 32);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int count_open_error(struct sys_exit_record* ctx) {
  // ENOENT is the shell's business (a PATH lookup); anything else means the call was harmed.
  if (ctx->ret < 0 && ctx->ret != -2) add(&open_errors, bpf_get_current_pid_tgid() >> 32);
  return 0;
}

SEC("tracepoint/sched/sched_process_fork")
int count_fork(void* ctx) {
  add(&forks, bpf_get_current_pid_tgid() >> 32);
  return 0;
}

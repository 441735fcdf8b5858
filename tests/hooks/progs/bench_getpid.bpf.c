// The program of bench/hooks_bench.cpp (and its smoke test): counts getpid() calls per process,
// touching the current task's identity as a typical tracing program does. Loaded both by userbpf
// and, for the kernel reference, by libbpf into the host kernel.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} calls SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  char comm[16];
  bpf_get_current_comm(comm, sizeof(comm));
  __u64 one = 1;
  __u64 *n = bpf_map_lookup_elem(&calls, &tgid);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&calls, &tgid, &one, BPF_NOEXIST);
  return 0;
}

// The uprobe program of bench/hooks_bench.cpp: counts hits per process, touching the current
// task's identity as bench_getpid.bpf.c does. A bare SEC("uprobe"): the bench attaches it to its
// own bench_uprobe_target function, in userbpf and (for the kernel reference) through libbpf.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} hits SEC(".maps");

SEC("uprobe")
int count_hits(void *ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  char comm[16];
  bpf_get_current_comm(comm, sizeof(comm));
  __u64 one = 1;
  __u64 *n = bpf_map_lookup_elem(&hits, &tgid);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&hits, &tgid, &one, BPF_NOEXIST);
  return 0;
}

// Global data in every internal-map flavour, read-only configuration set before load, and
// BTF-defined maps of several types.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// .rodata: set by the loader before load (const volatile, as skeletons use it).
const volatile int config_threshold = 7;
const volatile unsigned long long config_mask = 0xff00ff00ff00ff00ULL;
// .data and .bss.
int hits = 3;
unsigned long long total_bytes;
static int static_counter;
// A custom data section, a map of its own.
int custom_value SEC(".data.custom") = 42;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, int);
  __type(value, unsigned long long);
} counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __uint(key_size, sizeof(int));
  __uint(value_size, 16);
  __uint(map_flags, BPF_F_NUMA_NODE);
  __uint(numa_node, 0);
} scratch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16);
  __type(key, unsigned int);
  __type(value, int);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_lru SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_write")
int count_writes(void *ctx) {
  int key = 1;
  unsigned long long init = 1, *val;

  if (hits < config_threshold) hits++;
  static_counter++;
  total_bytes += config_mask & 0xff;
  val = bpf_map_lookup_elem(&counts, &key);
  if (val)
    __sync_fetch_and_add(val, 1);
  else
    bpf_map_update_elem(&counts, &key, &init, BPF_ANY);
  custom_value++;
  return 0;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx) {
  return hits > 100 ? XDP_DROP : XDP_PASS;
}

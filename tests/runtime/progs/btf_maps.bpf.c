// Maps with BTF-described keys and values (a struct with an enum, a char array and a nested
// array, a plain integer array, a per-CPU array), for the BTF-formatted `map dump` / `map
// lookup` output, compared with the host bpftool's. The program only touches them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

enum color { RED, GREEN = 5, BLUE };

struct point {
  int x;
  unsigned short y;
  char tag[6];
  enum color color;
  unsigned char bytes[3];
  struct {
    long long big;
  } inner;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, unsigned int);
  __type(value, struct point);
} points SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, int);
  __type(value, unsigned long long);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, int);
  __type(value, int);
} per_cpu SEC(".maps");

SEC("xdp")
int touch_maps(struct xdp_md *ctx) {
  int zero = 0;
  unsigned int key = 0;
  struct point *p = bpf_map_lookup_elem(&points, &key);
  unsigned long long *c = bpf_map_lookup_elem(&counters, &zero);
  int *v = bpf_map_lookup_elem(&per_cpu, &zero);
  if (c) *c += 1;
  if (v) *v += 1;
  return p ? XDP_PASS : XDP_DROP;
}

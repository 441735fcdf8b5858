// Maps of maps with inner templates and initial slots, and a prog array with initial programs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct inner {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, int);
  __type(value, int);
};

struct inner inner_a SEC(".maps");
struct inner inner_b SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, int);
  __array(values, struct inner);
} outer SEC(".maps") = {
    .values = {[0] = &inner_a, [3] = &inner_b},
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 8);
  __type(key, unsigned int);
  __array(values, struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, long long);
    __type(value, char[12]);
  });
} outer_hash SEC(".maps");

int tail_a(void *ctx);
int tail_b(void *ctx);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 3);
  __uint(key_size, sizeof(__u32));
  __array(values, int(void *));
} jumps SEC(".maps") = {
    .values = {[1] = (void *)&tail_a, [2] = (void *)&tail_b},
};

SEC("socket")
int tail_a(void *ctx) {
  return 1;
}

SEC("socket")
int tail_b(void *ctx) {
  return 2;
}

SEC("socket")
int dispatch(void *ctx) {
  int key = 0;
  void *inner = bpf_map_lookup_elem(&outer, &key);
  if (inner) bpf_map_lookup_elem(inner, &key);
  bpf_tail_call(ctx, &jumps, 1);
  return 0;
}

// The embedding API's test object: globals in every section, a hash map, a per-CPU array, a
// ring buffer and a perf event array, an XDP program and syscall programs that use them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 multiplier = 3;         // .rodata
const volatile __u64 offset_value = 1000;    // .rodata
__u32 calls = 5;                              // .data
__u64 last_result;                            // .bss

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} table SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} percpu SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} samples SEC(".maps");

struct compute_args {
  __u32 input;
  __u32 pad;
  __u64 output;  // out: input * multiplier + offset_value
};

// Computes from the .rodata configuration, stores the result in .bss and the table, counts calls
// in .data and the per-CPU array, reports on the ring buffer and the perf buffer (slot 0).
SEC("syscall")
int compute(struct compute_args *a) {
  __u64 result = (__u64)a->input * multiplier + offset_value;
  a->output = result;
  last_result = result;
  calls++;
  __u32 key = a->input;
  bpf_map_update_elem(&table, &key, &result, BPF_ANY);
  __u32 zero = 0;
  __u64 *n = bpf_map_lookup_elem(&percpu, &zero);
  if (n) *n += 1;
  bpf_ringbuf_output(&events, &result, sizeof(result), 0);
  bpf_perf_event_output(a, &samples, 0, &result, sizeof(result));
  bpf_printk("compute %u -> %llu", a->input, result);
  return (int)(result & 0x7fffffff);
}

// Returns the frame's length and writes 0xab into its first byte.
SEC("xdp")
int xdp_mark(struct xdp_md *ctx) {
  unsigned char *data = (void *)(long)ctx->data;
  unsigned char *data_end = (void *)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_ABORTED;
  data[0] = 0xab;
  return (int)(data_end - data);
}

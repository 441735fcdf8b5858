// Ring buffer, perf event array and map-in-map use from a program: reserve/submit/discard,
// output, query, perf_event_output, and a lookup through an array of maps.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} samples SEC(".maps");

struct inner_array {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct inner_array);
} outer SEC(".maps") = {
    .values = {[0] = &inner_a, [1] = &inner_b},
};

struct event {
  __u32 seq;
  __u32 kind;
  __u64 value;
};

struct rb_args {
  __u32 count;      // in: records to produce
  __u32 discard_every;  // in: discard every n-th reserved record (0: never)
  __u64 flags;      // in: submit flags
  __s64 output_result;  // out: bpf_ringbuf_output's result
  __u64 avail;      // out: BPF_RB_AVAIL_DATA after producing
  __u64 ring_size;  // out
  __u32 reserved_fail;  // out: reserves that returned NULL
  __u32 pad;
};

SEC("syscall")
int produce(struct rb_args *a) {
  for (__u32 i = 0; i < a->count && i < 1000; i++) {
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
      a->reserved_fail++;
      continue;
    }
    e->seq = i;
    e->kind = 1;
    e->value = (__u64)i * 3;
    if (a->discard_every && i % a->discard_every == 0)
      bpf_ringbuf_discard(e, a->flags);
    else
      bpf_ringbuf_submit(e, a->flags);
  }
  struct event last = {.seq = 0xffff, .kind = 2, .value = 42};
  a->output_result = bpf_ringbuf_output(&events, &last, sizeof(last), a->flags);
  a->avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
  a->ring_size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);
  return 0;
}

struct perf_args {
  __u32 index;  // in: slot, or 0xffffffff for BPF_F_CURRENT_CPU
  __u32 count;  // in
  __s64 last_result;  // out
};

SEC("syscall")
int perf_out(struct perf_args *a) {
  for (__u32 i = 0; i < a->count && i < 10000; i++) {
    struct event e = {.seq = i, .kind = 3, .value = i};
    a->last_result = bpf_perf_event_output(a, &samples, a->index, &e, sizeof(e));
  }
  return 0;
}

struct mim_args {
  __u32 outer_key;
  __u32 inner_key;
  __u64 add;
  __s64 found;  // out: 1 inner map found, 0 not
};

SEC("syscall")
int through_outer(struct mim_args *a) {
  __u32 k = a->outer_key;
  void *inner = bpf_map_lookup_elem(&outer, &k);
  if (!inner) {
    a->found = 0;
    return 0;
  }
  a->found = 1;
  __u32 ik = a->inner_key;
  __u64 *v = bpf_map_lookup_elem(inner, &ik);
  if (v) *v += a->add;
  return 0;
}

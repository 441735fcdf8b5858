// Programs for the JIT's inlined helpers (tests/jit/jit_inline_maps_test.cpp): array map lookups
// and updates with keys and flags from the frame, and bpf_loop with a count and a stop index from
// the frame. The interpreter and the JIT must leave the same results and map contents.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

// 13 bytes: the array's stride (16) is larger than the value.
struct value {
  __u32 a;
  __u16 b;
  __u8 c[7];
} __attribute__((packed));

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, struct value);
} values SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 32);
  __type(key, __u32);
  __type(value, __s64);
} results SEC(".maps");

static __always_inline void put(__u32 slot, __s64 v) {
  __s64 *r = bpf_map_lookup_elem(&results, &slot);
  if (r) *r = v;
}

#define OPS 8

// Operation i is 3 frame bytes after the Ethernet header: key (0xff: 0xffffffff), update flags,
// a payload byte. results[i] is the update's answer, results[8 + i] a + b of the value looked
// up afterwards (-1 when the lookup fails), and the value's c[0] is incremented through the
// pointer.
SEC("xdp")
int array_ops(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data;
  __u8 *data_end = (void *)(long)ctx->data_end;
  if (data + 14 + 3 * OPS > data_end) return XDP_ABORTED;
  for (__u32 i = 0; i < OPS; i++) {
    __u8 *op = data + 14 + 3 * i;
    __u32 key = op[0] == 0xff ? 0xffffffff : op[0];
    struct value v = {.a = key * 3 + i, .b = (__u16)(i + 1000)};
    v.c[0] = op[2];
    v.c[6] = (__u8)(op[2] ^ 0x5a);
    put(i, bpf_map_update_elem(&values, &key, &v, op[1]));
    struct value *p = bpf_map_lookup_elem(&values, &key);
    put(OPS + i, p ? (__s64)p->a + p->b : -1);
    if (p) p->c[0] += 1;
  }
  return XDP_PASS;
}

struct loop_state {
  __u64 sum;
  __u32 stop;
  __u32 calls;
};

static long step(__u32 i, void *arg) {
  struct loop_state *s = arg;
  s->sum += i + 1;
  s->calls++;
  return i == s->stop;
}

// bpf_loop(nr, step, &state, 0) with nr (u32) and stop (u32) from frame bytes 14..21:
// results[0] = its answer, results[1] = the sum, results[2] = the callback calls.
SEC("xdp")
int loop_ops(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data;
  __u8 *data_end = (void *)(long)ctx->data_end;
  if (data + 22 > data_end) return XDP_ABORTED;
  struct loop_state s = {};
  __u32 nr = data[14] | data[15] << 8 | data[16] << 16 | (__u32)data[17] << 24;
  s.stop = data[18] | data[19] << 8 | data[20] << 16 | (__u32)data[21] << 24;
  long r = bpf_loop(nr, step, &s, 0);
  put(0, r);
  put(1, s.sum);
  put(2, s.calls);
  return XDP_PASS;
}

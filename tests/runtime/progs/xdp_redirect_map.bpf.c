// bpf_redirect_map on every redirect map type, driven by the packet: after the Ethernet header
// come `which` (0 devmap, 1 devmap_hash, 2 cpumap, 3 xskmap), the 64-bit key and the 64-bit
// flags. The test fills the maps the same way in userbpf and in the host kernel and compares the
// return values (the redirect target or the fallback action of the flags' low bits).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
} devs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct bpf_devmap_val);
} dev_hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_CPUMAP);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
} cpus SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} xsks SEC(".maps");

struct command {
  __u8 eth[14];
  __u8 which;
  __u8 pad[1];
  __u64 key;
  __u64 flags;
} __attribute__((packed));

SEC("xdp")
int xdp_redirect_map(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct command *c = data;
  if ((void *)(c + 1) > data_end) return XDP_PASS;
  switch (c->which) {
    case 0: return bpf_redirect_map(&devs, c->key, c->flags);
    case 1: return bpf_redirect_map(&dev_hash, c->key, c->flags);
    case 2: return bpf_redirect_map(&cpus, c->key, c->flags);
    case 3: return bpf_redirect_map(&xsks, c->key, c->flags);
  }
  return XDP_DROP;
}

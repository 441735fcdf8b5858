// An XDP filter configured from user space: drops UDP datagrams to one port, counts what it
// passes and drops, and reports every drop on a ring buffer. The port is a `const volatile`
// global (.rodata): the embedding program sets it before load, as a libbpf skeleton would.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

// Set before load; 0 drops nothing.
const volatile __u16 blocked_port = 0;

// .bss: every frame the program saw, read by user space after the runs.
__u64 frames_seen = 0;

enum { COUNT_PASSED = 0, COUNT_DROPPED = 1 };

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct drop_event {
  __u32 saddr;  // network byte order
  __u32 daddr;
  __u16 sport;  // host byte order
  __u16 dport;
  __u32 frame_len;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 * 4096);
} drops SEC(".maps");

static void count(__u32 which) {
  __u64 *value = bpf_map_lookup_elem(&counters, &which);
  if (value) __sync_fetch_and_add(value, 1);
}

SEC("xdp")
int xdp_filter(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __sync_fetch_and_add(&frames_seen, 1);

  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) goto pass;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP) goto pass;
  struct udphdr *udp = (void *)ip + ip->ihl * 4;
  if ((void *)(udp + 1) > data_end) goto pass;
  if (blocked_port == 0 || bpf_ntohs(udp->dest) != blocked_port) goto pass;

  count(COUNT_DROPPED);
  struct drop_event *e = bpf_ringbuf_reserve(&drops, sizeof(*e), 0);
  if (e) {
    e->saddr = ip->saddr;
    e->daddr = ip->daddr;
    e->sport = bpf_ntohs(udp->source);
    e->dport = bpf_ntohs(udp->dest);
    e->frame_len = (__u32)(data_end - data);
    bpf_ringbuf_submit(e, 0);
  }
  return XDP_DROP;

pass:
  count(COUNT_PASSED);
  return XDP_PASS;
}

// XDP programs for the test-run tests: header parsing with direct packet access, moving the
// frame bounds (bpf_xdp_adjust_head/tail/meta), redirect and bpf_csum_diff. Each is also loaded
// into the host kernel, which must give the same return value and output frame.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

// Drops UDP to port 9, bounces ICMP (XDP_TX with MACs swapped and the TTL decremented, checksum
// fixed incrementally), passes the rest; aborts on a truncated IPv4 header.
SEC("xdp")
int xdp_classify(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_ABORTED;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return XDP_ABORTED;
  if (ip->protocol == IPPROTO_UDP) {
    struct udphdr *udp = (void *)ip + ip->ihl * 4;
    if ((void *)(udp + 1) > data_end) return XDP_ABORTED;
    if (udp->dest == bpf_htons(9)) return XDP_DROP;
    return XDP_PASS;
  }
  if (ip->protocol == IPPROTO_ICMP) {
    unsigned char tmp[ETH_ALEN];
    __builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
    // RFC 1624 incremental update for the TTL (high byte of the 16-bit word with protocol).
    __u32 check = ip->check;
    check += bpf_htons(0x0100);
    ip->check = (__u16)(check + (check >> 16));
    ip->ttl--;
    return XDP_TX;
  }
  return XDP_PASS;
}

// Byte 14 (the first after the Ethernet header) selects the bound changes:
//   bit 0: push a 4-byte tag in front (adjust_head -4) and fill it with 0xa5
//   bit 1: grow the tail by 6 bytes (Linux zeroes them) and set byte 15 to 0x5a
//   bit 2: shrink the tail by 3 bytes
//   bit 3: reserve 8 bytes of metadata and write 0x11223344 0x55667788 into it
//   bit 4: pull 2 bytes off the head (adjust_head +2)
// Returns XDP_PASS, or 100 + the step number when a helper refused.
SEC("xdp")
int xdp_bounds(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  if (data + 15 > data_end) return XDP_ABORTED;
  __u8 op = ((__u8 *)data)[14];
  if (op & 1) {
    if (bpf_xdp_adjust_head(ctx, -4)) return 101;
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    if (data + 4 > data_end) return XDP_ABORTED;
    __builtin_memset(data, 0xa5, 4);
  }
  if (op & 2) {
    if (bpf_xdp_adjust_tail(ctx, 6)) return 102;
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    if (data + 16 > data_end) return XDP_ABORTED;
    ((__u8 *)data)[15] = 0x5a;
  }
  if (op & 4) {
    if (bpf_xdp_adjust_tail(ctx, -3)) return 103;
  }
  if (op & 8) {
    if (bpf_xdp_adjust_meta(ctx, -8)) return 104;
    __u32 *meta = (void *)(long)ctx->data_meta;
    data = (void *)(long)ctx->data;
    if ((void *)(meta + 2) > data) return XDP_ABORTED;
    meta[0] = 0x11223344;
    meta[1] = 0x55667788;
  }
  if (op & 16) {
    if (bpf_xdp_adjust_head(ctx, 2)) return 105;
  }
  return XDP_PASS;
}

// Reads the 8 headroom bytes in front of the frame (a test run starts them zeroed, as Linux's
// zeroed buffer) and returns their OR, then fills them with 0xa5: the next run must see zeros.
SEC("xdp")
int xdp_headroom_peek(struct xdp_md *ctx) {
  if (bpf_xdp_adjust_head(ctx, -8)) return 0x100;
  __u8 *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  if ((void *)(data + 8) > data_end) return 0x200;
  __u8 seen = 0;
  for (int i = 0; i < 8; i++) {
    seen |= data[i];
    data[i] = 0xa5;
  }
  return seen;
}

// Refusals: growing the head past the headroom, shrinking below an Ethernet header, growing the
// tail past the frame, odd metadata. Returns a bit mask of the helpers that answered -EINVAL /
// -EACCES as Linux does (expected 0xf).
SEC("xdp")
int xdp_bounds_refused(struct xdp_md *ctx) {
  int mask = 0;
  if (bpf_xdp_adjust_head(ctx, -4096) == -22) mask |= 1;
  if (bpf_xdp_adjust_tail(ctx, -100000) == -22) mask |= 2;
  if (bpf_xdp_adjust_tail(ctx, 8192) == -22) mask |= 4;
  if (bpf_xdp_adjust_meta(ctx, -6) == -13) mask |= 8;
  return mask;
}

// bpf_redirect to the ifindex in byte 14 with the flags in byte 15.
SEC("xdp")
int xdp_redirect_byte(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  if (data + 16 > data_end) return XDP_ABORTED;
  __u8 *p = data;
  return bpf_redirect(p[14], p[15]);
}

// Redirects to ifindex 7 when byte 14 is 7, clearing that byte: with repeat > 1 only the first
// repetition redirects, and the later ones pass.
SEC("xdp")
int xdp_redirect_once(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  if (data + 16 > data_end) return XDP_ABORTED;
  __u8 *p = data;
  if (p[14] != 7) return XDP_PASS;
  p[14] = 0;
  return bpf_redirect(7, 0);
}

// bpf_csum_diff over the first 16 and the next 8 bytes after the Ethernet header (a diff, a push
// seeded with the diff, and sizes that are not multiples of 4, which Linux >= 6.13 accepts), the
// results written back into the frame at offset 14.
SEC("xdp")
int xdp_csum(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  if (data + 14 + 24 > data_end) return XDP_ABORTED;
  __be32 *from = data + 14;
  __be32 *to = data + 14 + 16;
  __s64 diff = bpf_csum_diff(from, 16, to, 8, 0x1234);
  __s64 push = bpf_csum_diff(0, 0, to, 8, (__u32)diff);
  __s64 bad = bpf_csum_diff(from, 6, to, 8, 0);
  from[0] = (__u32)diff;
  from[1] = (__u32)push;
  from[2] = (__u32)bad;
  return XDP_PASS;
}

// Socket filter and tc programs for the test-run tests: LD_ABS/LD_IND, skb fields, skb byte
// loads/stores, the checksum-replace helpers and redirect. Each is also run by the host kernel,
// which must give the same return value, output packet and __sk_buff fields.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <stddef.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

// A socket filter sees the packet from the IP header on. Accept (return the length) IPv4 UDP
// whose destination port is odd, read through LD_ABS/LD_IND; otherwise keep 0 bytes. The
// protocol and pkt_type fields are folded into the result's high bits for the comparison.
SEC("socket")
int sock_udp_odd(struct __sk_buff *skb) {
  int extra = (skb->pkt_type << 20) | ((skb->protocol == bpf_htons(ETH_P_IP)) << 24);
  if (skb->protocol != bpf_htons(ETH_P_IP)) return extra;
  if (load_byte(skb, offsetof(struct iphdr, protocol)) != IPPROTO_UDP) return extra | 1;
  unsigned long long ihl = (load_byte(skb, 0) & 0xf) * 4;
  unsigned long long port = load_half(skb, ihl + offsetof(struct udphdr, dest));
  if (port & 1) return extra | (int)skb->len;
  return extra | 2;
}

// bpf_skb_load_bytes in a socket filter: the sum of bytes 8..11 of the IP header (ttl, protocol,
// check), the answer of a load running past the end (-EFAULT) and what it left in the buffer
// (Linux clears it).
SEC("socket")
int sock_load_bytes(struct __sk_buff *skb) {
  __u8 buf[4] = {1, 1, 1, 1};
  int r = bpf_skb_load_bytes(skb, 8, buf, 4);
  if (r) return -1000 + r;
  int sum = buf[0] + buf[1] + buf[2] + buf[3];
  __u8 far[4] = {7, 7, 7, 7};
  int bad = bpf_skb_load_bytes(skb, skb->len - 2, far, 4);
  return (sum << 16) | ((-bad) << 8) | (far[0] + far[1] + far[2] + far[3]);
}

// tc NAT-like rewrite: for IPv4 TCP/UDP, replace the destination address with 10.0.0.99 and the
// destination port with 8080, fixing the IP checksum with bpf_l3_csum_replace and the L4
// checksum with bpf_l4_csum_replace (pseudo header), storing with bpf_skb_store_bytes. Marks the
// skb, writes cb[0], and redirects packets to port 7 (to ifindex 3, ingress).
SEC("tc")
int tc_rewrite(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return TC_ACT_SHOT;
  skb->mark = skb->len * 3 + skb->protocol;
  skb->cb[0] = skb->pkt_type + 1000;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return TC_ACT_OK;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return TC_ACT_SHOT;
  if (ip->ihl != 5) return TC_ACT_UNSPEC;
  int l4_check;
  if (ip->protocol == IPPROTO_TCP)
    l4_check = ETH_HLEN + sizeof(struct iphdr) + offsetof(struct tcphdr, check);
  else if (ip->protocol == IPPROTO_UDP)
    l4_check = ETH_HLEN + sizeof(struct iphdr) + offsetof(struct udphdr, check);
  else
    return TC_ACT_OK;
  struct udphdr *ports = (void *)(ip + 1);
  if ((void *)(ports + 1) > data_end) return TC_ACT_SHOT;
  if (ports->dest == bpf_htons(7)) return bpf_redirect(3, BPF_F_INGRESS);

  __be32 old_addr = ip->daddr;
  __be32 new_addr = bpf_htonl(0x0a000063);
  __be16 old_port = ports->dest;
  __be16 new_port = bpf_htons(8080);
  int flags = ip->protocol == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
  if (bpf_l4_csum_replace(skb, l4_check, old_addr, new_addr, flags | BPF_F_PSEUDO_HDR | 4))
    return 201;
  if (bpf_l4_csum_replace(skb, l4_check, old_port, new_port, flags | 2)) return 202;
  if (bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), old_addr, new_addr, 4))
    return 203;
  if (bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct iphdr, daddr), &new_addr, 4, 0))
    return 204;
  if (bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(struct iphdr) + offsetof(struct udphdr, dest),
                          &new_port, 2, 0))
    return 205;
  return TC_ACT_OK;
}

// The helpers' refusals in tc: odd or out-of-range checksum offsets, unknown flags, stores past
// the end. Returns a bit mask of the expected answers (0x7f).
SEC("tc")
int tc_refusals(struct __sk_buff *skb) {
  int mask = 0;
  __u32 v = 0;
  if (bpf_l3_csum_replace(skb, 25, 0, 0, 2) == -14) mask |= 1;
  if (bpf_l3_csum_replace(skb, 0x10000, 0, 0, 2) == -14) mask |= 2;
  if (bpf_l3_csum_replace(skb, 24, 0, 0, 0x100) == -22) mask |= 4;
  if (bpf_l4_csum_replace(skb, 24, 0, 0, 3) == -22) mask |= 8;
  if (bpf_skb_store_bytes(skb, skb->len - 2, &v, 4, 0) == -14) mask |= 16;
  if (bpf_skb_store_bytes(skb, 0, &v, 4, 4) == -22) mask |= 32;
  if (bpf_l3_csum_replace(skb, 24, 5, 9, 0) == -22) mask |= 64;
  return mask;
}

// The raw csum diff replacement forms: byte 14.. of the frame holds a checksum word at offset 24
// (IP check); apply a diff (flags 0), and the 2-byte form, then return the result.
SEC("tc")
int tc_csum_forms(struct __sk_buff *skb) {
  __u32 diff = 0x00012345;
  if (bpf_l3_csum_replace(skb, 24, 0, diff, 0)) return -1;
  if (bpf_l3_csum_replace(skb, 24, 0xabcd, 0x1234, 2)) return -2;
  if (bpf_l4_csum_replace(skb, 26, 0, diff, BPF_F_PSEUDO_HDR)) return -3;
  if (bpf_l4_csum_replace(skb, 28, 0x0001, 0x0001, BPF_F_MARK_MANGLED_0 | 2)) return -4;
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  if (data + 30 > data_end) return -5;
  return *(__u16 *)(data + 24) | (*(__u16 *)(data + 26) << 16);
}

/* The benchmark suite's packet_hash as an XDP program; the algorithm is algo/packet_hash.h, which
 * the native twin (native/native_twins.c) compiles too. */
#include "algo/packet_hash.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int packet_hash(struct xdp_md* ctx) {
  return suite_packet_hash((const __u8*)(long)ctx->data, (const __u8*)(long)ctx->data_end);
}

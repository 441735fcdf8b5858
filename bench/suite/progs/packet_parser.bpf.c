/* The benchmark suite's packet_parser as an XDP program; the algorithm is algo/packet_parser.h,
 * which the native twin (native/native_twins.c) compiles too. */
#include "algo/packet_parser.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int packet_parser(struct xdp_md* ctx) {
  return suite_packet_parser((const __u8*)(long)ctx->data, (const __u8*)(long)ctx->data_end);
}

// A program under a license that is not GPL-compatible: it may call ordinary helpers, and the one
// calling bpf_trace_printk (gpl_only in Linux) must be refused at load, as Linux refuses it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Proprietary";

SEC("xdp")
int plain(struct xdp_md *ctx) {
  return bpf_ktime_get_ns() ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int prints(struct xdp_md *ctx) {
  bpf_printk("not allowed");
  return XDP_PASS;
}

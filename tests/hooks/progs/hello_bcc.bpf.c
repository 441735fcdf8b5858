// The C part of the seed tutorial's BCC program (../shared/seed/hello_bcc.py), written as a
// libbpf program: BCC attaches `hello` with attach_kprobe(event="__x64_sys_execve"), which is
// SEC("kprobe/__x64_sys_execve") here. BCC programs are GPL (bpf_trace_printk needs it).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

SEC("kprobe/__x64_sys_execve")
int hello(void *ctx) {
  char msg[] = "Hello from BCC!\n";
  bpf_trace_printk(msg, sizeof(msg));
  return 0;
}

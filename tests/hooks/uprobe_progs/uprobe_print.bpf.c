// A uprobe and a uretprobe on the uprobe tests' target that print each call to trace_pipe: what
// `userbpf run OBJ -- uprobe_target N` and `userbpf run OBJ --pid PID` show a user
// (tests/cli/run_uprobe_test.cpp).
#include <linux/bpf.h>
#include <linux/ptrace.h>
// libbpf's helper declarations need the kernel types above.
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

SEC("uprobe/" UPROBE_TARGET_BIN ":target_add")
int BPF_KPROBE(print_add, long a, long b) {
  bpf_printk("target_add(%ld, %ld) pid %d", a, b, (int)(bpf_get_current_pid_tgid() >> 32));
  return 0;
}

SEC("uretprobe/" UPROBE_TARGET_BIN ":target_add")
int BPF_KRETPROBE(print_add_return, long ret) {
  bpf_printk("target_add returned %ld", ret);
  return 0;
}

// Programs of many section kinds, two programs in one section, an executable section of unknown
// name, a .kconfig extern and an unknown non-executable section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig __weak;

int notes SEC(".notes.custom") = 1;

SEC("kprobe/do_exit") int kp(void *ctx) { return LINUX_KERNEL_VERSION > 0; }
SEC("kretprobe/do_exit") int krp(void *ctx) { return CONFIG_HZ; }
SEC("uprobe//bin/bash:readline") int up(void *ctx) { return 0; }
SEC("tp/sched/sched_switch") int tp1(void *ctx) { return 0; }
SEC("tp/sched/sched_switch") int tp2(void *ctx) { return 1; }
SEC("raw_tracepoint/sys_enter") int rawtp(void *ctx) { return 0; }
SEC("fentry/do_unlinkat") int fent(void *ctx) { return 0; }
SEC("fexit/do_unlinkat") int fex(void *ctx) { return 0; }
SEC("lsm/file_open") int lsm_open(void *ctx) { return 0; }
SEC("lsm.s/bprm_committed_creds") int lsm_sleep(void *ctx) { return 0; }
SEC("tc") int tc_prog(void *ctx) { return 0; }
SEC("classifier") int cls(void *ctx) { return 0; }
SEC("xdp.frags") int xdp_frags(void *ctx) { return 2; }
SEC("perf_event") int perf(void *ctx) { return 0; }
SEC("syscall") int sys(void *ctx) { return 0; }
SEC("cgroup_skb/ingress") int cg_in(void *ctx) { return 1; }
SEC("cgroup/connect4") int cg_conn(void *ctx) { return 1; }
SEC("ksyscall/openat") int ksys(void *ctx) { return 0; }
SEC("usdt/libc.so.6:libc:setjmp") int usdt_prog(void *ctx) { return 0; }
SEC("sk_reuseport/migrate") int reuse(void *ctx) { return 0; }
SEC("unknown_kind/whatever") int mystery(void *ctx) { return 0; }

// libbpf's table of SEC() names (libbpf.c section_defs): which program type and expected attach
// type a section name gives. Matching follows libbpf: "name" is exact, "name/" needs the slash,
// "name+" is exact or followed by "/extras". The first matching entry wins, so order matters.
#include <string_view>

#include "object/object.hpp"

namespace userbpf::object {
namespace {

// Values newer than the installed <linux/bpf.h> (Linux 6.1), numbered as Linux numbers them.
constexpr uint32_t kProgNetfilter = 32;
constexpr uint32_t kAttachNetfilter = 45;
constexpr uint32_t kAttachTcxIngress = 46;
constexpr uint32_t kAttachTcxEgress = 47;
constexpr uint32_t kAttachTraceUprobeMulti = 48;
constexpr uint32_t kAttachUnixConnect = 49;
constexpr uint32_t kAttachUnixSendmsg = 50;
constexpr uint32_t kAttachUnixRecvmsg = 51;
constexpr uint32_t kAttachUnixGetpeername = 52;
constexpr uint32_t kAttachUnixGetsockname = 53;
constexpr uint32_t kAttachNetkitPrimary = 54;
constexpr uint32_t kAttachNetkitPeer = 55;

struct Entry {
  std::string_view pattern;
  uint32_t type;
  uint32_t attach;
  bool sleepable;
};

constexpr uint32_t kNone = 0;

// Same order as libbpf's table (first match wins: "sk_reuseport/migrate" before "sk_reuseport").
constexpr Entry kTable[] = {
    {"socket", BPF_PROG_TYPE_SOCKET_FILTER, kNone, false},
    {"sk_reuseport/migrate", BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, false},
    {"sk_reuseport", BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT, false},
    {"kprobe+", BPF_PROG_TYPE_KPROBE, kNone, false},
    {"uprobe+", BPF_PROG_TYPE_KPROBE, kNone, false},
    {"uprobe.s+", BPF_PROG_TYPE_KPROBE, kNone, true},
    {"kretprobe+", BPF_PROG_TYPE_KPROBE, kNone, false},
    {"uretprobe+", BPF_PROG_TYPE_KPROBE, kNone, false},
    {"uretprobe.s+", BPF_PROG_TYPE_KPROBE, kNone, true},
    {"kprobe.multi+", BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, false},
    {"kretprobe.multi+", BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, false},
    {"uprobe.multi+", BPF_PROG_TYPE_KPROBE, kAttachTraceUprobeMulti, false},
    {"uretprobe.multi+", BPF_PROG_TYPE_KPROBE, kAttachTraceUprobeMulti, false},
    {"uprobe.multi.s+", BPF_PROG_TYPE_KPROBE, kAttachTraceUprobeMulti, true},
    {"uretprobe.multi.s+", BPF_PROG_TYPE_KPROBE, kAttachTraceUprobeMulti, true},
    {"ksyscall+", BPF_PROG_TYPE_KPROBE, kNone, false},
    {"kretsyscall+", BPF_PROG_TYPE_KPROBE, kNone, false},
    {"usdt+", BPF_PROG_TYPE_KPROBE, kNone, false},
    {"usdt.s+", BPF_PROG_TYPE_KPROBE, kNone, true},
    {"tc/ingress", BPF_PROG_TYPE_SCHED_CLS, kAttachTcxIngress, false},
    {"tc/egress", BPF_PROG_TYPE_SCHED_CLS, kAttachTcxEgress, false},
    {"tcx/ingress", BPF_PROG_TYPE_SCHED_CLS, kAttachTcxIngress, false},
    {"tcx/egress", BPF_PROG_TYPE_SCHED_CLS, kAttachTcxEgress, false},
    {"tc", BPF_PROG_TYPE_SCHED_CLS, kNone, false},
    {"classifier", BPF_PROG_TYPE_SCHED_CLS, kNone, false},
    {"action", BPF_PROG_TYPE_SCHED_ACT, kNone, false},
    {"netkit/primary", BPF_PROG_TYPE_SCHED_CLS, kAttachNetkitPrimary, false},
    {"netkit/peer", BPF_PROG_TYPE_SCHED_CLS, kAttachNetkitPeer, false},
    {"tracepoint+", BPF_PROG_TYPE_TRACEPOINT, kNone, false},
    {"tp+", BPF_PROG_TYPE_TRACEPOINT, kNone, false},
    {"raw_tracepoint+", BPF_PROG_TYPE_RAW_TRACEPOINT, kNone, false},
    {"raw_tp+", BPF_PROG_TYPE_RAW_TRACEPOINT, kNone, false},
    {"raw_tracepoint.w+", BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, kNone, false},
    {"raw_tp.w+", BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, kNone, false},
    {"tp_btf+", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, false},
    {"fentry+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, false},
    {"fmod_ret+", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, false},
    {"fexit+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, false},
    {"fentry.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, true},
    {"fmod_ret.s+", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, true},
    {"fexit.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, true},
    {"freplace+", BPF_PROG_TYPE_EXT, kNone, false},
    {"lsm+", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, false},
    {"lsm.s+", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, true},
    {"lsm_cgroup+", BPF_PROG_TYPE_LSM, BPF_LSM_CGROUP, false},
    {"iter+", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, false},
    {"iter.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, true},
    {"syscall", BPF_PROG_TYPE_SYSCALL, kNone, true},
    {"xdp.frags/devmap", BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP, false},
    {"xdp/devmap", BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP, false},
    {"xdp.frags/cpumap", BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP, false},
    {"xdp/cpumap", BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP, false},
    {"xdp.frags", BPF_PROG_TYPE_XDP, BPF_XDP, false},
    {"xdp", BPF_PROG_TYPE_XDP, BPF_XDP, false},
    {"perf_event", BPF_PROG_TYPE_PERF_EVENT, kNone, false},
    {"lwt_in", BPF_PROG_TYPE_LWT_IN, kNone, false},
    {"lwt_out", BPF_PROG_TYPE_LWT_OUT, kNone, false},
    {"lwt_xmit", BPF_PROG_TYPE_LWT_XMIT, kNone, false},
    {"lwt_seg6local", BPF_PROG_TYPE_LWT_SEG6LOCAL, kNone, false},
    {"sockops", BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS, false},
    {"sk_skb/stream_parser", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_PARSER, false},
    {"sk_skb/stream_verdict", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_VERDICT, false},
    {"sk_skb", BPF_PROG_TYPE_SK_SKB, kNone, false},
    {"sk_msg", BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT, false},
    {"lirc_mode2", BPF_PROG_TYPE_LIRC_MODE2, BPF_LIRC_MODE2, false},
    {"flow_dissector", BPF_PROG_TYPE_FLOW_DISSECTOR, BPF_FLOW_DISSECTOR, false},
    {"cgroup_skb/ingress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, false},
    {"cgroup_skb/egress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, false},
    {"cgroup/skb", BPF_PROG_TYPE_CGROUP_SKB, kNone, false},
    {"cgroup/sock_create", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, false},
    {"cgroup/sock_release", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_RELEASE, false},
    {"cgroup/sock", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, false},
    {"cgroup/post_bind4", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET4_POST_BIND, false},
    {"cgroup/post_bind6", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET6_POST_BIND, false},
    {"cgroup/bind4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND, false},
    {"cgroup/bind6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_BIND, false},
    {"cgroup/connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, false},
    {"cgroup/connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT, false},
    {"cgroup/connect_unix", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, kAttachUnixConnect, false},
    {"cgroup/sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG, false},
    {"cgroup/sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG, false},
    {"cgroup/sendmsg_unix", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, kAttachUnixSendmsg, false},
    {"cgroup/recvmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_RECVMSG, false},
    {"cgroup/recvmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_RECVMSG, false},
    {"cgroup/recvmsg_unix", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, kAttachUnixRecvmsg, false},
    {"cgroup/getpeername4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_GETPEERNAME, false},
    {"cgroup/getpeername6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_GETPEERNAME, false},
    {"cgroup/getpeername_unix", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, kAttachUnixGetpeername, false},
    {"cgroup/getsockname4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_GETSOCKNAME, false},
    {"cgroup/getsockname6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_GETSOCKNAME, false},
    {"cgroup/getsockname_unix", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, kAttachUnixGetsockname, false},
    {"cgroup/sysctl", BPF_PROG_TYPE_CGROUP_SYSCTL, BPF_CGROUP_SYSCTL, false},
    {"cgroup/getsockopt", BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_CGROUP_GETSOCKOPT, false},
    {"cgroup/setsockopt", BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_CGROUP_SETSOCKOPT, false},
    {"cgroup/dev", BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE, false},
    {"struct_ops+", BPF_PROG_TYPE_STRUCT_OPS, kNone, false},
    {"struct_ops.s+", BPF_PROG_TYPE_STRUCT_OPS, kNone, true},
    {"sk_lookup", BPF_PROG_TYPE_SK_LOOKUP, BPF_SK_LOOKUP, false},
    {"netfilter", kProgNetfilter, kAttachNetfilter, false},
};

// Returns the attach target (text after the separator) when `name` matches `pattern`.
std::optional<std::string_view> match(std::string_view pattern, std::string_view name) {
  const char last = pattern.back();
  if (last == '/') {
    if (!name.starts_with(pattern)) return std::nullopt;
    return name.substr(pattern.size());
  }
  if (last == '+') {
    const std::string_view stem = pattern.substr(0, pattern.size() - 1);
    if (!name.starts_with(stem)) return std::nullopt;
    if (name.size() == stem.size()) return std::string_view{};
    if (name[stem.size()] == '/') return name.substr(stem.size() + 1);
    return std::nullopt;
  }
  if (name == pattern) return std::string_view{};
  return std::nullopt;
}

}  // namespace

SectionDef classify_section(std::string_view section) {
  SectionDef def;
  // libbpf's SEC("?name"): the program is not autoloaded, and otherwise it is SEC("name").
  if (!section.empty() && section.front() == '?') section.remove_prefix(1);
  for (const Entry& entry : kTable) {
    const auto target = match(entry.pattern, section);
    if (!target) continue;
    def.prog_type = entry.type;
    def.expected_attach_type = entry.attach;
    def.sleepable = entry.sleepable;
    def.attach_target = std::string(*target);
    def.known = true;
    return def;
  }
  return def;
}

}  // namespace userbpf::object

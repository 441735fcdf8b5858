// Context access per program type: the dispatch to each family's rules (context_skb.cpp,
// context_sock.cpp, context_other.cpp), direct packet access and LD_ABS/LD_IND per type.
#include <linux/bpf.h>

#include "verifier/context.hpp"

namespace userbpf::verifier {

bool ctx_access_ok(const Program& program, const CtxAccess& access, CtxField& field) {
  field = CtxField{};
  if (access.size <= 0) return false;
  const uint32_t attach = program.expected_attach_type;
  switch (program.prog_type) {
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_LWT_SEG6LOCAL:
    case BPF_PROG_TYPE_SK_SKB:
    case BPF_PROG_TYPE_FLOW_DISSECTOR: return skb_ctx_access(program.prog_type, access, field);
    case BPF_PROG_TYPE_XDP: return xdp_ctx_access(attach, access, field);
    case BPF_PROG_TYPE_CGROUP_SOCK: return sock_ctx_access(attach, access, field);
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR: return sock_addr_ctx_access(attach, access, field);
    case BPF_PROG_TYPE_SOCK_OPS: return sock_ops_ctx_access(access, field);
    case BPF_PROG_TYPE_SK_MSG: return sk_msg_ctx_access(access, field);
    default: return other_ctx_access(program, access, field);
  }
}

// may_access_direct_pkt_data: reads of packet pointers are allowed wherever the context hands
// them out; writing needs one of these types.
bool may_access_packet(uint32_t prog_type, Access access) {
  switch (prog_type) {
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_SEG6LOCAL:
    case BPF_PROG_TYPE_SK_REUSEPORT:
    case BPF_PROG_TYPE_FLOW_DISSECTOR:
    case BPF_PROG_TYPE_CGROUP_SKB: return access == Access::read;
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_XDP:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_SK_SKB:
    case BPF_PROG_TYPE_SK_MSG:
    case BPF_PROG_TYPE_CGROUP_SOCKOPT: return true;
    default: return false;
  }
}

// may_access_skb.
bool may_use_ld_abs(uint32_t prog_type) {
  return prog_type == BPF_PROG_TYPE_SOCKET_FILTER || prog_type == BPF_PROG_TYPE_SCHED_CLS ||
         prog_type == BPF_PROG_TYPE_SCHED_ACT;
}

}  // namespace userbpf::verifier

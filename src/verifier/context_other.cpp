// The contexts of the remaining program types: xdp_md, tracing (pt_regs, trace records, raw
// arguments, BTF-typed arguments), perf events, cgroup device/sysctl/sockopt, sk_reuseport,
// sk_lookup, netfilter, lirc and syscall programs (their Linux *_is_valid_access callbacks).
// BTF-typed pointers (tracing arguments, netfilter's skb and state) are not modelled: their
// reads give scalars, which can never be dereferenced, so this refuses more than Linux, never
// less.
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>

#include <cstddef>

#include "verifier/context.hpp"

namespace userbpf::verifier {
namespace {

constexpr int kSizeDefault = 4;
constexpr int kPtRegsSize = 168;         // struct pt_regs on x86-64
constexpr int kPerfMaxTraceSize = 8192;  // PERF_MAX_TRACE_SIZE
constexpr int kMaxFuncArgs = 12;         // MAX_BPF_FUNC_ARGS
constexpr int kNfCtxSize = 16;           // struct bpf_nf_ctx { state; skb; }

#define OFF(T, f) static_cast<int32_t>(offsetof(T, f))
#define IN(T, f, off) ((off) >= OFF(T, f) && (off) < OFF(T, f) + static_cast<int32_t>(sizeof(T::f)))
#define IN_PTR(T, f, off) ((off) >= OFF(T, f) && (off) < OFF(T, f) + 8)

bool narrow_ok(int size, int field_size) {
  return size <= field_size && (size & (size - 1)) == 0;
}

bool read_only_aligned(const CtxAccess& a) {
  return a.access == Access::read && a.off % a.size == 0;
}

// bpf_tracing_ctx_access: the u64 argument array of raw tracepoints.
bool tracing_args(const CtxAccess& a) {
  return a.off >= 0 && a.off < 8 * kMaxFuncArgs && read_only_aligned(a);
}

bool perf_event(const CtxAccess& a) {
  if (a.off < 0 || a.off >= static_cast<int32_t>(sizeof(bpf_perf_event_data))) return false;
  if (!read_only_aligned(a)) return false;
  if (IN(bpf_perf_event_data, sample_period, a.off) || IN(bpf_perf_event_data, addr, a.off))
    return narrow_ok(a.size, 8);
  return a.size == 8;
}

bool cgroup_device(const CtxAccess& a) {
  if (a.access == Access::write) return false;
  if (a.off < 0 || a.off + a.size > static_cast<int32_t>(sizeof(bpf_cgroup_dev_ctx))) return false;
  if (a.off % a.size != 0) return false;
  if (IN(bpf_cgroup_dev_ctx, access_type, a.off)) return narrow_ok(a.size, kSizeDefault);
  return a.size == kSizeDefault;
}

bool sysctl(const CtxAccess& a) {
  if (a.off < 0 || a.off + a.size > static_cast<int32_t>(sizeof(bpf_sysctl)) || a.off % a.size)
    return false;
  if (IN(bpf_sysctl, write, a.off))
    return a.access == Access::read && narrow_ok(a.size, kSizeDefault);
  if (IN(bpf_sysctl, file_pos, a.off))
    return a.access == Access::read ? narrow_ok(a.size, kSizeDefault) : a.size == kSizeDefault;
  return false;
}

// cg_sockopt_is_valid_access: optval/optval_end are packet-like pointers.
bool sockopt(uint32_t attach, const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  if (off < 0 || off >= static_cast<int32_t>(sizeof(bpf_sockopt))) return false;
  if (off % a.size != 0) return false;
  if (a.access == Access::write) {
    if (off == OFF(bpf_sockopt, retval))
      return a.size == kSizeDefault && attach == BPF_CGROUP_GETSOCKOPT;
    if (off == OFF(bpf_sockopt, optname) || off == OFF(bpf_sockopt, level))
      return a.size == kSizeDefault && attach == BPF_CGROUP_SETSOCKOPT;
    if (off == OFF(bpf_sockopt, optlen)) return a.size == kSizeDefault;
    return false;
  }
  if (IN_PTR(bpf_sockopt, sk, off)) {
    field.type = RegType::ptr_to_socket;
    return a.size == 8;
  }
  if (IN_PTR(bpf_sockopt, optval, off)) {
    field.type = RegType::ptr_to_packet;
    return a.size == 8;
  }
  if (IN_PTR(bpf_sockopt, optval_end, off)) {
    field.type = RegType::ptr_to_packet_end;
    return a.size == 8;
  }
  if (IN(bpf_sockopt, retval, off))
    return a.size == kSizeDefault && attach == BPF_CGROUP_GETSOCKOPT;
  return a.size == kSizeDefault;
}

bool sk_reuseport(const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  if (off < 0 || off >= static_cast<int32_t>(sizeof(sk_reuseport_md)) || off % a.size ||
      a.access != Access::read)
    return false;
  if (off == OFF(sk_reuseport_md, data)) {
    field.type = RegType::ptr_to_packet;
    return a.size == 8;
  }
  if (off == OFF(sk_reuseport_md, data_end)) {
    field.type = RegType::ptr_to_packet_end;
    return a.size == 8;
  }
  if (off == OFF(sk_reuseport_md, hash)) return a.size == kSizeDefault;
  if (off == OFF(sk_reuseport_md, sk)) {
    field.type = RegType::ptr_to_socket;
    return a.size == 8;
  }
  if (off == OFF(sk_reuseport_md, migrating_sk)) {
    field.type = RegType::ptr_to_sock_common;
    field.maybe_null = true;
    return a.size == 8;
  }
  if (IN(sk_reuseport_md, eth_protocol, off) && a.size < 2) return false;  // sk_buff::protocol
  if (IN(sk_reuseport_md, eth_protocol, off) || IN(sk_reuseport_md, ip_protocol, off) ||
      IN(sk_reuseport_md, bind_inany, off) || IN(sk_reuseport_md, len, off))
    return narrow_ok(a.size, kSizeDefault);
  return false;
}

bool sk_lookup(const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  if (off < 0 || off >= static_cast<int32_t>(sizeof(bpf_sk_lookup))) return false;
  if (off % a.size != 0 || a.access != Access::read) return false;
  if (IN_PTR(bpf_sk_lookup, sk, off)) {
    field.type = RegType::ptr_to_socket;
    field.maybe_null = true;
    return a.size == 8;
  }
  if (IN(bpf_sk_lookup, family, off) || IN(bpf_sk_lookup, protocol, off) ||
      IN(bpf_sk_lookup, remote_ip4, off) || IN(bpf_sk_lookup, local_ip4, off) ||
      IN(bpf_sk_lookup, remote_ip6, off) || IN(bpf_sk_lookup, local_ip6, off) ||
      IN(bpf_sk_lookup, local_port, off) || IN(bpf_sk_lookup, ingress_ifindex, off))
    return narrow_ok(a.size, kSizeDefault);
  if (IN(bpf_sk_lookup, remote_port, off)) return a.size == kSizeDefault || narrow_ok(a.size, 2);
  const int32_t port_end = OFF(bpf_sk_lookup, remote_port) + 2;
  if (off >= port_end && off < OFF(bpf_sk_lookup, local_ip4)) return narrow_ok(a.size, 2);
  return false;
}

bool netfilter(const CtxAccess& a) {
  if (a.off < 0 || a.off >= kNfCtxSize || a.off % a.size != 0) return false;
  if (a.access == Access::write) return false;
  return a.size == 8;  // the state and skb pointers, read whole
}

}  // namespace

// xdp_is_valid_access.
bool xdp_ctx_access(uint32_t attach, const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  if (attach != BPF_XDP_DEVMAP && off == OFF(xdp_md, egress_ifindex)) return false;
  if (a.access == Access::write) return false;  // rx_queue_index only when offloaded
  const bool pointer =
      off == OFF(xdp_md, data) || off == OFF(xdp_md, data_end) || off == OFF(xdp_md, data_meta);
  if (pointer && a.sign_extend) return false;
  if (off == OFF(xdp_md, data)) field.type = RegType::ptr_to_packet;
  if (off == OFF(xdp_md, data_end)) field.type = RegType::ptr_to_packet_end;
  if (off == OFF(xdp_md, data_meta)) field.type = RegType::ptr_to_packet_meta;
  if (off < 0 || off >= static_cast<int32_t>(sizeof(xdp_md))) return false;
  return off % a.size == 0 && a.size == kSizeDefault;
}

bool other_ctx_access(const Program& program, const CtxAccess& a, CtxField& field) {
  switch (program.prog_type) {
    case BPF_PROG_TYPE_KPROBE:
      return a.off >= 0 && a.off < kPtRegsSize && read_only_aligned(a) &&
             a.off + a.size <= kPtRegsSize;
    case BPF_PROG_TYPE_TRACEPOINT:
      // The record after its common 8-byte header.
      return a.off >= 8 && a.off < kPerfMaxTraceSize && read_only_aligned(a);
    case BPF_PROG_TYPE_RAW_TRACEPOINT:
    case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE:
      // (the writable flavour's first argument is a buffer pointer, read here as a scalar)
      if (program.prog_type == BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE && a.off == 0 && a.size != 8)
        return false;
      return tracing_args(a);
    case BPF_PROG_TYPE_TRACING:
    case BPF_PROG_TYPE_LSM:
    case BPF_PROG_TYPE_STRUCT_OPS:
      // btf_ctx_access: whole u64 argument slots (the argument's BTF type is not checked).
      return tracing_args(a) && a.off % 8 == 0;
    case BPF_PROG_TYPE_PERF_EVENT: return perf_event(a);
    case BPF_PROG_TYPE_CGROUP_DEVICE: return cgroup_device(a);
    case BPF_PROG_TYPE_CGROUP_SYSCTL: return sysctl(a);
    case BPF_PROG_TYPE_CGROUP_SOCKOPT: return sockopt(program.expected_attach_type, a, field);
    case BPF_PROG_TYPE_SK_REUSEPORT: return sk_reuseport(a, field);
    case BPF_PROG_TYPE_SK_LOOKUP: return sk_lookup(a, field);
    case BPF_PROG_TYPE_LIRC_MODE2: return a.access == Access::read && a.off == 0 && a.size == 4;
    case BPF_PROG_TYPE_SYSCALL: return a.off >= 0 && a.off < 0xffff && a.off % a.size == 0;
    case linux_abi::kProgTypeNetfilter: return netfilter(a);
    default:
      // freplace (EXT) programs see their target's context, which is not known here.
      return false;
  }
}

}  // namespace userbpf::verifier

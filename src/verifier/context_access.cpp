// Context access per program type: which offsets and sizes of the context struct a program may
// read or write, and what a read gives (Linux's *_is_valid_access callbacks).
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>

#include <cstddef>

#include "verifier/env.hpp"

namespace userbpf::verifier {
namespace {

constexpr int kPtRegsSize = 168;  // struct pt_regs on x86-64
constexpr int kPerfMaxTraceSize = 8192;

bool in_field(int32_t off, int size, size_t field_off, size_t field_size) {
  return off >= static_cast<int32_t>(field_off) &&
         off + size <= static_cast<int32_t>(field_off + field_size);
}

#define SKB_FIELD(f) offsetof(__sk_buff, f), sizeof(__sk_buff::f)

// struct __sk_buff for socket filters (sk_filter_is_valid_access + bpf_skb_is_valid_access).
bool skb_access(int32_t off, int size, Access access, RegType& loaded) {
  if (off < 0 || off >= static_cast<int32_t>(sizeof(__sk_buff))) return false;
  if (off % size != 0) return false;
  // Fields socket filters never see: direct packet access, sockets, timestamps for tc.
  if (in_field(off, size, SKB_FIELD(data)) || in_field(off, size, SKB_FIELD(data_end)) ||
      in_field(off, size, SKB_FIELD(data_meta)) || in_field(off, size, SKB_FIELD(tc_classid)) ||
      in_field(off, size, SKB_FIELD(flow_keys)) || in_field(off, size, SKB_FIELD(tstamp)) ||
      in_field(off, size, SKB_FIELD(wire_len)) || in_field(off, size, SKB_FIELD(hwtstamp)))
    return false;
  if (access == Access::write) {
    // Only the cb[] scratch area is writable for socket filters.
    return in_field(off, size, SKB_FIELD(cb));
  }
  if (in_field(off, size, SKB_FIELD(sk))) return false;
  // Most fields are u32: 4-byte reads, or narrower reads of the low bytes in Linux 5.x+.
  if (size == 8) return false;
  loaded = RegType::scalar;
  return true;
}

// struct xdp_md (xdp_is_valid_access): read-only u32 fields; data, data_end, data_meta give
// packet pointers.
bool xdp_access(int32_t off, int size, Access access, RegType& loaded) {
  if (off < 0 || off >= static_cast<int32_t>(sizeof(xdp_md))) return false;
  if (off % size != 0) return false;
  if (access == Access::write) return false;
  loaded = RegType::scalar;
  auto whole = [&](size_t field_off) {
    return off == static_cast<int32_t>(field_off) && size == 4;
  };
  if (off == static_cast<int32_t>(offsetof(xdp_md, data))) {
    if (!whole(offsetof(xdp_md, data))) return false;
    loaded = RegType::ptr_to_packet;
  } else if (off == static_cast<int32_t>(offsetof(xdp_md, data_end))) {
    if (!whole(offsetof(xdp_md, data_end))) return false;
    loaded = RegType::ptr_to_packet_end;
  } else if (off == static_cast<int32_t>(offsetof(xdp_md, data_meta))) {
    if (!whole(offsetof(xdp_md, data_meta))) return false;
    loaded = RegType::ptr_to_packet_meta;
  } else if (size != 4) {
    return false;
  }
  return true;
}

}  // namespace

bool ctx_access_ok(uint32_t prog_type, int32_t off, int size, Access access, RegType& loaded) {
  loaded = RegType::scalar;
  switch (prog_type) {
    case BPF_PROG_TYPE_SOCKET_FILTER: return skb_access(off, size, access, loaded);
    case BPF_PROG_TYPE_XDP: return xdp_access(off, size, access, loaded);
    case BPF_PROG_TYPE_KPROBE:
      // kprobe_prog_is_valid_access: aligned reads inside struct pt_regs.
      if (off < 0 || off >= kPtRegsSize || access != Access::read || off % size != 0) return false;
      return off + size <= kPtRegsSize;
    case BPF_PROG_TYPE_TRACEPOINT:
      // tp_prog_is_valid_access: the record after its common 8-byte header is out of bounds
      // checks' reach; Linux allows [8, PERF_MAX_TRACE_SIZE) aligned reads.
      if (off < static_cast<int32_t>(sizeof(void*)) || off >= kPerfMaxTraceSize) return false;
      return access == Access::read && off % size == 0;
    case BPF_PROG_TYPE_RAW_TRACEPOINT:
      // raw_tp_prog_is_valid_access: u64 arguments, up to MAX_BPF_FUNC_ARGS of them.
      if (off < 0 || off >= 12 * 8 || access != Access::read || off % size != 0) return false;
      return size == 8;
    case BPF_PROG_TYPE_PERF_EVENT: {
      // pe_prog_is_valid_access: pt_regs, then sample_period and addr (u64, narrow reads ok).
      constexpr int sample_period = offsetof(bpf_perf_event_data, sample_period);
      constexpr int addr = offsetof(bpf_perf_event_data, addr);
      if (off < 0 || off >= static_cast<int32_t>(sizeof(bpf_perf_event_data))) return false;
      if (access != Access::read || off % size != 0) return false;
      if (off >= sample_period && off < addr + 8) return true;
      return size == 8 && off + size <= kPtRegsSize;
    }
    default:
      // Program types without a context model yet: be permissive only in what is certainly
      // inside a context struct, never past it.
      return off >= 0 && off + size <= 256 && off % size == 0 && access == Access::read;
  }
}

bool may_access_packet(uint32_t prog_type, Access access) {
  switch (prog_type) {
    case BPF_PROG_TYPE_XDP:
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_SK_SKB:
    case BPF_PROG_TYPE_SK_MSG: return true;
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_SEG6LOCAL:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_FLOW_DISSECTOR: return access == Access::read;
    default: return false;
  }
}

}  // namespace userbpf::verifier

// struct __sk_buff as each socket-buffer program type sees it (net/core/filter.c's
// bpf_skb_is_valid_access and the per-type callbacks in front of it): which fields exist for the
// type, which may be written, which reads give packet pointers, and the narrow-load rules.
#include <linux/bpf.h>

#include <cstddef>

#include "verifier/context.hpp"

namespace userbpf::verifier {
namespace {

// A field as the byte range [begin, end) of the struct: Linux's bpf_ctx_range cases match any
// offset inside the field.
struct Field {
  int32_t begin;
  int32_t end;
  bool has(int32_t off) const { return off >= begin && off < end; }
};

#define SKB(f)                                                              \
  Field {                                                                   \
    static_cast<int32_t>(offsetof(__sk_buff, f)),                           \
        static_cast<int32_t>(offsetof(__sk_buff, f) + sizeof(__sk_buff::f)) \
  }
#define SKB_TILL(a, b)                                                                             \
  Field {                                                                                          \
    static_cast<int32_t>(offsetof(__sk_buff, a)), static_cast<int32_t>(offsetof(__sk_buff, b) + 4) \
  }

constexpr int kSizeDefault = 4;

// bpf_ctx_narrow_access_ok: a power-of-two load no wider than the field.
bool narrow_ok(int size, int field_size) {
  return size <= field_size && (size & (size - 1)) == 0;
}

// bpf_skb_is_valid_access: the rules every socket-buffer type shares.
bool skb_common(const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  const int size = a.size;
  const bool write = a.access == Access::write;
  if (off < 0 || off >= static_cast<int32_t>(sizeof(__sk_buff))) return false;
  if (off % size != 0) return false;
  const Field cb{static_cast<int32_t>(offsetof(__sk_buff, cb)),
                 static_cast<int32_t>(offsetof(__sk_buff, cb) + sizeof(__sk_buff::cb))};
  const Field sk{static_cast<int32_t>(offsetof(__sk_buff, sk)),
                 static_cast<int32_t>(offsetof(__sk_buff, sk) + 8)};
  const Field flow_keys{static_cast<int32_t>(offsetof(__sk_buff, flow_keys)),
                        static_cast<int32_t>(offsetof(__sk_buff, flow_keys) + 8)};
  const auto tstamp_type = static_cast<int32_t>(offsetof(__sk_buff, tstamp_type));
  const auto hwtstamp_begin = static_cast<int32_t>(offsetof(__sk_buff, hwtstamp));
  if (cb.has(off)) return off + size <= cb.end;
  if (SKB(data).has(off) || SKB(data_meta).has(off) || SKB(data_end).has(off))
    return !a.sign_extend && size == kSizeDefault;
  if (SKB_TILL(remote_ip6[0], remote_ip6[3]).has(off) ||
      SKB_TILL(local_ip6[0], local_ip6[3]).has(off) || SKB(remote_ip4).has(off) ||
      SKB(local_ip4).has(off))
    return size == kSizeDefault;
  if (flow_keys.has(off)) return false;
  if (SKB(hwtstamp).has(off)) return !write && size == 8;
  if (SKB(tstamp).has(off)) return size == 8;
  if (sk.has(off)) {
    if (write || size != 8) return false;
    field.type = RegType::ptr_to_sock_common;
    field.maybe_null = true;
    return true;
  }
  if (off == tstamp_type) return false;
  if (off > tstamp_type && off < hwtstamp_begin) return false;  // padding
  if (write) return size == kSizeDefault;
  return narrow_ok(size, kSizeDefault);
}

// The packet pointers the socket-buffer types that have direct packet access read.
void packet_field(int32_t off, bool with_meta, CtxField& field) {
  if (SKB(data).has(off)) field.type = RegType::ptr_to_packet;
  if (SKB(data_end).has(off)) field.type = RegType::ptr_to_packet_end;
  if (with_meta && SKB(data_meta).has(off)) field.type = RegType::ptr_to_packet_meta;
}

bool family_to_local_port(int32_t off) {
  return SKB_TILL(family, local_port).has(off);
}

// sk_filter_is_valid_access: socket filters see neither packet pointers nor socket addresses.
bool socket_filter(const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  if (SKB(tc_classid).has(off) || SKB(data).has(off) || SKB(data_meta).has(off) ||
      SKB(data_end).has(off) || family_to_local_port(off) || SKB(tstamp).has(off) ||
      SKB(wire_len).has(off) || SKB(hwtstamp).has(off))
    return false;
  if (a.access == Access::write && !SKB_TILL(cb[0], cb[4]).has(off)) return false;
  return skb_common(a, field);
}

// cg_skb_is_valid_access: packet pointers need CAP_BPF, and so does writing tstamp.
bool cgroup_skb(const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  if (SKB(tc_classid).has(off) || SKB(data_meta).has(off) || SKB(wire_len).has(off)) return false;
  if ((SKB(data).has(off) || SKB(data_end).has(off)) && !a.cap_bpf) return false;
  if (a.access == Access::write) {
    if (SKB(tstamp).has(off)) {
      if (!a.cap_bpf) return false;
    } else if (!SKB(mark).has(off) && !SKB(priority).has(off) && !SKB_TILL(cb[0], cb[4]).has(off)) {
      return false;
    }
  }
  packet_field(off, false, field);
  return skb_common(a, field);
}

// lwt_is_valid_access (lwt_in, lwt_out, lwt_xmit, lwt_seg6local).
bool lwt(const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  if (SKB(tc_classid).has(off) || family_to_local_port(off) || SKB(data_meta).has(off) ||
      SKB(tstamp).has(off) || SKB(wire_len).has(off) || SKB(hwtstamp).has(off))
    return false;
  if (a.access == Access::write && !SKB(mark).has(off) && !SKB(priority).has(off) &&
      !SKB_TILL(cb[0], cb[4]).has(off))
    return false;
  packet_field(off, false, field);
  return skb_common(a, field);
}

// tc_cls_act_is_valid_access (sched_cls, sched_act).
bool tc(const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  if (a.access == Access::write) {
    const bool writable = SKB(mark).has(off) || SKB(tc_index).has(off) || SKB(priority).has(off) ||
                          SKB(tc_classid).has(off) || SKB_TILL(cb[0], cb[4]).has(off) ||
                          SKB(tstamp).has(off) || SKB(queue_mapping).has(off);
    if (!writable) return false;
  }
  packet_field(off, true, field);
  if (family_to_local_port(off)) return false;
  if (off == static_cast<int32_t>(offsetof(__sk_buff, tstamp_type))) return a.size == 1;
  return skb_common(a, field);
}

// sk_skb_is_valid_access (stream parser and verdict programs).
bool sk_skb(const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  if (SKB(tc_classid).has(off) || SKB(data_meta).has(off) || SKB(tstamp).has(off) ||
      SKB(wire_len).has(off) || SKB(hwtstamp).has(off))
    return false;
  if (a.access == Access::write && !SKB(tc_index).has(off) && !SKB(priority).has(off)) return false;
  if (SKB(mark).has(off)) return false;
  packet_field(off, false, field);
  return skb_common(a, field);
}

// flow_dissector_is_valid_access: read-only; data, data_end and the flow keys.
bool flow_dissector(const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  if (off < 0 || off >= static_cast<int32_t>(sizeof(__sk_buff))) return false;
  if (off % a.size != 0 || a.access == Access::write) return false;
  if (SKB(data).has(off) || SKB(data_end).has(off)) {
    if (a.sign_extend || a.size != kSizeDefault) return false;
    packet_field(off, false, field);
    return true;
  }
  const auto keys = static_cast<int32_t>(offsetof(__sk_buff, flow_keys));
  if (off >= keys && off < keys + 8) {
    if (a.size != 8) return false;
    field.type = RegType::ptr_to_flow_keys;
    return true;
  }
  return false;
}

}  // namespace

bool skb_ctx_access(uint32_t prog_type, const CtxAccess& access, CtxField& field) {
  switch (prog_type) {
    case BPF_PROG_TYPE_SOCKET_FILTER: return socket_filter(access, field);
    case BPF_PROG_TYPE_CGROUP_SKB: return cgroup_skb(access, field);
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_LWT_SEG6LOCAL: return lwt(access, field);
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT: return tc(access, field);
    case BPF_PROG_TYPE_SK_SKB: return sk_skb(access, field);
    case BPF_PROG_TYPE_FLOW_DISSECTOR: return flow_dissector(access, field);
    default: return false;
  }
}

}  // namespace userbpf::verifier

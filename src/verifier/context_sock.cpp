// Socket contexts and socket objects (net/core/filter.c): struct bpf_sock for cgroup_sock
// programs (fields per attach type), bpf_sock_addr (address fields of the attach type's family),
// bpf_sock_ops, sk_msg_md, and the reads allowed through PTR_TO_SOCK_COMMON, PTR_TO_SOCKET,
// PTR_TO_TCP_SOCK and PTR_TO_XDP_SOCK (check_sock_access).
#include <linux/bpf.h>

#include <cstddef>

#include "verifier/context.hpp"

namespace userbpf::verifier {
namespace {

constexpr int kSizeDefault = 4;

// [begin, end) of a field or of a run of fields; Linux's bpf_ctx_range cases match any offset
// inside.
struct Range {
  int32_t begin;
  int32_t end;
  bool has(int32_t off) const { return off >= begin && off < end; }
};

template <typename T>
constexpr int32_t at(size_t offset) {
  (void)sizeof(T);
  return static_cast<int32_t>(offset);
}

#define FIELD(T, f)                                             \
  Range {                                                       \
    at<T>(offsetof(T, f)), at<T>(offsetof(T, f) + sizeof(T::f)) \
  }
#define FIELDS(T, a, b)                                         \
  Range {                                                       \
    at<T>(offsetof(T, a)), at<T>(offsetof(T, b) + sizeof(T::b)) \
  }
// __bpf_md_ptr fields are 8 bytes whatever the pointer size.
#define PTR_FIELD(T, f)                              \
  Range {                                            \
    at<T>(offsetof(T, f)), at<T>(offsetof(T, f) + 8) \
  }
#define OFF(T, f) static_cast<int32_t>(offsetof(T, f))

bool narrow_ok(int size, int field_size) {
  return size <= field_size && (size & (size - 1)) == 0;
}

// bpf_ctx_wide_access_ok: an aligned 8-byte access inside an array of u32 (IPv6 addresses).
bool wide_ok(int32_t off, int size, Range array) {
  return size == 8 && off >= array.begin && off + 8 <= array.end && off % 8 == 0;
}

// bpf_sock_is_valid_access.
bool bpf_sock_field(int32_t off, int size) {
  if (off < 0 || off >= static_cast<int32_t>(sizeof(bpf_sock))) return false;
  if (off % size != 0) return false;
  if (off == OFF(bpf_sock, state) || off == OFF(bpf_sock, family) || off == OFF(bpf_sock, type) ||
      off == OFF(bpf_sock, protocol) || off == OFF(bpf_sock, src_port) ||
      off == OFF(bpf_sock, rx_queue_mapping) || FIELD(bpf_sock, src_ip4).has(off) ||
      FIELD(bpf_sock, src_ip6).has(off) || FIELD(bpf_sock, dst_ip4).has(off) ||
      FIELD(bpf_sock, dst_ip6).has(off))
    return narrow_ok(size, kSizeDefault);
  const Range dst_port = FIELD(bpf_sock, dst_port);
  if (dst_port.has(off)) {
    // A 4-byte load of the 2-byte port (and its zero padding) stays allowed for old programs.
    const int field_size = size == kSizeDefault ? kSizeDefault : 2;
    return narrow_ok(size, field_size);
  }
  if (off >= dst_port.end && off < OFF(bpf_sock, dst_ip4)) return false;  // padding
  return size == kSizeDefault;
}

// bpf_sock_common_is_valid_access: request and timewait sockets lack type..priority.
bool sock_common_field(int32_t off, int size) {
  if (FIELDS(bpf_sock, type, priority).has(off)) return false;
  return bpf_sock_field(off, size);
}

// bpf_tcp_sock_is_valid_access.
bool tcp_sock_field(int32_t off, int size) {
  if (off < 0 || off >= OFF(bpf_tcp_sock, icsk_retransmits) + 4) return false;
  if (off % size != 0) return false;
  if (off == OFF(bpf_tcp_sock, bytes_received) || off == OFF(bpf_tcp_sock, bytes_acked))
    return size == 8;
  return size == kSizeDefault;
}

// bpf_xdp_sock_is_valid_access.
bool xdp_sock_field(int32_t off, int size) {
  if (off < 0 || off >= OFF(bpf_xdp_sock, queue_id) + 4) return false;
  return off % size == 0 && size == kSizeDefault;
}

bool is_attach(uint32_t attach, std::initializer_list<uint32_t> types) {
  for (uint32_t t : types)
    if (attach == t) return true;
  return false;
}

// The bpf_sock_ops fields of Linux 6.12 past the installed <linux/bpf.h> (skb_hwtstamp, 6.2).
constexpr int32_t kSockOpsHwtstamp = OFF(bpf_sock_ops, skb_tcp_flags) + 4;
constexpr int32_t kSockOpsSize = kSockOpsHwtstamp + 8;
static_assert(kSockOpsHwtstamp % 8 == 0);

}  // namespace

// sock_filter_is_valid_access + __sock_filter_check_attach_type (cgroup_sock programs).
bool sock_ctx_access(uint32_t attach, const CtxAccess& a, CtxField& field) {
  (void)field;
  const int32_t off = a.off;
  if (!bpf_sock_field(off, a.size)) return false;
  const bool read = a.access == Access::read;
  if (off == OFF(bpf_sock, bound_dev_if) || off == OFF(bpf_sock, mark) ||
      off == OFF(bpf_sock, priority))
    return is_attach(attach, {BPF_CGROUP_INET_SOCK_CREATE, BPF_CGROUP_INET_SOCK_RELEASE});
  if (FIELD(bpf_sock, src_ip4).has(off)) return attach == BPF_CGROUP_INET4_POST_BIND && read;
  if (FIELD(bpf_sock, src_ip6).has(off)) return attach == BPF_CGROUP_INET6_POST_BIND && read;
  if (FIELD(bpf_sock, src_port).has(off))
    return is_attach(attach, {BPF_CGROUP_INET4_POST_BIND, BPF_CGROUP_INET6_POST_BIND}) && read;
  return read;
}

// sock_addr_is_valid_access (cgroup_sock_addr programs).
bool sock_addr_ctx_access(uint32_t attach, const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  const int size = a.size;
  if (off < 0 || off >= static_cast<int32_t>(sizeof(bpf_sock_addr))) return false;
  if (off % size != 0) return false;
  const Range user_ip4 = FIELD(bpf_sock_addr, user_ip4);
  const Range user_ip6 = FIELD(bpf_sock_addr, user_ip6);
  const Range msg_src_ip4 = FIELD(bpf_sock_addr, msg_src_ip4);
  const Range msg_src_ip6 = FIELD(bpf_sock_addr, msg_src_ip6);
  // Only the address fields of the attach type's family exist.
  if (user_ip4.has(off) &&
      !is_attach(attach,
                 {BPF_CGROUP_INET4_BIND, BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET4_GETPEERNAME,
                  BPF_CGROUP_INET4_GETSOCKNAME, BPF_CGROUP_UDP4_SENDMSG, BPF_CGROUP_UDP4_RECVMSG}))
    return false;
  if (user_ip6.has(off) &&
      !is_attach(attach,
                 {BPF_CGROUP_INET6_BIND, BPF_CGROUP_INET6_CONNECT, BPF_CGROUP_INET6_GETPEERNAME,
                  BPF_CGROUP_INET6_GETSOCKNAME, BPF_CGROUP_UDP6_SENDMSG, BPF_CGROUP_UDP6_RECVMSG}))
    return false;
  if (msg_src_ip4.has(off) && attach != BPF_CGROUP_UDP4_SENDMSG) return false;
  if (msg_src_ip6.has(off) && attach != BPF_CGROUP_UDP6_SENDMSG) return false;

  if (user_ip4.has(off) || user_ip6.has(off) || msg_src_ip4.has(off) || msg_src_ip6.has(off) ||
      FIELD(bpf_sock_addr, user_port).has(off)) {
    if (wide_ok(off, size, user_ip6) || wide_ok(off, size, msg_src_ip6)) return true;
    if (a.access == Access::read) return narrow_ok(size, kSizeDefault);
    return size == kSizeDefault;
  }
  if (PTR_FIELD(bpf_sock_addr, sk).has(off)) {
    if (a.access != Access::read || size != 8) return false;
    field.type = RegType::ptr_to_socket;
    return true;
  }
  if (FIELD(bpf_sock_addr, user_family).has(off) || FIELD(bpf_sock_addr, family).has(off) ||
      FIELD(bpf_sock_addr, type).has(off) || FIELD(bpf_sock_addr, protocol).has(off))
    return a.access == Access::read && size == kSizeDefault;
  return false;
}

// sock_ops_is_valid_access.
bool sock_ops_ctx_access(const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  const int size = a.size;
  if (off < 0 || off >= kSockOpsSize) return false;
  if (off % size != 0) return false;
  if (a.access == Access::write) {
    if (off == OFF(bpf_sock_ops, reply) || off == OFF(bpf_sock_ops, sk_txhash))
      return size == kSizeDefault;
    return false;
  }
  if (FIELDS(bpf_sock_ops, bytes_received, bytes_acked).has(off)) return size == 8;
  if (PTR_FIELD(bpf_sock_ops, sk).has(off)) {
    if (size != 8) return false;
    field.type = RegType::ptr_to_socket;
    field.maybe_null = true;
    return true;
  }
  if (PTR_FIELD(bpf_sock_ops, skb_data).has(off)) {
    if (size != 8) return false;
    field.type = RegType::ptr_to_packet;
    return true;
  }
  if (PTR_FIELD(bpf_sock_ops, skb_data_end).has(off)) {
    if (size != 8) return false;
    field.type = RegType::ptr_to_packet_end;
    return true;
  }
  if (off == OFF(bpf_sock_ops, skb_tcp_flags)) return narrow_ok(size, kSizeDefault);
  if (off >= kSockOpsHwtstamp && off < kSockOpsHwtstamp + 8) return size == 8;
  return size == kSizeDefault;
}

// sk_msg_is_valid_access: read-only.
bool sk_msg_ctx_access(const CtxAccess& a, CtxField& field) {
  const int32_t off = a.off;
  const int size = a.size;
  if (a.access == Access::write) return false;
  if (off % size != 0) return false;
  if (PTR_FIELD(sk_msg_md, data).has(off)) {
    field.type = RegType::ptr_to_packet;
    return size == 8;
  }
  if (PTR_FIELD(sk_msg_md, data_end).has(off)) {
    field.type = RegType::ptr_to_packet_end;
    return size == 8;
  }
  if (PTR_FIELD(sk_msg_md, sk).has(off)) {
    field.type = RegType::ptr_to_socket;
    return size == 8;
  }
  if (FIELD(sk_msg_md, family).has(off) || FIELD(sk_msg_md, remote_ip4).has(off) ||
      FIELD(sk_msg_md, local_ip4).has(off) || FIELD(sk_msg_md, remote_ip6).has(off) ||
      FIELD(sk_msg_md, local_ip6).has(off) || FIELD(sk_msg_md, remote_port).has(off) ||
      FIELD(sk_msg_md, local_port).has(off) || FIELD(sk_msg_md, size).has(off))
    return size == kSizeDefault;
  return false;
}

bool sock_object_access_ok(RegType type, int32_t off, int size) {
  switch (type) {
    case RegType::ptr_to_sock_common: return sock_common_field(off, size);
    case RegType::ptr_to_socket: return bpf_sock_field(off, size);
    case RegType::ptr_to_tcp_sock: return tcp_sock_field(off, size);
    case RegType::ptr_to_xdp_sock: return xdp_sock_field(off, size);
    default: return false;
  }
}

}  // namespace userbpf::verifier

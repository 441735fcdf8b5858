#include "verifier/alignment.hpp"

#include <fmt/format.h>

namespace userbpf::verifier {
namespace {

constexpr int kNetIpAlign = 2;  // NET_IP_ALIGN: the IP header starts 2 bytes into the packet

const char* pointer_desc(RegType type) {
  switch (type) {
    case RegType::ptr_to_map_key: return "key ";
    case RegType::ptr_to_map_value: return "value ";
    case RegType::ptr_to_ctx: return "context ";
    case RegType::ptr_to_stack: return "stack ";
    // Linux also names flow keys, sock, sock_common, tcp_sock and xdp_sock pointers here; for
    // them the verdict is the same and the message lacks the name.
    default: return "";
  }
}

// The variable part as the kernel prints it here: a constant as its value ("0+-8+2"), else the
// tnum.
std::string var_off_text(Tnum t) {
  return t.is_const() ? std::to_string(t.value) : to_string(t);
}

}  // namespace

std::optional<std::string> misaligned_access(const RegState& ptr, int32_t off, int size,
                                             bool strict) {
  if (size == 1) return std::nullopt;  // byte accesses are always allowed
  const uint64_t fixed = static_cast<uint64_t>(static_cast<int64_t>(ptr.off) + off);
  // A maybe-NULL pointer matches none of Linux's exact type cases: the generic rule, no name.
  if (ptr.is_packet() && !ptr.maybe_null) {  // check_pkt_ptr_alignment
    if (!strict) return std::nullopt;
    const Tnum at = tnum_add(ptr.var_off, Tnum::constant(fixed + kNetIpAlign));
    if (at.is_aligned(static_cast<uint64_t>(size))) return std::nullopt;
    return fmt::format("misaligned packet access off {}+{}+{}+{} size {}", kNetIpAlign,
                       var_off_text(ptr.var_off), ptr.off, off, size);
  }
  if (ptr.type == RegType::ptr_to_stack && !ptr.maybe_null) strict = true;
  if (!strict) return std::nullopt;
  const Tnum at = tnum_add(ptr.var_off, Tnum::constant(fixed));
  if (at.is_aligned(static_cast<uint64_t>(size))) return std::nullopt;
  return fmt::format("misaligned {}access off {}+{}+{} size {}",
                     ptr.maybe_null ? "" : pointer_desc(ptr.type), var_off_text(ptr.var_off),
                     ptr.off, off, size);
}

}  // namespace userbpf::verifier

// What LD_ABS / LD_IND read, shared by the interpreter and machine code (native_packet_load).
#pragma once

#include <cstdint>
#include <span>

namespace userbpf::vm::detail {

// `size` bytes at `offset` of the packet, big endian. Linux hands the offset to
// bpf_skb_load_helper_*() as an int; negative offsets (SKF_NET_OFF, SKF_LL_OFF) name headers
// userbpf's plain packets do not have, so they fail like out-of-bounds ones.
inline bool packet_read(std::span<const uint8_t> packet, int32_t offset, unsigned size,
                        uint64_t* out) {
  if (offset < 0 || static_cast<uint64_t>(offset) + size > packet.size()) return false;
  uint64_t v = 0;
  for (unsigned i = 0; i < size; ++i) v = (v << 8) | packet[static_cast<size_t>(offset) + i];
  *out = v;
  return true;
}

}  // namespace userbpf::vm::detail

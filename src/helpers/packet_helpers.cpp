// Packet helpers of XDP and skb programs (net/core/filter.c): moving the XDP packet bounds,
// redirect, the checksum helpers and skb byte loads/stores. They work on the run's PacketState
// (ProgramEnv::packet), which the test run fills; the context argument must be the run's context.
//
// Checksums follow x86-64 Linux bit for bit (csum_partial's end-around-carry sum included), so
// results compare equal with the host kernel.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <cerrno>
#include <cstring>

#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"
#include "userbpf/map.hpp"

namespace userbpf::helpers {
namespace {

using vm::CallContext;

constexpr uint64_t kEthHeaderLen = 14;    // ETH_HLEN
constexpr uint64_t kXdpFrameSize = 40;    // sizeof(struct xdp_frame) on 64-bit Linux
constexpr uint64_t kMaxXdpMetaLen = 255;  // type_max(skb_shared_info::meta_len)
constexpr int kEnotsupp = 524;            // the kernel-internal ENOTSUPP

uint64_t err(int e) {
  return static_cast<uint64_t>(static_cast<int64_t>(e));
}

uint64_t addr(const uint8_t* p) {
  return reinterpret_cast<uint64_t>(p);
}

// The run's packet when `ctx` is its context and it is of `kind`, else nullptr.
PacketState* packet_of(CallContext& call, uint64_t ctx, PacketState::Kind kind) {
  ProgramEnv* env = env_of(call);
  if (!env || !env->packet || env->packet->kind != kind) return nullptr;
  if (reinterpret_cast<uint64_t>(env->packet->ctx) != ctx) return nullptr;
  return env->packet;
}

// After the bounds moved: publish them in the context and let a checked run reach the packet's
// new extent (growth). Shrinking cannot revoke access, but the bytes stay inside the buffer the
// test run owns.
void bounds_changed(CallContext& call, PacketState& p) {
  p.changed = true;
  p.sync_ctx();
  call.add_region({addr(p.data_meta), addr(p.data_end) - addr(p.data_meta), p.writable, "packet"});
}

uint64_t xdp_adjust_head(uint64_t ctx, uint64_t offset_arg, uint64_t, uint64_t, uint64_t,
                         CallContext& call) {
  PacketState* p = packet_of(call, ctx, PacketState::Kind::xdp);
  if (!p) return err(-EINVAL);
  const int64_t offset = static_cast<int32_t>(offset_arg);
  const uint64_t metalen = addr(p->data) - addr(p->data_meta);
  const uint64_t lowest = addr(p->hard_start) + kXdpFrameSize + metalen;
  const uint64_t data = addr(p->data) + static_cast<uint64_t>(offset);
  if (data < lowest || data > addr(p->data_end) - kEthHeaderLen) return err(-EINVAL);
  if (metalen) std::memmove(p->data_meta + offset, p->data_meta, metalen);
  p->data_meta += offset;
  p->data += offset;
  bounds_changed(call, *p);
  return 0;
}

uint64_t xdp_adjust_tail(uint64_t ctx, uint64_t offset_arg, uint64_t, uint64_t, uint64_t,
                         CallContext& call) {
  PacketState* p = packet_of(call, ctx, PacketState::Kind::xdp);
  if (!p) return err(-EINVAL);
  const int64_t offset = static_cast<int32_t>(offset_arg);
  const uint64_t end = addr(p->data_end) + static_cast<uint64_t>(offset);
  if (end > addr(p->hard_end)) return err(-EINVAL);
  if (end < addr(p->data) + kEthHeaderLen) return err(-EINVAL);
  if (offset > 0) std::memset(p->data_end, 0, static_cast<size_t>(offset));  // never stale bytes
  p->data_end += offset;
  bounds_changed(call, *p);
  return 0;
}

uint64_t xdp_adjust_meta(uint64_t ctx, uint64_t offset_arg, uint64_t, uint64_t, uint64_t,
                         CallContext& call) {
  PacketState* p = packet_of(call, ctx, PacketState::Kind::xdp);
  if (!p) return err(-EINVAL);
  if (p->data_meta > p->data) return err(-kEnotsupp);
  const int64_t offset = static_cast<int32_t>(offset_arg);
  const uint64_t meta = addr(p->data_meta) + static_cast<uint64_t>(offset);
  if (meta < addr(p->hard_start) + kXdpFrameSize || meta > addr(p->data)) return err(-EINVAL);
  const uint64_t metalen = addr(p->data) - meta;
  if ((metalen & 3) != 0 || metalen > kMaxXdpMetaLen) return err(-EACCES);
  p->data_meta += offset;
  bounds_changed(call, *p);
  return 0;
}

// bpf_redirect: one helper id, two behaviours. XDP (bpf_xdp_redirect) refuses any flag with
// XDP_ABORTED; tc (bpf_redirect) accepts only BPF_F_INGRESS and answers TC_ACT_SHOT otherwise.
// Without a networking run (no redirect info in Linux) it is TC_ACT_SHOT.
uint64_t redirect(uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, uint64_t,
                  CallContext& call) {
  ProgramEnv* env = env_of(call);
  PacketState* p = env ? env->packet : nullptr;
  if (!p) return TC_ACT_SHOT;
  if (p->kind == PacketState::Kind::xdp) {
    if (flags) return XDP_ABORTED;
  } else if (flags & ~static_cast<uint64_t>(BPF_F_INGRESS)) {
    return TC_ACT_SHOT;
  }
  p->redirected = true;
  p->changed = true;
  p->redirect_ifindex = static_cast<uint32_t>(ifindex);
  p->redirect_flags = flags;
  p->redirect_map = nullptr;
  p->redirect_key = 0;
  return p->kind == PacketState::Kind::xdp ? XDP_REDIRECT : TC_ACT_REDIRECT;
}

// bpf_redirect_map (Linux's __bpf_xdp_redirect_map): the low bits of flags are the XDP action
// returned when the key has no entry; devmaps also take BPF_F_BROADCAST (redirect to every
// entry, found or not) and BPF_F_EXCLUDE_INGRESS. Any other flag bit answers XDP_ABORTED. The
// key is truncated to u32 as the map types' lookups take it. Only XDP programs may call it
// (the verifier's rule); it answers XDP_ABORTED for a map that is not a redirect map.
uint64_t redirect_map(uint64_t map_handle, uint64_t key_arg, uint64_t flags, uint64_t, uint64_t,
                      CallContext& call) {
  ProgramEnv* env = env_of(call);
  if (map_handle == 0 || (env && env->checked && !env->knows_map(map_handle))) return XDP_ABORTED;
  auto* map = reinterpret_cast<maps::Map*>(map_handle);
  const uint32_t type = map->spec().type;
  constexpr uint64_t kActionMask = XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX;
  uint64_t flag_mask = 0;
  if (type == BPF_MAP_TYPE_DEVMAP || type == BPF_MAP_TYPE_DEVMAP_HASH) {
    flag_mask = BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS;
  } else if (type != BPF_MAP_TYPE_CPUMAP && type != BPF_MAP_TYPE_XSKMAP) {
    return XDP_ABORTED;
  }
  if (flags & ~(kActionMask | flag_mask)) return XDP_ABORTED;
  const uint32_t key = static_cast<uint32_t>(key_arg);
  const bool found = map->lookup(&key) != nullptr;
  PacketState* p =
      env && env->packet && env->packet->kind == PacketState::Kind::xdp ? env->packet : nullptr;
  if (!found && !(flags & BPF_F_BROADCAST)) {
    if (p) {
      p->redirected = false;  // a failed lookup clears the earlier choice, as in Linux
      p->changed = true;
    }
    return flags & kActionMask;
  }
  if (p) {
    p->redirected = true;
    p->changed = true;
    p->redirect_map = map;
    p->redirect_key = key;
    p->redirect_ifindex = 0;
    p->redirect_flags = (flags & BPF_F_BROADCAST) ? flags : 0;  // Linux keeps them only then
  }
  return XDP_REDIRECT;
}

// ---- Ones'-complement arithmetic as include/net/checksum.h defines it. ----

uint32_t csum_add(uint32_t a, uint32_t b) {
  const uint32_t r = a + b;
  return r + (r < b);
}
uint32_t csum_sub(uint32_t a, uint32_t b) {
  return csum_add(a, ~b);
}
uint16_t csum16_add(uint16_t a, uint16_t b) {
  const uint16_t r = static_cast<uint16_t>(a + b);
  return static_cast<uint16_t>(r + (r < b));
}
uint16_t csum16_sub(uint16_t a, uint16_t b) {
  return csum16_add(a, static_cast<uint16_t>(~b));
}
uint16_t csum_from32to16(uint32_t sum) {
  sum += (sum >> 16) | (sum << 16);
  return static_cast<uint16_t>(sum >> 16);
}
uint16_t csum_fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// x86-64 csum_partial(): an end-around-carry sum of little-endian 64-bit words (the tail zero
// padded) started from `seed`, then folded to 32 bits the same way.
uint32_t csum_partial_x86_64(const uint8_t* bytes, size_t len, uint32_t seed) {
  uint64_t sum = seed;
  for (size_t i = 0; i < len; i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, bytes + i, len - i < 8 ? len - i : 8);
    sum += word;
    sum += (sum < word);
  }
  const uint64_t rotated = (sum >> 32) | (sum << 32);
  return static_cast<uint32_t>((sum + rotated) >> 32);
}

uint16_t load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
void store16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, 2);
}

// csum_replace_by_diff, csum_replace2 and csum_replace4 on the checksum at `p`.
void replace_by_diff(uint8_t* p, uint32_t diff) {
  store16(p, csum_fold(csum_add(diff, ~static_cast<uint32_t>(load16(p)))));
}
void replace2(uint8_t* p, uint16_t from, uint16_t to) {
  store16(p, static_cast<uint16_t>(
                 ~csum16_add(csum16_sub(static_cast<uint16_t>(~load16(p)), from), to)));
}
void replace4(uint8_t* p, uint32_t from, uint32_t to) {
  const uint32_t tmp = csum_sub(~static_cast<uint32_t>(load16(p)), from);
  store16(p, csum_fold(csum_add(tmp, to)));
}

// bpf_csum_diff as Linux has it since 6.13 (the host kernels userbpf is checked against): the
// checksum of `to` minus that of `from`, started from `seed`, folded to 16 bits so the answer no
// longer depends on the architecture (6.12 returned x86's unfolded csum_partial and refused sizes
// that are not multiples of 4; 6.13 dropped both).
uint64_t csum_diff(uint64_t from, uint64_t from_size_arg, uint64_t to, uint64_t to_size_arg,
                   uint64_t seed_arg, CallContext& call) {
  const uint32_t from_size = static_cast<uint32_t>(from_size_arg);
  const uint32_t to_size = static_cast<uint32_t>(to_size_arg);
  const uint32_t seed = static_cast<uint32_t>(seed_arg);
  if ((from_size && !may_access(call, from, from_size, false)) ||
      (to_size && !may_access(call, to, to_size, false)))
    return err(-EFAULT);
  const auto* f = reinterpret_cast<const uint8_t*>(from);
  const auto* t = reinterpret_cast<const uint8_t*>(to);
  uint32_t sum;
  if (from_size && to_size)
    sum = csum_sub(csum_partial_x86_64(t, to_size, seed), csum_partial_x86_64(f, from_size, 0));
  else if (to_size)
    sum = csum_partial_x86_64(t, to_size, seed);
  else if (from_size)
    sum = ~csum_partial_x86_64(f, from_size, ~seed);
  else
    return seed_arg;  // Linux hands the seed back untouched
  return csum_from32to16(sum);
}

// The 2-byte checksum field at `offset` of an skb, or an errno (as bpf_try_make_writable fails).
int64_t skb_csum_field(PacketState* p, uint64_t offset, uint8_t** field) {
  if (offset > 0xffff || (offset & 1)) return -EFAULT;
  if (offset + 2 > addr(p->data_end) - addr(p->data)) return -EFAULT;
  *field = p->data + offset;
  return 0;
}

uint64_t l3_csum_replace(uint64_t ctx, uint64_t offset_arg, uint64_t from, uint64_t to,
                         uint64_t flags, CallContext& call) {
  PacketState* p = packet_of(call, ctx, PacketState::Kind::skb);
  if (!p) return err(-EINVAL);
  if (flags & ~static_cast<uint64_t>(BPF_F_HDR_FIELD_MASK)) return err(-EINVAL);
  uint8_t* field = nullptr;
  if (int64_t e = skb_csum_field(p, static_cast<uint32_t>(offset_arg), &field)) return err(e);
  switch (flags & BPF_F_HDR_FIELD_MASK) {
    case 0:
      if (from != 0) return err(-EINVAL);
      replace_by_diff(field, static_cast<uint32_t>(to));
      break;
    case 2: replace2(field, static_cast<uint16_t>(from), static_cast<uint16_t>(to)); break;
    case 4: replace4(field, static_cast<uint32_t>(from), static_cast<uint32_t>(to)); break;
    default: return err(-EINVAL);
  }
  return 0;
}

// Test runs have ip_summed == CHECKSUM_NONE, so (as in Linux then) BPF_F_PSEUDO_HDR and
// BPF_F_IPV6 change nothing but the checksum field itself.
uint64_t l4_csum_replace(uint64_t ctx, uint64_t offset_arg, uint64_t from, uint64_t to,
                         uint64_t flags, CallContext& call) {
  PacketState* p = packet_of(call, ctx, PacketState::Kind::skb);
  if (!p) return err(-EINVAL);
  constexpr uint64_t kAllowed = BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR |
                                BPF_F_HDR_FIELD_MASK | BPF_F_IPV6;
  if (flags & ~kAllowed) return err(-EINVAL);
  uint8_t* field = nullptr;
  if (int64_t e = skb_csum_field(p, static_cast<uint32_t>(offset_arg), &field)) return err(e);
  const bool mangled_0 = flags & BPF_F_MARK_MANGLED_0;
  if (mangled_0 && !(flags & BPF_F_MARK_ENFORCE) && load16(field) == 0) return 0;
  switch (flags & BPF_F_HDR_FIELD_MASK) {
    case 0:
      if (from != 0) return err(-EINVAL);
      replace_by_diff(field, static_cast<uint32_t>(to));
      break;
    case 2:  // inet_proto_csum_replace2 widens to the 4-byte form
      replace4(field, static_cast<uint16_t>(from), static_cast<uint16_t>(to));
      break;
    case 4: replace4(field, static_cast<uint32_t>(from), static_cast<uint32_t>(to)); break;
    default: return err(-EINVAL);
  }
  if (mangled_0 && load16(field) == 0) store16(field, 0xffff);  // CSUM_MANGLED_0
  return 0;
}

uint64_t skb_load_bytes(uint64_t ctx, uint64_t offset_arg, uint64_t to, uint64_t len_arg, uint64_t,
                        CallContext& call) {
  const uint32_t len = static_cast<uint32_t>(len_arg);
  if (!may_access(call, to, len, true)) return err(-EFAULT);
  auto* dst = reinterpret_cast<uint8_t*>(to);
  PacketState* p = packet_of(call, ctx, PacketState::Kind::skb);
  const uint32_t offset = static_cast<uint32_t>(offset_arg);
  if (!p || offset > INT32_MAX || uint64_t{offset} + len > addr(p->data_end) - addr(p->data)) {
    std::memset(dst, 0, len);  // Linux clears the buffer on failure
    return err(p ? -EFAULT : -EINVAL);
  }
  std::memcpy(dst, p->data + offset, len);
  return 0;
}

uint64_t skb_store_bytes(uint64_t ctx, uint64_t offset_arg, uint64_t from, uint64_t len_arg,
                         uint64_t flags, CallContext& call) {
  PacketState* p = packet_of(call, ctx, PacketState::Kind::skb);
  if (!p) return err(-EINVAL);
  if (flags & ~static_cast<uint64_t>(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH))
    return err(-EINVAL);
  const uint32_t offset = static_cast<uint32_t>(offset_arg);
  const uint32_t len = static_cast<uint32_t>(len_arg);
  if (offset > INT32_MAX) return err(-EFAULT);
  if (uint64_t{offset} + len > addr(p->data_end) - addr(p->data)) return err(-EFAULT);
  if (!may_access(call, from, len, false)) return err(-EFAULT);
  std::memmove(p->data + offset, reinterpret_cast<const void*>(from), len);
  // BPF_F_RECOMPUTE_CSUM only matters for CHECKSUM_COMPLETE skbs, which test runs never are.
  if (flags & BPF_F_INVALIDATE_HASH) static_cast<__sk_buff*>(p->ctx)->hash = 0;
  return 0;
}

}  // namespace

void register_packet_helpers(vm::HelperTable& t) {
  t.set(BPF_FUNC_xdp_adjust_head, {"xdp_adjust_head", xdp_adjust_head});
  t.set(BPF_FUNC_xdp_adjust_tail, {"xdp_adjust_tail", xdp_adjust_tail});
  t.set(BPF_FUNC_xdp_adjust_meta, {"xdp_adjust_meta", xdp_adjust_meta});
  t.set(BPF_FUNC_redirect, {"redirect", redirect});
  t.set(BPF_FUNC_redirect_map, {"redirect_map", redirect_map});
  t.set(BPF_FUNC_csum_diff, {"csum_diff", csum_diff});
  t.set(BPF_FUNC_l3_csum_replace, {"l3_csum_replace", l3_csum_replace});
  t.set(BPF_FUNC_l4_csum_replace, {"l4_csum_replace", l4_csum_replace});
  t.set(BPF_FUNC_skb_load_bytes, {"skb_load_bytes", skb_load_bytes});
  t.set(BPF_FUNC_skb_store_bytes, {"skb_store_bytes", skb_store_bytes});
}

}  // namespace userbpf::helpers

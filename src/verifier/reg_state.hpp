// What the verifier knows of one register: its type (Linux's enum bpf_reg_type, reduced to the
// types userbpf tracks so far), for pointers the fixed offset and what they point into, and for
// scalars (and the variable part of pointers) a tnum plus signed and unsigned 64- and 32-bit
// bounds that are kept consistent with each other (scalar_bounds.cpp).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "verifier/tnum.hpp"

namespace userbpf::verifier {

enum class RegType : uint8_t {
  not_init,
  scalar,
  ptr_to_ctx,
  const_ptr_to_map,
  ptr_to_map_value,
  ptr_to_map_key,
  ptr_to_stack,
  ptr_to_packet_meta,
  ptr_to_packet,
  ptr_to_packet_end,
  ptr_to_mem,  // memory of `mem_size` bytes (ringbuf records, helper-returned buffers)
  ptr_to_func,
  // Kernel objects reached through the context or socket helpers (Linux's PTR_TO_SOCK_COMMON,
  // PTR_TO_SOCKET, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK, PTR_TO_FLOW_KEYS); their field access rules
  // are in context_sock.cpp.
  ptr_to_sock_common,
  ptr_to_socket,
  ptr_to_tcp_sock,
  ptr_to_xdp_sock,
  ptr_to_flow_keys,
  // A pointer to a kernel struct named by BTF (Linux's PTR_TO_BTF_ID): helper and kfunc returns,
  // tracing arguments; `btf_name` names the struct.
  ptr_to_btf_id,
};

struct RegState {
  RegType type = RegType::not_init;
  bool maybe_null = false;  // PTR_MAYBE_NULL: "_or_null" until a NULL check
  bool rdonly = false;      // MEM_RDONLY
  bool ringbuf = false;     // MEM_RINGBUF
  bool trusted = false;     // PTR_TRUSTED (ptr_to_btf_id): may be passed to kfuncs
  bool untrusted = false;   // PTR_UNTRUSTED (ptr_to_btf_id): read through probe_read only

  // Pointers: the constant part of the offset; the variable part is the scalar fields below.
  int32_t off = 0;
  Tnum var_off = Tnum::constant(0);
  int64_t smin = std::numeric_limits<int64_t>::min();
  int64_t smax = std::numeric_limits<int64_t>::max();
  uint64_t umin = 0;
  uint64_t umax = std::numeric_limits<uint64_t>::max();
  int32_t s32_min = std::numeric_limits<int32_t>::min();
  int32_t s32_max = std::numeric_limits<int32_t>::max();
  uint32_t u32_min = 0;
  uint32_t u32_max = std::numeric_limits<uint32_t>::max();

  // Pointers that may be NULL, and packet pointers, share an id with their copies, so a check of
  // one refines them all. Scalars copied by mov share one too (for bounds learned later).
  uint32_t id = 0;
  uint32_t ref_obj_id = 0;    // the acquired reference this pointer belongs to (ringbuf records)
  uint32_t map_index = 0;     // const_ptr_to_map, ptr_to_map_value/key: index into Program::maps
  uint32_t mem_size = 0;      // ptr_to_mem: bytes
  int32_t range = 0;          // packet pointers: bytes known to be before packet end
  uint32_t frameno = 0;       // ptr_to_stack: the frame it points into
  uint32_t func_insn = 0;     // ptr_to_func: the callback's first instruction
  std::string_view btf_name;  // ptr_to_btf_id: the struct ("task_struct"); static storage
  // The state an iterator's stack slots keep (Linux's reg->iter; kfunc_iter.cpp): `btf_name`
  // names the iterator struct, `ref_obj_id` (first slot) its reference.
  enum class IterState : uint8_t { invalid, active, drained };
  IterState iter_state = IterState::invalid;
  uint32_t iter_depth = 0;

  bool is_pointer() const { return type != RegType::not_init && type != RegType::scalar; }
  bool is_packet() const {
    return type == RegType::ptr_to_packet || type == RegType::ptr_to_packet_meta;
  }
  bool is_const() const { return var_off.is_const(); }
  uint64_t const_value() const { return var_off.value; }
  bool is_const32() const { return var_off.subreg().is_const(); }

  friend bool operator==(const RegState&, const RegState&) = default;
};

// Register state constructors.
RegState scalar_unknown();
RegState scalar_const(uint64_t value);
RegState pointer_to(RegType type);

// Bounds maintenance (scalar_bounds.cpp), with Linux's names in comments.
void mark_unknown(RegState& reg);            // __mark_reg_unknown
void mark_known(RegState& reg, uint64_t v);  // __mark_reg_known
void mark_bounds_unbounded(RegState& reg);   // __mark_reg_unbounded
void mark_bounds32_unbounded(RegState& reg);
// Sets the bounds from var_off, refines signed, unsigned, 32- and 64-bit bounds against each
// other, and the tnum against them (reg_bounds_sync).
void sync_bounds(RegState& reg);
// After a 32-bit operation: the 64-bit value is the zero-extended subregister (zext_32_to_64).
void zext_32_to_64(RegState& reg);
// Sets the 32-bit bounds from the 64-bit ones where they tell them (__reg_combine_64_into_32).
void derive_bounds32_from_64(RegState& reg);
// Whether the bounds are consistent (min <= max everywhere, tnum inside them).
bool bounds_consistent(const RegState& reg);

// Linux's reg_type_str: "scalar", "ctx", "map_value_or_null", "fp", "pkt", "rdonly_mem", ...
std::string reg_type_name(const RegState& reg);
std::string reg_type_name(RegType type);

// Linux's print_verifier_state form of one register, e.g. "scalar(smin=0,smax=7,...)",
// "fp-8", "map_value(map=m,ks=4,vs=8)" (simplified), for logs and diagnoses.
std::string describe(const RegState& reg);

}  // namespace userbpf::verifier

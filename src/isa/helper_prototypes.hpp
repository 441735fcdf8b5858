// Linux's prototypes of the BPF helpers (struct bpf_func_proto), by helper id: what a call's
// r1..r5 must be, what r0 holds afterwards, and the traits the verifier and the loader check
// (gpl_only, pkt_access, might_sleep). The verifier checks calls against these; the helper table
// takes gpl_only from here, so there is one source of truth.
//
// The encoding mirrors Linux's: a base type in the low 8 bits (enum bpf_arg_type /
// enum bpf_return_type, same order) and modifier flags above it (enum bpf_type_flag, same bits),
// so linux_value() equals the kernel's ARG_* / RET_* constant (ARG_PTR_TO_UNINIT_MEM ==
// ptr_to_mem | kMemUninit | kMemWrite).
//
// One prototype per id. Where Linux gives a helper different prototypes per program type, the
// table holds the one the helper's own bpf_<name>_proto (or the primary program type) defines and
// the comment at the entry names the differences (e.g. get_stackid is gpl_only except for
// perf_event programs).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace userbpf::isa {

// Linux's enum bpf_arg_type, base part (kernel values 0..24).
enum class ArgType : uint8_t {
  dontcare,          // no argument
  const_map_ptr,     // a map (lddw of a map)
  ptr_to_map_key,    // key_size readable bytes
  ptr_to_map_value,  // value_size bytes (readable; with kMemUninit | kMemWrite: written)
  ptr_to_mem,        // memory of the size in the next argument (or fixed, kMemFixedSize)
  ptr_to_arena,
  const_size,          // size of the previous ptr_to_mem, > 0
  const_size_or_zero,  // the same, 0 allowed
  ptr_to_ctx,
  anything,  // any initialized value
  scalar,    // a scalar (not a pointer)
  ptr_to_spin_lock,
  ptr_to_sock_common,
  ptr_to_socket,
  ptr_to_btf_id,  // pointer to the kernel struct named by ArgSpec::btf_type
  ptr_to_ringbuf_mem,
  const_alloc_size_or_zero,  // bytes the helper allocates (ringbuf_reserve)
  ptr_to_btf_id_sock_common,
  ptr_to_percpu_btf_id,
  ptr_to_func,  // a BPF function (callback), from lddw BPF_PSEUDO_FUNC
  ptr_to_stack,
  ptr_to_const_str,  // NUL-terminated string in a read-only map value
  ptr_to_timer,
  kptr_xchg_dest,
  ptr_to_dynptr,
};

// Linux's enum bpf_return_type, base part.
enum class RetType : uint8_t {
  integer,
  void_,
  ptr_to_map_value,
  ptr_to_socket,
  ptr_to_tcp_sock,
  ptr_to_sock_common,
  ptr_to_mem,
  ptr_to_mem_or_btf_id,
  ptr_to_btf_id,
};

// Linux's enum bpf_type_flag, same bit positions (BIT(n + BPF_BASE_TYPE_BITS)).
namespace type_flag {
inline constexpr uint32_t kPtrMaybeNull = 1u << 8;
inline constexpr uint32_t kMemRdonly = 1u << 9;
inline constexpr uint32_t kMemRingbuf = 1u << 10;
inline constexpr uint32_t kMemUser = 1u << 11;
inline constexpr uint32_t kMemPercpu = 1u << 12;
inline constexpr uint32_t kObjRelease = 1u << 13;
inline constexpr uint32_t kPtrUntrusted = 1u << 14;
inline constexpr uint32_t kMemUninit = 1u << 15;
inline constexpr uint32_t kDynptrTypeLocal = 1u << 16;
inline constexpr uint32_t kDynptrTypeRingbuf = 1u << 17;
inline constexpr uint32_t kMemFixedSize = 1u << 18;
inline constexpr uint32_t kMemAlloc = 1u << 19;
inline constexpr uint32_t kPtrTrusted = 1u << 20;
inline constexpr uint32_t kMemRcu = 1u << 21;
inline constexpr uint32_t kNonOwnRef = 1u << 22;
inline constexpr uint32_t kDynptrTypeSkb = 1u << 23;
inline constexpr uint32_t kDynptrTypeXdp = 1u << 24;
inline constexpr uint32_t kMemAligned = 1u << 25;
inline constexpr uint32_t kMemWrite = 1u << 26;
}  // namespace type_flag

struct ArgSpec {
  ArgType type = ArgType::dontcare;
  uint32_t flags = 0;  // type_flag bits
  // kMemFixedSize: the bytes the pointer must cover (Linux's arg<N>_size).
  uint32_t size = 0;
  // ptr_to_btf_id: the kernel struct the pointer must point to ("task_struct"); nullptr when
  // Linux leaves it to the map's field (BPF_PTR_POISON: spin_lock, kptr_xchg) or to the type.
  const char* btf_type = nullptr;

  constexpr uint32_t linux_value() const { return static_cast<uint32_t>(type) | flags; }
  constexpr bool maybe_null() const { return (flags & type_flag::kPtrMaybeNull) != 0; }
};

struct RetSpec {
  RetType type = RetType::integer;
  uint32_t flags = 0;              // type_flag bits
  const char* btf_type = nullptr;  // ptr_to_btf_id: the struct returned (Linux's ret_btf_id)

  constexpr uint32_t linux_value() const { return static_cast<uint32_t>(type) | flags; }
};

struct HelperPrototype {
  uint32_t id = 0;  // enum bpf_func_id
  RetSpec ret;
  std::array<ArgSpec, 5> args{};
  bool gpl_only = false;     // only GPL-compatible programs may call it
  bool pkt_access = false;   // may be given packet pointers directly
  bool might_sleep = false;  // only sleepable programs may call it

  // Arguments before the first dontcare (what the helper reads of r1..r5).
  constexpr uint32_t arg_count() const {
    uint32_t n = 0;
    while (n < args.size() && args[n].type != ArgType::dontcare) ++n;
    return n;
  }
};

// The prototype of helper `id`, or nullptr when userbpf has none (unknown id, unspec).
const HelperPrototype* helper_prototype(uint32_t id);

// Every prototype, in id order.
std::span<const HelperPrototype> helper_prototypes();

// Linux's names, for verifier messages: the base types ("ARG_PTR_TO_MAP_KEY",
// "RET_PTR_TO_MAP_VALUE") and type_flag bits spelled as in the kernel ("PTR_MAYBE_NULL |
// MEM_RDONLY"; "" for none).
const char* arg_type_name(ArgType type);
const char* ret_type_name(RetType type);
std::string type_flags_text(uint32_t flags);

}  // namespace userbpf::isa

// The x86-64 JIT: compiles a loaded program (the interpreter's translated form, so helpers, lddw
// pseudo forms and function handles are resolved exactly once, by vm) to machine code with
// Linux's eBPF semantics, and attaches it to the vm::Interpreter. From then on the Interpreter's
// unchecked runs execute the machine code and checked runs keep interpreting; bpf_tail_call
// continues in whichever engine the target program has. So every user of vm::Interpreter (the
// runtime, prog_array tail calls, the CLI, tests) gets the JIT by calling jit::attach once after
// Interpreter::load.
//
// The machine code runs verified programs without run-time memory checks, as Linux's JIT does.
// It is written into anonymous memory mapped read-write and then mprotect'ed read-execute: it is
// never writable and executable at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/writer_token.hpp"
#include "userbpf/error.hpp"
#include "vm/interpreter.hpp"
#include "vm/native_code.hpp"

namespace userbpf::jit {

// An array map a helper call's r1 holds on every path to it (the verifier's Verdict::call_map),
// described without the maps layer, which sits above the JIT: the value of key k lives at
// values + k * stride for k < max_entries, and the map's handle (what the program's lddw loads)
// is `handle`. The JIT inlines bpf_map_lookup_elem on it, and bpf_map_update_elem when
// `plain_values` says a value is copied as plain bytes (no spin lock or other special field).
struct InlineArrayMap {
  uint32_t insn = 0;  // the helper call's instruction index
  uint64_t handle = 0;
  uint8_t* values = nullptr;
  uint32_t value_size = 0;
  uint32_t stride = 0;
  uint32_t max_entries = 0;
  bool plain_values = false;
  // The verifier proved r1 holds this map on every path to the call (a verified program's
  // Verdict::call_map): no run-time check of r1, as in Linux. Otherwise r1 is compared with
  // `handle` and any other map takes the helper.
  bool r1_proven = false;
};

// How a hash map's by-value lookup (DirectMapCall::lookup_value) finds a 4- or 8-byte key, as
// plain data the JIT emits the lookup from (for the runtime's maps: maps::HashLookupLayout,
// which documents each field). The emitted lookup answers what lookup_value answers and calls it
// where a bucket has more elements on its list; with lock_offset, also how update_value updates a
// key in place (the JIT emits that for BPF_ANY and BPF_EXIST). The JIT emits them only for the
// layout it knows (inline_lookup_usable: seven 4-byte tags at a 16-byte aligned offset, every
// offset inside its bucket or element, sizes that fit its addressing); for any other it calls
// the entries.
struct HashLookup {
  uint64_t hash_xor = 0;
  uint64_t hash_multiplier = 0;
  uint8_t* buckets = nullptr;  // null: no layout
  uint32_t bucket_mask = 0;
  uint32_t bucket_shift = 0;
  uint32_t slots = 0;
  uint32_t tag_offset = 0;
  uint32_t slot_offset = 0;
  uint32_t overflow_offset = 0;
  uint32_t empty_list_bit = 0;
  uint8_t* elements = nullptr;
  uint32_t element_size = 0;
  uint32_t capacity = 0;
  uint32_t seq_offset = 0;
  uint32_t key_offset = 0;
  uint32_t value_offset = 0;
  int32_t reference_offset = -1;
  int32_t lock_offset = -1;
  base::WriterToken* writer_token = nullptr;
};

// A map a helper call's r1 holds on every path to it (the verifier's Verdict::call_map) that
// offers plain functions for its program-side operations (for the runtime's maps:
// maps/program_entries.hpp). The JIT calls entry(object, r2, r3, r4) directly instead of the
// generic helper: no CallContext, no argument checks, no virtual dispatch. An entry must answer
// exactly what the helper answers for this map in an unchecked run and must not need the
// CallContext (no callbacks, tail calls or regions). Unless r1_proven, the call checks at run time
// that r1 is `handle` and calls the helper otherwise; a null entry keeps the helper for that
// operation.
struct DirectMapCall {
  uint32_t insn = 0;  // the helper call's instruction index
  uint64_t handle = 0;
  bool r1_proven = false;                                    // as InlineArrayMap::r1_proven
  void* object = nullptr;                                    // the entries' first argument
  void* (*lookup)(void* object, const void* key) = nullptr;  // bpf_map_lookup_elem
  int64_t (*update)(void* object, const void* key, const void* value,
                    uint64_t flags) = nullptr;                // bpf_map_update_elem
  int64_t (*erase)(void* object, const void* key) = nullptr;  // bpf_map_delete_elem
  // The bytes an entry reads through its key and value pointers (0: unknown).
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  // Optional, for 4- and 8-byte keys: lookup and update taking the key's value, used where the
  // key's stack slot was just stored from a register (the JIT passes that register).
  void* (*lookup_value)(void* object, uint64_t key) = nullptr;
  int64_t (*update_value)(void* object, uint64_t key, const void* value, uint64_t flags) = nullptr;
  // With lookup_value: its search as data, which the JIT emits in place of the call.
  HashLookup inline_lookup;
};

struct CompileOptions {
  // Use BMI2 (shlx/shrx/sarx) for shifts by a register when the CPU has it. Tests turn it off to
  // exercise the cl-based form.
  bool use_bmi2 = true;
  // Constant blinding, as Linux's bpf_jit_blind_constants (net.core.bpf_jit_harden): every
  // immediate of the program (ALU and conditional-jump immediates, ST stores, lddw, LD_ABS/LD_IND
  // offsets) is loaded as (imm ^ random) ^ random into a scratch register, so no value the program
  // chose appears in the executable memory. Same behaviour, a little slower.
  bool blind_constants = false;
  // Inline the helpers Linux inlines (map_gen_lookup, inline_bpf_loop). Tests turn it off to
  // compare both forms.
  bool inline_helpers = true;
  // Emit a bpf-to-bpf call of a small function that needs no frame (no calls, no stack, no
  // r6..r9) in place of the call, as a compiler inlines: no call, return or depth check.
  bool inline_calls = true;
  // Stores to the stack and register results nothing reads get no code (dead_stack_stores.cpp,
  // dead_registers.cpp). clang -O2 leaves none of its own; the ones there are what inlined or
  // direct map calls make dead (a key or value they take from a register, a value set for a
  // null path they rule out), so by default only programs with such calls are searched (the
  // search costs more than it finds elsewhere). Tests search everywhere.
  enum class DeadStores { in_map_programs, everywhere, never };
  DeadStores dead_stores = DeadStores::in_map_programs;
  // Array maps known at helper calls (any order). An inlined call whose map is not r1_proven
  // checks at run time that r1 is `handle`, and calls the helper otherwise.
  std::vector<InlineArrayMap> array_maps;
  // Maps with direct entries at helper calls, sorted by `insn` (an entry out of order may go
  // unused, which only costs the generic helper). A call array_maps inlines ignores its entry.
  std::vector<DirectMapCall> direct_maps;
};

// Is the JIT usable on this host (x86-64)?
bool available();

// Compiles the program `program` was loaded with. Fails with Errc::unsupported off x86-64.
Result<std::shared_ptr<const vm::NativeCode>> compile(const vm::Interpreter& program,
                                                      const CompileOptions& options = {});

// compile() + program.attach_native().
Status attach(vm::Interpreter& program, const CompileOptions& options = {});

}  // namespace userbpf::jit

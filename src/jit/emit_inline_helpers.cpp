// Helpers the JIT inlines, as Linux does in its verifier's fixups: bpf_map_lookup_elem and
// bpf_map_update_elem on an array map the verifier proved r1 holds (map_gen_lookup; the update is
// userbpf's, where it stays exact), and bpf_loop with a known callback (inline_bpf_loop). Map
// helpers on other maps the verifier proved call the map's own entry points directly when it
// offers them (CompileOptions::direct_maps), as Linux's JIT calls map_ops->map_lookup_elem.
//
// Every inlined form keeps the helper call as its slow path and checks at run time what it
// assumed (r1 is the map's handle, r2 the callback's handle, flags it handles), so an inlined call
// answers exactly what the helper would, including its errors.
#include <linux/bpf.h>

#include <cerrno>

#include "jit/emitter.hpp"
#include "vm/native_code.hpp"
#include "vm/translate.hpp"

namespace userbpf::jit::detail {
namespace {

using Xbyak::util::eax;
using Xbyak::util::ebx;
using Xbyak::util::ecx;
using Xbyak::util::edi;
using Xbyak::util::r11;
using Xbyak::util::r12;
using Xbyak::util::r13;
using Xbyak::util::r13d;
using Xbyak::util::r14;
using Xbyak::util::r9;
using Xbyak::util::rax;
using Xbyak::util::rbp;
using Xbyak::util::rbx;
using Xbyak::util::rcx;
using Xbyak::util::rdi;
using Xbyak::util::rdx;
using Xbyak::util::rsi;
using Xbyak::util::rsp;

#define STATE_FIELD(field) (r12 + static_cast<int>(offsetof(vm::NativeState, field)))

constexpr uint64_t kMaxLoops = uint64_t{1} << 23;  // BPF_MAX_LOOPS
// Values up to this size are copied inline by bpf_map_update_elem; larger ones call the helper
// (the copy then dominates the call).
constexpr uint32_t kMaxInlineCopy = 128;
// Host stack an inlined bpf_loop keeps below the frame: the caller's r6..r8 and 8 bytes of
// alignment, so the callback's frame stays 16-byte aligned.
constexpr int kLoopSpill = 32;
// How far back a register's last definition (last_definition) and a bpf_loop call's callback
// (known_callback) are looked for.
constexpr size_t kDefinitionScan = 64;

uint64_t negative(int e) {
  return static_cast<uint64_t>(-static_cast<int64_t>(e));
}

// The direct entries for the call at `index` (binary search: the list is sorted by instruction),
// or nullptr.
const DirectMapCall* direct_map_at(const std::vector<DirectMapCall>& maps, size_t index) {
  size_t lo = 0, hi = maps.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (maps[mid].insn == index) return &maps[mid];
    if (maps[mid].insn < index) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return nullptr;
}

// The entry of `map` for helper `id` as an address, 0 when it has none.
uint64_t direct_entry(const DirectMapCall& map, uint32_t id) {
  switch (id) {
    case BPF_FUNC_map_lookup_elem: return reinterpret_cast<uint64_t>(map.lookup);
    case BPF_FUNC_map_update_elem: return reinterpret_cast<uint64_t>(map.update);
    case BPF_FUNC_map_delete_elem: return reinterpret_cast<uint64_t>(map.erase);
    default: return 0;
  }
}

}  // namespace

bool Emitter::inlined_call_keeps_arguments(size_t index) {
  if (!options_.inline_helpers || options_.blind_constants) return false;
  const TranslatedSlot& s = program_.translated[index];
  if (s.op != Op::call_helper) return false;
  const uint32_t id = program_.helper_ids[static_cast<size_t>(s.imm)];
  if (id != BPF_FUNC_map_lookup_elem && id != BPF_FUNC_map_update_elem) return false;
  const InlineArrayMap* map = array_map_at(index);
  // What emit_inline_array_lookup / _update need for no cold path (which would call the helper).
  if (map == nullptr || !map->r1_proven || !inline_key(index, *map).in_range) return false;
  if (id == BPF_FUNC_map_lookup_elem) return true;
  uint64_t flags = 0;
  return map->plain_values && map->value_size <= kMaxInlineCopy &&
         known_constant(index, 4, flags) && (flags == BPF_ANY || flags == BPF_EXIST);
}

bool Emitter::emit_inline_helper(const TranslatedSlot& s, size_t index) {
  // Inlined forms carry the map's address, its bounds and the callback's handle as immediates;
  // Linux blinds those like the program's own, so with blinding the helpers are called instead.
  if (!options_.inline_helpers || options_.blind_constants || emitting_helper_fallback_)
    return false;
  const uint32_t id = program_.helper_ids[static_cast<size_t>(s.imm)];
  switch (id) {
    case BPF_FUNC_map_lookup_elem:
    case BPF_FUNC_map_update_elem:
    case BPF_FUNC_map_delete_elem: {
      if (const InlineArrayMap* map = array_map_at(index);
          map != nullptr && id != BPF_FUNC_map_delete_elem) {
        if (id == BPF_FUNC_map_lookup_elem) {
          emit_inline_array_lookup(s, index, *map);
          return true;
        }
        if (!map->plain_values || map->value_size > kMaxInlineCopy) return false;
        emit_inline_array_update(s, index, *map);
        return true;
      }
      const DirectMapCall* direct = direct_map_at(options_.direct_maps, index);
      uint64_t entry = direct != nullptr ? direct_entry(*direct, id) : 0;
      if (entry == 0) return false;
      // A key just stored from a register goes to the by-value entry in that register.
      const uint8_t key_register = direct_key_register(*direct, id, index);
      if (id == BPF_FUNC_map_lookup_elem && inline_lookup_usable(*direct)) {
        emit_inline_hash_lookup(s, index, *direct, key_register);
        return true;
      }
      if (id == BPF_FUNC_map_update_elem && inline_update_usable(*direct, index)) {
        emit_inline_hash_update(s, index, *direct, key_register);
        return true;
      }
      if (key_register != kNoRegister)
        entry = id == BPF_FUNC_map_lookup_elem ? reinterpret_cast<uint64_t>(direct->lookup_value)
                                               : reinterpret_cast<uint64_t>(direct->update_value);
      // r1 is the map's handle: entry(object, r2, r3, r4), whose result is already r0. The
      // entry neither calls back into the program nor requests a tail call, so neither the call
      // site nor the stop flag is needed. Otherwise the helper.
      Xbyak::Label slow, done;
      if (!direct->r1_proven) {
        mov(r11, direct->handle);
        cmp(rdi, r11);
        jne(slow);
      }
      if (key_register != kNoRegister) {  // neither r1 nor r2: those were set after the store
        if (direct->key_size == 4)
          mov(esi, reg(key_register).cvt32());
        else
          mov(rsi, reg(key_register));
      }
      // A proven map's lddw may have been left out (plan_inlined_calls).
      if (direct->r1_proven || reinterpret_cast<uint64_t>(direct->object) != direct->handle) {
        mov(rdi, reinterpret_cast<uint64_t>(direct->object));
      }
      mov(rax, entry);
      call(rax);
      if (!direct->r1_proven) {
        jmp(done);
        L(slow);
        emit_helper_fallback(s, index);
      }
      L(done);
      return true;
    }
    case BPF_FUNC_loop: {
      const size_t callback = known_callback(index);
      if (callback == SIZE_MAX) return false;
      emit_inline_loop(s, index, callback);
      return true;
    }
    default: return false;
  }
}

const InlineArrayMap* Emitter::array_map_at(size_t index) {
  if (array_map_by_insn_.empty() && !options_.array_maps.empty()) {
    array_map_by_insn_.assign(program_.insn_count, nullptr);
    for (const InlineArrayMap& map : options_.array_maps) {
      // Only a map whose layout is usable: values, a stride that holds a value, a key space.
      if (map.insn >= program_.insn_count || map.values == nullptr || map.max_entries == 0 ||
          map.stride < map.value_size)
        continue;
      array_map_by_insn_[map.insn] = &map;
    }
  }
  return index < array_map_by_insn_.size() ? array_map_by_insn_[index] : nullptr;
}

void Emitter::emit_helper_fallback(const TranslatedSlot& s, size_t index) {
  emitting_helper_fallback_ = true;
  emit_helper_call(s, index);
  emitting_helper_fallback_ = false;
}

// The instruction that last set `reg` before `index` in the same straight-line code, when it is a
// plain definition (a move, an lddw, an add of an immediate) and nothing in between reads or
// writes `reg`, calls, jumps or lands: SIZE_MAX otherwise.
size_t Emitter::last_definition(size_t index, uint8_t reg) {
  const size_t stop = index > kDefinitionScan ? index - kDefinitionScan : 0;
  for (size_t i = index; i-- > stop;) {
    const TranslatedSlot& s = program_.translated[i];
    if (s.op == Op::lddw_tail) continue;
    // A jump ends it too: what the definition set may be read where the jump goes.
    if (register_effect(s.op) == RegisterEffect::unknown || is_jump(s.op)) return SIZE_MAX;
    // A store names its base as dst and an atomic fetch writes its src: any mention of `reg`
    // other than a plain definition ends the search.
    if (s.dst != reg && s.src != reg) continue;
    const bool defines =
        s.dst == reg && (s.op == Op::mov64_imm || s.op == Op::mov32_imm || s.op == Op::mov64_reg ||
                         s.op == Op::add64_imm || s.op == Op::lddw);
    if (!defines || (s.op == Op::mov64_reg && s.src == reg)) return SIZE_MAX;
    return lands_inside(i + 1, index) ? SIZE_MAX : i;
  }
  return SIZE_MAX;
}

// `reg` = r10 + offset, set by `reg = r10; reg += offset` that nothing else reads before `index`:
// the offset, with both instructions in `defs`.
bool Emitter::stack_address(size_t index, uint8_t reg, int32_t& offset, size_t (&defs)[2]) {
  const size_t add = last_definition(index, reg);
  if (add == SIZE_MAX || program_.translated[add].op != Op::add64_imm) return false;
  const size_t mov = last_definition(add, reg);
  if (mov == SIZE_MAX || program_.translated[mov].op != Op::mov64_reg ||
      program_.translated[mov].src != 10)
    return false;
  offset = program_.translated[add].imm;
  defs[0] = mov;
  defs[1] = add;
  return true;
}

// Array map calls inlined without the helper as a slow path (a proven map; for updates, plain
// values and flags known to copy) read r1..r4 only as the inlined code does: the map's lddw into
// r1 and the flags' move into r4 are dead, and a key or value pointer set as r10 + offset can be
// read from the stack directly. Those instructions get no code (skip_): the helper call clobbers
// r1..r5, so no later instruction of a verified program reads what they set. Likewise a direct
// call on a proven map that takes its key by value: the key pointer's setup and the map's lddw
// (the call loads the entry's object itself). Runs once, before any code is emitted.
void Emitter::plan_inlined_calls() {
  const size_t n = program_.insn_count;
  skip_.assign(n, false);
  if (!options_.inline_helpers || options_.blind_constants ||
      (options_.array_maps.empty() && options_.direct_maps.empty()))
    return;
  const auto skip_map_load = [&](size_t c, uint64_t handle) {
    if (const size_t r1 = last_definition(c, 1); r1 != SIZE_MAX &&
                                                 program_.translated[r1].op == Op::lddw &&
                                                 program_.translated[r1 + 1].value == handle)
      skip_[r1] = true;
  };
  for (size_t c = 0; c < n; ++c) {
    const TranslatedSlot& s = program_.translated[c];
    if (s.op != Op::call_helper) continue;
    const uint32_t id = program_.helper_ids[static_cast<size_t>(s.imm)];
    if (id != BPF_FUNC_map_lookup_elem && id != BPF_FUNC_map_update_elem) continue;
    const InlineArrayMap* map = array_map_at(c);
    size_t defs[2];
    if (map == nullptr) {
      const DirectMapCall* direct = direct_map_at(options_.direct_maps, c);
      // Updates without the lock try the element hint, which the map's key searches leave.
      if (direct != nullptr && id == BPF_FUNC_map_update_elem && direct_entry(*direct, id) != 0 &&
          inline_update_usable(*direct, c) && writer_token_usable(*direct) && !hinted(*direct))
        hinted_maps_.push_back(direct->object);
      if (direct == nullptr || !direct->r1_proven || direct_entry(*direct, id) == 0 ||
          direct_key_register(*direct, id, c) == kNoRegister)
        continue;
      int32_t offset = 0;
      if (stack_address(c, 2, offset, defs)) skip_[defs[0]] = skip_[defs[1]] = true;
      skip_map_load(c, direct->handle);
      // An update emitted in place reads the flags' immediate and the value from its stack slot
      // or register; the path that calls the entry sets rcx and rdx itself.
      if (id == BPF_FUNC_map_update_elem && inline_update_usable(*direct, c)) {
        if (const size_t flags = last_definition(c, 4); flags != SIZE_MAX) skip_[flags] = true;
        if (stack_address(c, 3, offset, defs)) skip_[defs[0]] = skip_[defs[1]] = true;
      }
      continue;
    }
    if (!map->r1_proven) continue;
    InlinePlan plan;
    std::vector<size_t> dead;
    if (id == BPF_FUNC_map_update_elem) {
      if (!map->plain_values || map->value_size > kMaxInlineCopy) continue;
      uint64_t flags = 0;
      if (!known_constant(c, 4, flags) || (flags != BPF_ANY && flags != BPF_EXIST)) continue;
      dead.push_back(last_definition(c, 4));
      if (stack_address(c, 3, plan.value_offset, defs)) {
        plan.value_on_stack = true;
        dead.insert(dead.end(), defs, defs + 2);
      }
    }
    if (stack_address(c, 2, plan.key_offset, defs)) {
      plan.key_on_stack = true;
      dead.insert(dead.end(), defs, defs + 2);
    }
    skip_map_load(c, map->handle);
    for (size_t d : dead)
      if (d != SIZE_MAX) skip_[d] = true;
    plans_[c] = plan;
  }
}

// The register a direct map call's key can be passed in by value: the map has a by-value entry
// for the call, r2 is r10 + offset from straight-line code before it, and that slot was just
// stored, whole, from a register that still holds it (stored_register). kNoRegister otherwise.
uint8_t Emitter::direct_key_register(const DirectMapCall& direct, uint32_t id, size_t index) {
  const bool by_value = (id == BPF_FUNC_map_lookup_elem && direct.lookup_value != nullptr) ||
                        (id == BPF_FUNC_map_update_elem && direct.update_value != nullptr);
  if (!by_value || (direct.key_size != 4 && direct.key_size != 8)) return kNoRegister;
  int32_t offset = 0;
  size_t defs[2];
  if (!stack_address(index, 2, offset, defs)) return kNoRegister;
  return stored_register(index, offset, direct.key_size);
}

// Unless the verifier proved r1 holds the map: r1 compared with its handle, to `other` if not.
void Emitter::emit_map_check(uint64_t handle, bool proven, Xbyak::Label& other) {
  if (proven) return;
  mov(r11, handle);
  cmp(rdi, r11);
  jne(other);
}

// The value register `reg` is sure to hold at instruction `index`: set by a move of an
// immediate earlier in the same straight-line code (no jump, call or function entry lands after
// it, nothing in between may write `reg`). False when that is not certain.
bool Emitter::known_constant(size_t index, uint8_t reg, uint64_t& value) {
  const size_t i = last_definition(index, reg);
  if (i == SIZE_MAX) return false;
  const TranslatedSlot& s = program_.translated[i];
  if (s.op != Op::mov64_imm && s.op != Op::mov32_imm) return false;
  value = s.op == Op::mov64_imm ? static_cast<uint64_t>(static_cast<int64_t>(s.imm))
                                : static_cast<uint32_t>(s.imm);
  return true;
}

// The register whose value the last store to [r10 + offset] (`size` bytes) left there, when it
// still holds it as instruction `index` starts: a store of that exact size and offset in the
// straight-line code before `index`, then nothing that writes the register, stores through any
// other base (which might point at the stack) or calls. kNoRegister otherwise.
uint8_t Emitter::stored_register(size_t index, int32_t offset, unsigned size) {
  constexpr size_t kScan = 32;
  const size_t stop = index > kScan ? index - kScan : 0;
  uint16_t written = 0;  // registers written between the store and `index`
  for (size_t i = index; i-- > stop;) {
    const TranslatedSlot& s = program_.translated[i];
    if (register_effect(s.op) == RegisterEffect::unknown ||
        (Op::store_rel8 <= s.op && s.op <= Op::store_rel64))  // a store through any base
      return kNoRegister;
    if (Op::st8 <= s.op && s.op <= Op::stx64) {
      if (s.dst != 10) return kNoRegister;
      static constexpr unsigned kBytes[] = {1, 2, 4, 8, 1, 2, 4, 8};
      const unsigned bytes = kBytes[static_cast<int>(s.op) - static_cast<int>(Op::st8)];
      if (s.off + static_cast<int>(bytes) <= offset || offset + static_cast<int>(size) <= s.off)
        continue;  // another slot
      const bool exact = s.op >= Op::stx8 && s.off == offset && bytes == size;
      if (!exact || s.src >= 10 || (written >> s.src & 1) || lands_inside(i + 1, index))
        return kNoRegister;
      return s.src;
    }
    // Left without code (plan_inlined_calls), it writes nothing: the register still holds what
    // was stored, and the inlined call is all that would read what it set.
    if (register_effect(s.op) == RegisterEffect::dst && !skip_[i] && s.dst < 16)
      written |= static_cast<uint16_t>(1u << s.dst);
  }
  return kNoRegister;
}

namespace {
// Is `e` just the register `r` (no index, no displacement)?
bool is_register(const Xbyak::RegExp& e, const Xbyak::Reg64& r) {
  return e.getBase().getBit() != 0 && e.getBase().getIdx() == r.getIdx() &&
         e.getIndex().getBit() == 0 && e.getDisp() == 0;
}
}  // namespace

// The address of values[key], with the key (zero-extended in `key`) already known below
// max_entries. Values below 2 GiB (maps/map_file.cpp maps small maps there) with a scale x86 has
// are `[key * stride + disp32]`, no code at all; otherwise rax = the address.
Xbyak::RegExp Emitter::array_element(const InlineArrayMap& map, const Xbyak::Reg64& key) {
  const bool scaled = map.stride == 1 || map.stride == 2 || map.stride == 4 || map.stride == 8;
  const uint64_t end =
      reinterpret_cast<uint64_t>(map.values) + uint64_t{map.max_entries} * map.stride;
  if (scaled && end <= uint64_t{INT32_MAX})
    return key * static_cast<int>(map.stride) +
           static_cast<int>(reinterpret_cast<uint64_t>(map.values));
  mov(r11, reinterpret_cast<uint64_t>(map.values));
  if (scaled) {
    lea(rax, ptr[r11 + key * static_cast<int>(map.stride)]);  // one instruction, the common case
    return Xbyak::RegExp(rax);
  }
  if (key.getIdx() != rax.getIdx()) mov(rax, key);
  if ((map.stride & (map.stride - 1)) == 0) {
    int shift = 0;
    while ((uint32_t{1} << shift) < map.stride) ++shift;
    shl(rax, shift);
  } else {
    imul(rax, rax, static_cast<int>(map.stride));
  }
  add(rax, r11);
  return Xbyak::RegExp(rax);
}

// The key of an inlined array map call: from the register its stack slot was just stored from
// when there is one (no store-to-load round trip on the way to the element), else from the
// stack or r2. True when that register is known below max_entries: no bounds check needed, and
// `key` is that register itself (its whole value is the key). Otherwise `key` is rax, with the
// key zero-extended into it.
Emitter::InlineKey Emitter::inline_key(size_t index, const InlineArrayMap& map) {
  const InlinePlan plan = plan_at(index);
  const uint8_t stored =
      plan.key_on_stack ? stored_register(index, plan.key_offset, 4) : kNoRegister;
  return {stored, stored != kNoRegister && known_below(index, stored, map.max_entries)};
}

bool Emitter::emit_inline_key(size_t index, const InlineArrayMap& map, Xbyak::Reg64& key) {
  const InlineKey k = inline_key(index, map);
  key = rax;
  if (k.in_range) {
    key = reg(k.stored);
  } else if (k.stored != kNoRegister) {
    mov(eax, reg(k.stored).cvt32());
  } else {
    const InlinePlan plan = plan_at(index);
    mov(eax, plan.key_on_stack ? dword[rbp + plan.key_offset] : dword[rsi]);
  }
  return k.in_range;
}

// True of the helper as much as of the inlined form: an array map has every key below
// max_entries.
bool Emitter::lookup_never_null(size_t index) {
  const TranslatedSlot& s = program_.translated[index];
  if (s.op != Op::call_helper ||
      program_.helper_ids[static_cast<size_t>(s.imm)] != BPF_FUNC_map_lookup_elem)
    return false;
  const InlineArrayMap* map = array_map_at(index);
  return map != nullptr && map->r1_proven && inline_key(index, *map).in_range;
}

// Linux's array_map_gen_lookup: r0 = &values[key] or NULL. r1 = map, r2 = &key. The key out of
// range and another map are cold paths: the common one falls through.
void Emitter::emit_inline_array_lookup(const TranslatedSlot& s, size_t index,
                                       const InlineArrayMap& map) {
  Xbyak::Label* done = &kept_label();
  if (!map.r1_proven) {
    emit_map_check(map.handle, false, cold_path([this, s, index, done] {
                     emit_helper_fallback(s, index);
                     jmp(*done);
                   }));
  }
  Xbyak::Reg64 key;
  const bool in_range = emit_inline_key(index, map, key);
  if (!in_range) {
    cmp(eax, map.max_entries);
    jae(cold_path([this, done] {
      xor_(eax, eax);
      jmp(*done);
    }));
  }
  const Xbyak::RegExp element = array_element(map, key);
  if (in_range && map.r1_proven) {
    if (const size_t j = array_result_load(index); j != 0) {
      const TranslatedSlot& load = program_.translated[j];
      emit_access_at(load, element + static_cast<int>(load.off));
      if (emitted_with_lookup_.empty()) emitted_with_lookup_.assign(program_.insn_count, false);
      emitted_with_lookup_[j] = true;
      L(*done);
      return;
    }
  }
  if (!is_register(element, rax)) lea(rax, ptr[element]);
  L(*done);
}

// A lookup that cannot fail is mostly followed by a load of the value, `if r0 == 0 goto out;
// x = *(r0 + off)`: when nothing else reads r0, the load can use the element's address as its
// own ([key * stride + values + off]) and r0 is never set. It must be the first instruction with
// code after the call, with only compile-time null tests of r0 and results nothing reads (no
// code, whatever they read) before it, and no jump landing on the way.
size_t Emitter::array_result_load(size_t index) {
  constexpr size_t kScan = 4;
  for (size_t j = index + 1; j < program_.insn_count && j <= index + kScan; ++j) {
    if (lands_inside(j, j)) return 0;
    const TranslatedSlot& u = program_.translated[j];
    if (u.op >= Op::ldx8 && u.op <= Op::ldxsx32 && u.src == 0) {
      if (skip_[j] || dead_definition(j)) return 0;
      return u.dst == 0 || dead_after(j, 0) ? j : 0;
    }
    const bool null_test =
        u.op == Op::jeq64_imm && u.imm == 0 && u.dst == 0 && known_non_null(j, 0);
    const bool no_code = !skip_[j] && dead_definition(j) && u.dst != 0;
    if (!null_test && !no_code) return 0;
  }
  return 0;
}

// array_map_update_elem for flags BPF_ANY / BPF_EXIST / BPF_NOEXIST on values without special
// fields: -E2BIG for a key out of range, -EEXIST for NOEXIST (every element exists), else the
// value copied and 0. Other flags (BPF_F_LOCK, invalid ones) take the helper, also before a key
// out of range (the helper checks flags first). r1 = map, r2 = &key, r3 = &value, r4 = flags.
// BPF_ANY, by far the most common, falls through to the copy; everything else is a cold path.
void Emitter::emit_inline_array_update(const TranslatedSlot& s, size_t index,
                                       const InlineArrayMap& map) {
  Xbyak::Label* done = &kept_label();
  Xbyak::Label* copy = &kept_label();
  Xbyak::Label* slow = nullptr;
  const auto helper = [&]() -> Xbyak::Label& {
    if (slow == nullptr) {
      slow = &cold_path([this, s, index, done] {
        emit_helper_fallback(s, index);
        jmp(*done);
      });
    }
    return *slow;
  };
  if (!map.r1_proven) emit_map_check(map.handle, false, helper());
  // Flags set by a constant the call is sure to see: BPF_ANY and BPF_EXIST copy without a test.
  uint64_t flags = 0;
  const bool copy_flags =
      known_constant(index, 4, flags) && (flags == BPF_ANY || flags == BPF_EXIST);
  const InlinePlan plan = plan_at(index);
  Xbyak::Reg64 key;
  if (!emit_inline_key(index, map, key)) {
    cmp(eax, map.max_entries);
    Xbyak::Label* refuse = copy_flags ? nullptr : &helper();
    jae(cold_path([this, refuse, done] {
      if (refuse != nullptr) {  // flags other than BPF_ANY..BPF_EXIST: the helper decides
        cmp(rcx, BPF_EXIST);
        ja(*refuse);
      }
      mov(rax, negative(E2BIG));
      jmp(*done);
    }));
  }
  if (!copy_flags) {
    test(rcx, rcx);
    Xbyak::Label* refuse = &helper();
    jnz(cold_path([this, refuse, copy, done] {
      // Key in range, flags not BPF_ANY: BPF_EXIST copies, BPF_NOEXIST: -EEXIST.
      cmp(rcx, BPF_EXIST);
      je(*copy);
      cmp(rcx, BPF_NOEXIST);
      jne(*refuse);
      mov(rax, negative(EEXIST));
      jmp(*done);
    }));
  }
  L(*copy);
  const Xbyak::RegExp element = array_element(map, key);
  // The copy: 8-byte moves, then the 4/2/1-byte tail (from r3 or the stack, to the element).
  const auto source = [&](uint32_t at) {
    return plan.value_on_stack ? rbp + (plan.value_offset + static_cast<int>(at))
                               : rdx + static_cast<int>(at);
  };
  const auto target = [&](uint32_t at) { return element + static_cast<int>(at); };
  uint32_t at = 0;
  // An 8-byte value just stored from a register (not r0, which may hold the element or the key
  // by now): from it.
  if (map.value_size == 8 && plan.value_on_stack) {
    const uint8_t stored = stored_register(index, plan.value_offset, 8);
    if (stored != kNoRegister && stored != 0) {
      mov(qword[target(0)], reg(stored));
      at = 8;
    }
  }
  emit_value_copy(source, target, at, map.value_size);
  if (live_after(index, 0)) xor_(eax, eax);  // the result, where something reads it
  L(*done);
}

// Bytes [at, size) of a value copied with r9 from source(offset) to target(offset): 8-byte moves,
// then the 4/2/1-byte tail.
void Emitter::emit_value_copy(const std::function<Xbyak::RegExp(uint32_t)>& source,
                              const std::function<Xbyak::RegExp(uint32_t)>& target, uint32_t at,
                              uint32_t size) {
  for (; at + 8 <= size; at += 8) {
    mov(r9, qword[source(at)]);
    mov(qword[target(at)], r9);
  }
  if (at + 4 <= size) {
    mov(r9.cvt32(), dword[source(at)]);
    mov(dword[target(at)], r9.cvt32());
    at += 4;
  }
  if (at + 2 <= size) {
    mov(r9.cvt16(), word[source(at)]);
    mov(word[target(at)], r9.cvt16());
    at += 2;
  }
  if (at < size) {
    mov(r9.cvt8(), byte[source(at)]);
    mov(byte[target(at)], r9.cvt8());
  }
}

Xbyak::Label& Emitter::kept_label() {
  return kept_labels_.emplace_back();
}

Xbyak::Label& Emitter::cold_path(std::function<void()> emit) {
  Xbyak::Label& entry = kept_label();
  cold_paths_.push_back({&entry, std::move(emit)});
  return entry;
}

// The callback the lddw closest before a bpf_loop call puts in r2, if nothing in between may
// write r2 or leave the straight line. A guess, not a proof (a jump may land in between): the
// inlined loop compares r2 with it at run time and takes the helper for any other.
size_t Emitter::known_callback(size_t index) const {
  const size_t stop = index > kDefinitionScan ? index - kDefinitionScan : 0;
  for (size_t i = index; i-- > stop;) {
    const TranslatedSlot& s = program_.translated[i];
    if (s.op == Op::lddw_tail) continue;
    if (s.op == Op::lddw && s.dst == 2) {
      const uint64_t handle = program_.translated[i + 1].value;
      if ((handle & vm::detail::kFunctionHandleMask) != vm::detail::kFunctionHandleTag)
        return SIZE_MAX;
      const size_t target = static_cast<size_t>(handle & ~vm::detail::kFunctionHandleMask);
      if (target >= program_.insn_count || !is_function_[target]) return SIZE_MAX;
      return target;
    }
    if (s.dst == 2 || register_effect(s.op) == RegisterEffect::unknown || is_jump(s.op))
      return SIZE_MAX;
  }
  return SIZE_MAX;
}

// Linux's inline_bpf_loop, with the helper's exact answers: flags other than 0 and any callback
// but the expected one take the helper; nr_loops (its low 32 bits, as the helper's u32 argument)
// above BPF_MAX_LOOPS answers -E2BIG; otherwise callback(i, ctx) runs as a bpf-to-bpf call for
// i = 0, 1, ... until it returns non-zero (r0 = i + 1) or i reaches nr_loops (r0 = nr_loops).
// The loop state lives in r6..r8 (rbx, r13, r14: the callee keeps them), whose caller values
// are kept on the host stack below the frame; the call limit moves down by as much, so the
// callback may still nest as deep as any frame (and helper_depth(), which divides by the frame
// size, still counts frames: at most 7 such spills of 32 bytes are below any frame).
void Emitter::emit_inline_loop(const TranslatedSlot& s, size_t index, size_t callback) {
  Xbyak::Label slow, too_big, head, finished, done;
  test(rcx, rcx);
  jnz(slow);
  mov(r11, vm::detail::kFunctionHandleTag | static_cast<uint64_t>(callback));
  cmp(rsi, r11);
  jne(slow);
  cmp(edi, static_cast<uint32_t>(kMaxLoops));
  ja(too_big);
  // A callback frame beyond the call-depth limit: the helper reports it as it does (the depth is
  // the same for every iteration, so checking once is enough).
  cmp(rsp, qword[STATE_FIELD(call_limit)]);
  jb(slow);
  push(rbx);
  push(r13);
  push(r14);
  sub(rsp, kLoopSpill - 24);
  sub(qword[STATE_FIELD(call_limit)], kLoopSpill);
  mov(r13d, edi);  // nr_loops
  xor_(ebx, ebx);  // i
  mov(r14, rdx);   // ctx
  L(head);
  cmp(ebx, r13d);
  jae(finished);
  mov(edi, ebx);
  mov(rsi, r14);
  Xbyak::Label returned;
  if (!emit_inlined_callback(callback, returned)) call(function_[callback]);
  L(returned);
  add(ebx, 1);
  test(rax, rax);
  jz(head);
  L(finished);
  mov(eax, ebx);
  add(qword[STATE_FIELD(call_limit)], kLoopSpill);
  add(rsp, kLoopSpill - 24);
  pop(r14);
  pop(r13);
  pop(rbx);
  jmp(done);
  L(too_big);
  mov(rax, negative(E2BIG));
  jmp(done);
  L(slow);
  emit_helper_fallback(s, index);
  L(done);
}

// The body of a callback that needs no frame (a leaf that touches neither r6..r10 nor the host
// stack: frameless_), emitted again inside the inlined loop, so an iteration costs no call and
// return. The copy's jumps stay inside it: its instructions get their own offsets and forward
// jumps while it is emitted, and the function's own code, emitted later in program order, gets
// its offsets as before (the helper's slow path and bpf_loop through call_function still call
// it). Every exit jumps to `returned` with r0 in rax, as the call would return.
bool Emitter::emit_inlined_callback(size_t callback, Xbyak::Label& returned, size_t max_insns) {
  if (!frameless_[callback] || inline_exit_ != nullptr) return false;
  size_t end = callback + 1;
  while (end < program_.insn_count && !is_function_[end]) ++end;
  if (end - callback > max_insns) return false;
  const bool outer_frameless = in_frameless_;
  in_frameless_ = true;
  inline_exit_ = &returned;
  inline_end_ = end;
  emit_copy(callback, end);
  inline_exit_ = nullptr;
  in_frameless_ = outer_frameless;
  return true;
}

void Emitter::emit_copy(size_t first, size_t end) {
  const std::vector<uint32_t> outer(insn_offsets.begin() + static_cast<ptrdiff_t>(first),
                                    insn_offsets.begin() + static_cast<ptrdiff_t>(end));
  const size_t fixups_before = insn_fixups_.size();
  const size_t outer_index = index_;
  for (size_t i = first; i < end; ++i) i = emit_at(i);
  for (size_t k = fixups_before; k < insn_fixups_.size(); ++k)
    patch_rel32(insn_fixups_[k].at, insn_offsets[insn_fixups_[k].target]);
  insn_fixups_.resize(fixups_before);
  std::copy(outer.begin(), outer.end(), insn_offsets.begin() + static_cast<ptrdiff_t>(first));
  index_ = outer_index;
}

}  // namespace userbpf::jit::detail

namespace userbpf::jit::detail {

// Mirrors what emit_inline_helper emits for the call: an inlined array map call with a plan
// reads its key and value from the registers they were stored from when stored_register finds
// them, else exactly their bytes; a direct entry on a proven map reads the map's key and value
// sizes (the key not at all when passed by value). Everything else (the helper itself, a
// fallback to it) may read from each stack pointer up to r10.
bool Emitter::call_stack_reads(size_t index, std::vector<StackRange>& reads,
                               std::vector<bool>& consumed) {
  const TranslatedSlot& s = program_.translated[index];
  bool on_stack[6] = {};
  int32_t offset[6] = {};
  for (uint8_t r = 1; r <= 5; ++r) {
    size_t defs[2];
    if (!stack_address(index, r, offset[r], defs)) continue;
    on_stack[r] = true;
    consumed[defs[0]] = true;
  }
  if (s.op == Op::call_local) {
    for (uint8_t r = 1; r <= 5; ++r)
      if (on_stack[r]) return false;
    return true;
  }
  StackRange range[6];
  for (uint8_t r = 1; r <= 5; ++r)
    range[r] = on_stack[r] ? StackRange{offset[r], 0} : StackRange{0, 0};
  const auto exact = [&](uint8_t r, uint32_t bytes) {
    if (on_stack[r] && bytes != 0) range[r] = {offset[r], offset[r] + static_cast<int32_t>(bytes)};
  };
  const auto none = [&](uint8_t r) { range[r] = {0, 0}; };
  const uint32_t id = program_.helper_ids[static_cast<size_t>(s.imm)];
  const bool map_call = id == BPF_FUNC_map_lookup_elem || id == BPF_FUNC_map_update_elem ||
                        id == BPF_FUNC_map_delete_elem;
  if (map_call && options_.inline_helpers && !options_.blind_constants) {
    const InlineArrayMap* map = array_map_at(index);
    const auto plan = plans_.find(index);
    if (map != nullptr && id != BPF_FUNC_map_delete_elem) {
      // With a plan the call is inlined without the helper (plan_inlined_calls' conditions).
      if (plan != plans_.end()) {
        const InlinePlan& p = plan->second;
        if (p.key_on_stack && stored_register(index, p.key_offset, 4) != kNoRegister)
          none(2);
        else
          exact(2, 4);
        if (id == BPF_FUNC_map_update_elem) {
          const uint8_t stored = p.value_on_stack && map->value_size == 8
                                     ? stored_register(index, p.value_offset, 8)
                                     : kNoRegister;
          if (stored != kNoRegister && stored != 0)
            none(3);
          else
            exact(3, map->value_size);
        }
      }
    } else if (const DirectMapCall* direct = direct_map_at(options_.direct_maps, index);
               direct != nullptr && direct_entry(*direct, id) != 0 && direct->r1_proven) {
      if (direct_key_register(*direct, id, index) != kNoRegister)
        none(2);
      else
        exact(2, direct->key_size);
      // An update in place with its value in a register stores the value itself where it
      // calls the entry.
      if (id == BPF_FUNC_map_update_elem) {
        if (inline_update_usable(*direct, index) &&
            hash_update_value_register(*direct, index) != kNoRegister)
          none(3);
        else
          exact(3, direct->value_size);
      }
    }
  }
  for (uint8_t r = 1; r <= 5; ++r)
    if (range[r].from < range[r].to) reads.push_back(range[r]);
  return true;
}

}  // namespace userbpf::jit::detail

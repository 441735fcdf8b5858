// bpf_map_lookup_elem on a hash map with a 4- or 8-byte key, emitted in place of the call to the
// map's by-value entry (DirectMapCall::lookup_value) from the description of its search
// (DirectMapCall::inline_lookup): the key's hash, one bucket line whose first four tags are
// compared at once, and the element whose tag matches, checked as the entry checks it (sequence
// word even and unchanged around the key compare). A lookup that hits on its first candidate
// runs straight through; other candidates, the last three tags, misses and buckets with an
// overflow list are cold paths, and only the list calls the entry. No call, no argument moves,
// and the map's fields are immediates. The tests of the result in the few instructions after it
// are decided on each path (null_test_window).
//
// bpf_map_update_elem with BPF_ANY or BPF_EXIST likewise, where the description says how the
// entry updates a key in place (the bucket's lock word): the same hash and tag compare under the
// lock, the value copied, the lock released; a key not in the bucket's slots goes to the entry.
// Where the map has a writer token (base/writer_token.hpp), a run that holds it updates 4- and
// 8-byte values without the lock, trying the element its last search of the map found first.
#include <linux/bpf.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "base/writer_token.hpp"
#include "jit/basic_blocks.hpp"
#include "jit/emitter.hpp"
#include "vm/native_code.hpp"

namespace userbpf::jit::detail {
namespace {

using Xbyak::util::eax;
using Xbyak::util::edi;
using Xbyak::util::edx;
using Xbyak::util::esi;
using Xbyak::util::r11;
using Xbyak::util::r12;
using Xbyak::util::r8;
using Xbyak::util::r8d;
using Xbyak::util::r9;
using Xbyak::util::r9b;
using Xbyak::util::r9d;
using Xbyak::util::rax;
using Xbyak::util::rdi;
using Xbyak::util::rdx;
using Xbyak::util::rsi;
using Xbyak::util::xmm0;
using Xbyak::util::xmm1;

// The emitted search compares the seven tags with two 16-byte loads (words 0-3, then 3-6 when
// those have no candidate), the words maps/hash_bucket.hpp's match_words reads.
constexpr uint32_t kSlots = 7;
constexpr uint32_t kTagBytes = 4 * kSlots;
// Values up to this size are copied in place by an inlined update (as for array maps).
constexpr uint32_t kMaxInlineHashCopy = 128;

// Can [base, base + bytes) be addressed as a 32-bit displacement (sign-extended, so below 2 GiB)?
bool below_2gib(const uint8_t* base, uint64_t bytes) {
  return reinterpret_cast<uint64_t>(base) + bytes <= uint64_t{INT32_MAX};
}

}  // namespace

// The layout emit_inline_hash_lookup knows how to follow, with every offset inside what it
// reads: otherwise the by-value entry is called.
bool inline_lookup_usable(const DirectMapCall& direct) {
  const HashLookup& l = direct.inline_lookup;
  if (l.buckets == nullptr || l.elements == nullptr || direct.lookup_value == nullptr ||
      (direct.key_size != 4 && direct.key_size != 8))
    return false;
  if (l.slots != kSlots || l.bucket_shift < 5 || l.bucket_shift > 16 || l.capacity == 0 ||
      l.element_size == 0 || l.element_size > uint32_t{INT32_MAX} / 2)
    return false;
  const uint32_t bucket_bytes = uint32_t{1} << l.bucket_shift;
  if (reinterpret_cast<uint64_t>(l.buckets) % 16 != 0 || l.tag_offset % 16 != 0 ||
      l.tag_offset + kTagBytes > bucket_bytes || l.slot_offset % 4 != 0 ||
      l.slot_offset + kTagBytes > bucket_bytes || l.overflow_offset % 4 != 0 ||
      l.overflow_offset + 4 > bucket_bytes)
    return false;
  const auto inside = [&](uint64_t offset, uint64_t bytes) {
    return offset + bytes <= l.element_size;
  };
  return inside(l.seq_offset, 4) && inside(l.key_offset, direct.key_size) &&
         inside(l.value_offset, 0) &&
         (l.reference_offset < 0 || inside(static_cast<uint32_t>(l.reference_offset), 4));
}

// rsi = the key (from `key_register`, else through r2).
void Emitter::emit_key_load(const DirectMapCall& direct, uint8_t key_register) {
  const bool wide = direct.key_size == 8;
  if (key_register != kNoRegister) {  // never r1 or r2: those were set after the key's store
    if (wide)
      mov(rsi, reg(key_register));
    else
      mov(esi, reg(key_register).cvt32());
  } else if (wide) {
    mov(rsi, qword[rsi]);
  } else {
    mov(esi, dword[rsi]);
  }
}

// eax = the hash of the key in rsi, and the bucket's address (r8, plus a displacement when the
// buckets are below 2 GiB). Clobbers rdx and r11.
Xbyak::RegExp Emitter::emit_hash_bucket(const DirectMapCall& direct) {
  const HashLookup& l = direct.inline_lookup;
  // hash = lo32(lo ^ hi) of (key ^ hash_xor) * hash_multiplier.
  mov(rax, l.hash_xor);
  xor_(rax, rsi);
  mov(rdx, l.hash_multiplier);
  mul(rdx);
  xor_(eax, edx);
  mov(r8d, eax);
  and_(r8d, l.bucket_mask);
  shl(r8, static_cast<int>(l.bucket_shift));
  const uint64_t buckets_bytes = (uint64_t{l.bucket_mask} + 1) << l.bucket_shift;
  if (below_2gib(l.buckets, buckets_bytes))
    return r8 + static_cast<int>(reinterpret_cast<uint64_t>(l.buckets));
  mov(r11, reinterpret_cast<uint64_t>(l.buckets));
  add(r8, r11);
  return r8;
}

// edx = the candidate slots among the first four: bit i where tag i equals the hash in eax; ZF
// set when there is none. Most keys sit in those slots (a bucket fills from slot 0 and holds
// about four keys when the map is full), so the other three tags are compared only when these
// have no candidate left (emit_next_candidate). Clobbers xmm0.
void Emitter::emit_tag_match(const HashLookup& l, const Xbyak::RegExp& bucket) {
  movd(xmm0, eax);
  pshufd(xmm0, xmm0, 0);
  pcmpeqd(xmm0, ptr[bucket + static_cast<int>(l.tag_offset)]);  // 16-byte aligned
  movmskps(edx, xmm0);
  test(edx, edx);
}

// Where the candidate in edx's lowest bit was not the key's (or edx is empty): on to the next
// candidate at `candidate`, first among slots 0-3, then among slots 4-6 (tags 3-6 loaded as
// one vector, the word after them never read). Those carry the mark kLaterSlotsTried in edx,
// which tells the two rounds apart and is never a candidate itself (it sits above the slots).
// Falls through when no candidate is left. Clobbers r9d, xmm0, xmm1.
void Emitter::emit_next_candidate(const HashLookup& l, const Xbyak::RegExp& bucket,
                                  Xbyak::Label& candidate) {
  constexpr uint32_t kLaterSlotsTried = 0x100;
  Xbyak::Label later_slots, none;
  lea(r9d, ptr[rdx - 1]);
  and_(edx, r9d);
  jz(later_slots);  // slots 0-3 have none left (the mark is never cleared)
  cmp(edx, kLaterSlotsTried);
  jne(candidate);
  jmp(none);
  L(later_slots);
  movd(xmm0, eax);
  pshufd(xmm0, xmm0, 0);
  movdqu(xmm1, ptr[bucket + static_cast<int>(l.tag_offset + 12)]);
  pcmpeqd(xmm1, xmm0);
  movmskps(edx, xmm1);
  and_(edx, 0xe);  // tags 4-6: bit k is tag 3 + k
  shl(edx, 3);
  or_(edx, kLaterSlotsTried);
  cmp(edx, kLaterSlotsTried);
  jne(candidate);
  L(none);
}

// The element of the lowest candidate slot in edx (rdi, plus a displacement when the elements are
// below 2 GiB); to `other` when the slot holds no element. With `hint`, its index is also
// stored as the run's element hint (NativeState::element_hint). Clobbers r11.
Xbyak::RegExp Emitter::emit_candidate_element(const HashLookup& l, const Xbyak::RegExp& bucket,
                                              Xbyak::Label& other, bool hint) {
  tzcnt(edi, edx);  // bsf where there is no tzcnt: the same for a non-zero edx
  mov(edi, dword[bucket + rdi * 4 + static_cast<int>(l.slot_offset)]);
  return emit_indexed_element(l, other, hint);
}

// The element whose index is in edi (rdi, plus a displacement when the elements are below 2 GiB);
// to `other` when the index is no element's. `hint` as for emit_candidate_element.
Xbyak::RegExp Emitter::emit_indexed_element(const HashLookup& l, Xbyak::Label& other, bool hint) {
  cmp(edi, l.capacity);  // empty slots and list markers are no element
  jae(other);
  if (hint) mov(dword[r12 + static_cast<int>(offsetof(vm::NativeState, element_hint))], edi);
  if (std::has_single_bit(l.element_size))
    shl(rdi, std::countr_zero(l.element_size));
  else
    imul(rdi, rdi, static_cast<int>(l.element_size));
  if (below_2gib(l.elements, uint64_t{l.capacity} * l.element_size))
    return rdi + static_cast<int>(reinterpret_cast<uint64_t>(l.elements));
  mov(r11, reinterpret_cast<uint64_t>(l.elements));
  add(rdi, r11);
  return rdi;
}

void Emitter::emit_key_compare(const HashLookup& l, const Xbyak::RegExp& element, bool wide) {
  if (wide)
    cmp(qword[element + static_cast<int>(l.key_offset)], rsi);
  else
    cmp(dword[element + static_cast<int>(l.key_offset)], esi);
}

// r0 = the value of the key or NULL, as lookup_value answers. r1 = map, r2 = &key. Registers:
// rsi the key, eax the hash, r8 the bucket, edx the candidate slots, rdi the element, r9d its
// sequence word; all of them are the helper call's to clobber.
void Emitter::emit_inline_hash_lookup(const TranslatedSlot& s, size_t index,
                                      const DirectMapCall& direct, uint8_t key_register) {
  const HashLookup& l = direct.inline_lookup;
  Xbyak::Label* done = &kept_label();
  // clang tests the result right away (`if r0 == 0 goto T`): the hit path then goes on after the
  // test and the paths that find nothing go to T, so a hit runs no test. Cold paths are emitted
  // after the whole program, when T's offset is known.
  const size_t null_target = folded_null_test(index);
  if (null_target != SIZE_MAX) skip_[index + 1] = true;
  // Otherwise the tests of r0 in the few instructions after it (`hits += v != NULL`, a select of
  // `v ? *v : 0`) are decided too: the hit path goes on into them knowing r0 is not NULL, and
  // NULL goes to a copy of them emitted out of line that knows it is (emit_null_path_copy).
  null_known_ = {};  // a window an earlier emission of this lookup decided is not this one's
  const size_t window_end = null_target == SIZE_MAX ? null_test_window(index) : SIZE_MAX;
  Xbyak::Label* null_copy = nullptr;
  if (window_end != SIZE_MAX) {
    null_copy =
        &cold_path([this, index, window_end, frameless = in_frameless_, saved = saved_now_] {
          xor_(eax, eax);
          emit_null_path_copy(index + 1, window_end, frameless, saved);
        });
  }
  // rax NULL: to T, or on as the call would return.
  const auto null_result = [this, null_target, done, null_copy] {
    if (null_copy != nullptr) return jmp(*null_copy);
    xor_(eax, eax);
    if (null_target != SIZE_MAX)
      jump_to_offset(kAlways, insn_offsets[null_target]);
    else
      jmp(*done);
  };
  // rax whatever a call returned.
  const auto call_result = [this, null_target, done, null_copy] {
    if (null_target != SIZE_MAX) {
      test(rax, rax);
      jump_to_offset(kE, insn_offsets[null_target]);
    }
    if (null_copy != nullptr) {
      test(rax, rax);
      jz(*null_copy);
    }
    jmp(*done);
  };
  if (!direct.r1_proven) {
    emit_map_check(direct.handle, false, cold_path([this, s, index, call_result] {
                     emit_helper_fallback(s, index);
                     call_result();
                   }));
  }
  emit_key_load(direct, key_register);
  const Xbyak::RegExp bucket = emit_hash_bucket(direct);
  emit_tag_match(l, bucket);
  Xbyak::Label* candidate = &kept_label();
  // Not this candidate: the next, else the overflow list's check, else NULL.
  Xbyak::Label& other = cold_path([this, l, bucket, candidate, null_result, call_result, &direct] {
    emit_next_candidate(l, bucket, *candidate);
    mov(edi, eax);
    and_(edi, l.bucket_mask);
    or_(edi, l.empty_list_bit);
    cmp(dword[bucket + static_cast<int>(l.overflow_offset)], edi);
    Xbyak::Label list;
    jne(list);
    null_result();
    L(list);
    mov(rdi, reinterpret_cast<uint64_t>(direct.object));
    mov(rax, reinterpret_cast<uint64_t>(direct.lookup_value));
    call(rax);
    call_result();
  });
  jz(other);
  L(*candidate);
  const Xbyak::RegExp element = emit_candidate_element(l, bucket, other, hinted(direct));
  mov(r9d, dword[element + static_cast<int>(l.seq_offset)]);
  test(r9b, 1);  // odd: free or being rewritten
  jnz(other);
  emit_key_compare(l, element, direct.key_size == 8);
  jne(other);
  // x86 keeps loads in order: this read follows the key's, as the entry's acquire fence orders.
  cmp(dword[element + static_cast<int>(l.seq_offset)], r9d);
  jne(other);
  if (l.reference_offset >= 0) {  // LRU: referenced, written only when it was not
    const Xbyak::Address ref = dword[element + l.reference_offset];
    Xbyak::Label referenced;
    cmp(ref, 0);
    jne(referenced);
    mov(ref, 1);
    L(referenced);
  }
  lea(rax, ptr[element + static_cast<int>(l.value_offset)]);
  L(*done);
  if (window_end != SIZE_MAX) null_known_ = {index + 1, window_end, true};
}

// The straight-line code right after the lookup at `index` whose `if r0 == 0` and `if r0 != 0`
// the lookup decides: up to and including the first goto, at most kMaxNullWindow instructions,
// with such a test, reached only from the lookup (no jump from elsewhere lands in it), and
// neither calling nor writing r0. SIZE_MAX when there is none. Not inside a function emitted in
// place (its copy's cold paths would come after its offsets are gone).
size_t Emitter::null_test_window(size_t index) {
  constexpr size_t kMaxNullWindow = 8;
  const size_t n = program_.insn_count;
  if (inline_exit_ != nullptr) return SIZE_MAX;
  bool tests = false;
  size_t end = SIZE_MAX;
  for (size_t i = index + 1; i < n && i <= index + kMaxNullWindow; ++i) {
    const TranslatedSlot& t = program_.translated[i];
    if (is_function_[i]) return SIZE_MAX;
    if (t.op == Op::ja) {
      end = i;
      break;
    }
    tests |= (t.op == Op::jeq64_imm || t.op == Op::jne64_imm) && t.dst == 0 && t.imm == 0;
    const RegisterEffect effect = register_effect(t.op);
    if (!falls_through(t.op) || t.op == Op::may_goto || effect == RegisterEffect::unknown ||
        (effect == RegisterEffect::dst && t.dst == 0))
      return SIZE_MAX;
  }
  if (end == SIZE_MAX || !tests) return SIZE_MAX;
  for (size_t i = index + 1; i <= end; ++i)
    for (const uint32_t source : jump_sources(i))
      if (source <= index || source > end) return SIZE_MAX;
  return end;
}

// Instructions [first, last] emitted again here (out of line) with r0 known to be NULL, their
// jumps to one another going to this copy's code, as code of the function they belong to, whose
// frame state is (frameless, saved). Their offsets stay the first copy's.
void Emitter::emit_null_path_copy(size_t first, size_t last, bool frameless, uint8_t saved) {
  const bool outer_frameless = in_frameless_;
  const uint8_t outer_saved = saved_now_;
  const NullKnown outer_known = null_known_;
  in_frameless_ = frameless;
  saved_now_ = saved;
  null_known_ = {first, last, false};
  emit_copy(first, last + 1);
  in_frameless_ = outer_frameless;
  saved_now_ = outer_saved;
  null_known_ = outer_known;
}

// Can emit_inline_hash_update replace the update call at `index`: an in-place update described,
// a value the copy handles, and flags BPF_ANY or BPF_EXIST set by a move the call is sure to see?
bool Emitter::inline_update_usable(const DirectMapCall& direct, size_t index) {
  const HashLookup& l = direct.inline_lookup;
  uint64_t flags = 0;
  return inline_lookup_usable(direct) && direct.update_value != nullptr && l.lock_offset >= 0 &&
         l.lock_offset % 4 == 0 &&
         static_cast<uint32_t>(l.lock_offset) + 4 <= (uint32_t{1} << l.bucket_shift) &&
         direct.value_size != 0 && direct.value_size <= kMaxInlineHashCopy &&
         l.value_offset + direct.value_size <= l.element_size && known_constant(index, 4, flags) &&
         (flags == BPF_ANY || flags == BPF_EXIST);
}

// bpf_map_update_elem(map, &key, &value, BPF_ANY or BPF_EXIST) of a key in its bucket's slots, as
// update_value does it: the bucket's lock taken, the key's element found (no sequence check: the
// lock keeps writers out), the value copied over the element's, the lock released, r0 = 0.
// Everything else (no such key in the slots, a lock held by another writer for long) releases the
// lock and calls update_value, which also answers -E2BIG and -ENOENT. r1 = map, r2 = &key,
// r3 = &value, r4 = flags. Registers as the lookup's, r10 the value's address.
//
// Where the map has a writer token and the value is one 4- or 8-byte store, a run that holds the
// token takes no lock (base/writer_token.hpp says why that is safe): it first tries the element
// the run's last hit of this map's key search left as the hint (a lookup of the same key just
// before, the usual `*v + 1` update), checked as a lookup checks an element, and otherwise
// searches the bucket. A run that does not hold the token counts a miss and claims it from the
// second (native_claim_writer), else takes the locked path, then emitted out of line.
void Emitter::emit_inline_hash_update(const TranslatedSlot& s, size_t index,
                                      const DirectMapCall& direct, uint8_t key_register) {
  const HashLookup& l = direct.inline_lookup;
  Xbyak::Label* done = &kept_label();
  if (!direct.r1_proven) {
    emit_map_check(direct.handle, false, cold_path([this, s, index, done] {
                     emit_helper_fallback(s, index);
                     jmp(*done);
                   }));
  }
  HashUpdate u;
  u.index = index;
  u.done = done;
  // The value from the stack when r3 is r10 + offset; else through r3, kept in r10 (the hash's
  // multiply takes rdx).
  size_t defs[2];
  u.value_on_stack = stack_address(index, 3, u.value_offset, defs);
  // An 8-byte value just stored from a register: from that register, copied to r10 before
  // anything here writes one (the value's store may then have no code: the path that calls the
  // entry stores it again).
  const uint8_t value_register = hash_update_value_register(direct, index);
  u.value_in_register = value_register != kNoRegister;
  if (u.value_in_register)
    mov(Xbyak::util::r10, reg(value_register));
  else if (!u.value_on_stack)
    mov(Xbyak::util::r10, rdx);
  known_constant(index, 4, u.flags);  // inline_update_usable found it
  emit_key_load(direct, key_register);
  if (!writer_token_usable(direct)) {
    emit_hash_update_search(direct, u, true);
    L(*done);
    return;
  }
  const auto token = reinterpret_cast<uint64_t>(l.writer_token);
  Xbyak::Label* search = &kept_label();
  Xbyak::Label& unheld = cold_path([this, token, search, &direct, u] {
    const Xbyak::RegExp misses = r12 + static_cast<int>(offsetof(vm::NativeState, writer_misses));
    Xbyak::Label claim, lock_it;
    mov(r11, token);
    cmp(dword[r11 + static_cast<int>(offsetof(base::WriterToken, holder))], r9d);
    je(claim);  // held by this run, and a writer waits: native_claim_writer lets go
    add(dword[misses], 1);
    cmp(dword[misses], 2);
    jb(lock_it);
    cmp(dword[r11 + static_cast<int>(offsetof(base::WriterToken, holder))], 0);
    jne(lock_it);
    L(claim);
    // What the update goes on with: the key, the value's address.
    push(rsi);
    push(Xbyak::util::r10);
    mov(rdi, r12);
    mov(rsi, r11);
    mov(rax, reinterpret_cast<uint64_t>(&vm::native_claim_writer));
    call(rax);
    pop(Xbyak::util::r10);
    pop(rsi);
    test(eax, eax);
    jnz(*search);
    L(lock_it);
    emit_hash_update_search(direct, u, true);
  });
  mov(r9, qword[r12 + static_cast<int>(offsetof(vm::NativeState, writer_id))]);
  if (below_2gib(reinterpret_cast<const uint8_t*>(l.writer_token), sizeof(base::WriterToken))) {
    cmp(qword[reinterpret_cast<void*>(token)], r9);
  } else {
    mov(r11, token);
    cmp(qword[r11], r9);
  }
  jne(unheld);
  // The hint: an element that holds the key now (sequence word even: not freed or being
  // rewritten) is the key's, and stays so until the store (reusing it waits for the token).
  mov(edi, dword[r12 + static_cast<int>(offsetof(vm::NativeState, element_hint))]);
  const Xbyak::RegExp hinted = emit_indexed_element(l, *search, false);
  test(byte[hinted + static_cast<int>(l.seq_offset)], 1);
  jnz(*search);
  emit_key_compare(l, hinted, direct.key_size == 8);
  jne(*search);
  emit_hash_update_copy(direct, u, hinted);
  if (live_after(index, 0)) xor_(eax, eax);
  jmp(*done);
  L(*search);
  emit_hash_update_search(direct, u, false);
  L(*done);
}

// The update's search for the key in rsi and its copy, taking the bucket lock (`locked`) or not
// (the run holds the writer token), ending at u.done with r0 set where it is read. The key not
// in the bucket's slots: update_value.
void Emitter::emit_hash_update_search(const DirectMapCall& direct, const HashUpdate& u,
                                      bool locked) {
  const HashLookup& l = direct.inline_lookup;
  const Xbyak::RegExp bucket = emit_hash_bucket(direct);
  const Xbyak::Address lock = dword[bucket + l.lock_offset];
  if (locked) {
    Xbyak::Label* acquired = &kept_label();
    // Held by another writer: wait reading (no exchange while it is held), then try again.
    Xbyak::Label& contended = cold_path([this, lock, acquired] {
      Xbyak::Label wait;
      L(wait);
      pause();
      cmp(lock, 0);
      jne(wait);
      mov(r9d, 1);
      xchg(lock, r9d);
      test(r9d, r9d);
      jnz(wait);
      jmp(*acquired);
    });
    mov(r9d, 1);
    xchg(lock, r9d);  // a locked exchange: the lock's acquire
    test(r9d, r9d);
    jnz(contended);
    L(*acquired);
  }
  emit_tag_match(l, bucket);
  Xbyak::Label* candidate = &kept_label();
  // Not this candidate: the next, else the lock released and update_value called.
  Xbyak::Label& other = cold_path([this, l, bucket, lock, locked, candidate, &direct, u] {
    emit_next_candidate(l, bucket, *candidate);
    if (locked) mov(lock, 0);
    mov(Xbyak::util::ecx, static_cast<uint32_t>(u.flags));  // r4's move may have no code
    if (u.value_in_register) mov(qword[rbp + u.value_offset], Xbyak::util::r10);
    if (u.value_on_stack)
      lea(rdx, ptr[rbp + u.value_offset]);
    else
      mov(rdx, Xbyak::util::r10);
    mov(rdi, reinterpret_cast<uint64_t>(direct.object));
    mov(rax, reinterpret_cast<uint64_t>(direct.update_value));
    call(rax);
    jmp(*u.done);
  });
  jz(other);
  L(*candidate);
  const Xbyak::RegExp element = emit_candidate_element(l, bucket, other, !locked);
  emit_key_compare(l, element, direct.key_size == 8);
  jne(other);
  emit_hash_update_copy(direct, u, element);
  if (locked) mov(lock, 0);  // the release: x86 keeps the copy's stores before it
  if (live_after(u.index, 0)) xor_(eax, eax);
  if (locked && writer_token_usable(direct)) jmp(*u.done);  // out of line
}

// The value copied over the element's.
void Emitter::emit_hash_update_copy(const DirectMapCall& direct, const HashUpdate& u,
                                    const Xbyak::RegExp& element) {
  const HashLookup& l = direct.inline_lookup;
  const auto target = [&](uint32_t at) { return element + static_cast<int>(l.value_offset + at); };
  const auto value_at = [&](uint32_t at) {
    return u.value_on_stack ? rbp + (u.value_offset + static_cast<int>(at))
                            : Xbyak::util::r10 + static_cast<int>(at);
  };
  uint32_t at = 0;
  if (u.value_in_register) {
    mov(qword[target(0)], Xbyak::util::r10);
    at = 8;
  }
  emit_value_copy(value_at, target, at, direct.value_size);
}

// May the update go without the bucket lock while the run holds the map's writer token: a token
// described, and a value the copy writes with one store (emit_value_copy: 4 or 8 bytes)?
bool Emitter::writer_token_usable(const DirectMapCall& direct) {
  return direct.inline_lookup.writer_token != nullptr &&
         (direct.value_size == 4 || direct.value_size == 8);
}

// Does a search of this map's keys leave its element as the run's hint: the program updates the
// map in place without the lock somewhere (plan_inlined_calls lists those maps)?
bool Emitter::hinted(const DirectMapCall& direct) const {
  return std::find(hinted_maps_.begin(), hinted_maps_.end(), direct.object) != hinted_maps_.end();
}

// `if r0 == 0 goto T` right after the lookup at `index`, which nothing else jumps to: T, else
// SIZE_MAX. Not inside a function emitted in place (its instructions' offsets are the copy's only
// while it is emitted, and cold paths come later).
size_t Emitter::folded_null_test(size_t index) {
  if (inline_exit_ != nullptr || index + 1 >= program_.insn_count) return SIZE_MAX;
  const TranslatedSlot& t = program_.translated[index + 1];
  if (t.op != Op::jeq64_imm || t.dst != 0 || t.imm != 0 || skip_[index + 1] ||
      is_function_[index + 1] || lands_inside(index + 1, index + 1))
    return SIZE_MAX;
  return index + 2 + static_cast<size_t>(static_cast<int64_t>(t.off));
}

// The register an in-place hash update at `index` takes its 8-byte value from: the one its
// stack slot (r3 = r10 + offset) was just stored from, else kNoRegister.
uint8_t Emitter::hash_update_value_register(const DirectMapCall& direct, size_t index) {
  int32_t offset = 0;
  size_t defs[2];
  if (direct.value_size != 8 || !stack_address(index, 3, offset, defs)) return kNoRegister;
  return stored_register(index, offset, 8);
}

}  // namespace userbpf::jit::detail

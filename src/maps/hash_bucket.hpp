// One bucket of the hash map family: a 64-byte cache line holding seven (hash tag, element
// index) slots, the bucket's writer lock and the head of an overflow list for the rare eighth and
// later elements. A lookup reads one line, compares the seven tags at once and goes straight to
// the element whose tag matches: no list walk and no data-dependent branch on a hit, so the CPU
// can overlap independent lookups (memory-level parallelism), and a key that is absent touches
// no element at all.
//
// Tags are hints: a reader re-reads the slot atomically and verifies the element (sequence word
// and key) before trusting it, so a tag read while a writer changes the slot can only cause an
// extra check or a miss of an element being inserted or removed at that moment.
#pragma once

#include <atomic>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace userbpf::maps {

inline constexpr uint32_t kBucketSlots = 7;
inline constexpr uint32_t kSlotMask = (1u << kBucketSlots) - 1;
inline constexpr uint32_t kEmptySlot = 0xffffffffu;  // slot value of an unused slot
inline constexpr uint32_t kEmptyTag = 0;             // tag of an unused slot (a hint only)

struct alignas(64) HashBucket {
  std::atomic<uint32_t> tags[kBucketSlots];   // hash of the element in each slot
  std::atomic<uint32_t> lock;                 // writers' spinlock
  std::atomic<uint32_t> slots[kBucketSlots];  // element index, kEmptySlot when unused
  std::atomic<uint32_t> overflow;             // list head: element index or nulls marker
};
static_assert(sizeof(HashBucket) == 64);
static_assert(sizeof(std::atomic<uint32_t>) == 4 && std::atomic<uint32_t>::is_always_lock_free);

// Bit i set when words[i] == value, for the first kBucketSlots of 8 consecutive 16-byte aligned
// words (tags or slots). The eighth word (the lock or the overflow head) is never read: a writer
// has just stored to the lock word when the next lookup of a hot bucket runs, and a vector load
// that overlaps a 4-byte store still in the store buffer cannot take its data from it (a
// store-forwarding stall of a dozen cycles on every lookup after an update). So the two loads
// cover words 0-3 and 3-6 (unaligned, inside the 64-byte line).
inline uint32_t match_words(const std::atomic<uint32_t>* words, uint32_t value) {
#if defined(__SSE2__)
  // One vector read of the line instead of seven atomic loads. The words may change under it;
  // callers only use the result as candidates they re-read atomically, so a mixed read is
  // harmless (x86 reads each aligned 4-byte word whole).
  const auto* p = reinterpret_cast<const char*>(words);
  const __m128i wanted = _mm_set1_epi32(static_cast<int>(value));
  const __m128i lo = _mm_cmpeq_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(p)), wanted);
  const __m128i hi =
      _mm_cmpeq_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 12)), wanted);
  return static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(lo))) |
         static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(hi))) << 3;
#else
  uint32_t bits = 0;
  for (uint32_t i = 0; i < kBucketSlots; ++i) {
    bits |= uint32_t{words[i].load(std::memory_order_relaxed) == value} << i;
  }
  return bits;
#endif
}

inline uint32_t match_tags(const HashBucket& b, uint32_t hash) {
  return match_words(b.tags, hash);
}
inline uint32_t empty_slots(const HashBucket& b) {
  return match_words(b.slots, kEmptySlot);
}

}  // namespace userbpf::maps

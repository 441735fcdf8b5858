// A hash map's writer token: while one thread holds it, that thread overwrites the values of keys
// it finds in the buckets' slots without taking the bucket lock (a plain 4- or 8-byte store, which
// other writers' stores and readers' loads see whole). The lock's locked exchange is most of an
// in-place update's cost, and a program that updates a map many times in a run pays it every
// time; the token is claimed once (the machine code's runs, vm/native_run.hpp) and let go when
// the run ends.
//
// What the bucket lock also did, and what replaces it: an element found holding the key could be
// deleted and reused for another key before the store lands, which would then write into the
// other key's value. Deletion alone is harmless (the store hits a free element, as if the update
// came just before the delete); reuse is what matters. So whoever takes an element from the free
// stack (an element that held a key before, not a never-used one) calls wait_for_other_holders
// before writing to it: it asks the holder to let go and waits until it has. The holder notices
// at its next in-place update, or lets go when its run ends, and its stores before letting go are
// visible before its release (x86 keeps stores in order), so none of them can land on the reused
// element afterwards.
//
// Lives in shared memory next to the map (any process may hold it or wait for it): two words, 8
// bytes aligned, so machine code compares both with one load against (its thread id, no waiters).
#pragma once

#include <atomic>
#include <cstdint>

namespace userbpf::base {

struct alignas(8) WriterToken {
  std::atomic<uint32_t> holder;   // thread id (gettid) of the holder, 0 when nobody holds it
  std::atomic<uint32_t> waiters;  // writers waiting for the holder to let go
};
static_assert(sizeof(WriterToken) == 8 && std::atomic<uint32_t>::is_always_lock_free);

// The calling thread's id as the token records it (gettid: unique among the live threads of
// every process in the PID namespace), cached per thread.
uint32_t current_thread_id();

// Takes the token for `self` when nobody holds it and nobody waits for it; true when it did. The
// calling thread keeps a list of what it holds (a few at a time: false when it is full).
bool try_claim(WriterToken& token, uint32_t self);

// The holder gives the token back (every store it made before is visible first).
void let_go(WriterToken& token);

// Gives back every token the calling thread holds (at the end of a run).
void let_go_all();

// Returns once no thread other than the caller can hold the token with an earlier view of the map
// (whoever held it when this was called has let go, or its thread no longer exists). Called
// before writing to an element taken from the free stack, and never with a bucket lock held: the
// holder may be waiting for that lock on its way to noticing. Lets go of the caller's own tokens
// first: a run that holds one may be the caller (an update from a program), and two runs each
// waiting for the other's token would wait forever.
void wait_for_other_holders(WriterToken& token);

}  // namespace userbpf::base

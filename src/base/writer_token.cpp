#include "base/writer_token.hpp"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <iterator>

namespace userbpf::base {
namespace {

// False only when no thread or process has the id any more (a holder killed during its run
// never lets go: its token is taken back).
bool thread_exists(uint32_t tid) {
  return kill(static_cast<pid_t>(tid), 0) == 0 || errno != ESRCH;
}

// What the calling thread holds.
struct Held {
  WriterToken* tokens[8];
  uint32_t count;
};
thread_local constinit Held held{};

void forget(WriterToken& token) {
  for (uint32_t i = 0; i < held.count; ++i) {
    if (held.tokens[i] == &token) held.tokens[i] = held.tokens[--held.count];
  }
}

}  // namespace

uint32_t current_thread_id() {
  thread_local const uint32_t id = static_cast<uint32_t>(gettid());
  return id;
}

bool try_claim(WriterToken& token, uint32_t self) {
  if (held.count == std::size(held.tokens) || token.waiters.load(std::memory_order_relaxed) != 0)
    return false;
  uint32_t free = 0;
  if (!token.holder.compare_exchange_strong(free, self, std::memory_order_seq_cst)) return false;
  // A waiter that counted itself before the exchange may have read the holder before it too
  // (and gone on): back off. Both sides' locked operations order their store before their load,
  // so at least one of them sees the other.
  if (token.waiters.load(std::memory_order_seq_cst) != 0) {
    token.holder.store(0, std::memory_order_release);
    return false;
  }
  held.tokens[held.count++] = &token;
  return true;
}

void let_go(WriterToken& token) {
  token.holder.store(0, std::memory_order_release);
  forget(token);
}

void let_go_all() {
  while (held.count != 0) let_go(*held.tokens[held.count - 1]);
}

void wait_for_other_holders(WriterToken& token) {
  let_go_all();
  const uint32_t self = current_thread_id();
  const uint32_t holder = token.holder.load(std::memory_order_seq_cst);
  if (holder == 0 || holder == self) return;
  token.waiters.fetch_add(1, std::memory_order_seq_cst);
  // Any other value means `holder` let go: a thread that claims from now on looks the map up
  // afresh, and a claim made while we are counted backs off at once.
  for (uint64_t spins = 0; token.holder.load(std::memory_order_acquire) == holder; ++spins) {
    if (spins < 256) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      continue;
    }
    if (spins % 256 == 0 && !thread_exists(holder)) {
      uint32_t expected = holder;
      token.holder.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
    }
    sched_yield();  // the holder may need this CPU to reach its next update or its run's end
  }
  token.waiters.fetch_sub(1, std::memory_order_release);
}

}  // namespace userbpf::base

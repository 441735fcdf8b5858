// The hash map's writer token (base/writer_token.hpp): while a thread holds it, that thread's
// machine code rewrites values without the bucket lock, so an element taken from the free stack
// (one that held another key) may only be written once the holder has let go. Here the holder is
// a test thread that claims the token itself; the JIT's side is in
// tests/jit/jit_inline_hash_test.cpp.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "base/writer_token.hpp"
#include "maps/map_test_util.hpp"
#include "maps/program_entries.hpp"

namespace userbpf::maps::testing {
namespace {

using namespace std::chrono_literals;

base::WriterToken& token_of(Map& map) {
  base::WriterToken* token = program_entries(map).lookup_layout.writer_token;
  EXPECT_NE(token, nullptr);
  return *token;
}

std::shared_ptr<Map> small_hash(uint32_t type = BPF_MAP_TYPE_HASH) {
  return must_create(make_spec(type, 8, 8, 16));
}

void put(Map& map, uint64_t key, uint64_t value) {
  ASSERT_EQ(map.update(&key, &value, BPF_ANY), 0) << key;
}

int erase(Map& map, uint64_t key) {
  return map.erase(&key);
}

uint64_t get(Map& map, uint64_t key) {
  uint64_t value = 0;
  EXPECT_EQ(map.lookup_copy(&key, &value), 0) << key;
  return value;
}

// A thread that claims `token`, holds it until told to let go, then ends.
class Holder {
 public:
  explicit Holder(base::WriterToken& token) : token_(token) {
    thread_ = std::thread([this] {
      claimed_ = base::try_claim(token_, base::current_thread_id());
      ready_ = true;
      while (!let_go_) std::this_thread::sleep_for(1ms);
      if (claimed_) base::let_go(token_);
    });
    while (!ready_) std::this_thread::yield();
  }
  ~Holder() {
    let_go_ = true;
    thread_.join();
  }
  bool claimed() const { return claimed_; }
  void let_go() { let_go_ = true; }

 private:
  base::WriterToken& token_;
  std::atomic<bool> ready_{false}, claimed_{false}, let_go_{false};
  std::thread thread_;
};

// Runs `work` in a thread; done() tells whether it has returned.
class Background {
 public:
  template <class F>
  explicit Background(F work)
      : thread_([this, work] {
          work();
          done_ = true;
        }) {}
  ~Background() { join(); }
  bool done() const { return done_; }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

TEST(HashWriterToken, OnlyPlainHashMapsOfferOne) {
  EXPECT_NE(program_entries(*small_hash()).lookup_layout.writer_token, nullptr);
  for (uint32_t type :
       {BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    EXPECT_EQ(program_entries(*small_hash(type)).lookup_layout.writer_token, nullptr) << type;
  }
}

TEST(HashWriterToken, ClaimedOnlyWhenFreeAndNobodyWaits) {
  auto map = small_hash();
  base::WriterToken& token = token_of(*map);
  EXPECT_EQ(token.holder.load(), 0u);
  EXPECT_TRUE(base::try_claim(token, 7));
  EXPECT_FALSE(base::try_claim(token, 8)) << "claimed while held";
  EXPECT_EQ(token.holder.load(), 7u);
  base::let_go(token);
  EXPECT_EQ(token.holder.load(), 0u);
  token.waiters.store(1);
  EXPECT_FALSE(base::try_claim(token, 8)) << "claimed while a writer waits";
  EXPECT_EQ(token.holder.load(), 0u);
  token.waiters.store(0);
  EXPECT_TRUE(base::try_claim(token, 8));
  base::let_go(token);
}

// An insert that takes a recycled element waits until the holder lets go; one that takes a
// never-used element does not wait.
TEST(HashWriterToken, ReusingAnElementWaitsForTheHolder) {
  auto map = small_hash();
  base::WriterToken& token = token_of(*map);
  put(*map, 1, 10);
  put(*map, 2, 20);
  Holder holder(token);
  ASSERT_TRUE(holder.claimed());
  put(*map, 3, 30);  // a fresh element: at once
  ASSERT_EQ(erase(*map, 1), 0);
  Background inserter([&] { put(*map, 4, 40); });  // takes key 1's element
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(inserter.done()) << "wrote a recycled element while the token was held";
  EXPECT_EQ(get(*map, 2), 20u);
  holder.let_go();
  inserter.join();
  EXPECT_EQ(get(*map, 4), 40u);
  EXPECT_EQ(get(*map, 3), 30u);
  EXPECT_EQ(token.waiters.load(), 0u);
}

// The waiting insert holds no bucket lock: the holder can still write the same bucket (it may
// have to, on its way to noticing the waiter). Here it inserts the very key the waiter wants,
// which the waiter then finds and overwrites.
TEST(HashWriterToken, TheWaitHoldsNoBucketLock) {
  auto map = small_hash();
  base::WriterToken& token = token_of(*map);
  put(*map, 1, 10);
  ASSERT_EQ(erase(*map, 1), 0);
  Holder holder(token);
  ASSERT_TRUE(holder.claimed());
  Background inserter([&] { put(*map, 5, 50); });
  std::this_thread::sleep_for(20ms);
  ASSERT_FALSE(inserter.done());
  Background same_bucket([&] { put(*map, 5, 55); });  // a fresh element: no wait
  for (int i = 0; i < 2000 && !same_bucket.done(); ++i) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(same_bucket.done()) << "the waiting insert kept the bucket locked";
  EXPECT_FALSE(inserter.done());
  holder.let_go();
  inserter.join();
  same_bucket.join();
  EXPECT_EQ(get(*map, 5), 50u);
  EXPECT_EQ(map->size(), 1u);
}

// A holder whose thread no longer exists (its process was killed during a run) never lets go:
// the waiter takes the token back.
TEST(HashWriterToken, AHolderThatNoLongerExistsIsTakenBack) {
  auto map = small_hash();
  base::WriterToken& token = token_of(*map);
  uint32_t gone = 0;
  std::thread([&] { gone = base::current_thread_id(); }).join();
  ASSERT_TRUE(base::try_claim(token, gone));
  put(*map, 1, 10);
  ASSERT_EQ(erase(*map, 1), 0);
  Background inserter([&] { put(*map, 2, 20); });
  for (int i = 0; i < 5000 && !inserter.done(); ++i) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(inserter.done()) << "waited for a thread that does not exist";
  base::let_go(token);  // lets a failing test end
  inserter.join();
  EXPECT_EQ(token.holder.load(), 0u);
  EXPECT_EQ(get(*map, 2), 20u);
}

// Two threads that each hold one token and wait for the other's (two runs, each updating one
// map in place and inserting into the other) both go on: a waiter lets go of its own first.
TEST(HashWriterToken, TwoHoldersWaitingForEachOtherBothGoOn) {
  base::WriterToken first{}, second{};
  std::atomic<int> claimed{0}, finished{0};
  const auto run = [&](base::WriterToken& mine, base::WriterToken& theirs) {
    if (base::try_claim(mine, base::current_thread_id())) ++claimed;
    while (claimed.load() < 2) std::this_thread::yield();
    base::wait_for_other_holders(theirs);
    ++finished;
    base::let_go_all();
  };
  std::thread a(run, std::ref(first), std::ref(second));
  std::thread b(run, std::ref(second), std::ref(first));
  for (int i = 0; i < 5000 && finished.load() < 2; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(claimed.load(), 2);
  EXPECT_EQ(finished.load(), 2) << "each waited for the other";
  first.holder.store(0);  // lets a failing test end
  second.holder.store(0);
  a.join();
  b.join();
}

}  // namespace
}  // namespace userbpf::maps::testing

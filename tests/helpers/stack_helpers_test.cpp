// bpf_get_stackid and bpf_get_stack through a BPF C program (tests/runtime/progs/stack_trace.bpf.c)
// test-run as a kprobe whose pt_regs start a fake frame-pointer chain built in this test's
// memory: [saved bp][return ip] frames. Checks the ips, dedup by id, collisions and
// BPF_F_REUSE_STACKID, skip counts, depth limits, flag and size errors, the empty kernel stack
// and the stack map as user space dumps it.
#include <asm/ptrace.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "maps/jhash.hpp"
#include "runtime/test_run_util.hpp"

namespace userbpf::testing {
namespace {

using runtime::TestRunInput;

constexpr uint64_t kIp = 0x401000;

// Three frames: their return addresses are the caller ips 0x1111, 0x2222, 0x3333; the last
// frame's saved bp is 0, which ends the walk.
struct FakeStack {
  alignas(16) uint64_t frames[3][2];
  FakeStack() {
    frames[0][0] = reinterpret_cast<uint64_t>(frames[1]);
    frames[0][1] = 0x1111;
    frames[1][0] = reinterpret_cast<uint64_t>(frames[2]);
    frames[1][1] = 0x2222;
    frames[2][0] = 0;
    frames[2][1] = 0x3333;
  }
  uint64_t bp() const { return reinterpret_cast<uint64_t>(frames[0]); }
};

class StackHelpers : public ::testing::Test {
 protected:
  void SetUp() override {
    // Unverified: userbpf's verifier loses the bounds of the clamped u32 `size` and refuses
    // bpf_get_stack ("R3 min value is negative"), which Linux accepts (a verifier gap, issue 5).
    loaded_ = load_program("stack_trace.bpf.o", "stack_probe", true);
    ASSERT_TRUE(loaded_->error.empty()) << loaded_->error;
    for (const auto& m : loaded_->prog->maps()) {
      if (m->spec().type == BPF_MAP_TYPE_STACK_TRACE) stacks_ = m;
      if (m->spec().type == BPF_MAP_TYPE_ARRAY) out_ = m;
    }
    ASSERT_TRUE(stacks_ && out_);
  }

  // Runs the program with the given registers; returns r0 as a signed value.
  int64_t run(uint64_t ip, uint64_t bp, uint64_t flags, uint64_t op, uint64_t size = 0,
              bool checked = true) {
    pt_regs regs{};
    regs.rip = ip;
    regs.rbp = bp;
    regs.rsp = bp;
    regs.rdi = flags;
    regs.rsi = op;
    regs.rdx = size;
    TestRunInput in;
    in.ctx_in = bytes_of(regs);
    in.checked = checked;
    auto out = runtime::test_run(*loaded_->prog, in);
    EXPECT_TRUE(out) << out.error().to_string();
    return out ? static_cast<int64_t>(out->retval) : INT64_MIN;
  }
  int64_t stackid(uint64_t ip, uint64_t bp, uint64_t flags) { return run(ip, bp, flags, 0); }
  int64_t get_stack(uint64_t ip, uint64_t bp, uint64_t flags, uint64_t size) {
    // Poison the output buffer so zero-filling is visible.
    std::vector<uint64_t> poison(16, 0xaaaaaaaaaaaaaaaaull);
    uint32_t zero = 0;
    EXPECT_EQ(out_->update_copy(&zero, poison.data()), 0);
    return run(ip, bp, flags, 1, size);
  }
  std::vector<uint64_t> out_buffer() {
    std::vector<uint64_t> v(16);
    uint32_t zero = 0;
    EXPECT_EQ(out_->lookup_copy(&zero, v.data()), 0);
    return v;
  }
  std::vector<uint64_t> stack_of(int64_t id) {
    std::vector<uint64_t> v(8, 0xdeadbeef);
    const uint32_t key = static_cast<uint32_t>(id);
    EXPECT_EQ(stacks_->lookup_copy(&key, v.data()), 0) << id;
    return v;
  }

  std::unique_ptr<LoadedProgram> loaded_;
  std::shared_ptr<maps::Map> stacks_;
  std::shared_ptr<maps::Map> out_;
  FakeStack fake_;
};

TEST_F(StackHelpers, StackIdStoresTheUserStackAndDeduplicates) {
  const int64_t id = stackid(kIp, fake_.bp(), BPF_F_USER_STACK);
  ASSERT_GE(id, 0);
  const std::vector<uint64_t> ips = {kIp, 0x1111, 0x2222, 0x3333};
  EXPECT_EQ(static_cast<uint32_t>(id), maps::jhash(ips.data(), 32, 0) & 15u);  // Linux's id
  EXPECT_EQ(stack_of(id), (std::vector<uint64_t>{kIp, 0x1111, 0x2222, 0x3333, 0, 0, 0, 0}));
  EXPECT_EQ(stackid(kIp, fake_.bp(), BPF_F_USER_STACK), id);
  EXPECT_EQ(stackid(kIp, fake_.bp(), BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP), id);
  EXPECT_EQ(stacks_->size(), 1u);

  // Skipping frames stores (and hashes) the rest.
  const int64_t skipped = stackid(kIp, fake_.bp(), BPF_F_USER_STACK | 2);
  ASSERT_GE(skipped, 0);
  EXPECT_EQ(stack_of(skipped), (std::vector<uint64_t>{0x2222, 0x3333, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(stackid(kIp, fake_.bp(), BPF_F_USER_STACK | 4), -EFAULT);  // all skipped

  // The map as user space dumps it: both ids, in bucket order.
  std::vector<uint32_t> ids;
  uint32_t key = 0, next = 0;
  for (const void* cur = nullptr; stacks_->get_next_key(cur, &next) == 0; cur = &key) {
    ids.push_back(next);
    key = next;
  }
  std::vector<uint32_t> expected = {static_cast<uint32_t>(id), static_cast<uint32_t>(skipped)};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ids, expected);
}

TEST_F(StackHelpers, CollisionsNeedReuse) {
  const int64_t first = stackid(kIp, fake_.bp(), BPF_F_USER_STACK);
  ASSERT_GE(first, 0);
  // Another ip whose stack lands in the same bucket.
  uint64_t other = kIp + 1;
  for (;; ++other) {
    const std::vector<uint64_t> ips = {other, 0x1111, 0x2222, 0x3333};
    if ((maps::jhash(ips.data(), 32, 0) & 15u) == static_cast<uint32_t>(first)) break;
  }
  EXPECT_EQ(stackid(other, fake_.bp(), BPF_F_USER_STACK), -EEXIST);
  EXPECT_EQ(stack_of(first)[0], kIp);
  EXPECT_EQ(stackid(other, fake_.bp(), BPF_F_USER_STACK | BPF_F_REUSE_STACKID), first);
  EXPECT_EQ(stack_of(first)[0], other);
}

TEST_F(StackHelpers, StackIdErrors) {
  EXPECT_EQ(stackid(kIp, fake_.bp(), 0), -EFAULT);  // no kernel stack in user space
  EXPECT_EQ(stackid(kIp, fake_.bp(), BPF_F_USER_STACK | BPF_F_USER_BUILD_ID), -EINVAL);
  EXPECT_EQ(stackid(kIp, fake_.bp(), uint64_t{1} << 12), -EINVAL);
  EXPECT_EQ(stacks_->size(), 0u);
}

TEST_F(StackHelpers, StackWalkStopsAtBadFramesAndDepth) {
  // An unreadable bp: only the ip.
  int64_t id = stackid(kIp, 0x10, BPF_F_USER_STACK);
  ASSERT_GE(id, 0);
  EXPECT_EQ(stack_of(id), (std::vector<uint64_t>{kIp, 0, 0, 0, 0, 0, 0, 0}));
  // A frame pointing at itself: the depth limit (8 frames of the map value) ends the walk.
  alignas(16) uint64_t loop[2];
  loop[0] = reinterpret_cast<uint64_t>(loop);
  loop[1] = 0x7777;
  id = stackid(kIp + 64, reinterpret_cast<uint64_t>(loop), BPF_F_USER_STACK);
  ASSERT_GE(id, 0);
  EXPECT_EQ(stack_of(id), (std::vector<uint64_t>{kIp + 64, 0x7777, 0x7777, 0x7777, 0x7777, 0x7777,
                                                 0x7777, 0x7777}));
  // A kernel-half address is not a user frame.
  id = stackid(kIp + 128, 0xffff888000000000ull, BPF_F_USER_STACK);
  ASSERT_GE(id, 0);
  EXPECT_EQ(stack_of(id)[1], 0u);
}

TEST_F(StackHelpers, GetStackCopiesAndZeroFills) {
  EXPECT_EQ(get_stack(kIp, fake_.bp(), BPF_F_USER_STACK, 128), 32);
  std::vector<uint64_t> want(16, 0);
  want[0] = kIp, want[1] = 0x1111, want[2] = 0x2222, want[3] = 0x3333;
  EXPECT_EQ(out_buffer(), want);

  // Skip 1; a 16-byte buffer holds two frames.
  EXPECT_EQ(get_stack(kIp, fake_.bp(), BPF_F_USER_STACK | 1, 16), 16);
  std::vector<uint64_t> got = out_buffer();
  EXPECT_EQ(got[0], 0x1111u);
  EXPECT_EQ(got[1], 0x2222u);
  EXPECT_EQ(got[2], 0xaaaaaaaaaaaaaaaaull);  // past the buffer: untouched

  // The kernel stack is empty: 0 bytes, buffer zeroed.
  EXPECT_EQ(get_stack(kIp, fake_.bp(), 0, 64), 0);
  got = out_buffer();
  EXPECT_EQ(got[0], 0u);
  EXPECT_EQ(got[7], 0u);
  EXPECT_EQ(got[8], 0xaaaaaaaaaaaaaaaaull);
}

TEST_F(StackHelpers, GetStackErrorsClearTheBuffer) {
  const auto cleared = [&](size_t bytes) {
    std::vector<uint64_t> got = out_buffer();
    for (size_t i = 0; i < bytes / 8; ++i)
      if (got[i] != 0) return false;
    return true;
  };
  EXPECT_EQ(get_stack(kIp, fake_.bp(), BPF_F_USER_STACK, 12), -EINVAL);  // not a multiple of 8
  EXPECT_TRUE(cleared(8));
  EXPECT_EQ(get_stack(kIp, fake_.bp(), BPF_F_FAST_STACK_CMP, 64), -EINVAL);
  EXPECT_TRUE(cleared(64));
  EXPECT_EQ(get_stack(kIp, fake_.bp(), BPF_F_USER_BUILD_ID, 64), -EINVAL);   // needs user stack
  EXPECT_EQ(get_stack(kIp, fake_.bp(), BPF_F_USER_STACK | 5, 64), -EFAULT);  // 4 frames only
  EXPECT_TRUE(cleared(64));
  EXPECT_EQ(get_stack(kIp, fake_.bp(), BPF_F_USER_STACK | BPF_F_USER_BUILD_ID, 40), -EINVAL);
}

TEST_F(StackHelpers, GetStackBuildIdEntriesFallBackToIps) {
  EXPECT_EQ(get_stack(kIp, fake_.bp(), BPF_F_USER_STACK | BPF_F_USER_BUILD_ID, 64), 64);
  std::vector<uint64_t> raw = out_buffer();
  bpf_stack_build_id entries[2];
  std::memcpy(entries, raw.data(), sizeof(entries));
  EXPECT_EQ(entries[0].status, BPF_STACK_BUILD_ID_IP);
  EXPECT_EQ(entries[0].ip, kIp);
  EXPECT_EQ(entries[1].ip, 0x1111u);
}

TEST_F(StackHelpers, UncheckedRunsWalkTheSameStack) {
  EXPECT_EQ(run(kIp, fake_.bp(), BPF_F_USER_STACK, 1, 128, /*checked=*/false), 32);
  EXPECT_EQ(out_buffer()[3], 0x3333u);
}

}  // namespace
}  // namespace userbpf::testing

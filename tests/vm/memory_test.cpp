// Loads, stores, sign-extending loads, atomics, load-acquire/store-release and the stack.
#include <cstring>
#include <thread>
#include <vector>

#include "vm_test_util.hpp"

namespace userbpf::vm::testing {
namespace {

constexpr uint8_t kSizes[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
size_t bytes_of(uint8_t size) {
  return size == BPF_B ? 1 : size == BPF_H ? 2 : size == BPF_W ? 4 : 8;
}

template <class T>
T read_at(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint64_t zero_extended(const uint8_t* p, size_t n) {
  switch (n) {
    case 1: return read_at<uint8_t>(p);
    case 2: return read_at<uint16_t>(p);
    case 4: return read_at<uint32_t>(p);
    default: return read_at<uint64_t>(p);
  }
}

uint64_t sign_extended(const uint8_t* p, size_t n) {
  switch (n) {
    case 1: return static_cast<uint64_t>(int64_t{read_at<int8_t>(p)});
    case 2: return static_cast<uint64_t>(int64_t{read_at<int16_t>(p)});
    default: return static_cast<uint64_t>(int64_t{read_at<int32_t>(p)});
  }
}

TEST(VmMemory, LoadsOfEverySizeZeroExtend) {
  uint8_t buf[16];
  for (int i = 0; i < 16; ++i) buf[i] = static_cast<uint8_t>(0xf0 + i);
  const Region region = region_of(buf, sizeof buf, false, "buf");
  for (uint8_t size : kSizes)
    for (int16_t off : {int16_t{0}, int16_t{3}, int16_t{8}}) {
      Builder p;
      p.ldx(size, 0, 1, off).exit();
      EXPECT_EQ(run_both(p.finish(), reinterpret_cast<uint64_t>(buf), 0, {&region, 1}),
                zero_extended(buf + off, bytes_of(size)))
          << "size " << bytes_of(size) << " off " << off;
    }
}

TEST(VmMemory, SignExtendingLoads) {
  uint8_t buf[8] = {0x80, 0xff, 0x01, 0x80, 0x7f, 0x00, 0x00, 0x00};
  const Region region = region_of(buf, sizeof buf, false, "buf");
  for (uint8_t size : {BPF_B, BPF_H, BPF_W})
    for (int16_t off : {int16_t{0}, int16_t{1}, int16_t{4}}) {
      Builder p;
      p.ldxsx(size, 0, 1, off).exit();
      EXPECT_EQ(run_both(p.finish(), reinterpret_cast<uint64_t>(buf), 0, {&region, 1}),
                sign_extended(buf + off, bytes_of(size)))
          << "size " << bytes_of(size) << " off " << off;
    }
}

TEST(VmMemory, StoresOfEverySize) {
  const uint64_t value = 0x8877665544332211ull;
  for (uint8_t size : kSizes) {
    uint8_t reg_buf[16] = {}, imm_buf[16] = {};
    const Region regions[] = {region_of(reg_buf, 16, true, "reg_buf"),
                              region_of(imm_buf, 16, true, "imm_buf")};
    Builder p;
    p.lddw(3, value).stx(size, 1, 3, 4).st(size, 2, 4, -2).mov64_imm(0, 0).exit();
    run_both(p.finish(), reinterpret_cast<uint64_t>(reg_buf), reinterpret_cast<uint64_t>(imm_buf),
             regions);
    const size_t n = bytes_of(size);
    uint8_t expect_reg[16] = {}, expect_imm[16] = {};
    std::memcpy(expect_reg + 4, &value, n);
    const int64_t imm = -2;  // ST sign-extends its immediate to the access size
    std::memcpy(expect_imm + 4, &imm, n);
    EXPECT_EQ(std::memcmp(reg_buf, expect_reg, 16), 0) << "stx size " << n;
    EXPECT_EQ(std::memcmp(imm_buf, expect_imm, 16), 0) << "st size " << n;
  }
}

TEST(VmMemory, StackIsReadWriteBelowR10) {
  Builder p;
  p.lddw(1, 0x0102030405060708ull).stx(BPF_DW, 10, 1, -8).st(BPF_W, 10, -512, 77);
  p.ldx(BPF_DW, 0, 10, -8).ldx(BPF_W, 2, 10, -512).alu64_reg(BPF_ADD, 0, 2).exit();
  EXPECT_EQ(run_both(p.finish()), 0x0102030405060708ull + 77);
}

struct AtomicCase {
  int32_t op;
  uint64_t (*apply)(uint64_t old, uint64_t src);
};

const AtomicCase kAtomicCases[] = {
    {BPF_ADD, [](uint64_t a, uint64_t b) { return a + b; }},
    {BPF_OR, [](uint64_t a, uint64_t b) { return a | b; }},
    {BPF_AND, [](uint64_t a, uint64_t b) { return a & b; }},
    {BPF_XOR, [](uint64_t a, uint64_t b) { return a ^ b; }},
};

TEST(VmMemory, AtomicReadModifyWriteWithAndWithoutFetch) {
  const uint64_t initial = 0xf0f0f0f0f0f0f0f0ull, operand = 0x0ff00ff0ffff0001ull;
  for (const AtomicCase& c : kAtomicCases)
    for (bool fetch : {false, true})
      for (uint8_t size : {BPF_W, BPF_DW}) {
        const bool is64 = size == BPF_DW;
        uint64_t cell = initial;
        const Region region = region_of(&cell, 8, true, "cell");
        Builder p;
        // r2 = operand; lock *(r1 + 0) op= r2; r0 = r2 (the old value when fetching)
        p.lddw(2, operand).atomic(size, 1, 2, 0, c.op | (fetch ? BPF_FETCH : 0));
        p.mov64_reg(0, 2).exit();
        auto interp = load_raw(p.finish());
        ASSERT_TRUE(interp.ok()) << interp.error().to_string();
        for (bool checked : {false, true}) {
          cell = initial;
          RunOptions options;
          options.checked = checked;
          options.regions = {&region, 1};
          auto r = interp->run(reinterpret_cast<uint64_t>(&cell), 0, options);
          ASSERT_TRUE(r.ok()) << r.error().to_string();
          const uint64_t expected_cell =
              is64 ? c.apply(initial, operand)
                   : (initial & 0xffffffff00000000ull) |
                         static_cast<uint32_t>(c.apply(uint32_t(initial), uint32_t(operand)));
          EXPECT_EQ(cell, expected_cell) << "op " << c.op << " size " << (is64 ? 64 : 32);
          const uint64_t expected_r0 =
              fetch ? (is64 ? initial : uint64_t{static_cast<uint32_t>(initial)}) : operand;
          EXPECT_EQ(r->r0, expected_r0) << "op " << c.op << " fetch " << fetch;
        }
      }
}

TEST(VmMemory, ExchangeAndCompareExchange) {
  for (uint8_t size : {BPF_W, BPF_DW}) {
    const bool is64 = size == BPF_DW;
    const uint64_t mask = is64 ? ~0ull : 0xffffffffull;
    uint64_t cell = 0x1111111122222222ull;
    const Region region = region_of(&cell, 8, true, "cell");
    // xchg: r2 gets the old value.
    Builder x;
    x.lddw(2, 0xaaaaaaaabbbbbbbbull).atomic(size, 1, 2, 0, BPF_XCHG).mov64_reg(0, 2).exit();
    cell = 0x1111111122222222ull;
    EXPECT_EQ(run_raw(x.finish(), reinterpret_cast<uint64_t>(&cell))->r0,
              0x1111111122222222ull & mask);
    EXPECT_EQ(cell, is64 ? 0xaaaaaaaabbbbbbbbull : 0x11111111bbbbbbbbull);

    // cmpxchg: r0 is compared (at the access width) and receives the old value.
    auto cmpxchg = [&](uint64_t expected_r0, bool checked) {
      Builder c;
      c.lddw(0, expected_r0).lddw(2, 0x5555555566666666ull).atomic(size, 1, 2, 0, BPF_CMPXCHG);
      c.exit();
      RunOptions options;
      options.checked = checked;
      options.regions = {&region, 1};
      return run_raw(c.finish(), reinterpret_cast<uint64_t>(&cell), 0, options)->r0;
    };
    for (bool checked : {false, true}) {
      cell = 0x1111111122222222ull;
      // Mismatch: memory unchanged, r0 = old value.
      EXPECT_EQ(cmpxchg(0x99, checked), 0x1111111122222222ull & mask);
      EXPECT_EQ(cell, 0x1111111122222222ull);
      // Match (the 32-bit form ignores r0's upper half).
      EXPECT_EQ(cmpxchg(is64 ? 0x1111111122222222ull : 0xdead000022222222ull, checked),
                0x1111111122222222ull & mask);
      EXPECT_EQ(cell, is64 ? 0x5555555566666666ull : 0x1111111166666666ull);
    }
  }
}

TEST(VmMemory, LoadAcquireAndStoreRelease) {
  for (uint8_t size : kSizes) {
    const size_t n = bytes_of(size);
    alignas(8) uint8_t buf[16];
    for (int i = 0; i < 16; ++i) buf[i] = static_cast<uint8_t>(0x81 + i);
    const Region region = region_of(buf, sizeof buf, true, "buf");
    // r0 = load_acquire(r1 + 8) (dst = r0, src = r1); store_release(r1 + 0, r0)
    Builder q;
    q.atomic(size, 0, 1, 8, BPF_LOAD_ACQ).atomic(size, 1, 0, 0, BPF_STORE_REL).exit();
    const uint64_t expected = zero_extended(buf + 8, n);
    EXPECT_EQ(run_both(q.finish(), reinterpret_cast<uint64_t>(buf), 0, {&region, 1}), expected);
    EXPECT_EQ(zero_extended(buf, n), expected) << "size " << n;
  }
}

TEST(VmMemory, ConcurrentAtomicAddsFromManyRunsAreNotLost) {
  // 10000 atomic increments per run, one Interpreter shared by 4 threads.
  Builder p;
  p.mov64_imm(2, 1).mov64_imm(3, 0);
  p.label("loop").jmp_imm(BPF_JGE, 3, 10000, "end");
  // The fetching add overwrites its source with the old value, so r4 is reset every time.
  p.atomic(BPF_DW, 1, 2, 0, BPF_ADD).mov64_imm(4, 1).atomic(BPF_W, 1, 4, 8, BPF_ADD | BPF_FETCH);
  p.alu64_imm(BPF_ADD, 3, 1).ja("loop");
  p.label("end").mov64_imm(0, 0).exit();
  auto interp = load_raw(p.finish());
  ASSERT_TRUE(interp.ok());
  alignas(8) uint64_t cells[2] = {0, 0};
  const Region region = region_of(cells, sizeof cells, true, "cells");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      RunOptions options;
      options.checked = t % 2 == 1;
      options.regions = {&region, 1};
      for (int i = 0; i < 5; ++i) (void)interp->run(reinterpret_cast<uint64_t>(cells), 0, options);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(cells[0], 4u * 5 * 10000);
  EXPECT_EQ(static_cast<uint32_t>(cells[1]), 4u * 5 * 10000);
}

}  // namespace
}  // namespace userbpf::vm::testing

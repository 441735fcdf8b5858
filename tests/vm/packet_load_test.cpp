// Legacy LD_ABS / LD_IND: big-endian reads from RunOptions::packet, out of bounds ends the
// function with r0 = 0, r1/r2 left as Linux's rewrite leaves them.
#include <vector>

#include "vm_test_util.hpp"

namespace userbpf::vm::testing {
namespace {

std::vector<uint8_t> test_packet() {
  std::vector<uint8_t> p(64);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(0x10 + i * 7);
  return p;
}

uint64_t big_endian(const std::vector<uint8_t>& p, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v * 256 + p[at + i];
  return v;
}

uint64_t run_with_packet(const std::vector<RawInsn>& code, const std::vector<uint8_t>& packet,
                         bool checked) {
  RunOptions options;
  options.checked = checked;
  options.packet = packet;
  auto r = run_raw(code, 0, 0, options);
  EXPECT_TRUE(r.ok()) << (r ? "" : r.error().to_string());
  return r ? r->r0 : ~0ull;
}

constexpr uint8_t kSizes[] = {BPF_B, BPF_H, BPF_W};
size_t bytes_of(uint8_t size) {
  return size == BPF_B ? 1 : size == BPF_H ? 2 : 4;
}

TEST(VmPacketLoad, AbsoluteLoadsAreBigEndian) {
  const auto packet = test_packet();
  for (uint8_t size : kSizes)
    for (int32_t off : {0, 5, 60}) {
      const size_t n = bytes_of(size);
      if (off + n > packet.size()) continue;
      Builder p;
      p.raw(BPF_LD | BPF_ABS | size, 0, 0, 0, off).exit();
      for (bool checked : {false, true})
        EXPECT_EQ(run_with_packet(p.finish(), packet, checked), big_endian(packet, off, n))
            << "size " << n << " off " << off;
    }
}

TEST(VmPacketLoad, IndirectLoadsAddTheRegister) {
  const auto packet = test_packet();
  for (uint8_t size : kSizes) {
    const size_t n = bytes_of(size);
    Builder p;
    p.mov64_imm(7, 30).raw(BPF_LD | BPF_IND | size, 0, 7, 0, 3).exit();
    for (bool checked : {false, true})
      EXPECT_EQ(run_with_packet(p.finish(), packet, checked), big_endian(packet, 33, n));
    Builder negative_imm;
    negative_imm.mov64_imm(7, 30).raw(BPF_LD | BPF_IND | size, 0, 7, 0, -10).exit();
    EXPECT_EQ(run_with_packet(negative_imm.finish(), packet, true), big_endian(packet, 20, n));
  }
}

TEST(VmPacketLoad, OutOfBoundsEndsTheProgramWithZero) {
  const auto packet = test_packet();
  const int32_t size_bytes = static_cast<int32_t>(packet.size());
  for (uint8_t size : kSizes) {
    const int32_t n = static_cast<int32_t>(bytes_of(size));
    for (int32_t off : {size_bytes - n + 1, size_bytes, 100000, -1, -0x100000}) {
      Builder p;  // r0 = 99 must never be reached
      p.mov64_imm(0, 5).raw(BPF_LD | BPF_ABS | size, 0, 0, 0, off).mov64_imm(0, 99).exit();
      for (bool checked : {false, true})
        EXPECT_EQ(run_with_packet(p.finish(), packet, checked), 0u) << "off " << off;
    }
    // The last bytes are in bounds.
    Builder last;
    last.raw(BPF_LD | BPF_ABS | size, 0, 0, 0, size_bytes - n).exit();
    EXPECT_EQ(run_with_packet(last.finish(), packet, true),
              big_endian(packet, packet.size() - n, n));
  }
  // LD_IND: the 64-bit sum is truncated to a 32-bit int, as Linux's helpers take `int offset`.
  Builder wrap;
  wrap.lddw(7, 0x100000000ull + 8).raw(BPF_LD | BPF_IND | BPF_B, 0, 7, 0, 0).exit();
  EXPECT_EQ(run_with_packet(wrap.finish(), packet, true), big_endian(packet, 8, 1));
  // With no packet at all every load is out of bounds.
  Builder none;
  none.raw(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 0).exit();
  EXPECT_EQ(run_with_packet(none.finish(), {}, false), 0u);
}

TEST(VmPacketLoad, OutOfBoundsInASubprogramReturnsFromIt) {
  // Linux's rewrite ends with `exit`, which leaves the current function only.
  const auto packet = test_packet();
  Builder p;
  p.mov64_imm(6, 1).call_local("f").alu64_imm(BPF_ADD, 0, 1000).exit();
  p.label("f").raw(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 1000).mov64_imm(0, 99).exit();
  for (bool checked : {false, true}) EXPECT_EQ(run_with_packet(p.finish(), packet, checked), 1000u);
}

TEST(VmPacketLoad, ClobbersR1AndR2AsLinuxRewriteDoes) {
  // r1 = ctx (r6), r2 = offset, r3..r5 untouched; r6..r9 preserved.
  const auto packet = test_packet();
  Builder p;
  p.mov64_imm(6, 600).mov64_imm(1, 100).mov64_imm(2, 200).mov64_imm(3, 300).mov64_imm(7, 4);
  p.raw(BPF_LD | BPF_IND | BPF_B, 0, 7, 0, 2);
  // r0 = r1 * 1e6 + r2 * 1e3 + r3
  p.mov64_reg(0, 1).alu64_imm(BPF_MUL, 0, 1000000).mov64_reg(4, 2).alu64_imm(BPF_MUL, 4, 1000);
  p.alu64_reg(BPF_ADD, 0, 4).alu64_reg(BPF_ADD, 0, 3).exit();
  for (bool checked : {false, true})
    EXPECT_EQ(run_with_packet(p.finish(), packet, checked), 600u * 1000000 + 6 * 1000 + 300);
}

}  // namespace
}  // namespace userbpf::vm::testing

// Reads of a frozen read-only map (.rodata, libbpf's `const volatile` knobs) give the constant the
// map holds, as Linux's bpf_map_direct_read: a branch on such a knob is decided, and the code it
// switches off is dead. The same read of a map that is not frozen is an unknown byte.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "support/verifier_asm_cases.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier {
namespace {

using testing::assemble_or_fail;
using testing::patch_markers;

// Byte 1 of the map's only value decides whether r7 (never set) is read.
constexpr const char* kKnobProgram =
    "stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, 0x5a5a0000\ncall 1\n"
    "jeq %r0, 0, out\nldxb %r1, [%r0+1]\njne %r1, 0, out\nmov %r0, %r7\nout:\nmov %r0, 0\nexit";

Result<Verdict> verify_with(bool frozen, std::vector<uint8_t> contents) {
  Program p;
  p.insns = assemble_or_fail(kKnobProgram);
  patch_markers(p.insns, nullptr);
  p.prog_type = BPF_PROG_TYPE_XDP;
  p.gpl = true;
  p.name = "rodata_knob";
  MapInfo rodata;
  rodata.type = BPF_MAP_TYPE_ARRAY;
  rodata.key_size = 4;
  rodata.value_size = 2;
  rodata.max_entries = 1;
  rodata.map_flags = BPF_F_RDONLY_PROG;
  rodata.frozen = frozen;
  rodata.frozen_contents = std::move(contents);
  rodata.name = "prog.rodata";
  p.maps = {rodata};
  return verify(p);
}

TEST(VerifierRodata, FrozenKnobDecidesTheBranch) {
  auto on = verify_with(true, {0, 1});
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->accepted) << on->diagnosis.message;
  auto off = verify_with(true, {1, 0});
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->accepted);
  EXPECT_EQ(off->diagnosis.message, "R7 !read_ok");
}

TEST(VerifierRodata, MapNotFrozenIsUnknown) {
  auto v = verify_with(false, {0, 1});
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->accepted);
  EXPECT_EQ(v->diagnosis.message, "R7 !read_ok");
}

}  // namespace
}  // namespace userbpf::verifier

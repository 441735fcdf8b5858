// Small assembled programs the verifier must accept or reject with Linux's message, each also
// given to the host kernel's verifier where bpf() works (same program type, same maps), whose
// verdict must agree.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <regex>
#include <string>
#include <vector>

#include "isa/conformance_asm.hpp"
#include "oracle/skip_without_kernel.hpp"
#include "support/verifier_asm_cases.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier {
namespace {

using testing::assemble_or_fail;
using testing::KernelMaps;
using testing::map_infos;
using testing::patch_markers;
using testing::TestMap;

// The maps the cases name as `lddw %rN, kMapMarker + K` (support/verifier_asm_cases.hpp).
const std::vector<TestMap> kMaps = {
    {BPF_MAP_TYPE_HASH, 4, 8, 16},       // map 0
    {BPF_MAP_TYPE_ARRAY, 4, 8, 4},       // map 1
    {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096},  // map 2
};

struct Case {
  const char* name;
  uint32_t prog_type;
  bool privileged;
  const char* text;
  const char* message;  // "" when the program must be accepted
};

const Case kCases[] = {
    {"return_zero", BPF_PROG_TYPE_SOCKET_FILTER, true, "mov %r0, 0\nexit", ""},
    {"r0_uninit_at_exit", BPF_PROG_TYPE_SOCKET_FILTER, true, "exit", "R0 !read_ok"},
    {"read_uninit_reg", BPF_PROG_TYPE_SOCKET_FILTER, true, "mov %r0, %r2\nexit", "R2 !read_ok"},
    {"uninit_stack_root", BPF_PROG_TYPE_SOCKET_FILTER, true, "ldxdw %r0, [%r10-8]\nexit", ""},
    {"uninit_stack_unpriv", BPF_PROG_TYPE_SOCKET_FILTER, false, "ldxdw %r0, [%r10-8]\nexit",
     "invalid read from stack off -8+0 size 8"},
    {"stack_spill_fill", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "stxdw [%r10-8], %r1\nldxdw %r2, [%r10-8]\nldxw %r0, [%r2+0]\nexit", ""},
    {"stack_out_of_bounds", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "stdw [%r10-520], 1\nmov %r0, 0\nexit", "invalid write to stack R10 off=-520 size=8"},
    {"unreachable", BPF_PROG_TYPE_SOCKET_FILTER, true, "mov %r0, 0\nexit\nmov %r0, 1\nexit",
     "unreachable insn 2"},
    {"jump_out_of_range", BPF_PROG_TYPE_SOCKET_FILTER, true, "mov %r0, 0\nja +5\nexit",
     "jump out of range from insn 1 to 7"},
    {"last_not_exit", BPF_PROG_TYPE_SOCKET_FILTER, true, "mov %r0, 0",
     "last insn is not an exit or jmp"},
    {"bounded_loop_root", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 10, loop\nexit", ""},
    {"loop_unpriv", BPF_PROG_TYPE_SOCKET_FILTER, false,
     "mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 10, loop\nexit", "back-edge from insn 2 to 1"},
    {"unbounded_loop", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "mov %r0, 0\nloop:\nadd %r0, 1\njne %r0, 0, loop\nexit",
     "BPF program is too large. Processed 1000001 insn"},
    {"deref_scalar", BPF_PROG_TYPE_SOCKET_FILTER, true, "mov %r1, 0\nldxdw %r0, [%r1+0]\nexit",
     "R1 invalid mem access 'scalar'"},
    {"ctx_out_of_range", BPF_PROG_TYPE_SOCKET_FILTER, true, "ldxw %r0, [%r1+1000]\nexit",
     "invalid bpf_context access off=1000 size=4"},
    {"ctx_len", BPF_PROG_TYPE_SOCKET_FILTER, true, "ldxw %r0, [%r1+0]\nexit", ""},
    {"ctx_modified", BPF_PROG_TYPE_SOCKET_FILTER, true, "add %r1, 4\nldxw %r0, [%r1+0]\nexit",
     "dereference of modified ctx ptr R1 off=4 disallowed"},
    {"skb_data_in_socket_filter", BPF_PROG_TYPE_SOCKET_FILTER, true, "ldxw %r0, [%r1+76]\nexit",
     "invalid bpf_context access off=76 size=4"},
    {"lookup_no_null_check", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\ncall 1\n"
     "ldxdw %r0, [%r0+0]\nexit",
     "R0 invalid mem access 'map_value_or_null'"},
    {"lookup_null_check", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\ncall 1\n"
     "jeq %r0, 0, out\nldxdw %r0, [%r0+0]\nout:\nexit",
     ""},
    {"lookup_copy_null_check", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\ncall 1\n"
     "mov %r6, %r0\njeq %r0, 0, out\nldxdw %r0, [%r6+0]\nout:\nexit",
     ""},
    {"lookup_key_uninit", BPF_PROG_TYPE_SOCKET_FILTER, false,
     "mov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\ncall 1\nmov %r0, 0\nexit",
     "invalid indirect read from stack R2 off -8+0 size 4"},
    {"map_value_oob", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\ncall 1\n"
     "jeq %r0, 0, out\nldxdw %r0, [%r0+8]\nout:\nexit",
     "invalid access to map value, value_size=8 off=8 size=8"},
    {"map_arg_not_map", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "mov %r1, 0\nmov %r2, %r10\nadd %r2, -8\ncall 1\nmov %r0, 0\nexit",
     "R1 type=scalar expected=map_ptr"},
    {"map_value_unbounded_math", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\ncall 1\n"
     "jeq %r0, 0, out\nldxdw %r1, [%r0+0]\nadd %r0, %r1\nldxb %r0, [%r0+0]\nout:\nexit",
     "math between map_value pointer and register with unbounded min value is not allowed"},
    {"map_value_masked_index", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\ncall 1\n"
     "jeq %r0, 0, out\nldxdw %r1, [%r0+0]\nand %r1, 7\nadd %r0, %r1\nldxb %r0, [%r0+0]\nout:\n"
     "exit",
     ""},
    {"map_value_checked_index", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0001\ncall 1\n"
     "jeq %r0, 0, out\nldxdw %r1, [%r0+0]\njgt %r1, 4, out\nadd %r0, %r1\nldxw %r0, [%r0+0]\n"
     "out:\nexit",
     ""},
    {"map_value_index_off_by_one", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0001\ncall 1\n"
     "jeq %r0, 0, out\nldxdw %r1, [%r0+0]\njgt %r1, 5, out\nadd %r0, %r1\nldxw %r0, [%r0+0]\n"
     "out:\nexit",
     "invalid access to map value, value_size=8 off=5 size=4"},
    {"leak_pointer_to_map_unpriv", BPF_PROG_TYPE_SOCKET_FILTER, false,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\ncall 1\n"
     "jeq %r0, 0, out\nstxdw [%r0+0], %r10\nout:\nmov %r0, 0\nexit",
     "R10 leaks addr into map"},
    {"return_pointer_unpriv", BPF_PROG_TYPE_SOCKET_FILTER, false, "mov %r0, %r10\nexit",
     "R0 leaks addr as return value"},
    {"pointer_compare_unpriv", BPF_PROG_TYPE_SOCKET_FILTER, false,
     "mov %r0, 0\njeq %r1, %r10, +1\nexit\nexit", "R10 pointer comparison prohibited"},
    {"xdp_no_bounds_check", BPF_PROG_TYPE_XDP, true,
     "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nldxb %r0, [%r2+0]\nexit",
     "invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)"},
    {"xdp_bounds_check", BPF_PROG_TYPE_XDP, true,
     "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, out\n"
     "ldxh %r0, [%r2+12]\nexit\nout:\nmov %r0, 2\nexit",
     ""},
    {"xdp_bounds_check_too_short", BPF_PROG_TYPE_XDP, true,
     "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 13\njgt %r4, %r3, out\n"
     "ldxh %r0, [%r2+12]\nexit\nout:\nmov %r0, 2\nexit",
     "invalid access to packet, off=12 size=2, R2(id=0,off=12,r=13)"},
    {"xdp_ctx_write", BPF_PROG_TYPE_XDP, true, "stw [%r1+0], 0\nmov %r0, 0\nexit",
     "invalid bpf_context access off=0 size=4"},
    {"ringbuf_leak", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "lddw %r1, 0x5a5a0002\nmov %r2, 8\nmov %r3, 0\ncall 131\nmov %r0, 0\nexit",
     "Unreleased reference id=2 alloc_insn=4"},
    {"ringbuf_submit", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "lddw %r1, 0x5a5a0002\nmov %r2, 8\nmov %r3, 0\ncall 131\njeq %r0, 0, out\n"
     "stdw [%r0+0], 1\nmov %r1, %r0\nmov %r2, 0\ncall 132\nout:\nmov %r0, 0\nexit",
     ""},
    {"ringbuf_write_past_end", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "lddw %r1, 0x5a5a0002\nmov %r2, 8\nmov %r3, 0\ncall 131\njeq %r0, 0, out\n"
     "stdw [%r0+4], 1\nmov %r1, %r0\nmov %r2, 0\ncall 132\nout:\nmov %r0, 0\nexit",
     "invalid access to memory, mem_size=8 off=4 size=8"},
    {"helper_unknown", BPF_PROG_TYPE_SOCKET_FILTER, true, "call 100000\nmov %r0, 0\nexit",
     "invalid func unknown#100000"},
    {"probe_read_size_unbounded", BPF_PROG_TYPE_KPROBE, true,
     "ldxdw %r2, [%r1+0]\nmov %r1, %r10\nadd %r1, -16\nmov %r3, 0\ncall 4\nmov %r0, 0\nexit",
     "R2 min value is negative, either use unsigned or 'var &= const'"},
    {"probe_read_ok", BPF_PROG_TYPE_KPROBE, true,
     "mov %r1, %r10\nadd %r1, -16\nmov %r2, 16\nmov %r3, 0\ncall 4\nldxdw %r0, [%r10-16]\nexit",
     ""},
    {"kprobe_ctx_read", BPF_PROG_TYPE_KPROBE, true, "ldxdw %r0, [%r1+112]\nexit", ""},
    {"kprobe_ctx_past_end", BPF_PROG_TYPE_KPROBE, true, "ldxdw %r0, [%r1+168]\nexit",
     "invalid bpf_context access off=168 size=8"},
    {"tracepoint_header", BPF_PROG_TYPE_TRACEPOINT, true, "ldxdw %r0, [%r1+0]\nexit",
     "invalid bpf_context access off=0 size=8"},
    {"pointer_arith_on_null", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\ncall 1\n"
     "add %r0, 8\nmov %r0, 0\nexit",
     "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first"},
    {"bpf_to_bpf_call", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "mov %r1, 5\ncall local fn\nexit\nfn:\nmov %r0, %r1\nadd %r0, 1\nexit", ""},
    {"bpf_to_bpf_caller_regs_clobbered", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "mov %r1, 5\ncall local fn\nmov %r0, %r1\nexit\nfn:\nmov %r0, 1\nexit", "R1 !read_ok"},
    {"bounds_from_branches", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "ldxw %r0, [%r1+0]\njgt %r0, 100, out\njlt %r0, 101, +2\nldxdw %r0, [%r0+0]\nexit\n"
     "out:\nmov %r0, 0\nexit",
     ""},
    // A product of two u32s is at most 0xfffffffe00000001 unsigned; after s<= 510 and s>= -16 its
    // signed range crosses zero, but the unsigned one meets only the non-negative end, so it is
    // [0, 510] (Linux 6.17's __reg64_deduce_bounds) and >> 6 indexes an 8-byte value.
    {"bounds_signed_range_crossing_zero", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "mov %r7, %r1\nstw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, 0x5a5a0001\n"
     "call 1\njeq %r0, 0, out\nldxw %r8, [%r7+0]\nldxw %r2, [%r7+0]\nmul %r8, %r2\n"
     "jsgt %r8, 510, out\njslt %r8, -16, out\nrsh %r8, 6\nadd %r0, %r8\nldxb %r0, [%r0+0]\n"
     "out:\nmov %r0, 0\nexit",
     ""},
    // bpf_get_stack returns at most the size it was given, or a negative errno (Linux's
    // do_refine_retval_range): a positive result is a valid size for the same buffer.
    {"get_stack_result_is_a_size", BPF_PROG_TYPE_KPROBE, true,
     "mov %r6, %r1\nmov %r2, %r10\nadd %r2, -64\nmov %r3, 64\nmov %r4, 0\ncall 67\n"
     "jsle %r0, 0, out\nmov %r3, %r0\nmov %r1, %r6\nmov %r2, %r10\nadd %r2, -64\nmov %r4, 0\n"
     "call 67\nout:\nmov %r0, 0\nexit",
     ""},
    {"get_stack_result_sign_extended", BPF_PROG_TYPE_KPROBE, true,
     "mov %r6, %r1\nmov %r2, %r10\nadd %r2, -64\nmov %r3, 32\nmov %r4, 0\ncall 67\n"
     "lsh %r0, 32\narsh %r0, 32\nmov %r1, 0\njsgt %r1, %r0, out\nmov %r2, %r10\nadd %r2, -64\n"
     "add %r2, %r0\nmov %r3, 32\nmov %r1, %r6\nmov %r4, 0\ncall 67\nout:\nmov %r0, 0\nexit",
     ""},
};

Program make_program(const Case& c) {
  Program p;
  p.insns = assemble_or_fail(c.text);
  patch_markers(p.insns, nullptr);
  p.prog_type = c.prog_type;
  p.gpl = true;
  p.name = c.name;
  p.maps = map_infos(kMaps);
  return p;
}

class VerifierCoreProgram : public ::testing::TestWithParam<Case> {};

TEST_P(VerifierCoreProgram, VerdictAndMessage) {
  const Case& c = GetParam();
  const Program program = make_program(c);
  Options options;
  options.privileged = c.privileged;
  options.log_level = 1;
  auto verdict = verify(program, options);
  ASSERT_TRUE(verdict) << verdict.error().message;
  const bool expect_accept = std::string(c.message).empty();
  EXPECT_EQ(verdict->accepted, expect_accept)
      << c.name << ": " << verdict->diagnosis.message << " at insn " << verdict->diagnosis.insn;
  if (!expect_accept) {
    EXPECT_EQ(verdict->diagnosis.message, c.message);
  }
  EXPECT_NE(verdict->log.find("processed "), std::string::npos) << verdict->log;
}

// The host kernel must give the same verdict (root only: this process cannot drop to an
// unprivileged user's view of bpf()); its log must contain userbpf's message.
TEST_P(VerifierCoreProgram, KernelAgrees) {
  const Case& c = GetParam();
  if (!c.privileged) GTEST_SKIP() << "unprivileged case";
  USERBPF_SKIP_WITHOUT_KERNEL();
  expect_kernel_verdict(c.name, c.text, c.prog_type, kMaps, c.message);
}

INSTANTIATE_TEST_SUITE_P(Programs, VerifierCoreProgram, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(VerifierCoreApi, EmptyProgramIsAnError) {
  Program p;
  EXPECT_FALSE(verify(p));
}

TEST(VerifierCoreApi, DiagnosisNamesSourceRegistersAndFix) {
  Case c = kCases[18];  // lookup_no_null_check
  ASSERT_STREQ(c.name, "lookup_no_null_check");
  Program p = make_program(c);
  p.lines.push_back({0, "prog.c", 10, 0, "int key = 0;"});
  p.lines.push_back({6, "prog.c", 12, 0, "return *value;"});
  auto verdict = verify(p);
  ASSERT_TRUE(verdict);
  ASSERT_FALSE(verdict->accepted);
  EXPECT_EQ(verdict->diagnosis.insn, 6u);
  EXPECT_EQ(verdict->diagnosis.source, "prog.c:12: return *value;");
  // The kernel's notation (log.hpp's format_reg_state): the map's key and value sizes too.
  EXPECT_TRUE(std::regex_search(verdict->diagnosis.registers,
                                std::regex("R0=map_value_or_null\\(id=\\d+,ks=4,vs=8\\)")))
      << verdict->diagnosis.registers;
  EXPECT_NE(verdict->diagnosis.suggestion.find("NULL"), std::string::npos);
}

}  // namespace
}  // namespace userbpf::verifier

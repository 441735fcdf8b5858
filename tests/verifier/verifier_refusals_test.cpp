// Programs Linux refuses for a safety reason that userbpf once accepted (issue 5: "no program
// that must fail for a safety reason is accepted"), one rule per group of cases, each with a
// program the same rule lets through. The verdict and message are Linux 6.12's; where the host
// kernel can judge the same raw program (privileged, no BTF needed), it is asked too.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "oracle/skip_without_kernel.hpp"
#include "support/verifier_asm_cases.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier {
namespace {

using testing::assemble_or_fail;
using testing::expect_kernel_verdict;
using testing::map_infos;
using testing::patch_markers;
using testing::TestMap;

const TestMap kMaps[] = {
    {BPF_MAP_TYPE_HASH, 8, 8, 16},
    {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4},
    {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4},
    {BPF_MAP_TYPE_ARRAY, 4, 8, 1},
};

// What the program's BTF says of its functions (Program::funcs): nothing (no BTF), or that the
// subprogram (the target of the program's call) returns an int or void.
enum class Btf : uint8_t { none, int_return, void_return };

// An lddw of BPF_PSEUDO_MAP_FD (src 1) or BPF_PSEUDO_MAP_VALUE (src 2) into r1 with imm 0, as
// raw words: nobody resolves it, so it names file descriptor 0.
#define LDDW_R1_MAP_FD_0 ".raw 0x1118\n.raw 0\n"
#define LDDW_R1_MAP_VALUE_FD_0 ".raw 0x2118\n.raw 0\n"
// lddw r1 with BPF_PSEUDO_MAP_IDX_VALUE (src 6) of map 3 (a single-entry array) or map 0 (a
// hash map) at a value offset, as raw words.
#define LDDW_R1_ARRAY_VALUE(OFF) ".raw 0x300006118\n.raw " #OFF "00000000\n"
#define LDDW_R1_HASH_VALUE ".raw 0x6118\n.raw 0\n"
// LD_ABS and LD_IND (r7) of a word at packet offset 0, as raw words.
#define LD_ABS_W_0 ".raw 0x20\n"
#define LD_IND_W_R7 ".raw 0x7040\n"

// r2 = a key of 8 zero bytes at fp-8.
#define KEY_ON_STACK "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\n"

// sk_buff data (76) and data_end (80) in r6 and r7, with r3 = data and 8 bytes checked.
#define PACKET_8_BYTES \
  "ldxw %r6, [%r1+76]\nldxw %r7, [%r1+80]\nmov %r3, %r6\nadd %r6, 8\njgt %r6, %r7, out\n"

// Two paths reaching one tail call, r2 = prog array map 1 on one and map `OTHER` on the other.
#define TAIL_CALL_FROM_TWO_PATHS(OTHER)                                           \
  "ldxw %r6, [%r1+8]\njne %r6, 0, other\nlddw %r2, 0x5a5a0001\nja call\nother:\n" \
  "lddw %r2, 0x5a5a000" OTHER "\ncall:\nmov %r3, 7\ncall 12\nmov %r0, 1\nexit"

struct Case {
  const char* name;
  uint32_t prog_type;
  bool privileged;
  const char* text;
  const char* message;  // Linux 6.12's refusal; "" when the program must be accepted
  bool kernel_comparable = true;
  Btf btf = Btf::none;
  uint32_t expected_attach_type = 0;
  // The host kernel's wording where it differs from 6.12's (6.18 names the helper's access
  // "write" where 6.12 says "indirect access").
  const char* host_message = nullptr;
  bool read_only_map = false;  // map 0 is BPF_F_RDONLY_PROG (userbpf only)
};

const Case kCases[] = {
    // resolve_pseudo_ldimm64: a map reference nobody relocated names fd 0, which is no map.
    {"map_fd_not_relocated", BPF_PROG_TYPE_SOCKET_FILTER, true,
     KEY_ON_STACK LDDW_R1_MAP_FD_0 "call 3\nexit", "fd 0 is not pointing to valid bpf_map"},
    {"map_fd_not_relocated_unpriv", BPF_PROG_TYPE_SOCKET_FILTER, false,
     KEY_ON_STACK LDDW_R1_MAP_FD_0 "call 3\nexit", "fd 0 is not pointing to valid bpf_map", false},
    {"map_value_fd_not_relocated", BPF_PROG_TYPE_SOCKET_FILTER, true,
     LDDW_R1_MAP_VALUE_FD_0 "mov %r0, 0\nexit", "fd 0 is not pointing to valid bpf_map"},
    // Refused before exploration, also where no path reaches it.
    {"map_fd_unreachable", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "mov %r0, 0\nja out\n" LDDW_R1_MAP_FD_0 "out:\nexit", "fd 0 is not pointing to valid bpf_map"},
    {"map_index_resolved", BPF_PROG_TYPE_SOCKET_FILTER, true,
     KEY_ON_STACK "lddw %r1, 0x5a5a0000\ncall 3\nexit", ""},
    // A direct value reference points into a single-entry array's value.
    {"direct_value_in_array", BPF_PROG_TYPE_SOCKET_FILTER, true,
     LDDW_R1_ARRAY_VALUE(0x4) "ldxw %r0, [%r1+0]\nexit", "", false},
    {"direct_value_past_array_value", BPF_PROG_TYPE_SOCKET_FILTER, true,
     LDDW_R1_ARRAY_VALUE(0x8) "mov %r0, 0\nexit",
     "invalid access to map value pointer, value_size=8 off=8", false},
    {"direct_value_of_hash_map", BPF_PROG_TYPE_SOCKET_FILTER, true,
     LDDW_R1_HASH_VALUE "mov %r0, 0\nexit", "no direct value access support for this map type",
     false},

    // bpf_func_proto.pkt_access: bpf_skb_load_bytes may not read from the packet directly,
    // bpf_map_lookup_elem may take its key from it.
    {"packet_to_helper_without_pkt_access", BPF_PROG_TYPE_SCHED_CLS, true,
     PACKET_8_BYTES "mov %r2, 0\nmov %r4, 4\ncall 26\nout:\nmov %r0, 0\nexit",
     "helper access to the packet is not allowed"},
    {"packet_key_to_map_lookup", BPF_PROG_TYPE_SCHED_CLS, true,
     PACKET_8_BYTES "mov %r2, %r3\nlddw %r1, 0x5a5a0000\ncall 1\nout:\nmov %r0, 0\nexit", ""},

    // MEM_ALIGNED: bpf_strtoul stores its result as a u64, which must be 8-byte aligned.
    {"ptr_to_long_misaligned", BPF_PROG_TYPE_CGROUP_SYSCTL, true,
     "mov %r7, %r10\nadd %r7, -8\nmov %r0, 0x00303036\nstxdw [%r7+0], %r0\nmov %r1, %r7\n"
     "mov %r2, 4\nmov %r3, 0\nadd %r7, -12\nmov %r0, 0\nstxw [%r7+0], %r0\n"
     "stxdw [%r7+4], %r0\nmov %r4, %r7\ncall 106\nmov %r0, 1\nexit",
     "misaligned stack access off 0+-20+0 size 8", true, Btf::none, BPF_CGROUP_SYSCTL},
    {"ptr_to_long_aligned", BPF_PROG_TYPE_CGROUP_SYSCTL, true,
     "mov %r7, %r10\nadd %r7, -8\nmov %r0, 0x00303036\nstxdw [%r7+0], %r0\nmov %r1, %r7\n"
     "mov %r2, 4\nmov %r3, 0\nadd %r7, -8\nmov %r4, %r7\ncall 106\nmov %r0, 1\nexit",
     "", true, Btf::none, BPF_CGROUP_SYSCTL},

    // LD_ABS/LD_IND and tail calls in a subprogram need BTF saying it returns an int.
    {"ld_abs_subprog_without_btf", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "call local fn\nmov %r0, 0\nexit\nfn:\nmov %r6, %r1\n" LD_ABS_W_0 "mov %r0, 1\nexit",
     "LD_ABS is not allowed in subprogs without BTF"},
    {"ld_ind_subprog_void", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "call local fn\nmov %r0, 0\nexit\nfn:\nmov %r6, %r1\nmov %r7, 0\n" LD_IND_W_R7
     "mov %r0, 1\nexit",
     "LD_ABS is only allowed in functions that return 'int'.", false, Btf::void_return},
    {"ld_abs_subprog_int", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "call local fn\nmov %r0, 0\nexit\nfn:\nmov %r6, %r1\n" LD_ABS_W_0 "mov %r0, 1\nexit", "",
     false, Btf::int_return},
    {"ld_abs_main_without_btf", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "mov %r6, %r1\n" LD_ABS_W_0 "mov %r0, 1\nexit", ""},
    {"tail_call_subprog_without_btf", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "call local fn\nmov %r0, 0\nexit\nfn:\nlddw %r2, 0x5a5a0001\nmov %r3, 0\ncall 12\n"
     "mov %r0, 1\nexit",
     "tail_call is not allowed in subprogs without BTF"},
    {"tail_call_subprog_void", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "call local fn\nmov %r0, 0\nexit\nfn:\nlddw %r2, 0x5a5a0001\nmov %r3, 0\ncall 12\n"
     "mov %r0, 1\nexit",
     "tail_call is only allowed in functions that return 'int'.", false, Btf::void_return},

    // Unprivileged tail calls are bounds-checked against the one prog array of their call site.
    {"tail_call_two_maps_unpriv", BPF_PROG_TYPE_SOCKET_FILTER, false, TAIL_CALL_FROM_TWO_PATHS("2"),
     "tail_call abusing map_ptr", false},
    {"tail_call_two_maps_priv", BPF_PROG_TYPE_SOCKET_FILTER, true, TAIL_CALL_FROM_TWO_PATHS("2"),
     ""},
    {"tail_call_same_map_unpriv", BPF_PROG_TYPE_SOCKET_FILTER, false, TAIL_CALL_FROM_TWO_PATHS("1"),
     "", false},

    // A helper reading stack memory that holds a spilled pointer would leak it (unprivileged).
    {"spilled_pointer_to_helper_unpriv", BPF_PROG_TYPE_SOCKET_FILTER, false,
     "stxdw [%r10-8], %r10\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\ncall 1\n"
     "mov %r0, 0\nexit",
     "invalid indirect read from stack R2 off -8+0 size 8", false},
    {"spilled_pointer_to_helper_priv", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "stxdw [%r10-8], %r10\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\ncall 1\n"
     "mov %r0, 0\nexit",
     ""},
    // A helper writing over a spilled pointer byte by byte corrupts it (unprivileged).
    {"helper_overwrites_spilled_pointer_unpriv", BPF_PROG_TYPE_SOCKET_FILTER, false,
     "stxdw [%r10-8], %r10\nmov %r2, 0\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 8\ncall 26\n"
     "mov %r0, 0\nexit",
     "attempt to corrupt spilled pointer on stack", false},
    // With a size that is not a constant the helper may write only part: the memory must be
    // initialized (unprivileged) as the helper could leave the rest as it was.
    {"variable_size_into_uninit_stack_unpriv", BPF_PROG_TYPE_SOCKET_FILTER, false,
     "mov %r6, %r1\ncall 7\nand %r0, 7\nadd %r0, 1\nmov %r4, %r0\nmov %r1, %r6\nmov %r2, 0\n"
     "mov %r3, %r10\nadd %r3, -8\ncall 26\nmov %r0, 0\nexit",
     "invalid indirect read from stack R3 off -8+0 size 8", false},
    {"constant_size_into_uninit_stack_unpriv", BPF_PROG_TYPE_SOCKET_FILTER, false,
     "mov %r2, 0\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 8\ncall 26\nldxdw %r0, [%r10-8]\n"
     "mov %r0, 0\nexit",
     "", false},

    // Zero-sized stack memory must still lie inside the stack, for every offset the pointer may
    // have.
    {"zero_sized_var_off_out_of_bounds", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "mov %r0, 0\nstxdw [%r10-16], %r0\nstxdw [%r10-8], %r0\nldxw %r1, [%r1+0]\nand %r1, 63\n"
     "add %r1, -16\nadd %r1, %r10\nmov %r2, 0\nmov %r3, 0\ncall 113\nexit",
     "invalid variable-offset indirect access to stack R1 var_off=(0x0; 0xffffffffffffffff) "
     "off=0 size=0",
     true, Btf::none, 0,
     "invalid variable-offset write to stack R1 var_off=(0x0; 0xffffffffffffffff) off=0 size=0"},
    {"zero_sized_at_frame_pointer", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "mov %r1, %r10\nmov %r2, 0\nmov %r3, 0\ncall 113\nmov %r0, 0\nexit",
     "invalid indirect access to stack R1 off=0 size=0", true, Btf::none, 0,
     "invalid write to stack R1 off=0 size=0"},
    {"zero_sized_in_stack", BPF_PROG_TYPE_SOCKET_FILTER, true,
     "mov %r1, %r10\nadd %r1, -8\nmov %r2, 0\nmov %r3, 0\ncall 113\nmov %r0, 0\nexit", ""},

    // A map the program may only read takes no helper that changes it.
    {"update_read_only_map", BPF_PROG_TYPE_SOCKET_FILTER, true,
     KEY_ON_STACK "mov %r3, %r2\nlddw %r1, 0x5a5a0000\nmov %r4, 0\ncall 2\nmov %r0, 0\nexit",
     "write into map forbidden", false, Btf::none, 0, nullptr, true},
    {"delete_read_only_map", BPF_PROG_TYPE_SOCKET_FILTER, true,
     KEY_ON_STACK "lddw %r1, 0x5a5a0000\ncall 3\nmov %r0, 0\nexit", "write into map forbidden",
     false, Btf::none, 0, nullptr, true},
    {"lookup_read_only_map", BPF_PROG_TYPE_SOCKET_FILTER, true,
     KEY_ON_STACK "lddw %r1, 0x5a5a0000\ncall 1\nmov %r0, 0\nexit", "", false, Btf::none, 0,
     nullptr, true},
};

Program program_of(const Case& c) {
  Program p;
  p.insns = assemble_or_fail(c.text);
  patch_markers(p.insns, nullptr);
  p.prog_type = c.prog_type;
  p.expected_attach_type = c.expected_attach_type;
  p.gpl = true;
  p.name = c.name;
  p.maps = map_infos(kMaps);
  if (c.read_only_map) p.maps[0].map_flags |= BPF_F_RDONLY_PROG;
  if (c.btf != Btf::none) {
    // The subprogram is the target of the program's bpf-to-bpf call.
    uint32_t sub = 0;
    for (size_t i = 0; i < p.insns.size(); ++i)
      if (p.insns[i].code == (BPF_JMP | BPF_CALL) && p.insns[i].src_reg == BPF_PSEUDO_CALL)
        sub = static_cast<uint32_t>(static_cast<int64_t>(i) + 1 + p.insns[i].imm);
    p.funcs = {{0, "main", true, false, {}}, {sub, "fn", c.btf == Btf::int_return, false, {}}};
  }
  return p;
}

class VerifierRefusals : public ::testing::TestWithParam<Case> {};

TEST_P(VerifierRefusals, Verdict) {
  const Case& c = GetParam();
  Options options;
  options.privileged = c.privileged;
  auto verdict = verify(program_of(c), options);
  ASSERT_TRUE(verdict) << verdict.error().message;
  const bool expect_accept = std::string(c.message).empty();
  EXPECT_EQ(verdict->accepted, expect_accept) << verdict->diagnosis.message;
  if (!expect_accept) {
    EXPECT_EQ(verdict->diagnosis.message, c.message);
  }
}

TEST_P(VerifierRefusals, KernelAgrees) {
  const Case& c = GetParam();
  if (!c.kernel_comparable || !c.privileged)
    GTEST_SKIP() << "not comparable with the host kernel (unprivileged, or needs BTF)";
  USERBPF_SKIP_WITHOUT_KERNEL();
  expect_kernel_verdict(c.name, c.text, c.prog_type, kMaps,
                        c.host_message ? c.host_message : c.message, c.expected_attach_type);
}

INSTANTIATE_TEST_SUITE_P(Rules, VerifierRefusals, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace userbpf::verifier

// Context access per program type and attach type, packet ranges, return-value ranges, LD_ABS
// and map/helper compatibility: small assembled programs with Linux's verdict and message, each
// also given to the host kernel's verifier where bpf() works (same type, attach type and maps).
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

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
    {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096},  // map 1
    {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4},  // map 2
};

struct Case {
  const char* name;
  uint32_t prog_type;
  uint32_t attach_type;
  bool privileged;
  const char* text;
  const char* message;  // "" when the program must be accepted
};

// Offsets: __sk_buff mark 8, cb[0] 48, tc_classid 72, data 76, data_end 80, data_meta 140,
// sk 168; bpf_sock family 4, type 8; bpf_sock_addr user_ip4 4, user_ip6 8; xdp_md data 0,
// data_end 4.
const Case kCases[] = {
    {"tc_packet_read", BPF_PROG_TYPE_SCHED_CLS, 0, true,
     "ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, out\n"
     "ldxh %r0, [%r2+12]\nexit\nout:\nmov %r0, 0\nexit",
     ""},
    {"tc_packet_read_past_range", BPF_PROG_TYPE_SCHED_CLS, 0, true,
     "ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, out\n"
     "ldxh %r0, [%r2+13]\nexit\nout:\nmov %r0, 0\nexit",
     "invalid access to packet, off=13 size=2, R2(id=0,off=13,r=14)"},
    {"tc_packet_write", BPF_PROG_TYPE_SCHED_CLS, 0, true,
     "ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, out\n"
     "stb [%r2+0], 1\nout:\nmov %r0, 0\nexit",
     ""},
    {"cgroup_skb_packet_write", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, true,
     "ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, out\n"
     "stb [%r2+0], 1\nout:\nmov %r0, 1\nexit",
     "cannot write into packet"},
    {"cgroup_skb_packet_read", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, true,
     "ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, out\n"
     "ldxb %r0, [%r2+0]\nout:\nmov %r0, 1\nexit",
     ""},
    {"cgroup_skb_tc_classid", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, true,
     "ldxw %r0, [%r1+72]\nmov %r0, 1\nexit", "invalid bpf_context access off=72 size=4"},
    {"cgroup_skb_data_meta", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, true,
     "ldxw %r0, [%r1+140]\nmov %r0, 1\nexit", "invalid bpf_context access off=140 size=4"},
    {"cgroup_skb_write_mark", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, true,
     "stw [%r1+8], 1\nmov %r0, 1\nexit", ""},
    {"cgroup_skb_return_2_ingress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, true,
     "mov %r0, 2\nexit",
     "At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]"},
    {"cgroup_skb_return_3_egress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, true,
     "mov %r0, 3\nexit", ""},
    {"socket_filter_write_mark", BPF_PROG_TYPE_SOCKET_FILTER, 0, true,
     "stw [%r1+8], 1\nmov %r0, 0\nexit", "invalid bpf_context access off=8 size=4"},
    {"socket_filter_write_cb", BPF_PROG_TYPE_SOCKET_FILTER, 0, true,
     "stw [%r1+48], 1\nmov %r0, 0\nexit", ""},
    {"tc_narrow_data", BPF_PROG_TYPE_SCHED_CLS, 0, true, "ldxh %r0, [%r1+76]\nmov %r0, 0\nexit",
     "invalid bpf_context access off=76 size=2"},
    {"tc_narrow_mark_high_half", BPF_PROG_TYPE_SCHED_CLS, 0, true,
     "ldxh %r0, [%r1+10]\nmov %r0, 0\nexit", ""},
    {"tc_sk_without_null_check", BPF_PROG_TYPE_SCHED_CLS, 0, true,
     "ldxdw %r2, [%r1+168]\nldxw %r0, [%r2+4]\nmov %r0, 0\nexit",
     "R2 invalid mem access 'sock_common_or_null'"},
    {"tc_sk_family", BPF_PROG_TYPE_SCHED_CLS, 0, true,
     "ldxdw %r2, [%r1+168]\njeq %r2, 0, out\nldxw %r0, [%r2+4]\nout:\nmov %r0, 0\nexit", ""},
    {"tc_sk_common_type", BPF_PROG_TYPE_SCHED_CLS, 0, true,
     "ldxdw %r2, [%r1+168]\njeq %r2, 0, out\nldxw %r0, [%r2+8]\nout:\nmov %r0, 0\nexit",
     "R2 invalid sock_common access off=8 size=4"},
    {"tc_sk_write", BPF_PROG_TYPE_SCHED_CLS, 0, true,
     "ldxdw %r2, [%r1+168]\njeq %r2, 0, out\nstw [%r2+4], 0\nout:\nmov %r0, 0\nexit",
     "R2 cannot write into sock_common"},
    {"sock_addr_connect4_return_2", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, true,
     "mov %r0, 2\nexit",
     "At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]"},
    {"sock_addr_recvmsg4_return_0", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_RECVMSG, true,
     "mov %r0, 0\nexit",
     "At program exit the register R0 has smin=0 smax=0 should have been in [1, 1]"},
    {"sock_addr_bind4_return_3", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND, true,
     "mov %r0, 3\nexit", ""},
    {"sock_addr_return_unknown", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, true,
     "ldxw %r0, [%r1+4]\nexit",
     "At program exit the register R0 has smin=0 smax=4294967295 should have been in [0, 1]"},
    {"sock_addr_return_ctx", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, true,
     "mov %r0, %r1\nexit", "At program exit the register R0 is not a known value (ctx)"},
    {"sock_addr_ip6_in_connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, true,
     "ldxw %r2, [%r1+8]\nmov %r0, 1\nexit", "invalid bpf_context access off=8 size=4"},
    {"sock_addr_ip6_wide_in_connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT,
     true, "ldxdw %r2, [%r1+8]\nmov %r0, 1\nexit", ""},
    {"sock_addr_write_ip4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, true,
     "stw [%r1+4], 1\nmov %r0, 1\nexit", ""},
    {"sock_addr_write_family", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, true,
     "stw [%r1+28], 1\nmov %r0, 1\nexit", "invalid bpf_context access off=28 size=4"},
    {"cgroup_sock_mark_in_post_bind", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET4_POST_BIND, true,
     "ldxw %r2, [%r1+16]\nmov %r0, 1\nexit", "invalid bpf_context access off=16 size=4"},
    {"cgroup_sock_write_mark_create", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, true,
     "stw [%r1+16], 1\nmov %r0, 1\nexit", ""},
    {"xdp_corner_case_good", BPF_PROG_TYPE_XDP, 0, true,
     "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r1, %r2\nadd %r1, 7\njlt %r1, %r3, l0\nja l1\n"
     "l0:\nldxdw %r0, [%r1-7]\nl1:\nmov %r0, 0\nexit",
     ""},
    {"xdp_corner_case_bad", BPF_PROG_TYPE_XDP, 0, true,
     "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r1, %r2\nadd %r1, 6\njlt %r1, %r3, l0\nja l1\n"
     "l0:\nldxdw %r0, [%r1-6]\nl1:\nmov %r0, 0\nexit",
     "invalid access to packet, off=0 size=8, R1(id=0,off=0,r=7)"},
    {"xdp_pkt_end_le_corner_good", BPF_PROG_TYPE_XDP, 0, true,
     "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r1, %r2\nadd %r1, 8\njle %r1, %r3, l0\nja l1\n"
     "l0:\nldxdw %r0, [%r1-8]\nl1:\nmov %r0, 0\nexit",
     ""},
    {"xdp_ld_abs", BPF_PROG_TYPE_XDP, 0, true, "mov %r6, %r1\n.raw 0x30\nmov %r0, 0\nexit",
     "BPF_LD_[ABS|IND] instructions not allowed for this program type"},
    {"socket_ld_abs", BPF_PROG_TYPE_SOCKET_FILTER, 0, true, "mov %r6, %r1\n.raw 0x30\nexit", ""},
    {"local_storage_with_hash", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, true,
     "lddw %r1, 0x5a5a0000\nmov %r2, 0\ncall 81\nmov %r0, 1\nexit",
     "cannot pass map_type 1 into func bpf_get_local_storage#81"},
    {"lookup_in_prog_array", BPF_PROG_TYPE_SOCKET_FILTER, 0, true,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0002\ncall 1\nmov %r0, 0\n"
     "exit",
     "cannot pass map_type 3 into func bpf_map_lookup_elem#1"},
    {"ringbuf_output_with_hash", BPF_PROG_TYPE_SOCKET_FILTER, 0, true,
     "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, 0x5a5a0000\nmov %r3, 8\n"
     "mov %r4, 0\ncall 130\nmov %r0, 0\nexit",
     "cannot pass map_type 1 into func bpf_ringbuf_output#130"},
    {"kprobe_ktime_get_coarse_ns", BPF_PROG_TYPE_KPROBE, 0, true, "call 160\nmov %r0, 0\nexit",
     "program of this type cannot use helper bpf_ktime_get_coarse_ns#160"},
    {"socket_ktime_get_coarse_ns", BPF_PROG_TYPE_SOCKET_FILTER, 0, true,
     "call 160\nmov %r0, 0\nexit", ""},
    {"tc_pointer_dropped_by_pull_data", BPF_PROG_TYPE_SCHED_CLS, 0, true,
     "mov %r6, %r1\nldxw %r7, [%r6+76]\nldxw %r3, [%r6+80]\nmov %r4, %r7\nadd %r4, 14\n"
     "jgt %r4, %r3, out\nmov %r1, %r6\nmov %r2, 0\ncall 39\nldxb %r0, [%r7+0]\nout:\n"
     "mov %r0, 0\nexit",
     "R7 invalid mem access 'scalar'"},
};

class VerifierContext : public ::testing::TestWithParam<Case> {};

TEST_P(VerifierContext, VerdictAndMessage) {
  const Case& c = GetParam();
  Program p;
  p.insns = assemble_or_fail(c.text);
  patch_markers(p.insns, nullptr);
  p.prog_type = c.prog_type;
  p.expected_attach_type = c.attach_type;
  p.gpl = true;
  p.name = c.name;
  p.maps = map_infos(kMaps);
  Options options;
  options.privileged = c.privileged;
  options.log_level = 1;
  auto verdict = verify(p, options);
  ASSERT_TRUE(verdict) << verdict.error().message;
  const bool expect_accept = std::string(c.message).empty();
  EXPECT_EQ(verdict->accepted, expect_accept)
      << c.name << ": " << verdict->diagnosis.message << " at insn " << verdict->diagnosis.insn;
  if (!expect_accept) {
    EXPECT_EQ(verdict->diagnosis.message, c.message) << c.name;
  }
}

// The host kernel gives the same verdict, and its log holds userbpf's message.
TEST_P(VerifierContext, KernelAgrees) {
  const Case& c = GetParam();
  USERBPF_SKIP_WITHOUT_KERNEL();
  expect_kernel_verdict(c.name, c.text, c.prog_type, kMaps, c.message, c.attach_type);
}

INSTANTIATE_TEST_SUITE_P(Programs, VerifierContext, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace userbpf::verifier

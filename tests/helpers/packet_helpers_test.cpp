// Packet helpers through test runs of BPF C programs (tests/runtime/progs), with answers worked
// out independently here: frame bounds after adjust_head/tail/meta, redirect targets, checksums
// that verify after a rewrite, and bpf_csum_diff against an RFC 1071 reference.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "runtime/test_run_util.hpp"

namespace userbpf::runtime {
namespace {

using testing::load_program;
using testing::make_packet;
using testing::PacketSpec;

TestRunOutput must_run(RunnableProgram& prog, TestRunInput in) {
  auto out = test_run(prog, in);
  EXPECT_TRUE(out.ok()) << out.error().to_string();
  return out.ok() ? *out : TestRunOutput{};
}

TEST(PacketHelpers, XdpAdjustHeadTailMetaMoveTheFrame) {
  auto loaded = load_program("xdp_packet.bpf.o", "xdp_bounds");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  PacketSpec spec;
  spec.payload = 30;
  std::vector<uint8_t> frame = make_packet(spec);
  frame[14] = 1 | 2 | 4 | 8;  // push 4, grow 6 (byte 15 = 0x5a), shrink 3, 8 bytes of metadata
  for (bool checked : {true, false}) {
    TestRunInput in;
    in.data_in = frame;
    in.checked = checked;
    TestRunOutput out = must_run(*loaded->prog, in);
    EXPECT_EQ(out.retval, static_cast<uint64_t>(XDP_PASS));
    std::vector<uint8_t> want = {0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55,  // metadata
                                 0xa5, 0xa5, 0xa5, 0xa5};                         // pushed tag
    want.reserve(want.size() + frame.size() + 3);
    want.insert(want.end(), frame.begin(), frame.end());
    want[8 + 15] = 0x5a;              // byte 15 of the pushed frame
    want.resize(want.size() + 3, 0);  // 6 grown (zeroed), 3 shrunk
    EXPECT_EQ(out.data_out, want);
    auto md = testing::from_bytes<xdp_md>(out.ctx_out);
    EXPECT_EQ(md.data, 8u);  // relative to data_meta, as Linux reports
    EXPECT_EQ(md.data_end, want.size());
  }

  frame[14] = 16;  // pull 2 bytes off the head
  TestRunInput in;
  in.data_in = frame;
  TestRunOutput pulled = must_run(*loaded->prog, in);
  EXPECT_EQ(pulled.data_out, std::vector<uint8_t>(frame.begin() + 2, frame.end()));
}

TEST(PacketHelpers, EveryTestRunStartsWithZeroedHeadroom) {
  // The packet page is reused between test runs: what one run wrote must not reach the next.
  auto loaded = load_program("xdp_packet.bpf.o", "xdp_headroom_peek");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  for (bool checked : {false, true, false}) {
    TestRunInput in;
    in.data_in = make_packet(PacketSpec{});
    in.checked = checked;
    EXPECT_EQ(must_run(*loaded->prog, in).retval, 0u) << (checked ? "checked" : "unchecked");
  }
}

TEST(PacketHelpers, XdpAdjustRefusalsMatchLinuxErrnos) {
  auto loaded = load_program("xdp_packet.bpf.o", "xdp_bounds_refused");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  TestRunInput in;
  in.data_in = make_packet(PacketSpec{});
  TestRunOutput out = must_run(*loaded->prog, in);
  EXPECT_EQ(out.retval, 0xfu);
  EXPECT_EQ(out.data_out, in.data_in);  // refused calls change nothing
}

TEST(PacketHelpers, XdpGrowthUpToTheFrameEndOnly) {
  // A 3520-byte frame fills the linear part: the tail cannot grow, the head still can.
  auto loaded = load_program("xdp_packet.bpf.o", "xdp_bounds");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  TestRunInput in;
  in.data_in.assign(3520, 0);
  in.data_in[14] = 2;
  EXPECT_EQ(must_run(*loaded->prog, in).retval, 102u);
  in.data_in[14] = 1;
  TestRunOutput head = must_run(*loaded->prog, in);
  EXPECT_EQ(head.retval, static_cast<uint64_t>(XDP_PASS));
  EXPECT_EQ(head.data_out.size(), 3524u);
}

TEST(PacketHelpers, RedirectRecordsTheTarget) {
  auto xdp = load_program("xdp_packet.bpf.o", "xdp_redirect_byte");
  ASSERT_TRUE(xdp->prog) << xdp->error;
  std::vector<uint8_t> frame = make_packet(PacketSpec{});
  frame[14] = 9;
  frame[15] = 0;
  TestRunInput in;
  in.data_in = frame;
  TestRunOutput out = must_run(*xdp->prog, in);
  EXPECT_EQ(out.retval, static_cast<uint64_t>(XDP_REDIRECT));
  EXPECT_TRUE(out.redirected);
  EXPECT_EQ(out.redirect_ifindex, 9u);
  in.data_in[15] = 1;  // XDP accepts no flags
  out = must_run(*xdp->prog, in);
  EXPECT_EQ(out.retval, static_cast<uint64_t>(XDP_ABORTED));
  EXPECT_FALSE(out.redirected);

  auto tc = load_program("skb_packet.bpf.o", "tc_rewrite");
  ASSERT_TRUE(tc->prog) << tc->error;
  PacketSpec echo;
  echo.dport = 7;
  in.data_in = make_packet(echo);
  out = must_run(*tc->prog, in);
  EXPECT_EQ(out.retval, static_cast<uint64_t>(TC_ACT_REDIRECT));
  EXPECT_TRUE(out.redirected);
  EXPECT_EQ(out.redirect_ifindex, 3u);
  EXPECT_EQ(out.redirect_flags, static_cast<uint64_t>(BPF_F_INGRESS));
}

// The IPv4 header checksum and the UDP/TCP checksum (with pseudo header) both verify.
void expect_checksums_valid(const std::vector<uint8_t>& p) {
  const uint8_t* ip = &p[14];
  EXPECT_EQ(testing::inet_checksum(ip, 20), 0) << "IP header checksum";
  const uint32_t len = static_cast<uint32_t>(p.size() - 34);
  uint32_t pseudo = 0;
  for (int i = 12; i < 20; i += 2) pseudo += (ip[i] << 8) | ip[i + 1];
  pseudo += ip[9] + len;
  EXPECT_EQ(testing::inet_checksum(ip + 20, len, pseudo), 0) << "L4 checksum";
}

TEST(PacketHelpers, ChecksumReplaceKeepsChecksumsValidAfterARewrite) {
  auto loaded = load_program("skb_packet.bpf.o", "tc_rewrite");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  for (uint8_t protocol : {6, 17}) {
    for (size_t payload : {0, 1, 13, 200}) {
      PacketSpec spec;
      spec.protocol = protocol;
      spec.dport = 53;
      spec.payload = payload;
      spec.saddr = 0xc0a8fe01 + static_cast<uint32_t>(payload);
      TestRunInput in;
      in.data_in = make_packet(spec);
      for (bool checked : {true, false}) {
        in.checked = checked;
        TestRunOutput out = must_run(*loaded->prog, in);
        ASSERT_EQ(out.retval, static_cast<uint64_t>(TC_ACT_OK));
        const std::vector<uint8_t>& p = out.data_out;
        ASSERT_EQ(p.size(), in.data_in.size());
        EXPECT_EQ(std::vector<uint8_t>(p.begin() + 30, p.begin() + 34),
                  (std::vector<uint8_t>{10, 0, 0, 99}));
        EXPECT_EQ((p[36] << 8) | p[37], 8080);
        expect_checksums_valid(p);
      }
    }
  }
}

TEST(PacketHelpers, ChecksumHelperRefusals) {
  auto loaded = load_program("skb_packet.bpf.o", "tc_refusals");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  TestRunInput in;
  in.data_in = make_packet(PacketSpec{});
  EXPECT_EQ(must_run(*loaded->prog, in).retval, 0x7fu);
}

uint16_t fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

TEST(PacketHelpers, CsumDiffFoldsToTheRfc1071Sum) {
  auto loaded = load_program("xdp_packet.bpf.o", "xdp_csum");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  for (int seed = 0; seed < 16; ++seed) {
    PacketSpec spec;
    spec.payload = 24;
    TestRunInput in;
    in.data_in = make_packet(spec);
    for (size_t i = 14; i < 38; ++i) in.data_in[i] = static_cast<uint8_t>(i * 31 + seed * 97);
    const uint8_t* from = &in.data_in[14];
    const uint8_t* to = &in.data_in[30];
    // Reference: ones'-complement sum of little-endian 16-bit words of ~from, to and the seed.
    uint32_t ref = 0x1234;
    for (int i = 0; i < 16; i += 2) ref += static_cast<uint16_t>(~(from[i] | (from[i + 1] << 8)));
    for (int i = 0; i < 8; i += 2) ref += to[i] | (to[i + 1] << 8);
    TestRunOutput out = must_run(*loaded->prog, in);
    ASSERT_EQ(out.retval, static_cast<uint64_t>(XDP_PASS));
    uint32_t diff, push, bad;  // the helper's results, as the program stored them
    std::memcpy(&diff, &out.data_out[14], 4);
    std::memcpy(&push, &out.data_out[18], 4);
    std::memcpy(&bad, &out.data_out[22], 4);
    EXPECT_EQ(fold(diff), fold(ref)) << "seed " << seed;
    uint32_t ref_push = diff;
    ref_push = fold(ref_push);
    for (int i = 0; i < 8; i += 2) ref_push += to[i] | (to[i + 1] << 8);
    EXPECT_EQ(fold(push), fold(ref_push)) << "seed " << seed;
    EXPECT_LE(diff, 0xffffu);  // folded to 16 bits since Linux 6.13
    // 6 bytes from, 8 bytes to: odd sizes are summed with a zero-padded tail.
    uint32_t ref_bad = 0;
    for (int i = 0; i < 6; i += 2)
      ref_bad += static_cast<uint16_t>(~(from[i] | (from[i + 1] << 8)));
    for (int i = 0; i < 8; i += 2) ref_bad += to[i] | (to[i + 1] << 8);
    EXPECT_EQ(fold(bad), fold(ref_bad)) << "seed " << seed;
  }
}

TEST(PacketHelpers, SkbLoadBytesAndLdAbsSeeTheNetworkHeaderInSocketFilters) {
  auto loaded = load_program("skb_packet.bpf.o", "sock_load_bytes");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  PacketSpec spec;
  TestRunInput in;
  in.data_in = make_packet(spec);
  TestRunOutput out = must_run(*loaded->prog, in);
  const uint8_t* ip = &in.data_in[14];
  const int sum = ip[8] + ip[9] + ip[10] + ip[11];
  EXPECT_EQ(out.retval, static_cast<uint64_t>((sum << 16) | (14 << 8) | 0));  // -EFAULT, cleared
  // Linux hands the frame back with the Ethernet header zeroed for socket filters.
  std::vector<uint8_t> want = in.data_in;
  std::fill(want.begin(), want.begin() + 14, 0);
  EXPECT_EQ(out.data_out, want);

  auto odd = load_program("skb_packet.bpf.o", "sock_udp_odd");
  ASSERT_TRUE(odd->prog) << odd->error;
  spec.dport = 53;
  in.data_in = make_packet(spec);
  out = must_run(*odd->prog, in);
  EXPECT_EQ(out.retval, (1u << 24) | (in.data_in.size() - 14));  // PACKET_HOST, IPv4, skb->len
}

}  // namespace
}  // namespace userbpf::runtime

// Test runs with repeat > 1, as Linux's bpf_test_run: the context and frame are set up once and
// every repetition runs on what the one before left (bounds changes and writes accumulate);
// retval, data_out, ctx_out and the redirect are the last repetition's.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>

#include "oracle/skip_without_kernel.hpp"
#include "runtime/test_run_util.hpp"

namespace userbpf::runtime {
namespace {

using testing::KernelObject;
using testing::make_packet;
using testing::PacketSpec;

// xdp_bounds (tests/runtime/progs/xdp_packet.bpf.c) reads its op byte at frame byte 14. With op 1
// it pushes a 4-byte 0xa5 tag in front, which moves the frame: the next repetition reads what was
// byte 10. Bytes 2, 6, 10 and 14 all hold op 1, so each of the first four repetitions pushes.
std::vector<uint8_t> push_frame() {
  PacketSpec s;
  s.payload = 40;
  std::vector<uint8_t> p = make_packet(s);
  for (size_t at : {2, 6, 10, 14}) p[at] = 1;
  return p;
}

TEST(TestRunRepeat, XdpHeadPushesAccumulateOverRepetitions) {
  auto loaded = testing::load_program("xdp_packet.bpf.o", "xdp_bounds");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  const std::vector<uint8_t> frame = push_frame();
  for (bool checked : {true, false}) {
    for (uint32_t repeat : {1u, 2u, 4u}) {
      SCOPED_TRACE(std::to_string(repeat) + (checked ? " checked" : " unchecked"));
      TestRunInput in;
      in.data_in = frame;
      in.repeat = repeat;
      in.checked = checked;
      auto out = test_run(*loaded->prog, in);
      ASSERT_TRUE(out.ok()) << out.error().to_string();
      EXPECT_EQ(out->retval, static_cast<uint64_t>(XDP_PASS));
      // Every repetition pushed 4 more bytes in front of what the previous one left.
      ASSERT_EQ(out->data_out.size(), frame.size() + 4 * repeat);
      EXPECT_TRUE(std::all_of(out->data_out.begin(), out->data_out.begin() + 4 * repeat,
                              [](uint8_t b) { return b == 0xa5; }));
      EXPECT_TRUE(std::equal(frame.begin(), frame.end(), out->data_out.begin() + 4 * repeat));
      // ctx_out reports the last repetition's bounds: data_end - data_meta is the whole frame.
      ASSERT_GE(out->ctx_out.size(), sizeof(xdp_md));
      xdp_md md;
      std::memcpy(&md, out->ctx_out.data(), sizeof md);
      EXPECT_EQ(md.data_end - md.data, frame.size() + 4 * repeat);
    }
  }
}

// The host kernel's repeated test runs are the reference for what each repetition sees: the
// same frames run `repeat` times there and in userbpf (checked, and unchecked in the engine of
// USERBPF_ENGINE) must end with the same return value, frame and context. XDP runs get a ctx_in
// (no metadata, the whole frame linear) so that the kernel reports ctx_out.
void compare_repeated_with_kernel(const std::string& file, const std::string& name,
                                  const std::vector<std::vector<uint8_t>>& frames,
                                  size_t ctx_out_size, bool xdp_ctx) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  KernelObject kernel(file, name);
  ASSERT_EQ(kernel.error(), "") << name;
  auto loaded = testing::load_program(file, name);
  ASSERT_TRUE(loaded->prog) << loaded->error;
  for (size_t f = 0; f < frames.size(); ++f) {
    std::vector<uint8_t> ctx_in;
    if (xdp_ctx) {
      xdp_md md{};
      md.data_end = static_cast<uint32_t>(frames[f].size());
      ctx_in = testing::bytes_of(md);
    }
    for (uint32_t repeat : {1u, 2u, 3u, 7u}) {
      const KernelObject::Run want = kernel.test_run(frames[f], ctx_in, ctx_out_size, repeat);
      ASSERT_EQ(want.err, 0) << name << " frame " << f << ": kernel test run failed";
      for (bool checked : {true, false}) {
        SCOPED_TRACE(name + " frame " + std::to_string(f) + " repeat " + std::to_string(repeat) +
                     (checked ? " checked" : " unchecked"));
        TestRunInput in;
        in.data_in = frames[f];
        in.ctx_in = ctx_in;
        in.repeat = repeat;
        in.checked = checked;
        auto got = test_run(*loaded->prog, in);
        ASSERT_TRUE(got.ok()) << got.error().to_string();
        EXPECT_EQ(static_cast<uint32_t>(got->retval), want.retval);
        EXPECT_EQ(got->data_out, want.data_out);
        got->ctx_out.resize(ctx_out_size);
        EXPECT_EQ(got->ctx_out, want.ctx_out);
      }
    }
  }
}

TEST(TestRunRepeat, RepeatedXdpBoundsChangesMatchTheKernel) {
  // xdp_bounds reads its op byte at frame byte 14 as the frame is when a repetition starts:
  // pushes (1), tail growth (2) and shrinking (4), metadata (8) and pulls (16) move where the
  // next repetition finds it. Ops also at bytes 10, 12 and 16 give the later repetitions other
  // ops to run.
  std::vector<std::vector<uint8_t>> frames;
  for (uint8_t op : {1, 2, 3, 5, 9, 16, 17, 14, 31}) {
    PacketSpec s;
    s.payload = 40;
    std::vector<uint8_t> p = make_packet(s);
    p[10] = 1;
    p[12] = static_cast<uint8_t>(op ^ 6);
    p[14] = op;
    p[16] = 16 | 8;
    frames.push_back(p);
  }
  compare_repeated_with_kernel("xdp_packet.bpf.o", "xdp_bounds", frames, sizeof(xdp_md), true);
}

TEST(TestRunRepeat, RepeatedSkbRunsMatchTheKernel) {
  // tc_rewrite rewrites the frame it is given (the second repetition sees the rewritten one);
  // sock_udp_odd reads through LD_ABS/LD_IND.
  std::vector<std::vector<uint8_t>> frames;
  for (uint16_t port : {9, 53, 7}) {
    PacketSpec s;
    s.dport = port;
    frames.push_back(make_packet(s));
  }
  PacketSpec tcp;
  tcp.protocol = 6;
  tcp.dport = 443;
  frames.push_back(make_packet(tcp));
  compare_repeated_with_kernel("skb_packet.bpf.o", "tc_rewrite", frames, sizeof(__sk_buff), false);
  compare_repeated_with_kernel("skb_packet.bpf.o", "sock_udp_odd", frames, sizeof(__sk_buff),
                               false);
}

TEST(TestRunRepeat, TheLastRepetitionsRedirectIsReported) {
  // xdp_redirect_byte redirects to ifindex byte 14 with flags byte 15: every repetition makes
  // the same redirect, and it is the last one's that the output names.
  auto loaded = testing::load_program("xdp_packet.bpf.o", "xdp_redirect_byte");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  PacketSpec s;
  std::vector<uint8_t> frame = make_packet(s);
  frame[14] = 7;
  frame[15] = 0;
  TestRunInput in;
  in.data_in = frame;
  in.repeat = 5;
  for (bool checked : {true, false}) {
    in.checked = checked;
    auto out = test_run(*loaded->prog, in);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    EXPECT_EQ(out->retval, static_cast<uint64_t>(XDP_REDIRECT));
    EXPECT_TRUE(out->redirected);
    EXPECT_EQ(out->redirect_ifindex, 7u);
    EXPECT_EQ(out->data_out, frame);
  }
}

TEST(TestRunRepeat, ARedirectOfAnEarlierRepetitionIsForgotten) {
  // Only the first repetition redirects: the report is the last one's (none), in both engines and
  // checked or not (unchecked repetitions reset only after a helper changed something).
  auto loaded = testing::load_program("xdp_packet.bpf.o", "xdp_redirect_once");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  PacketSpec s;
  std::vector<uint8_t> frame = make_packet(s);
  frame[14] = 7;
  TestRunInput in;
  in.data_in = frame;
  for (uint32_t repeat : {1u, 2u, 3u}) {
    for (bool checked : {true, false}) {
      SCOPED_TRACE("repeat " + std::to_string(repeat) + (checked ? " checked" : ""));
      in.repeat = repeat;
      in.checked = checked;
      auto out = test_run(*loaded->prog, in);
      ASSERT_TRUE(out.ok()) << out.error().to_string();
      EXPECT_EQ(out->retval, static_cast<uint64_t>(repeat == 1 ? XDP_REDIRECT : XDP_PASS));
      EXPECT_EQ(out->redirected, repeat == 1);
    }
  }
}

}  // namespace
}  // namespace userbpf::runtime

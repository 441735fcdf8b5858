// Test runs with repeat > 1, as Linux's bpf_test_run: the context and frame are set up once and
// every repetition runs on what the one before left (bounds changes and writes accumulate);
// retval, data_out, ctx_out and the redirect are the last repetition's.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>

#include "runtime/test_run_util.hpp"

namespace userbpf::runtime {
namespace {

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

}  // namespace
}  // namespace userbpf::runtime

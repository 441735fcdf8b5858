// The embedding example (examples/embed/xdp_filter) gives the answers its comments promise.
#include <gtest/gtest.h>

#include <string>

#include "cli/subprocess.hpp"

namespace userbpf {
namespace {

#ifdef USERBPF_EMBED_EXAMPLE_DIR
const std::string kDir = USERBPF_EMBED_EXAMPLE_DIR;

TEST(ApiEmbedExample, XdpFilterDropsConfiguredPortAndReportsOnTheRing) {
  const auto r = testing::run_process(kDir + "/xdp_filter", {kDir + "/xdp_filter.bpf.o", "53"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("program xdp_filter (xdp, section xdp, "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("loaded: blocking UDP port 53\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("drop: 10.0.0.1:40000 -> 10.0.0.2:53, 74 bytes\n"
                       "drop: 10.0.0.4:40003 -> 10.0.0.2:53, 142 bytes\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("frame 0: XDP_DROP\nframe 1: XDP_PASS\nframe 2: XDP_PASS\n"
                       "frame 3: XDP_DROP\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("passed 2, dropped 2, reported 2, frames_seen 4\n"), std::string::npos)
      << r.out;
}

TEST(ApiEmbedExample, TheConfiguredPortDecides) {
  // Port 80: frames 0 and 3 go to the configured port, frame 1 to 80 anyway, frame 2 is TCP.
  const auto r = testing::run_process(kDir + "/xdp_filter", {kDir + "/xdp_filter.bpf.o", "80"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("drop: 10.0.0.1:40001 -> 10.0.0.2:80, 58 bytes\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("frame 1: XDP_DROP\nframe 2: XDP_PASS\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("passed 1, dropped 3, reported 3, frames_seen 4\n"), std::string::npos)
      << r.out;
}

TEST(ApiEmbedExample, MissingObjectIsReported) {
  const auto r = testing::run_process(kDir + "/xdp_filter", {"/nonexistent.bpf.o"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("open: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/nonexistent.bpf.o"), std::string::npos) << r.err;
}

#else
TEST(ApiEmbedExample, NotBuilt) {
  GTEST_SKIP() << "configured with USERBPF_EXAMPLES=OFF";
}
#endif

}  // namespace
}  // namespace userbpf

// The benchmark programs compute what their native C++ twins compute, in both modes; so the
// figures in bench/RESULTS.md time correct programs.
#include "../../bench/bench_programs.hpp"

#include "vm_test_util.hpp"

namespace userbpf::vm::testing {
namespace {

TEST(VmBenchPrograms, MatchTheirNativeTwins) {
  const std::vector<uint8_t> packet = bench::bench_packet();
  const Region region = region_of(packet.data(), packet.size(), false, "packet");
  for (const bench::BenchCase& c : bench::bench_cases()) {
    const uint64_t r1 = c.uses_packet ? reinterpret_cast<uint64_t>(packet.data()) : c.arg;
    const uint64_t r2 = c.uses_packet ? packet.size() : 0;
    EXPECT_EQ(run_both(c.code, r1, r2, {&region, 1}), c.native(r1, r2)) << c.name;
  }
}

}  // namespace
}  // namespace userbpf::vm::testing

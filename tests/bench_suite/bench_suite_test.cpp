// The benchmark suite's programs (bench/suite) compute the same in every engine: each program is
// run once on the suite's frame in userbpf's interpreter, in the JIT where it is built, in the
// host kernel where bpf() is allowed, and as its native twin (the same C compiled for the host,
// with private maps and against userbpf's maps); r0, the frame after the run and the map contents
// must be equal. No timing here: bench_suite
// measures.
#include <gtest/gtest.h>

#if USERBPF_BENCH_SUITE

#include "engines.hpp"
#include "suite_env.h"

namespace userbpf::bench::suite {
namespace {

Outcome run_native(const SuiteCase& c) {
  auto prepared = prepare_native(c);
  EXPECT_TRUE(prepared.ok());
  auto outcome = (*prepared)->run_once(suite_frame());
  EXPECT_TRUE(outcome.ok());
  return *outcome;
}

const SuiteCase& find_case(const std::string& name) {
  for (const SuiteCase& c : suite_cases())
    if (name == c.name) return c;
  throw std::runtime_error("no suite case " + name);
}

class BenchSuiteAgrees : public ::testing::TestWithParam<size_t> {};

TEST_P(BenchSuiteAgrees, InEveryEngine) {
  const SuiteCase& c = suite_cases()[GetParam()];
  const Outcome want = run_native(c);
  const std::vector<uint8_t> frame = suite_frame();
  ASSERT_EQ(want.frame_out.size(), frame.size());
  size_t compared = 0;
  bool verifier_refused = false;  // then the interpreter ran it checked and the JIT cannot
  for (EngineKind kind :
       {EngineKind::interp, EngineKind::jit, EngineKind::kernel, EngineKind::native_maps}) {
    SCOPED_TRACE(std::string(c.name) + " in " + engine_name(kind));
    std::string why;
    if (!engine_available(kind, why)) continue;  // the JIT not built, bpf() not allowed
    // The JIT takes verified programs only; a verifier refusal is the verifier's tests' concern.
    if (kind == EngineKind::jit && verifier_refused) continue;
    auto prepared = prepare(kind, c);
    ASSERT_TRUE(prepared.ok()) << prepared.error().to_string();
    if (kind == EngineKind::interp) verifier_refused = !(*prepared)->note.empty();
    auto got = (*prepared)->run_once(frame);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    EXPECT_EQ(difference(want, *got), "");
    ++compared;
  }
  EXPECT_GE(compared, 1u) << "the interpreter always runs";
}

INSTANTIATE_TEST_SUITE_P(Suite, BenchSuiteAgrees, ::testing::Range<size_t>(0, suite_cases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return std::string(suite_cases()[info.param].name);
                         });

// The native twins themselves compute what the algorithms mean (facts, not engine output).
TEST(BenchSuiteTwins, ComputeKnownAnswers) {
  EXPECT_EQ(run_native(find_case("prime_count")).r0, 669u);  // pi(5000)
  const Outcome parsed = run_native(find_case("packet_parser"));
  EXPECT_EQ(parsed.r0, 53u);  // the frame's UDP destination port
  EXPECT_EQ(parsed.map, (std::vector<std::pair<uint64_t, uint64_t>>{{53, 1}}));
  // Reversal: the data area comes back reversed, the rest unchanged.
  const std::vector<uint8_t> frame = suite_frame();
  const Outcome reversed = run_native(find_case("byte_reverse"));
  for (size_t i = 0; i < frame.size(); ++i) {
    const bool in_area = i >= SUITE_OFF_DATA && i < SUITE_OFF_DATA + SUITE_DATA_BYTES;
    const size_t from = in_area ? 2 * SUITE_OFF_DATA + SUITE_DATA_BYTES - 1 - i : i;
    ASSERT_EQ(reversed.frame_out[i], frame[from]) << "byte " << i;
  }
  // The array loop adds i + 1 to entry data[i] for i < 512: the values sum to 512 * 513 / 2.
  const Outcome array = run_native(find_case("array_map_loop"));
  ASSERT_EQ(array.map.size(), 256u);
  uint64_t total = 0;
  for (const auto& entry : array.map) total += entry.second;
  EXPECT_EQ(total, 512u * 513u / 2);
  // The hash loop counts 512 keys: the counts sum to 512, one entry per distinct key.
  const Outcome hash = run_native(find_case("hash_map_loop"));
  total = 0;
  for (const auto& entry : hash.map) total += entry.second;
  EXPECT_EQ(total, 512u);
  EXPECT_EQ(hash.r0, 512u - hash.map.size());  // hits: every occurrence after a key's first
}

}  // namespace
}  // namespace userbpf::bench::suite

#else

TEST(BenchSuite, NotBuilt) {
  GTEST_SKIP() << "the benchmarks are off (USERBPF_BENCH=OFF)";
}

#endif

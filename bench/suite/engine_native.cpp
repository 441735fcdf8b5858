// The native engine: the twin compiled from the same C (native/native_twins.c), called directly
// on a copy of the frame, timed with the thread's CPU clock around the whole batch.
#include <algorithm>

#include "engines.hpp"
#include "thread_clock.hpp"

namespace userbpf::bench::suite {
namespace {

class NativeProgram final : public PreparedProgram {
 public:
  explicit NativeProgram(const SuiteCase& c) : case_(c) {}

  Result<Outcome> run_once(const std::vector<uint8_t>& frame) override {
    suite_native_reset();
    Outcome out;
    out.frame_out = frame;
    out.r0 = case_.native(out.frame_out.data(), out.frame_out.data() + out.frame_out.size());
    if (case_.map_name) {
      const size_t n = suite_native_map_entries(case_.native_map, nullptr, nullptr, 0);
      std::vector<__u64> keys(n), values(n);
      suite_native_map_entries(case_.native_map, keys.data(), values.data(), n);
      for (size_t i = 0; i < n; ++i) out.map.emplace_back(keys[i], values[i]);
      std::sort(out.map.begin(), out.map.end());
    }
    return out;
  }

  Result<double> mean_ns(const std::vector<uint8_t>& frame, uint32_t repeat) override {
    std::vector<uint8_t> copy = frame;
    uint8_t* data = copy.data();
    uint8_t* end = data + copy.size();
    volatile uint32_t sink = 0;
    const double start = thread_cpu_ns();  // CPU time, as the userbpf engines (thread_clock.hpp)
    for (uint32_t i = 0; i < repeat; ++i) sink = sink + case_.native(data, end);
    const double elapsed = thread_cpu_ns() - start;
    (void)sink;
    return elapsed / (repeat ? repeat : 1);
  }

 private:
  const SuiteCase& case_;
};

}  // namespace

Result<std::unique_ptr<PreparedProgram>> prepare_native(const SuiteCase& c) {
  return std::unique_ptr<PreparedProgram>(std::make_unique<NativeProgram>(c));
}

}  // namespace userbpf::bench::suite

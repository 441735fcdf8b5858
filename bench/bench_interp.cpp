// Timing of the interpreter on the benchmark programs, unchecked and checked, next to the native
// C++ each program mirrors. Counters: insns = eBPF instructions per run; ns_per_insn = wall time
// per executed eBPF instruction (for native: per eBPF instruction the interpreter would execute,
// so the two columns compare like for like).
#include <benchmark/benchmark.h>

#include "bench_loader.hpp"

namespace {

using namespace userbpf;

void run_interp(benchmark::State& state, const bench::BenchCase& c, bool checked) {
  std::string why;
  auto loaded = bench::load_case(c, why);
  if (!loaded) {
    state.SkipWithError(why.c_str());
    return;
  }
  auto counted = loaded->interp.run(loaded->r1, loaded->r2, bench::run_options(*loaded, true));
  if (!counted || counted->r0 != loaded->expected) {
    state.SkipWithError("interpreter result differs from native");
    return;
  }
  const vm::RunOptions options = bench::run_options(*loaded, checked);
  for (auto _ : state) {
    auto r = loaded->interp.run(loaded->r1, loaded->r2, options);
    benchmark::DoNotOptimize(r);
  }
  const double insns = static_cast<double>(counted->insns_executed);
  state.counters["insns"] = insns;
  state.counters["ns_per_insn"] =
      benchmark::Counter(insns * static_cast<double>(state.iterations()) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void run_native(benchmark::State& state, const bench::BenchCase& c) {
  std::string why;
  auto loaded = bench::load_case(c, why);
  if (!loaded) {
    state.SkipWithError(why.c_str());
    return;
  }
  auto counted = loaded->interp.run(loaded->r1, loaded->r2, bench::run_options(*loaded, true));
  uint64_t r1 = loaded->r1, r2 = loaded->r2;
  for (auto _ : state) {
    benchmark::DoNotOptimize(r1);
    benchmark::DoNotOptimize(r2);
    uint64_t r = c.native(r1, r2);
    benchmark::DoNotOptimize(r);
  }
  const double insns = counted ? static_cast<double>(counted->insns_executed) : 0;
  state.counters["insns"] = insns;
  state.counters["ns_per_insn"] =
      benchmark::Counter(insns * static_cast<double>(state.iterations()) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

const std::vector<bench::BenchCase>& cases() {
  static const std::vector<bench::BenchCase> all = bench::bench_cases();
  return all;
}

const bool registered = [] {
  for (const auto& c : cases()) {
    benchmark::RegisterBenchmark((std::string(c.name) + "/unchecked").c_str(), run_interp, c,
                                 false);
    benchmark::RegisterBenchmark((std::string(c.name) + "/checked").c_str(), run_interp, c, true);
    benchmark::RegisterBenchmark((std::string(c.name) + "/native").c_str(), run_native, c);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();

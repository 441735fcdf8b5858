// Callgrind driver: runs one benchmark program `runs` times and prints how many eBPF instructions
// one run executes (counted by a checked run, done whatever `runs` is, so a baseline with runs=0
// has the same fixed cost). bench/interp_callgrind.sh turns two such runs into host instructions
// per eBPF instruction.
//
//   bench_interp_count <program> <runs> [unchecked|checked]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench_loader.hpp"

int main(int argc, char** argv) {
  using namespace userbpf;
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <program> <runs> [unchecked|checked]\nprograms:", argv[0]);
    for (const auto& c : bench::bench_cases()) std::fprintf(stderr, " %s", c.name);
    std::fprintf(stderr, "\n");
    return 2;
  }
  const std::string name = argv[1];
  const long runs = std::strtol(argv[2], nullptr, 10);
  const bool checked = argc > 3 && std::strcmp(argv[3], "checked") == 0;

  for (const auto& c : bench::bench_cases()) {
    if (name != c.name) continue;
    std::string why;
    auto loaded = bench::load_case(c, why);
    if (!loaded) {
      std::fprintf(stderr, "%s: %s\n", c.name, why.c_str());
      return 1;
    }
    auto counted = loaded->interp.run(loaded->r1, loaded->r2, bench::run_options(*loaded, true));
    if (!counted || counted->r0 != loaded->expected) {
      std::fprintf(stderr, "%s: wrong result\n", c.name);
      return 1;
    }
    const vm::RunOptions options = bench::run_options(*loaded, checked);
    uint64_t sink = 0;
    for (long i = 0; i < runs; ++i) {
      auto r = loaded->interp.run(loaded->r1, loaded->r2, options);
      if (!r) return 1;
      sink += r->r0;
    }
    std::printf("program=%s mode=%s runs=%ld ebpf_insns_per_run=%llu sink=%llu\n", c.name,
                checked ? "checked" : "unchecked", runs,
                static_cast<unsigned long long>(counted->insns_executed),
                static_cast<unsigned long long>(sink));
    return 0;
  }
  std::fprintf(stderr, "unknown program %s\n", name.c_str());
  return 2;
}

// libFuzzer target: the verifier's soundness. Each input becomes a program (structure-aware
// generation, or raw instructions: mutations of the project's compiled programs from the seed
// corpus, see verifier_program_gen.hpp). The verifier must answer without crashing or hanging;
// when it accepts, the program runs in the checked interpreter over several inputs, and any
// fault is a verifier soundness bug: the target prints the program, the fault and the verdict,
// then aborts so libFuzzer keeps the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <span>
#include <string>

#include "fuzz_check.hpp"
#include "isa/decode.hpp"
#include "isa/disasm.hpp"
#include "verifier/verifier.hpp"
#include "verifier_program_gen.hpp"
#include "verifier_run_harness.hpp"

namespace {

using namespace userbpf;

// Below Linux's 1M: a generated loop that needs more is rejected earlier, which costs no
// soundness coverage and keeps each input's time bounded. (An ASan build of the verifier spends
// about 30 us per instruction on a state-heavy loop such as `if r0 < r0 goto pc-1`, which Linux
// itself takes 21 s to refuse at 1M.)
constexpr uint64_t kInsnLimit = 50'000;

verifier::Program to_program(const fuzz::FuzzCase& fc) {
  verifier::Program p;
  p.insns = fc.insns;
  p.prog_type = fc.prog_type;
  p.gpl = true;
  p.name = "fuzz";
  for (const fuzz::FuzzMapSpec& m : fuzz::kFuzzMaps) {
    verifier::MapInfo info;
    info.type = m.type;
    info.key_size = m.key_size;
    info.value_size = m.value_size;
    info.max_entries = m.max_entries;
    info.name = "fuzz";
    p.maps.push_back(info);
  }
  return p;
}

uint64_t seed_of(std::span<const uint8_t> bytes) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: the same input always gets the same runs
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

std::string report(const fuzz::FuzzCase& fc, const verifier::Program& program,
                   const verifier::Options& options, const std::string& fault) {
  std::string out = "verifier soundness: an accepted program faulted in the checked interpreter\n";
  out += "fault: " + fault + "\n";
  out += "prog_type " + std::to_string(fc.prog_type) +
         (fc.privileged ? ", privileged" : ", unprivileged") + "\n";
  if (auto decoded = isa::decode(fc.insns)) out += isa::dump_xlated(*decoded);
  verifier::Options logged = options;
  logged.log_level = 2;
  if (auto verdict = verifier::verify(program, logged)) {
    out += "verdict: accepted=" + std::to_string(verdict->accepted) + ", processed " +
           std::to_string(verdict->processed_insns) + " insns\n";
    constexpr size_t kTail = 12000;  // the end of the level-2 log: the states that mattered
    const std::string& log = verdict->log;
    out += log.size() > kTail ? "...\n" + log.substr(log.size() - kTail) : log;
  }
  return out;
}

// FUZZ_VERIFIER_STATS=1: at exit, how many inputs were accepted and the commonest refusals (to
// see whether the generator reaches deep enough to test anything).
struct Stats {
  bool on = std::getenv("FUZZ_VERIFIER_STATS") != nullptr;
  uint64_t accepted = 0, rejected = 0;
  std::map<std::string, uint64_t> reasons;
  ~Stats() {
    if (!on) return;
    std::fprintf(stderr, "fuzz_verifier: %llu accepted, %llu rejected\n",
                 static_cast<unsigned long long>(accepted),
                 static_cast<unsigned long long>(rejected));
    std::multimap<uint64_t, std::string> by_count;
    for (const auto& [reason, n] : reasons) by_count.emplace(n, reason);
    int shown = 0;
    for (auto it = by_count.rbegin(); it != by_count.rend() && shown < 25; ++it, ++shown)
      std::fprintf(stderr, "  %6llu  %s\n", static_cast<unsigned long long>(it->first),
                   it->second.c_str());
  }
};
Stats g_stats;

void count(const verifier::Verdict& v) {
  if (!g_stats.on) return;
  if (v.accepted) {
    ++g_stats.accepted;
    return;
  }
  ++g_stats.rejected;
  std::string reason = v.diagnosis.message;
  for (char& ch : reason)  // fold numbers so that similar refusals count together
    if (ch >= '0' && ch <= '9') ch = '#';
  ++g_stats.reasons[reason];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  const fuzz::FuzzCase fc = fuzz::make_case(bytes);
  if (fc.insns.empty()) return 0;
  const verifier::Program program = to_program(fc);
  verifier::Options options;
  options.privileged = fc.privileged;
  options.insn_limit = kInsnLimit;
  if (std::getenv("FUZZ_VERIFIER_PRINT")) {  // for reducing a finding by hand
    std::fprintf(stderr, "prog_type %u, %s\n", fc.prog_type,
                 fc.privileged ? "privileged" : "unprivileged");
    if (auto decoded = isa::decode(fc.insns))
      std::fputs(isa::dump_xlated(*decoded).c_str(), stderr);
  }
  auto verdict = verifier::verify(program, options);
  if (std::getenv("FUZZ_VERIFIER_PRINT") && verdict)
    std::fprintf(stderr, "accepted=%d processed=%llu states=%llu time=%.3f ms: %s\n",
                 verdict->accepted, static_cast<unsigned long long>(verdict->processed_insns),
                 static_cast<unsigned long long>(verdict->total_states),
                 verdict->elapsed.count() / 1e6, verdict->diagnosis.message.c_str());
  FUZZ_CHECK(verdict, verdict ? std::string() : verdict.error().message);
  count(*verdict);
  if (!verdict->accepted) return 0;
  if (auto fault = fuzz::run_accepted_program(fc, seed_of(bytes), verdict->call_map))
    userbpf::fuzz::property_failed("accepted program ran clean",
                                   report(fc, program, options, *fault));
  return 0;
}

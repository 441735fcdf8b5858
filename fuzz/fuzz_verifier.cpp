// libFuzzer target: the verifier's soundness. Each input becomes a program (structure-aware
// generation, or raw instructions: mutations of the project's compiled programs from the seed
// corpus, see verifier_program_gen.hpp). The verifier must answer without crashing or hanging;
// when it accepts, the program runs in the checked interpreter over several inputs, and any
// fault is a verifier soundness bug: the target prints the program, the fault and the verdict,
// then aborts so libFuzzer keeps the input.
#include <cstddef>
#include <cstdint>
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

// Below Linux's 1M: a generated loop that needs more is rejected a little earlier, which costs
// no soundness coverage and keeps each input's time bounded.
constexpr uint64_t kInsnLimit = 200'000;

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  const fuzz::FuzzCase fc = fuzz::make_case(bytes);
  if (fc.insns.empty()) return 0;
  const verifier::Program program = to_program(fc);
  verifier::Options options;
  options.privileged = fc.privileged;
  options.insn_limit = kInsnLimit;
  auto verdict = verifier::verify(program, options);
  FUZZ_CHECK(verdict, verdict ? std::string() : verdict.error().message);
  if (!verdict->accepted) return 0;
  if (auto fault = fuzz::run_accepted_program(fc, seed_of(bytes)))
    userbpf::fuzz::property_failed("accepted program ran clean",
                                   report(fc, program, options, *fault));
  return 0;
}

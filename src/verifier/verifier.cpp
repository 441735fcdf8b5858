// verify(): decode, check the control flow, then explore every path.
#include "verifier/verifier.hpp"

#include <chrono>

#include "isa/decode.hpp"
#include "verifier/cfg.hpp"
#include "verifier/context.hpp"
#include "verifier/env.hpp"
#include "verifier/resolve_ldimm64.hpp"
#include "verifier/subprog_returns.hpp"

namespace userbpf::verifier {

Result<Verdict> verify(const Program& program, const Options& options) {
  if (program.insns.empty())
    return make_error(Errc::invalid_argument, "the program has no instructions");
  const auto start = std::chrono::steady_clock::now();
  Verdict verdict;
  // The statistics line ends every log, also when the control-flow checks refused.
  auto stats_line = [&]() {
    if (options.log_level > 0)
      verdict.log += "processed 0 insns (limit " + std::to_string(options.insn_limit) +
                     ") max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";
  };
  auto finish = [&]() {
    verdict.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - start);
    return verdict;
  };
  if (lsm_hook_disabled(program)) {  // refused when the attach target is resolved, as in Linux
    verdict.diagnosis.message = "attach target " + program.attach_target +
                                " points to disabled hook bpf_lsm_" + program.attach_target;
    if (options.log_level > 0) verdict.log = verdict.diagnosis.message + "\n";
    stats_line();
    return finish();
  }
  auto decoded = isa::decode(program.insns);
  if (!decoded) {
    // The decoder's messages are the kernel's where the kernel has one ("jump out of range from
    // insn 1 to 5"); the index is the instruction's.
    const Error& error = decoded.error();
    verdict.accepted = false;
    verdict.diagnosis.insn = error.where.insn >= 0 ? static_cast<uint32_t>(error.where.insn) : 0;
    verdict.diagnosis.message = error.message;
    if (options.log_level > 0) verdict.log = error.message + "\n";
    stats_line();
    return finish();
  }
  // Linux's order before exploration: check_btf_info (subprogram return types),
  // resolve_pseudo_ldimm64 (map references), then check_cfg.
  auto early = check_subprog_returns(program, *decoded);
  if (!early) early = resolve_pseudo_ldimm64(program, *decoded);
  if (early) {
    verdict.diagnosis.insn = early->insn;
    verdict.diagnosis.message = early->message;
    if (options.log_level > 0) verdict.log = early->message + "\n";
    stats_line();
    return finish();
  }
  if (auto cfg = check_cfg(*decoded, options.privileged)) {
    verdict.accepted = false;
    verdict.diagnosis.insn = cfg->insn;
    verdict.diagnosis.message = cfg->message;
    if (cfg->message.starts_with("back-edge"))
      verdict.diagnosis.suggestion =
          "unprivileged programs may not loop; unroll the loop or load the program as root";
    if (options.log_level > 0) verdict.log = cfg->message + "\n";
    stats_line();
    return finish();
  }
  Env env(program, *decoded, options);
  env.run(verdict);
  return finish();
}

}  // namespace userbpf::verifier

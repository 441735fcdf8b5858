// Loads a BenchCase into the interpreter and prepares its arguments; shared by the two bench tools.
#pragma once

#include <optional>
#include <string>

#include "bench_programs.hpp"
#include "isa/decode.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::bench {

struct LoadedCase {
  vm::Interpreter interp;
  std::vector<uint8_t> packet;
  vm::Region packet_region;
  uint64_t r1 = 0;
  uint64_t r2 = 0;
  uint64_t expected = 0;  // what the native twin computes
};

// Loads `c`; on failure returns nullopt and sets `why`.
inline std::optional<LoadedCase> load_case(const BenchCase& c, std::string& why) {
  auto program = isa::decode(c.code);
  if (!program) {
    why = program.error().to_string();
    return std::nullopt;
  }
  auto interp = vm::Interpreter::load(*program, vm::HelperTable{});
  if (!interp) {
    why = interp.error().to_string();
    return std::nullopt;
  }
  LoadedCase out{std::move(*interp), bench_packet(), {}, 0, 0, 0};
  if (c.uses_packet) {
    out.r1 = reinterpret_cast<uint64_t>(out.packet.data());
    out.r2 = out.packet.size();
  } else {
    out.r1 = c.arg;
  }
  out.packet_region =
      vm::Region{reinterpret_cast<uint64_t>(out.packet.data()), out.packet.size(), false, "packet"};
  out.expected = c.native(out.r1, out.r2);
  return out;
}

inline vm::RunOptions run_options(const LoadedCase& loaded, bool checked) {
  vm::RunOptions options;
  options.checked = checked;
  options.regions = std::span<const vm::Region>(&loaded.packet_region, 1);
  return options;
}

}  // namespace userbpf::bench

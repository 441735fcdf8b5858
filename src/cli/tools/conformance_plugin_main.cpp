// userbpf-conformance: a plugin for the eBPF conformance suite's reference runner.
//
//   userbpf-conformance [HEXMEM] [--checked] [--budget N] [--engine interp|jit]
//
// --engine jit (the default where the JIT is available) compiles the program to machine code;
// --checked and --budget always interpret (checked runs never reach the JIT).
// The program arrives on stdin as one line of space-separated hex bytes (raw instruction images);
// HEXMEM, when present, is the input memory as one hex string. Prints r0 in hex and exits 0, or
// prints the error and exits 1.
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "cli/conformance_runner.hpp"
#include "isa/decode.hpp"
#include "jit/jit.hpp"

namespace {

int fail(const std::string& message) {
  std::cout << message << "\n";
  return 1;
}

bool parse_hex_byte(std::string_view token, uint8_t& out) {
  if (token.size() > 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'X'))
    token.remove_prefix(2);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value, 16);
  if (ec != std::errc() || end != token.data() + token.size() || value > 0xff) return false;
  out = static_cast<uint8_t>(value);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint8_t> memory;
  userbpf::cli::ConformanceRunOptions options;
  if (userbpf::jit::available()) options.engine = userbpf::cli::ConformanceEngine::jit;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--checked") {
      options.checked = true;
    } else if (arg == "--budget" && i + 1 < argc) {
      options.checked = true;
      options.insn_budget = std::strtoull(argv[++i], nullptr, 0);
    } else if (arg == "--engine" && i + 1 < argc) {
      const std::string_view engine = argv[++i];
      if (engine == "interp") {
        options.engine = userbpf::cli::ConformanceEngine::interp;
      } else if (engine == "jit" && userbpf::jit::available()) {
        options.engine = userbpf::cli::ConformanceEngine::jit;
      } else {
        return fail("unsupported engine '" + std::string(engine) + "'");
      }
    } else if (i == 1 && !arg.starts_with("--")) {
      if (arg.size() % 2 != 0) return fail("memory hex has an odd number of digits");
      for (size_t k = 0; k < arg.size(); k += 2) {
        uint8_t byte;
        if (!parse_hex_byte(arg.substr(k, 2), byte))
          return fail("invalid hex in memory at position " + std::to_string(k));
        memory.push_back(byte);
      }
    } else {
      return fail("unknown option '" + std::string(arg) + "'");
    }
  }

  std::string line((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::vector<uint8_t> bytes;
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && std::isspace(static_cast<unsigned char>(line[pos]))) ++pos;
    size_t end = pos;
    while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end]))) ++end;
    if (end == pos) break;
    uint8_t byte;
    if (!parse_hex_byte(std::string_view(line).substr(pos, end - pos), byte))
      return fail("invalid hex byte in program at offset " + std::to_string(pos));
    bytes.push_back(byte);
    pos = end;
  }

  auto raw = userbpf::isa::raw_from_bytes(bytes);
  if (!raw) return fail(raw.error().to_string());
  auto r0 = userbpf::cli::run_conformance_program(*raw, memory, options);
  if (!r0) return fail(r0.error().to_string());
  std::printf("%llx\n", static_cast<unsigned long long>(*r0));
  return 0;
}

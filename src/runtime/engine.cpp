#include "runtime/engine.hpp"

#include <cstdlib>
#include <string>

#include "jit/jit.hpp"

namespace userbpf::runtime {

std::string_view engine_name(Engine engine) {
  return engine == Engine::jit ? "jit" : "interp";
}

Result<Engine> parse_engine(std::string_view name) {
  if (name == "interp" || name == "interpreter") return Engine::interpreter;
  if (name == "jit") {
    if (!jit::available()) {
      return make_error(Errc::unsupported,
                        "the JIT is not available on this machine (x86-64 only)");
    }
    return Engine::jit;
  }
  return make_error(Errc::invalid_argument,
                    "unknown engine '" + std::string(name) + "' (expected interp or jit)");
}

Result<Engine> default_engine() {
  if (const char* env = std::getenv("USERBPF_ENGINE"); env && *env) {
    auto engine = parse_engine(env);
    if (!engine) {
      Error e = engine.take_error();
      e.message = "USERBPF_ENGINE: " + e.message;
      return e;
    }
    return engine;
  }
  return jit::available() ? Engine::jit : Engine::interpreter;
}

}  // namespace userbpf::runtime

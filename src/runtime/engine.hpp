// Which engine runs verified programs in this process: the interpreter or the x86-64 JIT
// (src/jit). Programs nobody verified always run in the checked interpreter, whatever the engine.
//
// The default is the JIT where it is available; the environment variable USERBPF_ENGINE
// (interp|jit) overrides the default, so that a whole test run or a user's session can pick an
// engine without touching each command, and `--engine` on the command line overrides both.
#pragma once

#include <optional>
#include <string_view>

#include "userbpf/error.hpp"

namespace userbpf::runtime {

enum class Engine { interpreter, jit };

// "interp" / "jit".
std::string_view engine_name(Engine engine);
Result<Engine> parse_engine(std::string_view name);

// USERBPF_ENGINE when set (an invalid value is an error), else the JIT where available.
Result<Engine> default_engine();

}  // namespace userbpf::runtime

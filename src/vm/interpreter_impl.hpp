// What an Interpreter holds, shared by its run entries (interpreter.cpp, repeated_run.cpp).
#pragma once

#include <memory>

#include "vm/interpreter.hpp"
#include "vm/loaded_program.hpp"

namespace userbpf::vm {

struct Interpreter::Impl {
  detail::LoadedProgram program;
  std::shared_ptr<const NativeCode> native;  // machine code for unchecked runs, if attached
};

}  // namespace userbpf::vm

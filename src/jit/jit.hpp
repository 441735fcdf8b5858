// The x86-64 JIT: compiles a loaded program (the interpreter's translated form, so helpers, lddw
// pseudo forms and function handles are resolved exactly once, by vm) to machine code with
// Linux's eBPF semantics, and attaches it to the vm::Interpreter. From then on the Interpreter's
// unchecked runs execute the machine code and checked runs keep interpreting; bpf_tail_call
// continues in whichever engine the target program has. So every user of vm::Interpreter (the
// runtime, prog_array tail calls, the CLI, tests) gets the JIT by calling jit::attach once after
// Interpreter::load.
//
// The machine code runs verified programs without run-time memory checks, as Linux's JIT does.
// It is written into anonymous memory mapped read-write and then mprotect'ed read-execute: it is
// never writable and executable at once.
#pragma once

#include <cstddef>
#include <memory>

#include "userbpf/error.hpp"
#include "vm/interpreter.hpp"
#include "vm/native_code.hpp"

namespace userbpf::jit {

struct CompileOptions {
  // Use BMI2 (shlx/shrx/sarx) for shifts by a register when the CPU has it. Tests turn it off to
  // exercise the cl-based form.
  bool use_bmi2 = true;
};

// Is the JIT usable on this host (x86-64)?
bool available();

// Compiles the program `program` was loaded with. Fails with Errc::unsupported off x86-64.
Result<std::shared_ptr<const vm::NativeCode>> compile(const vm::Interpreter& program,
                                                      const CompileOptions& options = {});

// compile() + program.attach_native().
Status attach(vm::Interpreter& program, const CompileOptions& options = {});

}  // namespace userbpf::jit

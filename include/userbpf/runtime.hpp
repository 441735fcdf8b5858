// userbpf::Runtime: the system an embedding program loads objects into.
//
// A Runtime is a handle on a state directory, the place where userbpf keeps its registry of
// programs and maps, their shared memory and the trace buffer (see docs/api.md). Two kinds:
//
//   Runtime::open(dir)      the state directory every userbpf process shares (the one the
//                           `userbpf` command uses, unless told otherwise): what a program loads
//                           here shows in `userbpf prog list` and `userbpf map dump` while this
//                           process lives, or longer when pinned, as with the kernel's bpf().
//   Runtime::open_private() a fresh directory of this process alone, removed when the last
//                           handle (Runtime, Object loaded into it, Program) goes away.
//
// Handles are cheap to copy and share the same runtime.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "userbpf/error.hpp"

namespace userbpf {

class Object;

class Runtime {
 public:
  // `state_dir` empty: $USERBPF_STATE_DIR, else /run/userbpf for root and
  // $XDG_RUNTIME_DIR/userbpf (or /tmp/userbpf-<uid>) otherwise, as the CLI chooses.
  static Result<Runtime> open(const std::filesystem::path& state_dir = {});
  // A private runtime in a new directory under $TMPDIR (or /tmp).
  static Result<Runtime> open_private();

  const std::filesystem::path& state_dir() const;
  bool is_private() const;

  // The oldest bpf_trace_printk line not read yet, formatted as trace_pipe prints it (newline
  // included); waits up to `wait` for one. Reading consumes it for every reader of this state
  // directory, as reading trace_pipe does. nullopt when none arrived in time.
  std::optional<std::string> read_trace(
      std::chrono::milliseconds wait = std::chrono::milliseconds(0)) const;

  struct State;  // defined in src/api

 private:
  friend class Object;
  explicit Runtime(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace userbpf

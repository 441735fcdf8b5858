// What every command of the userbpf command line shares: the global options (-j, -p, -d,
// --state-dir) and the streams it prints to. Handed to each command handler; tests build one over
// string streams to run commands in process.
#pragma once

#include <iosfwd>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "userbpf/error.hpp"

namespace userbpf::cli {

struct Context {
  Context(std::ostream& out_stream, std::ostream& err_stream) : out(out_stream), err(err_stream) {}

  std::string bin_name = "userbpf";  // argv[0], as bpftool prints it in its usage texts
  bool json = false;                 // -j / --json
  bool pretty = false;               // -p / --pretty (implies json)
  bool debug = false;                // -d / --debug
  std::string state_dir;             // --state-dir DIR (kept for the object store to come)
  std::string engine;                // --engine interp|jit ("": USERBPF_ENGINE or the JIT)
  int exit_code = 0;  // the exit status of a successful command (run/exec: the command's own)

  std::ostream& out;
  std::ostream& err;

  // Prints one JSON document on `out`, pretty printed under -p, followed by a newline.
  void print_json(const nlohmann::ordered_json& value) const;

  // Prints an error as bpftool does: "Error: <message>" on `err`, or with -j
  // {"error":"<message>"} on `out`.
  void print_error(const Error& error) const;
};

// The exit status of a failed command: bpftool's commands return -1, which the shell sees as 255.
inline constexpr int kExitFailure = 255;

}  // namespace userbpf::cli

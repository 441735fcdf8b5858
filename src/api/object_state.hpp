// What the public handles (include/userbpf/runtime.hpp, object.hpp, program.hpp) point at. The
// public headers only forward-declare these, so embedding programs never see src/ headers.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "object/object.hpp"
#include "runtime/records.hpp"
#include "runtime/runtime.hpp"
#include "userbpf/map.hpp"
#include "userbpf/runtime.hpp"

namespace userbpf {

struct Runtime::State {
  State(runtime::Runtime rt, bool is_private) : rt(std::move(rt)), is_private(is_private) {}
  // A private runtime takes its directory with it.
  ~State();
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  runtime::Runtime rt;
  bool is_private;
  std::mutex mutex;  // runtime::Runtime is not meant for concurrent callers
};

namespace api {

// A program of a loaded object: its record, and an instance to run built on first use.
struct LoadedProgram {
  runtime::ProgramRecord record;
  std::unique_ptr<runtime::RunnableProgram> runnable;
  std::mutex run_mutex;  // one run of a program at a time (its helper environment is shared)
};

struct ObjectState {
  object::Object obj;
  // Set by load(): the runtime, the programs in obj.programs order, maps by obj.maps index.
  std::shared_ptr<Runtime::State> runtime;
  std::vector<std::unique_ptr<LoadedProgram>> programs;
  std::vector<uint32_t> map_ids;
  std::vector<std::shared_ptr<maps::Map>> maps;
  std::mutex mutex;  // guards load() and the lazily built runnables
  std::string verifier_log;  // of the last load(), at LoadOptions::log_level

  bool loaded() const { return runtime != nullptr; }
};

// "object 'NAME'" errors carry the object's path as their location.
Error object_error(const object::Object& obj, Errc code, const std::string& message);

}  // namespace api
}  // namespace userbpf

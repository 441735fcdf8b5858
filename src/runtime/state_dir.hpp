// The runtime's state directory: where loaded programs, maps, pins and the trace buffer live so
// that every userbpf process (the one that loaded a program, `userbpf prog list` in another
// terminal, `userbpf trace_pipe`) sees the same system, as every process sees the kernel's.
//
//   <root>/lock              flock()ed while ids are allocated or records change
//   <root>/next_id           the last id handed out (programs, maps and links share one sequence)
//   <root>/progs/<id>.json   a loaded program's record
//   <root>/maps/<id>.json    a map's record; <root>/maps/<id>.map its memory (maps library)
//   <root>/links/<id>.json   a link: a program attached to a hook point
//   <root>/btf/<id>.btf      raw BTF of the object a program or map came from
//   <root>/bpffs/...         pins: /sys/fs/bpf/a/b is <root>/bpffs/a/b
//   <root>/trace.buf         the trace buffer behind trace_pipe
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "userbpf/error.hpp"

namespace userbpf::runtime {

class StateDir {
 public:
  // The directory to use: `explicit_dir` if given, else $USERBPF_STATE_DIR, else /run/userbpf
  // for root and $XDG_RUNTIME_DIR/userbpf (or /tmp/userbpf-<uid>) otherwise.
  static std::filesystem::path default_root(
      const std::optional<std::filesystem::path>& explicit_dir);

  // Creates the layout when missing.
  static Result<StateDir> open(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path progs() const { return root_ / "progs"; }
  std::filesystem::path maps() const { return root_ / "maps"; }
  std::filesystem::path links() const { return root_ / "links"; }
  std::filesystem::path btf() const { return root_ / "btf"; }
  std::filesystem::path bpffs() const { return root_ / "bpffs"; }
  std::filesystem::path trace_file() const { return root_ / "trace.buf"; }

  // A fresh id, unique across processes.
  Result<uint32_t> allocate_id() const;

 private:
  explicit StateDir(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

// Holds the state directory's lock (flock, released on destruction).
class StateLock {
 public:
  explicit StateLock(const StateDir& dir);
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

 private:
  int fd_ = -1;
};

// Writes `content` to `path` atomically: a reader sees the old file or the new one, never a
// half-written one, even if this process dies midway.
Status write_file_atomic(const std::filesystem::path& path, std::string_view content);
Result<std::string> read_file(const std::filesystem::path& path);

}  // namespace userbpf::runtime

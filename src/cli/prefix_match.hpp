// bpftool's keyword matching: objects, commands and keyword arguments may be shortened to any
// prefix (`userbpf p r` = `userbpf prog run`).
//
// Rules, in order:
//   1. A word equal to a candidate names it (so `load` is not ambiguous next to `loadall`).
//   2. A word that is a prefix of exactly one candidate names it.
//   3. A word that is a prefix of several names the one marked `preferred`, if exactly one is:
//      bpftool resolves such ties by table order, and its best-known shorthands (`p` = prog next
//      to perf, `d` = dump next to detach) rely on it. Marking them keeps those shorthands stable
//      as more nouns arrive, and every other tie is reported as ambiguous instead of being
//      resolved silently.
//   4. Otherwise: no match, or an ambiguous prefix.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace userbpf::cli {

struct PrefixCandidate {
  std::string_view name;
  bool preferred = false;
};

struct PrefixMatch {
  enum class Status { found, none, ambiguous };
  Status status = Status::none;
  size_t index = 0;                    // valid when found
  std::vector<std::string_view> tied;  // the candidates an ambiguous word could be

  bool found() const { return status == Status::found; }
};

PrefixMatch match_prefix(std::string_view word, std::span<const PrefixCandidate> candidates);

// bpftool's wording: "ambiguous prefix: 'lo' could be 'load' or 'loadall'".
std::string ambiguous_prefix_message(std::string_view word, std::span<const std::string_view> tied);

}  // namespace userbpf::cli

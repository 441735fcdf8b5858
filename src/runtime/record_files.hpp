// Reading every record of one kind from its state-directory folder (runtime-internal).
#pragma once

#include <algorithm>
#include <filesystem>
#include <vector>

#include "runtime/state_dir.hpp"

namespace userbpf::runtime {

// The records in `dir` (<id>.json files) that parse, by ascending id. Unreadable or corrupt
// files are skipped: a writer replaces files atomically, so those are never half-written ones.
template <class Record, class Parse>
std::vector<Record> read_records(const std::filesystem::path& dir, Parse parse) {
  std::vector<Record> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto text = read_file(entry.path());
    if (!text) continue;
    auto record = parse(*text, entry.path().string());
    if (record) out.push_back(std::move(*record));
  }
  std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) { return a.id < b.id; });
  return out;
}

inline std::filesystem::path record_path(const std::filesystem::path& dir, uint32_t id) {
  return dir / (std::to_string(id) + ".json");
}

}  // namespace userbpf::runtime

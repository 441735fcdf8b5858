#include "cli/prefix_match.hpp"

namespace userbpf::cli {

PrefixMatch match_prefix(std::string_view word, std::span<const PrefixCandidate> candidates) {
  PrefixMatch match;
  if (word.empty()) return match;  // an empty word names nothing (bpftool would take the first)
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].name == word) {
      match.status = PrefixMatch::Status::found;
      match.index = i;
      return match;
    }
  }
  std::vector<size_t> hits;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].name.starts_with(word)) hits.push_back(i);
  }
  if (hits.empty()) return match;
  if (hits.size() == 1) {
    match.status = PrefixMatch::Status::found;
    match.index = hits[0];
    return match;
  }
  size_t preferred_count = 0;
  for (size_t i : hits) {
    if (candidates[i].preferred) {
      ++preferred_count;
      match.index = i;
    }
  }
  if (preferred_count == 1) {
    match.status = PrefixMatch::Status::found;
    return match;
  }
  match.status = PrefixMatch::Status::ambiguous;
  match.index = 0;
  for (size_t i : hits) match.tied.push_back(candidates[i].name);
  return match;
}

std::string ambiguous_prefix_message(std::string_view word,
                                     std::span<const std::string_view> tied) {
  std::string message = "ambiguous prefix: '" + std::string(word) + "' could be ";
  for (size_t i = 0; i < tied.size(); ++i) {
    if (i > 0) message += " or ";
    message += "'" + std::string(tied[i]) + "'";
  }
  return message;
}

}  // namespace userbpf::cli

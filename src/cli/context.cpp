#include "cli/context.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

namespace userbpf::cli {

void Context::print_json(const nlohmann::ordered_json& value) const {
  // -p pretty prints with bpftool's four-space indent; plain -j is one compact line. Text that
  // came from user input may not be UTF-8: replace bad bytes rather than throw.
  out << value.dump(pretty ? 4 : -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
      << "\n";
}

void Context::print_error(const Error& error) const {
  const std::string message = error.to_string();
  if (json) {
    print_json(nlohmann::ordered_json{{"error", message}});
  } else {
    err << "Error: " << message << "\n";
  }
}

}  // namespace userbpf::cli

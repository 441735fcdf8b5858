// userbpf::Runtime: shared or private state directories (include/userbpf/runtime.hpp).
#include <stdlib.h>

#include <cerrno>
#include <cstring>

#include "api/object_state.hpp"
#include "trace/trace_buffer.hpp"

namespace userbpf {

Runtime::State::~State() {
  if (!is_private) return;
  std::error_code ec;
  std::filesystem::remove_all(rt.dir().root(), ec);
}

Result<Runtime> Runtime::open(const std::filesystem::path& state_dir) {
  std::optional<std::filesystem::path> dir;
  if (!state_dir.empty()) dir = state_dir;
  auto rt = runtime::Runtime::open(dir);
  if (!rt) return rt.take_error();
  return Runtime(std::make_shared<State>(std::move(*rt), false));
}

Result<Runtime> Runtime::open_private() {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/userbpf-private-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr)
    return make_error(Errc::io, "can't create a private state directory (" + pattern +
                                    "): " + std::strerror(errno));
  auto rt = runtime::Runtime::open(std::filesystem::path(pattern));
  if (!rt) {
    std::error_code ec;
    std::filesystem::remove_all(pattern, ec);
    return rt.take_error();
  }
  return Runtime(std::make_shared<State>(std::move(*rt), true));
}

const std::filesystem::path& Runtime::state_dir() const {
  return state_->rt.dir().root();
}

bool Runtime::is_private() const {
  return state_->is_private;
}

std::optional<std::string> Runtime::read_trace(std::chrono::milliseconds wait) const {
  // Not under the state mutex: a long wait must not block loads and runs.
  auto event = state_->rt.trace().read(wait);
  if (!event) return std::nullopt;
  return trace::format_trace_line(*event);
}

}  // namespace userbpf

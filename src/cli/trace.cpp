// `userbpf trace_pipe` and `userbpf prog tracelog`: stream the runtime's trace buffer, as
// `cat /sys/kernel/tracing/trace_pipe` and `bpftool prog tracelog` do, until SIGINT or SIGTERM.
// Reading consumes the events (trace_pipe semantics). Under -j the lines are the strings of one
// JSON array, closed when the stream ends, as bpftool's tracelog prints them.
#include "cli/trace.hpp"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/prog.hpp"
#include "cli/runtime_access.hpp"

namespace userbpf::cli {
namespace {

volatile sig_atomic_t g_stop = 0;

void on_stop_signal(int) {
  g_stop = 1;
}

// Installs the handlers for the stream's lifetime, restoring the previous ones after.
class StopSignals {
 public:
  StopSignals() {
    g_stop = 0;
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace

Status stream_trace(Context& ctx, Args args) {
  auto words = strip_global_options(ctx, args);
  if (!words) return words.take_error();
  if (!words->empty()) {
    return make_error(Errc::invalid_argument, "unexpected argument '" + words->front() + "'");
  }
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  StopSignals signals;
  bool first = true;
  if (ctx.json) ctx.out << "[" << std::flush;
  while (!g_stop) {
    // A short wait so a signal is noticed promptly even when no event arrives.
    auto event = rt->trace().read(std::chrono::milliseconds(100));
    if (!event) continue;
    const std::string line = trace::format_trace_line(*event);
    if (ctx.json) {
      ctx.out << (first ? "" : ",")
              << nlohmann::json(line.substr(0, line.size() - (line.ends_with('\n') ? 1 : 0)))
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      ctx.out << line;
    }
    ctx.out << std::flush;
    first = false;
  }
  if (ctx.json) ctx.out << "]\n" << std::flush;
  return ok_status();
}

}  // namespace userbpf::cli

// Streaming the runtime's trace buffer (`userbpf trace_pipe`, `userbpf prog tracelog`).
#pragma once

#include "cli/command_table.hpp"

namespace userbpf::cli {

// Prints trace buffer lines as they arrive until SIGINT or SIGTERM, then returns ok.
Status stream_trace(Context& ctx, Args args);

}  // namespace userbpf::cli

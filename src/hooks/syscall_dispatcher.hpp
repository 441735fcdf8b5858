// The dispatcher's name from when syscalls were the only events: see event_dispatcher.hpp.
#pragma once

#include "hooks/event_dispatcher.hpp"

namespace userbpf::hooks {

using SyscallDispatcher = EventDispatcher;

}  // namespace userbpf::hooks

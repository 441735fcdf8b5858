// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID) in nanoseconds: what the user-space
// engines are timed with, so that time the machine gives to other processes while a batch runs
// is not counted (the kernel's BPF_PROG_TEST_RUN timer likewise stops while it reschedules).
#pragma once

#include <time.h>

namespace userbpf::bench::suite {

inline double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

}  // namespace userbpf::bench::suite

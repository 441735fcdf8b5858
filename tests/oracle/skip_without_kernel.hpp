// Kernel cross-checks skip (visibly, never pass) where this process cannot use bpf().
#pragma once

#include <gtest/gtest.h>

#include "oracle/kernel.hpp"

#define USERBPF_SKIP_WITHOUT_KERNEL()                                                              \
  do {                                                                                             \
    const ::userbpf::oracle::KernelStatus& kernel_status = ::userbpf::oracle::kernel_bpf_status(); \
    if (!kernel_status.available)                                                                  \
      GTEST_SKIP() << "kernel bpf() unavailable: " << kernel_status.reason;                        \
  } while (0)

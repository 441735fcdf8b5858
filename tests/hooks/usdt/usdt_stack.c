// Built without optimisation (tests/CMakeLists.txt): the probe's arguments are stack operands
// such as -2@-2(%rbp), the BPF_USDT_ARG_REG_DEREF case.
#include <stdint.h>
#include <sys/sdt.h>

void fire_stack_probe(int i) {
  int16_t f = (int16_t)(-300 * i);
  uint8_t g = (uint8_t)(200 + i);
  int64_t h = (int64_t)i * -1000000000LL;
  DTRACE_PROBE3(userbpf_test, stack, f, g, h);
}

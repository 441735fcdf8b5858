#include "uprobe_lib.h"

__attribute__((noinline, noipa)) int lib_mul(int a, int b) {
  __asm__ volatile("");
  return a * b;
}

// The shared library half of the uprobe test binary: a function the dynamic loader maps after
// exec, so a uprobe on it needs the supervisor's mmap watch.
#pragma once

int lib_mul(int a, int b);

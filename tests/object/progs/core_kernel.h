// A small "kernel" for the CO-RE tests: types declared the way a vmlinux.h declares them
// (preserve_access_index), which the tests then relocate against target BTFs where fields moved,
// changed size, or disappeared. Used by core_fields.bpf.c.
#pragma once

struct core_inner {
  int a;
  int b;
} __attribute__((preserve_access_index));

struct core_sample {
  int first;
  long long wide;
  unsigned short narrow;
  short signed_narrow;
  struct {
    int anon_x;
    int anon_y;
  };
  struct core_inner inner;
  int arr[4];
  unsigned int bf_lo : 3;
  unsigned int bf_hi : 9;
  int bf_signed : 5;
  int gone;
  char name[16];
  struct core_sample *next;
} __attribute__((preserve_access_index));

// A flavor: matches "struct core_sample" in the target, with a field only some targets have.
struct core_sample___v2 {
  int renamed_in_v2;
} __attribute__((preserve_access_index));

struct core_missing {
  int x;
} __attribute__((preserve_access_index));

enum core_color { CORE_RED = 0, CORE_GREEN = 1, CORE_BLUE = 2, CORE_GONE = 7 };

typedef unsigned long long core_u64_t;

# The Linux verifier's own tests as ground truth for userbpf's verifier (issue 5).
#
#   userbpf_add_verifier_selftests(<test target>)
#
# At build time, cmake/verifier_selftests_build.sh extracts the needed subset of Debian's
# linux-source tarball (USERBPF_LINUX_SOURCE_TARBALL, package linux-source-6.12) into
# <build>/verifier-selftests, generates bpf_helper_defs.h (and vmlinux.h where the machine has
# /sys/kernel/btf/vmlinux), and compiles every progs/verifier_*.c that clang accepts. The work is
# cached by stamps: a rebuild does nothing unless the tarball or the script changed.
#
# The test target gets:
#   USERBPF_VERIFIER_SELFTESTS_DIR  the output directory ("" when the tarball is missing: the
#                                   tests skip and say why)
#   USERBPF_HAVE_VERIFIER           1 when src/verifier defines verifier::verify (checked at
#                                   configure time), so the harness also asks userbpf's verifier
# and the harness support sources tests/verifier/selftest_*.cpp (not *_test.cpp, so the global
# test glob does not see them; selftest_*_test.cpp are excluded).
include_guard(GLOBAL)

set(_userbpf_vst_dir "${CMAKE_CURRENT_LIST_DIR}")
set(USERBPF_LINUX_SOURCE_TARBALL "/usr/src/linux-source-6.12.tar.xz" CACHE FILEPATH
    "Debian linux-source tarball with tools/testing/selftests/bpf (package linux-source-6.12)")

function(userbpf_add_verifier_selftests test_target)
  get_filename_component(root "${_userbpf_vst_dir}/.." ABSOLUTE)
  file(GLOB support CONFIGURE_DEPENDS "${root}/tests/verifier/selftest_*.cpp")
  # Tests of the harness itself (selftest_*_test.cpp) belong to the test binary only.
  list(FILTER support EXCLUDE REGEX "_test\\.cpp$")
  target_sources(${test_target} PRIVATE ${support})

  set(out "${CMAKE_BINARY_DIR}/verifier-selftests")
  if(EXISTS "${USERBPF_LINUX_SOURCE_TARBALL}")
    find_program(USERBPF_BPF_CLANG NAMES clang clang-14 REQUIRED)
    find_program(USERBPF_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin)
    set(bpftool "${USERBPF_BPFTOOL}")
    if(NOT bpftool)
      set(bpftool "")
    endif()
    cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)
    # Several targets (the tests, the verifier benchmark) may use the selftests: one command
    # and one target build them.
    if(NOT TARGET userbpf_verifier_selftests)
    add_custom_command(
      OUTPUT "${out}/built.stamp"
      COMMAND "${_userbpf_vst_dir}/verifier_selftests_build.sh" "${USERBPF_LINUX_SOURCE_TARBALL}"
              "${out}" "${USERBPF_BPF_CLANG}" "${bpftool}" ${jobs}
      DEPENDS "${USERBPF_LINUX_SOURCE_TARBALL}" "${_userbpf_vst_dir}/verifier_selftests_build.sh"
      COMMENT "Linux verifier selftests: extracting and compiling progs/verifier_*.c"
      VERBATIM)
    add_custom_target(userbpf_verifier_selftests DEPENDS "${out}/built.stamp")
    endif()
    add_dependencies(${test_target} userbpf_verifier_selftests)
    target_compile_definitions(${test_target} PRIVATE USERBPF_VERIFIER_SELFTESTS_DIR="${out}")
  else()
    message(STATUS "verifier selftests: ${USERBPF_LINUX_SOURCE_TARBALL} missing "
                   "(apt-get install linux-source-6.12); their tests will skip")
    target_compile_definitions(${test_target} PRIVATE USERBPF_VERIFIER_SELFTESTS_DIR="")
  endif()

  # Ask userbpf's verifier too once it exists: its library target and a definition of verify().
  set(have_verifier 0)
  if(TARGET userbpf_verifier)
    file(GLOB verifier_sources "${root}/src/verifier/*.cpp")
    foreach(file IN LISTS verifier_sources)
      file(STRINGS "${file}" hits REGEX "^Result<Verdict> verify\\(")
      if(hits)
        set(have_verifier 1)
      endif()
    endforeach()
  endif()
  if(have_verifier)
    target_link_libraries(${test_target} PRIVATE userbpf_verifier)
  endif()
  target_compile_definitions(${test_target} PRIVATE USERBPF_HAVE_VERIFIER=${have_verifier})
endfunction()

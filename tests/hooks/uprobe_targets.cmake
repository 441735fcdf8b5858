# The uprobe tests' target program (tests/hooks/uprobe_target: an executable and a shared library
# it links) and their BPF programs (tests/hooks/uprobe_progs), whose SEC() names carry the
# target's absolute paths (UPROBE_TARGET_BIN, UPROBE_TARGET_LIB) as libbpf's auto-attach forms do.
# Included by tests/CMakeLists.txt.
set(uprobe_target_dir "${CMAKE_BINARY_DIR}/tests/hooks/uprobe_target")
add_library(uprobe_lib SHARED ${CMAKE_CURRENT_SOURCE_DIR}/hooks/uprobe_target/uprobe_lib.c)
set_target_properties(uprobe_lib PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${uprobe_target_dir}")
target_compile_options(uprobe_lib PRIVATE -O2)
add_executable(uprobe_target ${CMAKE_CURRENT_SOURCE_DIR}/hooks/uprobe_target/uprobe_target.c)
set_target_properties(uprobe_target PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${uprobe_target_dir}")
target_compile_options(uprobe_target PRIVATE -O2)
target_link_libraries(uprobe_target PRIVATE uprobe_lib)
userbpf_traced_test_binary(uprobe_lib)
userbpf_traced_test_binary(uprobe_target)

file(GLOB uprobe_progs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/hooks/uprobe_progs/*.bpf.c)
set(uprobe_prog_dir "${CMAKE_BINARY_DIR}/tests/hooks/uprobe_progs")
userbpf_bpf_objects(TARGET userbpf_uprobe_test_progs OUTPUT_DIR "${uprobe_prog_dir}"
                    SOURCES ${uprobe_progs}
                    FLAGS -O2 -g -D__TARGET_ARCH_x86
                          "-DUPROBE_TARGET_BIN=\"${uprobe_target_dir}/uprobe_target\""
                          "-DUPROBE_TARGET_LIB=\"${uprobe_target_dir}/libuprobe_lib.so\"")
add_dependencies(userbpf_tests userbpf_uprobe_test_progs uprobe_target)
target_compile_definitions(userbpf_tests PRIVATE
  USERBPF_UPROBE_PROG_DIR="${uprobe_prog_dir}"
  USERBPF_UPROBE_TARGET_DIR="${uprobe_target_dir}")

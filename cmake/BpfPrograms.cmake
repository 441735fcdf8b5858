# Compiling BPF C programs (SEC(...) functions in libbpf style) into BPF ELF objects at build time.
#
#   userbpf_bpf_objects(TARGET <name> SOURCES <file.c>... [OUTPUT_DIR <dir>] [FLAGS <flag>...]
#                       [INCLUDES <dir>...])
#
# Each source becomes <OUTPUT_DIR>/<source name without .c>.o, built by clang with
# `-target bpf -I/usr/include/<multiarch>` (Debian keeps <asm/types.h> there) and FLAGS
# (default: -O2 -g, which gives BTF and .BTF.ext). <name> is a custom target that builds them all.
#
#   userbpf_add_object_tests(<test target>)
#
# Compiles tests/object/progs/*.bpf.c and the seed tutorial's hello_kern.c (with the tutorial's
# own command line, -O2 without -g), makes <test target> depend on them, links the object loader
# and tells the tests where the objects are (USERBPF_BPF_OBJECT_DIR).
include_guard(GLOBAL)

set(_userbpf_bpf_cmake_dir "${CMAKE_CURRENT_LIST_DIR}")

function(userbpf_bpf_objects)
  cmake_parse_arguments(ARG "" "TARGET;OUTPUT_DIR" "SOURCES;FLAGS;INCLUDES" ${ARGN})
  if(NOT ARG_TARGET)
    message(FATAL_ERROR "userbpf_bpf_objects: TARGET is required")
  endif()
  find_program(USERBPF_BPF_CLANG NAMES clang clang-14 REQUIRED)
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/bpf")
  endif()
  if(NOT ARG_FLAGS)
    set(ARG_FLAGS -O2 -g)
  endif()
  set(multiarch_include "/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}")
  if(NOT CMAKE_LIBRARY_ARCHITECTURE)
    set(multiarch_include "/usr/include/x86_64-linux-gnu")
  endif()
  set(include_flags -I${multiarch_include})
  foreach(dir IN LISTS ARG_INCLUDES)
    list(APPEND include_flags -I${dir})
  endforeach()

  file(MAKE_DIRECTORY "${ARG_OUTPUT_DIR}")
  set(outputs)
  foreach(src IN LISTS ARG_SOURCES)
    get_filename_component(src_abs "${src}" ABSOLUTE)
    get_filename_component(stem "${src}" NAME_WLE)
    set(out "${ARG_OUTPUT_DIR}/${stem}.o")
    add_custom_command(
      OUTPUT "${out}"
      COMMAND ${USERBPF_BPF_CLANG} ${ARG_FLAGS} -target bpf ${include_flags}
              -MD -MF "${out}.d" -c "${src_abs}" -o "${out}"
      DEPENDS "${src_abs}"
      DEPFILE "${out}.d"
      COMMENT "BPF object ${stem}.o"
      VERBATIM)
    list(APPEND outputs "${out}")
  endforeach()
  add_custom_target(${ARG_TARGET} DEPENDS ${outputs})
endfunction()

function(userbpf_add_object_tests test_target)
  get_filename_component(root "${_userbpf_bpf_cmake_dir}/.." ABSOLUTE)
  file(GLOB progs CONFIGURE_DEPENDS "${root}/tests/object/progs/*.bpf.c")
  set(out_dir "${CMAKE_BINARY_DIR}/tests/object/progs")
  userbpf_bpf_objects(TARGET userbpf_object_test_progs OUTPUT_DIR "${out_dir}" SOURCES ${progs})
  # The seed tutorial's program, built exactly as the tutorial says (no -g: no BTF).
  userbpf_bpf_objects(TARGET userbpf_object_seed_progs OUTPUT_DIR "${out_dir}/seed" FLAGS -O2
                      SOURCES "${USERBPF_SHARED_DIR}/seed/hello_kern.c")
  add_dependencies(${test_target} userbpf_object_test_progs userbpf_object_seed_progs)
  target_link_libraries(${test_target} PRIVATE userbpf_object)
  target_compile_definitions(${test_target} PRIVATE USERBPF_BPF_OBJECT_DIR="${out_dir}")
endfunction()

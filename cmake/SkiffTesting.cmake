# Host-side test helpers. Portable sources (parsers, allocators, rings...) are
# compiled here for the host exactly as they are compiled into the image.

find_package(GTest REQUIRED)
find_package(Python3 REQUIRED COMPONENTS Interpreter)

set(SKIFF_HOST_TEST_FLAGS -Wall -Wextra -Wno-unused-parameter -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)

# Built once, linked into every unit test: formatting, logging with a
# capturing backend, host stand-ins for the CPU hooks.
add_library(skiff_test_support STATIC
  ${SKIFF_ROOT}/lib/format.cpp ${SKIFF_ROOT}/lib/log.cpp
  ${SKIFF_ROOT}/tests/unit/support/log_capture.cpp ${SKIFF_ROOT}/tests/unit/support/cpu_hooks_host.cpp)
target_include_directories(skiff_test_support PUBLIC ${SKIFF_ROOT} ${SKIFF_ROOT}/api)
target_compile_definitions(skiff_test_support PUBLIC SKIFF_HOST=1)
target_compile_options(skiff_test_support PUBLIC ${SKIFF_HOST_TEST_FLAGS})
target_link_options(skiff_test_support PUBLIC -fsanitize=address,undefined)

# skiff_unit_test(<name> SOURCES <test and portable sources...>)
function(skiff_unit_test name)
  cmake_parse_arguments(UT "" "" "SOURCES" ${ARGN})
  add_executable(${name} ${UT_SOURCES})
  # Whole archive: the log backend installs itself from a static object.
  target_link_libraries(${name} PRIVATE -Wl,--whole-archive skiff_test_support -Wl,--no-whole-archive
    GTest::gtest GTest::gtest_main)
  add_test(NAME unit.${name} COMMAND ${name})
  set_tests_properties(unit.${name} PROPERTIES LABELS unit TIMEOUT 120)
endfunction()

# skiff_fuzz_target(<name> SOURCES <fuzz entry and portable sources...>)
# Built with clang's libFuzzer; registered as a short ctest run.
find_program(SKIFF_CLANGXX NAMES clang++ clang++-14)
file(GLOB_RECURSE SKIFF_PROJECT_HEADERS CONFIGURE_DEPENDS
  ${SKIFF_ROOT}/arch/*.h ${SKIFF_ROOT}/kernel/*.h ${SKIFF_ROOT}/firmware/*.h ${SKIFF_ROOT}/lib/*.h
  ${SKIFF_ROOT}/bus/*.h ${SKIFF_ROOT}/drivers/*.h ${SKIFF_ROOT}/block/*.h ${SKIFF_ROOT}/api/*.h
  ${SKIFF_ROOT}/tests/*.h ${SKIFF_ROOT}/tools/*.h)
function(skiff_fuzz_target name)
  cmake_parse_arguments(FZ "" "" "SOURCES" ${ARGN})
  if(NOT SKIFF_BUILD_FUZZERS OR NOT SKIFF_CLANGXX)
    message(WARNING "fuzz target ${name} not built: clang++ missing")
    return()
  endif()
  set(out ${CMAKE_BINARY_DIR}/fuzz/${name})
  set(abs_sources)
  foreach(src ${FZ_SOURCES})
    get_filename_component(abs ${src} ABSOLUTE)
    list(APPEND abs_sources ${abs})
  endforeach()
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/fuzz
    COMMAND ${SKIFF_CLANGXX} -std=gnu++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
            -DSKIFF_HOST=1 -DSKIFF_FUZZ=1 -I${SKIFF_ROOT} -I${SKIFF_ROOT}/api
            ${abs_sources} ${SKIFF_ROOT}/tests/unit/support/log_capture.cpp ${SKIFF_ROOT}/tests/unit/support/cpu_hooks_host.cpp ${SKIFF_ROOT}/lib/format.cpp ${SKIFF_ROOT}/lib/log.cpp -o ${out}
    # Every project header: a custom command has no compiler-made header
    # dependencies, and a stale fuzzer tests old code.
    DEPENDS ${abs_sources} ${SKIFF_ROOT}/tests/unit/support/log_capture.cpp ${SKIFF_PROJECT_HEADERS}
    COMMENT "Building fuzz target ${name}" VERBATIM)
  add_custom_target(fuzz_${name} ALL DEPENDS ${out})
  # A fresh working corpus per run, seeded from tests/fuzz/corpus/<name> if present.
  set(work ${CMAKE_BINARY_DIR}/fuzz/${name}.corpus)
  set(seeds ${SKIFF_ROOT}/tests/fuzz/corpus/${name})
  if(NOT EXISTS ${seeds})
    set(seeds)
  endif()
  add_test(NAME fuzz.${name}
    COMMAND sh -c "rm -rf '${work}' && mkdir -p '${work}' && exec '${out}' -max_total_time=20 -rss_limit_mb=2048 -print_final_stats=1 '${work}' ${seeds}")
  set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 180)
endfunction()

# skiff_boot_test(<name> COMMAND <args...>): runs a test script that boots
# images in QEMU and asserts on what the guest printed and its exit status.
function(skiff_boot_test name)
  cmake_parse_arguments(BT "" "TIMEOUT" "COMMAND" ${ARGN})
  if(NOT BT_TIMEOUT)
    set(BT_TIMEOUT 300)
  endif()
  add_test(NAME boot.${name} COMMAND ${BT_COMMAND})
  set_tests_properties(boot.${name} PROPERTIES LABELS boot TIMEOUT ${BT_TIMEOUT}
    ENVIRONMENT "SKIFF_BUILD=${CMAKE_BINARY_DIR};SKIFF_ROOT=${SKIFF_ROOT}")
endfunction()

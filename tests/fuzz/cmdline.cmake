# Kernel command line, memory-map normalisation and the page count it gives the allocator.
skiff_fuzz_target(cmdline_fuzz SOURCES ${SKIFF_ROOT}/tests/fuzz/cmdline_fuzz.cpp ${SKIFF_ROOT}/kernel/cmdline.cpp
  ${SKIFF_ROOT}/kernel/kernel_options.cpp)
skiff_fuzz_target(memory_map_fuzz SOURCES ${SKIFF_ROOT}/tests/fuzz/memory_map_fuzz.cpp ${SKIFF_ROOT}/kernel/mm/memory_map.cpp
  ${SKIFF_ROOT}/kernel/mm/page_allocator.cpp)

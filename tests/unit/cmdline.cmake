# Kernel command line, memory-map normalisation and how the map reaches the page allocator.
skiff_unit_test(cmdline_test SOURCES ${SKIFF_ROOT}/tests/unit/cmdline_test.cpp ${SKIFF_ROOT}/kernel/cmdline.cpp)
skiff_unit_test(kernel_options_test SOURCES ${SKIFF_ROOT}/tests/unit/kernel_options_test.cpp ${SKIFF_ROOT}/kernel/kernel_options.cpp
  ${SKIFF_ROOT}/kernel/cmdline.cpp)
skiff_unit_test(memory_map_test SOURCES ${SKIFF_ROOT}/tests/unit/memory_map_test.cpp ${SKIFF_ROOT}/kernel/mm/memory_map.cpp
  ${SKIFF_ROOT}/kernel/mm/page_allocator.cpp)

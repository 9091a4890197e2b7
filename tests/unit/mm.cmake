# Memory management: physical page allocator and kernel heap.
skiff_unit_test(page_allocator_test SOURCES
  ${SKIFF_ROOT}/tests/unit/page_allocator_test.cpp
  ${SKIFF_ROOT}/kernel/mm/page_allocator.cpp)
skiff_unit_test(heap_test SOURCES
  ${SKIFF_ROOT}/tests/unit/heap_test.cpp
  ${SKIFF_ROOT}/kernel/mm/heap.cpp)

# Memory management fuzzing: a byte stream drives the kernel heap.
skiff_fuzz_target(heap_fuzz SOURCES
  ${SKIFF_ROOT}/tests/fuzz/heap_fuzz.cpp
  ${SKIFF_ROOT}/kernel/mm/heap.cpp)

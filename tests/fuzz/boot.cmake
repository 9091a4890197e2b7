skiff_fuzz_target(boot_protocols_fuzz SOURCES
  ${SKIFF_ROOT}/tests/fuzz/boot_protocols_fuzz.cpp
  ${SKIFF_ROOT}/arch/x86_64/boot/pvh.cpp
  ${SKIFF_ROOT}/arch/x86_64/boot/linux64.cpp
  ${SKIFF_ROOT}/arch/x86_64/boot/multiboot2.cpp
  ${SKIFF_ROOT}/kernel/boot_info.cpp)

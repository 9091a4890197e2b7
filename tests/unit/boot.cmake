set(SKIFF_BOOT_PROTOCOL_SOURCES
  ${SKIFF_ROOT}/arch/x86_64/boot/pvh.cpp
  ${SKIFF_ROOT}/arch/x86_64/boot/linux64.cpp
  ${SKIFF_ROOT}/arch/x86_64/boot/multiboot2.cpp
  ${SKIFF_ROOT}/kernel/boot_info.cpp)
skiff_unit_test(boot_protocols_test SOURCES
  ${SKIFF_ROOT}/tests/unit/boot_protocols_test.cpp ${SKIFF_BOOT_PROTOCOL_SOURCES})

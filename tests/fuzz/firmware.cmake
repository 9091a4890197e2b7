# Firmware table parsers under libFuzzer; input format in firmware/testing/fuzz_input.h.
set(SKIFF_FIRMWARE_FUZZ_SOURCES
  ${SKIFF_ROOT}/firmware/acpi.cpp
  ${SKIFF_ROOT}/firmware/mp_table.cpp
  ${SKIFF_ROOT}/firmware/platform.cpp
  ${SKIFF_ROOT}/firmware/table_access.cpp)
skiff_fuzz_target(firmware_acpi_fuzz SOURCES ${SKIFF_ROOT}/tests/fuzz/firmware_acpi_fuzz.cpp ${SKIFF_FIRMWARE_FUZZ_SOURCES})
skiff_fuzz_target(firmware_mp_fuzz SOURCES ${SKIFF_ROOT}/tests/fuzz/firmware_mp_fuzz.cpp ${SKIFF_FIRMWARE_FUZZ_SOURCES})

# Firmware tables: ACPI, MP table, platform discovery (firmware/).
set(SKIFF_FIRMWARE_SOURCES
  ${SKIFF_ROOT}/firmware/acpi.cpp
  ${SKIFF_ROOT}/firmware/mp_table.cpp
  ${SKIFF_ROOT}/firmware/platform.cpp
  ${SKIFF_ROOT}/firmware/table_access.cpp)
skiff_unit_test(firmware_acpi_test SOURCES ${SKIFF_ROOT}/tests/unit/firmware_acpi_test.cpp ${SKIFF_FIRMWARE_SOURCES})
skiff_unit_test(firmware_mp_test SOURCES ${SKIFF_ROOT}/tests/unit/firmware_mp_test.cpp ${SKIFF_FIRMWARE_SOURCES})
skiff_unit_test(firmware_platform_test SOURCES ${SKIFF_ROOT}/tests/unit/firmware_platform_test.cpp ${SKIFF_FIRMWARE_SOURCES})
skiff_unit_test(firmware_scan_test SOURCES ${SKIFF_ROOT}/tests/unit/firmware_scan_test.cpp ${SKIFF_FIRMWARE_SOURCES})

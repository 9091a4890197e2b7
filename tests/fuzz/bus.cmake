# Device discovery parsers under libFuzzer: virtio_mmio.device= values and
# command lines, the AML device scanner, and PCI over synthetic config spaces.
set(SKIFF_BUS_FUZZ_FIRMWARE_SOURCES
  ${SKIFF_ROOT}/firmware/acpi.cpp
  ${SKIFF_ROOT}/firmware/aml_devices.cpp
  ${SKIFF_ROOT}/firmware/mp_table.cpp
  ${SKIFF_ROOT}/firmware/platform.cpp
  ${SKIFF_ROOT}/firmware/table_access.cpp)
skiff_fuzz_target(bus_virtio_mmio_cmdline_fuzz SOURCES ${SKIFF_ROOT}/tests/fuzz/bus_virtio_mmio_cmdline_fuzz.cpp
  ${SKIFF_ROOT}/bus/virtio_mmio/device_list.cpp ${SKIFF_ROOT}/kernel/cmdline.cpp ${SKIFF_BUS_FUZZ_FIRMWARE_SOURCES})
skiff_fuzz_target(aml_devices_fuzz SOURCES ${SKIFF_ROOT}/tests/fuzz/aml_devices_fuzz.cpp ${SKIFF_BUS_FUZZ_FIRMWARE_SOURCES})
skiff_fuzz_target(bus_pci_config_fuzz SOURCES ${SKIFF_ROOT}/tests/fuzz/bus_pci_config_fuzz.cpp
  ${SKIFF_ROOT}/bus/pci/bars.cpp ${SKIFF_ROOT}/bus/pci/bus_function.cpp ${SKIFF_ROOT}/bus/pci/capabilities.cpp
  ${SKIFF_ROOT}/bus/pci/config_access.cpp ${SKIFF_ROOT}/bus/pci/enumerate.cpp ${SKIFF_ROOT}/bus/pci/mcfg.cpp
  ${SKIFF_ROOT}/bus/pci/msix.cpp ${SKIFF_BUS_FUZZ_FIRMWARE_SOURCES})

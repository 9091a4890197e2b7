# Device discovery: virtio-mmio from the command line and ACPI (the AML
# scanner), and PCI (configuration access, enumeration, BARs, capabilities, MSI-X).
set(SKIFF_BUS_FIRMWARE_SOURCES
  ${SKIFF_ROOT}/firmware/acpi.cpp
  ${SKIFF_ROOT}/firmware/aml_devices.cpp
  ${SKIFF_ROOT}/firmware/mp_table.cpp
  ${SKIFF_ROOT}/firmware/platform.cpp
  ${SKIFF_ROOT}/firmware/table_access.cpp)
set(SKIFF_BUS_PCI_SOURCES
  ${SKIFF_ROOT}/bus/pci/bars.cpp
  ${SKIFF_ROOT}/bus/pci/bus_function.cpp
  ${SKIFF_ROOT}/bus/pci/capabilities.cpp
  ${SKIFF_ROOT}/bus/pci/config_access.cpp
  ${SKIFF_ROOT}/bus/pci/enumerate.cpp
  ${SKIFF_ROOT}/bus/pci/mcfg.cpp
  ${SKIFF_ROOT}/bus/pci/msix.cpp)
skiff_unit_test(bus_virtio_mmio_test SOURCES ${SKIFF_ROOT}/tests/unit/bus_virtio_mmio_test.cpp
  ${SKIFF_ROOT}/bus/virtio_mmio/device_list.cpp ${SKIFF_ROOT}/kernel/cmdline.cpp ${SKIFF_BUS_FIRMWARE_SOURCES})
skiff_unit_test(aml_devices_test SOURCES ${SKIFF_ROOT}/tests/unit/aml_devices_test.cpp ${SKIFF_BUS_FIRMWARE_SOURCES})
skiff_unit_test(bus_pci_test SOURCES ${SKIFF_ROOT}/tests/unit/bus_pci_test.cpp ${SKIFF_BUS_PCI_SOURCES}
  ${SKIFF_BUS_FIRMWARE_SOURCES})

# Boot tests of the kernel core (clock and timers, ACPI power-off, CPU
# discovery); images must be built first.
if(SKIFF_BUILD_IMAGE)
  foreach(case sleep_microvm sleep_pc sleep_fc_entry acpi_power_off_pc acpi_power_off_microvm
               reset_power_off_pc_without_acpi triple_fault_power_off_microvm_without_acpi
               cpus_pc_madt cpus_pc_mp_table cpus_microvm_madt cpus_fc_entry_mp_table sparse_apic_ids)
    skiff_boot_test(kernel_${case}
      COMMAND ${Python3_EXECUTABLE} ${SKIFF_ROOT}/tests/boot/kernel_test.py ${case})
  endforeach()
endif()

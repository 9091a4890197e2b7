# Block stack boot tests (blkcheck, blkbench) through every transport.
if(SKIFF_BUILD_IMAGE)
  foreach(case pc_modern pc_legacy pc_intx microvm_command_line microvm_acpi fc_entry persistence read_only
          discovery_waits_for_a_lookup blkbench_runs)
    skiff_boot_test(block_${case} TIMEOUT 400
      COMMAND ${Python3_EXECUTABLE} ${SKIFF_ROOT}/tests/boot/block_test.py ${case})
  endforeach()
endif()

# SMP and thread boot tests (smpcheck, threadtest) on every machine model.
if(SKIFF_BUILD_IMAGE)
  set(smp_cases smpcheck_pc_acpi_off smpcheck_sparse_apic_ids smpcheck_fc_entry_2 smpcheck_fc_entry_4
      threadtest_microvm_4 threadtest_pc_1 thread_stack_overflow thread_fault)
  foreach(machine pc microvm)
    foreach(n 1 2 4 8)
      list(APPEND smp_cases smpcheck_${machine}_${n})
    endforeach()
  endforeach()
  foreach(case ${smp_cases})
    skiff_boot_test(smp_${case} TIMEOUT 400
      COMMAND ${Python3_EXECUTABLE} ${SKIFF_ROOT}/tests/boot/smp_test.py ${case})
  endforeach()
endif()
